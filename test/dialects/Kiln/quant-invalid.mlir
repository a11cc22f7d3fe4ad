// RUN: kiln-opt %s -split-input-file -verify-diagnostics

// Verifier messages of the quantization ops (dialects/Kiln/KilnQuantOps.cpp)
// for the narrow storage types, N-D block scales and kiln.qlinear:
//   - kiln.dequantize / kiln.quantize: storage type widths, is_unsigned on
//     fp8/fp4, zero point shape and type, block_shape (size, positivity,
//     scale rank and dimensions, exclusive with block_size), and the scale
//     message that names both block forms;
//   - kiln.qlinear: input and weight ranks, K, block_shape, scale shape,
//     storage type, zero point, global scale, bias and result.
// The operand type constraints (what may be stored) are checked too.

//===----------------------------------------------------------------------===//
// Storage types
//===----------------------------------------------------------------------===//

func.func @quantize_to_i1(%x: tensor<2x3xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{'kiln.quantize' op quantized integers must have 2 to 32 bits, not 'i1'}}
  %0 = kiln.quantize %x, %s : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xi1>
  return
}

// -----

func.func @quantize_to_i64(%x: tensor<4xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{'kiln.quantize' op quantized integers must have 2 to 32 bits, not 'i64'}}
  %0 = kiln.quantize %x, %s : (tensor<4xf32>, tensor<f32>) -> tensor<4xi64>
  return
}

// -----

func.func @dequantize_i64(%x: tensor<4xi64>, %s: tensor<f32>) {
  // expected-error @+1 {{'kiln.dequantize' op quantized integers must have 2 to 32 bits, not 'i64'}}
  %0 = kiln.dequantize %x, %s : (tensor<4xi64>, tensor<f32>) -> tensor<4xf32>
  return
}

// -----

func.func @dequantize_i1(%x: tensor<4xi1>, %s: tensor<f32>) {
  // expected-error @+1 {{'kiln.dequantize' op quantized integers must have 2 to 32 bits, not 'i1'}}
  %0 = kiln.dequantize %x, %s : (tensor<4xi1>, tensor<f32>) -> tensor<4xf32>
  return
}

// -----

// fp8 and fp4 have a sign bit of their own: is_unsigned is for integers.
func.func @dequantize_unsigned_fp8(%x: tensor<4xf8E4M3FN>, %s: tensor<f32>) {
  // expected-error @+1 {{'kiln.dequantize' op is_unsigned applies to integer types only, not 'f8E4M3FN'}}
  %0 = kiln.dequantize %x, %s {is_unsigned = true} : (tensor<4xf8E4M3FN>, tensor<f32>) -> tensor<4xf32>
  return
}

// -----

func.func @quantize_unsigned_fp4(%x: tensor<4x32xf32>, %s: tensor<4x1xf8E8M0FNU>) {
  // expected-error @+1 {{'kiln.quantize' op is_unsigned applies to integer types only, not 'f4E2M1FN'}}
  %0 = kiln.quantize %x, %s {block_shape = array<i64: 1, 32>, is_unsigned = true} : (tensor<4x32xf32>, tensor<4x1xf8E8M0FNU>) -> tensor<4x32xf4E2M1FN>
  return
}

// -----

// f8E8M0FNU is a scale type only, never stored as a value.
func.func @dequantize_e8m0_input(%x: tensor<4xf8E8M0FNU>, %s: tensor<f32>) {
  // expected-error @+1 {{'kiln.dequantize' op operand #0 must be ranked tensor of}}
  %0 = kiln.dequantize %x, %s : (tensor<4xf8E8M0FNU>, tensor<f32>) -> tensor<4xf32>
  return
}

// -----

// Other floats (f16 here) are not storage types either.
func.func @quantize_to_f16(%x: tensor<4xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{'kiln.quantize' op result #0 must be ranked tensor of}}
  %0 = kiln.quantize %x, %s : (tensor<4xf32>, tensor<f32>) -> tensor<4xf16>
  return
}

// -----

func.func @dequantize_result_shape(%x: tensor<4x32xf4E2M1FN>, %s: tensor<4x1xf8E8M0FNU>) {
  // expected-error @+1 {{'kiln.dequantize' op result must have the input's shape}}
  %0 = kiln.dequantize %x, %s {block_shape = array<i64: 1, 32>} : (tensor<4x32xf4E2M1FN>, tensor<4x1xf8E8M0FNU>) -> tensor<128xf32>
  return
}

//===----------------------------------------------------------------------===//
// Zero points
//===----------------------------------------------------------------------===//

// -----

func.func @dequantize_zero_point_type(%x: tensor<2x3xi4>, %s: tensor<f32>, %z: tensor<i8>) {
  // expected-error @+1 {{'kiln.dequantize' op zero_point must have the quantized type 'i4'}}
  %0 = kiln.dequantize %x, %s, %z : (tensor<2x3xi4>, tensor<f32>, tensor<i8>) -> tensor<2x3xf32>
  return
}

// -----

// quantize: the zero point has the result's type, fp8 included.
func.func @quantize_zero_point_type_fp8(%x: tensor<2x3xf32>, %s: tensor<f32>, %z: tensor<f8E5M2>) {
  // expected-error @+1 {{'kiln.quantize' op zero_point must have the quantized type 'f8E4M3FN'}}
  %0 = kiln.quantize %x, %s, %z : (tensor<2x3xf32>, tensor<f32>, tensor<f8E5M2>) -> tensor<2x3xf8E4M3FN>
  return
}

// -----

// With block_shape the zero point has the scale's (block grid's) shape.
func.func @dequantize_block_shape_zero_point_shape(%x: tensor<4x64xi4>, %s: tensor<4x2xf32>, %z: tensor<4x1xi4>) {
  // expected-error @+1 {{'kiln.dequantize' op zero_point must have the scale's shape}}
  %0 = kiln.dequantize %x, %s, %z {block_shape = array<i64: 1, 32>} : (tensor<4x64xi4>, tensor<4x2xf32>, tensor<4x1xi4>) -> tensor<4x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// block_shape
//===----------------------------------------------------------------------===//

// -----

func.func @block_shape_and_block_size(%x: tensor<4x64xi4>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{'kiln.dequantize' op block_size and block_shape are exclusive}}
  %0 = kiln.dequantize %x, %s {axis = 1 : i64, block_size = 32 : i64, block_shape = array<i64: 1, 32>} : (tensor<4x64xi4>, tensor<4x2xf32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @block_shape_too_short(%x: tensor<4x64xf32>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{'kiln.quantize' op block_shape needs one size per dimension (2), got 1}}
  %0 = kiln.quantize %x, %s {block_shape = array<i64: 32>} : (tensor<4x64xf32>, tensor<4x2xf32>) -> tensor<4x64xf8E4M3FN>
  return
}

// -----

func.func @block_shape_too_long(%x: tensor<4x64xi8>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{'kiln.dequantize' op block_shape needs one size per dimension (2), got 3}}
  %0 = kiln.dequantize %x, %s {block_shape = array<i64: 1, 32, 1>} : (tensor<4x64xi8>, tensor<4x2xf32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @block_shape_scale_rank(%x: tensor<4x64xi8>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'kiln.dequantize' op block-scaled scales must have the input's rank}}
  %0 = kiln.dequantize %x, %s {block_shape = array<i64: 1, 32>} : (tensor<4x64xi8>, tensor<8xf32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @block_shape_zero(%x: tensor<4x64xi8>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{'kiln.dequantize' op block_shape sizes must be positive, got 0 for dimension 0}}
  %0 = kiln.dequantize %x, %s {block_shape = array<i64: 0, 32>} : (tensor<4x64xi8>, tensor<4x2xf32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @block_shape_negative(%x: tensor<4x64xf32>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{'kiln.quantize' op block_shape sizes must be positive, got -32 for dimension 1}}
  %0 = kiln.quantize %x, %s {block_shape = array<i64: 1, -32>} : (tensor<4x64xf32>, tensor<4x2xf32>) -> tensor<4x64xi8>
  return
}

// -----

// 300 rows in blocks of 128 are ceil(300 / 128) = 3 blocks.
func.func @block_shape_scale_dim0(%x: tensor<300x256xf8E4M3FN>, %s: tensor<2x2xf32>) {
  // expected-error @+1 {{'kiln.dequantize' op scale dimension 0 must be ceil(300 / 128) = 3, got 2}}
  %0 = kiln.dequantize %x, %s {block_shape = array<i64: 128, 128>} : (tensor<300x256xf8E4M3FN>, tensor<2x2xf32>) -> tensor<300x256xf32>
  return
}

// -----

// MXFP4 with one e8m0 scale per 32: 128 columns need 4 scales.
func.func @block_shape_scale_dim1(%x: tensor<8x128xf32>, %s: tensor<8x8xf8E8M0FNU>) {
  // expected-error @+1 {{'kiln.quantize' op scale dimension 1 must be ceil(128 / 32) = 4, got 8}}
  %0 = kiln.quantize %x, %s {block_shape = array<i64: 1, 32>} : (tensor<8x128xf32>, tensor<8x8xf8E8M0FNU>) -> tensor<8x128xf4E2M1FN>
  return
}

// -----

// Without block_size or block_shape, a full-rank scale is not per tensor.
func.func @scale_needs_block_form(%x: tensor<2x3xi4>, %s: tensor<2x3xf32>) {
  // expected-error @+1 {{'kiln.dequantize' op scale must hold one element, one per slice along axis 0, or (with block_size or block_shape) one per block}}
  %0 = kiln.dequantize %x, %s : (tensor<2x3xi4>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return
}

//===----------------------------------------------------------------------===//
// kiln.qlinear
//===----------------------------------------------------------------------===//

// -----

func.func @qlinear_scalar_input(%x: tensor<f32>, %w: tensor<4x1xi8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{'kiln.qlinear' op input must have rank 1 or more}}
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 1>} : (tensor<f32>, tensor<4x1xi8>, tensor<4x1xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @qlinear_weight_rank3(%x: tensor<2x8xf32>, %w: tensor<2x4x8xi8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{'kiln.qlinear' op weight must be [N, K], got rank 3}}
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 8>} : (tensor<2x8xf32>, tensor<2x4x8xi8>, tensor<4x1xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @qlinear_weight_rank1(%x: tensor<2x8xf32>, %w: tensor<8xi8>, %s: tensor<1x1xf32>) {
  // expected-error @+1 {{'kiln.qlinear' op weight must be [N, K], got rank 1}}
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 8>} : (tensor<2x8xf32>, tensor<8xi8>, tensor<1x1xf32>) -> tensor<2x1xf32>
  return
}

// -----

// The weight is [N, K] (nn.Linear's layout), not [K, N].
func.func @qlinear_k_mismatch(%x: tensor<2x128xf32>, %w: tensor<128x64xi8>, %s: tensor<128x1xf32>) {
  // expected-error @+1 {{'kiln.qlinear' op input's last dimension (128) must equal the weight's K (64)}}
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 64>} : (tensor<2x128xf32>, tensor<128x64xi8>, tensor<128x1xf32>) -> tensor<2x128xf32>
  return
}

// -----

func.func @qlinear_block_shape_rank(%x: tensor<2x64xf32>, %w: tensor<16x64xi4>, %s: tensor<16x2xf32>) {
  // expected-error @+1 {{'kiln.qlinear' op block_shape must be two positive sizes [bn, bk]}}
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 32>} : (tensor<2x64xf32>, tensor<16x64xi4>, tensor<16x2xf32>) -> tensor<2x16xf32>
  return
}

// -----

func.func @qlinear_block_shape_zero(%x: tensor<2x64xf32>, %w: tensor<16x64xi4>, %s: tensor<16x2xf32>) {
  // expected-error @+1 {{'kiln.qlinear' op block_shape must be two positive sizes [bn, bk]}}
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 0, 32>} : (tensor<2x64xf32>, tensor<16x64xi4>, tensor<16x2xf32>) -> tensor<2x16xf32>
  return
}

// -----

// Groups of 32 along K = 64: [16, 2], not [16, 4].
func.func @qlinear_scale_shape(%x: tensor<2x64xf32>, %w: tensor<16x64xi4>, %s: tensor<16x4xf32>) {
  // expected-error @+1 {{'kiln.qlinear' op scale must be [ceil(N / bn), ceil(K / bk)] = [16, 2], got 'tensor<16x4xf32>'}}
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 32>} : (tensor<2x64xf32>, tensor<16x64xi4>, tensor<16x4xf32>) -> tensor<2x16xf32>
  return
}

// -----

// 128x128 blocks of a [300, 200] weight: a partial block rounds up.
func.func @qlinear_scale_shape_partial_blocks(%x: tensor<2x200xbf16>, %w: tensor<300x200xf8E4M3FN>, %s: tensor<2x1xf32>) {
  // expected-error @+1 {{'kiln.qlinear' op scale must be [ceil(N / bn), ceil(K / bk)] = [3, 2], got 'tensor<2x1xf32>'}}
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 128, 128>} : (tensor<2x200xbf16>, tensor<300x200xf8E4M3FN>, tensor<2x1xf32>) -> tensor<2x300xbf16>
  return
}

// -----

// A per-channel scale must be [N, 1], not [N].
func.func @qlinear_scale_rank(%x: tensor<2x64xf32>, %w: tensor<16x64xi8>, %s: tensor<16xf32>) {
  // expected-error @+1 {{'kiln.qlinear' op scale must be [ceil(N / bn), ceil(K / bk)] = [16, 1], got 'tensor<16xf32>'}}
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 64>} : (tensor<2x64xf32>, tensor<16x64xi8>, tensor<16xf32>) -> tensor<2x16xf32>
  return
}

// -----

func.func @qlinear_weight_i64(%x: tensor<2x64xf32>, %w: tensor<16x64xi64>, %s: tensor<16x1xf32>) {
  // expected-error @+1 {{'kiln.qlinear' op quantized integers must have 2 to 32 bits, not 'i64'}}
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 64>} : (tensor<2x64xf32>, tensor<16x64xi64>, tensor<16x1xf32>) -> tensor<2x16xf32>
  return
}

// -----

func.func @qlinear_unsigned_fp4(%x: tensor<2x64xf32>, %w: tensor<16x64xf4E2M1FN>, %s: tensor<16x2xf8E8M0FNU>) {
  // expected-error @+1 {{'kiln.qlinear' op is_unsigned applies to integer types only, not 'f4E2M1FN'}}
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 32>, is_unsigned = true} : (tensor<2x64xf32>, tensor<16x64xf4E2M1FN>, tensor<16x2xf8E8M0FNU>) -> tensor<2x16xf32>
  return
}

// -----

func.func @qlinear_zero_point_shape(%x: tensor<2x64xf32>, %w: tensor<16x64xi4>, %s: tensor<16x2xf32>, %z: tensor<16x1xi4>) {
  // expected-error @+1 {{'kiln.qlinear' op zero_point must have the scale's shape and the weight's element type}}
  %0 = kiln.qlinear %x, %w, %s zero_point %z {block_shape = array<i64: 1, 32>} : (tensor<2x64xf32>, tensor<16x64xi4>, tensor<16x2xf32>, tensor<16x1xi4>) -> tensor<2x16xf32>
  return
}

// -----

func.func @qlinear_zero_point_type(%x: tensor<2x64xf32>, %w: tensor<16x64xi4>, %s: tensor<16x2xf32>, %z: tensor<16x2xi8>) {
  // expected-error @+1 {{'kiln.qlinear' op zero_point must have the scale's shape and the weight's element type}}
  %0 = kiln.qlinear %x, %w, %s zero_point %z {block_shape = array<i64: 1, 32>} : (tensor<2x64xf32>, tensor<16x64xi4>, tensor<16x2xf32>, tensor<16x2xi8>) -> tensor<2x16xf32>
  return
}

// -----

func.func @qlinear_global_scale_elements(%x: tensor<2x64xf32>, %w: tensor<16x64xf4E2M1FN>, %s: tensor<16x4xf8E4M3FN>, %g: tensor<2xf32>) {
  // expected-error @+1 {{'kiln.qlinear' op global_scale must be an f32 tensor of shape [] or [1]}}
  %0 = kiln.qlinear %x, %w, %s global_scale %g {block_shape = array<i64: 1, 16>} : (tensor<2x64xf32>, tensor<16x64xf4E2M1FN>, tensor<16x4xf8E4M3FN>, tensor<2xf32>) -> tensor<2x16xf32>
  return
}

// -----

func.func @qlinear_global_scale_type(%x: tensor<2x64xf32>, %w: tensor<16x64xf4E2M1FN>, %s: tensor<16x4xf8E4M3FN>, %g: tensor<f16>) {
  // expected-error @+1 {{'kiln.qlinear' op global_scale must be an f32 tensor of shape [] or [1]}}
  %0 = kiln.qlinear %x, %w, %s global_scale %g {block_shape = array<i64: 1, 16>} : (tensor<2x64xf32>, tensor<16x64xf4E2M1FN>, tensor<16x4xf8E4M3FN>, tensor<f16>) -> tensor<2x16xf32>
  return
}

// -----

// One element, but of rank 2: only rank 0 and [1] are accepted.
func.func @qlinear_global_scale_rank2(%x: tensor<2x64xf32>, %w: tensor<16x64xf4E2M1FN>, %s: tensor<16x4xf8E4M3FN>, %g: tensor<1x1xf32>) {
  // expected-error @+1 {{'kiln.qlinear' op global_scale must be an f32 tensor of shape [] or [1]}}
  %0 = kiln.qlinear %x, %w, %s global_scale %g {block_shape = array<i64: 1, 16>} : (tensor<2x64xf32>, tensor<16x64xf4E2M1FN>, tensor<16x4xf8E4M3FN>, tensor<1x1xf32>) -> tensor<2x16xf32>
  return
}

// -----

func.func @qlinear_bias_length(%x: tensor<2x64xf32>, %w: tensor<16x64xi8>, %s: tensor<16x1xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{'kiln.qlinear' op bias must be [N] = [16]}}
  %0 = kiln.qlinear %x, %w, %s bias %b {block_shape = array<i64: 1, 64>} : (tensor<2x64xf32>, tensor<16x64xi8>, tensor<16x1xf32>, tensor<64xf32>) -> tensor<2x16xf32>
  return
}

// -----

func.func @qlinear_bias_type(%x: tensor<2x64xf32>, %w: tensor<16x64xi8>, %s: tensor<16x1xf32>, %b: tensor<16xf16>) {
  // expected-error @+1 {{'kiln.qlinear' op bias must have the input's element type 'f32'}}
  %0 = kiln.qlinear %x, %w, %s bias %b {block_shape = array<i64: 1, 64>} : (tensor<2x64xf32>, tensor<16x64xi8>, tensor<16x1xf32>, tensor<16xf16>) -> tensor<2x16xf32>
  return
}

// -----

func.func @qlinear_bias_rank(%x: tensor<2x64xf32>, %w: tensor<16x64xi8>, %s: tensor<16x1xf32>, %b: tensor<1x16xf32>) {
  // expected-error @+1 {{'kiln.qlinear' op bias must be [N] = [16]}}
  %0 = kiln.qlinear %x, %w, %s bias %b {block_shape = array<i64: 1, 64>} : (tensor<2x64xf32>, tensor<16x64xi8>, tensor<16x1xf32>, tensor<1x16xf32>) -> tensor<2x16xf32>
  return
}

// -----

func.func @qlinear_result_shape(%x: tensor<2x64xf32>, %w: tensor<16x64xi8>, %s: tensor<16x1xf32>) {
  // expected-error @+1 {{'kiln.qlinear' op result must be the input's shape with K replaced by N, in the input's element type}}
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 64>} : (tensor<2x64xf32>, tensor<16x64xi8>, tensor<16x1xf32>) -> tensor<2x64xf32>
  return
}

// -----

func.func @qlinear_result_type(%x: tensor<2x64xf32>, %w: tensor<16x64xi8>, %s: tensor<16x1xf32>) {
  // expected-error @+1 {{'kiln.qlinear' op result must be the input's shape with K replaced by N, in the input's element type}}
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 64>} : (tensor<2x64xf32>, tensor<16x64xi8>, tensor<16x1xf32>) -> tensor<2x16xf16>
  return
}

// -----

// block_shape is required.
func.func @qlinear_no_block_shape(%x: tensor<2x64xf32>, %w: tensor<16x64xi8>, %s: tensor<16x1xf32>) {
  // expected-error @+1 {{'kiln.qlinear' op requires attribute 'block_shape'}}
  %0 = kiln.qlinear %x, %w, %s : (tensor<2x64xf32>, tensor<16x64xi8>, tensor<16x1xf32>) -> tensor<2x16xf32>
  return
}
