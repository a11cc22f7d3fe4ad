// RUN: kiln-opt %s -kiln-raise-attention -split-input-file -verify-diagnostics | FileCheck %s

// kiln-raise-attention on a decoder exported with its KV cache, as Hugging
// Face's decoders are with past_key_values: the keys and values are
// `present = concat(past, new)` along the sequence (also returned), and
// the mask is `concat(zeros [S, P], causal [S, S])` along the keys.

#iota = affine_map<(d0) -> (d0)>
#bcast = affine_map<(d0, d1, d2, d3) -> (0, d1, d2, d3)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>

// The past becomes the attention's past_key / past_value and the returned
// concats its present results. Read over the new keys, the mask is causal,
// and its past part keeps every past key: causal in kiln.attention's frame,
// where query i sits at P + i.
// CHECK-LABEL: func @hf_past
// CHECK-SAME: (%[[Q:.+]]: tensor<?x2x?x8xf32>, %[[K:.+]]: tensor<?x2x?x8xf32>, %[[V:.+]]: tensor<?x2x?x8xf32>, %[[PK:.+]]: tensor<?x2x?x8xf32>, %[[PV:.+]]: tensor<?x2x?x8xf32>)
// CHECK: %[[O:.+]], %[[NK:.+]], %[[NV:.+]] = kiln.attention %[[Q]], %[[K]], %[[V]] past %[[PK]], %[[PV]] {mask_kind = #kiln.mask_kind<causal>, scale = 1.000000e+00 : f32}
// CHECK-NOT: kiln.concat
// CHECK: return %[[O]], %[[NK]], %[[NV]]
func.func @hf_past(%q: tensor<?x2x?x8xf32>, %k: tensor<?x2x?x8xf32>, %v: tensor<?x2x?x8xf32>,
                   %pk: tensor<?x2x?x8xf32>, %pv: tensor<?x2x?x8xf32>)
    -> (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %b = tensor.dim %q, %c0 : tensor<?x2x?x8xf32>
  %s = tensor.dim %q, %c2 : tensor<?x2x?x8xf32>
  %p = tensor.dim %pk, %c2 : tensor<?x2x?x8xf32>
  %l = arith.addi %p, %s : index
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
  %zf = arith.constant 0.0 : f32
  %zeros = tensor.splat %zf[%s, %p] : tensor<?x?xf32>
  %mask2 = kiln.concat %zeros, %causal {axis = 1 : i64} : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %m3 = kiln.reshape %mask2 : tensor<?x?xf32> -> tensor<1x1x?x?xf32>
  %me = tensor.empty(%b, %s, %l) : tensor<?x1x?x?xf32>
  %m4 = linalg.generic {indexing_maps = [#bcast, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%m3 : tensor<1x1x?x?xf32>) outs(%me : tensor<?x1x?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  } -> tensor<?x1x?x?xf32>
  %kc = kiln.concat %pk, %k {axis = 2 : i64} : (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  %vc = kiln.concat %pv, %v {axis = 2 : i64} : (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  %kt = kiln.transpose %kc {permutation = array<i64: 0, 1, 3, 2>} : tensor<?x2x?x8xf32> -> tensor<?x2x8x?xf32>
  %sc = kiln.matmul %q, %kt : (tensor<?x2x?x8xf32>, tensor<?x2x8x?xf32>) -> tensor<?x2x?x?xf32>
  %ms = kiln.add %sc, %m4 : (tensor<?x2x?x?xf32>, tensor<?x1x?x?xf32>) -> tensor<?x2x?x?xf32>
  // expected-remark @+1 {{raised attention (causal, 2 heads, scale 1, after past keys and values)}}
  %pr = kiln.softmax %ms {axis = 3 : i64} : tensor<?x2x?x?xf32>
  %o = kiln.matmul %pr, %vc : (tensor<?x2x?x?xf32>, tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  return %o, %kc, %vc : tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>
}

// -----

#iota = affine_map<(d0) -> (d0)>
#bcast = affine_map<(d0, d1, d2, d3) -> (0, d1, d2, d3)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>

// The same, but the mask removes every past key: causal over the new keys
// is not causal over all of them, so the mask stays the operand (over the
// P + S keys) while the cache still becomes the op's.
// CHECK-LABEL: func @past_removed
// CHECK: kiln.attention %{{.+}}, %{{.+}}, %{{.+}} mask %{{.+}} past %{{.+}}, %{{.+}} {scale = 1.000000e+00 : f32}
func.func @past_removed(%q: tensor<?x2x?x8xf32>, %k: tensor<?x2x?x8xf32>, %v: tensor<?x2x?x8xf32>,
                        %pk: tensor<?x2x?x8xf32>, %pv: tensor<?x2x?x8xf32>)
    -> (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %b = tensor.dim %q, %c0 : tensor<?x2x?x8xf32>
  %s = tensor.dim %q, %c2 : tensor<?x2x?x8xf32>
  %p = tensor.dim %pk, %c2 : tensor<?x2x?x8xf32>
  %l = arith.addi %p, %s : index
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
  %gone = tensor.splat %min[%s, %p] : tensor<?x?xf32>
  %mask2 = kiln.concat %gone, %causal {axis = 1 : i64} : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %m3 = kiln.reshape %mask2 : tensor<?x?xf32> -> tensor<1x1x?x?xf32>
  %me = tensor.empty(%b, %s, %l) : tensor<?x1x?x?xf32>
  %m4 = linalg.generic {indexing_maps = [#bcast, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%m3 : tensor<1x1x?x?xf32>) outs(%me : tensor<?x1x?x?xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  } -> tensor<?x1x?x?xf32>
  %kc = kiln.concat %pk, %k {axis = 2 : i64} : (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  %vc = kiln.concat %pv, %v {axis = 2 : i64} : (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  %kt = kiln.transpose %kc {permutation = array<i64: 0, 1, 3, 2>} : tensor<?x2x?x8xf32> -> tensor<?x2x8x?xf32>
  %sc = kiln.matmul %q, %kt : (tensor<?x2x?x8xf32>, tensor<?x2x8x?xf32>) -> tensor<?x2x?x?xf32>
  %ms = kiln.add %sc, %m4 : (tensor<?x2x?x?xf32>, tensor<?x1x?x?xf32>) -> tensor<?x2x?x?xf32>
  // expected-remark @+1 {{raised attention (f32 mask operand, 2 heads, scale 1, after past keys and values)}}
  %pr = kiln.softmax %ms {axis = 3 : i64} : tensor<?x2x?x?xf32>
  %o = kiln.matmul %pr, %vc : (tensor<?x2x?x?xf32>, tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  return %o, %kc, %vc : tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>
}
