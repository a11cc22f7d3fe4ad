// RUN: kiln-opt %s -kiln-decompose-composite-ops -split-input-file | FileCheck %s

// kiln-decompose-composite-ops rewrites kiln.qlinear to
//   linear(x, dequantize(w, scale, zero_point) [* global_scale], bias)
// where the dequantize carries the qlinear's block_shape (and is_unsigned)
// and no axis or block_size. kiln.linear is decomposed by the same pass, so
// what is left is dequantize -> transpose [N, K] to [K, N] -> matmul
// (-> add bias). Without a global scale the weight dequantizes straight to
// the input's element type; with one it dequantizes to f32, is multiplied
// by the (rank-0) global scale and is rounded once to the input's type.

// int4 group-wise with a zero point, unsigned, and a bias; batched input.
// CHECK-LABEL: func @qlinear_int4_zero_point_bias
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x128xf32>, %[[W:.+]]: tensor<64x128xi4>, %[[S:.+]]: tensor<64x4xf32>, %[[Z:.+]]: tensor<64x4xi4>, %[[B:.+]]: tensor<64xf32>)
// CHECK: %[[D:.+]] = kiln.dequantize %[[W]], %[[S]], %[[Z]] {block_shape = array<i64: 1, 32>, is_unsigned = true} : (tensor<64x128xi4>, tensor<64x4xf32>, tensor<64x4xi4>) -> tensor<64x128xf32>
// CHECK: %[[T:.+]] = kiln.transpose %[[D]] {permutation = array<i64: 1, 0>} : tensor<64x128xf32> -> tensor<128x64xf32>
// CHECK: %[[P:.+]] = kiln.matmul %[[X]], %[[T]] : (tensor<2x3x128xf32>, tensor<128x64xf32>) -> tensor<2x3x64xf32>
// CHECK: %[[R:.+]] = kiln.add %[[P]], %[[B]] : (tensor<2x3x64xf32>, tensor<64xf32>) -> tensor<2x3x64xf32>
// CHECK: return %[[R]]
// CHECK-NOT: kiln.qlinear
// CHECK-NOT: kiln.linear
func.func @qlinear_int4_zero_point_bias(%x: tensor<2x3x128xf32>, %w: tensor<64x128xi4>, %s: tensor<64x4xf32>, %z: tensor<64x4xi4>, %b: tensor<64xf32>) -> tensor<2x3x64xf32> {
  %0 = kiln.qlinear %x, %w, %s zero_point %z bias %b {block_shape = array<i64: 1, 32>, is_unsigned = true} : (tensor<2x3x128xf32>, tensor<64x128xi4>, tensor<64x4xf32>, tensor<64x4xi4>, tensor<64xf32>) -> tensor<2x3x64xf32>
  return %0 : tensor<2x3x64xf32>
}

// -----

// fp8 in 128x128 blocks with a bf16 input and no global scale: the
// dequantize produces bf16 directly; no mul, no cast.
// CHECK-LABEL: func @qlinear_fp8_blocks
// CHECK-SAME: (%[[X:.+]]: tensor<4x512xbf16>, %[[W:.+]]: tensor<256x512xf8E4M3FN>, %[[S:.+]]: tensor<2x4xf32>)
// CHECK: %[[D:.+]] = kiln.dequantize %[[W]], %[[S]] {block_shape = array<i64: 128, 128>} : (tensor<256x512xf8E4M3FN>, tensor<2x4xf32>) -> tensor<256x512xbf16>
// CHECK: %[[T:.+]] = kiln.transpose %[[D]] {permutation = array<i64: 1, 0>} : tensor<256x512xbf16> -> tensor<512x256xbf16>
// CHECK: %[[P:.+]] = kiln.matmul %[[X]], %[[T]] : (tensor<4x512xbf16>, tensor<512x256xbf16>) -> tensor<4x256xbf16>
// CHECK: return %[[P]]
// CHECK-NOT: kiln.mul
// CHECK-NOT: kiln.cast
func.func @qlinear_fp8_blocks(%x: tensor<4x512xbf16>, %w: tensor<256x512xf8E4M3FN>, %s: tensor<2x4xf32>) -> tensor<4x256xbf16> {
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 128, 128>} : (tensor<4x512xbf16>, tensor<256x512xf8E4M3FN>, tensor<2x4xf32>) -> tensor<4x256xbf16>
  return %0 : tensor<4x256xbf16>
}

// -----

// MXFP4: an e8m0 scale per [1, 32].
// CHECK-LABEL: func @qlinear_mxfp4
// CHECK: %[[D:.+]] = kiln.dequantize %{{.+}}, %{{.+}} {block_shape = array<i64: 1, 32>} : (tensor<64x128xf4E2M1FN>, tensor<64x4xf8E8M0FNU>) -> tensor<64x128xf32>
// CHECK: %[[T:.+]] = kiln.transpose %[[D]]
// CHECK: kiln.matmul %{{.+}}, %[[T]]
func.func @qlinear_mxfp4(%x: tensor<4x128xf32>, %w: tensor<64x128xf4E2M1FN>, %s: tensor<64x4xf8E8M0FNU>) -> tensor<4x64xf32> {
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 32>} : (tensor<4x128xf32>, tensor<64x128xf4E2M1FN>, tensor<64x4xf8E8M0FNU>) -> tensor<4x64xf32>
  return %0 : tensor<4x64xf32>
}

// -----

// NVFP4 with a rank-0 global scale, f32 input: dequantize to f32, multiply
// by the global scale, no cast.
// CHECK-LABEL: func @qlinear_nvfp4_f32
// CHECK-SAME: (%[[X:.+]]: tensor<4x128xf32>, %[[W:.+]]: tensor<64x128xf4E2M1FN>, %[[S:.+]]: tensor<64x8xf8E4M3FN>, %[[G:.+]]: tensor<f32>)
// CHECK: %[[D:.+]] = kiln.dequantize %[[W]], %[[S]] {block_shape = array<i64: 1, 16>} : (tensor<64x128xf4E2M1FN>, tensor<64x8xf8E4M3FN>) -> tensor<64x128xf32>
// CHECK: %[[M:.+]] = kiln.mul %[[D]], %[[G]] : (tensor<64x128xf32>, tensor<f32>) -> tensor<64x128xf32>
// CHECK: %[[T:.+]] = kiln.transpose %[[M]] {permutation = array<i64: 1, 0>} : tensor<64x128xf32> -> tensor<128x64xf32>
// CHECK: %[[P:.+]] = kiln.matmul %[[X]], %[[T]] : (tensor<4x128xf32>, tensor<128x64xf32>) -> tensor<4x64xf32>
// CHECK: return %[[P]]
// CHECK-NOT: kiln.cast
// CHECK-NOT: kiln.reshape
func.func @qlinear_nvfp4_f32(%x: tensor<4x128xf32>, %w: tensor<64x128xf4E2M1FN>, %s: tensor<64x8xf8E4M3FN>, %g: tensor<f32>) -> tensor<4x64xf32> {
  %0 = kiln.qlinear %x, %w, %s global_scale %g {block_shape = array<i64: 1, 16>} : (tensor<4x128xf32>, tensor<64x128xf4E2M1FN>, tensor<64x8xf8E4M3FN>, tensor<f32>) -> tensor<4x64xf32>
  return %0 : tensor<4x64xf32>
}

// -----

// NVFP4 with a [1] global scale, an f16 input and a bias: the global scale
// is reshaped to rank 0, the product is computed in f32 and cast to f16
// once, then the bias is added.
// CHECK-LABEL: func @qlinear_nvfp4_f16_bias
// CHECK-SAME: (%[[X:.+]]: tensor<4x128xf16>, %[[W:.+]]: tensor<64x128xf4E2M1FN>, %[[S:.+]]: tensor<64x8xf8E4M3FN>, %[[G:.+]]: tensor<1xf32>, %[[B:.+]]: tensor<64xf16>)
// CHECK: %[[D:.+]] = kiln.dequantize %[[W]], %[[S]] {block_shape = array<i64: 1, 16>} : (tensor<64x128xf4E2M1FN>, tensor<64x8xf8E4M3FN>) -> tensor<64x128xf32>
// CHECK: %[[G0:.+]] = kiln.reshape %[[G]] : tensor<1xf32> -> tensor<f32>
// CHECK: %[[M:.+]] = kiln.mul %[[D]], %[[G0]] : (tensor<64x128xf32>, tensor<f32>) -> tensor<64x128xf32>
// CHECK: %[[C:.+]] = kiln.cast %[[M]] : tensor<64x128xf32> -> tensor<64x128xf16>
// CHECK: %[[T:.+]] = kiln.transpose %[[C]] {permutation = array<i64: 1, 0>} : tensor<64x128xf16> -> tensor<128x64xf16>
// CHECK: %[[P:.+]] = kiln.matmul %[[X]], %[[T]] : (tensor<4x128xf16>, tensor<128x64xf16>) -> tensor<4x64xf16>
// CHECK: %[[R:.+]] = kiln.add %[[P]], %[[B]] : (tensor<4x64xf16>, tensor<64xf16>) -> tensor<4x64xf16>
// CHECK: return %[[R]]
func.func @qlinear_nvfp4_f16_bias(%x: tensor<4x128xf16>, %w: tensor<64x128xf4E2M1FN>, %s: tensor<64x8xf8E4M3FN>, %g: tensor<1xf32>, %b: tensor<64xf16>) -> tensor<4x64xf16> {
  %0 = kiln.qlinear %x, %w, %s global_scale %g bias %b {block_shape = array<i64: 1, 16>} : (tensor<4x128xf16>, tensor<64x128xf4E2M1FN>, tensor<64x8xf8E4M3FN>, tensor<1xf32>, tensor<64xf16>) -> tensor<4x64xf16>
  return %0 : tensor<4x64xf16>
}

// -----

// A 1-D input is a [1, K] row for the product, reshaped back to [N].
// CHECK-LABEL: func @qlinear_vector
// CHECK-SAME: (%[[X:.+]]: tensor<64xf32>,
// CHECK: %[[D:.+]] = kiln.dequantize %{{.+}}, %{{.+}} {block_shape = array<i64: 1, 64>} : (tensor<16x64xi8>, tensor<16x1xf32>) -> tensor<16x64xf32>
// CHECK: %[[T:.+]] = kiln.transpose %[[D]]
// CHECK: %[[ROW:.+]] = kiln.reshape %[[X]] : tensor<64xf32> -> tensor<1x64xf32>
// CHECK: %[[P:.+]] = kiln.matmul %[[ROW]], %[[T]] : (tensor<1x64xf32>, tensor<64x16xf32>) -> tensor<1x16xf32>
// CHECK: %[[R:.+]] = kiln.reshape %[[P]] : tensor<1x16xf32> -> tensor<16xf32>
// CHECK: return %[[R]]
func.func @qlinear_vector(%x: tensor<64xf32>, %w: tensor<16x64xi8>, %s: tensor<16x1xf32>) -> tensor<16xf32> {
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 64>} : (tensor<64xf32>, tensor<16x64xi8>, tensor<16x1xf32>) -> tensor<16xf32>
  return %0 : tensor<16xf32>
}
