//===- RaiseAttention.cpp - The kiln-raise-attention pass -----------------===//
//
// PyTorch 1.13 has no F.scaled_dot_product_attention, so models write
// attention by hand and torch.onnx.export writes it out op by op. After
// import that is, in Kiln ops:
//
//   %s = kiln.matmul %q, %kT            q [.., S, D], kT [.., D, L]
//   %s = kiln.mul %s, %c | kiln.div     scalar scales (also on q or kT)
//   %s = cap * tanh(%s / cap)           an optional softcap
//   %s = kiln.add %s, %mask             masks: additive, or masked_fill
//   %s = kiln.select %cond, -inf, %s      (ONNX Where) with -inf or a
//                                         very negative value
//   %s = kiln.max %s, %finfo_min        HF Llama's clamp, optional
//   %p = kiln.softmax %s {axis = -1}
//   %o = kiln.matmul %p, %v             v [.., L, Dv]
//
// This pass rewrites that to one kiln.attention, anchored at the softmax.
// It keeps the numerics: everything it cannot express exactly is left as
// it was, with a remark that says why (RaisingReport.h).
//
// Masks. A mask term that is a compile-time constant (positions built with
// Trilu, Range/Unsqueeze/compare, a sliced tril buffer, or whatever the
// importer already folded into a dense matrix) is evaluated here, a block
// of query rows at a time, and the resulting [S, L] pattern is compared
// with the mask kinds: when it is
// exactly causal or a sliding window (or allows every pair) the mask kind
// replaces it; otherwise it stays as the explicit mask operand. Terms that
// depend on graph inputs (a padding mask) become the mask operand too; the
// positional part of an HF-style causal + padding mask still becomes a
// mask kind. A mask computed from the scores themselves is left.
//
// K/V head repeats (GQA): HuggingFace's repeat_kv (unsqueeze, expand,
// reshape) and torch.repeat_interleave (split, expand, reshape, concat)
// are traced head by head; when query head h reads key/value head
// h / (H / KVH) the attention takes the un-repeated K/V. The head
// reshapes and transposes around the op stay where they are; the key's
// transpose(-2, -1) is folded into the transposes that produce it.
//
// Where torch gives NaN (a query whose keys are all masked with -inf),
// kiln.attention gives zeros; a finite fill of -1e9 or less is treated as
// removing the key (exp underflows to exactly 0 in either case). With
// Llama's clamp, torch averages every key for such a query instead; then
// no pair is removed and the mask operand is clamped itself (see tryRaise).
//
//===----------------------------------------------------------------------===//

#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/dialects/Kiln/KilnTraits.h"
#include "kiln/passes/Raising/Passes.h"
#include "kiln/passes/Raising/RaisingReport.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/Format.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

namespace kiln {
#define GEN_PASS_DEF_RAISEATTENTION
#include "kiln/passes/Raising/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// A fill at or below this removes a key: exp(fill - max) is exactly 0 in
/// f32 for any scores smaller than about 1e8 in magnitude.
constexpr double kRemovingFill = -1e9;

/// A clamp max(scores, C) folds into an additive mask as max(mask, C) only
/// when scores + C rounds to C, i.e. C is huge (finfo(f32).min is -3.4e38).
constexpr double kClampFloor = -1e30;

//===----------------------------------------------------------------------===//
// Compile-time evaluation of constant mask subgraphs
//===----------------------------------------------------------------------===//

/// A row-major tensor of values held as doubles (exact for f32, f16, bf16,
/// i1 and integers below 2^53, which is all a mask is built from).
struct Dense {
  SmallVector<int64_t> shape;
  std::vector<double> values;
};

/// A block of a tensor: [start, start + count) along each dimension.
struct Box {
  SmallVector<int64_t> start, count;
};

Box wholeBox(ArrayRef<int64_t> shape) {
  return {SmallVector<int64_t>(shape.size(), 0),
          SmallVector<int64_t>(shape.begin(), shape.end())};
}

int64_t elementCount(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = (int64_t)shape.size() - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

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

/// `in` broadcast (NumPy, aligned on the right) to `out`.
std::vector<double> broadcastTo(const Dense &in, ArrayRef<int64_t> out) {
  if (ArrayRef<int64_t>(in.shape) == out)
    return in.values;
  SmallVector<int64_t> inStrides = stridesOf(in.shape);
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

/// Evaluates values computed from constants only, with the ops masks are
/// built from, one block at a time: a [S, L] position mask is looked at a
/// few rows at a time, so its size is not bounded by memory. Ops that move
/// data in ways a block cannot follow (concat, reshapes that do more than
/// add or drop unit dimensions) are evaluated whole, within `limit`
/// elements.
class ConstantEvaluator {
public:
  explicit ConstantEvaluator(int64_t limit) : limit(limit) {}

  /// Whether `v` is computed from constants only, by ops this knows.
  bool isComputable(Value v, unsigned depth = 0) {
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

  /// The elements of `v` inside `box`, as a tensor of the box's shape; null
  /// when they cannot be evaluated (call isComputable first).
  std::unique_ptr<Dense> evaluate(Value v, const Box &box, unsigned depth = 0) {
    auto type = cast<RankedTensorType>(v.getType());
    if (elementCount(box.count) > limit || depth > 64)
      return nullptr;
    Operation *op = v.getDefiningOp();
    if (!op)
      return nullptr;
    auto out = std::make_unique<Dense>();
    out->shape = box.count;
    int64_t n = elementCount(box.count);
    int64_t rank = type.getRank();
    Type elt = type.getElementType();

    if (auto c = dyn_cast<arith::ConstantOp>(op)) {
      std::optional<ConstantReader> reader = ConstantReader::get(c.getValue());
      if (!reader)
        return nullptr;
      SmallVector<int64_t> strides = stridesOf(type.getShape());
      out->values.resize(n);
      forEachIndex(box.count, [&](int64_t flat, ArrayRef<int64_t> idx) {
        int64_t src = 0;
        for (int64_t d = 0; d < rank; ++d)
          src += (box.start[d] + idx[d]) * strides[d];
        out->values[flat] = reader->at(src);
      });
      return out;
    }

    // Elementwise ops (broadcast included): each operand over the part of
    // itself that the box reads.
    auto elementwise = [&](auto fn) -> std::unique_ptr<Dense> {
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
        std::unique_ptr<Dense> a = evaluate(operand, ob, depth + 1);
        if (!a)
          return nullptr;
        args.push_back(broadcastTo(*a, box.count));
      }
      out->values.resize(n);
      SmallVector<double, 3> xs(args.size());
      for (int64_t i = 0; i < n; ++i) {
        for (size_t a = 0; a < args.size(); ++a)
          xs[a] = args[a][i];
        double r = fn(ArrayRef<double>(xs));
        if (!roundTo(elt, r))
          return nullptr;
        out->values[i] = r;
      }
      return std::move(out);
    };
    using Args = ArrayRef<double>;
    Type inElt = op->getNumOperands()
                     ? getElementTypeOrSelf(op->getOperand(0).getType())
                     : elt;
    bool isFloat = isa<FloatType>(inElt);
    auto nanOr = [](bool nan, double x) { return nan ? std::nan("") : x; };
    if (isa<AddOp>(op))
      return elementwise([](Args x) { return x[0] + x[1]; });
    if (isa<SubOp>(op))
      return elementwise([](Args x) { return x[0] - x[1]; });
    if (isa<MulOp>(op))
      return elementwise([](Args x) { return x[0] * x[1]; });
    if (isa<DivOp>(op)) {
      if (isFloat)
        return elementwise([](Args x) { return x[0] / x[1]; });
      return elementwise(
          [&](Args x) { return nanOr(x[1] == 0, std::trunc(x[0] / x[1])); });
    }
    if (isa<MaxOp>(op))
      return elementwise([&](Args x) {
        return nanOr(std::isnan(x[0]) || std::isnan(x[1]),
                     std::max(x[0], x[1]));
      });
    if (isa<MinOp>(op))
      return elementwise([&](Args x) {
        return nanOr(std::isnan(x[0]) || std::isnan(x[1]),
                     std::min(x[0], x[1]));
      });
    if (isa<AndOp, OrOp, XorOp, NotOp>(op) && !inElt.isInteger(1))
      return nullptr; // bitwise on wider integers: not needed for masks
    if (isa<AndOp>(op))
      return elementwise([](Args x) { return double(x[0] != 0 && x[1] != 0); });
    if (isa<OrOp>(op))
      return elementwise([](Args x) { return double(x[0] != 0 || x[1] != 0); });
    if (isa<XorOp>(op))
      return elementwise(
          [](Args x) { return double((x[0] != 0) != (x[1] != 0)); });
    if (isa<NotOp>(op))
      return elementwise([](Args x) { return double(x[0] == 0); });
    if (isa<NegOp>(op))
      return elementwise([](Args x) { return -x[0]; });
    if (isa<AbsOp>(op))
      return elementwise([](Args x) { return std::fabs(x[0]); });
    if (isa<SelectOp>(op))
      return elementwise([](Args x) { return x[0] != 0 ? x[1] : x[2]; });
    if (isa<BroadcastOp>(op))
      return elementwise([](Args x) { return x[0]; });
    if (auto cmp = dyn_cast<CompareOp>(op)) {
      CompareDirection dir = cmp.getDirection();
      return elementwise([dir](Args x) {
        switch (dir) {
        case CompareDirection::EQ:
          return double(x[0] == x[1]);
        case CompareDirection::NE:
          return double(x[0] != x[1]);
        case CompareDirection::LT:
          return double(x[0] < x[1]);
        case CompareDirection::LE:
          return double(x[0] <= x[1]);
        case CompareDirection::GT:
          return double(x[0] > x[1]);
        case CompareDirection::GE:
          return double(x[0] >= x[1]);
        }
        return std::nan("");
      });
    }
    if (auto cast = dyn_cast<CastOp>(op)) {
      if (cast.getIsUnsigned())
        return nullptr;
      bool toInt = isa<IntegerType>(elt) && !elt.isInteger(1);
      return elementwise([&](Args x) {
        if (toInt && isFloat)
          return nanOr(!std::isfinite(x[0]), std::trunc(x[0]));
        return x[0];
      });
    }

    // Data movement that a block can follow.
    if (auto tr = dyn_cast<TransposeOp>(op)) {
      ArrayRef<int64_t> perm = tr.getPermutation();
      Box ib = box;
      for (int64_t d = 0; d < rank; ++d) {
        ib.start[perm[d]] = box.start[d];
        ib.count[perm[d]] = box.count[d];
      }
      std::unique_ptr<Dense> in = evaluate(tr.getInput(), ib, depth + 1);
      if (!in)
        return nullptr;
      SmallVector<int64_t> inStrides = stridesOf(ib.count);
      out->values.resize(n);
      forEachIndex(box.count, [&](int64_t flat, ArrayRef<int64_t> idx) {
        int64_t src = 0;
        for (int64_t d = 0; d < rank; ++d)
          src += idx[d] * inStrides[perm[d]];
        out->values[flat] = in->values[src];
      });
      return out;
    }
    if (auto sl = dyn_cast<SliceOp>(op)) {
      ArrayRef<int64_t> starts = sl.getStarts(), steps = sl.getSteps();
      Box ib;
      for (int64_t d = 0; d < rank; ++d) {
        int64_t first = starts[d] + box.start[d] * steps[d];
        int64_t last = starts[d] + (box.start[d] + box.count[d] - 1) * steps[d];
        ib.start.push_back(std::min(first, last));
        ib.count.push_back(std::abs(last - first) + 1);
      }
      std::unique_ptr<Dense> in = evaluate(sl.getInput(), ib, depth + 1);
      if (!in)
        return nullptr;
      SmallVector<int64_t> inStrides = stridesOf(ib.count);
      out->values.resize(n);
      forEachIndex(box.count, [&](int64_t flat, ArrayRef<int64_t> idx) {
        int64_t src = 0;
        for (int64_t d = 0; d < rank; ++d)
          src +=
              (starts[d] + (box.start[d] + idx[d]) * steps[d] - ib.start[d]) *
              inStrides[d];
        out->values[flat] = in->values[src];
      });
      return out;
    }
    if (auto tri = dyn_cast<TriluOp>(op)) {
      std::unique_ptr<Dense> in = evaluate(tri.getInput(), box, depth + 1);
      if (!in)
        return nullptr;
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
    if (auto re = dyn_cast<ReshapeOp>(op)) {
      // Only unit dimensions added or dropped: the block maps over.
      auto it = re.getInput().getType();
      SmallVector<int64_t> outDims, inDims;
      for (int64_t d = 0; d < rank; ++d)
        if (type.getDimSize(d) != 1)
          outDims.push_back(d);
      for (int64_t d = 0; d < it.getRank(); ++d)
        if (it.getDimSize(d) != 1)
          inDims.push_back(d);
      bool unitOnly = outDims.size() == inDims.size() &&
                      llvm::all_of(llvm::zip(outDims, inDims), [&](auto p) {
                        return type.getDimSize(std::get<0>(p)) ==
                               it.getDimSize(std::get<1>(p));
                      });
      if (unitOnly) {
        Box ib{SmallVector<int64_t>(it.getRank(), 0),
               SmallVector<int64_t>(it.getRank(), 1)};
        for (auto [o, i] : llvm::zip(outDims, inDims)) {
          ib.start[i] = box.start[o];
          ib.count[i] = box.count[o];
        }
        std::unique_ptr<Dense> in = evaluate(re.getInput(), ib, depth + 1);
        if (in)
          in->shape = box.count;
        return in;
      }
    }

    // Anything else is evaluated whole, then cut.
    const Dense *whole = evaluateWhole(v, depth);
    if (!whole)
      return nullptr;
    SmallVector<int64_t> strides = stridesOf(whole->shape);
    out->values.resize(n);
    forEachIndex(box.count, [&](int64_t flat, ArrayRef<int64_t> idx) {
      int64_t src = 0;
      for (int64_t d = 0; d < rank; ++d)
        src += (box.start[d] + idx[d]) * strides[d];
      out->values[flat] = whole->values[src];
    });
    return out;
  }

private:
  /// The whole of `v` for ops a block cannot follow (memoized).
  const Dense *evaluateWhole(Value v, unsigned depth) {
    auto found = whole.find(v);
    if (found != whole.end())
      return found->second.get();
    auto type = cast<RankedTensorType>(v.getType());
    std::unique_ptr<Dense> result;
    Operation *op = v.getDefiningOp();
    if (type.getNumElements() <= limit) {
      if (auto re = dyn_cast<ReshapeOp>(op)) {
        auto it = re.getInput().getType();
        result = evaluate(re.getInput(), wholeBox(it.getShape()), depth + 1);
        if (result)
          result->shape.assign(type.getShape().begin(), type.getShape().end());
      } else if (auto cat = dyn_cast<ConcatOp>(op)) {
        result = std::make_unique<Dense>();
        result->shape.assign(type.getShape().begin(), type.getShape().end());
        result->values.resize(type.getNumElements());
        int64_t axis = cat.getAxis(), offset = 0;
        SmallVector<int64_t> strides = stridesOf(type.getShape());
        for (Value in : cat.getInputs()) {
          auto it = cast<RankedTensorType>(in.getType());
          std::unique_ptr<Dense> part =
              evaluate(in, wholeBox(it.getShape()), depth + 1);
          if (!part) {
            result = nullptr;
            break;
          }
          forEachIndex(it.getShape(), [&](int64_t flat, ArrayRef<int64_t> idx) {
            int64_t dst = 0;
            for (size_t d = 0; d < idx.size(); ++d)
              dst += (idx[d] + ((int64_t)d == axis ? offset : 0)) * strides[d];
            result->values[dst] = part->values[flat];
          });
          offset += it.getDimSize(axis);
        }
      }
    }
    const Dense *ptr = result.get();
    whole[v] = std::move(result);
    return ptr;
  }

  int64_t limit;
  DenseMap<Value, bool> computable;
  DenseMap<Value, std::unique_ptr<Dense>> whole;
};

//===----------------------------------------------------------------------===//
// Helpers on the graph
//===----------------------------------------------------------------------===//

/// The value of a splat float constant.
std::optional<double> splatValue(Value v) {
  auto c = v.getDefiningOp<arith::ConstantOp>();
  if (!c)
    return std::nullopt;
  auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
  if (!dense || !dense.isSplat() || !isa<FloatType>(dense.getElementType()))
    return std::nullopt;
  return dense.getSplatValue<APFloat>().convertToDouble();
}

/// A constant, or data movement of one (a weight, not an activation).
bool isConstantLike(Value v, unsigned depth = 0) {
  Operation *op = v.getDefiningOp();
  if (!op || depth > 8)
    return false;
  if (isa<arith::ConstantOp>(op))
    return true;
  if (isa<ReshapeOp, TransposeOp, BroadcastOp, CastOp, SliceOp>(op))
    return isConstantLike(op->getOperand(0), depth + 1);
  return false;
}

/// Whether `v` is q @ kT of two activations, possibly scaled, capped or
/// masked: the scores of an attention.
bool reachesScores(Value v, unsigned depth = 0) {
  Operation *op = v.getDefiningOp();
  if (!op || depth > 12)
    return false;
  if (auto mm = dyn_cast<MatmulOp>(op))
    return !isConstantLike(mm.getLhs()) && !isConstantLike(mm.getRhs());
  if (auto sel = dyn_cast<SelectOp>(op))
    return reachesScores(sel.getTrueValue(), depth + 1) ||
           reachesScores(sel.getFalseValue(), depth + 1);
  if (isa<AddOp, SubOp, MulOp, DivOp, MaxOp, TanhOp, NegOp, CastOp>(op))
    return llvm::any_of(op->getOperands(), [&](Value operand) {
      return reachesScores(operand, depth + 1);
    });
  return false;
}

/// Whether computing `v` involves `target`. Only ops after `target` in its
/// block can, so the search stays between the two; a search that grows
/// too large answers yes (the conservative answer).
bool dependsOn(Value v, Operation *target) {
  SmallVector<Value> worklist = {v};
  DenseSet<Operation *> seen;
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val().getDefiningOp();
    if (!op || !seen.insert(op).second)
      continue;
    if (op == target || seen.size() > 65536)
      return true;
    if (op->getBlock() != target->getBlock() || op->isBeforeInBlock(target))
      continue;
    llvm::append_range(worklist, op->getOperands());
  }
  return false;
}

std::string nameOf(Operation *op) { return op->getName().getStringRef().str(); }

std::string formatNumber(double x) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format("%g", x);
  return s;
}

/// Where each head of a [B, H, T, D] tensor comes from: head `o` is head
/// `heads[o]` of `base`, through the repeats PyTorch exports.
struct HeadSource {
  Value base;
  SmallVector<int64_t> heads;
};

HeadSource headSource(Value v, unsigned depth = 0) {
  auto t = cast<RankedTensorType>(v.getType());
  HeadSource self{v, {}};
  if (t.getRank() != 4)
    return self;
  for (int64_t h = 0; h < t.getDimSize(1); ++h)
    self.heads.push_back(h);
  Operation *op = v.getDefiningOp();
  if (!op || depth > 16)
    return self;
  auto sameExceptHeads = [&](RankedTensorType o) {
    return o.getRank() == 4 && o.getDimSize(0) == t.getDimSize(0) &&
           o.getDimSize(2) == t.getDimSize(2) &&
           o.getDimSize(3) == t.getDimSize(3);
  };

  // torch.repeat_interleave: per-head pieces concatenated along the heads.
  if (auto cat = dyn_cast<ConcatOp>(op)) {
    if (cat.getAxis() != 1)
      return self;
    HeadSource joined;
    for (Value in : cat.getInputs()) {
      HeadSource part = headSource(in, depth + 1);
      if (joined.base && part.base != joined.base)
        return self;
      joined.base = part.base;
      llvm::append_range(joined.heads, part.heads);
    }
    return joined;
  }
  // A range of heads (ONNX Split along the heads).
  if (auto sl = dyn_cast<SliceOp>(op)) {
    auto it = sl.getInput().getType();
    if (!sameExceptHeads(it))
      return self;
    ArrayRef<int64_t> starts = sl.getStarts(), steps = sl.getSteps();
    for (int64_t d : {0, 2, 3})
      if (starts[d] != 0 || steps[d] != 1)
        return self;
    HeadSource inner = headSource(sl.getInput(), depth + 1);
    HeadSource result{inner.base, {}};
    for (int64_t o = 0; o < t.getDimSize(1); ++o)
      result.heads.push_back(inner.heads[starts[1] + o * steps[1]]);
    return result;
  }
  // [B, a1, a2, T, D] -> [B, a1 * a2, T, D], the 5-D tensor a broadcast of
  // a reshape of [B, b1 * b2, T, D] with b1 in {1, a1}, b2 in {1, a2}:
  // repeat_kv's unsqueeze + expand + reshape (b2 = 1), or a tile (b1 = 1).
  auto merge = dyn_cast<ReshapeOp>(op);
  if (!merge)
    return self;
  auto xt = merge.getInput().getType();
  if (xt.getRank() != 5 || xt.getDimSize(0) != t.getDimSize(0) ||
      xt.getDimSize(3) != t.getDimSize(2) ||
      xt.getDimSize(4) != t.getDimSize(3))
    return self;
  int64_t a1 = xt.getDimSize(1), a2 = xt.getDimSize(2);
  Value y = merge.getInput();
  if (auto bc = y.getDefiningOp<BroadcastOp>())
    y = bc.getInput();
  auto yt = cast<RankedTensorType>(y.getType());
  if (yt.getRank() != 5 || yt.getDimSize(0) != xt.getDimSize(0) ||
      yt.getDimSize(3) != xt.getDimSize(3) ||
      yt.getDimSize(4) != xt.getDimSize(4))
    return self;
  int64_t b1 = yt.getDimSize(1), b2 = yt.getDimSize(2);
  if ((b1 != 1 && b1 != a1) || (b2 != 1 && b2 != a2))
    return self;
  auto split = y.getDefiningOp<ReshapeOp>();
  if (!split)
    return self;
  auto zt = split.getInput().getType();
  if (!sameExceptHeads(zt) || zt.getDimSize(1) != b1 * b2)
    return self;
  HeadSource inner = headSource(split.getInput(), depth + 1);
  HeadSource result{inner.base, {}};
  for (int64_t i1 = 0; i1 < a1; ++i1)
    for (int64_t i2 = 0; i2 < a2; ++i2)
      result.heads.push_back(
          inner.heads[(b1 == 1 ? 0 : i1) * b2 + (b2 == 1 ? 0 : i2)]);
  return result;
}

/// The number of key/value heads when `s` is kiln.attention's grouping of
/// its base (output head o reads base head o / group), or 0.
int64_t groupedHeads(const HeadSource &s) {
  int64_t kv = cast<RankedTensorType>(s.base.getType()).getDimSize(1);
  int64_t h = s.heads.size();
  if (kv == 0 || h % kv != 0)
    return 0;
  for (int64_t o = 0; o < h; ++o)
    if (s.heads[o] != o / (h / kv))
      return 0;
  return kv;
}

//===----------------------------------------------------------------------===//
// The match
//===----------------------------------------------------------------------===//

/// One mask applied to the scores between the matmul and the softmax.
struct MaskTerm {
  enum Kind {
    Add,       // scores + value
    Remove,    // select(value, -inf, scores)
    Keep,      // select(value, scores, -inf)
    FillIf,    // select(value, fill, scores), fill <= kRemovingFill
    FillIfNot, // select(value, scores, fill)
  } kind;
  Value value;
  double fill = 0;
};

struct AttentionMatch {
  SoftmaxOp softmax;
  MatmulOp scores, output;
  Value query, keyT;
  double scale = 1, softcap = 0;
  SmallVector<MaskTerm> masks;
  /// HF Llama's torch.max(scores, finfo.min) after the masks, if any.
  std::optional<double> clamp;
};

/// Walks back from the softmax input to the q @ kT matmul, collecting the
/// scale, the softcap and the masks in kiln.attention's order (scale, then
/// softcap, then masks). Returns why it fails, or "".
std::string matchScores(AttentionMatch &m) {
  enum Stage { Masks, Softcap, Scale } stage = Masks;
  Value x = m.softmax.getInput();
  auto isChain = [](Value v, Type t) {
    return v.getType() == t && reachesScores(v);
  };
  while (true) {
    Operation *op = x.getDefiningOp();
    if (!op)
      return "the scores are not computed by a matmul";
    if (auto mm = dyn_cast<MatmulOp>(op)) {
      m.scores = mm;
      break;
    }
    if (auto add = dyn_cast<AddOp>(op)) {
      bool lhs = isChain(add.getLhs(), add.getType());
      bool rhs = isChain(add.getRhs(), add.getType());
      if (lhs && rhs)
        return "kiln.add of two score-like tensors is not a mask";
      if (!lhs && !rhs)
        return "the scores reach the softmax through ops this pass does "
               "not know";
      if (stage != Masks)
        return "an additive mask is applied before the scale or softcap";
      m.masks.push_back({MaskTerm::Add, lhs ? add.getRhs() : add.getLhs()});
      x = lhs ? add.getLhs() : add.getRhs();
      continue;
    }
    if (auto sel = dyn_cast<SelectOp>(op)) {
      Value tv = sel.getTrueValue(), fv = sel.getFalseValue();
      std::optional<double> ft = splatValue(tv), ff = splatValue(fv);
      MaskTerm term{MaskTerm::Remove, sel.getCondition()};
      double fill;
      if (ft && isChain(fv, sel.getType())) {
        fill = *ft;
        term.kind = MaskTerm::FillIf;
        x = fv;
      } else if (ff && isChain(tv, sel.getType())) {
        fill = *ff;
        term.kind = MaskTerm::FillIfNot;
        x = tv;
      } else {
        return "the scores pass through a kiln.select that is not a "
               "masked_fill with a constant";
      }
      if (stage == Softcap)
        return "a mask is applied before the softcap";
      // Scales met so far come after this mask: they scale the fill too.
      if (stage == Scale && !(m.scale > 0))
        return "a mask is scaled by a non-positive factor";
      fill *= m.scale;
      if (std::isnan(fill) || fill > kRemovingFill)
        return "masked_fill with " + formatNumber(fill) +
               " does not remove keys (kiln.attention adds a mask or "
               "removes keys)";
      if (std::isinf(fill))
        term.kind =
            term.kind == MaskTerm::FillIf ? MaskTerm::Remove : MaskTerm::Keep;
      term.fill = (double)(float)fill;
      m.masks.push_back(term);
      continue;
    }
    if (auto max = dyn_cast<MaxOp>(op)) {
      // max(scores, C) with C ~ finfo.min keeps masked scores finite, so a
      // query with every key masked gets a uniform average, not NaN.
      std::optional<double> cl = splatValue(max.getLhs());
      std::optional<double> cr = splatValue(max.getRhs());
      Value other = cr ? max.getLhs() : max.getRhs();
      std::optional<double> c = cr ? cr : cl;
      if (!c || other.getType() != max.getType() || !(*c <= kClampFloor))
        return "the scores pass through a kiln.max that is not a clamp at "
               "about finfo.min";
      if (stage != Masks || !m.masks.empty() || m.clamp)
        return "the scores are clamped before a mask, scale or softcap";
      m.clamp = *c;
      x = other;
      continue;
    }
    if (auto mul = dyn_cast<MulOp>(op)) {
      std::optional<double> cl = splatValue(mul.getLhs());
      std::optional<double> cr = splatValue(mul.getRhs());
      Value other = cr ? mul.getLhs() : mul.getRhs();
      std::optional<double> c = cr ? cr : cl;
      if (!c || other.getType() != mul.getType())
        return "the scores are multiplied by a tensor, not a scalar";
      // softcap: cap * tanh(s / cap).
      if (auto tanh = other.getDefiningOp<TanhOp>()) {
        Value in = tanh.getInput();
        Value inner;
        if (auto div = in.getDefiningOp<DivOp>()) {
          if (splatValue(div.getRhs()) == c)
            inner = div.getLhs();
        } else if (auto mulInv = in.getDefiningOp<MulOp>()) {
          std::optional<double> r = splatValue(mulInv.getRhs());
          if (r && std::fabs(*r * *c - 1) < 1e-6)
            inner = mulInv.getLhs();
        }
        if (!inner || inner.getType() != mul.getType() || !(*c > 0))
          return "the scores pass through a tanh that is not a softcap";
        if (stage != Masks)
          return "the scores are scaled after the softcap";
        stage = Softcap;
        m.softcap = *c;
        x = inner;
        continue;
      }
      stage = Scale;
      m.scale *= *c;
      x = other;
      continue;
    }
    if (auto div = dyn_cast<DivOp>(op)) {
      std::optional<double> c = splatValue(div.getRhs());
      if (!c || div.getLhs().getType() != div.getType())
        return "the scores are divided by a tensor, not a scalar";
      stage = Scale;
      m.scale /= *c;
      x = div.getLhs();
      continue;
    }
    return "the scores pass through " + nameOf(op) + " before the softmax";
  }
  // Scalar factors on q or kT scale the scores too.
  auto peel = [&](Value v) {
    while (Operation *op = v.getDefiningOp()) {
      if (!isa<MulOp, DivOp>(op) || op->getResult(0).getType() != v.getType())
        break;
      Value a = op->getOperand(0), b = op->getOperand(1);
      std::optional<double> cb = splatValue(b);
      std::optional<double> ca = isa<MulOp>(op) ? splatValue(a) : std::nullopt;
      if (cb && a.getType() == v.getType()) {
        m.scale = isa<MulOp>(op) ? m.scale * *cb : m.scale / *cb;
        v = a;
      } else if (ca && b.getType() == v.getType()) {
        m.scale *= *ca;
        v = b;
      } else {
        break;
      }
    }
    return v;
  };
  m.query = peel(m.scores.getLhs());
  m.keyT = peel(m.scores.getRhs());
  if (!std::isfinite(m.scale))
    return "the scale is not finite";
  return "";
}

//===----------------------------------------------------------------------===//
// Masks
//===----------------------------------------------------------------------===//

/// How the masks become kiln.attention operands and attributes.
struct MaskPlan {
  MaskKind kind = MaskKind::None;
  int64_t left = -1, right = -1;
  SmallVector<MaskTerm> operandTerms; // combined into the mask operand
};

/// Whether a constant of this shape is a function of (query, key) only:
/// broadcast on the right to [S, L] with unit leading dimensions.
bool isPositional(ArrayRef<int64_t> shape, int64_t s, int64_t l) {
  size_t r = shape.size();
  if (r == 0)
    return false;
  for (size_t d = 0; d + 2 < r; ++d)
    if (shape[d] != 1)
      return false;
  if (shape[r - 1] != 1 && shape[r - 1] != l)
    return false;
  return r < 2 || shape[r - 2] == 1 || shape[r - 2] == s;
}

/// Finds the mask kind a set of constant terms equals exactly, if any. The
/// terms are evaluated a block of rows at a time; each query row must keep
/// one contiguous run of keys with no bias added, and the runs must be the
/// band of one (left, right) window.
bool classifyPositional(ArrayRef<MaskTerm> terms, int64_t s, int64_t l,
                        ConstantEvaluator &evaluator, MaskPlan &plan) {
  if (s == 0 || l == 0)
    return false;
  SmallVector<int64_t> first(s), last(s); // the kept run of each row
  int64_t block = std::max<int64_t>(1, (int64_t(1) << 20) / l);
  for (int64_t r0 = 0; r0 < s; r0 += block) {
    int64_t rows = std::min(block, s - r0);
    std::vector<char> removed(rows * l, 0);
    std::vector<double> bias(rows * l, 0);
    for (const MaskTerm &term : terms) {
      // The term's [.., S or 1, L or 1] block for these rows.
      ArrayRef<int64_t> shape =
          cast<RankedTensorType>(term.value.getType()).getShape();
      int64_t r = shape.size();
      Box box = wholeBox(shape);
      if (r >= 2 && shape[r - 2] != 1) {
        box.start[r - 2] = r0;
        box.count[r - 2] = rows;
      }
      std::unique_ptr<Dense> d = evaluator.evaluate(term.value, box);
      if (!d)
        return false;
      while (d->shape.size() > 2) // unit leading dimensions
        d->shape.erase(d->shape.begin());
      std::vector<double> v = broadcastTo(*d, {rows, l});
      for (int64_t i = 0; i < rows * l; ++i) {
        double x = v[i];
        if (std::isnan(x))
          return false;
        switch (term.kind) {
        case MaskTerm::Add:
          if (x == std::numeric_limits<double>::infinity())
            return false;
          if (x <= kRemovingFill)
            removed[i] = 1;
          else
            bias[i] += x;
          break;
        case MaskTerm::Remove:
        case MaskTerm::FillIf:
          if (x != 0)
            removed[i] = 1;
          break;
        case MaskTerm::Keep:
        case MaskTerm::FillIfNot:
          if (x == 0)
            removed[i] = 1;
          break;
        }
      }
    }
    // Every query keeps a key (else torch's output for that row depends on
    // the fill), in one run, unbiased.
    for (int64_t ii = 0; ii < rows; ++ii) {
      const char *row = removed.data() + ii * l;
      int64_t f = 0;
      while (f < l && row[f])
        ++f;
      if (f == l)
        return false;
      int64_t e = f;
      while (e + 1 < l && !row[e + 1])
        ++e;
      for (int64_t j = e + 1; j < l; ++j)
        if (!row[j])
          return false;
      for (int64_t j = f; j <= e; ++j)
        if (bias[ii * l + j] != 0)
          return false;
      first[r0 + ii] = f;
      last[r0 + ii] = e;
    }
  }
  // The window that the widest runs need, then every run must be exactly
  // that window clipped to [0, L).
  int64_t left = std::numeric_limits<int64_t>::min(), right = left;
  for (int64_t i = 0; i < s; ++i) {
    left = std::max(left, i - first[i]);
    right = std::max(right, last[i] - i);
  }
  if (left < 0 || right < 0)
    return false; // a band that excludes the diagonal has no kind
  for (int64_t i = 0; i < s; ++i)
    if (first[i] != std::max<int64_t>(0, i - left) ||
        last[i] != std::min<int64_t>(l - 1, i + right))
      return false;
  bool leftOpen = left >= s - 1, rightOpen = right >= l - 1;
  if (leftOpen && rightOpen) {
    plan.kind = MaskKind::None;
  } else if (leftOpen && right == 0) {
    plan.kind = MaskKind::Causal;
  } else {
    plan.kind = MaskKind::SlidingWindow;
    plan.left = leftOpen ? -1 : left;
    plan.right = rightOpen ? -1 : right;
  }
  return true;
}

/// The one mask operand the remaining terms make: i1 (true keeps a pair)
/// when all of them remove pairs, else a float mask added to the scores;
/// with a clamp, max(sum of the terms as additive masks, clamp).
Value buildMaskOperand(OpBuilder &b, Location loc, ArrayRef<MaskTerm> terms,
                       Type elt, std::optional<double> clamp) {
  auto scalar = [&](Type t, double v) -> Value {
    auto type = RankedTensorType::get({}, t);
    return arith::ConstantOp::create(
        b, loc, type, DenseElementsAttr::get(type, b.getFloatAttr(t, v)));
  };
  auto shapeOf = [](Value v) {
    return cast<RankedTensorType>(v.getType()).getShape();
  };
  auto combine = [&](ArrayRef<Value> parts, bool isAnd) -> Value {
    Value acc = parts.front();
    for (Value p : parts.drop_front()) {
      SmallVector<int64_t> shape = *broadcastShapes({shapeOf(acc), shapeOf(p)});
      auto type = RankedTensorType::get(
          shape, cast<RankedTensorType>(acc.getType()).getElementType());
      acc = isAnd ? (Value)AndOp::create(b, loc, type, acc, p)
                  : (Value)AddOp::create(b, loc, type, acc, p);
    }
    return acc;
  };
  auto fillWhere = [&](Value cond, double yes, double no) -> Value {
    auto type = RankedTensorType::get(shapeOf(cond), elt);
    return SelectOp::create(b, loc, type, cond, scalar(elt, yes),
                            scalar(elt, no));
  };
  SmallVector<Value> keeps, adds;
  for (const MaskTerm &t : terms) {
    switch (t.kind) {
    case MaskTerm::Add:
      adds.push_back(t.value);
      break;
    case MaskTerm::Keep:
      keeps.push_back(t.value);
      break;
    case MaskTerm::Remove:
      if (auto n = t.value.getDefiningOp<NotOp>())
        keeps.push_back(n.getInput());
      else
        keeps.push_back(NotOp::create(b, loc, t.value.getType(), t.value));
      break;
    case MaskTerm::FillIf:
      adds.push_back(fillWhere(t.value, t.fill, 0));
      break;
    case MaskTerm::FillIfNot:
      adds.push_back(fillWhere(t.value, 0, t.fill));
      break;
    }
  }
  if (clamp) { // see tryRaise: nothing removed, -inf becomes the clamp
    for (Value k : keeps)
      adds.push_back(fillWhere(k, 0, *clamp));
    Value sum = combine(adds, /*isAnd=*/false);
    return MaxOp::create(b, loc, sum.getType(), sum, scalar(elt, *clamp));
  }
  if (adds.empty())
    return combine(keeps, /*isAnd=*/true);
  for (Value k : keeps)
    adds.push_back(fillWhere(k, 0, -std::numeric_limits<double>::infinity()));
  return combine(adds, /*isAnd=*/false);
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct RaiseAttentionPass : kiln::impl::RaiseAttentionBase<RaiseAttentionPass> {
  using RaiseAttentionBase::RaiseAttentionBase;

  void runOnOperation() override {
    SmallVector<SoftmaxOp> candidates;
    getOperation().walk([&](SoftmaxOp op) { candidates.push_back(op); });
    for (SoftmaxOp softmax : candidates) {
      if (erased.contains(softmax.getOperation()))
        continue;
      if (!looksLikeAttention(softmax))
        continue;
      // A fresh evaluator each time: values it memoized may be erased.
      ConstantEvaluator evaluator(maxMaskElements);
      std::string why = tryRaise(softmax, evaluator);
      if (!why.empty())
        reportLeft(softmax, "attention", why);
    }
  }

  /// A softmax of scores (q @ kT of two activations), or one whose result
  /// is multiplied by an activation: anything else is not attention and
  /// gets no remark (a MoE router's softmax, say).
  static bool looksLikeAttention(SoftmaxOp softmax) {
    if (reachesScores(softmax.getInput()))
      return true;
    return llvm::any_of(softmax->getUsers(), [&](Operation *user) {
      auto mm = dyn_cast<MatmulOp>(user);
      return mm && mm.getLhs() == softmax.getResult() &&
             !isConstantLike(mm.getRhs());
    });
  }

  /// Raises the attention around `softmax`; returns why not, or "".
  std::string tryRaise(SoftmaxOp softmax, ConstantEvaluator &evaluator) {
    AttentionMatch m;
    m.softmax = softmax;
    auto st = softmax.getType();
    int64_t rank = st.getRank();
    if (softmax.getNormalizedAxis() != rank - 1)
      return "the softmax is over axis " +
             std::to_string(softmax.getNormalizedAxis()) +
             ", not the key axis " + std::to_string(rank - 1);
    for (Operation *user : softmax->getUsers())
      if (auto mm = dyn_cast<MatmulOp>(user))
        if (mm.getLhs() == softmax.getResult()) {
          m.output = mm;
          break;
        }
    if (!m.output) {
      Operation *user =
          softmax->use_empty() ? nullptr : *softmax->getUsers().begin();
      if (user && isa<AddOp, SubOp, MulOp, DivOp>(user))
        return "the probabilities go through " + nameOf(user) +
               " before the value matmul";
      return "the probabilities are not multiplied by values";
    }
    if (std::string why = matchScores(m); !why.empty())
      return why;
    if (isConstantLike(m.scores.getLhs()) || isConstantLike(m.scores.getRhs()))
      return "the scores multiply by a constant, not q @ kT";
    if (rank < 2 || rank > 4)
      return "the scores have rank " + std::to_string(rank) +
             " (kiln.attention takes [B, H, S, L])";

    // Shapes: q [.., S, D], kT [.., D, L], v [.., L, Dv], all with the
    // scores' batch dimensions (K/V may have one head: MQA).
    auto qt = cast<RankedTensorType>(m.query.getType());
    ArrayRef<int64_t> batch = st.getShape().drop_back(2);
    if (qt.getShape().drop_back(2) != batch)
      return "the query's batch dimensions broadcast";
    int64_t s = st.getDimSize(rank - 2), l = st.getDimSize(rank - 1);

    // The key as [.., L, D]: kT's own transposes composed with (-2, -1).
    // keyT = transpose(src, perm), key = transpose(src, keyPerm).
    Value src = m.keyT;
    SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, rank));
    while (auto tr = src.getDefiningOp<TransposeOp>()) {
      ArrayRef<int64_t> p = tr.getPermutation();
      for (int64_t &d : perm)
        d = p[d];
      src = tr.getInput();
    }
    SmallVector<int64_t> keyPerm(perm);
    std::swap(keyPerm[rank - 2], keyPerm[rank - 1]);
    Value value = m.output.getRhs();

    // GQA: un-repeat K and V when both are repeats of the same grouping.
    HeadSource keyHeads{src, {}}, valueHeads{value, {}};
    int64_t kvHeads = 0;
    if (rank == 4 && keyPerm[0] == 0 && keyPerm[1] == 1) {
      keyHeads = headSource(src);
      valueHeads = headSource(value);
      int64_t kk = groupedHeads(keyHeads), kv = groupedHeads(valueHeads);
      if (kk && kk == kv && keyHeads.base != src)
        kvHeads = kk;
    }
    if (kvHeads) {
      src = keyHeads.base;
      value = valueHeads.base;
    }
    auto srcType = cast<RankedTensorType>(src.getType());
    SmallVector<int64_t> keyShape;
    for (int64_t d : keyPerm)
      keyShape.push_back(srcType.getDimSize(d));
    auto vt = cast<RankedTensorType>(value.getType());
    // Lifted to 4-D by leading unit dimensions; masks broadcast on the
    // right, so they need no change.
    auto lift = [&](ArrayRef<int64_t> shape) {
      SmallVector<int64_t> r(4 - shape.size(), 1);
      llvm::append_range(r, shape);
      return r;
    };
    SmallVector<int64_t> q4 = lift(qt.getShape()), k4 = lift(keyShape),
                         v4 = lift(vt.getShape());
    if (k4[0] != q4[0] || v4[0] != q4[0])
      return "the key or value batch broadcasts against the query's";
    if (k4[1] != v4[1] || k4[1] == 0 || q4[1] % k4[1] != 0)
      return "the key and value heads do not divide the query heads";
    if (k4[2] != l || v4[2] != l || k4[3] != q4[3])
      return "the key and value shapes do not match the scores";

    // Masks: constant positional terms may become a mask kind.
    MaskPlan plan;
    SmallVector<MaskTerm> positional;
    for (const MaskTerm &t : m.masks) {
      if (dependsOn(t.value, m.scores))
        return "the mask depends on the attention scores";
      auto shape = cast<RankedTensorType>(t.value.getType()).getShape();
      if (isPositional(shape, s, l) && evaluator.isComputable(t.value))
        positional.push_back(t);
      else
        plan.operandTerms.push_back(t);
    }
    if (!positional.empty() &&
        !classifyPositional(positional, s, l, evaluator, plan))
      llvm::append_range(plan.operandTerms, positional);
    // A clamp changes nothing when the mask kind alone masks (every query
    // keeps a key). With a mask operand, a query may lose every key; torch
    // then averages all keys (every score clamped to C), so no pair may be
    // removed: every term becomes additive, -inf fills become C, and the
    // sum is clamped at C (scores + C rounds to C, as in torch).
    if (m.clamp && !plan.operandTerms.empty()) {
      plan = MaskPlan();
      plan.operandTerms = m.masks;
    }

    // Build it.
    Type elt = st.getElementType();
    OpBuilder b(m.output);
    Location loc =
        b.getFusedLoc({m.scores.getLoc(), softmax.getLoc(), m.output.getLoc()});
    auto ty = [&](ArrayRef<int64_t> shape) {
      return RankedTensorType::get(shape, elt);
    };
    auto reshapeTo = [&](Value v, ArrayRef<int64_t> shape) -> Value {
      if (cast<RankedTensorType>(v.getType()).getShape() == shape)
        return v;
      return ReshapeOp::create(b, loc, ty(shape), v);
    };
    Value key = src;
    if (!llvm::equal(keyPerm, llvm::seq<int64_t>(0, rank)))
      key = TransposeOp::create(b, loc, ty(keyShape), src,
                                b.getDenseI64ArrayAttr(keyPerm));
    Value q = reshapeTo(m.query, q4);
    key = reshapeTo(key, k4);
    value = reshapeTo(value, v4);
    Value mask;
    if (!plan.operandTerms.empty())
      mask = buildMaskOperand(b, loc, plan.operandTerms, elt, m.clamp);
    // Other users of the probabilities read the op's scores result.
    bool probsUsed = llvm::any_of(softmax->getUsers(), [&](Operation *u) {
      return u != m.output.getOperation();
    });
    SmallVector<int64_t> scores4 = lift(st.getShape());
    auto op = AttentionOp::create(
        b, loc, ty({q4[0], q4[1], q4[2], v4[3]}), ty(k4), ty(v4),
        probsUsed ? (Type)ty(scores4) : Type(), q, key, value, mask,
        /*past_key=*/Value(), /*past_value=*/Value(),
        /*global_indices=*/Value(), /*kv_seqlen=*/Value(),
        b.getF32FloatAttr(m.scale), b.getF32FloatAttr(m.softcap),
        probsUsed ? ScoreStageAttr::get(b.getContext(), ScoreStage::Probs)
                  : ScoreStageAttr(),
        MaskKindAttr::get(b.getContext(), plan.kind),
        b.getI64IntegerAttr(plan.left), b.getI64IntegerAttr(plan.right),
        b.getI64IntegerAttr(0), b.getI64IntegerAttr(0), DenseBoolArrayAttr());

    reportRaised(softmax, "attention",
                 describe(m, plan, q4[1], k4[1], mask, rank));
    Value out = op.getOutput();
    if (rank < 4)
      out = ReshapeOp::create(b, loc, m.output.getType(), out);
    if (probsUsed) {
      Value probs = op.getScores();
      if (rank < 4)
        probs = ReshapeOp::create(b, loc, st, probs);
      softmax.getResult().replaceUsesWithIf(probs, [&](OpOperand &use) {
        return use.getOwner() != m.output.getOperation();
      });
    }
    m.output.getResult().replaceAllUsesWith(out);
    eraseDead(m.output);
    return "";
  }

  static std::string describe(const AttentionMatch &m, const MaskPlan &plan,
                              int64_t heads, int64_t kvHeads, Value mask,
                              int64_t rank) {
    std::string s;
    llvm::raw_string_ostream os(s);
    switch (plan.kind) {
    case MaskKind::Causal:
      os << "causal";
      break;
    case MaskKind::SlidingWindow:
      os << "sliding window, left " << plan.left << ", right " << plan.right;
      break;
    default:
      os << (mask ? "" : "no mask");
      break;
    }
    if (mask) {
      if (plan.kind != MaskKind::None)
        os << " + ";
      auto mt = cast<RankedTensorType>(mask.getType());
      os << mt.getElementType() << " mask operand";
      if (m.clamp)
        os << " clamped at " << formatNumber(*m.clamp);
    }
    os << ", " << heads << (heads == 1 ? " head" : " heads");
    if (kvHeads != heads)
      os << " on " << kvHeads << (kvHeads == 1 ? " kv head" : " kv heads");
    if (rank < 4)
      os << " from " << rank << "-D scores";
    os << ", scale " << formatNumber((float)m.scale);
    if (m.softcap > 0)
      os << ", softcap " << formatNumber(m.softcap);
    return s;
  }

  /// Erases `root` and every op that becomes unused through it (the old
  /// matmuls, softmax, masks, head reshapes and their constants).
  void eraseDead(Operation *root) {
    SmallVector<Operation *> worklist = {root};
    while (!worklist.empty()) {
      Operation *op = worklist.pop_back_val();
      if (erased.contains(op) || !isOpTriviallyDead(op))
        continue;
      for (Value operand : op->getOperands())
        if (Operation *def = operand.getDefiningOp())
          worklist.push_back(def);
      erased.insert(op);
      op->erase();
    }
  }

  DenseSet<Operation *> erased;
};

} // namespace
