//===- KilnEvaluate.cpp - Evaluating Kiln ops on constants ----------------===//
//
// The rules the folds and the block evaluator share, and the block
// evaluator (KilnEvaluate.h).
//
//===----------------------------------------------------------------------===//

#include "kiln/dialects/Kiln/KilnEvaluate.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/APFloat.h"

#include <cmath>
#include <cstring>
#include <functional>

using namespace mlir;
using namespace kiln;

SmallVector<int64_t> kiln::rowMajorStrides(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = (int64_t)shape.size() - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

int64_t kiln::elementCount(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

int64_t kiln::broadcastSource(int64_t flat, ArrayRef<int64_t> out,
                              ArrayRef<int64_t> in) {
  SmallVector<int64_t> outStrides = rowMajorStrides(out),
                       inStrides = rowMajorStrides(in);
  size_t offset = out.size() - in.size();
  int64_t src = 0;
  for (size_t d = 0; d < out.size(); ++d) {
    int64_t idx = (flat / outStrides[d]) % out[d];
    if (d >= offset && in[d - offset] != 1)
      src += idx * inStrides[d - offset];
  }
  return src;
}

bool kiln::compareHolds(CompareDirection dir, std::optional<int> order) {
  switch (dir) {
  case CompareDirection::EQ:
    return order && *order == 0;
  case CompareDirection::NE:
    return !order || *order != 0;
  case CompareDirection::LT:
    return order && *order < 0;
  case CompareDirection::LE:
    return order && *order <= 0;
  case CompareDirection::GT:
    return order && *order > 0;
  case CompareDirection::GE:
    return order && *order >= 0;
  }
  return false;
}

Box Box::whole(ArrayRef<int64_t> shape) {
  return {SmallVector<int64_t>(shape.size(), 0),
          SmallVector<int64_t>(shape.begin(), shape.end())};
}

namespace {

/// Calls `f(flat, index)` for every index of `shape`, in row-major order.
template <typename F> void forEachIndex(ArrayRef<int64_t> shape, F f) {
  int64_t n = elementCount(shape);
  SmallVector<int64_t> idx(shape.size(), 0);
  for (int64_t flat = 0; flat < n; ++flat) {
    f(flat, ArrayRef<int64_t>(idx));
    for (int64_t d = (int64_t)shape.size() - 1; d >= 0; --d) {
      if (++idx[d] < shape[d])
        break;
      idx[d] = 0;
    }
  }
}

/// A tensor of shape `count` whose element at index `idx` is `at(idx)`.
template <typename F>
std::unique_ptr<EvaluatedTensor> tabulate(ArrayRef<int64_t> count, F at) {
  auto out = std::make_unique<EvaluatedTensor>();
  out->shape.assign(count.begin(), count.end());
  out->values.resize(elementCount(count));
  forEachIndex(count, [&](int64_t flat, ArrayRef<int64_t> idx) {
    out->values[flat] = at(idx);
  });
  return out;
}

/// A tensor of shape `count` read from `in`: output index `idx` reads, for
/// each output dimension d, position `coord(d, idx[d]).second` along input
/// dimension `coord(d, idx[d]).first`.
template <typename F>
std::unique_ptr<EvaluatedTensor> gatherFrom(const EvaluatedTensor &in,
                                            ArrayRef<int64_t> count, F coord) {
  SmallVector<int64_t> inStrides = rowMajorStrides(in.shape);
  return tabulate(count, [&](ArrayRef<int64_t> idx) {
    int64_t src = 0;
    for (int64_t d = 0, e = idx.size(); d < e; ++d) {
      auto [inDim, at] = coord(d, idx[d]);
      src += at * inStrides[inDim];
    }
    return in.values[src];
  });
}

/// The elements of `box` read from a row-major tensor of shape `shape`
/// through `at(flat)`.
template <typename F>
std::unique_ptr<EvaluatedTensor> cut(ArrayRef<int64_t> shape, const Box &box,
                                     F at) {
  SmallVector<int64_t> strides = rowMajorStrides(shape);
  return tabulate(box.count, [&](ArrayRef<int64_t> idx) {
    int64_t src = 0;
    for (size_t d = 0; d < idx.size(); ++d)
      src += (box.start[d] + idx[d]) * strides[d];
    return at(src);
  });
}

/// Rounds `x` to what an element of type `t` holds; false where that is not
/// modelled exactly (integers beyond 2^53).
bool roundTo(Type t, double &x) {
  if (t.isF64())
    return true;
  if (t.isF32()) {
    x = (double)(float)x;
    return true;
  }
  if (auto ft = dyn_cast<FloatType>(t)) {
    APFloat a(x);
    bool lost;
    a.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    x = a.convertToDouble();
    return true;
  }
  if (t.isInteger(1)) {
    x = x != 0 ? 1 : 0;
    return true;
  }
  if (auto it = dyn_cast<IntegerType>(t)) {
    if (std::isnan(x) || std::fabs(x) >= 9007199254740992.0)
      return false;
    unsigned w = it.getWidth();
    if (w < 64) { // two's complement wrap, as the lowering computes it
      uint64_t mask = (uint64_t(1) << w) - 1;
      uint64_t u = (uint64_t)(int64_t)x & mask;
      if (u >> (w - 1))
        u |= ~mask;
      x = (double)(int64_t)u;
    }
    return true;
  }
  return false;
}

/// Whether elements of `t` can be read straight from a constant's bytes.
bool isRawReadable(Type t) {
  unsigned w = t.getIntOrFloatBitWidth();
  return t.isF32() || t.isF64() ||
         (t.isSignlessInteger() && (w == 8 || w == 16 || w == 32 || w == 64));
}

/// Reads elements of a constant by flat index, without copying it whole
/// (a mask buffer can be large).
class ConstantReader {
public:
  static std::optional<ConstantReader> get(Attribute attr) {
    auto elements = dyn_cast<ElementsAttr>(attr);
    if (!elements || !isa<FloatType, IntegerType>(elements.getElementType()))
      return std::nullopt;
    ConstantReader r;
    r.type = elements.getElementType();
    r.bytes = r.type.getIntOrFloatBitWidth() / 8;
    if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
      r.dense = dense;
      if (dense.isSplat())
        r.splat = r.decode(0);
      else if (isRawReadable(r.type))
        r.raw = dense.getRawData();
      return r;
    }
    auto resource = dyn_cast<DenseResourceElementsAttr>(attr);
    AsmResourceBlob *blob =
        resource ? resource.getRawHandle().getBlob() : nullptr;
    if (!blob || !isRawReadable(r.type))
      return std::nullopt;
    r.raw = blob->getData();
    if ((int64_t)r.raw.size() != elements.getNumElements() * r.bytes)
      return std::nullopt;
    return r;
  }

  double at(int64_t flat) const {
    if (splat)
      return *splat;
    if (raw.empty())
      return decode(flat);
    const char *p = raw.data() + flat * bytes;
    auto load = [p](auto value) {
      std::memcpy(&value, p, sizeof(value));
      return (double)value;
    };
    if (type.isF32())
      return load(float());
    if (type.isF64())
      return load(double());
    switch (bytes) {
    case 1:
      return load(int8_t());
    case 2:
      return load(int16_t());
    case 4:
      return load(int32_t());
    default:
      return load(int64_t());
    }
  }

private:
  /// One element through the attribute's own accessors (f16, bf16, i1...).
  double decode(int64_t flat) const {
    if (isa<FloatType>(type))
      return dense.getValues<APFloat>()[flat].convertToDouble();
    if (type.isInteger(1))
      return dense.getValues<bool>()[flat] ? 1 : 0;
    return (double)dense.getValues<APInt>()[flat].getSExtValue();
  }

  Type type;
  DenseElementsAttr dense;
  std::optional<double> splat;
  ArrayRef<char> raw;
  int64_t bytes = 0;
};

using ElementFn = std::function<double(ArrayRef<double>)>;

double nanOr(bool nan, double x) { return nan ? std::nan("") : x; }

/// What the elementwise op `op` computes on one element, in doubles (the
/// result is rounded to the element type after); null for ops it does not
/// know.
ElementFn elementFunction(Operation *op) {
  Type elt = getElementTypeOrSelf(op->getResult(0).getType());
  Type inElt = op->getNumOperands()
                   ? getElementTypeOrSelf(op->getOperand(0).getType())
                   : elt;
  bool isFloat = isa<FloatType>(inElt);
  using Args = ArrayRef<double>;
  if (isa<AddOp>(op))
    return [](Args x) { return x[0] + x[1]; };
  if (isa<SubOp>(op))
    return [](Args x) { return x[0] - x[1]; };
  if (isa<MulOp>(op))
    return [](Args x) { return x[0] * x[1]; };
  if (isa<DivOp>(op)) {
    if (isFloat)
      return [](Args x) { return x[0] / x[1]; };
    return [](Args x) { return nanOr(x[1] == 0, std::trunc(x[0] / x[1])); };
  }
  if (isa<MaxOp>(op))
    return [](Args x) {
      return nanOr(std::isnan(x[0]) || std::isnan(x[1]), std::max(x[0], x[1]));
    };
  if (isa<MinOp>(op))
    return [](Args x) {
      return nanOr(std::isnan(x[0]) || std::isnan(x[1]), std::min(x[0], x[1]));
    };
  if (isa<AndOp, OrOp, XorOp, NotOp>(op) && !inElt.isInteger(1))
    return nullptr; // bitwise on wider integers: not needed for masks
  if (isa<AndOp>(op))
    return [](Args x) { return double(x[0] != 0 && x[1] != 0); };
  if (isa<OrOp>(op))
    return [](Args x) { return double(x[0] != 0 || x[1] != 0); };
  if (isa<XorOp>(op))
    return [](Args x) { return double((x[0] != 0) != (x[1] != 0)); };
  if (isa<NotOp>(op))
    return [](Args x) { return double(x[0] == 0); };
  if (isa<NegOp>(op))
    return [](Args x) { return -x[0]; };
  if (isa<AbsOp>(op))
    return [](Args x) { return std::fabs(x[0]); };
  if (isa<SelectOp>(op))
    return [](Args x) { return x[0] != 0 ? x[1] : x[2]; };
  if (isa<BroadcastOp>(op))
    return [](Args x) { return x[0]; };
  if (auto cmp = dyn_cast<CompareOp>(op)) {
    CompareDirection dir = cmp.getDirection();
    return [dir](Args x) {
      std::optional<int> order;
      if (!std::isnan(x[0]) && !std::isnan(x[1]))
        order = x[0] < x[1] ? -1 : (x[0] == x[1] ? 0 : 1);
      return double(compareHolds(dir, order));
    };
  }
  if (auto cast = dyn_cast<CastOp>(op)) {
    if (cast.getIsUnsigned())
      return nullptr;
    bool toInt = isa<IntegerType>(elt) && !elt.isInteger(1);
    return [toInt, isFloat](Args x) {
      if (toInt && isFloat)
        return nanOr(!std::isfinite(x[0]), std::trunc(x[0]));
      return x[0];
    };
  }
  return nullptr;
}

} // namespace

/// The dimensions of `t` that are not 1.
static SmallVector<int64_t> nonUnitDims(RankedTensorType t) {
  SmallVector<int64_t> dims;
  for (int64_t d = 0; d < t.getRank(); ++d)
    if (t.getDimSize(d) != 1)
      dims.push_back(d);
  return dims;
}

/// Whether `re` only adds or drops unit dimensions (a block maps over).
static bool addsOrDropsUnitDims(ReshapeOp re) {
  RankedTensorType type = re.getType(), it = re.getInput().getType();
  SmallVector<int64_t> outDims = nonUnitDims(type), inDims = nonUnitDims(it);
  return outDims.size() == inDims.size() &&
         llvm::all_of(llvm::zip(outDims, inDims), [&](auto p) {
           return type.getDimSize(std::get<0>(p)) ==
                  it.getDimSize(std::get<1>(p));
         });
}

std::vector<double> kiln::broadcastTo(const EvaluatedTensor &in,
                                      ArrayRef<int64_t> out) {
  if (ArrayRef<int64_t>(in.shape) == out)
    return in.values;
  SmallVector<int64_t> inStrides = rowMajorStrides(in.shape);
  size_t offset = out.size() - in.shape.size();
  std::vector<double> result(elementCount(out));
  forEachIndex(out, [&](int64_t flat, ArrayRef<int64_t> idx) {
    int64_t src = 0;
    for (size_t d = offset; d < out.size(); ++d)
      if (in.shape[d - offset] != 1)
        src += idx[d] * inStrides[d - offset];
    result[flat] = in.values[src];
  });
  return result;
}

bool BlockEvaluator::isComputable(Value v, unsigned depth) {
  auto it = computable.find(v);
  if (it != computable.end())
    return it->second;
  bool ok = false;
  Operation *op = v.getDefiningOp();
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (op && depth < 64 && type && type.hasStaticShape() &&
      isa<FloatType, IntegerType>(type.getElementType())) {
    if (auto c = dyn_cast<arith::ConstantOp>(op)) {
      ok = ConstantReader::get(c.getValue()).has_value();
    } else if (isa<AddOp, SubOp, MulOp, DivOp, MaxOp, MinOp, NegOp, AbsOp,
                   SelectOp, CompareOp, ReshapeOp, BroadcastOp, TransposeOp,
                   SliceOp, TriluOp, ConcatOp>(op) ||
               (isa<AndOp, OrOp, XorOp, NotOp>(op) &&
                type.getElementType().isInteger(1)) ||
               (isa<CastOp>(op) && !cast<CastOp>(op).getIsUnsigned())) {
      ok = llvm::all_of(op->getOperands(), [&](Value operand) {
        return isComputable(operand, depth + 1);
      });
    }
  }
  computable[v] = ok;
  return ok;
}

std::unique_ptr<EvaluatedTensor>
BlockEvaluator::evaluate(Value v, const Box &box, unsigned depth) {
  if (elementCount(box.count) > limit || depth > 64)
    return nullptr;
  Operation *op = v.getDefiningOp();
  if (!op)
    return nullptr;
  if (isa<arith::ConstantOp>(op))
    return evaluateConstant(v, box);
  if (elementFunction(op))
    return evaluateElementwise(op, box, depth);
  if (isa<AndOp, OrOp, XorOp, NotOp, CastOp>(op))
    return nullptr; // elementwise, but not on values a mask holds
  // Data movement that a block can follow.
  if (auto tr = dyn_cast<TransposeOp>(op))
    return evaluateTranspose(tr, box, depth);
  if (auto sl = dyn_cast<SliceOp>(op))
    return evaluateSlice(sl, box, depth);
  if (auto tri = dyn_cast<TriluOp>(op))
    return evaluateTrilu(tri, box, depth);
  if (auto re = dyn_cast<ReshapeOp>(op); re && addsOrDropsUnitDims(re))
    return evaluateUnitReshape(re, box, depth);
  // Anything else is evaluated whole, then cut.
  return evaluateFromWhole(v, box, depth);
}

BlockEvaluator::Result BlockEvaluator::evaluateConstant(Value v,
                                                        const Box &box) {
  auto c = v.getDefiningOp<arith::ConstantOp>();
  std::optional<ConstantReader> reader = ConstantReader::get(c.getValue());
  if (!reader)
    return nullptr;
  return cut(cast<RankedTensorType>(v.getType()).getShape(), box,
             [&](int64_t src) { return reader->at(src); });
}

/// Elementwise ops (broadcast included): each operand over the part of
/// itself that the box reads.
BlockEvaluator::Result
BlockEvaluator::evaluateElementwise(Operation *op, const Box &box,
                                    unsigned depth) {
  ElementFn fn = elementFunction(op);
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  int64_t rank = type.getRank();
  SmallVector<std::vector<double>> args;
  for (Value operand : op->getOperands()) {
    auto ot = cast<RankedTensorType>(operand.getType());
    int64_t off = rank - ot.getRank();
    Box ob;
    for (int64_t d = 0; d < ot.getRank(); ++d) {
      bool stretched = ot.getDimSize(d) == 1;
      ob.start.push_back(stretched ? 0 : box.start[d + off]);
      ob.count.push_back(stretched ? 1 : box.count[d + off]);
    }
    Result a = evaluate(operand, ob, depth + 1);
    if (!a)
      return nullptr;
    args.push_back(broadcastTo(*a, box.count));
  }
  auto out = std::make_unique<EvaluatedTensor>();
  out->shape = box.count;
  int64_t n = elementCount(box.count);
  out->values.resize(n);
  SmallVector<double, 3> xs(args.size());
  for (int64_t i = 0; i < n; ++i) {
    for (size_t a = 0; a < args.size(); ++a)
      xs[a] = args[a][i];
    double r = fn(ArrayRef<double>(xs));
    if (!roundTo(type.getElementType(), r))
      return nullptr;
    out->values[i] = r;
  }
  return out;
}

BlockEvaluator::Result
BlockEvaluator::evaluateTranspose(TransposeOp tr, const Box &box,
                                  unsigned depth) {
  ArrayRef<int64_t> perm = tr.getPermutation();
  int64_t rank = perm.size();
  Box ib = box;
  for (int64_t d = 0; d < rank; ++d) {
    ib.start[perm[d]] = box.start[d];
    ib.count[perm[d]] = box.count[d];
  }
  Result in = evaluate(tr.getInput(), ib, depth + 1);
  if (!in)
    return nullptr;
  // Output dimension d walks input dimension perm[d].
  return gatherFrom(*in, box.count, [&](int64_t d, int64_t i) {
    return std::make_pair(perm[d], i);
  });
}

BlockEvaluator::Result BlockEvaluator::evaluateSlice(SliceOp sl,
                                                     const Box &box,
                                                     unsigned depth) {
  ArrayRef<int64_t> starts = sl.getStarts(), steps = sl.getSteps();
  int64_t rank = starts.size();
  Box ib;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t first = starts[d] + box.start[d] * steps[d];
    int64_t last = starts[d] + (box.start[d] + box.count[d] - 1) * steps[d];
    ib.start.push_back(std::min(first, last));
    ib.count.push_back(std::abs(last - first) + 1);
  }
  Result in = evaluate(sl.getInput(), ib, depth + 1);
  if (!in)
    return nullptr;
  return gatherFrom(*in, box.count, [&](int64_t d, int64_t i) {
    return std::make_pair(
        d, starts[d] + (box.start[d] + i) * steps[d] - ib.start[d]);
  });
}

BlockEvaluator::Result BlockEvaluator::evaluateTrilu(TriluOp tri,
                                                     const Box &box,
                                                     unsigned depth) {
  Result in = evaluate(tri.getInput(), box, depth + 1);
  if (!in)
    return nullptr;
  int64_t rank = box.count.size();
  bool upper = tri.getUpper();
  int64_t k = tri.getDiagonal();
  forEachIndex(box.count, [&](int64_t flat, ArrayRef<int64_t> idx) {
    int64_t i = box.start[rank - 2] + idx[rank - 2];
    int64_t j = box.start[rank - 1] + idx[rank - 1];
    if (!(upper ? j - i >= k : j - i <= k))
      in->values[flat] = 0;
  });
  return in;
}

BlockEvaluator::Result
BlockEvaluator::evaluateUnitReshape(ReshapeOp re, const Box &box,
                                    unsigned depth) {
  RankedTensorType it = re.getInput().getType();
  SmallVector<int64_t> outDims = nonUnitDims(re.getType()),
                       inDims = nonUnitDims(it);
  Box ib{SmallVector<int64_t>(it.getRank(), 0),
         SmallVector<int64_t>(it.getRank(), 1)};
  for (auto [o, i] : llvm::zip(outDims, inDims)) {
    ib.start[i] = box.start[o];
    ib.count[i] = box.count[o];
  }
  Result in = evaluate(re.getInput(), ib, depth + 1);
  if (in)
    in->shape = box.count;
  return in;
}

BlockEvaluator::Result
BlockEvaluator::evaluateFromWhole(Value v, const Box &box, unsigned depth) {
  const EvaluatedTensor *all = evaluateWhole(v, depth);
  if (!all)
    return nullptr;
  return cut(all->shape, box, [&](int64_t src) { return all->values[src]; });
}

const EvaluatedTensor *BlockEvaluator::evaluateWhole(Value v, unsigned depth) {
  auto found = whole.find(v);
  if (found != whole.end())
    return found->second.get();
  auto type = cast<RankedTensorType>(v.getType());
  Result result;
  Operation *op = v.getDefiningOp();
  if (type.getNumElements() <= limit) {
    if (auto re = dyn_cast<ReshapeOp>(op)) {
      auto it = re.getInput().getType();
      result = evaluate(re.getInput(), Box::whole(it.getShape()), depth + 1);
      if (result)
        result->shape.assign(type.getShape().begin(), type.getShape().end());
    } else if (auto cat = dyn_cast<ConcatOp>(op)) {
      result = evaluateWholeConcat(cat, depth);
    }
  }
  const EvaluatedTensor *ptr = result.get();
  whole[v] = std::move(result);
  return ptr;
}

BlockEvaluator::Result BlockEvaluator::evaluateWholeConcat(ConcatOp cat,
                                                           unsigned depth) {
  RankedTensorType type = cat.getType();
  auto result = std::make_unique<EvaluatedTensor>();
  result->shape.assign(type.getShape().begin(), type.getShape().end());
  result->values.resize(type.getNumElements());
  int64_t axis = cat.getAxis(), offset = 0;
  SmallVector<int64_t> strides = rowMajorStrides(type.getShape());
  for (Value in : cat.getInputs()) {
    auto it = cast<RankedTensorType>(in.getType());
    Result part = evaluate(in, Box::whole(it.getShape()), depth + 1);
    if (!part)
      return nullptr;
    forEachIndex(it.getShape(), [&](int64_t flat, ArrayRef<int64_t> idx) {
      int64_t dst = 0;
      for (size_t d = 0; d < idx.size(); ++d)
        dst += (idx[d] + ((int64_t)d == axis ? offset : 0)) * strides[d];
      result->values[dst] = part->values[flat];
    });
    offset += it.getDimSize(axis);
  }
  return result;
}
