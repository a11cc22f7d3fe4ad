// RUN: kiln-opt %s -kiln-raise-attention -split-input-file -verify-diagnostics | FileCheck %s

// kiln-raise-attention on graphs imported with symbolic batch and sequence
// sizes: reshapes with run-time sizes are tensor.expand_shape /
// collapse_shape, and Expand is a broadcasting linalg.generic.

#in = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, 0, d3, d4)>
#out = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>

// HF's repeat_kv with a dynamic batch and sequence (unsqueeze, expand,
// reshape) is GQA as in the static case: the attention takes the two
// un-repeated key/value heads.
// CHECK-LABEL: func @repeat_kv_dynamic
// CHECK-SAME: (%[[Q:.+]]: tensor<?x4x?x8xf32>, %[[K:.+]]: tensor<?x2x?x8xf32>, %[[V:.+]]: tensor<?x2x?x8xf32>)
// CHECK: kiln.attention %[[Q]], %[[K]], %[[V]] {scale = 1.000000e+00 : f32} : (tensor<?x4x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>)
// CHECK-NOT: linalg.generic
func.func @repeat_kv_dynamic(%q: tensor<?x4x?x8xf32>, %k: tensor<?x2x?x8xf32>, %v: tensor<?x2x?x8xf32>) -> tensor<?x4x?x8xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %b = tensor.dim %k, %c0 : tensor<?x2x?x8xf32>
  %s = tensor.dim %k, %c2 : tensor<?x2x?x8xf32>
  %k5 = tensor.expand_shape %k [[0], [1, 2], [3], [4]] output_shape [%b, 2, 1, %s, 8] : tensor<?x2x?x8xf32> into tensor<?x2x1x?x8xf32>
  %ke = tensor.empty(%b, %s) : tensor<?x2x2x?x8xf32>
  %kb = linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%k5 : tensor<?x2x1x?x8xf32>) outs(%ke : tensor<?x2x2x?x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  } -> tensor<?x2x2x?x8xf32>
  %kr = tensor.collapse_shape %kb [[0], [1, 2], [3], [4]] : tensor<?x2x2x?x8xf32> into tensor<?x4x?x8xf32>
  %v5 = tensor.expand_shape %v [[0], [1, 2], [3], [4]] output_shape [%b, 2, 1, %s, 8] : tensor<?x2x?x8xf32> into tensor<?x2x1x?x8xf32>
  %ve = tensor.empty(%b, %s) : tensor<?x2x2x?x8xf32>
  %vb = linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%v5 : tensor<?x2x1x?x8xf32>) outs(%ve : tensor<?x2x2x?x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  } -> tensor<?x2x2x?x8xf32>
  %vr = tensor.collapse_shape %vb [[0], [1, 2], [3], [4]] : tensor<?x2x2x?x8xf32> into tensor<?x4x?x8xf32>
  %kt = kiln.transpose %kr {permutation = array<i64: 0, 1, 3, 2>} : tensor<?x4x?x8xf32> -> tensor<?x4x8x?xf32>
  %sc = kiln.matmul %q, %kt : (tensor<?x4x?x8xf32>, tensor<?x4x8x?xf32>) -> tensor<?x4x?x?xf32>
  // expected-remark @+1 {{raised attention (no mask, 4 heads on 2 kv heads, scale 1)}}
  %p = kiln.softmax %sc {axis = 3 : i64} : tensor<?x4x?x?xf32>
  %o = kiln.matmul %p, %vr : (tensor<?x4x?x?xf32>, tensor<?x4x?x8xf32>) -> tensor<?x4x?x8xf32>
  return %o : tensor<?x4x?x8xf32>
}

// -----

#in = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, 0, d3, d4)>
#out = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>

// A generic that computes rather than copies is no broadcast: the key
// heads are not traced through it, so the key is not un-repeated and the
// value (traced alone) is not either.
// CHECK-LABEL: func @not_a_broadcast
// CHECK-SAME: (%[[Q:.+]]: tensor<?x4x?x8xf32>, %[[K:.+]]: tensor<?x2x?x8xf32>, %[[V:.+]]: tensor<?x2x?x8xf32>)
// CHECK: kiln.attention %[[Q]], %{{.+}}, %{{.+}} {scale = 1.000000e+00 : f32} : (tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>)
func.func @not_a_broadcast(%q: tensor<?x4x?x8xf32>, %k: tensor<?x2x?x8xf32>, %v: tensor<?x2x?x8xf32>) -> tensor<?x4x?x8xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %b = tensor.dim %k, %c0 : tensor<?x2x?x8xf32>
  %s = tensor.dim %k, %c2 : tensor<?x2x?x8xf32>
  %k5 = tensor.expand_shape %k [[0], [1, 2], [3], [4]] output_shape [%b, 2, 1, %s, 8] : tensor<?x2x?x8xf32> into tensor<?x2x1x?x8xf32>
  %ke = tensor.empty(%b, %s) : tensor<?x2x2x?x8xf32>
  %kb = linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%k5 : tensor<?x2x1x?x8xf32>) outs(%ke : tensor<?x2x2x?x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %n = arith.negf %x : f32
    linalg.yield %n : f32
  } -> tensor<?x2x2x?x8xf32>
  %kr = tensor.collapse_shape %kb [[0], [1, 2], [3], [4]] : tensor<?x2x2x?x8xf32> into tensor<?x4x?x8xf32>
  %v5 = tensor.expand_shape %v [[0], [1, 2], [3], [4]] output_shape [%b, 2, 1, %s, 8] : tensor<?x2x?x8xf32> into tensor<?x2x1x?x8xf32>
  %ve = tensor.empty(%b, %s) : tensor<?x2x2x?x8xf32>
  %vb = linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%v5 : tensor<?x2x1x?x8xf32>) outs(%ve : tensor<?x2x2x?x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  } -> tensor<?x2x2x?x8xf32>
  %vr = tensor.collapse_shape %vb [[0], [1, 2], [3], [4]] : tensor<?x2x2x?x8xf32> into tensor<?x4x?x8xf32>
  %kt = kiln.transpose %kr {permutation = array<i64: 0, 1, 3, 2>} : tensor<?x4x?x8xf32> -> tensor<?x4x8x?xf32>
  %sc = kiln.matmul %q, %kt : (tensor<?x4x?x8xf32>, tensor<?x4x8x?xf32>) -> tensor<?x4x?x?xf32>
  // expected-remark @+1 {{raised attention (no mask, 4 heads, scale 1)}}
  %p = kiln.softmax %sc {axis = 3 : i64} : tensor<?x4x?x?xf32>
  %o = kiln.matmul %p, %vr : (tensor<?x4x?x?xf32>, tensor<?x4x?x8xf32>) -> tensor<?x4x?x8xf32>
  return %o : tensor<?x4x?x8xf32>
}

