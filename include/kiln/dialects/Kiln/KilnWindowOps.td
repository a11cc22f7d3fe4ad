//===- KilnWindowOps.td - Convolution and pooling -------*- tablegen -*-===//
//
// Ops that slide a window over the spatial dimensions of an [N, C, D1..Dk]
// tensor: what convolutional models are made of. Padding, strides and
// dilations are explicit; ONNX's auto_pad and ceil_mode are resolved by
// the importer into pads and output sizes. Included from KilnOps.td so the
// dialect keeps one TableGen target.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_WINDOW_OPS_TD
#define KILN_WINDOW_OPS_TD

def Kiln_ConvOp : Kiln_Op<"conv", [Pure, Kiln_ReifiesShapes]> {
  let summary = "grouped N-d convolution (ONNX Conv)";
  let description = [{
    Cross-correlation of `input` [N, C, D1..Dk] with `weight`
    [M, C / group, K1..Kk], plus `bias` [M] when given:

    ```
    result[n, m, o...] = bias[m] + sum over c < C / group, k...:
        input[n, g * C / group + c, o * stride + k * dilation - pad_begin]
          * weight[m, c, k...]          (g = m / (M / group))
    ```

    where positions outside the input read zero. `pads` holds the k
    leading pads, then the k trailing ones. Each output size is
    `(D + pad_begin + pad_end - dilation * (K - 1) - 1) / stride + 1`.

    Example:

    ```mlir
    %0 = kiln.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>,
                           pads = array<i64: 1, 1, 1, 1>, group = 1 : i64}
        : (tensor<1x3x8x8xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x8x8xf32>
    ```
  }];
  let arguments = (ins Kiln_NumericTensor:$input, Kiln_NumericTensor:$weight,
                       Optional<Kiln_NumericTensor>:$bias,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$dilations,
                       DenseI64ArrayAttr:$pads,
                       DefaultValuedAttr<I64Attr, "1">:$group);
  let results = (outs Kiln_NumericTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:`
    `(` type($input) `,` type($weight) (`,` type($bias)^)? `)` `->` type($result)
  }];
  let hasVerifier = 1;
}

def Kiln_PoolKind : I32EnumAttr<"PoolKind",
    "how a pooling window combines its elements", [
      I32EnumAttrCase<"Max", 0, "max">,
      I32EnumAttrCase<"Average", 1, "average">,
      I32EnumAttrCase<"Lp", 2, "lp">
    ]> {
  let cppNamespace = "::kiln";
  let genSpecializedAttr = 0;
}
def Kiln_PoolKindAttr : EnumAttr<Kiln_Dialect, Kiln_PoolKind, "pool_kind"> {
  let assemblyFormat = "`<` $value `>`";
}

def Kiln_PoolOp : Kiln_Op<"pool", [Pure, Kiln_ReifiesShapes, SameOperandsAndResultElementType]> {
  let summary = "max, average or Lp pooling over N-d windows (ONNX *Pool)";
  let description = [{
    Slides a `kernel_shape` window over the spatial dimensions of `input`
    [N, C, D1..Dk] and combines the elements it covers: their maximum,
    their mean, or `(sum |x|^p)^(1/p)`. `pads` holds the k leading pads,
    then the k trailing ones; padding never wins a maximum and adds zero
    to a sum. The average divides by the number of input elements in the
    window, or, with `count_include_pad`, by the number of input and pad
    elements (never counting positions past the pads).

    Each output size is `(D + pad_begin + pad_end - dilation * (K - 1) - 1)
    / stride + 1`, rounded up instead of down with `ceil_mode`, where a
    last window that would start past the input and leading pad is
    dropped (ONNX's rule).

    Example:

    ```mlir
    %0 = kiln.pool %x {kind = #kiln.pool_kind<max>, kernel_shape = array<i64: 2, 2>,
                       strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>,
                       pads = array<i64: 0, 0, 0, 0>}
        : tensor<1x3x8x8xf32> -> tensor<1x3x4x4xf32>
    ```
  }];
  let arguments = (ins Kiln_NumericTensor:$input, Kiln_PoolKindAttr:$kind,
                       DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$dilations,
                       DenseI64ArrayAttr:$pads,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode,
                       DefaultValuedAttr<BoolAttr, "false">:$count_include_pad,
                       DefaultValuedAttr<I64Attr, "2">:$p);
  let results = (outs Kiln_NumericTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

#endif // KILN_WINDOW_OPS_TD
