//===- OnnxIndexingOps.cpp - TopK, gathers, scatters, NonZero, Unique, NMS ===//

#include "DeclaredTypes.h"
#include "NodeContext.h"
#include "RuntimeParameters.h"
#include "ShapeArithmetic.h"

#include "kiln/dialects/Kiln/KilnBoundedOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

#include <limits>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

LogicalResult topKOp(NodeContext &nc, Value x) {
  RankedTensorType t = nc.typeOf(x);
  FailureOr<int64_t> axis = nc.normalizeAxis(nc.getInt("axis", -1), t.getRank());
  if (failed(axis))
    return failure();
  if (nc.opset >= 10 && isRuntimeInput(nc, 1))
    return runtimeTopKOp(nc, x, *axis);
  int64_t k;
  if (nc.opset < 10) {
    k = nc.getInt("k", -1);
  } else {
    FailureOr<int64_t> kv = nc.constantInt(1, "K");
    if (failed(kv))
      return failure();
    k = *kv;
  }
  if (k < 0 || k > t.getDimSize(*axis))
    return nc.error("K = " + Twine(k) + " is outside [0, " +
                    Twine(t.getDimSize(*axis)) + "]");
  SmallVector<int64_t> shape(t.getShape());
  shape[*axis] = k;
  // sorted = 0 allows any order; Kiln always returns sorted results.
  auto op = TopKOp::create(nc.b, nc.loc, t.clone(shape),
                           t.clone(shape).clone(nc.b.getI64Type()), x,
                           nc.b.getI64IntegerAttr(*axis),
                           nc.b.getI64IntegerAttr(k),
                           nc.b.getBoolAttr(nc.getInt("largest", 1) != 0));
  return nc.setResults({op.getValues(), op.getIndices()});
}

LogicalResult gatherElementsOp(NodeContext &nc) {
  Value data = nc.input(0), indices = nc.input(1);
  if (!data || !indices)
    return nc.error("expects data and indices");
  RankedTensorType dt = nc.typeOf(data), it = nc.typeOf(indices);
  if (it.getRank() != dt.getRank())
    return nc.error("indices must have the data's rank");
  FailureOr<int64_t> axis = nc.normalizeAxis(nc.getInt("axis", 0), dt.getRank());
  if (failed(axis))
    return failure();
  return nc.setResult(
      GatherElementsOp::create(nc.b, nc.loc, it.clone(dt.getElementType()),
                               data, indices, nc.b.getI64IntegerAttr(*axis)));
}

/// ReverseSequence: along time_axis, the first sequence_lens[b] steps of
/// each batch entry b reversed, the rest kept. A kiln.gather_elements
/// along the time axis from the step each element comes from:
/// lens[b] - 1 - t where t < lens[b], else t.
LogicalResult reverseSequenceOp(NodeContext &nc) {
  Value x = nc.input(0), lens = nc.input(1);
  if (!x || !lens)
    return nc.error("expects input and sequence_lens");
  RankedTensorType t = nc.typeOf(x), lt = nc.typeOf(lens);
  if (t.getRank() < 2 || !t.hasStaticShape())
    return nc.error("expects an input of rank 2 or more and static shape");
  int64_t timeAxis = nc.getInt("time_axis", 0);
  int64_t batchAxis = nc.getInt("batch_axis", 1);
  if (!((timeAxis == 0 && batchAxis == 1) || (timeAxis == 1 && batchAxis == 0)))
    return nc.error("time_axis and batch_axis must be 0 and 1 (either "
                    "way round)");
  int64_t steps = t.getDimSize(timeAxis), batch = t.getDimSize(batchAxis);
  if (lt.getRank() != 1 || lt.getDimSize(0) != batch ||
      !lt.getElementType().isInteger(64))
    return nc.error("expects int64 sequence_lens [" + Twine(batch) + "]");
  SmallVector<int64_t> timeShape(t.getRank(), 1), batchShape(t.getRank(), 1);
  timeShape[timeAxis] = steps;
  batchShape[batchAxis] = batch;
  Value time = nc.i64Constant(llvm::to_vector(llvm::seq<int64_t>(0, steps)),
                              timeShape);
  Value length = nc.reshape(lens, batchShape);
  Value reversed = nc.binary<SubOp>(
      nc.binary<SubOp>(length, nc.i64Constant({1}, {})), time);
  Value inside = nc.compare(CompareDirection::LT, time, length);
  RankedTensorType indexType = t.clone(nc.b.getI64Type());
  Value source = nc.b.createOrFold<SelectOp>(
      nc.loc, nc.broadcastType(reversed, time, indexType), inside, reversed,
      time);
  source = nc.b.createOrFold<BroadcastOp>(nc.loc, indexType, source);
  return nc.setResult(GatherElementsOp::create(
      nc.b, nc.loc, t, x, source, nc.b.getI64IntegerAttr(timeAxis)));
}

LogicalResult gatherNDOp(NodeContext &nc) {
  Value data = nc.input(0), indices = nc.input(1);
  if (!data || !indices)
    return nc.error("expects data and indices");
  RankedTensorType dt = nc.typeOf(data), it = nc.typeOf(indices);
  int64_t b = nc.getInt("batch_dims", 0);
  if (it.getRank() < 1)
    return nc.error("indices must have rank 1 or more");
  int64_t q = it.getDimSize(it.getRank() - 1);
  if (b < 0 || b >= it.getRank() || q < 1 || b + q > dt.getRank())
    return nc.error("batch_dims " + Twine(b) + " and index tuples of " +
                    Twine(q) + " do not fit the data's rank " +
                    Twine(dt.getRank()));
  SmallVector<int64_t> shape(it.getShape().drop_back());
  shape.append(dt.getShape().begin() + b + q, dt.getShape().end());
  return nc.setResult(GatherNDOp::create(nc.b, nc.loc, dt.clone(shape), data,
                                         indices, nc.b.getI64IntegerAttr(b)));
}

FailureOr<ScatterReduction> reductionOf(NodeContext &nc) {
  return nc.getChoice<ScatterReduction>("reduction", "none",
                                        {{"none", ScatterReduction::None},
                                         {"add", ScatterReduction::Add},
                                         {"mul", ScatterReduction::Mul},
                                         {"max", ScatterReduction::Max},
                                         {"min", ScatterReduction::Min}});
}

LogicalResult scatterElementsOp(NodeContext &nc) {
  Value data = nc.input(0), indices = nc.input(1), updates = nc.input(2);
  if (!data || !indices || !updates)
    return nc.error("expects data, indices and updates");
  RankedTensorType dt = nc.typeOf(data);
  FailureOr<int64_t> axis = nc.normalizeAxis(nc.getInt("axis", 0), dt.getRank());
  FailureOr<ScatterReduction> r = reductionOf(nc);
  if (failed(axis) || failed(r))
    return failure();
  if (nc.typeOf(indices).getShape() != nc.typeOf(updates).getShape() ||
      nc.typeOf(indices).getRank() != dt.getRank())
    return nc.error("indices and updates must share a shape of the data's "
                    "rank");
  return nc.setResult(ScatterElementsOp::create(
      nc.b, nc.loc, dt, data, indices, updates, nc.b.getI64IntegerAttr(*axis),
      ScatterReductionAttr::get(nc.b.getContext(), *r)));
}

LogicalResult scatterNDOp(NodeContext &nc) {
  Value data = nc.input(0), indices = nc.input(1), updates = nc.input(2);
  if (!data || !indices || !updates)
    return nc.error("expects data, indices and updates");
  FailureOr<ScatterReduction> r = reductionOf(nc);
  if (failed(r))
    return failure();
  return nc.setResult(
      ScatterNDOp::create(nc.b, nc.loc, nc.typeOf(data), data, indices, updates,
                          ScatterReductionAttr::get(nc.b.getContext(), *r)));
}

LogicalResult oneHotOp(NodeContext &nc) {
  Value indices = nc.input(0);
  if (!indices)
    return nc.error("expects indices");
  if (isRuntimeInput(nc, 1) || isRuntimeInput(nc, 2))
    return runtimeOneHotOp(nc);
  FailureOr<DenseElementsAttr> depthAttr = nc.constantInput(1, "depth");
  FailureOr<DenseElementsAttr> values = nc.constantInput(2, "values");
  if (failed(depthAttr) || failed(values))
    return failure();
  if (depthAttr->getNumElements() != 1 || values->getNumElements() != 2)
    return nc.error("depth must hold one value and values two (off, on)");
  auto asDouble = [](DenseElementsAttr a, int64_t i) -> double {
    if (isa<FloatType>(a.getElementType()))
      return (*(a.getValues<APFloat>().begin() + i)).convertToDouble();
    return (double)(*(a.getValues<APInt>().begin() + i)).getSExtValue();
  };
  int64_t depth = (int64_t)asDouble(*depthAttr, 0);
  if (depth < 1)
    return nc.error("depth must be positive, got " + Twine(depth));
  RankedTensorType it = nc.typeOf(indices);
  // ONNX allows any numeric index type; Kiln indexes with int64.
  if (!it.getElementType().isInteger(32) && !it.getElementType().isInteger(64))
    indices = nc.cast(indices, nc.b.getI64Type());
  FailureOr<int64_t> axis =
      nc.normalizeAxis(nc.getInt("axis", -1), it.getRank() + 1);
  if (failed(axis))
    return failure();
  SmallVector<int64_t> shape(it.getShape());
  shape.insert(shape.begin() + *axis, depth);
  auto type = RankedTensorType::get(shape, values->getElementType());
  return nc.setResult(OneHotOp::create(
      nc.b, nc.loc, type, indices, nc.b.getI64IntegerAttr(*axis),
      nc.b.getI64IntegerAttr(depth), nc.b.getF64FloatAttr(asDouble(*values, 0)),
      nc.b.getF64FloatAttr(asDouble(*values, 1))));
}

/// Hardmax: 1 at the first maximum along `axis`, 0 elsewhere, as
/// one_hot(argmax).
LogicalResult hardmaxOp(NodeContext &nc, Value x) {
  if (nc.opset < 13)
    return nc.error("Hardmax before opset 13 (2-D coercion) is not supported");
  RankedTensorType t = nc.typeOf(x);
  FailureOr<int64_t> axis = nc.normalizeAxis(nc.getInt("axis", -1), t.getRank());
  if (failed(axis))
    return failure();
  SmallVector<int64_t> reduced(t.getShape());
  reduced.erase(reduced.begin() + *axis);
  Value idx = ArgMaxOp::create(
      nc.b, nc.loc, RankedTensorType::get(reduced, nc.b.getI64Type()), x,
      nc.b.getI64IntegerAttr(*axis), nc.b.getBoolAttr(false),
      nc.b.getBoolAttr(false));
  return nc.setResult(
      OneHotOp::create(nc.b, nc.loc, t, idx, nc.b.getI64IntegerAttr(*axis),
                       nc.b.getI64IntegerAttr(t.getDimSize(*axis)),
                       nc.b.getF64FloatAttr(0.0), nc.b.getF64FloatAttr(1.0)));
}

/// How many of the `bound` results of an op of data-dependent size output
/// `output` keeps along its dim `dim`: `count`, a dynamic dim that the
/// runtime sizes after the run; or, on a target without run-time sizes
/// (CUDA), the length the graph declares for that output (checkBoundable
/// made sure it does): the model states how many results its data gives.
FailureOr<OpFoldResult> boundedLength(NodeContext &nc, Value count,
                                      int64_t bound, size_t output,
                                      int64_t dim) {
  // An output the node does not have is never read: any length will do.
  if (nc.symbolicDims || !nc.hasOutput(output))
    return OpFoldResult(count);
  RankedTensorType declared = declaredOutputType(nc, output);
  int64_t n = declared && dim < declared.getRank() ? declared.getDimSize(dim)
                                                   : ShapedType::kDynamic;
  if (ShapedType::isDynamic(n))
    return nc.error("output " + Twine(output) +
                    " must be declared with a static size along axis " +
                    Twine(dim) + " (only the CPU target sizes it at run time)");
  if (n > bound)
    return nc.error("output " + Twine(output) + " is declared " + Twine(n) +
                    " long along axis " + Twine(dim) +
                    ", more than the data can give (" + Twine(bound) + ")");
  return OpFoldResult(nc.b.getIndexAttr(n));
}

/// The first `count` entries along `dim` of `buffer`, a bounded result of
/// the ops of data-dependent size (kiln.nonzero and the like), as output
/// `output` of the node (see boundedLength).
Value boundedPrefix(NodeContext &nc, Value buffer, int64_t dim, Value count,
                    size_t output) {
  RankedTensorType t = nc.typeOf(buffer);
  FailureOr<OpFoldResult> length =
      boundedLength(nc, count, t.getDimSize(dim), output, dim);
  if (failed(length))
    return nullptr;
  SmallVector<OpFoldResult> offsets(t.getRank(), nc.b.getIndexAttr(0)),
      sizes = tensor::getMixedSizes(nc.b, nc.loc, buffer),
      strides(t.getRank(), nc.b.getIndexAttr(1));
  sizes[dim] = *length;
  return tensor::ExtractSliceOp::create(nc.b, nc.loc, buffer, offsets, sizes,
                                        strides);
}

/// Fails with the error for an input whose data decides the size of the
/// node's `outputs` when the graph does not declare their static types on
/// a target that needs sizes at compile time (CUDA), or for an input of
/// dynamic shape (the bound of the result would be dynamic too) unless the
/// op takes a `dynamicBound`, one the run allocates (NonZero on the CPU).
LogicalResult checkBoundable(NodeContext &nc, Value v, StringRef what,
                             ArrayRef<size_t> outputs = {0},
                             bool dynamicBound = false) {
  if (!nc.symbolicDims && llvm::any_of(outputs, [&](size_t i) {
        return nc.hasOutput(i) && !declaredOutputType(nc, i);
      }))
    return nc.error("the output's size depends on the data of " + what +
                    ": the CPU target sizes it at run time, other targets "
                    "need the output's static shape declared in the model "
                    "(value_info or the graph output)");
  if ((!dynamicBound || !nc.symbolicDims) && !nc.typeOf(v).hasStaticShape())
    return nc.error(what + " must have a static shape (the output's "
                           "bound follows from it)");
  return success();
}

/// NonZero of a constant is a constant.
LogicalResult constantNonZero(NodeContext &nc, DenseElementsAttr attr) {
  RankedTensorType t = nc.typeOf(nc.input(0));
  SmallVector<bool> nonzero;
  if (isa<FloatType>(t.getElementType())) {
    for (APFloat v : attr.getValues<APFloat>())
      nonzero.push_back(!v.isZero());
  } else if (isa<IntegerType>(t.getElementType())) {
    for (APInt v : attr.getValues<APInt>())
      nonzero.push_back(!v.isZero());
  } else {
    return nc.error("expects a numeric or bool input");
  }
  int64_t rank = t.getRank(), count = llvm::count(nonzero, true);
  // Row d holds the d-th coordinate of each nonzero element, row-major.
  SmallVector<int64_t> coords(rank * count);
  ArrayRef<int64_t> shape = t.getShape();
  for (int64_t i = 0, col = 0; i < (int64_t)nonzero.size(); ++i) {
    if (!nonzero[i])
      continue;
    for (int64_t d = rank - 1, rest = i; d >= 0; --d) {
      coords[d * count + col] = rest % shape[d];
      rest /= shape[d];
    }
    ++col;
  }
  auto type = RankedTensorType::get({rank, count}, nc.b.getI64Type());
  return nc.setResult(
      nc.constant(DenseElementsAttr::get(type, ArrayRef(coords))));
}

/// NonZero's output [rank, count] has a column per nonzero input element,
/// so its size depends on the data: a constant for a constant input, else
/// kiln.nonzero into [rank, elements] and its first `count` columns.
/// torch.where(mask) and nonzero() export NonZero of computed masks, e.g.
/// Hugging Face's sparse MoE dispatch loop; kiln-raise-moe raises the dense
/// form of that block instead.
LogicalResult nonZeroOp(NodeContext &nc, Value x) {
  RankedTensorType t = nc.typeOf(x);
  if (t.getRank() == 0)
    return nc.error("a scalar input is not supported");
  DenseElementsAttr attr;
  if (matchPattern(x, m_Constant(&attr)))
    return constantNonZero(nc, attr);
  // (With symbolic dims the bound, the element count, is the run's.)
  if (failed(checkBoundable(nc, x, "the input (input 0)", {0},
                            /*dynamicBound=*/true)))
    return failure();
  int64_t elements =
      t.hasStaticShape() ? t.getNumElements() : ShapedType::kDynamic;
  auto op = NonZeroOp::create(
      nc.b, nc.loc,
      RankedTensorType::get({t.getRank(), elements}, nc.b.getI64Type()),
      nc.b.getIndexType(), x);
  return nc.setResult(
      boundedPrefix(nc, op.getCoordinates(), 1, op.getCount(), 0));
}

/// Compress: the slices along `axis` (the elements of the flattened input
/// without one) where the condition holds, i.e. a Gather at the condition's
/// nonzero positions. The condition may be shorter than the axis; the
/// slices past it are dropped.
LogicalResult compressOp(NodeContext &nc, Value x) {
  Value cond = nc.input(1);
  if (!cond)
    return nc.error("expects a condition (input 1)");
  RankedTensorType t = nc.typeOf(x), ct = nc.typeOf(cond);
  if (ct.getRank() != 1)
    return nc.error("the condition (input 1) must be 1-D");
  int64_t axis = 0;
  if (nc.attr("axis")) {
    FailureOr<int64_t> a = nc.normalizeAxis(nc.getInt("axis", 0), t.getRank());
    if (failed(a))
      return failure();
    axis = *a;
  } else {
    if (!t.hasStaticShape())
      return nc.error("expects an input of static shape without an axis");
    x = nc.reshape(x, {t.getNumElements()});
    t = nc.typeOf(x);
  }
  if (failed(checkBoundable(nc, cond, "the condition (input 1)")))
    return failure();
  if (!ShapedType::isDynamic(t.getDimSize(axis)) &&
      ct.getDimSize(0) > t.getDimSize(axis))
    return nc.error("the condition (" + Twine(ct.getDimSize(0)) +
                    " entries) is longer than the input along the axis (" +
                    Twine(t.getDimSize(axis)) + ")");
  auto nz = NonZeroOp::create(
      nc.b, nc.loc,
      RankedTensorType::get({1, ct.getDimSize(0)}, nc.b.getI64Type()),
      nc.b.getIndexType(), cond);
  FailureOr<OpFoldResult> length =
      boundedLength(nc, nz.getCount(), ct.getDimSize(0), 0, axis);
  if (failed(length))
    return failure();
  std::optional<int64_t> n = getConstantIntValue(*length);
  auto idxType = RankedTensorType::get({n.value_or(ShapedType::kDynamic)},
                                       nc.b.getI64Type());
  OpFoldResult zero = nc.b.getIndexAttr(0), one = nc.b.getIndexAttr(1);
  Value indices =
      tensor::ExtractSliceOp::create(nc.b, nc.loc, idxType, nz.getCoordinates(),
                                     {zero, zero}, {one, *length}, {one, one});
  SmallVector<int64_t> shape(t.getShape());
  shape[axis] = idxType.getDimSize(0);
  return nc.setResult(GatherOp::create(nc.b, nc.loc, t.clone(shape), x, indices,
                                       nc.b.getI64IntegerAttr(axis)));
}

/// `x` with a unit dim before and after its own ([1, d0, ..., 1]), then
/// its dims grouped as [outer, m, inner]: those before `axis`, the one at
/// it, those after. Works with dynamic dims (tensor reshapes only group).
Value itemsOf(NodeContext &nc, Value x, int64_t axis) {
  RankedTensorType t = nc.typeOf(x);
  int64_t rank = t.getRank();
  SmallVector<int64_t> padded{1};
  padded.append(t.getShape().begin(), t.getShape().end());
  padded.push_back(1);
  SmallVector<ReassociationIndices> wrap;
  for (int64_t d = 0; d < rank; ++d)
    wrap.push_back({d + 1});
  wrap.front().insert(wrap.front().begin(), 0);
  wrap.back().push_back(rank + 1);
  SmallVector<OpFoldResult> sizes{nc.b.getIndexAttr(1)};
  for (OpFoldResult s : tensor::getMixedSizes(nc.b, nc.loc, x))
    sizes.push_back(s);
  sizes.push_back(nc.b.getIndexAttr(1));
  Value wrapped = tensor::ExpandShapeOp::create(nc.b, nc.loc, t.clone(padded),
                                                x, wrap, sizes);
  SmallVector<ReassociationIndices> groups(3);
  for (int64_t d = 0; d <= axis; ++d)
    groups[0].push_back(d);
  groups[1].push_back(axis + 1);
  for (int64_t d = axis + 2; d < rank + 2; ++d)
    groups[2].push_back(d);
  return tensor::CollapseShapeOp::create(nc.b, nc.loc, wrapped, groups);
}

/// The inverse of itemsOf: `items` [outer, m, inner] back to `like`'s
/// shape (the same dims, `like` giving the dynamic ones).
Value itemsBack(NodeContext &nc, Value items, Value like, int64_t axis) {
  RankedTensorType t = nc.typeOf(like);
  int64_t rank = t.getRank();
  SmallVector<int64_t> padded{1};
  padded.append(t.getShape().begin(), t.getShape().end());
  padded.push_back(1);
  SmallVector<ReassociationIndices> groups(3);
  for (int64_t d = 0; d <= axis; ++d)
    groups[0].push_back(d);
  groups[1].push_back(axis + 1);
  for (int64_t d = axis + 2; d < rank + 2; ++d)
    groups[2].push_back(d);
  SmallVector<OpFoldResult> sizes{nc.b.getIndexAttr(1)};
  for (OpFoldResult s : tensor::getMixedSizes(nc.b, nc.loc, like))
    sizes.push_back(s);
  sizes.push_back(nc.b.getIndexAttr(1));
  Value wrapped = tensor::ExpandShapeOp::create(nc.b, nc.loc, t.clone(padded),
                                                items, groups, sizes);
  SmallVector<ReassociationIndices> unwrap;
  for (int64_t d = 0; d < rank; ++d)
    unwrap.push_back({d + 1});
  unwrap.front().insert(unwrap.front().begin(), 0);
  unwrap.back().push_back(rank + 1);
  return tensor::CollapseShapeOp::create(nc.b, nc.loc, wrapped, unwrap);
}

/// Unique of a static input: kiln.unique on it reshaped to [outer, m,
/// inner], its results cut to the number of distinct items.
LogicalResult staticUnique(NodeContext &nc, Value x, bool hasAxis,
                           int64_t axis) {
  RankedTensorType t = nc.typeOf(x);
  int64_t outer = 1, m = t.getNumElements(), inner = 1;
  SmallVector<int64_t> shape{m};
  if (hasAxis) {
    shape.assign(t.getShape().begin(), t.getShape().end());
    for (int64_t d = 0; d < axis; ++d)
      outer *= shape[d];
    m = shape[axis];
    inner = t.getNumElements() / std::max<int64_t>(outer * m, 1);
  } else {
    axis = 0;
  }
  auto items = RankedTensorType::get({m}, nc.b.getI64Type());
  auto op = UniqueOp::create(nc.b, nc.loc, t.clone({outer, m, inner}), items,
                             items, items, nc.b.getIndexType(),
                             nc.reshape(x, {outer, m, inner}),
                             nc.b.getBoolAttr(nc.getInt("sorted", 1) != 0));
  Value count = op.getCount();
  return nc.setResults(
      {boundedPrefix(nc, nc.reshape(op.getValues(), shape), axis, count, 0),
       boundedPrefix(nc, op.getIndices(), 0, count, 1), op.getInverseIndices(),
       boundedPrefix(nc, op.getCounts(), 0, count, 3)});
}

/// Unique: kiln.unique on the input as [outer, m, inner] (the items are
/// the slices along the axis, or the elements without one), its values
/// shaped back and every result cut to the number of distinct items. With
/// symbolic dims the items are the run's: the buffers are sized then.
LogicalResult uniqueOp(NodeContext &nc, Value x) {
  RankedTensorType t = nc.typeOf(x);
  if (failed(checkBoundable(nc, x, "the input (input 0)", {0, 1, 3},
                            /*dynamicBound=*/true)))
    return failure();
  int64_t axis = 0;
  bool hasAxis = bool(nc.attr("axis"));
  if (hasAxis) {
    FailureOr<int64_t> a = nc.normalizeAxis(nc.getInt("axis", 0), t.getRank());
    if (failed(a))
      return failure();
    axis = *a;
  }
  bool noItems =
      hasAxis ? t.getDimSize(axis) == 0 : llvm::is_contained(t.getShape(), 0);
  if (noItems)
    return nc.error("an input with no items is not supported");
  if (t.hasStaticShape())
    return staticUnique(nc, x, hasAxis, axis);
  // Without an axis the items are the elements, in row-major order.
  Value in = x;
  if (!hasAxis && t.getRank() > 1) {
    SmallVector<ReassociationIndices> all(1);
    for (int64_t d = 0; d < t.getRank(); ++d)
      all[0].push_back(d);
    in = tensor::CollapseShapeOp::create(nc.b, nc.loc, x, all);
  }
  Value items = itemsOf(nc, in, axis);
  RankedTensorType it = nc.typeOf(items);
  auto itemType = RankedTensorType::get({it.getDimSize(1)}, nc.b.getI64Type());
  auto op = UniqueOp::create(nc.b, nc.loc, it, itemType, itemType, itemType,
                             nc.b.getIndexType(), items,
                             nc.b.getBoolAttr(nc.getInt("sorted", 1) != 0));
  Value count = op.getCount();
  Value values = itemsBack(nc, op.getValues(), in, axis);
  return nc.setResults({boundedPrefix(nc, values, axis, count, 0),
                        boundedPrefix(nc, op.getIndices(), 0, count, 1),
                        op.getInverseIndices(),
                        boundedPrefix(nc, op.getCounts(), 0, count, 3)});
}

/// Element 0 of input `i` (a scalar or a one-element tensor) as a scalar,
/// or `absent` when the input is missing; null after an error.
Value scalarInput(NodeContext &nc, size_t i, StringRef what, Value absent) {
  Value v = nc.input(i);
  if (!v)
    return absent;
  RankedTensorType t = nc.typeOf(v);
  if (t.getRank() > 1 || !t.hasStaticShape() || t.getNumElements() != 1) {
    (void)nc.error(Twine(what) + " (input " + Twine(i) +
                   ") must be a scalar or hold one element");
    return nullptr;
  }
  SmallVector<Value> at(t.getRank(),
                        arith::ConstantIndexOp::create(nc.b, nc.loc, 0));
  return tensor::ExtractOp::create(nc.b, nc.loc, v, at);
}

/// NonMaxSuppression: kiln.non_max_suppression into [batches * classes *
/// boxes, 3] and its first `count` rows. The scalars may be constants or
/// run-time inputs; missing ones take ONNX's defaults (no output, threshold
/// 0, no score threshold).
LogicalResult nonMaxSuppressionOp(NodeContext &nc) {
  Value boxes = nc.input(0), scores = nc.input(1);
  if (!boxes || !scores)
    return nc.error("expects boxes and scores");
  // With symbolic dims the bound (batches * classes * boxes) is the run's.
  if (failed(checkBoundable(nc, boxes, "the boxes (input 0)", {0},
                            /*dynamicBound=*/true)) ||
      failed(checkBoundable(nc, scores, "the scores (input 1)", {0},
                            /*dynamicBound=*/true)))
    return failure();
  RankedTensorType bt = nc.typeOf(boxes), st = nc.typeOf(scores);
  if (!isa<FloatType>(bt.getElementType()) ||
      st.getElementType() != bt.getElementType())
    return nc.error("expects float boxes and scores of one type");
  if (bt.getRank() != 3 || bt.getDimSize(2) != 4 || st.getRank() != 3 ||
      st.getDimSize(0) != bt.getDimSize(0) ||
      st.getDimSize(2) != bt.getDimSize(1))
    return nc.error("expects boxes [batches, n, 4] and scores [batches, "
                    "classes, n]");
  OpBuilder &b = nc.b;
  Location loc = nc.loc;
  Value maxOut = scalarInput(nc, 2, "max_output_boxes_per_class",
                             arith::ConstantIntOp::create(b, loc, 0, 64));
  Value iou =
      scalarInput(nc, 3, "iou_threshold",
                  arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0)));
  // Without a score threshold every score counts, even -inf.
  Value noThreshold = arith::ConstantOp::create(
      b, loc, b.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
  Value scoreThr = scalarInput(nc, 4, "score_threshold", noThreshold);
  if (!maxOut || !iou || !scoreThr)
    return failure();
  if (!maxOut.getType().isInteger(64) || !iou.getType().isF32() ||
      !scoreThr.getType().isF32())
    return nc.error("expects an int64 max_output_boxes_per_class and float "
                    "thresholds");
  int64_t bound =
      st.hasStaticShape() ? st.getNumElements() : ShapedType::kDynamic;
  auto op = NonMaxSuppressionOp::create(
      b, loc, RankedTensorType::get({bound, 3}, b.getI64Type()),
      b.getIndexType(), boxes, scores,
      arith::IndexCastOp::create(b, loc, b.getIndexType(), maxOut), iou,
      scoreThr, b.getBoolAttr(nc.getInt("center_point_box", 0) != 0));
  return nc.setResult(boundedPrefix(nc, op.getSelected(), 0, op.getCount(), 0));
}

} // namespace

void kiln::onnx_import::registerIndexingHandlers(HandlerTable &t) {
#define ONNX_INDEXING_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
