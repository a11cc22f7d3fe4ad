//===- AttentionScores.cpp - From the softmax back to q @ kT --------------===//
//
// kiln-raise-attention's first step (Attention.h): the ops between the
// q @ kT matmul and the softmax, read backwards from the softmax, one step
// per op: an additive mask, a masked_fill, Llama's clamp, a scale or a
// softcap. kiln.attention applies them in one order (scale, softcap, masks,
// clamp), so each step also checks that the graph applies them in it.
//
//===----------------------------------------------------------------------===//

#include "Attention.h"
#include "RaisingUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace kiln;
using namespace kiln::attention;

std::optional<double> kiln::attention::splatValue(Value v) {
  auto c = v.getDefiningOp<arith::ConstantOp>();
  if (!c)
    return std::nullopt;
  auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
  if (!dense || !dense.isSplat() || !isa<FloatType>(dense.getElementType()))
    return std::nullopt;
  return dense.getSplatValue<APFloat>().convertToDouble();
}

bool kiln::attention::isConstantLike(Value v, unsigned depth) {
  Operation *op = v.getDefiningOp();
  if (!op || depth > 8)
    return false;
  if (isa<arith::ConstantOp>(op))
    return true;
  if (isa<ReshapeOp, TransposeOp, BroadcastOp, CastOp, SliceOp>(op))
    return isConstantLike(op->getOperand(0), depth + 1);
  return false;
}

bool kiln::attention::reachesScores(Value v, unsigned depth) {
  Operation *op = v.getDefiningOp();
  if (!op || depth > 12)
    return false;
  if (auto mm = dyn_cast<MatmulOp>(op))
    return !isConstantLike(mm.getLhs()) && !isConstantLike(mm.getRhs());
  if (auto sel = dyn_cast<SelectOp>(op))
    return reachesScores(sel.getTrueValue(), depth + 1) ||
           reachesScores(sel.getFalseValue(), depth + 1);
  if (isa<AddOp, SubOp, MulOp, DivOp, MaxOp, TanhOp, NegOp, CastOp,
          ReshapeOp>(op))
    return llvm::any_of(op->getOperands(), [&](Value operand) {
      return reachesScores(operand, depth + 1);
    });
  return false;
}

namespace {

/// Which of kiln.attention's stages the walk back from the softmax is in:
/// masks come last, before them the softcap, before that the scale.
enum class Stage { Masks, Softcap, Scale };

/// The walk's state: the value reached so far and what was collected.
struct ScoreWalk {
  AttentionMatch &m;
  Value x;
  Stage stage = Stage::Masks;
  /// Past a reshape that split merged heads: the scores are [B * H, S, L].
  bool mergedHeads = false;
};

bool isScoreChain(Value v, Type t) {
  return v.getType() == t && reachesScores(v);
}

/// The constant operand of a binary op and the other one, when one of the
/// two is a splat: (constant, other).
std::optional<std::pair<double, Value>> splatOperand(Operation *op) {
  if (std::optional<double> c = splatValue(op->getOperand(1)))
    return std::make_pair(*c, op->getOperand(0));
  if (std::optional<double> c = splatValue(op->getOperand(0)))
    return std::make_pair(*c, op->getOperand(1));
  return std::nullopt;
}

/// scores + mask.
std::string stepAdditiveMask(ScoreWalk &w, AddOp add) {
  bool lhs = isScoreChain(add.getLhs(), add.getType());
  bool rhs = isScoreChain(add.getRhs(), add.getType());
  if (lhs && rhs)
    return "kiln.add of two score-like tensors is not a mask";
  if (!lhs && !rhs)
    return "the scores reach the softmax through ops this pass does not know";
  // + 0 (baddbmm's zero input with beta 1) changes nothing a softmax sees.
  if (splatValue(lhs ? add.getRhs() : add.getLhs()) == 0.0) {
    w.x = lhs ? add.getLhs() : add.getRhs();
    return "";
  }
  if (w.mergedHeads)
    return "a mask is added to the scores before their heads are split";
  if (w.stage != Stage::Masks)
    return "an additive mask is applied before the scale or softcap";
  w.m.masks.push_back({MaskTerm::Add, lhs ? add.getRhs() : add.getLhs()});
  w.x = lhs ? add.getLhs() : add.getRhs();
  return "";
}

/// masked_fill: select(cond, fill, scores) or select(cond, scores, fill)
/// with a constant fill that removes keys.
std::string stepMaskedFill(ScoreWalk &w, SelectOp sel) {
  Value tv = sel.getTrueValue(), fv = sel.getFalseValue();
  std::optional<double> ft = splatValue(tv), ff = splatValue(fv);
  MaskTerm term{MaskTerm::Remove, sel.getCondition()};
  double fill;
  if (ft && isScoreChain(fv, sel.getType())) {
    fill = *ft;
    term.kind = MaskTerm::FillIf;
    w.x = fv;
  } else if (ff && isScoreChain(tv, sel.getType())) {
    fill = *ff;
    term.kind = MaskTerm::FillIfNot;
    w.x = tv;
  } else {
    return "the scores pass through a kiln.select that is not a masked_fill "
           "with a constant";
  }
  if (w.mergedHeads)
    return "a mask is applied to the scores before their heads are split";
  if (w.stage == Stage::Softcap)
    return "a mask is applied before the softcap";
  // Scales met so far come after this mask: they scale the fill too.
  if (w.stage == Stage::Scale && !(w.m.scale > 0))
    return "a mask is scaled by a non-positive factor";
  fill *= w.m.scale;
  if (std::isnan(fill) || fill > kRemovingFill)
    return "masked_fill with " + raising::formatNumber(fill) +
           " does not remove keys (kiln.attention adds a mask or removes "
           "keys)";
  if (std::isinf(fill))
    term.kind =
        term.kind == MaskTerm::FillIf ? MaskTerm::Remove : MaskTerm::Keep;
  term.fill = (double)(float)fill;
  w.m.masks.push_back(term);
  return "";
}

/// HF Llama's max(scores, C) with C ~ finfo.min: it keeps masked scores
/// finite, so a query with every key masked gets a uniform average, not
/// NaN.
std::string stepClamp(ScoreWalk &w, MaxOp max) {
  std::optional<std::pair<double, Value>> c = splatOperand(max);
  if (!c || c->second.getType() != max.getType() || !(c->first <= kClampFloor))
    return "the scores pass through a kiln.max that is not a clamp at about "
           "finfo.min";
  if (w.stage != Stage::Masks || !w.m.masks.empty() || w.m.clamp)
    return "the scores are clamped before a mask, scale or softcap";
  w.m.clamp = c->first;
  w.x = c->second;
  return "";
}

/// The `s` of a softcap `cap * tanh(s / cap)` (or `tanh(s * (1 / cap))`)
/// whose tanh is `tanh`; null otherwise.
Value softcapInput(TanhOp tanh, double cap) {
  Value in = tanh.getInput();
  if (auto div = in.getDefiningOp<DivOp>()) {
    if (splatValue(div.getRhs()) == cap)
      return div.getLhs();
  } else if (auto mulInv = in.getDefiningOp<MulOp>()) {
    std::optional<double> r = splatValue(mulInv.getRhs());
    if (r && std::fabs(*r * cap - 1) < 1e-6)
      return mulInv.getLhs();
  }
  return Value();
}

/// A scalar scale, or the cap of a softcap.
std::string stepMul(ScoreWalk &w, MulOp mul) {
  std::optional<std::pair<double, Value>> c = splatOperand(mul);
  if (!c || c->second.getType() != mul.getType())
    return "the scores are multiplied by a tensor, not a scalar";
  auto [factor, other] = *c;
  if (auto tanh = other.getDefiningOp<TanhOp>()) {
    Value inner = softcapInput(tanh, factor);
    if (!inner || inner.getType() != mul.getType() || !(factor > 0))
      return "the scores pass through a tanh that is not a softcap";
    if (w.stage != Stage::Masks)
      return "the scores are scaled after the softcap";
    w.stage = Stage::Softcap;
    w.m.softcap = factor;
    w.x = inner;
    return "";
  }
  w.stage = Stage::Scale;
  w.m.scale *= factor;
  w.x = other;
  return "";
}

/// [B * H, S, L] -> [B, H, S, L]: scores computed on merged heads.
std::string stepSplitHeads(ScoreWalk &w, ReshapeOp reshape) {
  auto to = reshape.getType();
  auto from = cast<RankedTensorType>(reshape.getInput().getType());
  if (w.mergedHeads || to.getRank() != 4 || from.getRank() != 3 ||
      !to.hasStaticShape() || !from.hasStaticShape() ||
      from.getDimSize(0) != to.getDimSize(0) * to.getDimSize(1) ||
      from.getShape().drop_front() != to.getShape().drop_front(2))
    return "the scores pass through a kiln.reshape that does not split "
           "[B * H, S, L] into [B, H, S, L]";
  w.mergedHeads = true;
  w.x = reshape.getInput();
  return "";
}

/// Undoes the merge of heads on the scores matmul's operands: q is a
/// reshape of [B, H, S, D] and kT one of [B, H, L, D] (or [B, H, D, L])
/// through transposes of its last two dims.
std::string splitMergedOperands(AttentionMatch &m, int64_t heads) {
  auto mergedFrom = [&](Value v) -> Value {
    Value source = raising::reshapeInput(v);
    auto st = source ? dyn_cast<RankedTensorType>(source.getType())
                     : RankedTensorType();
    auto vt = cast<RankedTensorType>(v.getType());
    if (!st || st.getRank() != 4 || st.getDimSize(1) != heads ||
        st.getDimSize(0) * heads != vt.getDimSize(0) ||
        st.getShape().drop_front(2) != vt.getShape().drop_front())
      return Value();
    return source;
  };
  Value q = mergedFrom(m.query);
  if (!q)
    return "the query of merged-head scores is not a reshape of [B, H, S, D]";
  // kT's dim i is `k`'s dim perm[i], composed through its transposes.
  SmallVector<int64_t> perm = {0, 1, 2};
  Value k = m.keyT;
  while (auto tr = k.getDefiningOp<TransposeOp>()) {
    ArrayRef<int64_t> p = tr.getPermutation();
    for (int64_t &d : perm)
      d = p[d];
    k = tr.getInput();
  }
  Value k4 = perm[0] == 0 ? mergedFrom(k) : Value();
  if (!k4)
    return "the key of merged-head scores is not a reshape of [B, H, L, D]";
  m.query = q;
  m.keyT = k4;
  m.keyTPerm = {0, 1, perm[1] + 1, perm[2] + 1};
  return "";
}

/// A division by a scalar (1 / sqrt(d) written as `/ sqrt(d)`).
std::string stepDiv(ScoreWalk &w, DivOp div) {
  std::optional<double> c = splatValue(div.getRhs());
  if (!c || div.getLhs().getType() != div.getType())
    return "the scores are divided by a tensor, not a scalar";
  w.stage = Stage::Scale;
  w.m.scale /= *c;
  w.x = div.getLhs();
  return "";
}

/// `v` with scalar factors (on q or kT) looked through, folded into
/// `scale`.
Value peelScalarFactors(Value v, double &scale) {
  while (Operation *op = v.getDefiningOp()) {
    if (!isa<MulOp, DivOp>(op) || op->getResult(0).getType() != v.getType())
      break;
    Value a = op->getOperand(0), b = op->getOperand(1);
    std::optional<double> cb = splatValue(b);
    std::optional<double> ca = isa<MulOp>(op) ? splatValue(a) : std::nullopt;
    if (cb && a.getType() == v.getType()) {
      scale = isa<MulOp>(op) ? scale * *cb : scale / *cb;
      v = a;
    } else if (ca && b.getType() == v.getType()) {
      scale *= *ca;
      v = b;
    } else {
      break;
    }
  }
  return v;
}

} // namespace

std::string kiln::attention::matchScores(AttentionMatch &m) {
  ScoreWalk w{m, m.softmax.getInput()};
  while (true) {
    Operation *op = w.x.getDefiningOp();
    if (!op)
      return "the scores are not computed by a matmul";
    if (auto mm = dyn_cast<MatmulOp>(op)) {
      m.scores = mm;
      break;
    }
    std::string why =
        llvm::TypeSwitch<Operation *, std::string>(op)
            .Case([&](AddOp add) { return stepAdditiveMask(w, add); })
            .Case([&](SelectOp select) { return stepMaskedFill(w, select); })
            .Case([&](MaxOp max) { return stepClamp(w, max); })
            .Case([&](MulOp mul) { return stepMul(w, mul); })
            .Case([&](DivOp div) { return stepDiv(w, div); })
            .Case([&](ReshapeOp r) { return stepSplitHeads(w, r); })
            .Default([](Operation *other) {
              return "the scores pass through " +
                     other->getName().getStringRef().str() +
                     " before the softmax";
            });
    if (!why.empty())
      return why;
  }
  // Scalar factors on q or kT scale the scores too.
  m.query = peelScalarFactors(m.scores.getLhs(), m.scale);
  m.keyT = peelScalarFactors(m.scores.getRhs(), m.scale);
  if (!std::isfinite(m.scale))
    return "the scale is not finite";
  if (w.mergedHeads)
    return splitMergedOperands(m, m.softmax.getType().getDimSize(1));
  return "";
}
