//===- Passes.td - Kiln Quantization passes ----------------*- tablegen -*-===//
//
// Float weights -> low-precision formats with scales.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_QUANTIZATION_PASSES_TD
#define KILN_PASSES_QUANTIZATION_PASSES_TD

include "mlir/Pass/PassBase.td"

def QuantizeWeights : Pass<"kiln-quantize-weights"> {
  let summary = "Quantize constant float weights of linear layers (round to nearest)";
  let description = [{
    Rewrites every `kiln.linear`, and every `kiln.matmul` whose right operand
    is a 2-D constant (`x @ W`, as exporters write linear layers), with a
    float constant weight into a `kiln.qlinear` on quantized constants:

    | format | codes | scales |
    |---|---|---|
    | `int8` | i8, symmetric | f32 per output channel, max\|w\| / 127 |
    | `int4-g32`, `int4-g128` | i4, symmetric | f32 per group of 32/128 along K, max\|w\| / 7 |
    | `fp8-block` | f8E4M3FN | f32 per 128x128 block, max\|w\| / 448 |
    | `mxfp4` | f4E2M1FN | f8E8M0FNU per 32 along K, 2^(floor(log2 max\|w\|) - 2) |
    | `nvfp4` | f4E2M1FN | f8E4M3FN per 16 along K, and an f32 global scale max\|W\| / 2688 |

    Values round to nearest (ties to even) and saturate. Constant expert
    weights of `kiln.moe_experts` (`[E, N, K]`) are quantized the same way
    as one `[E * N, K]` matrix, stored quantized and dequantized by a
    `kiln.dequantize` in front of the op (fp8 blocks never span two
    experts). MoE router projections (whose result feeds `kiln.moe_route`),
    embedding tables, norms and other constants stay float. Each new op carries
    `kiln.quant_error`, the relative RMS error `||W - dequant(W)|| / ||W||`
    of its weight, for reports.

    Example:

    ```mlir
    %y = kiln.linear %x, %w : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
    // with format=int4-g32 becomes
    %y = kiln.qlinear %x, %q, %s {block_shape = array<i64: 1, 32>, kiln.quant_error = ...}
        : (tensor<4x64xf32>, tensor<32x64xi4>, tensor<32x2xf32>) -> tensor<4x32xf32>
    ```
  }];
  let options = [
    Option<"format", "format", "std::string", /*default=*/"\"int8\"",
           "int8, int4-g32, int4-g128, fp8-block, mxfp4 or nvfp4">,
    Option<"minElements", "min-elements", "int64_t", /*default=*/"0",
           "Leave weights with fewer elements in float">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

#endif // KILN_PASSES_QUANTIZATION_PASSES_TD
