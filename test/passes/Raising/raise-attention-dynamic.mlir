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


// -----

#iota = affine_map<(d0) -> (d0)>
#bcast = affine_map<(d0, d1, d2, d3) -> (0, d1, d2, d3)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>

// Mixtral's mask as exported with a symbolic sequence length: a causal
// fill from Range (a generic over linalg.index) compared with Range + 1,
// then the keys more than 5 back removed with Trilu of a splat of ones,
// reshaped and expanded over the batch. Read as a function of j - i it
// keeps -5 <= j - i <= 0 at every length: a sliding window.
// CHECK-LABEL: func @sliding_window_of_a_run_time_length
// CHECK: kiln.attention %{{.+}}, %{{.+}}, %{{.+}} {mask_kind = #kiln.mask_kind<sliding_window>, scale = 1.000000e+00 : f32, window_left = 5 : i64, window_right = 0 : i64}
// CHECK-NOT: kiln.trilu
func.func @sliding_window_of_a_run_time_length(%q: tensor<?x2x?x8xf32>, %kt: tensor<?x2x8x?xf32>, %v: tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %b = tensor.dim %q, %c0 : tensor<?x2x?x8xf32>
  %s = tensor.dim %q, %c2 : tensor<?x2x?x8xf32>
  %min = arith.constant -3.40282347E+38 : f32
  %fill = tensor.splat %min[%s, %s] : tensor<?x?xf32>
  %e = tensor.empty(%s) : tensor<?xi64>
  %range = linalg.generic {indexing_maps = [#iota], iterator_types = ["parallel"]} outs(%e : tensor<?xi64>) {
  ^bb0(%o: i64):
    %i = linalg.index 0 : index
    %ii = arith.index_cast %i : index to i64
    linalg.yield %ii : i64
  } -> tensor<?xi64>
  %one = arith.constant dense<1> : tensor<i64>
  %next = kiln.add %range, %one : (tensor<?xi64>, tensor<i64>) -> tensor<?xi64>
  %rows = tensor.expand_shape %next [[0, 1]] output_shape [%s, 1] : tensor<?xi64> into tensor<?x1xi64>
  %lower = kiln.compare lt, %range, %rows : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %zero = arith.constant dense<0.0> : tensor<f32>
  %causal = kiln.select %lower, %zero, %fill : (tensor<?x?xi1>, tensor<f32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %minc = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %c1 = arith.constant 1 : i32
  %ones = tensor.splat %c1[%s, %s] : tensor<?x?xi32>
  %band = kiln.trilu %ones {diagonal = -5 : i64, upper = true} : tensor<?x?xi32>
  %onei = arith.constant dense<1> : tensor<i32>
  %far = kiln.sub %onei, %band : (tensor<i32>, tensor<?x?xi32>) -> tensor<?x?xi32>
  %farb = kiln.cast %far : tensor<?x?xi32> -> tensor<?x?xi1>
  %mask2 = kiln.select %farb, %minc, %causal : (tensor<?x?xi1>, tensor<f32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %m3 = kiln.reshape %mask2 : tensor<?x?xf32> -> tensor<1x1x?x?xf32>
  %me = tensor.empty(%b, %s, %s) : tensor<?x1x?x?xf32>
  %m4 = linalg.generic {indexing_maps = [#bcast, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%m3 : tensor<1x1x?x?xf32>) outs(%me : tensor<?x1x?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  } -> tensor<?x1x?x?xf32>
  %sc = kiln.matmul %q, %kt : (tensor<?x2x?x8xf32>, tensor<?x2x8x?xf32>) -> tensor<?x2x?x?xf32>
  %ms = kiln.add %sc, %m4 : (tensor<?x2x?x?xf32>, tensor<?x1x?x?xf32>) -> tensor<?x2x?x?xf32>
  // expected-remark @+1 {{raised attention (sliding window, left 5, right 0, 2 heads, scale 1)}}
  %p = kiln.softmax %ms {axis = 3 : i64} : tensor<?x2x?x?xf32>
  %o = kiln.matmul %p, %v : (tensor<?x2x?x?xf32>, tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  return %o : tensor<?x2x?x8xf32>
}

// -----

#iota = affine_map<(d0) -> (d0)>

// A mask that depends on the query alone (i < 3 keeps every key, the
// other queries only key 0) is no function of j - i: it stays the mask
// operand.
// CHECK-LABEL: func @not_a_band
// CHECK: kiln.attention %{{.+}}, %{{.+}}, %{{.+}} mask %{{.+}} {scale = 1.000000e+00 : f32}
func.func @not_a_band(%q: tensor<1x2x?x8xf32>, %kt: tensor<1x2x8x?xf32>, %v: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
  %c2 = arith.constant 2 : index
  %s = tensor.dim %q, %c2 : tensor<1x2x?x8xf32>
  %e = tensor.empty(%s) : tensor<?xi64>
  %range = linalg.generic {indexing_maps = [#iota], iterator_types = ["parallel"]} outs(%e : tensor<?xi64>) {
  ^bb0(%o: i64):
    %i = linalg.index 0 : index
    %ii = arith.index_cast %i : index to i64
    linalg.yield %ii : i64
  } -> tensor<?xi64>
  %three = arith.constant dense<3> : tensor<i64>
  %rows = tensor.expand_shape %range [[0, 1]] output_shape [%s, 1] : tensor<?xi64> into tensor<?x1xi64>
  %late = kiln.compare ge, %rows, %three : (tensor<?x1xi64>, tensor<i64>) -> tensor<?x1xi1>
  %zero = arith.constant dense<0> : tensor<i64>
  %notfirst = kiln.compare gt, %range, %zero : (tensor<?xi64>, tensor<i64>) -> tensor<?xi1>
  %drop = kiln.and %late, %notfirst : (tensor<?x1xi1>, tensor<?xi1>) -> tensor<?x?xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %sc = kiln.matmul %q, %kt : (tensor<1x2x?x8xf32>, tensor<1x2x8x?xf32>) -> tensor<1x2x?x?xf32>
  %ms = kiln.select %drop, %ninf, %sc : (tensor<?x?xi1>, tensor<f32>, tensor<1x2x?x?xf32>) -> tensor<1x2x?x?xf32>
  // expected-remark @+1 {{raised attention (i1 mask operand, 2 heads, scale 1)}}
  %p = kiln.softmax %ms {axis = 3 : i64} : tensor<1x2x?x?xf32>
  %o = kiln.matmul %p, %v : (tensor<1x2x?x?xf32>, tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

#iota = affine_map<(d0) -> (d0)>

// A causal band that also adds 0.5 to the pairs it keeps is no mask kind
// (kiln.attention's kinds add nothing): it stays the mask operand.
// CHECK-LABEL: func @biased_band
// CHECK: kiln.attention %{{.+}}, %{{.+}}, %{{.+}} mask %{{.+}} {scale = 1.000000e+00 : f32}
func.func @biased_band(%q: tensor<1x2x?x8xf32>, %kt: tensor<1x2x8x?xf32>, %v: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
  %c2 = arith.constant 2 : index
  %s = tensor.dim %q, %c2 : tensor<1x2x?x8xf32>
  %e = tensor.empty(%s) : tensor<?xi64>
  %range = linalg.generic {indexing_maps = [#iota], iterator_types = ["parallel"]} outs(%e : tensor<?xi64>) {
  ^bb0(%o: i64):
    %i = linalg.index 0 : index
    %ii = arith.index_cast %i : index to i64
    linalg.yield %ii : i64
  } -> tensor<?xi64>
  %rows = tensor.expand_shape %range [[0, 1]] output_shape [%s, 1] : tensor<?xi64> into tensor<?x1xi64>
  %keep = kiln.compare le, %range, %rows : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %half = arith.constant dense<0.5> : tensor<f32>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %mask = kiln.select %keep, %half, %ninf : (tensor<?x?xi1>, tensor<f32>, tensor<f32>) -> tensor<?x?xf32>
  %sc = kiln.matmul %q, %kt : (tensor<1x2x?x8xf32>, tensor<1x2x8x?xf32>) -> tensor<1x2x?x?xf32>
  %ms = kiln.add %sc, %mask : (tensor<1x2x?x?xf32>, tensor<?x?xf32>) -> tensor<1x2x?x?xf32>
  // expected-remark @+1 {{raised attention (f32 mask operand, 2 heads, scale 1)}}
  %p = kiln.softmax %ms {axis = 3 : i64} : tensor<1x2x?x?xf32>
  %o = kiln.matmul %p, %v : (tensor<1x2x?x?xf32>, tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

#iota = affine_map<(d0) -> (d0)>

// The same band with no bias: causal, the mask removed.
// CHECK-LABEL: func @unbiased_band
// CHECK: kiln.attention %{{.+}}, %{{.+}}, %{{.+}} {mask_kind = #kiln.mask_kind<causal>, scale = 1.000000e+00 : f32}
func.func @unbiased_band(%q: tensor<1x2x?x8xf32>, %kt: tensor<1x2x8x?xf32>, %v: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
  %c2 = arith.constant 2 : index
  %s = tensor.dim %q, %c2 : tensor<1x2x?x8xf32>
  %e = tensor.empty(%s) : tensor<?xi64>
  %range = linalg.generic {indexing_maps = [#iota], iterator_types = ["parallel"]} outs(%e : tensor<?xi64>) {
  ^bb0(%o: i64):
    %i = linalg.index 0 : index
    %ii = arith.index_cast %i : index to i64
    linalg.yield %ii : i64
  } -> tensor<?xi64>
  %rows = tensor.expand_shape %range [[0, 1]] output_shape [%s, 1] : tensor<?xi64> into tensor<?x1xi64>
  %keep = kiln.compare le, %range, %rows : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %zero = arith.constant dense<0.0> : tensor<f32>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %mask = kiln.select %keep, %zero, %ninf : (tensor<?x?xi1>, tensor<f32>, tensor<f32>) -> tensor<?x?xf32>
  %sc = kiln.matmul %q, %kt : (tensor<1x2x?x8xf32>, tensor<1x2x8x?xf32>) -> tensor<1x2x?x?xf32>
  %ms = kiln.add %sc, %mask : (tensor<1x2x?x?xf32>, tensor<?x?xf32>) -> tensor<1x2x?x?xf32>
  // expected-remark @+1 {{raised attention (causal, 2 heads, scale 1)}}
  %p = kiln.softmax %ms {axis = 3 : i64} : tensor<1x2x?x?xf32>
  %o = kiln.matmul %p, %v : (tensor<1x2x?x?xf32>, tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}
