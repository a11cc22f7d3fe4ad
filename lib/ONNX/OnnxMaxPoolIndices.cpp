//===- OnnxMaxPoolIndices.cpp - MaxPool's Indices output
//-------------------===//
//
// MaxPool's second output is, per output element, the flat index into X of
// the maximum its window read: the first one in the window's row-major
// order, as ONNX's reference takes it. kiln.pool computes only values, so
// the indices are computed here, unrolled over the kernel's offsets: each
// offset reads a strided slice of X padded with -inf, and a running
// maximum keeps the index of the first strictly greater value.
//
//===----------------------------------------------------------------------===//

#include "NodeContext.h"
#include "SharedBuilders.h"

#include <algorithm>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

/// `x` padded along axis `axis` with `before` and `after` copies of `fill`.
Value padAxis(NodeContext &nc, Value x, int64_t axis, int64_t before,
              int64_t after, Attribute fill) {
  RankedTensorType type = nc.typeOf(x);
  SmallVector<Value> pieces;
  auto block = [&](int64_t size) {
    SmallVector<int64_t> shape(type.getShape());
    shape[axis] = size;
    return nc.constant(DenseElementsAttr::get(type.clone(shape), fill));
  };
  if (before > 0)
    pieces.push_back(block(before));
  pieces.push_back(x);
  if (after > 0)
    pieces.push_back(block(after));
  if (pieces.size() == 1)
    return x;
  SmallVector<int64_t> shape(type.getShape());
  shape[axis] += std::max<int64_t>(before, 0) + std::max<int64_t>(after, 0);
  return ConcatOp::create(nc.b, nc.loc, type.clone(shape), pieces,
                          nc.b.getI64IntegerAttr(axis));
}

} // namespace

Value kiln::onnx_import::maxPoolIndices(NodeContext &nc, Value x,
                                        RankedTensorType outType,
                                        const PoolWindow &w, bool columnMajor) {
  RankedTensorType in = nc.typeOf(x);
  auto elt = dyn_cast<FloatType>(in.getElementType());
  if (!elt || !in.hasStaticShape()) {
    (void)nc.error("the Indices output of MaxPool needs float data of a "
                   "static shape");
    return {};
  }
  int64_t k = in.getRank() - 2;
  ArrayRef<int64_t> out = outType.getShape();
  // Pad so that every window of the output (ceil_mode included) is inside.
  Attribute lowest = FloatAttr::get(
      elt, APFloat::getInf(elt.getFloatSemantics(), /*Negative=*/true));
  Value padded = x;
  for (int64_t i = 0; i < k; ++i) {
    int64_t needed = (out[2 + i] - 1) * w.strides[i] +
                     (w.kernel[i] - 1) * w.dilations[i] + 1;
    padded = padAxis(nc, padded, 2 + i, w.pads[i],
                     needed - in.getDimSize(2 + i) - w.pads[i], lowest);
  }
  // The flat index of X's element (n, c, d...) is (n * C + c) * D + the
  // spatial offset, whose strides are row-major (or, with storage_order 1,
  // column-major over the spatial axes).
  int64_t spatial = 1;
  SmallVector<int64_t> spatialStrides(k);
  for (int64_t i = 0; i < k; ++i) {
    int64_t axis = columnMajor ? i : k - 1 - i;
    spatialStrides[axis] = spatial;
    spatial *= in.getDimSize(2 + axis);
  }
  int64_t planes = in.getDimSize(0) * in.getDimSize(1);
  SmallVector<int64_t> planeStarts;
  for (int64_t p = 0; p < planes; ++p)
    planeStarts.push_back(p * spatial);
  SmallVector<int64_t> planeShape{in.getDimSize(0), in.getDimSize(1)};
  planeShape.append(k, 1);
  Value planeBase = nc.i64Constant(planeStarts, planeShape);

  SmallVector<int64_t> outSpatial(out.begin() + 2, out.end());
  int64_t outCount = outType.getNumElements() / planes;
  Value best, bestIndex;
  SmallVector<int64_t> offset(k, 0);
  while (true) {
    // This kernel offset's element of every window, and its index in X.
    SmallVector<int64_t> starts(k + 2, 0), steps(k + 2, 1);
    for (int64_t i = 0; i < k; ++i) {
      starts[2 + i] = offset[i] * w.dilations[i];
      steps[2 + i] = w.strides[i];
    }
    Value value = nc.b.createOrFold<SliceOp>(nc.loc, outType, padded,
                                             nc.b.getDenseI64ArrayAttr(starts),
                                             nc.b.getDenseI64ArrayAttr(steps));
    SmallVector<int64_t> indices(outCount);
    for (int64_t e = 0; e < outCount; ++e) {
      int64_t rest = e, flat = 0;
      for (int64_t i = k - 1; i >= 0; --i) {
        int64_t o = rest % outSpatial[i];
        rest /= outSpatial[i];
        int64_t pos = o * w.strides[i] + starts[2 + i] - w.pads[i];
        flat += pos * spatialStrides[i];
      }
      indices[e] = flat;
    }
    SmallVector<int64_t> oneShape{1, 1};
    oneShape.append(outSpatial);
    Value index =
        nc.binary<AddOp>(planeBase, nc.i64Constant(indices, oneShape));
    if (!best) {
      best = value;
      bestIndex = index;
    } else {
      Value greater = nc.compare(CompareDirection::GT, value, best);
      best = select(nc, greater, value, best);
      bestIndex = select(nc, greater, index, bestIndex);
    }
    // The next offset, row-major.
    int64_t i = k - 1;
    while (i >= 0 && ++offset[i] == w.kernel[i])
      offset[i--] = 0;
    if (i < 0)
      break;
  }
  return bestIndex;
}
