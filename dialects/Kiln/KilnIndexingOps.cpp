//===- KilnIndexingOps.cpp - Verifiers of top-k, gathers, scatters --------===//

#include "kiln/dialects/Kiln/KilnOps.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace kiln;

static LogicalResult checkAxis(Operation *op, int64_t axis, int64_t rank) {
  if (axis < 0 || axis >= rank)
    return op->emitOpError("axis ") << axis << " is out of range for rank "
                                    << rank << " (expected 0 <= axis < "
                                    << rank << ")";
  return success();
}

LogicalResult TopKOp::verify() {
  RankedTensorType in = getInput().getType();
  int64_t axis = getAxis(), k = getK();
  if (failed(checkAxis(*this, axis, in.getRank())))
    return failure();
  if (k < 0 || k > in.getDimSize(axis))
    return emitOpError("k = ") << k << " must lie in [0, "
                               << in.getDimSize(axis) << "]";
  SmallVector<int64_t> shape(in.getShape());
  shape[axis] = k;
  if (getValues().getType().getShape() != ArrayRef<int64_t>(shape) ||
      getIndices().getType().getShape() != ArrayRef<int64_t>(shape))
    return emitOpError("values and indices must be ") << shapeString(shape);
  if (getValues().getType().getElementType() != in.getElementType())
    return emitOpError("values must have the input's element type");
  return success();
}

LogicalResult GatherElementsOp::verify() {
  auto data = getData().getType(), idx = getIndices().getType();
  if (failed(checkAxis(*this, getAxis(), data.getRank())))
    return failure();
  if (idx.getRank() != data.getRank())
    return emitOpError("indices must have the data's rank ")
           << data.getRank() << ", got " << idx.getRank();
  if (getType().getShape() != idx.getShape())
    return emitOpError("result shape must equal the indices' shape ")
           << shapeString(idx.getShape());
  for (int64_t d = 0; d < data.getRank(); ++d)
    if (d != (int64_t)getAxis() && idx.getDimSize(d) > data.getDimSize(d))
      return emitOpError("indices are larger than the data in dimension ")
             << d << " (" << idx.getDimSize(d) << " > " << data.getDimSize(d)
             << ")";
  if (getType().getElementType() != data.getElementType())
    return emitOpError("result must have the data's element type");
  return success();
}

LogicalResult GatherNDOp::verify() {
  auto data = getData().getType(), idx = getIndices().getType();
  int64_t b = getBatchDims();
  if (idx.getRank() < 1)
    return emitOpError("indices must have rank 1 or more");
  int64_t q = idx.getDimSize(idx.getRank() - 1);
  if (b < 0 || b >= idx.getRank() || b + q > data.getRank() || q < 1)
    return emitOpError("batch_dims = ")
           << b << " and index tuples of " << q
           << " entries do not fit data of rank " << data.getRank()
           << " and indices of rank " << idx.getRank();
  for (int64_t d = 0; d < b; ++d)
    if (idx.getDimSize(d) != data.getDimSize(d))
      return emitOpError("batch dimension ") << d << " differs";
  SmallVector<int64_t> shape(idx.getShape().drop_back());
  shape.append(data.getShape().begin() + b + q, data.getShape().end());
  if (getType().getShape() != ArrayRef<int64_t>(shape) ||
      getType().getElementType() != data.getElementType())
    return emitOpError("result must be ") << shapeString(shape)
                                          << " of the data's element type";
  return success();
}

LogicalResult ScatterElementsOp::verify() {
  auto data = getData().getType(), idx = getIndices().getType(),
       upd = getUpdates().getType();
  if (failed(checkAxis(*this, getAxis(), data.getRank())))
    return failure();
  if (idx.getShape() != upd.getShape())
    return emitOpError("indices ") << shapeString(idx.getShape())
                                   << " and updates "
                                   << shapeString(upd.getShape())
                                   << " must have one shape";
  if (idx.getRank() != data.getRank())
    return emitOpError("indices must have the data's rank");
  for (int64_t d = 0; d < data.getRank(); ++d)
    if (d != (int64_t)getAxis() && idx.getDimSize(d) > data.getDimSize(d))
      return emitOpError("updates are larger than the data in dimension ")
             << d << " (" << idx.getDimSize(d) << " > " << data.getDimSize(d)
             << ")";
  if (upd.getElementType() != data.getElementType())
    return emitOpError("updates must have the data's element type");
  return success();
}

LogicalResult ScatterNDOp::verify() {
  auto data = getData().getType(), idx = getIndices().getType(),
       upd = getUpdates().getType();
  if (idx.getRank() < 1)
    return emitOpError("indices must have rank 1 or more");
  int64_t q = idx.getDimSize(idx.getRank() - 1);
  if (q < 1 || q > data.getRank())
    return emitOpError("index tuples have ")
           << q << " entries but the data has rank " << data.getRank();
  SmallVector<int64_t> expected(idx.getShape().drop_back());
  expected.append(data.getShape().begin() + q, data.getShape().end());
  if (upd.getShape() != ArrayRef<int64_t>(expected))
    return emitOpError("updates must be ") << shapeString(expected) << ", got "
                                           << shapeString(upd.getShape());
  if (upd.getElementType() != data.getElementType())
    return emitOpError("updates must have the data's element type");
  return success();
}

LogicalResult OneHotOp::verify() {
  auto idx = getIndices().getType();
  int64_t axis = getAxis(), depth = getDepth();
  if (failed(checkAxis(*this, axis, idx.getRank() + 1)))
    return failure();
  if (depth < 1)
    return emitOpError("depth must be positive, got ") << depth;
  SmallVector<int64_t> shape(idx.getShape());
  shape.insert(shape.begin() + axis, depth);
  if (getType().getShape() != ArrayRef<int64_t>(shape))
    return emitOpError("result shape must be ") << shapeString(shape);
  return success();
}
