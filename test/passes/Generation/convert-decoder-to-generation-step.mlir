// RUN: kiln-opt %s -kiln-convert-decoder-to-generation-step="max-seq=16" -split-input-file -verify-diagnostics | FileCheck %s

// A one-layer decoder: embedding, RoPE from the first `seq` rows of a
// 32-row table, causal attention, the logits. The step takes past_length
// and a key and a value cache of 16 positions; the attention reads the
// updated caches at absolute positions (kv_seqlen = past_length + seq,
// query_start = past_length), the rope reads the whole table by position
// (past_length[b] + s), and the updated caches come back as state results.
// A decode step (seq = 1) branches to an attention of static query length
// 1, which the CPU's tiled kernel plans for.
// The seq symbol's range is capped at the cache.

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[TOK:[a-z0-9]+]]: tensor<?x?xi64> {kiln.dim_symbols = ["batch", "seq"], kiln.name = "tokens"}
// CHECK-SAME: %[[PAST:[a-z0-9]+]]: tensor<?xi64> {kiln.dim_symbols = ["batch"], kiln.dtype = 7 : i32, kiln.name = "past_length"}
// CHECK-SAME: %[[KC:[a-z0-9]+]]: tensor<?x1x16x4xf32> {bufferization.writable = true, kiln.dim_symbols = ["batch", "", "", ""], kiln.name = "cache.key.0", kiln.state}
// CHECK-SAME: %[[VC:[a-z0-9]+]]: tensor<?x1x16x4xf32> {bufferization.writable = true, kiln.dim_symbols = ["batch", "", "", ""], kiln.name = "cache.value.0", kiln.state}
// CHECK-SAME: -> (tensor<?x?x8xf32> {kiln.name = "logits"}, tensor<?x1x16x4xf32> {kiln.state_of = "cache.key.0"}, tensor<?x1x16x4xf32> {kiln.state_of = "cache.value.0"})
// CHECK-SAME: kiln.dim_ranges = {batch = array<i64: 1, 4>, seq = array<i64: 1, 16>}
// CHECK-SAME: kiln.generation = {logits = "logits", max_seq = 16 : i64, positions = "past_length", tokens = "tokens"}
// CHECK: %[[SEQ:.+]] = tensor.dim %[[TOK]], %c1
// CHECK: %[[LENS:.+]] = kiln.add %[[PAST]]
// CHECK: %[[POS:.+]] = linalg.generic {{.*}} ins(%[[PAST]] : tensor<?xi64>)
// CHECK: linalg.index 1
// CHECK-DAG: %[[V:.+]] = kiln.kv_cache_update %[[VC]], %{{.+}}, %[[PAST]] {axis = 2 : i64}
// CHECK-DAG: %[[ROPE:.+]] = kiln.rope %{{.+}}, %{{.+}}, %{{.+}} positions %[[POS]] : (tensor<?x1x?x4xf32>, tensor<32x2xf32>, tensor<32x2xf32>, tensor<?x?xi64>)
// CHECK: %[[K:.+]] = kiln.kv_cache_update %[[KC]], %[[ROPE]], %[[PAST]] {axis = 2 : i64}
// A decode step (seq = 1) takes an attention of static query length 1.
// CHECK: %[[DECODE:.+]] = arith.cmpi eq, %[[SEQ]], %{{.+}} : index
// CHECK: %[[OUT:.+]] = scf.if %[[DECODE]] -> (tensor<?x1x?x4xf32>) {
// CHECK:   %[[Q1:.+]] = tensor.cast %[[ROPE]] : tensor<?x1x?x4xf32> to tensor<?x1x1x4xf32>
// CHECK:   %[[O1:.+]], %{{.+}}, %{{.+}} = kiln.attention %[[Q1]], %[[K]], %[[V]] kv_seqlen %[[LENS]] query_start %[[PAST]] {mask_kind = #kiln.mask_kind<causal>, scale = 5.000000e-01 : f32} : (tensor<?x1x1x4xf32>,
// CHECK:   %[[OC:.+]] = tensor.cast %[[O1]] : tensor<?x1x1x4xf32> to tensor<?x1x?x4xf32>
// CHECK:   scf.yield %[[OC]]
// CHECK: } else {
// CHECK:   %[[ON:.+]], %{{.+}}, %{{.+}} = kiln.attention %[[ROPE]], %[[K]], %[[V]] kv_seqlen %[[LENS]] query_start %[[PAST]] {mask_kind = #kiln.mask_kind<causal>
// CHECK:   scf.yield %[[ON]]
// CHECK: return %{{.+}}, %[[K]], %[[V]]
func.func @main(%tok: tensor<?x?xi64> {kiln.dim_symbols = ["batch", "seq"], kiln.name = "tokens"})
    -> (tensor<?x?x8xf32> {kiln.name = "logits"})
    attributes {kiln.dim_ranges = {batch = array<i64: 1, 4>, seq = array<i64: 1, 4096>}} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = arith.constant dense<0.5> : tensor<8x4xf32>
  %cos_table = arith.constant dense<1.0> : tensor<32x2xf32>
  %sin_table = arith.constant dense<0.0> : tensor<32x2xf32>
  %head = arith.constant dense<0.25> : tensor<4x8xf32>
  %b = tensor.dim %tok, %c0 : tensor<?x?xi64>
  %s = tensor.dim %tok, %c1 : tensor<?x?xi64>
  %x = kiln.gather %emb, %tok {axis = 0 : i64} : (tensor<8x4xf32>, tensor<?x?xi64>) -> tensor<?x?x4xf32>
  %q = tensor.expand_shape %x [[0, 1], [2], [3]] output_shape [%b, 1, %s, 4] : tensor<?x?x4xf32> into tensor<?x1x?x4xf32>
  %cos = tensor.extract_slice %cos_table[0, 0] [%s, 2] [1, 1] : tensor<32x2xf32> to tensor<?x2xf32>
  %sin = tensor.extract_slice %sin_table[0, 0] [%s, 2] [1, 1] : tensor<32x2xf32> to tensor<?x2xf32>
  %r = kiln.rope %q, %cos, %sin : (tensor<?x1x?x4xf32>, tensor<?x2xf32>, tensor<?x2xf32>) -> tensor<?x1x?x4xf32>
  %o, %pk, %pv = kiln.attention %r, %r, %q {mask_kind = #kiln.mask_kind<causal>, scale = 0.5 : f32}
      : (tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>)
      -> (tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>)
  %y = tensor.collapse_shape %o [[0, 1], [2], [3]] : tensor<?x1x?x4xf32> into tensor<?x?x4xf32>
  %logits = kiln.matmul %y, %head : (tensor<?x?x4xf32>, tensor<4x8xf32>) -> tensor<?x?x8xf32>
  return %logits : tensor<?x?x8xf32>
}

// -----

// An input besides the tokens that is no attention's past keys or values.
// expected-error @+1 {{--generate: input 'input1' is not the past keys or values of an attention; besides the tokens a decoder may only take its KV cache, each `present = concat(past, new)` along the sequence feeding an attention}}
func.func @main(%tok: tensor<1x?xi64> {kiln.dim_symbols = ["", "seq"]}, %q: tensor<1x1x?x4xf32>)
    -> tensor<1x?x8xf32> {
  %c1 = arith.constant 1 : index
  %s = tensor.dim %tok, %c1 : tensor<1x?xi64>
  %r = tensor.empty(%s) : tensor<1x?x8xf32>
  return %r : tensor<1x?x8xf32>
}

// -----

func.func @main(%tok: tensor<1x16xi64>) -> tensor<1x16x8xf32> {
  // expected-error @-1 {{--generate: the tokens' sequence dimension is static (16); export the decoder with a symbolic one (dynamic_axes)}}
  %r = arith.constant dense<0.0> : tensor<1x16x8xf32>
  return %r : tensor<1x16x8xf32>
}

// -----

func.func @main(%tok: tensor<1x?xi64> {kiln.dim_symbols = ["", "seq"]}) -> tensor<1x?x4xf32>
    attributes {kiln.dim_ranges = {seq = array<i64: 1, 64>}} {
  %c1 = arith.constant 1 : index
  %s = tensor.dim %tok, %c1 : tensor<1x?xi64>
  %emb = arith.constant dense<0.5> : tensor<8x4xf32>
  %x = kiln.gather %emb, %tok {axis = 0 : i64} : (tensor<8x4xf32>, tensor<1x?xi64>) -> tensor<1x?x4xf32>
  %q = tensor.expand_shape %x [[0, 1], [2], [3]] output_shape [1, 1, %s, 4] : tensor<1x?x4xf32> into tensor<1x1x?x4xf32>
  // expected-error @+1 {{--generate: the attention is not causal (mask kind none); a decoder's attention must only look back}}
  %o, %pk, %pv = kiln.attention %q, %q, %q {scale = 0.5 : f32}
      : (tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>)
      -> (tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>)
  %y = tensor.collapse_shape %o [[0, 1], [2], [3]] : tensor<1x1x?x4xf32> into tensor<1x?x4xf32>
  return %y : tensor<1x?x4xf32>
}

// -----

// A learned position embedding: a range over seq gathered from a table.
func.func @main(%tok: tensor<1x?xi64> {kiln.dim_symbols = ["", "seq"]}) -> tensor<1x?x4xf32>
    attributes {kiln.dim_ranges = {seq = array<i64: 1, 64>}} {
  %c1 = arith.constant 1 : index
  %s = tensor.dim %tok, %c1 : tensor<1x?xi64>
  %emb = arith.constant dense<0.5> : tensor<8x4xf32>
  %wpe = arith.constant dense<0.25> : tensor<64x4xf32>
  %e = tensor.empty(%s) : tensor<?xi64>
  // expected-error @+1 {{--generate: the model computes token positions for something other than attention and RoPE (a learned position embedding?), which a generation step cannot offset yet}}
  %range = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} outs(%e : tensor<?xi64>) {
  ^bb0(%out: i64):
    %i = linalg.index 0 : index
    %i64 = arith.index_cast %i : index to i64
    linalg.yield %i64 : i64
  } -> tensor<?xi64>
  %p = kiln.gather %wpe, %range {axis = 0 : i64} : (tensor<64x4xf32>, tensor<?xi64>) -> tensor<?x4xf32>
  %x = kiln.gather %emb, %tok {axis = 0 : i64} : (tensor<8x4xf32>, tensor<1x?xi64>) -> tensor<1x?x4xf32>
  %xp = kiln.add %x, %p : (tensor<1x?x4xf32>, tensor<?x4xf32>) -> tensor<1x?x4xf32>
  %q = tensor.expand_shape %xp [[0, 1], [2], [3]] output_shape [1, 1, %s, 4] : tensor<1x?x4xf32> into tensor<1x1x?x4xf32>
  %o, %pk, %pv = kiln.attention %q, %q, %q {mask_kind = #kiln.mask_kind<causal>, scale = 0.5 : f32}
      : (tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>)
      -> (tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>)
  %y = tensor.collapse_shape %o [[0, 1], [2], [3]] : tensor<1x1x?x4xf32> into tensor<1x?x4xf32>
  return %y : tensor<1x?x4xf32>
}
