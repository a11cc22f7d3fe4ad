//===- RaiseMoE.cpp - The kiln-raise-moe pass
//------------------------------===//
//
// Recognizes mixture-of-experts blocks as torch.onnx.export writes them and
// rewrites each into kiln.moe_route + kiln.moe_experts, so that only the
// routed (token, expert) pairs are computed instead of every expert on every
// token.
//
// The anchor is the kiln.top_k that picks each token's experts. From it the
// pass matches, and must match exactly, four parts:
//
//   router     the top-k's input: softmax(logits) or sigmoid(logits), maybe
//              plus a constant selection bias, maybe masked to the best
//              groups (DeepSeek-V3: a group scores the sum of its two best
//              selection scores; the other groups' experts are filled with a
//              value no eligible expert can fall below); or, Mixtral's
//              reference form, the top-k of the logits themselves with the
//              softmax taken over the k chosen values;
//   weights    the top-k values, or the unbiased scores gathered at the
//              chosen experts; optionally divided by their sum (+ a
//              negligible epsilon); optionally times a constant scale;
//   dispatch   the weights scattered into a dense [tokens, experts] matrix
//              (ScatterElements into zeros, or sum(one_hot(idx) * w));
//   experts    one column per expert, each multiplying that expert's FFN of
//              the same tokens `x`, the products summed; every FFN is
//              w2(act(w1 x) * w3 x) (SwiGLU, act = SiLU written as
//              sigmoid(g) * g or kiln.silu, or kiln.swiglu of a fused
//              projection) or w2(act(w1 x)) (SiLU, GELU, ReLU), with
//              constant weights of one shape, stacked into [E, ...].
//
// HF Mixtral's sparse-dispatch loop (torch.where -> index_select ->
// index_add_) exports NonZero, whose output shape depends on the routing;
// the ONNX importer rewrites that loop into the dense form above before
// importing it (lib/ONNX/SparseMoEDispatch.cpp), so it arrives here as a
// dense dispatch.
//
// Anything else is left as it was (it still computes the same numbers
// through the generic ops) and reported with the reason.
//
//===----------------------------------------------------------------------===//

#include "RaisingUtils.h"

#include "kiln/dialects/Kiln/KilnConstants.h"
#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/passes/Raising/Passes.h"
#include "kiln/passes/Raising/RaisingReport.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <limits>
#include <optional>

namespace kiln {
#define GEN_PASS_DEF_RAISEMOE
#include "kiln/passes/Raising/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

//===----------------------------------------------------------------------===//
// Values and constants
//===----------------------------------------------------------------------===//

/// `v` with casts and reshapes that do not change its type looked through
/// (exporters write `.to(dtype)` and `.view(shape)` that are no-ops here).
Value skipNoOps(Value v) {
  while (Operation *op = v.getDefiningOp()) {
    if (!isa<CastOp, ReshapeOp>(op) ||
        op->getOperand(0).getType() != v.getType())
      break;
    v = op->getOperand(0);
  }
  return v;
}

template <typename OpTy> OpTy def(Value v) {
  return skipNoOps(v).getDefiningOp<OpTy>();
}

ElementsAttr constantOf(Value v) {
  auto c = def<arith::ConstantOp>(v);
  return c ? dyn_cast<ElementsAttr>(c.getValue()) : ElementsAttr();
}

RankedTensorType tensorType(Value v) {
  return dyn_cast<RankedTensorType>(v.getType());
}

bool hasShape(Value v, ArrayRef<int64_t> shape) {
  auto t = tensorType(v);
  return t && t.getShape() == shape;
}

/// An axis attribute as a dimension index of a rank-`rank` tensor.
int64_t normAxis(uint64_t axis, int64_t rank) {
  int64_t a = (int64_t)axis;
  return a < 0 ? a + rank : a;
}

/// The row-major bytes of a constant whose elements are whole bytes.
std::optional<std::vector<char>> constantBytes(ElementsAttr attr) {
  Type elt = attr.getElementType();
  if (!elt.isIntOrFloat() || elt.getIntOrFloatBitWidth() % 8)
    return std::nullopt;
  return kiln::constantBytes(attr);
}

/// The values of a float constant as doubles.
std::optional<std::vector<double>> constantFloats(ElementsAttr attr) {
  auto ft = dyn_cast<FloatType>(attr.getElementType());
  if (!ft)
    return std::nullopt;
  std::optional<std::vector<char>> bytes = constantBytes(attr);
  if (!bytes)
    return std::nullopt;
  unsigned bits = ft.getWidth();
  std::vector<double> out;
  for (size_t i = 0; i < bytes->size(); i += bits / 8) {
    uint64_t word = 0;
    memcpy(&word, bytes->data() + i, bits / 8); // little-endian host
    APFloat f(ft.getFloatSemantics(), APInt(bits, word));
    bool lost;
    f.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
    out.push_back(f.convertToDouble());
  }
  return out;
}

/// The one value of a float constant whose elements are all equal.
std::optional<double> splatFloat(Value v) {
  ElementsAttr attr = constantOf(v);
  if (!attr)
    return std::nullopt;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr);
      dense && dense.isSplat() && isa<FloatType>(dense.getElementType()))
    return dense.getSplatValue<APFloat>().convertToDouble();
  std::optional<std::vector<double>> values = constantFloats(attr);
  if (!values || values->empty())
    return std::nullopt;
  for (double x : *values)
    if (x != values->front() && !(std::isnan(x) && std::isnan(values->front())))
      return std::nullopt;
  return values->front();
}

/// `x` as %g prints it (1e-20, 2.5), for remarks.
std::string fmtNum(double x) {
  char buf[32];
  snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

/// A splat constant, possibly broadcast, equal to `want`.
bool isSplatOf(Value v, double want) {
  v = skipNoOps(v);
  if (auto bc = v.getDefiningOp<BroadcastOp>())
    v = bc.getInput();
  std::optional<double> s = splatFloat(v);
  if (!s) { // integer splats (one_hot's, masks)
    auto dense = dyn_cast_or_null<DenseElementsAttr>(constantOf(v));
    if (dense && dense.isSplat() && isa<IntegerType>(dense.getElementType()))
      return (double)dense.getSplatValue<APInt>().getSExtValue() == want;
    return false;
  }
  return *s == want;
}

//===----------------------------------------------------------------------===//
// Matching state
//===----------------------------------------------------------------------===//

/// What one match attempt collects: the ops of the pattern (to erase those
/// left unused after the rewrite) and the first reason it failed.
struct Match {
  llvm::SetVector<Operation *> ops;
  std::string why;

  bool fail(const Twine &reason) {
    if (why.empty())
      why = reason.str();
    return false;
  }
  void add(Value v) {
    if (Operation *op = v.getDefiningOp())
      ops.insert(op);
  }
  /// Adds the ops between `from` and skipNoOps(from).
  void addChain(Value from) {
    while (Operation *op = from.getDefiningOp()) {
      if (!isa<CastOp, ReshapeOp>(op) ||
          op->getOperand(0).getType() != from.getType())
        break;
      ops.insert(op);
      from = op->getOperand(0);
    }
  }
};

//===----------------------------------------------------------------------===//
// Experts
//===----------------------------------------------------------------------===//

/// A linear layer with a constant weight: `x @ W (+ b)` (W [K, N], as
/// exported from nn.Linear) or `kiln.linear x, W, b` (W [N, K]). `lo`/`n`
/// select a window of its outputs (a half of a fused gate/up projection).
struct Projection {
  Value input;
  ElementsAttr weight;
  bool kMajor = false; // weight is [K, N]
  ElementsAttr bias;   // [N] or [1, N]
  int64_t k = 0, fullN = 0, lo = 0, n = 0;
};

std::optional<Projection> matchProjection(Value v, Match &m) {
  v = skipNoOps(v);
  Projection p;
  Value core = v;
  if (auto add = v.getDefiningOp<AddOp>()) {
    for (int i : {0, 1}) {
      Value other = add->getOperand(1 - i);
      ElementsAttr bias = constantOf(other);
      Operation *mm = skipNoOps(add->getOperand(i)).getDefiningOp();
      if (!bias || !isa_and_nonnull<MatmulOp>(mm) ||
          add->getOperand(i).getType() != v.getType())
        continue;
      p.bias = bias;
      core = add->getOperand(i);
      m.add(v);
      m.add(other);
      break;
    }
  }
  core = skipNoOps(core);
  if (auto mm = core.getDefiningOp<MatmulOp>()) {
    auto wt = tensorType(mm.getRhs());
    if (wt.getRank() != 2 || tensorType(mm.getLhs()).getRank() != 2)
      return std::nullopt;
    // x @ W, or x @ transpose(W) as Gemm(transB = 1) imports (nn.Linear
    // with a bias): W is then already [N, K].
    ElementsAttr w = constantOf(mm.getRhs());
    p.kMajor = true;
    if (auto tr = def<TransposeOp>(mm.getRhs());
        !w && tr && tr.getPermutation() == ArrayRef<int64_t>{1, 0}) {
      w = constantOf(tr.getInput());
      p.kMajor = false;
      m.add(tr.getInput());
    }
    if (!w)
      return std::nullopt;
    p.input = skipNoOps(mm.getLhs());
    p.weight = w;
    p.k = wt.getDimSize(0);
    p.fullN = p.n = wt.getDimSize(1);
    m.add(mm.getRhs());
    m.addChain(mm.getRhs());
  } else if (auto lin = core.getDefiningOp<LinearOp>()) {
    ElementsAttr w = constantOf(lin.getWeight());
    auto wt = tensorType(lin.getWeight());
    if (!w || wt.getRank() != 2 || tensorType(lin.getInput()).getRank() != 2)
      return std::nullopt;
    if (lin.getBias()) {
      p.bias = constantOf(lin.getBias());
      if (!p.bias)
        return std::nullopt;
      m.add(lin.getBias());
    }
    p.input = skipNoOps(lin.getInput());
    p.weight = w;
    p.k = wt.getDimSize(1);
    p.fullN = p.n = wt.getDimSize(0);
    m.add(lin.getWeight());
  } else {
    return std::nullopt;
  }
  if (p.bias && p.bias.getNumElements() != p.fullN)
    return std::nullopt;
  m.add(core);
  m.addChain(v);
  return p;
}

/// The `g` of `silu(g)`, written as kiln.silu or sigmoid(g) * g.
Value matchSilu(Value v, Match &m) {
  v = skipNoOps(v);
  if (auto silu = v.getDefiningOp<SiluOp>()) {
    m.add(v);
    return silu.getInput();
  }
  if (auto mul = v.getDefiningOp<MulOp>()) {
    for (int i : {0, 1}) {
      auto sig = def<SigmoidOp>(mul->getOperand(i));
      if (sig &&
          skipNoOps(sig.getInput()) == skipNoOps(mul->getOperand(1 - i))) {
        m.add(v);
        m.add(mul->getOperand(i));
        return sig.getInput();
      }
    }
  }
  return Value();
}

struct Expert {
  Value input;
  ExpertActivation act = ExpertActivation::SwiGLU;
  Projection gate, down;
  std::optional<Projection> up;
};

const char *activationName(ExpertActivation a) {
  switch (a) {
  case ExpertActivation::SwiGLU:
    return "swiglu";
  case ExpertActivation::GELU:
    return "gelu";
  case ExpertActivation::ReLU:
    return "relu";
  case ExpertActivation::SiLU:
    return "silu";
  case ExpertActivation::GELUTanh:
    return "gelu_tanh";
  case ExpertActivation::Identity:
    return "identity";
  }
  return "?";
}

/// One expert's FFN ending in `y`; the reason for a miss goes to `m`.
std::optional<Expert> matchExpert(Value y, Match &m) {
  Expert e;
  std::optional<Projection> down = matchProjection(y, m);
  if (!down) {
    m.fail("its output is not a linear layer with a constant weight");
    return std::nullopt;
  }
  e.down = *down;
  Value h = skipNoOps(down->input);
  auto proj = [&](Value v, Projection &out) {
    std::optional<Projection> p = matchProjection(v, m);
    if (p)
      out = *p;
    return p.has_value();
  };
  bool matched = false;
  // SwiGLU: silu(gate(x)) * up(x), either operand order.
  if (auto mul = h.getDefiningOp<MulOp>()) {
    for (int i : {0, 1}) {
      Match trial;
      Value g = matchSilu(mul->getOperand(i), trial);
      Projection gate, up;
      if (!g || !proj(g, gate) || !proj(mul->getOperand(1 - i), up))
        continue;
      e.act = ExpertActivation::SwiGLU;
      e.gate = gate;
      e.up = up;
      m.ops.insert(trial.ops.begin(), trial.ops.end());
      m.add(h);
      matched = true;
      break;
    }
  }
  // kiln.swiglu of one fused projection [gate | up].
  if (!matched) {
    if (auto sw = h.getDefiningOp<SwiGLUOp>()) {
      Projection fused;
      if (proj(sw.getInput(), fused) && fused.fullN % 2 == 0) {
        e.act = ExpertActivation::SwiGLU;
        e.gate = fused;
        e.gate.n = fused.fullN / 2;
        Projection up = fused;
        up.lo = up.n = fused.fullN / 2;
        e.up = up;
        m.add(h);
        matched = true;
      }
    }
  }
  // Ungated activations.
  if (!matched) {
    Value g;
    Match trial;
    if ((g = matchSilu(h, trial))) {
      e.act = ExpertActivation::SiLU;
    } else if (auto gelu = h.getDefiningOp<GeluOp>()) {
      g = gelu.getInput();
      e.act = gelu.getApproximation() == GeluApproximation::Tanh
                  ? ExpertActivation::GELUTanh
                  : ExpertActivation::GELU;
    } else if (auto relu = h.getDefiningOp<ReluOp>()) {
      g = relu.getInput();
      e.act = ExpertActivation::ReLU;
    }
    if (g && proj(g, e.gate)) {
      m.ops.insert(trial.ops.begin(), trial.ops.end());
      m.add(h);
      matched = true;
    }
  }
  if (!matched) {
    m.fail("its hidden layer is not SwiGLU (silu(w1 x) * w3 x), SiLU, GELU "
           "or ReLU of linear layers with constant weights");
    return std::nullopt;
  }
  e.input = e.gate.input;
  if (e.up && e.up->input != e.input) {
    m.fail("its gate and up projections read different inputs");
    return std::nullopt;
  }
  if (e.gate.n != e.down.k || (e.up && e.up->n != e.gate.n) ||
      e.down.n != e.gate.k) {
    m.fail("its layer shapes do not chain");
    return std::nullopt;
  }
  return e;
}

/// Rows [lo, lo + n) of a projection's weight in nn.Linear's [N, K] layout,
/// appended to `out`.
void appendWeightRows(const Projection &p, const std::vector<char> &bytes,
                      size_t size, std::vector<char> &out) {
  for (int64_t r = p.lo; r < p.lo + p.n; ++r)
    for (int64_t c = 0; c < p.k; ++c) {
      size_t at = p.kMajor ? (c * p.fullN + r) : (r * p.k + c);
      out.insert(out.end(), bytes.begin() + at * size,
                 bytes.begin() + (at + 1) * size);
    }
}

//===----------------------------------------------------------------------===//
// Router
//===----------------------------------------------------------------------===//

struct Router {
  Value logits;
  RouterScoring scoring = RouterScoring::Softmax;
  Value scores; // softmax/sigmoid(logits); null in the topk-then-softmax form
  Value selection; // scores + bias (before any group mask)
  ElementsAttr bias;
  int64_t tokens = 0, experts = 0, k = 0, groups = 1, topGroups = 1;
  bool softmaxOfTopK = false; // top-k of the logits, softmax of the k values
  bool normalize = false;
  double eps = 0, scale = 1;
  std::string detail;
};

/// The float mask behind a boolean one: cast(mf) or mf != 0.
Value maskOfBool(Value b, Match &m) {
  b = skipNoOps(b);
  if (auto c = b.getDefiningOp<CastOp>()) {
    m.add(b);
    return c.getInput();
  }
  if (auto cmp = b.getDefiningOp<CompareOp>();
      cmp && cmp.getDirection() == CompareDirection::NE &&
      isSplatOf(cmp.getRhs(), 0)) {
    m.add(b);
    return cmp.getLhs();
  }
  return Value();
}

/// Matches DeepSeek-V3's group mask `gm` [T, E] (1 for experts in a kept
/// group) built from the selection scores `base`; sets groups/topGroups.
bool matchGroupMask(Value mf, Value base, Router &r, Match &m) {
  int64_t t = r.tokens, e = r.experts;
  // [T, G] -> [T, G, 1] -> broadcast [T, G, E/G] -> [T, E]
  auto flat = def<ReshapeOp>(mf);
  auto bc = flat ? def<BroadcastOp>(flat.getInput()) : BroadcastOp();
  auto unsq = bc ? def<ReshapeOp>(bc.getInput()) : ReshapeOp();
  if (!unsq)
    return m.fail("the expert mask is not a [tokens, groups] mask expanded "
                  "over each group's experts");
  auto bt = tensorType(bc.getResult());
  if (bt.getRank() != 3 || bt.getDimSize(0) != t ||
      bt.getDimSize(1) * bt.getDimSize(2) != e ||
      !hasShape(unsq.getResult(), {t, bt.getDimSize(1), 1}))
    return m.fail("the expert mask is not a [tokens, groups] mask expanded "
                  "over each group's experts");
  int64_t groups = bt.getDimSize(1), per = bt.getDimSize(2);
  Value gm = skipNoOps(unsq.getInput());
  auto scatter = gm.getDefiningOp<ScatterElementsOp>();
  if (!scatter || !hasShape(gm, {t, groups}) ||
      normAxis(scatter.getAxis(), 2) != 1 || !isSplatOf(scatter.getData(), 0) ||
      !isSplatOf(scatter.getUpdates(), 1))
    return m.fail("the group mask is not ones scattered into zeros at the "
                  "chosen groups");
  auto gtop = def<TopKOp>(scatter.getIndices());
  if (!gtop || skipNoOps(scatter.getIndices()) != gtop.getIndices() ||
      normAxis(gtop.getAxis(), 2) != 1 || !gtop.getLargest())
    return m.fail("the kept groups are not the top-k of the group scores");
  Value gs = skipNoOps(gtop.getInput());
  // group score = sum of each group's two best selection scores
  Value grouped;
  if (auto sum = gs.getDefiningOp<ReduceSumOp>()) {
    auto top2 = def<TopKOp>(sum.getInput());
    int64_t want = std::min<int64_t>(2, per);
    if (!top2 || skipNoOps(sum.getInput()) != top2.getValues() ||
        sum.getAxes().size() != 1 || sum.getAxes()[0] != 2 ||
        sum.getKeepdims() || normAxis(top2.getAxis(), 3) != 2 ||
        (int64_t)top2.getK() != want || !top2.getLargest())
      return m.fail(llvm::formatv("a group's score is not the sum of its {0} "
                                  "best selection scores",
                                  want)
                        .str());
    grouped = top2.getInput();
    m.add(gs);
    m.add(sum.getInput());
  } else if (def<ReduceMaxOp>(gs) && per > 1) {
    return m.fail("groups are scored by their best expert (DeepSeek-V2's "
                  "group-limited greedy); kiln.moe_route scores a group by "
                  "the sum of its two best");
  } else {
    return m.fail("the group scores are not the sum of each group's two best "
                  "selection scores");
  }
  auto view = def<ReshapeOp>(grouped);
  if (!view || skipNoOps(view.getInput()) != base ||
      !hasShape(view.getResult(), {t, groups, per}))
    return m.fail("the group scores are not computed from the selection "
                  "scores");
  m.add(grouped);
  m.addChain(grouped);
  m.add(gtop.getIndices());
  m.add(scatter.getUpdates());
  if (auto ones = def<BroadcastOp>(scatter.getUpdates()))
    m.add(ones.getInput());
  m.add(scatter.getData());
  m.add(gm);
  m.addChain(unsq.getInput());
  m.add(unsq.getResult());
  m.add(bc.getResult());
  m.add(flat.getResult());
  m.addChain(mf);
  r.groups = groups;
  r.topGroups = gtop.getK();
  return true;
}

/// Matches the router from the anchor's input: scoring, bias and groups.
bool matchRouterInput(TopKOp topk, Router &r, Match &m) {
  auto it = tensorType(topk.getInput());
  if (it.getRank() != 2)
    return m.fail("the top-k input is not [tokens, experts]");
  r.tokens = it.getDimSize(0);
  r.experts = it.getDimSize(1);
  r.k = topk.getK();
  if (normAxis(topk.getAxis(), 2) != 1)
    return m.fail("the top-k runs over the tokens (axis 0), not the experts");
  if (!topk.getLargest())
    return m.fail("the top-k takes the smallest scores");
  if (!isa<FloatType>(it.getElementType()))
    return m.fail("the router scores are not floats");
  m.ops.insert(topk);

  Value sel = skipNoOps(topk.getInput());
  m.addChain(topk.getInput());
  Value base = sel;
  std::optional<double> fill;
  // Group masking: select(mask, sel, fill), select(!mask, fill, sel), or
  // sel * mask (fill 0).
  if (auto s = sel.getDefiningOp<SelectOp>()) {
    Value cond = skipNoOps(s.getCondition()), mask;
    Value kept = s.getFalseValue(), filled = s.getTrueValue();
    if (auto n = cond.getDefiningOp<NotOp>()) {
      m.add(cond);
      mask = maskOfBool(n.getInput(), m);
    } else {
      mask = maskOfBool(cond, m);
      std::swap(kept, filled);
    }
    fill = splatFloat(filled);
    if (!mask || !fill)
      return m.fail("the top-k input is a select that is not a constant fill "
                    "of the experts outside a group mask");
    base = skipNoOps(kept);
    m.add(sel);
    m.add(filled);
    if (!matchGroupMask(mask, base, r, m))
      return false;
  } else if (auto mul = sel.getDefiningOp<MulOp>()) {
    Match trial;
    for (int i : {0, 1}) {
      Router copy = r;
      Value b = skipNoOps(mul->getOperand(i));
      if (hasShape(b, {r.tokens, r.experts}) &&
          matchGroupMask(mul->getOperand(1 - i), b, copy, trial)) {
        r = copy;
        base = b;
        fill = 0.0;
        m.add(sel);
        m.ops.insert(trial.ops.begin(), trial.ops.end());
        break;
      }
    }
    if (!fill)
      return m.fail("the top-k input is a product that is not the selection "
                    "scores times a group mask: " +
                    trial.why);
  }
  r.selection = base;

  Value scores = base;
  if (auto add = base.getDefiningOp<AddOp>()) {
    for (int i : {0, 1}) {
      ElementsAttr bias = constantOf(add->getOperand(1 - i));
      Value s = skipNoOps(add->getOperand(i));
      if (bias && bias.getNumElements() == r.experts &&
          (def<SoftmaxOp>(s) || def<SigmoidOp>(s))) {
        r.bias = bias;
        scores = s;
        m.add(base);
        m.add(add->getOperand(1 - i));
        break;
      }
    }
    if (!r.bias)
      return m.fail("the selection scores add something other than a "
                    "constant [experts] bias to the router scores");
  }
  if (auto sm = scores.getDefiningOp<SoftmaxOp>()) {
    if (sm.getNormalizedAxis() != 1)
      return m.fail("the router softmax runs over the tokens (axis 0), not "
                    "the experts");
    r.scoring = RouterScoring::Softmax;
    r.logits = sm.getInput();
  } else if (auto sig = scores.getDefiningOp<SigmoidOp>()) {
    r.scoring = RouterScoring::Sigmoid;
    r.logits = sig.getInput();
  } else if (!r.bias && r.groups == 1) {
    // Maybe Mixtral's reference form: top-k of the logits, softmax after.
    r.softmaxOfTopK = true;
    r.logits = scores;
    scores = Value();
  } else {
    return m.fail("the router scores are neither softmax nor sigmoid of the "
                  "logits");
  }
  if (scores) {
    m.add(scores);
    m.addChain(base == scores ? sel : base);
  }
  r.scores = scores;

  // A finite fill must stay below every eligible expert's selection score,
  // which is at least min(bias) (scores are in [0, 1]); otherwise masked
  // experts could be chosen, which kiln.moe_route never does. (At equality
  // only an eligible score that underflowed to exactly 0 ties a masked one.)
  if (fill && !std::isinf(*fill)) {
    double lowest = 0;
    if (r.bias) {
      std::optional<std::vector<double>> b = constantFloats(r.bias);
      if (!b)
        return m.fail("the selection bias is not a readable float constant");
      for (double x : *b)
        lowest = std::min(lowest, x);
    }
    if (*fill > lowest)
      return m.fail(llvm::formatv("experts outside the kept groups are filled "
                                  "with {0}, above the lowest possible "
                                  "selection score {1}, so they could be "
                                  "chosen",
                                  fmtNum(*fill), fmtNum(lowest))
                        .str());
  } else if (fill && *fill > 0) {
    return m.fail("experts outside the kept groups are filled with +inf");
  }
  return true;
}

/// Matches the routing weights `w` [T, k] as used by the dispatch back to
/// the router: [scale *] [normalize] (top-k values | gathered scores).
bool matchRouterWeights(Value w, TopKOp topk, Router &r, Match &m) {
  w = skipNoOps(w);
  m.addChain(w);
  if (auto mul = w.getDefiningOp<MulOp>()) {
    for (int i : {0, 1}) {
      std::optional<double> s = splatFloat(mul->getOperand(1 - i));
      if (s && mul->getOperand(i).getType() == w.getType()) {
        r.scale = *s;
        m.add(w);
        m.add(mul->getOperand(1 - i));
        w = skipNoOps(mul->getOperand(i));
        break;
      }
    }
  }
  if (auto div = w.getDefiningOp<DivOp>()) {
    Value num = skipNoOps(div.getLhs()), den = skipNoOps(div.getRhs());
    std::optional<double> eps;
    if (auto add = den.getDefiningOp<AddOp>()) {
      for (int i : {0, 1})
        if ((eps = splatFloat(add->getOperand(1 - i)))) {
          m.add(den);
          m.add(add->getOperand(1 - i));
          den = skipNoOps(add->getOperand(i));
          break;
        }
    }
    auto sum = den.getDefiningOp<ReduceSumOp>();
    if (!sum || skipNoOps(sum.getInput()) != num || sum.getAxes().size() != 1 ||
        sum.getAxes()[0] != 1 || !sum.getKeepdims())
      return m.fail("the routing weights are divided by something other "
                    "than their sum over the chosen experts");
    // DeepSeek adds 1e-20 to the sum: below float resolution unless the
    // chosen scores sum to less than ~1e-13.
    if (eps && (*eps < 0 || *eps > 1e-12))
      return m.fail(llvm::formatv("the routing weights are divided by their "
                                  "sum plus {0}, which is not negligible",
                                  fmtNum(*eps))
                        .str());
    r.normalize = true;
    r.eps = eps.value_or(0);
    m.add(w);
    m.add(den);
    w = num;
  }
  if (r.softmaxOfTopK) {
    auto sm = w.getDefiningOp<SoftmaxOp>();
    if (!sm || skipNoOps(sm.getInput()) != topk.getValues() ||
        sm.getNormalizedAxis() != 1)
      return m.fail("the top-k input is neither softmax nor sigmoid scores, "
                    "and the routing weights are not the softmax of the k "
                    "chosen logits");
    // softmax over the k chosen logits == the chosen softmax probabilities
    // renormalized; a further division by their sum changes nothing.
    r.scoring = RouterScoring::Softmax;
    r.normalize = true;
    m.add(w);
    return true;
  }
  if (w == topk.getValues()) {
    if (r.bias || r.groups > 1)
      return m.fail("the routing weights are the top-k of the biased or "
                    "masked selection scores, not the router's scores");
    return true;
  }
  if (auto g = w.getDefiningOp<GatherElementsOp>()) {
    if (skipNoOps(g.getIndices()) != topk.getIndices() ||
        normAxis(g.getAxis(), 2) != 1)
      return m.fail("the routing weights are gathered at other indices than "
                    "the chosen experts");
    Value src = skipNoOps(g.getData());
    if (src != r.scores)
      return m.fail(src == r.selection
                        ? "the routing weights are gathered from the biased "
                          "selection scores; kiln.moe_route weights the "
                          "unbiased scores"
                        : "the routing weights are gathered from something "
                          "other than the router's scores");
    m.add(w);
    return true;
  }
  return m.fail("the routing weights are not the chosen experts' scores");
}

//===----------------------------------------------------------------------===//
// Dispatch and the expert sum
//===----------------------------------------------------------------------===//

/// Finds the dense [T, E] routing matrix built from the chosen experts and
/// returns it; `weights` receives the [T, k] values scattered into it.
Value matchDispatch(TopKOp topk, const Router &r, Value &weights, Match &m) {
  SmallVector<std::pair<Value, Value>> found; // (dense, weights)
  Match trial;
  for (Operation *user : topk.getIndices().getUsers()) {
    if (auto s = dyn_cast<ScatterElementsOp>(user)) {
      if (s.getIndices() != topk.getIndices() ||
          normAxis(s.getAxis(), 2) != 1 || !isSplatOf(s.getData(), 0) ||
          !hasShape(s.getResult(), {r.tokens, r.experts}) ||
          (s.getReduction() != ScatterReduction::None &&
           s.getReduction() != ScatterReduction::Add))
        continue;
      trial.ops.insert(s);
      trial.add(s.getData());
      found.push_back({s.getResult(), s.getUpdates()});
    } else if (auto oh = dyn_cast<OneHotOp>(user)) {
      // sum_c one_hot(idx)[t, c, :] * w[t, c]
      if (normAxis(oh.getAxis(), 3) != 2 ||
          (int64_t)oh.getDepth() != r.experts ||
          oh.getOffValue().convertToDouble() != 0 ||
          oh.getOnValue().convertToDouble() != 1 || !oh->hasOneUse())
        continue;
      Value v = oh.getResult();
      Operation *next = *v.getUsers().begin();
      if (auto c = dyn_cast<CastOp>(next); c && c->hasOneUse()) {
        trial.ops.insert(c);
        v = c.getResult();
        next = *v.getUsers().begin();
      }
      auto mul = dyn_cast<MulOp>(next);
      if (!mul || !mul->hasOneUse())
        continue;
      Value other = mul.getLhs() == v ? mul.getRhs() : mul.getLhs();
      auto unsq = def<ReshapeOp>(other);
      auto sum = dyn_cast<ReduceSumOp>(*mul->getUsers().begin());
      if (!unsq || !hasShape(unsq.getResult(), {r.tokens, r.k, 1}) || !sum ||
          sum.getAxes().size() != 1 || sum.getAxes()[0] != 1 ||
          sum.getKeepdims() ||
          !hasShape(sum.getResult(), {r.tokens, r.experts}))
        continue;
      trial.ops.insert(oh);
      trial.ops.insert(mul);
      trial.add(other);
      trial.addChain(other);
      trial.ops.insert(sum);
      found.push_back({sum.getResult(), unsq.getInput()});
    }
  }
  if (found.size() != 1) {
    m.fail(found.empty() ? "the chosen experts' weights are not scattered "
                           "into a dense [tokens, experts] matrix"
                         : "the chosen experts feed several dense routing "
                           "matrices");
    return Value();
  }
  m.ops.insert(trial.ops.begin(), trial.ops.end());
  weights = found.front().second;
  return found.front().first;
}

/// The column `[:, e]` (as [T, 1]) that `user` takes from the dense routing
/// matrix, or -1.
int64_t columnIndex(Operation *user, Value dense, int64_t tokens,
                    Value &column) {
  if (auto s = dyn_cast<SliceOp>(user)) {
    if (s.getStarts().size() == 2 && s.getStarts()[0] == 0 &&
        s.getSteps()[0] == 1 && hasShape(s.getResult(), {tokens, 1})) {
      column = s.getResult();
      return s.getStarts()[1];
    }
  } else if (auto g = dyn_cast<GatherOp>(user)) {
    // dense[:, [e]] or dense[:, e] then unsqueezed
    auto idx = dyn_cast_or_null<DenseElementsAttr>(constantOf(g.getIndices()));
    if (g.getData() != dense || normAxis(g.getAxis(), 2) != 1 || !idx ||
        idx.getNumElements() != 1)
      return -1;
    int64_t e = (*idx.getValues<APInt>().begin()).getSExtValue();
    column = g.getResult();
    if (!hasShape(column, {tokens, 1})) {
      if (!column.hasOneUse())
        return -1;
      auto r = dyn_cast<ReshapeOp>(*column.getUsers().begin());
      if (!r || !hasShape(r.getResult(), {tokens, 1}))
        return -1;
      column = r.getResult();
    }
    return e;
  }
  return -1;
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct RaiseMoEPass : kiln::impl::RaiseMoEBase<RaiseMoEPass> {
  void runOnOperation() override;
  /// Tries to raise the MoE anchored at `topk`; reports either way.
  void raise(TopKOp topk);
  llvm::DenseSet<Operation *> erased;
};

/// Would a person reading the graph take `topk` for an expert choice? Its
/// indices build a routing matrix (scatter / one_hot). Only such anchors
/// are reported when they are left.
bool isCandidate(TopKOp topk) {
  if (tensorType(topk.getInput()).getRank() != 2)
    return false;
  for (Operation *user : topk.getIndices().getUsers())
    if (isa<ScatterElementsOp, OneHotOp>(user))
      return true;
  return false;
}

void RaiseMoEPass::raise(TopKOp topk) {
  Match m;
  Router r;
  Value denseWeights;
  Value dense;
  auto left = [&]() { reportLeft(topk, "moe", m.why); };
  auto leave = [&](const Twine &why) {
    m.fail(why);
    left();
  };
  if (!matchRouterInput(topk, r, m))
    return left();
  if (!(dense = matchDispatch(topk, r, denseWeights, m)))
    return left();
  if (!matchRouterWeights(denseWeights, topk, r, m))
    return left();

  // The experts: one column per expert, each scaling its FFN's output.
  int64_t numExperts = r.experts;
  SmallVector<Value> columns(numExperts);
  for (Operation *user : dense.getUsers()) {
    Value column;
    int64_t e = columnIndex(user, dense, r.tokens, column);
    if (e < 0 || e >= numExperts)
      continue;
    if (columns[e])
      return leave(
          llvm::formatv("expert {0}'s routing column is taken twice", e));
    columns[e] = column;
    m.ops.insert(user);
    m.add(column);
  }
  SmallVector<Value> products(numExperts);
  std::vector<Expert> experts;
  for (int64_t e = 0; e < numExperts; ++e) {
    if (!columns[e])
      return leave(llvm::formatv("expert {0} has no routing column taken "
                                 "from the dense routing matrix",
                                 e));
    auto mul = columns[e].hasOneUse()
                   ? dyn_cast<MulOp>(*columns[e].getUsers().begin())
                   : MulOp();
    if (!mul)
      return leave(llvm::formatv("expert {0}'s routing column does not "
                                 "scale one expert output",
                                 e));
    Value ffn = mul.getLhs() == columns[e] ? mul.getRhs() : mul.getLhs();
    Match em;
    std::optional<Expert> ex = matchExpert(ffn, em);
    if (!ex)
      return leave(llvm::formatv("expert {0}: {1}", e, em.why));
    m.ops.insert(em.ops.begin(), em.ops.end());
    m.ops.insert(mul);
    products[e] = mul.getResult();
    experts.push_back(*ex);
  }
  const Expert &first = experts.front();
  for (auto [e, ex] : llvm::enumerate(experts)) {
    if (ex.input != first.input)
      return leave(llvm::formatv("expert {0} reads other tokens than "
                                 "expert 0",
                                 e));
    if (ex.act != first.act)
      return leave(llvm::formatv("expert {0} is {1}, expert 0 {2}", e,
                                 activationName(ex.act),
                                 activationName(first.act)));
    if (ex.gate.n != first.gate.n || ex.gate.k != first.gate.k)
      return leave(llvm::formatv("experts have different shapes (expert "
                                 "{0}: {1}x{2}, expert 0: {3}x{4}); they "
                                 "cannot be stacked",
                                 e, ex.gate.n, ex.gate.k, first.gate.n,
                                 first.gate.k));
    if (ex.gate.weight.getElementType() != first.gate.weight.getElementType() ||
        ex.down.weight.getElementType() != first.gate.weight.getElementType() ||
        (ex.up &&
         ex.up->weight.getElementType() != first.gate.weight.getElementType()))
      return leave("the experts' weights have different element types");
  }
  Value x = first.input;
  auto xType = tensorType(x);
  if (!xType || xType.getRank() != 2 || xType.getDimSize(0) != r.tokens)
    return leave("the experts' input is not [tokens, hidden]");
  Type elt = xType.getElementType();
  auto logitsType = tensorType(r.logits);
  if (first.gate.weight.getElementType() != elt ||
      logitsType.getElementType() != elt ||
      tensorType(dense).getElementType() != elt)
    return leave("the router, the routing weights and the experts do not "
                 "share one element type");

  // The sum of the expert products: a tree of adds whose leaves are exactly
  // the products (and zeros, the accumulator's start).
  Value root = products.front();
  while (root.hasOneUse()) {
    auto add = dyn_cast<AddOp>(*root.getUsers().begin());
    if (!add || add.getType() != products.front().getType())
      break;
    root = add.getResult();
  }
  SmallVector<Value> leaves;
  SmallVector<Operation *> adds;
  std::function<void(Value)> collect = [&](Value v) {
    auto add = v.getDefiningOp<AddOp>();
    if (add && (v == root || v.hasOneUse()) &&
        add.getType() == root.getType() &&
        add.getLhs().getType() == root.getType() &&
        add.getRhs().getType() == root.getType()) {
      adds.push_back(add);
      collect(add.getLhs());
      collect(add.getRhs());
      return;
    }
    leaves.push_back(v);
  };
  collect(root);
  llvm::SmallDenseSet<Value> want(products.begin(), products.end());
  int64_t seen = 0;
  for (Value leaf : leaves) {
    if (want.erase(leaf)) {
      ++seen;
      continue;
    }
    if (isSplatOf(leaf, 0)) {
      m.add(leaf);
      continue;
    }
    return leave("the expert outputs are summed together with something "
                 "else");
  }
  if (seen != numExperts)
    return leave("the expert outputs are not summed into one result (a "
                 "partial sum is used elsewhere)");
  m.ops.insert(adds.begin(), adds.end());

  // Rewrite.
  OpBuilder b(root.getDefiningOp());
  Location loc = topk.getLoc();
  MLIRContext *ctx = &getContext();
  int64_t hidden = xType.getDimSize(1), ffn = first.gate.n;
  size_t size = elt.getIntOrFloatBitWidth() / 8;
  auto stack = [&](auto getProj, int64_t rows, int64_t cols, StringRef name,
                   bool biasOnly) -> FailureOr<Value> {
    std::vector<char> out;
    bool any = false;
    for (const Expert &ex : experts) {
      const Projection &p = getProj(ex);
      if (biasOnly) {
        if (!p.bias) {
          out.insert(out.end(), rows * size, 0);
          continue;
        }
        any = true;
        std::optional<std::vector<char>> bytes = constantBytes(p.bias);
        if (!bytes || p.bias.getElementType() != elt)
          return failure();
        out.insert(out.end(), bytes->begin() + p.lo * size,
                   bytes->begin() + (p.lo + p.n) * size);
        continue;
      }
      any = true;
      std::optional<std::vector<char>> bytes = constantBytes(p.weight);
      if (!bytes)
        return failure();
      appendWeightRows(p, *bytes, size, out);
    }
    if (!any)
      return Value();
    SmallVector<int64_t> shape = {numExperts, rows};
    if (!biasOnly)
      shape.push_back(cols);
    return raising::createConstant(b, loc, RankedTensorType::get(shape, elt), out, name);
  };
  auto gateOf = [](const Expert &e) -> const Projection & { return e.gate; };
  auto upOf = [](const Expert &e) -> const Projection & { return *e.up; };
  auto downOf = [](const Expert &e) -> const Projection & { return e.down; };
  bool swiglu = first.act == ExpertActivation::SwiGLU;
  FailureOr<Value> wGate = stack(gateOf, ffn, hidden, "moe_w_gate", false);
  FailureOr<Value> wDown = stack(downOf, hidden, ffn, "moe_w_down", false);
  FailureOr<Value> wUp =
      swiglu ? stack(upOf, ffn, hidden, "moe_w_up", false) : Value();
  FailureOr<Value> bGate = stack(gateOf, ffn, 0, "moe_b_gate", true);
  FailureOr<Value> bDown = stack(downOf, hidden, 0, "moe_b_down", true);
  FailureOr<Value> bUp =
      swiglu ? stack(upOf, ffn, 0, "moe_b_up", true) : Value();
  Value bias;
  if (r.bias) {
    std::optional<std::vector<char>> bytes = constantBytes(r.bias);
    if (bytes && r.bias.getElementType() == elt)
      bias = raising::createConstant(b, loc, RankedTensorType::get({r.experts}, elt),
                          *bytes, "moe_score_bias");
  }
  if (failed(wGate) || failed(wDown) || failed(wUp) || failed(bGate) ||
      failed(bDown) || failed(bUp) || (r.bias && !bias)) {
    // Nothing uses the new constants yet; drop them.
    for (FailureOr<Value> v : {wGate, wDown, wUp, bGate, bDown, bUp})
      if (succeeded(v) && *v)
        v->getDefiningOp()->erase();
    if (bias)
      bias.getDefiningOp()->erase();
    return leave("an expert weight or the bias could not be read as a "
                 "constant of the input's element type");
  }

  auto route = MoERouteOp::create(
      b, loc, RankedTensorType::get({r.tokens, r.k}, elt),
      RankedTensorType::get({r.tokens, r.k}, b.getI64Type()),
      RankedTensorType::get({r.experts}, b.getI64Type()), r.logits, bias,
      b.getI64IntegerAttr(r.k), RouterScoringAttr::get(ctx, r.scoring),
      b.getBoolAttr(r.normalize), b.getI64IntegerAttr(r.groups),
      b.getI64IntegerAttr(r.topGroups), b.getI64IntegerAttr(0),
      b.getF32FloatAttr(r.scale));
  auto moe = MoEExpertsOp::create(
      b, root.getLoc(), root.getType(), x, route.getExperts(),
      route.getWeights(), *wGate, *wDown, *wUp, *bGate, *bUp, *bDown,
      ExpertActivationAttr::get(ctx, first.act), FloatAttr(),
      b.getF32FloatAttr(1.0f), b.getF32FloatAttr(0.0f));
  root.replaceAllUsesWith(moe.getResult());

  std::string detail;
  llvm::raw_string_ostream os(detail);
  os << (r.scoring == RouterScoring::Softmax ? "softmax" : "sigmoid")
     << " router, top-" << r.k << " of " << r.experts << " experts";
  if (r.softmaxOfTopK)
    os << " (softmax of the top-k logits)";
  if (r.bias)
    os << ", selection bias";
  if (r.groups > 1)
    os << ", " << r.groups << " groups keep " << r.topGroups;
  if (r.normalize)
    os << ", normalized";
  if (r.eps != 0)
    os << " (epsilon " << fmtNum(r.eps) << " dropped)";
  if (r.scale != 1)
    os << ", scale " << fmtNum(r.scale);
  os << "; " << numExperts << " " << activationName(first.act) << " experts "
     << hidden << "->" << ffn << "->" << hidden;
  if (*bGate || *bUp || *bDown)
    os << " with biases";
  reportRaised(topk, "moe", detail);

  // Erase what the rewrite left unused, consumers first.
  SmallVector<Operation *> ops(m.ops.begin(), m.ops.end());
  llvm::sort(ops,
             [](Operation *a, Operation *b) { return b->isBeforeInBlock(a); });
  bool changed = true;
  while (changed) {
    changed = false;
    for (Operation *&op : ops) {
      if (op && op->use_empty()) {
        erased.insert(op);
        op->erase();
        op = nullptr;
        changed = true;
      }
    }
  }
}

void RaiseMoEPass::runOnOperation() {
  SmallVector<TopKOp> anchors;
  getOperation().walk([&](TopKOp t) { anchors.push_back(t); });
  // The expert choice comes after the top-ks that pick groups; visiting
  // from the back lets it claim them (back to the router's projection), so
  // they are not reported on their own.
  llvm::DenseSet<Operation *> claimed;
  for (TopKOp t : llvm::reverse(anchors)) {
    if (erased.contains(t) || claimed.contains(t) || !isCandidate(t))
      continue;
    SmallVector<Value> work = {t.getInput()};
    llvm::DenseSet<Operation *> visited;
    while (!work.empty()) {
      Operation *op = work.pop_back_val().getDefiningOp();
      if (!op || !visited.insert(op).second)
        continue;
      if (isa<TopKOp>(op))
        claimed.insert(op);
      // The router starts at its projection: the top-ks before it belong
      // to earlier layers, which are raised on their own.
      if (isa<MatmulOp, LinearOp>(op))
        continue;
      llvm::append_range(work, op->getOperands());
    }
    raise(t);
  }
}

} // namespace
