//===- KilnQuantOps.cpp - Verifiers of the quantization ops ---------------===//

#include "kiln/dialects/Kiln/KilnOps.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace kiln;

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// The scale granularity rules shared by quantize and dequantize.
static LogicalResult verifyQuantParams(Operation *op, RankedTensorType data,
                                       RankedTensorType scale,
                                       Value zeroPoint, Type storageType,
                                       int64_t axis, int64_t blockSize,
                                       std::optional<ArrayRef<int64_t>> blockShape) {
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
    if (zp.getElementType() != storageType)
      return op->emitOpError("zero_point must have the quantized type ")
             << storageType;
  }
  if (blockShape) {
    if (blockSize > 0)
      return op->emitOpError("block_size and block_shape are exclusive");
    if ((int64_t)blockShape->size() != rank)
      return op->emitOpError("block_shape needs one size per dimension (")
             << rank << "), got " << blockShape->size();
    if (scale.getRank() != rank)
      return op->emitOpError("block-scaled scales must have the input's rank");
    for (int64_t d = 0; d < rank; ++d) {
      int64_t b = (*blockShape)[d];
      if (b < 1)
        return op->emitOpError("block_shape sizes must be positive, got ")
               << b << " for dimension " << d;
      int64_t want = ceilDiv(data.getDimSize(d), b);
      if (scale.getDimSize(d) != want)
        return op->emitOpError("scale dimension ")
               << d << " must be ceil(" << data.getDimSize(d) << " / " << b
               << ") = " << want << ", got " << scale.getDimSize(d);
    }
    return success();
  }
  if (blockSize > 0) {
    if (scale.getRank() != rank)
      return op->emitOpError("blocked scales must have the input's rank");
    for (int64_t d = 0; d < rank; ++d) {
      int64_t want = d == axis ? ceilDiv(data.getDimSize(d), blockSize)
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
         << axis << ", or (with block_size or block_shape) one per block";
}

/// Integers of 2 to 32 bits, or the fp8/fp4 types the storage constraint
/// admits.
static LogicalResult verifyStorageType(Operation *op, Type t, bool isUnsigned) {
  if (auto i = dyn_cast<IntegerType>(t)) {
    if (i.getWidth() < 2 || i.getWidth() > 32)
      return op->emitOpError("quantized integers must have 2 to 32 bits, not ")
             << t;
    return success();
  }
  if (isUnsigned)
    return op->emitOpError("is_unsigned applies to integer types only, not ")
           << t;
  return success();
}

LogicalResult DequantizeOp::verify() {
  auto in = getInput().getType();
  if (getType().getShape() != in.getShape())
    return emitOpError("result must have the input's shape");
  if (failed(verifyStorageType(*this, in.getElementType(), getIsUnsigned())))
    return failure();
  return verifyQuantParams(*this, in, getScale().getType(), getZeroPoint(),
                           in.getElementType(), getAxis(), getBlockSize(),
                           getBlockShape());
}

LogicalResult QuantizeOp::verify() {
  auto in = getInput().getType();
  if (getType().getShape() != in.getShape())
    return emitOpError("result must have the input's shape");
  if (failed(verifyStorageType(*this, getType().getElementType(),
                               getIsUnsigned())))
    return failure();
  return verifyQuantParams(*this, in, getScale().getType(), getZeroPoint(),
                           getType().getElementType(), getAxis(),
                           getBlockSize(), getBlockShape());
}

LogicalResult QLinearOp::verify() {
  RankedTensorType in = getInput().getType(), w = getWeight().getType();
  if (in.getRank() < 1)
    return emitOpError("input must have rank 1 or more");
  if (w.getRank() != 2)
    return emitOpError("weight must be [N, K], got rank ") << w.getRank();
  int64_t n = w.getDimSize(0), k = w.getDimSize(1);
  if (in.getShape().back() != k)
    return emitOpError("input's last dimension (")
           << in.getShape().back() << ") must equal the weight's K (" << k
           << ")";
  ArrayRef<int64_t> block = getBlockShape();
  if (block.size() != 2 || block[0] < 1 || block[1] < 1)
    return emitOpError("block_shape must be two positive sizes [bn, bk]");
  RankedTensorType scale = getScale().getType();
  int64_t wantN = (n + block[0] - 1) / block[0],
          wantK = (k + block[1] - 1) / block[1];
  if (scale.getRank() != 2 || scale.getDimSize(0) != wantN ||
      scale.getDimSize(1) != wantK)
    return emitOpError("scale must be [ceil(N / bn), ceil(K / bk)] = [")
           << wantN << ", " << wantK << "], got " << scale;
  if (failed(verifyStorageType(*this, w.getElementType(), getIsUnsigned())))
    return failure();
  if (Value zp = getZeroPoint()) {
    auto zt = cast<RankedTensorType>(zp.getType());
    if (zt.getShape() != scale.getShape() ||
        zt.getElementType() != w.getElementType())
      return emitOpError("zero_point must have the scale's shape and the "
                         "weight's element type");
  }
  if (Value g = getGlobalScale()) {
    auto gt = cast<RankedTensorType>(g.getType());
    if (gt.getNumElements() != 1 || gt.getRank() > 1 ||
        !gt.getElementType().isF32())
      return emitOpError("global_scale must be an f32 tensor of shape [] or "
                         "[1]");
  }
  if (Value bias = getBias()) {
    auto bt = cast<RankedTensorType>(bias.getType());
    if (bt.getRank() != 1 || bt.getDimSize(0) != n)
      return emitOpError("bias must be [N] = [") << n << "]";
    if (bt.getElementType() != in.getElementType())
      return emitOpError("bias must have the input's element type ")
             << in.getElementType();
  }
  SmallVector<int64_t> want(in.getShape());
  want.back() = n;
  if (getType().getShape() != ArrayRef<int64_t>(want) ||
      getType().getElementType() != in.getElementType())
    return emitOpError("result must be the input's shape with K replaced by "
                       "N, in the input's element type");
  return success();
}
