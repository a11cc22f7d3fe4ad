// RUN: kiln-opt %s -kiln-convert-decoder-to-generation-step="max-seq=16" -split-input-file -verify-diagnostics | FileCheck %s

// A sliding window of 3 keys back: the caches keep 3 positions (a ring,
// position p in slot p mod 3), not --max-seq's 16. The attention reads the
// step's own keys followed by the caches as they were before the step; the
// caches are written after it (circular kv_cache_update). A decode step
// reads the first 1 + min(past_length, 3) keys, with no mask kind (each is
// in the window); a prefill gets a mask built from each slot's position.

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[TOK:[a-z0-9]+]]: tensor<?x?xi64>
// CHECK-SAME: %[[PAST:[a-z0-9]+]]: tensor<?xi64> {{.*}}kiln.name = "past_length"}
// CHECK-SAME: %[[KC:[a-z0-9]+]]: tensor<?x1x3x4xf32> {bufferization.writable = true, kiln.dim_symbols = ["batch", "", "", ""], kiln.name = "cache.key.0", kiln.state}
// CHECK-SAME: %[[VC:[a-z0-9]+]]: tensor<?x1x3x4xf32> {{.*}}kiln.name = "cache.value.0", kiln.state}
// CHECK-SAME: -> (tensor<?x?x8xf32> {kiln.name = "logits"}, tensor<?x1x3x4xf32> {kiln.state_of = "cache.key.0"}, tensor<?x1x3x4xf32> {kiln.state_of = "cache.value.0"})
// CHECK-SAME: kiln.generation = {logits = "logits", max_seq = 16 : i64, positions = "past_length", tokens = "tokens"}
// CHECK: %[[OUT:.+]] = scf.if %{{.+}} -> (tensor<?x1x?x4xf32>) {
// CHECK:   %[[LENS:.+]] = linalg.generic {{.*}} ins(%[[PAST]] : tensor<?xi64>)
// CHECK:     arith.select
// CHECK:   %[[K1:.+]] = kiln.concat %{{.+}}, %[[KC]] {axis = 2 : i64} : (tensor<?x1x1x4xf32>, tensor<?x1x3x4xf32>) -> tensor<?x1x4x4xf32>
// CHECK:   %[[V1:.+]] = kiln.concat %{{.+}}, %[[VC]] {axis = 2 : i64} : (tensor<?x1x1x4xf32>, tensor<?x1x3x4xf32>) -> tensor<?x1x4x4xf32>
// CHECK:   kiln.attention %{{.+}}, %[[K1]], %[[V1]] kv_seqlen %[[LENS]] {scale = 5.000000e-01 : f32}
// CHECK: } else {
// CHECK:   %[[MASK:.+]] = linalg.generic {{.*}} ins(%[[PAST]] : tensor<?xi64>) outs(%{{.+}} : tensor<?x1x?x?xi1>)
// CHECK:   %[[K:.+]] = kiln.concat %{{.+}}, %[[KC]] {axis = 2 : i64} : (tensor<?x1x?x4xf32>, tensor<?x1x3x4xf32>) -> tensor<?x1x?x4xf32>
// CHECK:   kiln.attention %{{.+}}, %[[K]], %{{.+}} mask %[[MASK]] {scale = 5.000000e-01 : f32}
// CHECK: }
// CHECK: %[[KN:.+]] = kiln.kv_cache_update %[[KC]], %{{.+}}, %[[PAST]] {axis = 2 : i64, circular = true}
// CHECK: %[[VN:.+]] = kiln.kv_cache_update %[[VC]], %{{.+}}, %[[PAST]] {axis = 2 : i64, circular = true}
// CHECK: return %{{.+}}, %[[KN]], %[[VN]]
func.func @main(%tok: tensor<?x?xi64> {kiln.dim_symbols = ["batch", "seq"], kiln.name = "tokens"})
    -> (tensor<?x?x8xf32> {kiln.name = "logits"})
    attributes {kiln.dim_ranges = {batch = array<i64: 1, 4>, seq = array<i64: 1, 4096>}} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = arith.constant dense<0.5> : tensor<8x4xf32>
  %head = arith.constant dense<0.25> : tensor<4x8xf32>
  %b = tensor.dim %tok, %c0 : tensor<?x?xi64>
  %s = tensor.dim %tok, %c1 : tensor<?x?xi64>
  %x = kiln.gather %emb, %tok {axis = 0 : i64} : (tensor<8x4xf32>, tensor<?x?xi64>) -> tensor<?x?x4xf32>
  %q = tensor.expand_shape %x [[0, 1], [2], [3]] output_shape [%b, 1, %s, 4] : tensor<?x?x4xf32> into tensor<?x1x?x4xf32>
  %o, %pk, %pv = kiln.attention %q, %q, %q {mask_kind = #kiln.mask_kind<sliding_window>, window_left = 3 : i64, window_right = 0 : i64, scale = 0.5 : f32}
      : (tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>)
      -> (tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>)
  %y = tensor.collapse_shape %o [[0, 1], [2], [3]] : tensor<?x1x?x4xf32> into tensor<?x?x4xf32>
  %logits = kiln.matmul %y, %head : (tensor<?x?x4xf32>, tensor<4x8xf32>) -> tensor<?x?x8xf32>
  return %logits : tensor<?x?x8xf32>
}

// -----

// Hierarchical: 2 global tokens and a window of 3 back keep 2 + 3 slots:
// the first two hold positions 0 and 1 (a linear update of that slice),
// the other three a ring of the positions from 2 on (a circular update of
// that slice, at past_length - 2).

// CHECK-LABEL: func.func @main(
// CHECK-SAME: kiln.name = "cache.key.0", kiln.state}
// CHECK-SAME: -> (tensor<?x?x8xf32> {kiln.name = "logits"}, tensor<?x1x5x4xf32> {kiln.state_of = "cache.key.0"}, tensor<?x1x5x4xf32> {kiln.state_of = "cache.value.0"})
// CHECK: } else {
// CHECK: %[[A:.+]] = tensor.extract_slice %[[KC:[a-z0-9]+]][0, 0, 0, 0] [%{{.+}}, 1, 2, 4] [1, 1, 1, 1] : tensor<?x1x5x4xf32> to tensor<?x1x2x4xf32>
// CHECK: %[[AW:.+]] = kiln.kv_cache_update %[[A]], %{{.+}}, %[[PAST:[a-z0-9]+]] {axis = 2 : i64} : (tensor<?x1x2x4xf32>, tensor<?x1x?x4xf32>, tensor<?xi64>) -> tensor<?x1x2x4xf32>
// CHECK: %[[FROM:.+]] = linalg.generic {{.*}} ins(%[[PAST]] : tensor<?xi64>)
// CHECK: %[[R:.+]] = tensor.extract_slice %[[KC]][0, 0, 2, 0] [%{{.+}}, 1, 3, 4] [1, 1, 1, 1] : tensor<?x1x5x4xf32> to tensor<?x1x3x4xf32>
// CHECK: %[[RW:.+]] = kiln.kv_cache_update %[[R]], %{{.+}}, %[[FROM]] {axis = 2 : i64, circular = true}
// CHECK: %[[K1:.+]] = tensor.insert_slice %[[AW]] into %[[KC]][0, 0, 0, 0]
// CHECK: tensor.insert_slice %[[RW]] into %[[K1]][0, 0, 2, 0]
func.func @main(%tok: tensor<?x?xi64> {kiln.dim_symbols = ["batch", "seq"], kiln.name = "tokens"})
    -> (tensor<?x?x8xf32> {kiln.name = "logits"}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = arith.constant dense<0.5> : tensor<8x4xf32>
  %head = arith.constant dense<0.25> : tensor<4x8xf32>
  %b = tensor.dim %tok, %c0 : tensor<?x?xi64>
  %s = tensor.dim %tok, %c1 : tensor<?x?xi64>
  %x = kiln.gather %emb, %tok {axis = 0 : i64} : (tensor<8x4xf32>, tensor<?x?xi64>) -> tensor<?x?x4xf32>
  %q = tensor.expand_shape %x [[0, 1], [2], [3]] output_shape [%b, 1, %s, 4] : tensor<?x?x4xf32> into tensor<?x1x?x4xf32>
  %o, %pk, %pv = kiln.attention %q, %q, %q {mask_kind = #kiln.mask_kind<hierarchical>, window_left = 3 : i64, window_right = 0 : i64, num_global_tokens = 2 : i64, scale = 0.5 : f32}
      : (tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>)
      -> (tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>)
  %y = tensor.collapse_shape %o [[0, 1], [2], [3]] : tensor<?x1x?x4xf32> into tensor<?x?x4xf32>
  %logits = kiln.matmul %y, %head : (tensor<?x?x4xf32>, tensor<4x8xf32>) -> tensor<?x?x8xf32>
  return %logits : tensor<?x?x8xf32>
}

// -----

// A window as long as the cache gains nothing from a ring: 16 positions,
// written linearly, and the attention keeps its mask kind.

// CHECK-LABEL: func.func @main(
// CHECK-SAME: -> (tensor<?x?x8xf32> {kiln.name = "logits"}, tensor<?x1x16x4xf32> {kiln.state_of = "cache.key.0"}, tensor<?x1x16x4xf32> {kiln.state_of = "cache.value.0"})
// CHECK-NOT: circular
// CHECK: kiln.attention {{.*}}mask_kind = #kiln.mask_kind<sliding_window>
func.func @main(%tok: tensor<?x?xi64> {kiln.dim_symbols = ["batch", "seq"], kiln.name = "tokens"})
    -> (tensor<?x?x8xf32> {kiln.name = "logits"}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = arith.constant dense<0.5> : tensor<8x4xf32>
  %head = arith.constant dense<0.25> : tensor<4x8xf32>
  %b = tensor.dim %tok, %c0 : tensor<?x?xi64>
  %s = tensor.dim %tok, %c1 : tensor<?x?xi64>
  %x = kiln.gather %emb, %tok {axis = 0 : i64} : (tensor<8x4xf32>, tensor<?x?xi64>) -> tensor<?x?x4xf32>
  %q = tensor.expand_shape %x [[0, 1], [2], [3]] output_shape [%b, 1, %s, 4] : tensor<?x?x4xf32> into tensor<?x1x?x4xf32>
  %o, %pk, %pv = kiln.attention %q, %q, %q {mask_kind = #kiln.mask_kind<sliding_window>, window_left = 16 : i64, window_right = 0 : i64, scale = 0.5 : f32}
      : (tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>)
      -> (tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>)
  %y = tensor.collapse_shape %o [[0, 1], [2], [3]] : tensor<?x1x?x4xf32> into tensor<?x?x4xf32>
  %logits = kiln.matmul %y, %head : (tensor<?x?x4xf32>, tensor<4x8xf32>) -> tensor<?x?x8xf32>
  return %logits : tensor<?x?x8xf32>
}
