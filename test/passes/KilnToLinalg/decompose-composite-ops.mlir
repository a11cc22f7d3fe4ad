// RUN: kiln-opt %s -kiln-decompose-composite-ops -split-input-file | FileCheck %s

// kiln-decompose-composite-ops rewrites the composite ops into primitive Kiln ops.

// softmax subtracts the row maximum before exponentiating.
// CHECK-LABEL: func @softmax
// CHECK-SAME: (%[[X:.+]]: tensor<2x16xf32>)
// CHECK: %[[MAX:.+]] = kiln.reduce_max %[[X]] {axes = array<i64: 1>, keepdims = true} : tensor<2x16xf32> -> tensor<2x1xf32>
// CHECK: %[[SHIFTED:.+]] = kiln.sub %[[X]], %[[MAX]] : (tensor<2x16xf32>, tensor<2x1xf32>) -> tensor<2x16xf32>
// CHECK: %[[E:.+]] = kiln.exp %[[SHIFTED]] : tensor<2x16xf32>
// CHECK: %[[SUM:.+]] = kiln.reduce_sum %[[E]] {axes = array<i64: 1>, keepdims = true} : tensor<2x16xf32> -> tensor<2x1xf32>
// CHECK: %[[R:.+]] = kiln.div %[[E]], %[[SUM]] : (tensor<2x16xf32>, tensor<2x1xf32>) -> tensor<2x16xf32>
// CHECK: return %[[R]]
// CHECK-NOT: kiln.softmax
func.func @softmax(%x: tensor<2x16xf32>) -> tensor<2x16xf32> {
  %0 = kiln.softmax %x {axis = -1 : i64} : tensor<2x16xf32>
  return %0 : tensor<2x16xf32>
}

// -----

// An inner axis: the reductions keep it as a size-1 dimension.
// CHECK-LABEL: func @log_softmax
// CHECK-SAME: (%[[X:.+]]: tensor<2x4x16xf32>)
// CHECK: %[[MAX:.+]] = kiln.reduce_max %[[X]] {axes = array<i64: 1>, keepdims = true} : tensor<2x4x16xf32> -> tensor<2x1x16xf32>
// CHECK: %[[SHIFTED:.+]] = kiln.sub %[[X]], %[[MAX]]
// CHECK: %[[E:.+]] = kiln.exp %[[SHIFTED]]
// CHECK: %[[SUM:.+]] = kiln.reduce_sum %[[E]] {axes = array<i64: 1>, keepdims = true} : tensor<2x4x16xf32> -> tensor<2x1x16xf32>
// CHECK: %[[LOG:.+]] = kiln.log %[[SUM]] : tensor<2x1x16xf32>
// CHECK: %[[R:.+]] = kiln.sub %[[SHIFTED]], %[[LOG]] : (tensor<2x4x16xf32>, tensor<2x1x16xf32>) -> tensor<2x4x16xf32>
// CHECK: return %[[R]]
// CHECK-NOT: kiln.log_softmax
func.func @log_softmax(%x: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %0 = kiln.log_softmax %x {axis = 1 : i64} : tensor<2x4x16xf32>
  return %0 : tensor<2x4x16xf32>
}

// -----

// layer_norm: both means are sum * (1/64) (reduce_mean is decomposed too), the
// variance is the biased one, epsilon is a rank-0 constant.
// CHECK-LABEL: func @layer_norm
// CHECK-SAME: (%[[X:.+]]: tensor<2x8x64xf32>, %[[G:.+]]: tensor<64xf32>, %[[B:.+]]: tensor<64xf32>)
// CHECK-DAG: %[[EPS:.+]] = arith.constant dense<9.99999974E-6> : tensor<f32>
// CHECK-DAG: %[[N:.+]] = arith.constant dense<1.562500e-02> : tensor<f32>
// CHECK: %[[S1:.+]] = kiln.reduce_sum %[[X]] {axes = array<i64: 2>, keepdims = true} : tensor<2x8x64xf32> -> tensor<2x8x1xf32>
// CHECK: %[[MEAN:.+]] = kiln.mul %[[S1]], %[[N]]
// CHECK: %[[C:.+]] = kiln.sub %[[X]], %[[MEAN]] : (tensor<2x8x64xf32>, tensor<2x8x1xf32>) -> tensor<2x8x64xf32>
// CHECK: %[[SQ:.+]] = kiln.mul %[[C]], %[[C]]
// CHECK: %[[S2:.+]] = kiln.reduce_sum %[[SQ]] {axes = array<i64: 2>, keepdims = true}
// CHECK: %[[VAR:.+]] = kiln.mul %[[S2]], %[[N]]
// CHECK: %[[VE:.+]] = kiln.add %[[VAR]], %[[EPS]] : (tensor<2x8x1xf32>, tensor<f32>) -> tensor<2x8x1xf32>
// CHECK: %[[INV:.+]] = kiln.rsqrt %[[VE]] : tensor<2x8x1xf32>
// CHECK: %[[Y:.+]] = kiln.mul %[[C]], %[[INV]] : (tensor<2x8x64xf32>, tensor<2x8x1xf32>) -> tensor<2x8x64xf32>
// CHECK: %[[YS:.+]] = kiln.mul %[[Y]], %[[G]] : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
// CHECK: %[[R:.+]] = kiln.add %[[YS]], %[[B]] : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
// CHECK: return %[[R]]
// CHECK-NOT: kiln.layer_norm
func.func @layer_norm(%x: tensor<2x8x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<2x8x64xf32> {
  %0 = kiln.layer_norm %x, %g, %b {axis = -1 : i64, epsilon = 1.0e-05 : f32}
      : (tensor<2x8x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Without bias the scaled value is the result; normalizing over two axes
// multiplies by 1 / (8 * 64) = 1/512 (512 itself need not fit the type).
// CHECK-LABEL: func @layer_norm_no_bias
// CHECK-SAME: (%[[X:.+]]: tensor<2x8x64xf16>, %[[G:.+]]: tensor<8x64xf16>)
// CHECK-DAG: arith.constant dense<1.001360e-05> : tensor<f16>
// CHECK-DAG: %[[N:.+]] = arith.constant dense<1.953130e-03> : tensor<f16>
// CHECK: kiln.reduce_sum %[[X]] {axes = array<i64: 1, 2>, keepdims = true} : tensor<2x8x64xf16> -> tensor<2x1x1xf16>
// CHECK: kiln.rsqrt %{{.+}} : tensor<2x1x1xf16>
// CHECK: %[[YS:.+]] = kiln.mul %{{.+}}, %[[G]] : (tensor<2x8x64xf16>, tensor<8x64xf16>) -> tensor<2x8x64xf16>
// CHECK-NOT: kiln.add
// CHECK: return %[[YS]]
func.func @layer_norm_no_bias(%x: tensor<2x8x64xf16>, %g: tensor<8x64xf16>) -> tensor<2x8x64xf16> {
  %0 = kiln.layer_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-05 : f32}
      : (tensor<2x8x64xf16>, tensor<8x64xf16>) -> tensor<2x8x64xf16>
  return %0 : tensor<2x8x64xf16>
}

// -----

// A vector input goes through a one-row matrix.
// CHECK-LABEL: func @linear_rank1_bias
// CHECK-SAME: (%[[X:.+]]: tensor<64xf32>, %[[W:.+]]: tensor<128x64xf32>, %[[B:.+]]: tensor<128xf32>)
// CHECK: %[[WT:.+]] = kiln.transpose %[[W]] {permutation = array<i64: 1, 0>} : tensor<128x64xf32> -> tensor<64x128xf32>
// CHECK: %[[ROW:.+]] = kiln.reshape %[[X]] : tensor<64xf32> -> tensor<1x64xf32>
// CHECK: %[[P:.+]] = kiln.matmul %[[ROW]], %[[WT]] : (tensor<1x64xf32>, tensor<64x128xf32>) -> tensor<1x128xf32>
// CHECK: %[[V:.+]] = kiln.reshape %[[P]] : tensor<1x128xf32> -> tensor<128xf32>
// CHECK: %[[R:.+]] = kiln.add %[[V]], %[[B]] : (tensor<128xf32>, tensor<128xf32>) -> tensor<128xf32>
// CHECK: return %[[R]]
func.func @linear_rank1_bias(%x: tensor<64xf32>, %w: tensor<128x64xf32>, %b: tensor<128xf32>) -> tensor<128xf32> {
  %0 = kiln.linear %x, %w, %b : (tensor<64xf32>, tensor<128x64xf32>, tensor<128xf32>) -> tensor<128xf32>
  return %0 : tensor<128xf32>
}

// -----

// CHECK-LABEL: func @linear_rank1_no_bias
// CHECK: kiln.reshape %{{.+}} : tensor<64xf32> -> tensor<1x64xf32>
// CHECK: kiln.matmul
// CHECK: %[[V:.+]] = kiln.reshape %{{.+}} : tensor<1x128xf32> -> tensor<128xf32>
// CHECK-NEXT: return %[[V]]
func.func @linear_rank1_no_bias(%x: tensor<64xf32>, %w: tensor<128x64xf32>) -> tensor<128xf32> {
  %0 = kiln.linear %x, %w : (tensor<64xf32>, tensor<128x64xf32>) -> tensor<128xf32>
  return %0 : tensor<128xf32>
}

// -----

// CHECK-LABEL: func @linear_rank2_bias
// CHECK-SAME: (%[[X:.+]]: tensor<4x64xf32>, %[[W:.+]]: tensor<128x64xf32>, %[[B:.+]]: tensor<128xf32>)
// CHECK: %[[WT:.+]] = kiln.transpose %[[W]] {permutation = array<i64: 1, 0>}
// CHECK-NOT: kiln.reshape
// CHECK: %[[P:.+]] = kiln.matmul %[[X]], %[[WT]] : (tensor<4x64xf32>, tensor<64x128xf32>) -> tensor<4x128xf32>
// CHECK: %[[R:.+]] = kiln.add %[[P]], %[[B]] : (tensor<4x128xf32>, tensor<128xf32>) -> tensor<4x128xf32>
// CHECK: return %[[R]]
func.func @linear_rank2_bias(%x: tensor<4x64xf32>, %w: tensor<128x64xf32>, %b: tensor<128xf32>) -> tensor<4x128xf32> {
  %0 = kiln.linear %x, %w, %b : (tensor<4x64xf32>, tensor<128x64xf32>, tensor<128xf32>) -> tensor<4x128xf32>
  return %0 : tensor<4x128xf32>
}

// -----

// CHECK-LABEL: func @linear_rank2_no_bias
// CHECK-SAME: (%[[X:.+]]: tensor<4x64xf32>, %[[W:.+]]: tensor<128x64xf32>)
// CHECK: %[[WT:.+]] = kiln.transpose %[[W]]
// CHECK: %[[P:.+]] = kiln.matmul %[[X]], %[[WT]] : (tensor<4x64xf32>, tensor<64x128xf32>) -> tensor<4x128xf32>
// CHECK-NEXT: return %[[P]]
func.func @linear_rank2_no_bias(%x: tensor<4x64xf32>, %w: tensor<128x64xf32>) -> tensor<4x128xf32> {
  %0 = kiln.linear %x, %w : (tensor<4x64xf32>, tensor<128x64xf32>) -> tensor<4x128xf32>
  return %0 : tensor<4x128xf32>
}

// -----

// A batched input keeps its leading dimensions: the matmul broadcasts the
// transposed weight over them.
// CHECK-LABEL: func @linear_rank3_bias
// CHECK-SAME: (%[[X:.+]]: tensor<2x8x64xf32>, %[[W:.+]]: tensor<128x64xf32>, %[[B:.+]]: tensor<128xf32>)
// CHECK: %[[WT:.+]] = kiln.transpose %[[W]] {permutation = array<i64: 1, 0>} : tensor<128x64xf32> -> tensor<64x128xf32>
// CHECK: %[[P:.+]] = kiln.matmul %[[X]], %[[WT]] : (tensor<2x8x64xf32>, tensor<64x128xf32>) -> tensor<2x8x128xf32>
// CHECK: %[[R:.+]] = kiln.add %[[P]], %[[B]] : (tensor<2x8x128xf32>, tensor<128xf32>) -> tensor<2x8x128xf32>
// CHECK: return %[[R]]
func.func @linear_rank3_bias(%x: tensor<2x8x64xf32>, %w: tensor<128x64xf32>, %b: tensor<128xf32>) -> tensor<2x8x128xf32> {
  %0 = kiln.linear %x, %w, %b : (tensor<2x8x64xf32>, tensor<128x64xf32>, tensor<128xf32>) -> tensor<2x8x128xf32>
  return %0 : tensor<2x8x128xf32>
}

// -----

// CHECK-LABEL: func @linear_rank3_no_bias
// CHECK: %[[P:.+]] = kiln.matmul %{{.+}}, %{{.+}} : (tensor<2x8x64xf32>, tensor<64x128xf32>) -> tensor<2x8x128xf32>
// CHECK-NEXT: return %[[P]]
func.func @linear_rank3_no_bias(%x: tensor<2x8x64xf32>, %w: tensor<128x64xf32>) -> tensor<2x8x128xf32> {
  %0 = kiln.linear %x, %w : (tensor<2x8x64xf32>, tensor<128x64xf32>) -> tensor<2x8x128xf32>
  return %0 : tensor<2x8x128xf32>
}

// -----

// CHECK-LABEL: func @reduce_mean_keepdims
// CHECK-SAME: (%[[X:.+]]: tensor<2x8x4xf32>)
// CHECK: %[[N:.+]] = arith.constant dense<1.250000e-01> : tensor<f32>
// CHECK: %[[S:.+]] = kiln.reduce_sum %[[X]] {axes = array<i64: 1>, keepdims = true} : tensor<2x8x4xf32> -> tensor<2x1x4xf32>
// CHECK: %[[R:.+]] = kiln.mul %[[S]], %[[N]] : (tensor<2x1x4xf32>, tensor<f32>) -> tensor<2x1x4xf32>
// CHECK: return %[[R]]
func.func @reduce_mean_keepdims(%x: tensor<2x8x4xf32>) -> tensor<2x1x4xf32> {
  %0 = kiln.reduce_mean %x {axes = array<i64: 1>, keepdims = true} : tensor<2x8x4xf32> -> tensor<2x1x4xf32>
  return %0 : tensor<2x1x4xf32>
}

// -----

// Integer means divide with truncation; the count is 8 * 4 = 32.
// CHECK-LABEL: func @reduce_mean_no_keepdims
// CHECK-SAME: (%[[X:.+]]: tensor<2x8x4xi32>)
// CHECK: %[[N:.+]] = arith.constant dense<32> : tensor<i32>
// CHECK: %[[S:.+]] = kiln.reduce_sum %[[X]] {axes = array<i64: 1, 2>} : tensor<2x8x4xi32> -> tensor<2xi32>
// CHECK: %[[R:.+]] = kiln.div %[[S]], %[[N]] : (tensor<2xi32>, tensor<i32>) -> tensor<2xi32>
// CHECK: return %[[R]]
func.func @reduce_mean_no_keepdims(%x: tensor<2x8x4xi32>) -> tensor<2xi32> {
  %0 = kiln.reduce_mean %x {axes = array<i64: 1, 2>, keepdims = false} : tensor<2x8x4xi32> -> tensor<2xi32>
  return %0 : tensor<2xi32>
}

// -----

// Primitive ops are left alone.
// CHECK-LABEL: func @primitive_untouched
// CHECK: kiln.reduce_sum
// CHECK: kiln.matmul
// CHECK: kiln.gelu
func.func @primitive_untouched(%x: tensor<2x8xf32>, %w: tensor<8x8xf32>) -> (tensor<2xf32>, tensor<2x8xf32>) {
  %0 = kiln.reduce_sum %x {axes = array<i64: 1>} : tensor<2x8xf32> -> tensor<2xf32>
  %1 = kiln.matmul %x, %w : (tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<2x8xf32>
  %2 = kiln.gelu %1 : tensor<2x8xf32>
  return %0, %2 : tensor<2xf32>, tensor<2x8xf32>
}
