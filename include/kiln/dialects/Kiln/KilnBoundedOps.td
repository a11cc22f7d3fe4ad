//===- KilnBoundedOps.td - Results of data-dependent size --*- tablegen -*-===//
//
// Ops whose result length only the data decides (ONNX NonZero, Unique,
// NonMaxSuppression). Each writes its results into a buffer of a bound
// that the shapes give (dynamic where they are) and returns how much holds
// results as an `index`; the importer takes that prefix with
// tensor.extract_slice, a dynamic dim that the runtime sizes after the run
// like any other computed output dim. Entries past the count are 0.
// Generated into their own KilnBoundedOps.h.inc
// (kiln/dialects/Kiln/KilnBoundedOps.h), included only where they are made
// or lowered.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_BOUNDED_OPS_TD
#define KILN_BOUNDED_OPS_TD

include "kiln/dialects/Kiln/KilnDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Kiln_NonZeroOp : Kiln_Op<"nonzero", [Pure]> {
  let summary = "the coordinates of the nonzero elements, and their count";
  let description = [{
    ONNX `NonZero` into a buffer of its bound: for an input of rank `r`
    and `n` elements, `coordinates` is `[r, n]` (`[r, ?]` when the input
    has dynamic dims: the run sizes the buffer) and its first
    `count` columns hold the coordinates of the nonzero elements in
    row-major order (`coordinates[d, j]` is dimension `d` of the j-th);
    the other columns are 0.

    Example:

    ```mlir
    %coords, %count = kiln.nonzero %mask : tensor<2x3xi1> -> tensor<2x6xi64>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs RankedTensorOf<[I64]>:$coordinates, Index:$count);
  let assemblyFormat =
      "$input attr-dict `:` type($input) `->` type($coordinates)";
  let hasVerifier = 1;
}

def Kiln_UniqueOp : Kiln_Op<"unique", [Pure]> {
  let summary = "the distinct slices along axis 1, their positions and counts";
  let description = [{
    ONNX `Unique` into buffers of its bound, on an input `[outer, m, inner]`
    (the importer reshapes the ONNX input to this: `m` is the length of
    the ONNX axis, or the element count without one). The items are the
    `m` slices `input[:, i, :]` (any of `outer, m, inner` may be
    dynamic: the buffers are then the run's); `count` is how many
    distinct ones there
    are. The first `count` entries along `m` of `values` hold the distinct
    items, `indices` where each first occurs and `counts` how often it
    occurs: in order of first occurrence, or with `sorted` in ascending
    lexicographic order (row-major over `[outer, inner]`).
    `inverse_indices[i]` is the position of item i among them.

    Example:

    ```mlir
    %y, %idx, %inv, %cnt, %count = kiln.unique %x {sorted = true}
        : tensor<1x6x1xf32> -> (tensor<1x6x1xf32>, tensor<6xi64>,
                                tensor<6xi64>, tensor<6xi64>)
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input,
                       DefaultValuedAttr<BoolAttr, "true">:$sorted);
  let results = (outs Kiln_Tensor:$values, RankedTensorOf<[I64]>:$indices,
                      RankedTensorOf<[I64]>:$inverse_indices,
                      RankedTensorOf<[I64]>:$counts, Index:$count);
  let assemblyFormat =
      "$input attr-dict `:` type($input) `->` `(` type($values) `,` "
      "type($indices) `,` type($inverse_indices) `,` type($counts) `)`";
  let hasVerifier = 1;
}

def Kiln_NonMaxSuppressionOp
    : Kiln_Op<"non_max_suppression", [Pure]> {
  let summary = "greedy selection of boxes that overlap less than a threshold";
  let description = [{
    ONNX `NonMaxSuppression` into a buffer of its bound. `boxes` is
    `[b, n, 4]` (corners `[y1, x1, y2, x2]` in either order, or with
    `center_point_box` `[x_center, y_center, width, height]`), `scores`
    `[b, c, n]`. For each batch and class, the boxes whose score is above
    `score_threshold` are visited by descending score (equal scores by
    ascending index); a box is selected unless its intersection over union
    with a box already selected for the class exceeds `iou_threshold`,
    until `max_output_boxes_per_class` are selected. The first `count`
    rows of `selected` (`[b * c * n, 3]`, `[?, 3]` when a size is
    dynamic) are the `[batch, class, box]` of
    the selections, by batch, then class, then order of selection.

    Example:

    ```mlir
    %sel, %count = kiln.non_max_suppression %boxes, %scores, %max, %iou, %thr
        {center_point_box = false}
        : tensor<1x6x4xf32>, tensor<1x1x6xf32> -> tensor<6x3xi64>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$boxes, Kiln_FloatTensor:$scores,
                       Index:$max_output_boxes_per_class, F32:$iou_threshold,
                       F32:$score_threshold,
                       DefaultValuedAttr<BoolAttr, "false">:$center_point_box);
  let results = (outs RankedTensorOf<[I64]>:$selected, Index:$count);
  let assemblyFormat =
      "$boxes `,` $scores `,` $max_output_boxes_per_class `,` $iou_threshold "
      "`,` $score_threshold attr-dict `:` type($boxes) `,` type($scores) "
      "`->` type($selected)";
  let hasVerifier = 1;
}

#endif // KILN_BOUNDED_OPS_TD
