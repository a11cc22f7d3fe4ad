//===- KilnOps.td - Kiln dialect operations ---------------*- tablegen -*-===//
//
// The ops of the Kiln dialect. Conventions:
//  - every op works on ranked tensors; a dimension may be dynamic (`?`),
//    and every op says how its result's dynamic dimensions follow from its
//    operands (Kiln_ReifiesShapes, KilnShapes.h);
//  - elementwise binary ops broadcast like NumPy (and ONNX): shapes are
//    right-aligned and a dimension of size 1 stretches;
//  - the result type is always spelled out, and the verifier checks it.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_OPS_TD
#define KILN_OPS_TD

include "kiln/dialects/Kiln/KilnDialect.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// Verifies that the result shape is the NumPy broadcast of the operand shapes.
def Kiln_NumpyBroadcast : NativeOpTrait<"NumpyBroadcast"> {
  let cppNamespace = "::kiln::OpTrait";
}

//===----------------------------------------------------------------------===//
// Elementwise binary ops
//===----------------------------------------------------------------------===//

class Kiln_BinaryOp<string mnemonic, string opSummary, string example,
                    Type operandType = Kiln_NumericTensor,
                    list<Trait> traits = []>
    : Kiln_Op<mnemonic, !listconcat([Pure, Kiln_ReifiesShapes, Kiln_NumpyBroadcast,
                                     SameOperandsAndResultElementType],
                                    traits)> {
  let summary = opSummary;
  let description = !strconcat([{
    Elementwise, with NumPy broadcasting of the two operands to the result
    shape. Both operands and the result share one element type.

    Example:

    ```mlir
  }], example, [{
    ```
  }]);
  let arguments = (ins operandType:$lhs, operandType:$rhs);
  let results = (outs operandType:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition =
      Kiln_ReifyWith<"reifyBroadcast(*this, b, shapes)">.definition;
}

def Kiln_AddOp : Kiln_BinaryOp<"add", "elementwise addition", [{
    %0 = kiln.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
}]> {
  let hasFolder = 1;
}
def Kiln_SubOp : Kiln_BinaryOp<"sub", "elementwise subtraction", [{
    %0 = kiln.sub %a, %b : (tensor<4xi64>, tensor<1xi64>) -> tensor<4xi64>
}]> {
  let hasFolder = 1;
}
def Kiln_MulOp : Kiln_BinaryOp<"mul", "elementwise multiplication", [{
    %0 = kiln.mul %a, %b : (tensor<2x1xf32>, tensor<1x5xf32>) -> tensor<2x5xf32>
}]> {
  let hasFolder = 1;
}
def Kiln_DivOp : Kiln_BinaryOp<"div",
    "elementwise division (integers truncate toward zero)", [{
    %0 = kiln.div %a, %b : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
}]> {
  let hasFolder = 1;
}
def Kiln_RemOp : Kiln_BinaryOp<"rem",
    "elementwise remainder of truncated division (C's fmod and %)", [{
    %0 = kiln.rem %a, %b : (tensor<4xi32>, tensor<i32>) -> tensor<4xi32>
}]> {
  let hasFolder = 1;
}
def Kiln_PowOp : Kiln_BinaryOp<"pow", "elementwise power `lhs ^ rhs`", [{
    %0 = kiln.pow %a, %b : (tensor<3xf32>, tensor<f32>) -> tensor<3xf32>
}]> {
  let hasFolder = 1;
}
def Kiln_MaxOp : Kiln_BinaryOp<"max", "elementwise maximum", [{
    %0 = kiln.max %a, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
}]> {
  let hasFolder = 1;
}
def Kiln_MinOp : Kiln_BinaryOp<"min", "elementwise minimum", [{
    %0 = kiln.min %a, %b : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi32>
}]> {
  let hasFolder = 1;
}
def Kiln_AndOp : Kiln_BinaryOp<"and",
    "elementwise logical (on i1) or bitwise (on integers) and", [{
    %0 = kiln.and %a, %b : (tensor<3xi1>, tensor<3xi1>) -> tensor<3xi1>
}], Kiln_IntTensor> {
  let hasFolder = 1;
}
def Kiln_OrOp : Kiln_BinaryOp<"or",
    "elementwise logical (on i1) or bitwise (on integers) or", [{
    %0 = kiln.or %a, %b : (tensor<3xi1>, tensor<3xi1>) -> tensor<3xi1>
}], Kiln_IntTensor> {
  let hasFolder = 1;
}
def Kiln_XorOp : Kiln_BinaryOp<"xor",
    "elementwise logical (on i1) or bitwise (on integers) exclusive or", [{
    %0 = kiln.xor %a, %b : (tensor<3xi1>, tensor<3xi1>) -> tensor<3xi1>
}], Kiln_IntTensor> {
  let hasFolder = 1;
}

def Kiln_ShiftLeftOp : Kiln_BinaryOp<"shift_left",
    "elementwise left shift; shifting by the bit width or more gives 0", [{
    %0 = kiln.shift_left %a, %b : (tensor<4xi8>, tensor<4xi8>) -> tensor<4xi8>
}], Kiln_IntTensor>;
def Kiln_ShiftRightOp : Kiln_BinaryOp<"shift_right",
    "elementwise logical (unsigned) right shift; shifting by the bit width "
    "or more gives 0", [{
    %0 = kiln.shift_right %a, %b : (tensor<4xi8>, tensor<i8>) -> tensor<4xi8>
}], Kiln_IntTensor>;

//===----------------------------------------------------------------------===//
// Comparisons
//===----------------------------------------------------------------------===//

def Kiln_CompareDirection : I32EnumAttr<"CompareDirection",
    "which comparison kiln.compare makes", [
      I32EnumAttrCase<"EQ", 0, "eq">,
      I32EnumAttrCase<"NE", 1, "ne">,
      I32EnumAttrCase<"LT", 2, "lt">,
      I32EnumAttrCase<"LE", 3, "le">,
      I32EnumAttrCase<"GT", 4, "gt">,
      I32EnumAttrCase<"GE", 5, "ge">
    ]> {
  let cppNamespace = "::kiln";
  let genSpecializedAttr = 0;
}
def Kiln_CompareDirectionAttr
    : EnumAttr<Kiln_Dialect, Kiln_CompareDirection, "compare_direction">;

def Kiln_CompareOp : Kiln_Op<"compare",
    [Pure, Kiln_ReifiesShapes, Kiln_NumpyBroadcast, SameOperandsElementType]> {
  let summary = "elementwise comparison with a boolean result";
  let description = [{
    Compares `lhs` and `rhs` elementwise after NumPy broadcasting and yields
    `i1`. Integers compare as signed (`i1` as unsigned: false < true);
    floats compare ordered (any comparison
    with NaN is false, except `ne`, which is true).

    Example:

    ```mlir
    %0 = kiln.compare lt, %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
    ```
  }];
  let arguments = (ins Kiln_CompareDirectionAttr:$direction,
                       Kiln_Tensor:$lhs, Kiln_Tensor:$rhs);
  let results = (outs Kiln_BoolTensor:$result);
  let assemblyFormat = "$direction `,` $lhs `,` $rhs attr-dict `:` "
                       "functional-type(operands, results)";
  let hasFolder = 1;
}

def Kiln_SelectOp : Kiln_Op<"select", [Pure, Kiln_ReifiesShapes, Kiln_NumpyBroadcast]> {
  let summary = "elementwise choice between two tensors";
  let description = [{
    `result[i] = condition[i] ? true_value[i] : false_value[i]`, with NumPy
    broadcasting of all three operands (ONNX `Where`).

    Example:

    ```mlir
    %0 = kiln.select %c, %a, %b
        : (tensor<2x1xi1>, tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
    ```
  }];
  let arguments = (ins Kiln_BoolTensor:$condition, Kiln_Tensor:$true_value,
                       Kiln_Tensor:$false_value);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$condition `,` $true_value `,` $false_value attr-dict "
                       "`:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise unary ops
//===----------------------------------------------------------------------===//

class Kiln_UnaryOp<string mnemonic, string opSummary, string formula,
                   Type tensorType = Kiln_FloatTensor,
                   list<Trait> traits = []>
    : Kiln_Op<mnemonic, !listconcat([Pure, Kiln_ReifiesShapes, SameOperandsAndResultType],
                                    traits)> {
  let summary = opSummary;
  let description = !strconcat("    Elementwise: `", formula, [{`.

    Example:

    ```mlir
    %0 = kiln.}], mnemonic, [{ %x : tensor<2x8xf32>
    ```
  }]);
  let arguments = (ins tensorType:$input);
  let results = (outs tensorType:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let extraClassDefinition =
      Kiln_ReifyWith<"reifyAsOperand(*this, b, shapes)">.definition;
}

def Kiln_NegOp : Kiln_UnaryOp<"neg", "negation", "-x", Kiln_NumericTensor> {
  let hasFolder = 1;
}
def Kiln_AbsOp : Kiln_UnaryOp<"abs", "absolute value", "|x|",
                              Kiln_NumericTensor>;
def Kiln_SignOp : Kiln_UnaryOp<"sign", "sign", "x > 0 ? 1 : (x < 0 ? -1 : 0)",
                               Kiln_NumericTensor>;
def Kiln_ExpOp : Kiln_UnaryOp<"exp", "exponential", "e^x">;
def Kiln_LogOp : Kiln_UnaryOp<"log", "natural logarithm", "ln(x)">;
def Kiln_SqrtOp : Kiln_UnaryOp<"sqrt", "square root", "sqrt(x)">;
def Kiln_RsqrtOp : Kiln_UnaryOp<"rsqrt", "reciprocal square root",
                                "1 / sqrt(x)">;
def Kiln_ReciprocalOp : Kiln_UnaryOp<"reciprocal", "reciprocal", "1 / x">;
def Kiln_ErfOp : Kiln_UnaryOp<"erf", "Gauss error function", "erf(x)">;
def Kiln_TanhOp : Kiln_UnaryOp<"tanh", "hyperbolic tangent", "tanh(x)">;
def Kiln_SinOp : Kiln_UnaryOp<"sin", "sine", "sin(x)">;
def Kiln_CosOp : Kiln_UnaryOp<"cos", "cosine", "cos(x)">;
def Kiln_TanOp : Kiln_UnaryOp<"tan", "tangent", "tan(x)">;
def Kiln_AsinOp : Kiln_UnaryOp<"asin", "arcsine", "asin(x), NaN outside [-1, 1]">;
def Kiln_AcosOp : Kiln_UnaryOp<"acos", "arccosine",
                               "acos(x), NaN outside [-1, 1]">;
def Kiln_AtanOp : Kiln_UnaryOp<"atan", "arctangent", "atan(x)">;
def Kiln_SinhOp : Kiln_UnaryOp<"sinh", "hyperbolic sine", "sinh(x)">;
def Kiln_CoshOp : Kiln_UnaryOp<"cosh", "hyperbolic cosine", "cosh(x)">;
def Kiln_AsinhOp : Kiln_UnaryOp<"asinh", "inverse hyperbolic sine",
                                "asinh(x)">;
def Kiln_AcoshOp : Kiln_UnaryOp<"acosh", "inverse hyperbolic cosine",
                                "acosh(x), NaN below 1">;
def Kiln_AtanhOp : Kiln_UnaryOp<"atanh", "inverse hyperbolic tangent",
                                "atanh(x), NaN outside [-1, 1]">;
def Kiln_FloorOp : Kiln_UnaryOp<"floor", "round toward negative infinity",
                                "floor(x)">;
def Kiln_CeilOp : Kiln_UnaryOp<"ceil", "round toward positive infinity",
                               "ceil(x)">;
def Kiln_RoundOp : Kiln_UnaryOp<"round", "round half to even",
                                "roundeven(x)">;
def Kiln_SigmoidOp : Kiln_UnaryOp<"sigmoid", "logistic sigmoid",
                                  "1 / (1 + e^-x)">;
def Kiln_SiluOp : Kiln_UnaryOp<"silu", "sigmoid-weighted linear unit",
                               "x * sigmoid(x)">;
def Kiln_ReluOp : Kiln_UnaryOp<"relu", "rectified linear unit", "max(x, 0)",
                               Kiln_NumericTensor>;
def Kiln_NotOp : Kiln_UnaryOp<"not",
    "logical (on i1) or bitwise (on integers) negation", "~x",
    Kiln_IntTensor> {
  let hasFolder = 1;
}

def Kiln_LeakyReluOp : Kiln_Op<"leaky_relu", [Pure, Kiln_ReifiesShapes, SameOperandsAndResultType]> {
  let summary = "leaky rectified linear unit";
  let description = [{
    Elementwise: `x >= 0 ? x : alpha * x`.

    Example:

    ```mlir
    %0 = kiln.leaky_relu %x {alpha = 0.01 : f32} : tensor<4xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, F32Attr:$alpha);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def Kiln_GeluOp : Kiln_Op<"gelu", [Pure, Kiln_ReifiesShapes, SameOperandsAndResultType]> {
  let summary = "Gaussian error linear unit";
  let description = [{
    Elementwise `x * Phi(x)`, where `Phi` is the standard normal CDF:
    exactly `0.5 * (1 + erf(x / sqrt(2)))` with `approximation = none`, or
    `0.5 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))` with `tanh`.

    Example:

    ```mlir
    %0 = kiln.gelu %x approximation = tanh : tensor<2x16xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input,
                       DefaultValuedAttr<Kiln_GeluApproximationAttr,
                           "::kiln::GeluApproximation::None">:$approximation);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat =
      "$input (`approximation` `=` $approximation^)? attr-dict `:` type($result)";
}

def Kiln_CastOp : Kiln_Op<"cast", [Pure, Kiln_ReifiesShapes, SameOperandsAndResultShape]> {
  let summary = "elementwise conversion to another element type";
  let description = [{
    Converts each element: float to float rounds to nearest even, float to
    integer truncates toward zero, integer to integer sign-extends or
    truncates, any value to `i1` is `value != 0`, and `i1` to a number is 0
    or 1. With `is_unsigned`, integer inputs are read as unsigned: they
    zero-extend and convert to floats as unsigned values (ONNX's uint types).

    Example:

    ```mlir
    %0 = kiln.cast %x : tensor<4xf32> -> tensor<4xi64>
    %1 = kiln.cast %q {is_unsigned = true} : tensor<4xi8> -> tensor<4xi32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input,
                       DefaultValuedAttr<BoolAttr, "false">:$is_unsigned);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Linear algebra
//===----------------------------------------------------------------------===//

def Kiln_MatmulOp : Kiln_Op<"matmul", [Pure, Kiln_ReifiesShapes, SameOperandsAndResultElementType]> {
  let summary = "batched matrix product with broadcast batch dimensions";
  let description = [{
    `result[..., m, n] = sum_k lhs[..., m, k] * rhs[..., k, n]`. Both operands
    have rank 2 or more; their batch dimensions (all but the last two)
    broadcast like NumPy. Integer products accumulate in the element type.

    Example:

    ```mlir
    %0 = kiln.matmul %a, %b
        : (tensor<4x2x3xf32>, tensor<3x5xf32>) -> tensor<4x2x5xf32>
    ```
  }];
  let arguments = (ins Kiln_NumericTensor:$lhs, Kiln_NumericTensor:$rhs);
  let results = (outs Kiln_NumericTensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_LinearOp : Kiln_Op<"linear", [Pure, Kiln_ReifiesShapes]> {
  let summary = "fully connected layer: `input @ weight^T + bias`";
  let description = [{
    Multiplies the last dimension of `input` (`[..., K]`) by `weight`, laid
    out `[N, K]` as in PyTorch's `nn.Linear`, and adds the optional `bias`
    (`[N]`). The result is `[..., N]`.

    Example:

    ```mlir
    %0 = kiln.linear %x, %w, %b
        : (tensor<2x8x64xf32>, tensor<128x64xf32>, tensor<128xf32>) -> tensor<2x8x128xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight,
                       Optional<Kiln_FloatTensor>:$bias);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight (`,` $bias^)? attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Normalizations
//===----------------------------------------------------------------------===//

class Kiln_SoftmaxLikeOp<string mnemonic, string opSummary, string formula>
    : Kiln_Op<mnemonic, [Pure, Kiln_ReifiesShapes, SameOperandsAndResultType]> {
  let summary = opSummary;
  let description = !strconcat([{
    Along dimension `axis` (negative counts from the back):
    `}], formula, [{`, computed stably (the maximum is subtracted first).

    Example:

    ```mlir
    %0 = kiln.}], mnemonic, [{ %x {axis = -1 : i64} : tensor<2x4x16xf32>
    ```
  }]);
  let arguments = (ins Kiln_FloatTensor:$input, I64Attr:$axis);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
  let extraClassDefinition =
      Kiln_ReifyWith<"reifyAsOperand(*this, b, shapes)">.definition;
  let extraClassDeclaration = [{
    /// The axis as a non-negative dimension index.
    int64_t getNormalizedAxis() {
      int64_t axis = getAxis();
      return axis < 0 ? axis + getType().getRank() : axis;
    }
  }];
}

def Kiln_SoftmaxOp : Kiln_SoftmaxLikeOp<"softmax", "softmax along one axis",
    "exp(x_i) / sum_j exp(x_j)">;
def Kiln_LogSoftmaxOp : Kiln_SoftmaxLikeOp<"log_softmax",
    "logarithm of softmax along one axis", "x_i - log(sum_j exp(x_j))">;

def Kiln_LayerNormOp : Kiln_Op<"layer_norm",
    [Pure, Kiln_ReifiesShapes]> {
  let summary = "layer normalization over the trailing dimensions";
  let description = [{
    Normalizes over dimensions `[axis, rank)`:
    `(x - mean) / sqrt(variance + epsilon) * scale + bias`, where the
    variance is the biased (population) one. `scale` and the optional `bias`
    broadcast against those trailing dimensions.

    Example:

    ```mlir
    %0 = kiln.layer_norm %x, %gamma, %beta {axis = -1 : i64, epsilon = 1.0e-05 : f32}
        : (tensor<2x8x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$scale,
                       Optional<Kiln_FloatTensor>:$bias, I64Attr:$axis,
                       F32Attr:$epsilon);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $scale (`,` $bias^)? attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getNormalizedAxis() {
      int64_t axis = getAxis();
      return axis < 0 ? axis + getType().getRank() : axis;
    }
  }];
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

class Kiln_ReduceOp<string mnemonic, string opSummary>
    : Kiln_Op<mnemonic, [Pure, Kiln_ReifiesShapes, SameOperandsAndResultElementType]> {
  let summary = opSummary;
  let description = !strconcat([{
    Reduces the dimensions listed in `axes` (non-negative, strictly
    increasing). With `keepdims` they stay as size-1 dimensions; otherwise
    they are removed. An empty `axes` reduces nothing (the identity).

    Example:

    ```mlir
    %0 = kiln.}], mnemonic, [{ %x {axes = array<i64: 1>, keepdims = true}
        : tensor<2x8x4xf32> -> tensor<2x1x4xf32>
    ```
  }]);
  let arguments = (ins Kiln_NumericTensor:$input, DenseI64ArrayAttr:$axes,
                       DefaultValuedAttr<BoolAttr, "false">:$keepdims);
  let results = (outs Kiln_NumericTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let extraClassDefinition = Kiln_ReifyWith<
      "reifyReduction(*this, b, shapes, getInput(), getAxes(), getKeepdims())">
      .definition;
}

def Kiln_ReduceSumOp : Kiln_ReduceOp<"reduce_sum", "sum over dimensions">;
def Kiln_ReduceMeanOp : Kiln_ReduceOp<"reduce_mean", "mean over dimensions">;
def Kiln_ReduceMaxOp : Kiln_ReduceOp<"reduce_max", "maximum over dimensions">;
def Kiln_ReduceMinOp : Kiln_ReduceOp<"reduce_min", "minimum over dimensions">;
def Kiln_ReduceProdOp : Kiln_ReduceOp<"reduce_prod",
                                      "product over dimensions">;

class Kiln_ArgReduceOp<string mnemonic, string opSummary>
    : Kiln_Op<mnemonic, [Pure, Kiln_ReifiesShapes]> {
  let summary = opSummary;
  let description = !strconcat([{
    The index (int64) of the extreme element along `axis`. Ties resolve to
    the first occurrence, or to the last with `select_last_index`. With
    `keepdims` the axis stays as a size-1 dimension.

    Example:

    ```mlir
    %0 = kiln.}], mnemonic, [{ %x {axis = 1 : i64, keepdims = false, select_last_index = false}
        : tensor<2x8xf32> -> tensor<2xi64>
    ```
  }]);
  let arguments = (ins Kiln_NumericTensor:$input, I64Attr:$axis,
                       DefaultValuedAttr<BoolAttr, "true">:$keepdims,
                       DefaultValuedAttr<BoolAttr, "false">:$select_last_index);
  let results = (outs RankedTensorOf<[I64]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let extraClassDefinition = Kiln_ReifyWith<
      "reifyReduction(*this, b, shapes, getInput(), "
      "{static_cast<int64_t>(getAxis())}, getKeepdims())">.definition;
}

def Kiln_ArgMaxOp : Kiln_ArgReduceOp<"argmax", "index of the maximum along an axis">;
def Kiln_ArgMinOp : Kiln_ArgReduceOp<"argmin", "index of the minimum along an axis">;

class Kiln_ScanOp<string mnemonic, string what, string combine>
    : Kiln_Op<mnemonic, [Pure, Kiln_ReifiesShapes, SameOperandsAndResultType]> {
  let summary = !strconcat("cumulative ", what, " along one axis");
  let description = !strconcat([{
    `result[..., i, ...] = }], combine, [{ of input[..., j, ...]` for
    `j <= i` (or `j < i` with `exclusive`, where an empty range gives the
    identity; with `reverse`, `j >= i` or `j > i`).

    Example:

    ```mlir
    %0 = kiln.}], mnemonic, [{ %x {axis = 0 : i64, exclusive = false, reverse = true}
        : tensor<5xf32>
    ```
  }]);
  let arguments = (ins Kiln_NumericTensor:$input, I64Attr:$axis,
                       DefaultValuedAttr<BoolAttr, "false">:$exclusive,
                       DefaultValuedAttr<BoolAttr, "false">:$reverse);
  let results = (outs Kiln_NumericTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
  let extraClassDefinition =
      Kiln_ReifyWith<"reifyAsOperand(*this, b, shapes)">.definition;
}

def Kiln_CumSumOp : Kiln_ScanOp<"cumsum", "sum", "sum">;
def Kiln_CumProdOp : Kiln_ScanOp<"cumprod", "product", "product">;

//===----------------------------------------------------------------------===//
// Shape and data movement
//===----------------------------------------------------------------------===//

def Kiln_TransposeOp : Kiln_Op<"transpose",
    [Pure, Kiln_ReifiesShapes, SameOperandsAndResultElementType]> {
  let summary = "permutation of dimensions";
  let description = [{
    `result` dimension `i` is `input` dimension `permutation[i]`.

    Example:

    ```mlir
    %0 = kiln.transpose %x {permutation = array<i64: 1, 0>}
        : tensor<2x3xf32> -> tensor<3x2xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_ReshapeOp : Kiln_Op<"reshape",
    [Pure, Kiln_ReifiesShapes, SameOperandsAndResultElementType]> {
  let summary = "same elements in row-major order, new shape";
  let description = [{
    The result type gives the new shape; it holds as many elements as the
    input.

    Example:

    ```mlir
    %0 = kiln.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_BroadcastOp : Kiln_Op<"broadcast",
    [Pure, Kiln_ReifiesShapes, SameOperandsAndResultElementType]> {
  let summary = "NumPy broadcast to a larger shape";
  let description = [{
    Stretches size-1 dimensions and prepends missing leading ones so that
    `input` takes the result shape (ONNX `Expand`).

    Example:

    ```mlir
    %0 = kiln.broadcast %x : tensor<3x1xf32> -> tensor<2x3x4xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_ConcatOp : Kiln_Op<"concat", [Pure, Kiln_ReifiesShapes, SameOperandsAndResultElementType]> {
  let summary = "concatenation along one axis";
  let description = [{
    Joins `inputs` along non-negative dimension `axis`; all other dimensions
    agree.

    Example:

    ```mlir
    %0 = kiln.concat %a, %b {axis = 1 : i64}
        : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins Variadic<Kiln_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat =
      "$inputs attr-dict `:` functional-type($inputs, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_SliceOp : Kiln_Op<"slice", [Pure, Kiln_ReifiesShapes, SameOperandsAndResultElementType]> {
  let summary = "strided window of a tensor";
  let description = [{
    `result[i0, i1, ...] = input[starts[0] + i0 * steps[0], ...]`. Steps may
    be negative (a reversed window) but not zero; the result shape gives
    the number of elements taken along each dimension, and every index read
    lies inside `input`. A dynamic result dimension takes a whole dynamic
    input dimension (start 0, step 1): with no `ends`, the count along a
    sliced dynamic axis cannot be expressed.

    Example:

    ```mlir
    %0 = kiln.slice %x {starts = array<i64: 0, 7>, steps = array<i64: 1, -2>}
        : tensor<4x8xf32> -> tensor<4x4xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$starts,
                       DenseI64ArrayAttr:$steps);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_GatherOp : Kiln_Op<"gather", [Pure, Kiln_ReifiesShapes]> {
  let summary = "select slices along one axis by index";
  let description = [{
    ONNX `Gather`: with `data` of shape `D` and `indices` of shape `I`,
    the result has shape `D[:axis] + I + D[axis+1:]` and
    `result[p, i, q] = data[p, indices[i], q]`. Negative indices count from
    the end of the axis; indices out of range are clamped.

    Example:

    ```mlir
    %0 = kiln.gather %table, %ids {axis = 0 : i64}
        : (tensor<1000x64xf32>, tensor<2x8xi64>) -> tensor<2x8x64xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$data, Kiln_IndexTensor:$indices,
                       I64Attr:$axis);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$data `,` $indices attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_TriluOp : Kiln_Op<"trilu", [Pure, Kiln_ReifiesShapes, SameOperandsAndResultType]> {
  let summary = "keep the upper or lower triangle of the last two dimensions";
  let description = [{
    Keeps `input[..., i, j]` where `j - i >= diagonal` (`upper`) or
    `j - i <= diagonal` (lower) and sets the rest to zero.

    Example:

    ```mlir
    %0 = kiln.trilu %x {upper = false, diagonal = 0 : i64} : tensor<8x8xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, BoolAttr:$upper, I64Attr:$diagonal);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

include "kiln/dialects/Kiln/KilnIndexingOps.td"
include "kiln/dialects/Kiln/KilnTransformerOps.td"
include "kiln/dialects/Kiln/KilnMoEOps.td"
include "kiln/dialects/Kiln/KilnQuantOps.td"
include "kiln/dialects/Kiln/KilnWindowOps.td"
include "kiln/dialects/Kiln/KilnParallelOps.td"

#endif // KILN_OPS_TD
