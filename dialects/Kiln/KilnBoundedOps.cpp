//===- KilnBoundedOps.cpp - Verifiers of nonzero, unique, NMS -------------===//
//
// The ops of KilnBoundedOps.td, whose generated definitions are here: each
// result buffer must have the bound its operands' shapes give (dynamic
// when one of the sizes it follows from is: the run's).
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

/// A size for a message: "?" when dynamic.
static std::string sizeText(int64_t size) {
  return ShapedType::isDynamic(size) ? "?" : std::to_string(size);
}

/// A shape for a message: [?,3].
static std::string shapeText(ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (auto [i, d] : llvm::enumerate(shape))
    text += (i ? "," : "") + sizeText(d);
  return text + "]";
}

LogicalResult UniqueOp::verify() {
  RankedTensorType in = getInput().getType();
  if (in.getRank() != 3)
    return emitOpError("expects an input [outer, m, inner]");
  if (getValues().getType() != in)
    return emitOpError("values must have the input's type");
  // A dynamic m: the run's item count bounds the results.
  SmallVector<int64_t> items{in.getDimSize(1)};
  for (Value v : {getIndices(), getInverseIndices(), getCounts()})
    if (cast<RankedTensorType>(v.getType()).getShape() != ArrayRef(items))
      return emitOpError("indices, inverse_indices and counts must be ")
             << shapeText(items);
  return success();
}

/// `a` and `b` are equal or one is dynamic.
static bool compatible(int64_t a, int64_t b) {
  return a == b || ShapedType::isDynamic(a) || ShapedType::isDynamic(b);
}

LogicalResult NonMaxSuppressionOp::verify() {
  RankedTensorType boxes = getBoxes().getType(), scores = getScores().getType();
  if (boxes.getRank() != 3 || boxes.getDimSize(2) != 4)
    return emitOpError("expects boxes [batches, boxes, 4]");
  if (scores.getRank() != 3 ||
      !compatible(scores.getDimSize(0), boxes.getDimSize(0)) ||
      !compatible(scores.getDimSize(2), boxes.getDimSize(1)))
    return emitOpError("expects scores [")
           << sizeText(boxes.getDimSize(0)) << ", classes, "
           << sizeText(boxes.getDimSize(1)) << "]";
  // The bound batches * classes * boxes, the run's when one is dynamic.
  int64_t bound = 1;
  for (int64_t d :
       {scores.getDimSize(0), scores.getDimSize(1), scores.getDimSize(2)})
    bound = ShapedType::isDynamic(d) || ShapedType::isDynamic(bound)
                ? ShapedType::kDynamic
                : bound * d;
  SmallVector<int64_t> shape{bound, 3};
  if (getSelected().getType().getShape() != ArrayRef<int64_t>(shape))
    return emitOpError("selected must be ") << shapeText(shape);
  return success();
}
