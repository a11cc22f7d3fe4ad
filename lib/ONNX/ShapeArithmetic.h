//===- ShapeArithmetic.h - Shape vectors computed from symbolic dims -*- C++ -*-===//
//
// Private to lib/ONNX. Exporters compute shapes with ordinary operators:
// Shape, Gather, Unsqueeze, Concat, Mul, ... on small int64 tensors, then
// feed them to Reshape, Expand, ConstantOfShape, Range or Slice. With
// static inputs these fold to constants. With symbolic dimensions some
// elements are only known at run time; such a tensor is built as a
// `tensor.from_elements` of scalars (index casts of `tensor.dim`, and the
// arithmetic on them), so that every element stays visible to the
// importer: the consumers read the elements, SymbolicDims tells which are
// static after all (Reshape's -1 over [batch, seq, 64]) and which are a
// symbol, and the rest of the program never sees a shape tensor.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_ONNX_SHAPEARITHMETIC_H
#define KILN_LIB_ONNX_SHAPEARITHMETIC_H

#include "NodeContext.h"

#include "kiln/dialects/Kiln/SymbolicDims.h"

namespace kiln::onnx_import {

/// The elements of a rank-0 or rank-1 integer tensor: IntegerAttr for the
/// constant ones, scalar values of the tensor's element type for the rest.
using ShapeElements = llvm::SmallVector<mlir::OpFoldResult>;

/// The elements of `v` when it is a constant or a from_elements tensor.
std::optional<ShapeElements> shapeElements(mlir::Value v);

/// The elements of shape input `i`: known ones as they are, those of a
/// run-time tensor read at run time; or an error naming `what`.
mlir::FailureOr<ShapeElements> requireShapeElements(NodeContext &nc, size_t i,
                                                    llvm::StringRef what);

/// Whether input `i` of the node holds elements known only at run time
/// (a shape tensor built from symbolic dims).
bool hasRuntimeElements(NodeContext &nc, size_t i);

/// Whether input `i` of the node holds values only the run knows (a graph
/// input or computed from one, or a shape tensor with run-time elements)
/// and the importer reads such inputs (nc.symbolicDims is set). The
/// handlers of parameters that are usually constants (axes, Trilu's k,
/// OneHot's depth) take their run-time lowering then (RuntimeAxes.h,
/// RuntimeParameters.h).
bool isRuntimeInput(NodeContext &nc, size_t i);

/// Evaluates Shape, Size and the integer operators on shape tensors
/// element by element when an operand has run-time elements; nothing when
/// the node is not such a computation (its ordinary handler then runs).
std::optional<mlir::LogicalResult> importShapeArithmetic(NodeContext &nc);

/// The sizes `elements` describe, as SymbolicDims evaluates them.
llvm::SmallVector<SymbolicSize> symbolicSizes(NodeContext &nc,
                                              const ShapeElements &elements);

/// The sizes of `v`'s dimensions.
llvm::SmallVector<SymbolicSize> symbolicShape(NodeContext &nc, mlir::Value v);

/// The static shape of `sizes` (kDynamic where a size is not constant) and
/// the index values of the dynamic ones, in order.
llvm::SmallVector<int64_t>
staticShapeOf(llvm::ArrayRef<SymbolicSize> sizes);
llvm::SmallVector<mlir::Value>
dynamicSizeValues(NodeContext &nc, llvm::ArrayRef<SymbolicSize> sizes);
/// A tensor of `x`'s element type in the static shape of `sizes`.
mlir::RankedTensorType typeWithSizes(mlir::Value x,
                                     llvm::ArrayRef<SymbolicSize> sizes);

/// `x` with its elements in a tensor of `sizes`: through tensor.collapse_shape
/// and tensor.expand_shape when the dimensions group (as in [b, s, 64] ->
/// [b, s, 4, 16] or [b * s, 64]), else tensor.reshape.
mlir::Value reshapeToSizes(NodeContext &nc, mlir::Value x,
                           llvm::ArrayRef<SymbolicSize> sizes);

/// `x` broadcast (NumPy rules, as ONNX Expand) to `sizes`.
mlir::Value broadcastToSizes(NodeContext &nc, mlir::Value x,
                             llvm::ArrayRef<SymbolicSize> sizes);

/// A generic writing a tensor of `type` (dynamic dims `dynamicSizes`) from
/// nothing but its indices: `body(builder, loc, indices)` yields each
/// element.
mlir::Value generate(
    mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType type,
    mlir::ValueRange dynamicSizes,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                   llvm::ArrayRef<mlir::Value>)>
        body);

} // namespace kiln::onnx_import

#endif // KILN_LIB_ONNX_SHAPEARITHMETIC_H
