//===- KilnQuantOps.td - Quantization and dequantization ---*- tablegen -*-===//
//
// Integer quantization with scales (and optional zero points) per tensor,
// per axis or per block along one axis. Scales are tensors, never parts of
// types. Signless integers are read as unsigned where `is_unsigned` says so
// (ONNX's uint8/uint16 zero points). Included from KilnOps.td.
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
    With `is_unsigned`, integers (values and zero points) are read as unsigned.
}];

def Kiln_DequantizeOp : Kiln_Op<"dequantize", [Pure]> {
  let summary = "integers to floats: (x - zero_point) * scale";
  let description = !strconcat([{
    `result = (input - zero_point) * scale`, computed in the scale's type
    (at least f32) and rounded to the result type. A missing zero point is
    0.
  }], Kiln_QuantDescription, [{
    Example (int8 weights with a scale per group of 32 along the rows):

    ```mlir
    %w = kiln.dequantize %q, %s {axis = 1 : i64, block_size = 32 : i64}
        : (tensor<256x128xi8>, tensor<256x4xf32>) -> tensor<256x128xf32>
    ```
  }]);
  let arguments = (ins Kiln_IntTensor:$input, Kiln_FloatTensor:$scale,
                       Optional<Kiln_IntTensor>:$zero_point,
                       DefaultValuedAttr<I64Attr, "0">:$axis,
                       DefaultValuedAttr<I64Attr, "0">:$block_size,
                       DefaultValuedAttr<BoolAttr, "false">:$is_unsigned);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $scale (`,` $zero_point^)? attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_QuantizeOp : Kiln_Op<"quantize", [Pure]> {
  let summary = "floats to integers: saturate(round(x / scale) + zero_point)";
  let description = !strconcat([{
    `result = clamp(round_half_even(input / scale) + zero_point)` to the
    range of the result's integer type (unsigned with `is_unsigned`). A
    missing zero point is 0.
  }], Kiln_QuantDescription, [{
    Example (per-tensor uint8 activations):

    ```mlir
    %q = kiln.quantize %x, %s, %zp {is_unsigned = true}
        : (tensor<16x64xf32>, tensor<f32>, tensor<i8>) -> tensor<16x64xi8>
    ```
  }]);
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$scale,
                       Optional<Kiln_IntTensor>:$zero_point,
                       DefaultValuedAttr<I64Attr, "0">:$axis,
                       DefaultValuedAttr<I64Attr, "0">:$block_size,
                       DefaultValuedAttr<BoolAttr, "false">:$is_unsigned);
  let results = (outs Kiln_IntTensor:$result);
  let assemblyFormat = "$input `,` $scale (`,` $zero_point^)? attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

#endif // KILN_QUANT_OPS_TD
