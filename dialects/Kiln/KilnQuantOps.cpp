//===- KilnQuantOps.cpp - Verifiers of quantize and dequantize ------------===//

#include "kiln/dialects/Kiln/KilnOps.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace kiln;

/// The scale granularity rules shared by quantize and dequantize.
static LogicalResult verifyQuantParams(Operation *op, RankedTensorType data,
                                       RankedTensorType scale,
                                       Value zeroPoint, Type intType,
                                       int64_t axis, int64_t blockSize) {
  int64_t rank = data.getRank();
  if (rank > 0 && (axis < 0 || axis >= rank))
    return op->emitOpError("axis ") << axis << " is out of range for rank "
                                    << rank;
  if (blockSize < 0)
    return op->emitOpError("block_size must not be negative");
  if (zeroPoint) {
    auto zp = cast<RankedTensorType>(zeroPoint.getType());
    if (zp.getShape() != scale.getShape())
      return op->emitOpError("zero_point must have the scale's shape");
    if (zp.getElementType() != intType)
      return op->emitOpError("zero_point must have the integer type ")
             << intType;
  }
  if (blockSize > 0) {
    if (scale.getRank() != rank)
      return op->emitOpError("blocked scales must have the input's rank");
    for (int64_t d = 0; d < rank; ++d) {
      int64_t want = d == axis ? (data.getDimSize(d) + blockSize - 1) / blockSize
                               : data.getDimSize(d);
      if (scale.getDimSize(d) != want)
        return op->emitOpError("blocked scale dimension ")
               << d << " must be " << want << ", got " << scale.getDimSize(d);
    }
    return success();
  }
  if (scale.getNumElements() == 1 && scale.getRank() <= 1)
    return success(); // per tensor
  if (scale.getRank() == 1 && rank > 0 &&
      scale.getDimSize(0) == data.getDimSize(axis))
    return success(); // per axis
  return op->emitOpError("scale must hold one element, one per slice along "
                         "axis ")
         << axis << ", or (with block_size) one per block";
}

LogicalResult DequantizeOp::verify() {
  auto in = getInput().getType();
  if (getType().getShape() != in.getShape())
    return emitOpError("result must have the input's shape");
  return verifyQuantParams(*this, in, getScale().getType(), getZeroPoint(),
                           in.getElementType(), getAxis(), getBlockSize());
}

LogicalResult QuantizeOp::verify() {
  auto in = getInput().getType();
  if (getType().getShape() != in.getShape())
    return emitOpError("result must have the input's shape");
  unsigned width = getType().getElementType().getIntOrFloatBitWidth();
  if (width == 1 || width > 32)
    return emitOpError("quantizes to integers of 2 to 32 bits, not ")
           << getType().getElementType();
  return verifyQuantParams(*this, in, getScale().getType(), getZeroPoint(),
                           getType().getElementType(), getAxis(),
                           getBlockSize());
}
