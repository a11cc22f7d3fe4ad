//===- RaiseRmsNorm.cpp - The kiln-raise-rms-norm pass --------------------===//
//
// Raises RMSNorm as LLaMA, Mistral, Mixtral and T5 write it, and as
// torch.onnx.export spells it at opset 17, to kiln.rms_norm:
//
//   v = ReduceMean(Pow(x, 2) | x * x, trailing axes, keepdims)
//   r = 1 / Sqrt(v + eps)  |  Reciprocal(Sqrt(v + eps))  |  Rsqrt(v + eps)
//   n = x * r              |  x / Sqrt(v + eps)
//   y = weight * n         (optional; either operand order)
//
// torch exports `torch.rsqrt` as Div(1, Sqrt). The mixed-precision variant
// (`x.to(float32)` first, `.to(input_dtype)` before the weight) becomes
// `cast(rms_norm(x32, cast(weight)), input type)`: the normalization keeps
// its f32 arithmetic, and the weight product moves inside it, in f32, so
// the result is rounded once instead of twice (a float rounding
// difference, nothing more).
//
// The anchor is a mean of a square. The mean must be over the trailing
// axes (kiln.rms_norm normalizes over [axis, rank)) and keep them, and
// every intermediate value must feed only the next step.
//
//===----------------------------------------------------------------------===//

#include "RaisingUtils.h"

#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/passes/Raising/Passes.h"
#include "kiln/passes/Raising/RaisingReport.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

namespace kiln {
#define GEN_PASS_DEF_RAISERMSNORM
#include "kiln/passes/Raising/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::raising;

namespace {


/// The operand of binary `op` that is not `v`, when `op` is a `T` that
/// uses `v` (either side).
template <typename T> Value otherOperand(Operation *op, Value v) {
  auto b = dyn_cast_or_null<T>(op);
  if (!b)
    return {};
  if (b.getLhs() == v)
    return b.getRhs();
  if (b.getRhs() == v)
    return b.getLhs();
  return {};
}

struct RaiseRmsNormPass : kiln::impl::RaiseRmsNormBase<RaiseRmsNormPass> {
  SmallVector<Operation *> dead;

  void runOnOperation() override {
    raising::resolveShapeQueries(getOperation());
    SmallVector<ReduceMeanOp> means;
    getOperation().walk([&](ReduceMeanOp op) { means.push_back(op); });
    for (ReduceMeanOp mean : means)
      raise(mean);
    eraseDeadOps(dead);
  }

  /// The x of x^2 (Pow(x, 2) or x * x), or null.
  static Value squared(Value v) {
    if (auto pow = v.getDefiningOp<PowOp>()) {
      std::optional<double> e = splatFloat(pow.getRhs());
      Type elt = cast<RankedTensorType>(v.getType()).getElementType();
      if (e && isNear(*e, 2.0, elt) && pow.getType() == pow.getLhs().getType())
        return pow.getLhs();
      return {};
    }
    if (auto mul = v.getDefiningOp<MulOp>())
      if (mul.getLhs() == mul.getRhs())
        return mul.getLhs();
    return {};
  }

  /// What a match found, step by step.
  struct Match {
    /// The normalized input, and its type.
    Value x;
    RankedTensorType xt;
    /// kiln.rms_norm's axis (negative: from the end) and epsilon.
    int64_t axis = 0;
    double eps = 0;
    /// The normalized value x * rsqrt(...); the cast back to the input's
    /// type (f32 variant); the weight and the product with it.
    Value n, narrowed, weight, product;
  };

  /// Reports why `mean` stays as it is.
  static void left(ReduceMeanOp mean, const Twine &why) {
    reportLeft(mean, "rms_norm", why.str());
  }

  void raise(ReduceMeanOp mean) {
    Match m;
    Value sq = mean.getInput();
    m.x = squared(sq);
    if (!m.x || !sq.hasOneUse())
      return; // not the mean square of anything
    m.xt = cast<RankedTensorType>(m.x.getType());
    Operation *user = nullptr;
    if (!matchTrailingAxes(mean, m) || !matchEpsilon(mean, m, user) ||
        !matchInverseRoot(mean, user, m))
      return;
    matchWeight(m);
    build(mean, m);
  }

  /// kiln.rms_norm normalizes over [axis, rank): the mean must cover exactly
  /// the trailing axes, and keep them.
  static bool matchTrailingAxes(ReduceMeanOp mean, Match &m) {
    int64_t rank = m.xt.getRank();
    ArrayRef<int64_t> axes = mean.getAxes();
    // kiln.rms_norm normalizes over [axis, rank): the mean must cover
    // exactly the trailing axes.
    SmallVector<int64_t> sorted(axes);
    llvm::sort(sorted);
    bool trailing = !sorted.empty() && sorted.back() == rank - 1;
    for (size_t i = 1; i < sorted.size() && trailing; ++i)
      trailing = sorted[i] == sorted[i - 1] + 1;
    if (!trailing) {
      SmallVector<std::string> names;
      for (int64_t a : sorted)
        names.push_back(std::to_string(a));
      left(mean, "the mean is over axes [" + llvm::join(names, ", ") +
                     "] of a rank-" + std::to_string(rank) +
                     " tensor, not its trailing axes");
      return false;
    }
    if (!mean.getKeepdims()) {
      left(mean, "the mean does not keep the reduced axes");
      return false;
    }
    m.axis = -(int64_t)sorted.size();
    return true;
  }

  /// The mean square plus epsilon (either order), or alone; `user` is then
  /// what reads it.
  static bool matchEpsilon(ReduceMeanOp mean, Match &m, Operation *&user) {
    // v + eps (either order), or v alone.
    Value v = mean.getResult();
    user = soleUser(v);
    if (!user) {
      left(mean, "the mean square has other uses");
      return false;
    }
    if (Value c = otherOperand<AddOp>(user, v)) {
      std::optional<double> e = splatFloat(c);
      if (!e || *e < 0 || user->getResult(0).getType() != v.getType()) {
        left(mean, "the value added to the mean square is not a non-negative "
                   "constant epsilon");
        return false;
      }
      m.eps = *e;
      v = user->getResult(0);
      user = soleUser(v);
      if (!user) {
        left(mean, "the mean square plus epsilon has other uses");
        return false;
      }
    }

    return true;
  }

  /// The inverse root: rsqrt(v), 1 / sqrt(v), reciprocal(sqrt(v)), times x;
  /// or the division x / sqrt(v) straight away.
  static bool matchInverseRoot(ReduceMeanOp mean, Operation *user, Match &m) {
    Value x = m.x;
    RankedTensorType xt = m.xt;
    Type elt = xt.getElementType();
    // The inverse root: rsqrt(v), 1 / sqrt(v), reciprocal(sqrt(v)); or the
    // division x / sqrt(v) straight away.
    Value &n = m.n;
    Value inv;
    if (isa<RsqrtOp>(user)) {
      inv = user->getResult(0);
    } else if (isa<SqrtOp>(user)) {
      Value root = user->getResult(0);
      Operation *next = soleUser(root);
      if (auto rec = dyn_cast_or_null<ReciprocalOp>(next)) {
        inv = rec.getResult();
      } else if (auto div = dyn_cast_or_null<DivOp>(next)) {
        std::optional<double> one = splatFloat(div.getLhs());
        if (div.getRhs() == root && one && isNear(*one, 1.0, elt) &&
            div.getType() == root.getType())
          inv = div.getResult();
        else if (div.getRhs() == root && div.getLhs() == x &&
                 div.getType() == xt)
          n = div.getResult();
      }
      if (!inv && !n) {
        left(mean, next && isa<AddOp>(next)
                       ? "epsilon is added after the square root"
                       : "the root is neither inverted nor divided into x");
        return false;
      }
    } else {
      left(mean, "the mean square (plus epsilon) is not square-rooted");
      return false;
    }
    if (inv) {
      Operation *scale = soleUser(inv);
      Value other = scale ? otherOperand<MulOp>(scale, inv) : Value();
      if (!other || scale->getResult(0).getType() != xt) {
        left(mean, "the inverse root does not scale the input");
        return false;
      }
      if (other != x) {
        left(mean,
             "the inverse root scales a value other than the squared one");
        return false;
      }
      n = scale->getResult(0);
    }

    return true;
  }

  /// Optionally back to the input's type (the f32 variant), then the weight
  /// (which must broadcast over the normalized axes only).
  static void matchWeight(Match &m) {
    // Optionally back to the input's type (the f32 variant), then the
    // weight.
    Value n = m.n, x = m.x;
    RankedTensorType xt = m.xt;
    Value out = n;
    Value &narrowed = m.narrowed; // the cast back, in the f32 variant
    if (auto castBack = dyn_cast_or_null<CastOp>(soleUser(n))) {
      auto ct = cast<RankedTensorType>(castBack.getType());
      auto widen = x.getDefiningOp<CastOp>();
      if (widen && widen.getInput().getType() == ct &&
          isa<FloatType>(ct.getElementType())) {
        narrowed = castBack.getResult();
        out = narrowed;
      }
    }
    Value &weight = m.weight;
    Value &product = m.product; // the value the raised op replaces
    if (Operation *wUser = soleUser(out)) {
      Value w = otherOperand<MulOp>(wUser, out);
      if (w && wUser->getResult(0).getType() == out.getType()) {
        // The weight must broadcast over the normalized axes only.
        auto wt = cast<RankedTensorType>(w.getType());
        ArrayRef<int64_t> normalized = xt.getShape().take_back(-m.axis);
        SmallVector<int64_t> ws(wt.getShape());
        while (ws.size() > normalized.size() && ws.front() == 1)
          ws.erase(ws.begin());
        bool fits = ws.size() <= normalized.size();
        for (size_t i = 0; fits && i < ws.size(); ++i)
          fits = ws[ws.size() - 1 - i] == 1 ||
                 ws[ws.size() - 1 - i] == normalized[normalized.size() - 1 - i];
        if (fits) {
          weight = w;
          product = wUser->getResult(0);
          OpBuilder b(wUser);
          if (ws.size() != (size_t)wt.getRank())
            weight = ReshapeOp::create(
                b, w.getLoc(), RankedTensorType::get(ws, wt.getElementType()),
                weight);
        }
      }
    }
  }

  /// kiln.rms_norm in place of the product with the weight (or of the
  /// normalized value), and the report.
  void build(ReduceMeanOp mean, const Match &m) {
    Value n = m.n, x = m.x, weight = m.weight, product = m.product,
          narrowed = m.narrowed;
    RankedTensorType xt = m.xt;
    Type elt = xt.getElementType();
    int64_t axis = m.axis;
    double eps = m.eps;
    Operation *replaced = product ? product.getDefiningOp() : n.getDefiningOp();
    OpBuilder b(replaced);
    Location loc = replaced->getLoc();
    Value scale;
    if (weight) {
      scale = weight;
      auto st = cast<RankedTensorType>(scale.getType());
      if (st.getElementType() != elt)
        scale = CastOp::create(b, loc, st.clone(elt), scale);
    } else {
      // No weight: a scale of one, exact.
      auto st = RankedTensorType::get({1}, elt);
      scale = arith::ConstantOp::create(
          b, loc,
          DenseElementsAttr::get(st, b.getFloatAttr(elt, 1.0).getValue()));
    }
    Value norm =
        RmsNormOp::create(b, loc, xt, x, scale, b.getI64IntegerAttr(axis),
                          b.getF32FloatAttr((float)eps));
    Value result = norm;
    if (product && narrowed)
      result = CastOp::create(b, loc, cast<RankedTensorType>(product.getType()),
                              norm);
    takeProvenance(norm.getDefiningOp(), (product ? product : n).getDefiningOp());
    (product ? product : n).replaceAllUsesWith(result);
    dead.push_back(replaced);

    std::string detail;
    llvm::raw_string_ostream(detail)
        << "eps " << formatNumber(eps) << ", axis " << axis << ", "
        << (weight ? "weight" : "no weight")
        << (narrowed ? ", computed in " : "");
    if (narrowed)
      llvm::raw_string_ostream(detail) << elt;
    reportRaised(mean, "rms_norm", detail);
  }
};

} // namespace
