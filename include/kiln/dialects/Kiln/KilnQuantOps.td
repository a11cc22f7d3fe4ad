//===- KilnQuantOps.td - Quantization and quantized layers -*- tablegen -*-===//
//
// Quantized values are tensors of MLIR's builtin narrow types: signless
// integers (i8, i4, i2, ...; read as unsigned where `is_unsigned` says so),
// fp8 (f8E4M3FN, f8E5M2) and fp4 (f4E2M1FN). Scales are tensors, never
// parts of types: per tensor, per axis, or per block (one axis or N-D
// blocks), in any float type, including f8E8M0FNU (MXFP4) and f8E4M3FN
// (NVFP4). Included from KilnOps.td.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_QUANT_OPS_TD
#define KILN_QUANT_OPS_TD

defvar Kiln_QuantDescription = [{
    The scale (and zero point) granularity follows the scale's shape:
    a single element applies to the whole tensor; a vector as long as
    dimension `axis` applies per slice along it; with `block_size > 0` the
    scale has the input's rank and `ceil(dim / block_size)` entries along
    `axis`, element `i` of that axis using scale entry `i / block_size`.
    With `block_shape` (one block size per dimension, exclusive with
    `block_size`) the scale has `ceil(dim[d] / block_shape[d])` entries along
    every dimension `d`: 128x128 blocks for fp8 weights, `[1, 32]` for MXFP4.
    With `is_unsigned`, integers (values and zero points) are read as unsigned.
}];

def Kiln_DequantizeOp : Kiln_Op<"dequantize", [Pure, Kiln_ReifiesShapes]> {
  let summary = "quantized values to floats: (x - zero_point) * scale";
  let description = !strconcat([{
    `result = (input - zero_point) * scale`, computed in f32 (f64 for an f64
    scale) and rounded to the result type. A missing zero point is 0. The
    input holds integers, fp8 or fp4 values; the zero point has the input's
    element type.
  }], Kiln_QuantDescription, [{
    Example (int4 weights with a scale per group of 32 along the rows, and
    MXFP4 weights with an e8m0 scale per 32):

    ```mlir
    %w = kiln.dequantize %q, %s {axis = 1 : i64, block_size = 32 : i64}
        : (tensor<256x128xi4>, tensor<256x4xf32>) -> tensor<256x128xf32>
    %m = kiln.dequantize %f4, %e8 {block_shape = array<i64: 1, 32>}
        : (tensor<256x128xf4E2M1FN>, tensor<256x4xf8E8M0FNU>)
        -> tensor<256x128xf32>
    ```
  }]);
  let arguments = (ins Kiln_QuantStorageTensor:$input, Kiln_FloatTensor:$scale,
                       Optional<Kiln_QuantStorageTensor>:$zero_point,
                       DefaultValuedAttr<I64Attr, "0">:$axis,
                       DefaultValuedAttr<I64Attr, "0">:$block_size,
                       OptionalAttr<DenseI64ArrayAttr>:$block_shape,
                       DefaultValuedAttr<BoolAttr, "false">:$is_unsigned);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $scale (`,` $zero_point^)? attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_QuantizeOp : Kiln_Op<"quantize", [Pure, Kiln_ReifiesShapes]> {
  let summary = "floats to quantized values: saturate(round(x / scale) + zp)";
  let description = !strconcat([{
    For integer results, `result = clamp(round_half_even(input / scale) +
    zero_point)` to the range of the result's integer type (unsigned with
    `is_unsigned`). For fp8/fp4 results, `input / scale + zero_point` is
    rounded to the nearest representable value (ties to even) and
    saturates: values beyond the largest finite magnitude, and infinities,
    become that magnitude with their sign; NaN stays NaN (fp4, which has no
    NaN, gives code 0x8 as ONNX does). A missing zero point is 0.
  }], Kiln_QuantDescription, [{
    Example (per-tensor uint8 activations, and fp8 with 128x128 blocks):

    ```mlir
    %q = kiln.quantize %x, %s, %zp {is_unsigned = true}
        : (tensor<16x64xf32>, tensor<f32>, tensor<i8>) -> tensor<16x64xi8>
    %f = kiln.quantize %w, %bs {block_shape = array<i64: 128, 128>}
        : (tensor<256x512xf32>, tensor<2x4xf32>) -> tensor<256x512xf8E4M3FN>
    ```
  }]);
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$scale,
                       Optional<Kiln_QuantStorageTensor>:$zero_point,
                       DefaultValuedAttr<I64Attr, "0">:$axis,
                       DefaultValuedAttr<I64Attr, "0">:$block_size,
                       OptionalAttr<DenseI64ArrayAttr>:$block_shape,
                       DefaultValuedAttr<BoolAttr, "false">:$is_unsigned);
  let results = (outs Kiln_QuantStorageTensor:$result);
  let assemblyFormat = "$input `,` $scale (`,` $zero_point^)? attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_QLinearOp : Kiln_Op<"qlinear", [Pure, Kiln_ReifiesShapes, AttrSizedOperandSegments]> {
  let summary = "fully connected layer on quantized weights";
  let description = [{
    `result = input @ dequantize(weight)^T + bias`, where `weight` is `[N, K]`
    (PyTorch's `nn.Linear` layout) of quantized values and

    `dequantize(weight)[n, k] = (weight[n, k] - zero_point[n / bn, k / bk])
                                 * scale[n / bn, k / bk] * global_scale`

    with `block_shape = [bn, bk]`. The scale is `[ceil(N / bn), ceil(K / bk)]`
    in any float type, the zero point (optional, the weight's type) has the
    scale's shape, `global_scale` is an optional one-element f32 tensor, and
    `bias` is `[N]`. The block shape says the format:

    | format | weight | scale | block_shape |
    |---|---|---|---|
    | int8 / int4 per channel | i8 / i4 | f32 `[N, 1]` | `[1, K]` |
    | int8 / int4 group-wise | i8 / i4 | f32 `[N, K/g]` | `[1, g]`, g = 32, 64, 128 |
    | fp8 per tensor | f8E4M3FN / f8E5M2 | f32 `[1, 1]` | `[N, K]` |
    | fp8 block-scaled | f8E4M3FN | f32 `[N/128, K/128]` | `[128, 128]` |
    | MXFP4 | f4E2M1FN | f8E8M0FNU `[N, K/32]` | `[1, 32]` |
    | NVFP4 | f4E2M1FN | f8E4M3FN `[N, K/16]` + `global_scale` | `[1, 16]` |

    The result has the input's shape with `K` replaced by `N`, in the input's
    element type. Integers are read as unsigned with `is_unsigned`. A kernel
    dequantizes weights as it reads them; no float copy of the weight needs
    to exist.

    Example (int4, groups of 32, asymmetric):

    ```mlir
    %y = kiln.qlinear %x, %w, %s zero_point %zp {block_shape = array<i64: 1, 32>}
        : (tensor<4x128xf32>, tensor<64x128xi4>, tensor<64x4xf32>,
           tensor<64x4xi4>) -> tensor<4x64xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_QuantStorageTensor:$weight,
                       Kiln_FloatTensor:$scale,
                       Optional<Kiln_QuantStorageTensor>:$zero_point,
                       Optional<Kiln_FloatTensor>:$global_scale,
                       Optional<Kiln_FloatTensor>:$bias,
                       DenseI64ArrayAttr:$block_shape,
                       DefaultValuedAttr<BoolAttr, "false">:$is_unsigned);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $scale (`zero_point` $zero_point^)?
    (`global_scale` $global_scale^)? (`bias` $bias^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

#endif // KILN_QUANT_OPS_TD
