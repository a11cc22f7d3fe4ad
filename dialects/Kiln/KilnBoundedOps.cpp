//===- KilnBoundedOps.cpp - Verifiers of nonzero, unique, NMS -------------===//
//
// The ops of KilnBoundedOps.td, whose generated definitions are here: each
// result buffer must have the bound its operands' shapes give (static,
// except NonZero's, whose bound may be the run's element count).
//
//===----------------------------------------------------------------------===//

#include "kiln/dialects/Kiln/KilnBoundedOps.h"

#include "kiln/dialects/Kiln/KilnTraits.h"

using namespace mlir;
using namespace kiln;

#define GET_OP_CLASSES
#include "kiln/dialects/Kiln/KilnBoundedOps.cpp.inc"

LogicalResult NonZeroOp::verify() {
  RankedTensorType in = getInput().getType();
  if (in.getRank() == 0)
    return emitOpError("expects an input of rank 1 or more");
  // A dynamic input's bound, its element count, is the run's.
  SmallVector<int64_t> shape{in.getRank(), in.hasStaticShape()
                                               ? in.getNumElements()
                                               : ShapedType::kDynamic};
  if (getCoordinates().getType().getShape() != ArrayRef<int64_t>(shape))
    return emitOpError("coordinates must be [")
           << shape[0] << ","
           << (in.hasStaticShape() ? std::to_string(shape[1]) : "?") << "]";
  return success();
}

LogicalResult UniqueOp::verify() {
  RankedTensorType in = getInput().getType();
  if (!in.hasStaticShape() || in.getRank() != 3)
    return emitOpError("expects an input [outer, m, inner] of static shape");
  if (getValues().getType() != in)
    return emitOpError("values must have the input's type");
  SmallVector<int64_t> items{in.getDimSize(1)};
  for (Value v : {getIndices(), getInverseIndices(), getCounts()})
    if (cast<RankedTensorType>(v.getType()).getShape() != ArrayRef(items))
      return emitOpError("indices, inverse_indices and counts must be ")
             << shapeString(items);
  return success();
}

LogicalResult NonMaxSuppressionOp::verify() {
  RankedTensorType boxes = getBoxes().getType(), scores = getScores().getType();
  if (!boxes.hasStaticShape() || boxes.getRank() != 3 ||
      boxes.getDimSize(2) != 4)
    return emitOpError("expects boxes [batches, boxes, 4] of static shape");
  if (!scores.hasStaticShape() || scores.getRank() != 3 ||
      scores.getDimSize(0) != boxes.getDimSize(0) ||
      scores.getDimSize(2) != boxes.getDimSize(1))
    return emitOpError("expects scores [")
           << boxes.getDimSize(0) << ", classes, " << boxes.getDimSize(1)
           << "] of static shape";
  SmallVector<int64_t> shape{
      boxes.getDimSize(0) * scores.getDimSize(1) * boxes.getDimSize(1), 3};
  if (getSelected().getType().getShape() != ArrayRef<int64_t>(shape))
    return emitOpError("selected must be ") << shapeString(shape);
  return success();
}
