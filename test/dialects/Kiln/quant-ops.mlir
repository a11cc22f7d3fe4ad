// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | kiln-opt | FileCheck %s

// Round trip of the quantization ops on MLIR's narrow storage types, in the
// custom and the generic form:
//   - kiln.dequantize / kiln.quantize with i4, i2, f8E4M3FN, f8E5M2, their
//     fnuz forms and f4E2M1FN storage; f8E8M0FNU and f8E4M3FN scales;
//     block_size and N-D block_shape granularity; is_unsigned;
//   - kiln.qlinear in every format of its description table (int8/int4 per
//     channel, int4 group-wise with a zero point, fp8 per tensor and in
//     128x128 blocks, MXFP4, NVFP4 with a global scale), with a bias;
//   - kiln.cast with is_unsigned.

//===----------------------------------------------------------------------===//
// kiln.dequantize
//===----------------------------------------------------------------------===//

// int4 group-wise along the rows (block_size), with and without a zero point,
// and read as uint4.
// CHECK-LABEL: func @dequantize_i4_block_size
// CHECK-SAME: (%[[Q:.+]]: tensor<8x64xi4>, %[[S:.+]]: tensor<8x2xf32>, %[[Z:.+]]: tensor<8x2xi4>)
// CHECK: %[[R0:.+]] = kiln.dequantize %[[Q]], %[[S]] {axis = 1 : i64, block_size = 32 : i64} : (tensor<8x64xi4>, tensor<8x2xf32>) -> tensor<8x64xf32>
// CHECK: %[[R1:.+]] = kiln.dequantize %[[Q]], %[[S]], %[[Z]] {axis = 1 : i64, block_size = 32 : i64} : (tensor<8x64xi4>, tensor<8x2xf32>, tensor<8x2xi4>) -> tensor<8x64xf32>
// CHECK: %[[R2:.+]] = kiln.dequantize %[[Q]], %[[S]], %[[Z]] {axis = 1 : i64, block_size = 32 : i64, is_unsigned = true} : (tensor<8x64xi4>, tensor<8x2xf32>, tensor<8x2xi4>) -> tensor<8x64xf16>
// CHECK: return %[[R0]], %[[R1]], %[[R2]]
func.func @dequantize_i4_block_size(%q: tensor<8x64xi4>, %s: tensor<8x2xf32>, %z: tensor<8x2xi4>)
    -> (tensor<8x64xf32>, tensor<8x64xf32>, tensor<8x64xf16>) {
  %0 = kiln.dequantize %q, %s {axis = 1 : i64, block_size = 32 : i64} : (tensor<8x64xi4>, tensor<8x2xf32>) -> tensor<8x64xf32>
  %1 = kiln.dequantize %q, %s, %z {axis = 1 : i64, block_size = 32 : i64} : (tensor<8x64xi4>, tensor<8x2xf32>, tensor<8x2xi4>) -> tensor<8x64xf32>
  %2 = kiln.dequantize %q, %s, %z {axis = 1 : i64, block_size = 32 : i64, is_unsigned = true} : (tensor<8x64xi4>, tensor<8x2xf32>, tensor<8x2xi4>) -> tensor<8x64xf16>
  return %0, %1, %2 : tensor<8x64xf32>, tensor<8x64xf32>, tensor<8x64xf16>
}

// int2, per tensor and per axis, signed and unsigned.
// CHECK-LABEL: func @dequantize_i2
// CHECK: kiln.dequantize %{{.+}}, %{{.+}} : (tensor<4x16xi2>, tensor<f32>) -> tensor<4x16xf32>
// CHECK: kiln.dequantize %{{.+}}, %{{.+}}, %{{.+}} {is_unsigned = true} : (tensor<4x16xi2>, tensor<4xf32>, tensor<4xi2>) -> tensor<4x16xf32>
func.func @dequantize_i2(%q: tensor<4x16xi2>, %s: tensor<f32>, %sa: tensor<4xf32>, %z: tensor<4xi2>)
    -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  %0 = kiln.dequantize %q, %s : (tensor<4x16xi2>, tensor<f32>) -> tensor<4x16xf32>
  %1 = kiln.dequantize %q, %sa, %z {is_unsigned = true} : (tensor<4x16xi2>, tensor<4xf32>, tensor<4xi2>) -> tensor<4x16xf32>
  return %0, %1 : tensor<4x16xf32>, tensor<4x16xf32>
}

// fp8 weights: e4m3fn in 128x128 blocks (a partial last block: 300 rows are
// 3 blocks), e5m2 per tensor, and the fnuz forms; bf16 and f16 results.
// CHECK-LABEL: func @dequantize_fp8
// CHECK: kiln.dequantize %{{.+}}, %{{.+}} {block_shape = array<i64: 128, 128>} : (tensor<300x256xf8E4M3FN>, tensor<3x2xf32>) -> tensor<300x256xbf16>
// CHECK: kiln.dequantize %{{.+}}, %{{.+}} : (tensor<16x8xf8E5M2>, tensor<f32>) -> tensor<16x8xf16>
// CHECK: kiln.dequantize %{{.+}}, %{{.+}} : (tensor<16x8xf8E4M3FNUZ>, tensor<f32>) -> tensor<16x8xf32>
// CHECK: kiln.dequantize %{{.+}}, %{{.+}} : (tensor<16x8xf8E5M2FNUZ>, tensor<f32>) -> tensor<16x8xf32>
func.func @dequantize_fp8(%a: tensor<300x256xf8E4M3FN>, %sa: tensor<3x2xf32>,
                          %b: tensor<16x8xf8E5M2>, %c: tensor<16x8xf8E4M3FNUZ>,
                          %d: tensor<16x8xf8E5M2FNUZ>, %s: tensor<f32>)
    -> (tensor<300x256xbf16>, tensor<16x8xf16>, tensor<16x8xf32>, tensor<16x8xf32>) {
  %0 = kiln.dequantize %a, %sa {block_shape = array<i64: 128, 128>} : (tensor<300x256xf8E4M3FN>, tensor<3x2xf32>) -> tensor<300x256xbf16>
  %1 = kiln.dequantize %b, %s : (tensor<16x8xf8E5M2>, tensor<f32>) -> tensor<16x8xf16>
  %2 = kiln.dequantize %c, %s : (tensor<16x8xf8E4M3FNUZ>, tensor<f32>) -> tensor<16x8xf32>
  %3 = kiln.dequantize %d, %s : (tensor<16x8xf8E5M2FNUZ>, tensor<f32>) -> tensor<16x8xf32>
  return %0, %1, %2, %3 : tensor<300x256xbf16>, tensor<16x8xf16>, tensor<16x8xf32>, tensor<16x8xf32>
}

// fp8 with an fp8 zero point (the input's element type).
// CHECK-LABEL: func @dequantize_fp8_zero_point
// CHECK: kiln.dequantize %{{.+}}, %{{.+}}, %{{.+}} {axis = 1 : i64} : (tensor<4x8xf8E4M3FN>, tensor<8xf32>, tensor<8xf8E4M3FN>) -> tensor<4x8xf32>
func.func @dequantize_fp8_zero_point(%q: tensor<4x8xf8E4M3FN>, %s: tensor<8xf32>, %z: tensor<8xf8E4M3FN>) -> tensor<4x8xf32> {
  %0 = kiln.dequantize %q, %s, %z {axis = 1 : i64} : (tensor<4x8xf8E4M3FN>, tensor<8xf32>, tensor<8xf8E4M3FN>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// MXFP4 (f4E2M1FN, an f8E8M0FNU scale per [1, 32]) and NVFP4 (an f8E4M3FN
// scale per [1, 16]).
// CHECK-LABEL: func @dequantize_fp4
// CHECK-SAME: (%[[W:.+]]: tensor<256x128xf4E2M1FN>, %[[E8:.+]]: tensor<256x4xf8E8M0FNU>, %[[E4:.+]]: tensor<256x8xf8E4M3FN>)
// CHECK: %[[MX:.+]] = kiln.dequantize %[[W]], %[[E8]] {block_shape = array<i64: 1, 32>} : (tensor<256x128xf4E2M1FN>, tensor<256x4xf8E8M0FNU>) -> tensor<256x128xf32>
// CHECK: %[[NV:.+]] = kiln.dequantize %[[W]], %[[E4]] {block_shape = array<i64: 1, 16>} : (tensor<256x128xf4E2M1FN>, tensor<256x8xf8E4M3FN>) -> tensor<256x128xf32>
// CHECK: return %[[MX]], %[[NV]]
func.func @dequantize_fp4(%w: tensor<256x128xf4E2M1FN>, %e8: tensor<256x4xf8E8M0FNU>, %e4: tensor<256x8xf8E4M3FN>)
    -> (tensor<256x128xf32>, tensor<256x128xf32>) {
  %0 = kiln.dequantize %w, %e8 {block_shape = array<i64: 1, 32>} : (tensor<256x128xf4E2M1FN>, tensor<256x4xf8E8M0FNU>) -> tensor<256x128xf32>
  %1 = kiln.dequantize %w, %e4 {block_shape = array<i64: 1, 16>} : (tensor<256x128xf4E2M1FN>, tensor<256x8xf8E4M3FN>) -> tensor<256x128xf32>
  return %0, %1 : tensor<256x128xf32>, tensor<256x128xf32>
}

// block_shape on a rank-3 input, an int4 zero point of the scale's shape.
// CHECK-LABEL: func @dequantize_block_shape_rank3
// CHECK: kiln.dequantize %{{.+}}, %{{.+}}, %{{.+}} {block_shape = array<i64: 1, 4, 32>, is_unsigned = true} : (tensor<2x8x64xi4>, tensor<2x2x2xf16>, tensor<2x2x2xi4>) -> tensor<2x8x64xf32>
func.func @dequantize_block_shape_rank3(%q: tensor<2x8x64xi4>, %s: tensor<2x2x2xf16>, %z: tensor<2x2x2xi4>) -> tensor<2x8x64xf32> {
  %0 = kiln.dequantize %q, %s, %z {block_shape = array<i64: 1, 4, 32>, is_unsigned = true} : (tensor<2x8x64xi4>, tensor<2x2x2xf16>, tensor<2x2x2xi4>) -> tensor<2x8x64xf32>
  return %0 : tensor<2x8x64xf32>
}

//===----------------------------------------------------------------------===//
// kiln.quantize
//===----------------------------------------------------------------------===//

// Integers: int4 group-wise with a zero point, uint4 and int2 per tensor.
// CHECK-LABEL: func @quantize_int
// CHECK: kiln.quantize %{{.+}}, %{{.+}}, %{{.+}} {axis = 1 : i64, block_size = 32 : i64} : (tensor<8x64xf32>, tensor<8x2xf32>, tensor<8x2xi4>) -> tensor<8x64xi4>
// CHECK: kiln.quantize %{{.+}}, %{{.+}} {is_unsigned = true} : (tensor<8x64xf32>, tensor<f32>) -> tensor<8x64xi4>
// CHECK: kiln.quantize %{{.+}}, %{{.+}} : (tensor<8x64xf32>, tensor<f32>) -> tensor<8x64xi2>
func.func @quantize_int(%x: tensor<8x64xf32>, %s: tensor<8x2xf32>, %z: tensor<8x2xi4>, %st: tensor<f32>)
    -> (tensor<8x64xi4>, tensor<8x64xi4>, tensor<8x64xi2>) {
  %0 = kiln.quantize %x, %s, %z {axis = 1 : i64, block_size = 32 : i64} : (tensor<8x64xf32>, tensor<8x2xf32>, tensor<8x2xi4>) -> tensor<8x64xi4>
  %1 = kiln.quantize %x, %st {is_unsigned = true} : (tensor<8x64xf32>, tensor<f32>) -> tensor<8x64xi4>
  %2 = kiln.quantize %x, %st : (tensor<8x64xf32>, tensor<f32>) -> tensor<8x64xi2>
  return %0, %1, %2 : tensor<8x64xi4>, tensor<8x64xi4>, tensor<8x64xi2>
}

// fp8 in 128x128 blocks (from bf16), e5m2 per axis, MXFP4 and NVFP4.
// CHECK-LABEL: func @quantize_small_float
// CHECK: kiln.quantize %{{.+}}, %{{.+}} {block_shape = array<i64: 128, 128>} : (tensor<256x512xbf16>, tensor<2x4xf32>) -> tensor<256x512xf8E4M3FN>
// CHECK: kiln.quantize %{{.+}}, %{{.+}} {axis = 1 : i64} : (tensor<256x512xbf16>, tensor<512xf32>) -> tensor<256x512xf8E5M2>
// CHECK: kiln.quantize %{{.+}}, %{{.+}} {block_shape = array<i64: 1, 32>} : (tensor<256x512xbf16>, tensor<256x16xf8E8M0FNU>) -> tensor<256x512xf4E2M1FN>
// CHECK: kiln.quantize %{{.+}}, %{{.+}} {block_shape = array<i64: 1, 16>} : (tensor<256x512xbf16>, tensor<256x32xf8E4M3FN>) -> tensor<256x512xf4E2M1FN>
func.func @quantize_small_float(%x: tensor<256x512xbf16>, %s: tensor<2x4xf32>, %sa: tensor<512xf32>,
                                %e8: tensor<256x16xf8E8M0FNU>, %e4: tensor<256x32xf8E4M3FN>)
    -> (tensor<256x512xf8E4M3FN>, tensor<256x512xf8E5M2>, tensor<256x512xf4E2M1FN>, tensor<256x512xf4E2M1FN>) {
  %0 = kiln.quantize %x, %s {block_shape = array<i64: 128, 128>} : (tensor<256x512xbf16>, tensor<2x4xf32>) -> tensor<256x512xf8E4M3FN>
  %1 = kiln.quantize %x, %sa {axis = 1 : i64} : (tensor<256x512xbf16>, tensor<512xf32>) -> tensor<256x512xf8E5M2>
  %2 = kiln.quantize %x, %e8 {block_shape = array<i64: 1, 32>} : (tensor<256x512xbf16>, tensor<256x16xf8E8M0FNU>) -> tensor<256x512xf4E2M1FN>
  %3 = kiln.quantize %x, %e4 {block_shape = array<i64: 1, 16>} : (tensor<256x512xbf16>, tensor<256x32xf8E4M3FN>) -> tensor<256x512xf4E2M1FN>
  return %0, %1, %2, %3 : tensor<256x512xf8E4M3FN>, tensor<256x512xf8E5M2>, tensor<256x512xf4E2M1FN>, tensor<256x512xf4E2M1FN>
}

//===----------------------------------------------------------------------===//
// kiln.qlinear: one case per row of the format table in its description.
//===----------------------------------------------------------------------===//

// int8 per channel: a [N, 1] f32 scale, block_shape [1, K].
// CHECK-LABEL: func @qlinear_int8_per_channel
// CHECK-SAME: (%[[X:.+]]: tensor<4x128xf32>, %[[W:.+]]: tensor<64x128xi8>, %[[S:.+]]: tensor<64x1xf32>)
// CHECK: %[[Y:.+]] = kiln.qlinear %[[X]], %[[W]], %[[S]] {block_shape = array<i64: 1, 128>} : (tensor<4x128xf32>, tensor<64x128xi8>, tensor<64x1xf32>) -> tensor<4x64xf32>
// CHECK: return %[[Y]]
func.func @qlinear_int8_per_channel(%x: tensor<4x128xf32>, %w: tensor<64x128xi8>, %s: tensor<64x1xf32>) -> tensor<4x64xf32> {
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 128>} : (tensor<4x128xf32>, tensor<64x128xi8>, tensor<64x1xf32>) -> tensor<4x64xf32>
  return %0 : tensor<4x64xf32>
}

// int4 per channel, unsigned, on a rank-3 (batched) input.
// CHECK-LABEL: func @qlinear_uint4_per_channel
// CHECK: kiln.qlinear %{{.+}}, %{{.+}}, %{{.+}} {block_shape = array<i64: 1, 128>, is_unsigned = true} : (tensor<2x3x128xf16>, tensor<64x128xi4>, tensor<64x1xf32>) -> tensor<2x3x64xf16>
func.func @qlinear_uint4_per_channel(%x: tensor<2x3x128xf16>, %w: tensor<64x128xi4>, %s: tensor<64x1xf32>) -> tensor<2x3x64xf16> {
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 128>, is_unsigned = true} : (tensor<2x3x128xf16>, tensor<64x128xi4>, tensor<64x1xf32>) -> tensor<2x3x64xf16>
  return %0 : tensor<2x3x64xf16>
}

// int4 group-wise (g = 32) with a zero point: the description's example.
// CHECK-LABEL: func @qlinear_int4_groupwise_zero_point
// CHECK-SAME: (%[[X:.+]]: tensor<4x128xf32>, %[[W:.+]]: tensor<64x128xi4>, %[[S:.+]]: tensor<64x4xf32>, %[[Z:.+]]: tensor<64x4xi4>)
// CHECK: kiln.qlinear %[[X]], %[[W]], %[[S]] zero_point %[[Z]] {block_shape = array<i64: 1, 32>} : (tensor<4x128xf32>, tensor<64x128xi4>, tensor<64x4xf32>, tensor<64x4xi4>) -> tensor<4x64xf32>
func.func @qlinear_int4_groupwise_zero_point(%x: tensor<4x128xf32>, %w: tensor<64x128xi4>, %s: tensor<64x4xf32>, %z: tensor<64x4xi4>) -> tensor<4x64xf32> {
  %0 = kiln.qlinear %x, %w, %s zero_point %z {block_shape = array<i64: 1, 32>} : (tensor<4x128xf32>, tensor<64x128xi4>, tensor<64x4xf32>, tensor<64x4xi4>) -> tensor<4x64xf32>
  return %0 : tensor<4x64xf32>
}

// int8 group-wise (g = 64) with a bias.
// CHECK-LABEL: func @qlinear_int8_groupwise_bias
// CHECK-SAME: (%[[X:.+]]: tensor<4x128xf32>, %[[W:.+]]: tensor<64x128xi8>, %[[S:.+]]: tensor<64x2xf32>, %[[B:.+]]: tensor<64xf32>)
// CHECK: kiln.qlinear %[[X]], %[[W]], %[[S]] bias %[[B]] {block_shape = array<i64: 1, 64>} : (tensor<4x128xf32>, tensor<64x128xi8>, tensor<64x2xf32>, tensor<64xf32>) -> tensor<4x64xf32>
func.func @qlinear_int8_groupwise_bias(%x: tensor<4x128xf32>, %w: tensor<64x128xi8>, %s: tensor<64x2xf32>, %b: tensor<64xf32>) -> tensor<4x64xf32> {
  %0 = kiln.qlinear %x, %w, %s bias %b {block_shape = array<i64: 1, 64>} : (tensor<4x128xf32>, tensor<64x128xi8>, tensor<64x2xf32>, tensor<64xf32>) -> tensor<4x64xf32>
  return %0 : tensor<4x64xf32>
}

// fp8 per tensor: a [1, 1] scale, block_shape [N, K]; e4m3fn and e5m2.
// CHECK-LABEL: func @qlinear_fp8_per_tensor
// CHECK: kiln.qlinear %{{.+}}, %{{.+}}, %{{.+}} {block_shape = array<i64: 64, 128>} : (tensor<4x128xbf16>, tensor<64x128xf8E4M3FN>, tensor<1x1xf32>) -> tensor<4x64xbf16>
// CHECK: kiln.qlinear %{{.+}}, %{{.+}}, %{{.+}} {block_shape = array<i64: 64, 128>} : (tensor<4x128xbf16>, tensor<64x128xf8E5M2>, tensor<1x1xf32>) -> tensor<4x64xbf16>
func.func @qlinear_fp8_per_tensor(%x: tensor<4x128xbf16>, %w: tensor<64x128xf8E4M3FN>, %w2: tensor<64x128xf8E5M2>, %s: tensor<1x1xf32>)
    -> (tensor<4x64xbf16>, tensor<4x64xbf16>) {
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 64, 128>} : (tensor<4x128xbf16>, tensor<64x128xf8E4M3FN>, tensor<1x1xf32>) -> tensor<4x64xbf16>
  %1 = kiln.qlinear %x, %w2, %s {block_shape = array<i64: 64, 128>} : (tensor<4x128xbf16>, tensor<64x128xf8E5M2>, tensor<1x1xf32>) -> tensor<4x64xbf16>
  return %0, %1 : tensor<4x64xbf16>, tensor<4x64xbf16>
}

// fp8 block-scaled: 128x128 blocks of a [256, 512] weight.
// CHECK-LABEL: func @qlinear_fp8_blocks
// CHECK: kiln.qlinear %{{.+}}, %{{.+}}, %{{.+}} {block_shape = array<i64: 128, 128>} : (tensor<4x512xbf16>, tensor<256x512xf8E4M3FN>, tensor<2x4xf32>) -> tensor<4x256xbf16>
func.func @qlinear_fp8_blocks(%x: tensor<4x512xbf16>, %w: tensor<256x512xf8E4M3FN>, %s: tensor<2x4xf32>) -> tensor<4x256xbf16> {
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 128, 128>} : (tensor<4x512xbf16>, tensor<256x512xf8E4M3FN>, tensor<2x4xf32>) -> tensor<4x256xbf16>
  return %0 : tensor<4x256xbf16>
}

// MXFP4: f4E2M1FN weights, an f8E8M0FNU scale per [1, 32].
// CHECK-LABEL: func @qlinear_mxfp4
// CHECK: kiln.qlinear %{{.+}}, %{{.+}}, %{{.+}} {block_shape = array<i64: 1, 32>} : (tensor<4x128xf32>, tensor<64x128xf4E2M1FN>, tensor<64x4xf8E8M0FNU>) -> tensor<4x64xf32>
func.func @qlinear_mxfp4(%x: tensor<4x128xf32>, %w: tensor<64x128xf4E2M1FN>, %s: tensor<64x4xf8E8M0FNU>) -> tensor<4x64xf32> {
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 32>} : (tensor<4x128xf32>, tensor<64x128xf4E2M1FN>, tensor<64x4xf8E8M0FNU>) -> tensor<4x64xf32>
  return %0 : tensor<4x64xf32>
}

// NVFP4: an f8E4M3FN scale per [1, 16] and a global scale, rank 0 or [1];
// with a bias as well.
// CHECK-LABEL: func @qlinear_nvfp4
// CHECK-SAME: (%[[X:.+]]: tensor<4x128xf32>, %[[W:.+]]: tensor<64x128xf4E2M1FN>, %[[S:.+]]: tensor<64x8xf8E4M3FN>, %[[G:.+]]: tensor<f32>, %[[G1:.+]]: tensor<1xf32>, %[[B:.+]]: tensor<64xf32>)
// CHECK: %[[Y0:.+]] = kiln.qlinear %[[X]], %[[W]], %[[S]] global_scale %[[G]] {block_shape = array<i64: 1, 16>} : (tensor<4x128xf32>, tensor<64x128xf4E2M1FN>, tensor<64x8xf8E4M3FN>, tensor<f32>) -> tensor<4x64xf32>
// CHECK: %[[Y1:.+]] = kiln.qlinear %[[X]], %[[W]], %[[S]] global_scale %[[G1]] bias %[[B]] {block_shape = array<i64: 1, 16>} : (tensor<4x128xf32>, tensor<64x128xf4E2M1FN>, tensor<64x8xf8E4M3FN>, tensor<1xf32>, tensor<64xf32>) -> tensor<4x64xf32>
// CHECK: return %[[Y0]], %[[Y1]]
func.func @qlinear_nvfp4(%x: tensor<4x128xf32>, %w: tensor<64x128xf4E2M1FN>, %s: tensor<64x8xf8E4M3FN>,
                         %g: tensor<f32>, %g1: tensor<1xf32>, %b: tensor<64xf32>)
    -> (tensor<4x64xf32>, tensor<4x64xf32>) {
  %0 = kiln.qlinear %x, %w, %s global_scale %g {block_shape = array<i64: 1, 16>} : (tensor<4x128xf32>, tensor<64x128xf4E2M1FN>, tensor<64x8xf8E4M3FN>, tensor<f32>) -> tensor<4x64xf32>
  %1 = kiln.qlinear %x, %w, %s global_scale %g1 bias %b {block_shape = array<i64: 1, 16>} : (tensor<4x128xf32>, tensor<64x128xf4E2M1FN>, tensor<64x8xf8E4M3FN>, tensor<1xf32>, tensor<64xf32>) -> tensor<4x64xf32>
  return %0, %1 : tensor<4x64xf32>, tensor<4x64xf32>
}

// Every optional operand at once, on a 1-D input.
// CHECK-LABEL: func @qlinear_all_operands
// CHECK: kiln.qlinear %{{.+}}, %{{.+}}, %{{.+}} zero_point %{{.+}} global_scale %{{.+}} bias %{{.+}} {block_shape = array<i64: 1, 32>, is_unsigned = true} : (tensor<64xf32>, tensor<16x64xi4>, tensor<16x2xf32>, tensor<16x2xi4>, tensor<f32>, tensor<16xf32>) -> tensor<16xf32>
func.func @qlinear_all_operands(%x: tensor<64xf32>, %w: tensor<16x64xi4>, %s: tensor<16x2xf32>, %z: tensor<16x2xi4>,
                                %g: tensor<f32>, %b: tensor<16xf32>) -> tensor<16xf32> {
  %0 = kiln.qlinear %x, %w, %s zero_point %z global_scale %g bias %b {block_shape = array<i64: 1, 32>, is_unsigned = true} : (tensor<64xf32>, tensor<16x64xi4>, tensor<16x2xf32>, tensor<16x2xi4>, tensor<f32>, tensor<16xf32>) -> tensor<16xf32>
  return %0 : tensor<16xf32>
}

//===----------------------------------------------------------------------===//
// kiln.cast with is_unsigned
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func @cast_unsigned
// CHECK-SAME: (%[[Q:.+]]: tensor<4xi8>)
// CHECK: %[[I:.+]] = kiln.cast %[[Q]] {is_unsigned = true} : tensor<4xi8> -> tensor<4xi32>
// CHECK: %[[F:.+]] = kiln.cast %[[Q]] {is_unsigned = true} : tensor<4xi8> -> tensor<4xf32>
// CHECK: %[[S:.+]] = kiln.cast %[[Q]] : tensor<4xi8> -> tensor<4xi32>
// CHECK: return %[[I]], %[[F]], %[[S]]
func.func @cast_unsigned(%q: tensor<4xi8>) -> (tensor<4xi32>, tensor<4xf32>, tensor<4xi32>) {
  %0 = kiln.cast %q {is_unsigned = true} : tensor<4xi8> -> tensor<4xi32>
  %1 = kiln.cast %q {is_unsigned = true} : tensor<4xi8> -> tensor<4xf32>
  // is_unsigned = false is the default and is not printed.
  %2 = kiln.cast %q {is_unsigned = false} : tensor<4xi8> -> tensor<4xi32>
  return %0, %1, %2 : tensor<4xi32>, tensor<4xf32>, tensor<4xi32>
}
