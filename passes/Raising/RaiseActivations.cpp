//===- RaiseActivations.cpp - The kiln-raise-activations pass -------------===//
//
// Raises the activation functions that exporters spell out in elementary
// ops back to Kiln's own:
//
//   x * sigmoid(x)                                  -> kiln.silu
//   0.5 * x * (1 + erf(x / sqrt(2)))                -> kiln.gelu
//   0.5 * x * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
//                                                   -> kiln.gelu tanh
//   silu(x @ Wg [+ bg]) * (x @ Wu [+ bu])           -> kiln.swiglu
//
// GELU is recognized by value, not by op order: the erf/tanh argument and
// the expression around the erf/tanh are evaluated symbolically as
// polynomials in x (and in the erf/tanh value), through whichever
// association and operand order the exporter chose (torch 1.13 writes
// `(x * (1 + erf(x / 1.4142135))) * 0.5` for F.gelu, `0.5 * x * (...)` for
// hand-written BERT/GPT-2 GELUs, and `x * 0.7978846 * (1 + 0.044715 x x)`
// for "fast" GELUs), and each coefficient is compared with its exact value
// within a tolerance suited to the element type.
//
// kiln.swiglu takes the gate and up halves as one tensor, so a raised
// SwiGLU is `kiln.swiglu(x @ [Wg | Wu] (+ [bg | bu]))`: the two constant
// weights are fused into one (each output column is computed exactly as
// before), which is one matmul instead of two, still a plain constant
// weight for kiln-quantize-weights, and a fused projection that
// kiln-raise-moe splits again for an expert. Gate/up weights that are not
// constants leave the SwiGLU as silu(...) * (...).
//
//===----------------------------------------------------------------------===//

#include "RaisingUtils.h"

#include "kiln/dialects/Kiln/KilnConstants.h"
#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/passes/Raising/Passes.h"
#include "kiln/passes/Raising/RaisingReport.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstring>
#include <map>

namespace kiln {
#define GEN_PASS_DEF_RAISEACTIVATIONS
#include "kiln/passes/Raising/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::raising;

namespace {

//===----------------------------------------------------------------------===//
// Polynomials in x and t (the erf or tanh value)
//===----------------------------------------------------------------------===//

/// (degree in x, degree in t) -> coefficient.
using Poly = std::map<std::pair<int, int>, double>;

constexpr int kMaxDegree = 6;

Poly constantPoly(double c) { return Poly{{{0, 0}, c}}; }

Poly addPolys(const Poly &a, const Poly &b, double sign = 1) {
  Poly r = a;
  for (auto &[k, c] : b)
    r[k] += sign * c;
  return r;
}

std::optional<Poly> mulPolys(const Poly &a, const Poly &b) {
  Poly r;
  for (auto &[ka, ca] : a)
    for (auto &[kb, cb] : b) {
      std::pair<int, int> k{ka.first + kb.first, ka.second + kb.second};
      if (k.first > kMaxDegree || k.second > kMaxDegree)
        return std::nullopt;
      r[k] += ca * cb;
    }
  return r;
}

/// Whether `got` equals `want` term by term within the element type's
/// tolerance; terms `want` lacks must be negligible next to its largest.
bool polyNear(const Poly &got, const Poly &want, Type elt) {
  double scale = 0;
  for (auto &[k, c] : want)
    scale = std::max(scale, std::fabs(c));
  for (auto &[k, c] : got) {
    auto it = want.find(k);
    if (it == want.end()) {
      if (std::fabs(c) > tolerance(elt) * scale)
        return false;
    } else if (!isNear(c, it->second, elt)) {
      return false;
    }
  }
  for (auto &[k, c] : want)
    if (!got.count(k) && c != 0)
      return false;
  return true;
}

/// Evaluates a value as a polynomial in `x` and `t` through kiln
/// add/sub/mul/neg, division by a constant and integer powers. It descends
/// only into ops whose result is used once and has x's type, so every op it
/// visits belongs to the expression; `x`, `t` and splat constants are its
/// leaves. With `x` unset, the first other leaf becomes x.
struct PolyEvaluator {
  Value x, t;
  SmallVector<Operation *> visited;

  std::optional<Poly> eval(Value v, int depth = 0) {
    if (x && v == x)
      return Poly{{{1, 0}, 1.0}};
    if (t && v == t)
      return Poly{{{0, 1}, 1.0}};
    if (std::optional<double> c = splatFloat(v))
      return constantPoly(*c);
    Operation *op = v.getDefiningOp();
    bool inner = op && v.hasOneUse() && depth < 16 &&
                 (!x || v.getType() == x.getType()) &&
                 isa<AddOp, SubOp, MulOp, DivOp, NegOp, PowOp>(op);
    if (!inner) {
      if (x)
        return std::nullopt;
      x = v; // the argument's one variable
      return Poly{{{1, 0}, 1.0}};
    }
    visited.push_back(op);
    if (auto neg = dyn_cast<NegOp>(op)) {
      std::optional<Poly> a = eval(neg.getInput(), depth + 1);
      if (!a)
        return std::nullopt;
      return addPolys(Poly{}, *a, -1);
    }
    Value lhs = op->getOperand(0), rhs = op->getOperand(1);
    if (isa<DivOp>(op)) {
      std::optional<double> c = splatFloat(rhs);
      std::optional<Poly> a = eval(lhs, depth + 1);
      if (!c || *c == 0 || !a)
        return std::nullopt;
      return mulPolys(*a, constantPoly(1.0 / *c));
    }
    if (isa<PowOp>(op)) {
      std::optional<double> c = splatFloat(rhs);
      std::optional<Poly> a = eval(lhs, depth + 1);
      if (!c || !a || *c < 0 || *c > kMaxDegree || *c != std::floor(*c))
        return std::nullopt;
      Poly r = constantPoly(1);
      for (int i = 0; i < (int)*c; ++i) {
        std::optional<Poly> next = mulPolys(r, *a);
        if (!next)
          return std::nullopt;
        r = *next;
      }
      return r;
    }
    std::optional<Poly> a = eval(lhs, depth + 1);
    if (!a)
      return std::nullopt;
    std::optional<Poly> b = eval(rhs, depth + 1);
    if (!b)
      return std::nullopt;
    if (isa<AddOp>(op))
      return addPolys(*a, *b);
    if (isa<SubOp>(op))
      return addPolys(*a, *b, -1);
    return mulPolys(*a, *b);
  }
};

/// "0.707107 * x + 0.0356774 * x^3", for remarks.
std::string describe(const Poly &p) {
  SmallVector<std::string> terms;
  for (auto &[k, c] : p) {
    if (c == 0)
      continue;
    std::string term = formatNumber(c);
    if (k.first)
      term += k.first == 1 ? " * x" : llvm::formatv(" * x^{0}", k.first).str();
    if (k.second)
      term +=
          k.second == 1 ? " * t" : llvm::formatv(" * t^{0}", k.second).str();
    terms.push_back(term);
  }
  return terms.empty() ? "0" : llvm::join(terms, " + ");
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

/// A projection `x @ W` or `x @ W + b` (either order).
struct Projection {
  Value input, weight, bias;
};

std::optional<Projection> matchProjection(Value v) {
  Value bias;
  if (auto add = v.getDefiningOp<AddOp>()) {
    for (auto [mmSide, other] : {std::pair{add.getLhs(), add.getRhs()},
                                 std::pair{add.getRhs(), add.getLhs()}})
      if (mmSide.getDefiningOp<MatmulOp>() && mmSide.hasOneUse() &&
          mmSide.getType() == v.getType()) {
        bias = other;
        v = mmSide;
        break;
      }
    if (!bias)
      return std::nullopt;
  }
  auto mm = v.getDefiningOp<MatmulOp>();
  if (!mm)
    return std::nullopt;
  return Projection{mm.getLhs(), mm.getRhs(), bias};
}

/// The row-major bytes of a constant weight, also through the transpose
/// the importer puts on Gemm's `transB` weights (made in `storage`; an
/// untransposed weight is read where it lies).
std::optional<ArrayRef<char>> weightBytes(Value w, std::vector<char> &storage) {
  auto tr = w.getDefiningOp<TransposeOp>();
  if (!tr)
    return constantBytes(w, storage);
  auto in = cast<RankedTensorType>(tr.getInput().getType());
  if (in.getRank() != 2 || tr.getPermutation() != ArrayRef<int64_t>{1, 0})
    return std::nullopt;
  std::vector<char> srcStorage;
  std::optional<ArrayRef<char>> src = constantBytes(tr.getInput(), srcStorage);
  if (!src)
    return std::nullopt;
  size_t width = in.getElementTypeBitWidth() / 8;
  int64_t rows = in.getDimSize(0), cols = in.getDimSize(1);
  storage.assign(src->size(), 0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      std::memcpy(storage.data() + (j * rows + i) * width,
                  src->data() + (i * cols + j) * width, width);
  return ArrayRef<char>(storage);
}

/// [a | b] along the last dimension of two row-major tensors of one shape,
/// written straight into a new constant's blob.
AsmResourceBlob concatLast(ArrayRef<char> a, ArrayRef<char> b,
                           size_t rowBytes) {
  AsmResourceBlob out = kiln::allocateConstantBlob(a.size() + b.size());
  char *to = out.getMutableData().data();
  for (size_t i = 0; i < a.size(); i += rowBytes) {
    std::memcpy(to, a.data() + i, rowBytes);
    std::memcpy(to + rowBytes, b.data() + i, rowBytes);
    to += 2 * rowBytes;
  }
  return out;
}

struct RaiseActivationsPass
    : kiln::impl::RaiseActivationsBase<RaiseActivationsPass> {
  SmallVector<Operation *> dead;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    raising::resolveShapeQueries(func);
    // Three rounds, each clearing away what it replaced, so that the next
    // sees single uses where the graph has them: GELU, then SiLU, then
    // SwiGLU over every silu (raised above or imported as one).
    SmallVector<Operation *> transcendental;
    func.walk([&](Operation *op) {
      if (isa<ErfOp, TanhOp>(op))
        transcendental.push_back(op);
    });
    for (Operation *op : transcendental)
      raiseGelu(op);
    flushDead();
    SmallVector<SigmoidOp> sigmoids;
    func.walk([&](SigmoidOp op) { sigmoids.push_back(op); });
    for (SigmoidOp op : sigmoids)
      raiseSilu(op);
    flushDead();
    SmallVector<SiluOp> silus;
    func.walk([&](SiluOp op) { silus.push_back(op); });
    for (SiluOp op : silus)
      raiseSwiGLU(op);
    flushDead();
  }

  void flushDead() {
    eraseDeadOps(dead);
    dead.clear();
  }

  /// GELU around one erf or tanh.
  void raiseGelu(Operation *anchor) {
    bool isErf = isa<ErfOp>(anchor);
    StringRef fn = isErf ? "erf" : "tanh";
    Value t = anchor->getResult(0);
    PolyEvaluator argEval;
    std::optional<Poly> arg = argEval.eval(anchor->getOperand(0));
    Value x = argEval.x;
    if (!arg || !x) {
      if (isErf)
        reportLeft(anchor, "gelu",
                   "the erf argument is not a multiple of one value");
      return;
    }
    for (Operation *op : argEval.visited)
      if (op->getResult(0).getType() != x.getType()) {
        if (isErf)
          reportLeft(anchor, "gelu", "the erf argument broadcasts x");
        return;
      }
    Type elt = cast<RankedTensorType>(x.getType()).getElementType();
    const double k = std::sqrt(2.0 / M_PI);
    Poly wantArg = isErf ? Poly{{{1, 0}, M_SQRT1_2}}
                         : Poly{{{1, 0}, k}, {{3, 0}, k * 0.044715}};
    if (!polyNear(*arg, wantArg, elt)) {
      // A tanh is GELU-like only with a cubic term (a tanh softcap is not);
      // any erf is worth a word.
      if (isErf || arg->count({3, 0}))
        reportLeft(anchor, "gelu",
                   llvm::formatv("the {0} argument is {1}, not {2}", fn,
                                 describe(*arg), describe(wantArg))
                       .str());
      return;
    }
    if (!t.hasOneUse()) {
      reportLeft(anchor, "gelu",
                 llvm::formatv("the {0} value has other uses", fn).str());
      return;
    }
    // Climb the single-use chain above t until the expression is
    // 0.5 x + 0.5 x t.
    Poly want{{{1, 0}, 0.5}, {{1, 1}, 0.5}};
    Value top = t;
    for (int step = 0; step < 8; ++step) {
      if (!top.hasOneUse())
        break;
      Operation *user = *top.getUsers().begin();
      if (!isa<AddOp, SubOp, MulOp, DivOp, NegOp>(user) ||
          user->getResult(0).getType() != x.getType())
        break;
      top = user->getResult(0);
      PolyEvaluator outEval{x, t, {}};
      std::optional<Poly> p = outEval.eval(top);
      if (!p)
        break;
      if (!polyNear(*p, want, elt))
        continue;
      OpBuilder b(top.getDefiningOp());
      auto approx = GeluApproximationAttr::get(&getContext(),
                                               isErf ? GeluApproximation::None
                                                     : GeluApproximation::Tanh);
      Value gelu = GeluOp::create(b, top.getLoc(), x.getType(), x, approx);
      takeProvenance(gelu.getDefiningOp(), top.getDefiningOp());
      top.replaceAllUsesWith(gelu);
      dead.push_back(top.getDefiningOp());
      reportRaised(anchor, "gelu", isErf ? "erf" : "tanh");
      return;
    }
    reportLeft(anchor, "gelu",
               llvm::formatv("the {0} value is not combined as "
                             "0.5 * x * (1 + {0}(...))",
                             fn)
                   .str());
  }

  /// x * sigmoid(x), for each multiplication that uses the sigmoid.
  void raiseSilu(SigmoidOp sigmoid) {
    Value x = sigmoid.getInput(), s = sigmoid.getResult();
    for (Operation *user : llvm::to_vector(s.getUsers())) {
      auto mul = dyn_cast<MulOp>(user);
      if (!mul)
        continue;
      Value other = mul.getLhs() == s ? mul.getRhs() : mul.getLhs();
      if (other != x || mul.getType() != x.getType()) {
        reportLeft(sigmoid, "silu", siluMismatch(x, other));
        continue;
      }
      OpBuilder b(mul);
      Value silu = SiluOp::create(b, mul.getLoc(), x);
      takeProvenance(silu.getDefiningOp(), mul);
      mul.getResult().replaceAllUsesWith(silu);
      dead.push_back(mul);
      reportRaised(sigmoid, "silu");
    }
    dead.push_back(sigmoid);
  }

  static std::string siluMismatch(Value x, Value other) {
    // sigmoid(c * v) * v is a scaled SiLU, e.g. the sigmoid approximation
    // of GELU (c = 1.702), which no Kiln op expresses.
    if (auto scaled = x.getDefiningOp<MulOp>())
      for (auto [v, c] : {std::pair{scaled.getLhs(), scaled.getRhs()},
                          std::pair{scaled.getRhs(), scaled.getLhs()}})
        if (v == other)
          if (std::optional<double> k = splatFloat(c))
            return llvm::formatv("the sigmoid's input is {0} times the value "
                                 "it multiplies (a scaled SiLU)",
                                 formatNumber(*k))
                .str();
    return "the sigmoid's input is not the value it multiplies";
  }

  /// silu(x @ Wg + bg) * (x @ Wu + bu) -> swiglu(x @ [Wg|Wu] + [bg|bu]).
  void raiseSwiGLU(SiluOp silu) {
    Value gate = silu.getInput();
    std::optional<Projection> g = matchProjection(gate);
    if (!g || !silu.getResult().hasOneUse())
      return; // not the start of a gated MLP
    auto mul = dyn_cast<MulOp>(*silu.getResult().getUsers().begin());
    if (!mul)
      return;
    Value up = mul.getLhs() == silu.getResult() ? mul.getRhs() : mul.getLhs();
    auto left = [&](StringRef why) { reportLeft(silu, "swiglu", why); };
    std::optional<Projection> u = matchProjection(up);
    if (!u)
      return left("silu(x @ Wg) multiplies a value that is not a projection");
    if (u->input != g->input)
      return left("the gate and up projections read different inputs");
    auto type = cast<RankedTensorType>(gate.getType());
    if (up.getType() != type || mul.getType() != type ||
        g->weight.getType() != u->weight.getType() || !g->bias != !u->bias ||
        (g->bias && g->bias.getType() != u->bias.getType()))
      return left("the gate and up projections have different shapes");
    if (!gate.hasOneUse() || !up.hasOneUse())
      return left("the gate or up projection has other uses");
    // kiln.swiglu reads [gate | up] as one tensor: fuse the two weights
    // (and biases) into one projection. Each output column is computed
    // exactly as before.
    auto wt = cast<RankedTensorType>(g->weight.getType());
    std::vector<char> wgStorage, wuStorage, bgStorage, buStorage;
    std::optional<ArrayRef<char>> wg = weightBytes(g->weight, wgStorage);
    std::optional<ArrayRef<char>> wu = weightBytes(u->weight, wuStorage);
    std::optional<ArrayRef<char>> bg, bu;
    if (g->bias) {
      bg = constantBytes(g->bias, bgStorage);
      bu = constantBytes(u->bias, buStorage);
    }
    if (!wg || !wu || (g->bias && (!bg || !bu)))
      return left("the gate and up weights are not both constants, so they "
                  "cannot be fused into one [gate | up] projection");
    auto bt = g->bias ? cast<RankedTensorType>(g->bias.getType())
                      : RankedTensorType();
    if (bt &&
        (bt.getRank() == 0 || bt.getShape().back() != type.getShape().back()))
      return left("the biases do not run along the projection's outputs");
    auto doubled = [](RankedTensorType t) {
      SmallVector<int64_t> shape(t.getShape());
      shape.back() *= 2;
      return t.clone(shape);
    };
    size_t width = wt.getElementTypeBitWidth() / 8;
    OpBuilder b(mul);
    Location loc = mul.getLoc();
    // The new constants go first in the function, as the importer's do.
    Block &entry = getOperation().getBody().front();
    OpBuilder top(&entry, entry.begin());
    Value weight = arith::ConstantOp::create(
        top, g->weight.getLoc(),
        kiln::makeConstantAttr(doubled(wt),
                         concatLast(*wg, *wu, wt.getShape().back() * width),
                         "swiglu_gate_up"));
    Value fused = MatmulOp::create(b, loc, doubled(type), g->input, weight);
    if (bt) {
      Value bias = arith::ConstantOp::create(
          top, g->bias.getLoc(),
          kiln::makeConstantAttr(doubled(bt),
                           concatLast(*bg, *bu, bt.getShape().back() * width),
                           "swiglu_bias"));
      fused = AddOp::create(b, loc, doubled(type), fused, bias);
    }
    Value swiglu = SwiGLUOp::create(b, loc, type, fused);
    takeProvenance(swiglu.getDefiningOp(), mul);
    mul.getResult().replaceAllUsesWith(swiglu);
    dead.append({mul, silu});
    std::string detail;
    llvm::raw_string_ostream os(detail);
    os << "gate and up weights fused into [";
    llvm::interleave(doubled(wt).getShape(), os, ", ");
    os << "]" << (bt ? " with biases" : "");
    reportRaised(silu, "swiglu", detail);
  }
};

} // namespace
