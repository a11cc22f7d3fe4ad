//===- OnnxIndexingOps.cpp - TopK, gathers, scatters, OneHot, NonZero -----===//

#include "NodeContext.h"
#include "RuntimeParameters.h"
#include "ShapeArithmetic.h"

#include "mlir/IR/Matchers.h"

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

/// NonZero's output [rank, count] has a column per nonzero input element,
/// so its shape depends on the data. Kiln takes NonZero only of a
/// compile-time constant, and the result is a constant.
/// torch.where(mask) and nonzero() export NonZero of computed masks, e.g.
/// Hugging Face's sparse MoE dispatch loop; kiln-raise-moe raises the dense
/// form of that block instead.
LogicalResult nonZeroOp(NodeContext &nc, Value x) {
  DenseElementsAttr attr;
  if (!matchPattern(x, m_Constant(&attr)))
    return nc.error(
        "the input (input 0) must be a constant: the number of its nonzero "
        "elements is the output's shape, and Kiln takes NonZero only of a "
        "constant (torch.where(mask) and nonzero() export NonZero, e.g. in "
        "Hugging Face's sparse MoE dispatch; export the MoE in dense form)");
  RankedTensorType t = nc.typeOf(x);
  if (t.getRank() == 0)
    return nc.error("a scalar input is not supported");
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

} // namespace

void kiln::onnx_import::registerIndexingHandlers(HandlerTable &t) {
#define ONNX_INDEXING_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
