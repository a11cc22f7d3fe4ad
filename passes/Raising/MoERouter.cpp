//===- MoERouter.cpp - The router of a MoE block --------------------------===//
//
// kiln-raise-moe's router step (MoE.h), from the anchoring top-k back to
// the logits: softmax(logits) or sigmoid(logits), maybe plus a constant
// selection bias, maybe masked to the best groups (DeepSeek-V3: a group
// scores the sum of its two best selection scores; DeepSeek-V2: its best
// one; the other groups' experts are filled with a value no eligible
// expert can fall below); or,
// Mixtral's reference form, the top-k of the logits themselves with the
// softmax taken over the k chosen values. Then the routing weights: the
// top-k values or the unbiased scores gathered at the chosen experts,
// optionally divided by their sum (+ a negligible epsilon), optionally
// times a constant scale.
//
//===----------------------------------------------------------------------===//

#include "MoE.h"
#include "RaisingUtils.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace mlir;
using namespace kiln;
using namespace kiln::moe;
using kiln::raising::formatNumber;

namespace {

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

/// Matches DeepSeek's group mask `gm` [T, E] (1 for experts in a kept
/// group) built from the selection scores `base`; sets groups, topGroups
/// and groupScoring.
bool matchGroupMask(Value mf, Value base, Router &r, Match &m) {
  int64_t t = r.tokens, e = r.experts;
  // [T, G] -> [T, G, 1] -> broadcast [T, G, E/G] -> [T, E]
  Value flat = skipNoOps(mf);
  Value expanded = skipNoOps(raising::reshapeInput(flat));
  Value unsqueezed = expanded ? skipNoOps(raising::broadcastInput(expanded))
                              : Value();
  Value groupMask = unsqueezed ? raising::reshapeInput(unsqueezed) : Value();
  if (!groupMask)
    return m.fail("the expert mask is not a [tokens, groups] mask expanded "
                  "over each group's experts");
  auto bt = tensorType(expanded);
  if (bt.getRank() != 3 || bt.getDimSize(0) != t ||
      bt.getDimSize(1) * bt.getDimSize(2) != e ||
      !hasShape(unsqueezed, {t, bt.getDimSize(1), 1}))
    return m.fail("the expert mask is not a [tokens, groups] mask expanded "
                  "over each group's experts");
  int64_t groups = bt.getDimSize(1), per = bt.getDimSize(2);
  Value gm = skipNoOps(groupMask);
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
  // group score = sum of each group's two best selection scores (V3), or
  // the best one (V2)
  Value grouped;
  if (auto max = gs.getDefiningOp<ReduceMaxOp>()) {
    if (max.getAxes().size() != 1 || max.getAxes()[0] != 2 ||
        max.getKeepdims())
      return m.fail("a group's best score is not a max over its experts");
    grouped = max.getInput();
    r.groupScoring = GroupScoring::Max;
    m.add(gs);
  } else if (auto sum = gs.getDefiningOp<ReduceSumOp>()) {
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
  } else {
    return m.fail("the group scores are neither the sum of each group's two "
                  "best selection scores nor its best one");
  }
  Value view = skipNoOps(grouped);
  Value viewed = raising::reshapeInput(view);
  if (!viewed || skipNoOps(viewed) != base ||
      !hasShape(view, {t, groups, per}))
    return m.fail("the group scores are not computed from the selection "
                  "scores");
  m.add(grouped);
  m.addChain(grouped);
  m.add(gtop.getIndices());
  m.add(scatter.getUpdates());
  if (Value ones = raising::broadcastInput(skipNoOps(scatter.getUpdates())))
    m.add(ones);
  m.add(scatter.getData());
  m.add(gm);
  m.addChain(groupMask);
  m.add(unsqueezed);
  m.add(expanded);
  m.add(flat);
  m.addChain(mf);
  r.groups = groups;
  r.topGroups = gtop.getK();
  return true;
}

/// The anchor: a top-k over the experts of [tokens, experts] float scores.
bool checkTopK(TopKOp topk, Router &r, Match &m) {
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
  return true;
}

/// Group masking of the selection scores `sel`: select(mask, sel, fill),
/// select(!mask, fill, sel), or sel * mask (fill 0). Sets `base` to the
/// unmasked selection scores (`sel` itself without a mask) and `fill`.
bool matchGroupMasking(Value sel, Router &r, Match &m, Value &base,
                       std::optional<double> &fill) {
  base = sel;
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
    return matchGroupMask(mask, base, r, m);
  }
  auto mul = sel.getDefiningOp<MulOp>();
  if (!mul)
    return true;
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
      m.merge(trial);
      return true;
    }
  }
  return m.fail("the top-k input is a product that is not the selection "
                "scores times a group mask: " +
                trial.why);
}

/// The selection scores `base`: the router's scores, maybe plus a constant
/// [experts] bias. Returns the scores (null on failure).
Value matchSelectionBias(Value base, Router &r, Match &m) {
  auto add = base.getDefiningOp<AddOp>();
  if (!add)
    return base;
  for (int i : {0, 1}) {
    ElementsAttr bias = constantOf(add->getOperand(1 - i));
    Value s = skipNoOps(add->getOperand(i));
    if (bias && bias.getNumElements() == r.experts &&
        (def<SoftmaxOp>(s) || def<SigmoidOp>(s))) {
      r.bias = bias;
      m.add(base);
      m.add(add->getOperand(1 - i));
      return s;
    }
  }
  m.fail("the selection scores add something other than a constant "
         "[experts] bias to the router scores");
  return Value();
}

/// The scoring: softmax or sigmoid of the logits, or (Mixtral's reference
/// form) the logits themselves, with the softmax taken after the top-k.
bool matchScoring(Value scores, Router &r, Match &m) {
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
    r.softmaxOfTopK = true;
    r.logits = scores;
    return true;
  } else {
    return m.fail("the router scores are neither softmax nor sigmoid of the "
                  "logits");
  }
  r.scores = scores;
  return true;
}

/// A finite fill must stay below every eligible expert's selection score,
/// which is at least min(bias) (scores are in [0, 1]); otherwise masked
/// experts could be chosen, which kiln.moe_route never does. (At equality
/// only an eligible score that underflowed to exactly 0 ties a masked one.)
bool checkGroupFill(std::optional<double> fill, const Router &r, Match &m) {
  if (!fill)
    return true;
  if (std::isinf(*fill)) {
    if (*fill > 0)
      return m.fail("experts outside the kept groups are filled with +inf");
    return true;
  }
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
                                "selection score {1}, so they could be chosen",
                                formatNumber(*fill), formatNumber(lowest))
                      .str());
  return true;
}

} // namespace

bool kiln::moe::matchRouterInput(TopKOp topk, Router &r, Match &m) {
  if (!checkTopK(topk, r, m))
    return false;
  Value sel = skipNoOps(topk.getInput());
  m.addChain(topk.getInput());
  Value base;
  std::optional<double> fill;
  if (!matchGroupMasking(sel, r, m, base, fill))
    return false;
  r.selection = base;
  Value scores = matchSelectionBias(base, r, m);
  if (!scores || !matchScoring(scores, r, m))
    return false;
  if (r.scores) {
    m.add(r.scores);
    m.addChain(base == r.scores ? sel : base);
  }
  return checkGroupFill(fill, r, m);
}

/// Matches the routing weights `w` [T, k] as used by the dispatch back to
/// the router: [scale *] [normalize] (top-k values | gathered scores).
bool kiln::moe::matchRouterWeights(Value w, TopKOp topk, Router &r,
                                   Match &m) {
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
                                  formatNumber(*eps))
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
    // A group mask fills the other groups' experts with a value below every
    // eligible score (checkGroupFill checks it), so the chosen values are
    // the router's scores; a selection bias would have been added to them.
    if (r.bias)
      return m.fail("the routing weights are the top-k of the biased "
                    "selection scores, not the router's scores");
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
