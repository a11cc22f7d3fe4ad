//===- KilnIndexingOps.td - Top-k, gathers and scatters ---*- tablegen -*-===//
//
// Data-dependent indexing: what MoE routing is built from. Included from
// KilnOps.td so the dialect keeps one TableGen target.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_INDEXING_OPS_TD
#define KILN_INDEXING_OPS_TD

def Kiln_TopKOp : Kiln_Op<"top_k", [Pure, Kiln_ReifiesShapes]> {
  let summary = "the k largest (or smallest) elements along an axis";
  let description = [{
    Along `axis`, returns the `k` largest elements (smallest with
    `largest = false`) in descending (ascending) order, and their int64
    indices. Equal values keep index order: the lower index comes first.

    Example:

    ```mlir
    %values, %indices = kiln.top_k %scores {axis = 1 : i64, k = 2 : i64, largest = true}
        : tensor<16x8xf32> -> (tensor<16x2xf32>, tensor<16x2xi64>)
    ```
  }];
  let arguments = (ins Kiln_NumericTensor:$input, I64Attr:$axis, I64Attr:$k,
                       DefaultValuedAttr<BoolAttr, "true">:$largest);
  let results = (outs Kiln_NumericTensor:$values,
                      RankedTensorOf<[I64]>:$indices);
  let assemblyFormat =
      "$input attr-dict `:` type($input) `->` `(` type($values) `,` type($indices) `)`";
  let hasVerifier = 1;
}

def Kiln_GatherElementsOp : Kiln_Op<"gather_elements", [Pure, Kiln_ReifiesShapes]> {
  let summary = "gather single elements along an axis (ONNX GatherElements)";
  let description = [{
    `result[p] = data[p with p[axis] replaced by indices[p]]`, where `result`
    and `indices` share a shape and `data` has the same rank. Negative
    indices count from the end; indices out of range are clamped.

    Example:

    ```mlir
    %0 = kiln.gather_elements %data, %idx {axis = 1 : i64}
        : (tensor<4x8xf32>, tensor<4x2xi64>) -> tensor<4x2xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$data, Kiln_IndexTensor:$indices,
                       I64Attr:$axis);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$data `,` $indices attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_GatherNDOp : Kiln_Op<"gather_nd", [Pure, Kiln_ReifiesShapes]> {
  let summary = "gather slices at index tuples (ONNX GatherND)";
  let description = [{
    With `batch_dims = b`, `data` `[B..., D...]` (b leading batch
    dimensions) and `indices` `[B..., I..., q]`, the result is
    `[B..., I..., D[q:]...]` with
    `result[p, i, r] = data[p, indices[p, i, :], r]`: each index tuple
    addresses the first `q` non-batch dimensions of `data`. Negative indices
    count from the end; out-of-range ones are clamped.

    Example:

    ```mlir
    %0 = kiln.gather_nd %data, %idx {batch_dims = 0 : i64}
        : (tensor<4x8x16xf32>, tensor<3x2xi64>) -> tensor<3x16xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$data, Kiln_IndexTensor:$indices,
                       DefaultValuedAttr<I64Attr, "0">:$batch_dims);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$data `,` $indices attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_ScatterReduction : I32EnumAttr<"ScatterReduction",
    "how a scatter combines an update with the element it lands on", [
      I32EnumAttrCase<"None", 0, "none">,
      I32EnumAttrCase<"Add", 1, "add">,
      I32EnumAttrCase<"Mul", 2, "mul">,
      I32EnumAttrCase<"Max", 3, "max">,
      I32EnumAttrCase<"Min", 4, "min">
    ]> {
  let cppNamespace = "::kiln";
  let genSpecializedAttr = 0;
}
def Kiln_ScatterReductionAttr
    : EnumAttr<Kiln_Dialect, Kiln_ScatterReduction, "scatter_reduction"> {
  let assemblyFormat = "`<` $value `>`";
}

def Kiln_ScatterElementsOp : Kiln_Op<"scatter_elements",
    [Pure, Kiln_ReifiesShapes, AllTypesMatch<["data", "result"]>]> {
  let summary = "scatter single elements along an axis (ONNX ScatterElements)";
  let description = [{
    A copy of `data` where, for every position `p` of `updates`, the
    element at `p` with `p[axis]` replaced by `indices[p]` becomes
    `updates[p]` (`none`) or is combined with it (`add`, `mul`, `max`,
    `min`). Updates apply in row-major order of `p`, so with `none` the last
    update to a position wins. Negative indices count from the end;
    out-of-range ones are skipped.

    Example:

    ```mlir
    %0 = kiln.scatter_elements %data, %idx, %upd {axis = 0 : i64,
             reduction = #kiln.scatter_reduction<add>}
        : (tensor<8x4xf32>, tensor<3x4xi64>, tensor<3x4xf32>) -> tensor<8x4xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$data, Kiln_IndexTensor:$indices,
                       Kiln_Tensor:$updates, I64Attr:$axis,
                       DefaultValuedAttr<Kiln_ScatterReductionAttr,
                           "::kiln::ScatterReduction::None">:$reduction);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$data `,` $indices `,` $updates attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_ScatterNDOp : Kiln_Op<"scatter_nd",
    [Pure, Kiln_ReifiesShapes, AllTypesMatch<["data", "result"]>]> {
  let summary = "scatter slices at index tuples (ONNX ScatterND)";
  let description = [{
    With `indices` of shape `[I..., q]`, each index tuple `indices[i]`
    addresses the first `q` dimensions of `data`; the slice there becomes
    (or is combined with) `updates[i]`, of shape `data.shape[q:]`. Updates
    apply in row-major order of `i`. Negative indices count from the end;
    out-of-range tuples are skipped.

    Example:

    ```mlir
    %0 = kiln.scatter_nd %data, %idx, %upd {reduction = #kiln.scatter_reduction<none>}
        : (tensor<8x4xf32>, tensor<2x1xi64>, tensor<2x4xf32>) -> tensor<8x4xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$data, Kiln_IndexTensor:$indices,
                       Kiln_Tensor:$updates,
                       DefaultValuedAttr<Kiln_ScatterReductionAttr,
                           "::kiln::ScatterReduction::None">:$reduction);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$data `,` $indices `,` $updates attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_OneHotOp : Kiln_Op<"one_hot", [Pure, Kiln_ReifiesShapes]> {
  let summary = "one-hot encoding of integer indices";
  let description = [{
    Inserts a dimension of size `depth` at `axis` (non-negative, in the
    result): `result[..., d, ...] = (index == d) ? on_value : off_value`,
    where a negative index counts from `depth` and an index outside
    `[-depth, depth)` gives an all-off row.

    Example:

    ```mlir
    %0 = kiln.one_hot %idx {axis = 1 : i64, depth = 8 : i64, off_value = 0.0 : f64, on_value = 1.0 : f64}
        : tensor<16xi64> -> tensor<16x8xf32>
    ```
  }];
  let arguments = (ins Kiln_IndexTensor:$indices, I64Attr:$axis,
                       I64Attr:$depth, F64Attr:$off_value, F64Attr:$on_value);
  let results = (outs Kiln_NumericTensor:$result);
  let assemblyFormat = "$indices attr-dict `:` type($indices) `->` type($result)";
  let hasVerifier = 1;
}

#endif // KILN_INDEXING_OPS_TD
