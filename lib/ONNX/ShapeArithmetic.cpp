//===- ShapeArithmetic.cpp - Shape vectors computed from symbolic dims ----===//

#include "ShapeArithmetic.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

/// Shape tensors are short: a rank-8 shape is a lot. Longer integer
/// tensors are data, not shapes.
static constexpr int64_t kMaxShapeElements = 16;

std::optional<ShapeElements> kiln::onnx_import::shapeElements(Value v) {
  auto type = dyn_cast_or_null<RankedTensorType>(v ? v.getType() : Type());
  if (!type || type.getRank() > 1 || !type.hasStaticShape() ||
      !isa<IntegerType>(type.getElementType()) ||
      type.getNumElements() > kMaxShapeElements)
    return std::nullopt;
  ShapeElements elements;
  DenseElementsAttr constant;
  if (matchPattern(v, m_Constant(&constant))) {
    for (APInt e : constant.getValues<APInt>())
      elements.push_back(IntegerAttr::get(type.getElementType(), e));
    return elements;
  }
  auto fromElements = v.getDefiningOp<tensor::FromElementsOp>();
  if (!fromElements)
    return std::nullopt;
  for (Value e : fromElements.getElements()) {
    APInt c;
    if (matchPattern(e, m_ConstantInt(&c)))
      elements.push_back(IntegerAttr::get(type.getElementType(), c));
    else
      elements.push_back(e);
  }
  return elements;
}

FailureOr<ShapeElements>
kiln::onnx_import::requireShapeElements(NodeContext &nc, size_t i,
                                        StringRef what) {
  Value v = nc.input(i);
  if (std::optional<ShapeElements> elements = shapeElements(v))
    return *elements;
  RankedTensorType type = v ? nc.typeOf(v) : RankedTensorType();
  if (!type || type.getRank() > 1 || !type.hasStaticShape() ||
      !isa<IntegerType>(type.getElementType()))
    return nc.error(Twine(what) + " (input " + Twine(i) +
                    ") must be a 1-D integer tensor of static length");
  ShapeElements elements;
  for (int64_t k = 0; k < type.getNumElements(); ++k) {
    SmallVector<Value> index;
    if (type.getRank() == 1)
      index.push_back(arith::ConstantIndexOp::create(nc.b, nc.loc, k));
    elements.push_back(
        tensor::ExtractOp::create(nc.b, nc.loc, v, index).getResult());
  }
  return elements;
}

bool kiln::onnx_import::hasRuntimeElements(NodeContext &nc, size_t i) {
  std::optional<ShapeElements> e = shapeElements(nc.input(i));
  return e && llvm::any_of(*e, [](OpFoldResult f) { return isa<Value>(f); });
}

bool kiln::onnx_import::isRuntimeInput(NodeContext &nc, size_t i) {
  Value v = nc.input(i);
  if (!nc.symbolicDims || !v || matchPattern(v, m_Constant()))
    return false;
  return !shapeElements(v) || hasRuntimeElements(nc, i);
}

namespace {

/// Element-by-element evaluation of one node.
class ShapeEvaluator {
public:
  explicit ShapeEvaluator(NodeContext &nc) : nc(nc), b(nc.b), loc(nc.loc) {}

  std::optional<LogicalResult> run();

private:
  LogicalResult shape();
  LogicalResult size();
  LogicalResult gather(const ShapeElements &data);
  LogicalResult concat();
  LogicalResult slice(const ShapeElements &data);
  LogicalResult elementwise(StringRef op);
  LogicalResult where();

  /// The value of `e` as a scalar of `type`.
  Value scalar(OpFoldResult e, Type type);
  static std::optional<int64_t> constantOf(OpFoldResult e) {
    if (auto a = dyn_cast<Attribute>(e))
      return cast<IntegerAttr>(a).getValue().getSExtValue();
    return std::nullopt;
  }
  /// Sets output 0 to a tensor of `elements` (rank 0 when `scalarResult`).
  LogicalResult finish(const ShapeElements &elements, Type elt,
                       bool scalarResult = false);
  Value sizeValue(Value tensor, int64_t dim);

  NodeContext &nc;
  OpBuilder &b;
  Location loc;
};

} // namespace

Value ShapeEvaluator::scalar(OpFoldResult e, Type type) {
  if (std::optional<int64_t> c = constantOf(e))
    return arith::ConstantOp::create(b, loc, type,
                                     b.getIntegerAttr(type, *c));
  Value v = cast<Value>(e);
  unsigned from = v.getType().getIntOrFloatBitWidth(),
           to = type.getIntOrFloatBitWidth();
  if (from < to)
    return arith::ExtSIOp::create(b, loc, type, v);
  if (from > to)
    return arith::TruncIOp::create(b, loc, type, v);
  return v;
}

LogicalResult ShapeEvaluator::finish(const ShapeElements &elements, Type elt,
                                     bool scalarResult) {
  SmallVector<int64_t> shape;
  if (!scalarResult)
    shape.push_back((int64_t)elements.size());
  auto type = RankedTensorType::get(shape, elt);
  if (llvm::all_of(elements, [](OpFoldResult e) { return isa<Attribute>(e); })) {
    SmallVector<APInt> values;
    for (OpFoldResult e : elements)
      values.push_back(APInt(elt.getIntOrFloatBitWidth(),
                             *constantOf(e), /*isSigned=*/true));
    return nc.setResult(nc.constant(DenseElementsAttr::get(type, values)));
  }
  SmallVector<Value> scalars;
  for (OpFoldResult e : elements)
    scalars.push_back(scalar(e, elt));
  return nc.setResult(tensor::FromElementsOp::create(b, loc, type, scalars));
}

Value ShapeEvaluator::sizeValue(Value tensor, int64_t dim) {
  Value size = tensor::DimOp::create(b, loc, tensor, dim);
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), size);
}

LogicalResult ShapeEvaluator::shape() {
  RankedTensorType t = nc.inputType(0);
  int64_t rank = t.getRank();
  int64_t start = nc.getInt("start", 0), end = nc.getInt("end", rank);
  start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
  end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
  ShapeElements elements;
  for (int64_t d = start; d < end; ++d) {
    if (t.isDynamicDim(d))
      elements.push_back(sizeValue(nc.input(0), d));
    else
      elements.push_back(b.getI64IntegerAttr(t.getDimSize(d)));
  }
  return finish(elements, b.getI64Type());
}

LogicalResult ShapeEvaluator::size() {
  RankedTensorType t = nc.inputType(0);
  Value count = arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(1));
  for (int64_t d = 0; d < t.getRank(); ++d)
    count = b.createOrFold<arith::MulIOp>(
        loc, count,
        t.isDynamicDim(d) ? sizeValue(nc.input(0), d)
                          : (Value)arith::ConstantOp::create(
                                b, loc, b.getI64IntegerAttr(t.getDimSize(d))));
  return finish({count}, b.getI64Type(), /*scalarResult=*/true);
}

LogicalResult ShapeEvaluator::gather(const ShapeElements &data) {
  FailureOr<SmallVector<int64_t>> indices = nc.constantInts(1, "indices");
  if (failed(indices))
    return failure();
  ShapeElements picked;
  int64_t n = (int64_t)data.size();
  for (int64_t i : *indices) {
    if (i < -n || i >= n)
      return nc.error("index " + Twine(i) + " is out of range for " +
                      Twine(n) + " elements");
    picked.push_back(data[i < 0 ? i + n : i]);
  }
  return finish(picked, nc.inputType(0).getElementType(),
                nc.inputType(1).getRank() == 0);
}

LogicalResult ShapeEvaluator::concat() {
  ShapeElements all;
  for (size_t i = 0; i < nc.numInputs(); ++i) {
    std::optional<ShapeElements> e = shapeElements(nc.input(i));
    if (!e || nc.inputType(i).getRank() != 1)
      return nc.error("concatenates a shape with a tensor that is not one");
    all.append(e->begin(), e->end());
  }
  return finish(all, nc.inputType(0).getElementType());
}

LogicalResult ShapeEvaluator::slice(const ShapeElements &data) {
  FailureOr<SmallVector<int64_t>> starts = nc.constantInts(1, "starts"),
                                  ends = nc.constantInts(2, "ends");
  if (failed(starts) || failed(ends))
    return failure();
  FailureOr<int64_t> steps = nc.constantInt(4, "steps", /*absent=*/1);
  if (failed(steps))
    return failure();
  int64_t step = *steps;
  if (starts->size() != 1 || ends->size() != 1 || step == 0)
    return nc.error("slices a shape with other than one axis and a "
                    "non-zero step");
  int64_t n = (int64_t)data.size(), start = (*starts)[0], end = (*ends)[0];
  start = start < 0 ? start + n : start;
  end = end < 0 ? end + n : end;
  ShapeElements picked;
  if (step > 0) {
    for (int64_t i = std::clamp<int64_t>(start, 0, n);
         i < std::clamp<int64_t>(end, 0, n); i += step)
      picked.push_back(data[i]);
  } else {
    for (int64_t i = std::clamp<int64_t>(start, 0, n - 1);
         i > std::clamp<int64_t>(end, -1, n - 1); i += step)
      picked.push_back(data[i]);
  }
  return finish(picked, nc.inputType(0).getElementType());
}

/// Equality a shape computation can decide from what it knows: equal
/// sizes, and a size (never negative) against a negative constant, as in
/// the `Where(Equal(shape, -1), ...)` of an exported `expand(-1, ...)`.
static std::optional<bool> decideEqual(SymbolicDims &dims, Value lhs,
                                       Value rhs) {
  SymbolicSize l = dims.evaluate(lhs), r = dims.evaluate(rhs);
  if (l == r)
    return true;
  if (l.isConstant() && r.isConstant())
    return false;
  auto negativeAgainstSize = [&](const SymbolicSize &c,
                                 const SymbolicSize &s) {
    return c.isConstant() && c.coefficient < 0 && dims.isNonNegative(s);
  };
  if (negativeAgainstSize(l, r) || negativeAgainstSize(r, l))
    return false;
  return std::nullopt;
}

LogicalResult ShapeEvaluator::elementwise(StringRef op) {
  // An operand that is not a shape tensor (a graph input such as
  // CenterCropPad's target `shape`) has its few elements read at run time.
  FailureOr<ShapeElements> lhs = requireShapeElements(nc, 0, "an operand"),
                           rhs = requireShapeElements(nc, 1, "an operand");
  if (failed(lhs) || failed(rhs))
    return failure();
  size_t n = std::max(lhs->size(), rhs->size());
  if ((lhs->size() != n && lhs->size() != 1) ||
      (rhs->size() != n && rhs->size() != 1))
    return nc.error("operands of " + Twine(lhs->size()) + " and " +
                    Twine(rhs->size()) + " elements do not broadcast");
  Type elt = nc.inputType(0).getElementType();
  bool compare = op == "Equal";
  ShapeElements result;
  for (size_t i = 0; i < n; ++i) {
    Value l = scalar((*lhs)[lhs->size() == 1 ? 0 : i], elt),
          r = scalar((*rhs)[rhs->size() == 1 ? 0 : i], elt);
    Value v;
    if (compare) {
      if (std::optional<bool> known = decideEqual(*nc.symbolicDims, l, r))
        v = arith::ConstantOp::create(b, loc, b.getBoolAttr(*known));
      else
        v = b.createOrFold<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, l, r);
    } else if (op == "Add") {
      v = b.createOrFold<arith::AddIOp>(loc, l, r);
    } else if (op == "Sub") {
      v = b.createOrFold<arith::SubIOp>(loc, l, r);
    } else if (op == "Mul") {
      v = b.createOrFold<arith::MulIOp>(loc, l, r);
    } else if (op == "Div") {
      v = b.createOrFold<arith::DivSIOp>(loc, l, r);
    } else if (op == "Max") {
      v = b.createOrFold<arith::MaxSIOp>(loc, l, r);
    } else {
      v = b.createOrFold<arith::MinSIOp>(loc, l, r);
    }
    APInt c;
    if (matchPattern(v, m_ConstantInt(&c)))
      result.push_back(IntegerAttr::get(v.getType(), c));
    else
      result.push_back(v);
  }
  bool scalarResult =
      nc.inputType(0).getRank() == 0 && nc.inputType(1).getRank() == 0;
  return finish(result, compare ? b.getI1Type() : elt, scalarResult);
}

LogicalResult ShapeEvaluator::where() {
  FailureOr<ShapeElements> cond = requireShapeElements(nc, 0, "condition"),
                           x = requireShapeElements(nc, 1, "X"),
                           y = requireShapeElements(nc, 2, "Y");
  if (failed(cond) || failed(x) || failed(y))
    return failure();
  size_t n = std::max({cond->size(), x->size(), y->size()});
  auto at = [&](const ShapeElements &e, size_t i) {
    return e[e.size() == 1 ? 0 : i];
  };
  Type elt = nc.inputType(1).getElementType();
  ShapeElements result;
  for (size_t i = 0; i < n; ++i) {
    OpFoldResult c = at(*cond, i);
    if (std::optional<int64_t> known = constantOf(c)) {
      result.push_back(*known ? at(*x, i) : at(*y, i));
      continue;
    }
    result.push_back(b.createOrFold<arith::SelectOp>(
        loc, cast<Value>(c), scalar(at(*x, i), elt), scalar(at(*y, i), elt)));
  }
  return finish(result, elt, nc.inputType(1).getRank() == 0);
}

std::optional<LogicalResult> ShapeEvaluator::run() {
  StringRef op = nc.node.op_type();
  if (op == "Shape" || op == "Size") {
    RankedTensorType t = nc.inputType(0);
    if (!t || t.hasStaticShape())
      return std::nullopt;
    return op == "Shape" ? shape() : size();
  }
  // The other operators apply only to shape tensors with run-time
  // elements; on constants they fold as they always did.
  bool runtime = false;
  for (size_t i = 0; i < nc.numInputs(); ++i)
    runtime |= hasRuntimeElements(nc, i);
  if (!runtime)
    return std::nullopt;
  std::optional<ShapeElements> data = shapeElements(nc.input(0));
  if (op == "Identity")
    return nc.setResult(nc.input(0));
  if (op == "Cast" && data) {
    Type to = elementTypeFor(b.getContext(), nc.getInt("to", 0));
    if (!isa_and_nonnull<IntegerType>(to) || to.isInteger(1))
      return std::nullopt;
    return finish(*data, to, nc.inputType(0).getRank() == 0);
  }
  if (op == "Gather" && data && nc.getInt("axis", 0) == 0)
    return gather(*data);
  if (op == "Concat")
    return concat();
  if (op == "Slice" && data)
    return slice(*data);
  if ((op == "Unsqueeze" || op == "Squeeze" || op == "Reshape") && data) {
    // Rank 0 <-> rank 1 with one element; the elements stay.
    bool toVector = op == "Unsqueeze" || (op == "Reshape" &&
                                          nc.inputType(0).getRank() == 0);
    if (data->size() != 1 && op != "Reshape")
      return std::nullopt;
    return finish(*data, nc.inputType(0).getElementType(),
                  !toVector && data->size() == 1 && op != "Reshape");
  }
  if (llvm::is_contained({"Add", "Sub", "Mul", "Div", "Max", "Min", "Equal"},
                         op) &&
      nc.numInputs() == 2)
    return elementwise(op);
  if (op == "Where")
    return where();
  return std::nullopt;
}

std::optional<LogicalResult>
kiln::onnx_import::importShapeArithmetic(NodeContext &nc) {
  if (!nc.symbolicDims)
    return std::nullopt;
  return ShapeEvaluator(nc).run();
}

SmallVector<SymbolicSize>
kiln::onnx_import::symbolicSizes(NodeContext &nc,
                                 const ShapeElements &elements) {
  SmallVector<SymbolicSize> sizes;
  for (OpFoldResult e : elements) {
    if (auto a = dyn_cast<Attribute>(e))
      sizes.push_back(
          SymbolicSize::constant(cast<IntegerAttr>(a).getValue().getSExtValue()));
    else
      sizes.push_back(nc.symbolicDims->evaluate(cast<Value>(e)));
  }
  return sizes;
}

SmallVector<SymbolicSize> kiln::onnx_import::symbolicShape(NodeContext &nc,
                                                           Value v) {
  SmallVector<SymbolicSize> sizes;
  for (int64_t d = 0; d < NodeContext::typeOf(v).getRank(); ++d)
    sizes.push_back(nc.symbolicDims->sizeOf(v, d));
  return sizes;
}

SmallVector<int64_t>
kiln::onnx_import::staticShapeOf(ArrayRef<SymbolicSize> sizes) {
  SmallVector<int64_t> shape;
  for (const SymbolicSize &s : sizes)
    shape.push_back(s.isConstant() ? s.coefficient : ShapedType::kDynamic);
  return shape;
}

RankedTensorType
kiln::onnx_import::typeWithSizes(Value x, ArrayRef<SymbolicSize> sizes) {
  return RankedTensorType::get(staticShapeOf(sizes),
                               NodeContext::typeOf(x).getElementType());
}

SmallVector<Value>
kiln::onnx_import::dynamicSizeValues(NodeContext &nc,
                                     ArrayRef<SymbolicSize> sizes) {
  SmallVector<Value> values;
  for (const SymbolicSize &s : sizes)
    if (!s.isConstant())
      values.push_back(nc.symbolicDims->materialize(nc.b, nc.loc, s));
  return values;
}

/// Pairs groups of consecutive dimensions of `from` and `to` with equal
/// products, the finest such grouping: [b, s, 64] -> [b, s, 4, 16] pairs
/// {b}-{b}, {s}-{s}, {64}-{4, 16}. Trailing size-1 dimensions join the last
/// group. Nothing when the products never meet.
using DimGroup = std::pair<ReassociationIndices, ReassociationIndices>;
static std::optional<SmallVector<DimGroup>>
groupDimensions(ArrayRef<SymbolicSize> from, ArrayRef<SymbolicSize> to) {
  SmallVector<DimGroup> groups;
  int64_t i = 0, j = 0, nf = from.size(), nt = to.size();
  auto isOne = [](const SymbolicSize &s) {
    return s == SymbolicSize::constant(1);
  };
  while (i < nf && j < nt) {
    DimGroup g{{i}, {j}};
    SymbolicSize pf = from[i++], pt = to[j++];
    while (!(pf == pt)) {
      // Grow the side whose product is a proper divisor of the other's.
      if (pf.dividedBy(pt) && j < nt) {
        pt = pt * to[j];
        g.second.push_back(j++);
      } else if (pt.dividedBy(pf) && i < nf) {
        pf = pf * from[i];
        g.first.push_back(i++);
      } else {
        return std::nullopt;
      }
    }
    groups.push_back(std::move(g));
  }
  for (; i < nf; ++i) {
    if (groups.empty() || !isOne(from[i]))
      return std::nullopt;
    groups.back().first.push_back(i);
  }
  for (; j < nt; ++j) {
    if (groups.empty() || !isOne(to[j]))
      return std::nullopt;
    groups.back().second.push_back(j);
  }
  return groups;
}

Value kiln::onnx_import::reshapeToSizes(NodeContext &nc, Value x,
                                        ArrayRef<SymbolicSize> sizes) {
  OpBuilder &b = nc.b;
  RankedTensorType in = NodeContext::typeOf(x);
  RankedTensorType outType = typeWithSizes(x, sizes);
  SmallVector<SymbolicSize> inSizes = symbolicShape(nc, x);
  auto groups = groupDimensions(inSizes, sizes);
  // MLIR 22's expand-strided-metadata crashes on a memref.expand_shape that
  // splits one dimension into two dynamic ones ([b * s, 64] -> [b, s, 64]);
  // tensor.reshape (below) lowers without it.
  auto splitsIntoDynamics = [&](const DimGroup &g) {
    return llvm::count_if(g.second, [&](int64_t d) {
             return !sizes[d].isConstant();
           }) > 1;
  };
  if (groups && llvm::any_of(*groups, splitsIntoDynamics))
    groups.reset();
  if (groups && in.getRank() > 0 && !sizes.empty()) {
    // Collapse each group to one dimension, then expand it to its outputs.
    SmallVector<ReassociationIndices> collapse, expand;
    for (auto &[f, t] : *groups) {
      collapse.push_back(f);
      expand.push_back(t);
    }
    Value v = x;
    if (collapse.size() != (size_t)in.getRank())
      v = tensor::CollapseShapeOp::create(b, nc.loc, v, collapse);
    if (expand.size() != sizes.size()) {
      SmallVector<OpFoldResult> outputShape;
      for (const SymbolicSize &s : sizes)
        outputShape.push_back(
            s.isConstant()
                ? (OpFoldResult)b.getIndexAttr(s.coefficient)
                : (OpFoldResult)nc.symbolicDims->materialize(b, nc.loc, s));
      v = tensor::ExpandShapeOp::create(b, nc.loc, outType, v, expand,
                                        outputShape);
    }
    if (v.getType() != outType)
      v = tensor::CastOp::create(b, nc.loc, outType, v);
    return v;
  }
  // No grouping: the shape as a tensor of index values.
  SmallVector<Value> extents;
  for (const SymbolicSize &s : sizes)
    extents.push_back(nc.symbolicDims->materialize(b, nc.loc, s));
  Value shape = tensor::FromElementsOp::create(
      b, nc.loc, RankedTensorType::get({(int64_t)sizes.size()},
                                       b.getIndexType()),
      extents);
  return tensor::ReshapeOp::create(b, nc.loc, outType, x, shape);
}

Value kiln::onnx_import::broadcastToSizes(NodeContext &nc, Value x,
                                          ArrayRef<SymbolicSize> sizes) {
  OpBuilder &b = nc.b;
  RankedTensorType in = NodeContext::typeOf(x);
  RankedTensorType outType = typeWithSizes(x, sizes);
  Value init = tensor::EmptyOp::create(b, nc.loc, outType,
                                       dynamicSizeValues(nc, sizes));
  // Input dimension d reads output dimension d + offset, or index 0 where
  // it is a broadcast 1.
  int64_t offset = (int64_t)sizes.size() - in.getRank();
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < in.getRank(); ++d) {
    bool broadcast = in.getDimSize(d) == 1 &&
                     !(sizes[d + offset] == SymbolicSize::constant(1));
    exprs.push_back(broadcast ? b.getAffineConstantExpr(0)
                              : b.getAffineDimExpr(d + offset));
  }
  SmallVector<AffineMap> maps = {
      AffineMap::get(sizes.size(), 0, exprs, b.getContext()),
      b.getMultiDimIdentityMap(sizes.size())};
  SmallVector<utils::IteratorType> iterators(sizes.size(),
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, nc.loc, outType, x, init, maps, iterators,
             [](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(nb, l, args[0]);
             })
      .getResult(0);
}

Value kiln::onnx_import::generate(
    OpBuilder &b, Location loc, RankedTensorType type, ValueRange dynamicSizes,
    function_ref<Value(OpBuilder &, Location, ArrayRef<Value>)> body) {
  Value init = tensor::EmptyOp::create(b, loc, type, dynamicSizes);
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, type, ValueRange{}, init,
             b.getMultiDimIdentityMap(type.getRank()), iterators,
             [&](OpBuilder &nb, Location l, ValueRange) {
               SmallVector<Value> at;
               for (int64_t d = 0; d < type.getRank(); ++d)
                 at.push_back(linalg::IndexOp::create(nb, l, d));
               linalg::YieldOp::create(nb, l, body(nb, l, at));
             })
      .getResult(0);
}
