// RUN: kiln-opt %s -kiln-convert-decoder-to-generation-step="max-seq=16" -split-input-file -verify-diagnostics | FileCheck %s

// A one-layer decoder exported with its KV cache, as raising leaves it: the
// attention takes the inputs past_key_values.0.{key,value} as its past and
// its present keys/values are the outputs present.0.{key,value}; the rope
// reads its table at positions arange(past, past + seq), past being the
// cache's length. The step keeps the cache itself: the past inputs and
// present outputs are gone (and the symbols only they named), the
// attention writes its new keys and values into the step's caches, and the
// rope reads the table at past_length[b] + s. The signature is a plain
// decoder's.

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[TOK:[a-z0-9]+]]: tensor<?x?xi64> {kiln.dim_symbols = ["batch", "seq"], kiln.name = "input_ids"}
// CHECK-SAME: %[[PAST:[a-z0-9]+]]: tensor<?xi64> {kiln.dim_symbols = ["batch"], kiln.dtype = 7 : i32, kiln.name = "past_length"}
// CHECK-SAME: %[[KC:[a-z0-9]+]]: tensor<?x1x16x4xf32> {bufferization.writable = true, kiln.dim_symbols = ["batch", "", "", ""], kiln.name = "cache.key.0", kiln.state}
// CHECK-SAME: %[[VC:[a-z0-9]+]]: tensor<?x1x16x4xf32> {bufferization.writable = true, kiln.dim_symbols = ["batch", "", "", ""], kiln.name = "cache.value.0", kiln.state})
// CHECK-SAME: -> (tensor<?x?x8xf32> {kiln.name = "logits"}, tensor<?x1x16x4xf32> {kiln.state_of = "cache.key.0"}, tensor<?x1x16x4xf32> {kiln.state_of = "cache.value.0"})
// CHECK-SAME: kiln.dim_ranges = {batch = array<i64: 1, 4>, seq = array<i64: 1, 16>}
// CHECK-SAME: kiln.generation = {logits = "logits", max_seq = 16 : i64, positions = "past_length", tokens = "input_ids"}
// CHECK: %[[LENS:.+]] = kiln.add %[[PAST]]
// CHECK: %[[POS:.+]] = linalg.generic {{.*}} ins(%[[PAST]] : tensor<?xi64>)
// CHECK-DAG: %[[V:.+]] = kiln.kv_cache_update %[[VC]], %{{.+}}, %[[PAST]] {axis = 2 : i64}
// CHECK-DAG: %[[ROPE:.+]] = kiln.rope %{{.+}}, %{{.+}}, %{{.+}} positions %[[POS]] : (tensor<?x1x?x4xf32>, tensor<32x2xf32>, tensor<32x2xf32>, tensor<?x?xi64>)
// CHECK: %[[K:.+]] = kiln.kv_cache_update %[[KC]], %[[ROPE]], %[[PAST]] {axis = 2 : i64}
// CHECK: kiln.attention %{{.+}}, %[[K]], %[[V]] kv_seqlen %[[LENS]] query_start %[[PAST]] {mask_kind = #kiln.mask_kind<causal>
// CHECK: kiln.attention %[[ROPE]], %[[K]], %[[V]] kv_seqlen %[[LENS]] query_start %[[PAST]] {mask_kind = #kiln.mask_kind<causal>
// CHECK-NOT: past
// CHECK: return %{{.+}}, %[[K]], %[[V]]
func.func @main(%tok: tensor<?x?xi64> {kiln.dim_symbols = ["batch", "seq"], kiln.name = "input_ids"},
                %pk: tensor<?x1x?x4xf32> {kiln.dim_symbols = ["batch", "", "past_seq", ""], kiln.name = "past_key_values.0.key"},
                %pv: tensor<?x1x?x4xf32> {kiln.dim_symbols = ["batch", "", "past_seq", ""], kiln.name = "past_key_values.0.value"})
    -> (tensor<?x?x8xf32> {kiln.name = "logits"},
        tensor<?x1x?x4xf32> {kiln.dim_symbols = ["batch", "", "total_seq", ""], kiln.name = "present.0.key"},
        tensor<?x1x?x4xf32> {kiln.dim_symbols = ["batch", "", "total_seq", ""], kiln.name = "present.0.value"})
    attributes {kiln.dim_ranges = {batch = array<i64: 1, 4>, past_seq = array<i64: 0, 4096>, seq = array<i64: 1, 4096>, total_seq = array<i64: 1, 8192>}} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %emb = arith.constant dense<0.5> : tensor<8x4xf32>
  %cos_table = arith.constant dense<1.0> : tensor<32x2xf32>
  %sin_table = arith.constant dense<0.0> : tensor<32x2xf32>
  %head = arith.constant dense<0.25> : tensor<4x8xf32>
  %b = tensor.dim %tok, %c0 : tensor<?x?xi64>
  %s = tensor.dim %tok, %c1 : tensor<?x?xi64>
  %p = tensor.dim %pk, %c2 : tensor<?x1x?x4xf32>
  %e = tensor.empty(%b, %s) : tensor<?x?xi64>
  %pos = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} outs(%e : tensor<?x?xi64>) {
  ^bb0(%o: i64):
    %i = linalg.index 1 : index
    %j = arith.addi %i, %p : index
    %j64 = arith.index_cast %j : index to i64
    linalg.yield %j64 : i64
  } -> tensor<?x?xi64>
  %x = kiln.gather %emb, %tok {axis = 0 : i64} : (tensor<8x4xf32>, tensor<?x?xi64>) -> tensor<?x?x4xf32>
  %q = tensor.expand_shape %x [[0, 1], [2], [3]] output_shape [%b, 1, %s, 4] : tensor<?x?x4xf32> into tensor<?x1x?x4xf32>
  %r = kiln.rope %q, %cos_table, %sin_table positions %pos : (tensor<?x1x?x4xf32>, tensor<32x2xf32>, tensor<32x2xf32>, tensor<?x?xi64>) -> tensor<?x1x?x4xf32>
  %o, %nk, %nv = kiln.attention %r, %r, %q past %pk, %pv {mask_kind = #kiln.mask_kind<causal>, scale = 0.5 : f32}
      : (tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>)
      -> (tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>)
  %y = tensor.collapse_shape %o [[0, 1], [2], [3]] : tensor<?x1x?x4xf32> into tensor<?x?x4xf32>
  %logits = kiln.matmul %y, %head : (tensor<?x?x4xf32>, tensor<4x8xf32>) -> tensor<?x?x8xf32>
  return %logits, %nk, %nv : tensor<?x?x8xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>
}

// -----

// Positions read from an input's data, not computed from the cache's
// length, cannot be offset.
func.func @main(%tok: tensor<1x?xi64> {kiln.dim_symbols = ["", "seq"]},
                %pk: tensor<1x1x?x4xf32> {kiln.name = "past_key_values.0.key"},
                %pv: tensor<1x1x?x4xf32> {kiln.name = "past_key_values.0.value"})
    -> (tensor<1x?x8xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>) {
  %c1 = arith.constant 1 : index
  %s = tensor.dim %tok, %c1 : tensor<1x?xi64>
  %table = arith.constant dense<1.0> : tensor<32x2xf32>
  %x = arith.constant dense<1.0> : tensor<1x1x1x4xf32>
  %q = tensor.cast %x : tensor<1x1x1x4xf32> to tensor<1x1x?x4xf32>
  // expected-error @+1 {{'kiln.rope' op --generate: the rope reads its tables by position ids that are not computed from the exported cache's length}}
  %r = kiln.rope %q, %table, %table positions %tok : (tensor<1x1x?x4xf32>, tensor<32x2xf32>, tensor<32x2xf32>, tensor<1x?xi64>) -> tensor<1x1x?x4xf32>
  %o, %nk, %nv = kiln.attention %r, %r, %q past %pk, %pv {mask_kind = #kiln.mask_kind<causal>, scale = 0.5 : f32}
      : (tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>)
      -> (tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>)
  %l = tensor.empty(%s) : tensor<1x?x8xf32>
  return %l, %nk, %nv : tensor<1x?x8xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>
}

// -----

// A present output that is also read inside the model.
func.func @main(%tok: tensor<1x?xi64> {kiln.dim_symbols = ["", "seq"]},
                %pk: tensor<1x1x?x4xf32>, %pv: tensor<1x1x?x4xf32>)
    -> (tensor<1x?x8xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>) {
  %c1 = arith.constant 1 : index
  %s = tensor.dim %tok, %c1 : tensor<1x?xi64>
  %x = arith.constant dense<1.0> : tensor<1x1x1x4xf32>
  %q = tensor.cast %x : tensor<1x1x1x4xf32> to tensor<1x1x?x4xf32>
  // expected-error @+1 {{'kiln.attention' op --generate: the attention's present keys or values are used other than as outputs}}
  %o, %nk, %nv = kiln.attention %q, %q, %q past %pk, %pv {mask_kind = #kiln.mask_kind<causal>, scale = 0.5 : f32}
      : (tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>)
      -> (tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>)
  %n = kiln.neg %nk : tensor<1x1x?x4xf32>
  %l = tensor.empty(%s) : tensor<1x?x8xf32>
  return %l, %n, %nv : tensor<1x?x8xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>
}

// -----

// A mask over the exported cache that raising could not make a mask kind
// (a sliding window cuts into the past keys) stays an operand.
func.func @main(%tok: tensor<1x?xi64> {kiln.dim_symbols = ["", "seq"]},
                %pk: tensor<1x1x?x4xf32>, %pv: tensor<1x1x?x4xf32>,
                %m: tensor<1x1x?x?xf32>)
    -> (tensor<1x?x8xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>) {
  %c1 = arith.constant 1 : index
  %s = tensor.dim %tok, %c1 : tensor<1x?xi64>
  %x = arith.constant dense<1.0> : tensor<1x1x1x4xf32>
  %q = tensor.cast %x : tensor<1x1x1x4xf32> to tensor<1x1x?x4xf32>
  // expected-error @+1 {{'kiln.attention' op --generate: the attention's mask over its exported cache is an explicit mask operand (no causal kind over the past keys too: a sliding window? a padding mask?), which a generation step cannot extend}}
  %o, %nk, %nv = kiln.attention %q, %q, %q mask %m past %pk, %pv {scale = 0.5 : f32}
      : (tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x?xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>)
      -> (tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>)
  %l = tensor.empty(%s) : tensor<1x?x8xf32>
  return %l, %nk, %nv : tensor<1x?x8xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>
}
