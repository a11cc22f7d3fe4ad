//===- AttentionMask.cpp - Masks as a mask kind or a mask operand ---------===//
//
// kiln-raise-attention's mask step (Attention.h). A mask term that is a
// compile-time constant of positions only ([S, L] broadcast) is evaluated
// a block of query rows at a time (BlockEvaluator, KilnEvaluate.h); when
// the terms together keep exactly a causal or sliding-window band, the
// mask kind replaces them. Everything else is combined into one mask
// operand.
//
//===----------------------------------------------------------------------===//

#include "Attention.h"

#include "kiln/dialects/Kiln/KilnTraits.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/DenseSet.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace kiln;
using namespace kiln::attention;

bool kiln::attention::dependsOn(Value v, Operation *target) {
  // Only ops after `target` in its block can, so the search stays between
  // the two.
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

namespace {

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

/// What the terms do to a block of query rows [r0, r0 + rows): the pairs
/// they remove and the bias they add to the others.
struct RowBlock {
  int64_t r0, rows, l;
  std::vector<char> removed;
  std::vector<double> bias;
  RowBlock(int64_t r0, int64_t rows, int64_t l)
      : r0(r0), rows(rows), l(l), removed(rows * l, 0), bias(rows * l, 0) {}
};

/// Adds what `term` does to the rows of `block`; false when it cannot be
/// evaluated or is not a mask (NaN, +inf).
bool applyTerm(const MaskTerm &term, RowBlock &block,
               BlockEvaluator &evaluator) {
  // The term's [.., S or 1, L or 1] block for these rows.
  ArrayRef<int64_t> shape =
      cast<RankedTensorType>(term.value.getType()).getShape();
  int64_t r = shape.size();
  Box box = Box::whole(shape);
  if (r >= 2 && shape[r - 2] != 1) {
    box.start[r - 2] = block.r0;
    box.count[r - 2] = block.rows;
  }
  std::unique_ptr<EvaluatedTensor> d = evaluator.evaluate(term.value, box);
  if (!d)
    return false;
  while (d->shape.size() > 2) // unit leading dimensions
    d->shape.erase(d->shape.begin());
  std::vector<double> v = broadcastTo(*d, {block.rows, block.l});
  for (int64_t i = 0; i < block.rows * block.l; ++i) {
    double x = v[i];
    if (std::isnan(x))
      return false;
    switch (term.kind) {
    case MaskTerm::Add:
      if (x == std::numeric_limits<double>::infinity())
        return false;
      if (x <= kRemovingFill)
        block.removed[i] = 1;
      else
        block.bias[i] += x;
      break;
    case MaskTerm::Remove:
    case MaskTerm::FillIf:
      if (x != 0)
        block.removed[i] = 1;
      break;
    case MaskTerm::Keep:
    case MaskTerm::FillIfNot:
      if (x == 0)
        block.removed[i] = 1;
      break;
    }
  }
  return true;
}

/// The run of keys each row of `block` keeps, into first/last; false
/// unless every query keeps a key (else torch's output for that row
/// depends on the fill), in one run, unbiased.
bool keptRuns(const RowBlock &block, SmallVectorImpl<int64_t> &first,
              SmallVectorImpl<int64_t> &last) {
  int64_t l = block.l;
  for (int64_t ii = 0; ii < block.rows; ++ii) {
    const char *row = block.removed.data() + ii * l;
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
      if (block.bias[ii * l + j] != 0)
        return false;
    first[block.r0 + ii] = f;
    last[block.r0 + ii] = e;
  }
  return true;
}

/// The mask kind whose band is exactly the kept runs, if any: the window
/// the widest runs need, every run that window clipped to [0, L).
bool kindOfRuns(ArrayRef<int64_t> first, ArrayRef<int64_t> last, int64_t l,
                MaskPlan &plan) {
  int64_t s = first.size();
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
  plan.setBand(leftOpen ? std::nullopt : std::optional<int64_t>(left),
               rightOpen ? std::nullopt : std::optional<int64_t>(right));
  return true;
}

/// Finds the mask kind a set of constant terms equals exactly, if any. The
/// terms are evaluated a block of rows at a time; each query row must keep
/// one contiguous run of keys with no bias added, and the runs must be the
/// band of one (left, right) window.
bool classifyPositional(ArrayRef<MaskTerm> terms, int64_t s, int64_t l,
                        BlockEvaluator &evaluator, MaskPlan &plan) {
  if (s == 0 || l == 0)
    return false;
  SmallVector<int64_t> first(s), last(s); // the kept run of each row
  int64_t blockRows = std::max<int64_t>(1, (int64_t(1) << 20) / l);
  for (int64_t r0 = 0; r0 < s; r0 += blockRows) {
    RowBlock block(r0, std::min(blockRows, s - r0), l);
    for (const MaskTerm &term : terms)
      if (!applyTerm(term, block, evaluator))
        return false;
    if (!keptRuns(block, first, last))
      return false;
  }
  return kindOfRuns(first, last, l, plan);
}

} // namespace

std::string kiln::attention::planMasks(const AttentionMatch &m, int64_t s,
                                       int64_t l, BlockEvaluator &evaluator,
                                       MaskPlan &plan, Value pastKeys) {
  for (const MaskTerm &t : m.masks)
    if (dependsOn(t.value, m.scores))
      return "the mask depends on the attention scores";
  // With a run-time length nothing can be evaluated: the terms are read
  // symbolically instead, whatever their shapes (a mask expanded over the
  // batch is positional when its value does not depend on the batch).
  if (ShapedType::isDynamic(s) || ShapedType::isDynamic(l)) {
    planPositionalBands(m.masks, plan, pastKeys);
  } else if (pastKeys) {
    // A constant mask is compared with kinds whose queries start at key 0,
    // not after a cache of P keys: it stays an operand.
    plan.operandTerms.append(m.masks.begin(), m.masks.end());
  } else {
    SmallVector<MaskTerm> positional;
    for (const MaskTerm &t : m.masks) {
      auto shape = cast<RankedTensorType>(t.value.getType()).getShape();
      if (isPositional(shape, s, l) && evaluator.isComputable(t.value))
        positional.push_back(t);
      else
        plan.operandTerms.push_back(t);
    }
    if (!positional.empty() &&
        !classifyPositional(positional, s, l, evaluator, plan))
      llvm::append_range(plan.operandTerms, positional);
  }
  // A clamp changes nothing when the mask kind alone masks (every query
  // keeps a key). With a mask operand, a query may lose every key; torch
  // then averages all keys (every score clamped to C), so no pair may be
  // removed: every term becomes additive, -inf fills become C, and the
  // sum is clamped at C (scores + C rounds to C, as in torch).
  if (m.clamp && !plan.operandTerms.empty()) {
    plan = MaskPlan();
    plan.operandTerms = m.masks;
  }
  return "";
}

namespace {

/// Builds the parts of the mask operand: i1 masks that keep pairs, and
/// float masks added to the scores.
struct MaskBuilder {
  OpBuilder &b;
  Location loc;
  Type elt;

  Value scalar(Type t, double v) {
    auto type = RankedTensorType::get({}, t);
    return arith::ConstantOp::create(
        b, loc, type, DenseElementsAttr::get(type, b.getFloatAttr(t, v)));
  }
  static ArrayRef<int64_t> shapeOf(Value v) {
    return cast<RankedTensorType>(v.getType()).getShape();
  }
  /// The parts and-ed (i1) or added (floats), broadcast together.
  Value combine(ArrayRef<Value> parts, bool isAnd) {
    Value acc = parts.front();
    for (Value p : parts.drop_front()) {
      SmallVector<int64_t> shape = *broadcastShapes({shapeOf(acc), shapeOf(p)});
      auto type = RankedTensorType::get(
          shape, cast<RankedTensorType>(acc.getType()).getElementType());
      acc = isAnd ? (Value)AndOp::create(b, loc, type, acc, p)
                  : (Value)AddOp::create(b, loc, type, acc, p);
    }
    return acc;
  }
  /// `yes` where `cond` holds, `no` elsewhere.
  Value fillWhere(Value cond, double yes, double no) {
    auto type = RankedTensorType::get(shapeOf(cond), elt);
    return SelectOp::create(b, loc, type, cond, scalar(elt, yes),
                            scalar(elt, no));
  }
  /// Sorts `t` into the kept-pairs masks or the additive ones.
  void addTerm(const MaskTerm &t, SmallVectorImpl<Value> &keeps,
               SmallVectorImpl<Value> &adds) {
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
};

} // namespace

Value kiln::attention::buildMaskOperand(OpBuilder &b, Location loc,
                                        ArrayRef<MaskTerm> terms, Type elt,
                                        std::optional<double> clamp) {
  MaskBuilder mb{b, loc, elt};
  SmallVector<Value> keeps, adds;
  for (const MaskTerm &t : terms)
    mb.addTerm(t, keeps, adds);
  if (clamp) { // see planMasks: nothing removed, -inf becomes the clamp
    for (Value k : keeps)
      adds.push_back(mb.fillWhere(k, 0, *clamp));
    Value sum = mb.combine(adds, /*isAnd=*/false);
    return MaxOp::create(b, loc, sum.getType(), sum, mb.scalar(elt, *clamp));
  }
  if (adds.empty())
    return mb.combine(keeps, /*isAnd=*/true);
  for (Value k : keeps)
    adds.push_back(
        mb.fillWhere(k, 0, -std::numeric_limits<double>::infinity()));
  return mb.combine(adds, /*isAnd=*/false);
}
