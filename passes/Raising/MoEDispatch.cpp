//===- MoEDispatch.cpp - Dispatch and combine of a MoE block --------------===//
//
// kiln-raise-moe's dispatch step (MoE.h): the routing weights scattered
// into a dense [tokens, experts] matrix (ScatterElements into zeros, or
// sum(one_hot(idx) * w)); one column per expert, each multiplying that
// expert's FFN of the same tokens; the products summed.
//
//===----------------------------------------------------------------------===//

#include "MoE.h"
#include "RaisingUtils.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/FormatVariadic.h"

#include <functional>

using namespace mlir;
using namespace kiln;
using namespace kiln::moe;

/// Finds the dense [T, E] routing matrix built from the chosen experts and
/// returns it; `weights` receives the [T, k] values scattered into it.
Value kiln::moe::matchDispatch(TopKOp topk, const Router &r, Value &weights,
                               Match &m) {
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
      Value unsq = skipNoOps(other);
      Value unsqIn = raising::reshapeInput(unsq);
      auto sum = dyn_cast<ReduceSumOp>(*mul->getUsers().begin());
      if (!unsqIn || !hasShape(unsq, {r.tokens, r.k, 1}) || !sum ||
          sum.getAxes().size() != 1 || sum.getAxes()[0] != 1 ||
          sum.getKeepdims() ||
          !hasShape(sum.getResult(), {r.tokens, r.experts}))
        continue;
      trial.ops.insert(oh);
      trial.ops.insert(mul);
      trial.add(other);
      trial.addChain(other);
      trial.ops.insert(sum);
      found.push_back({sum.getResult(), unsqIn});
    }
  }
  if (found.size() != 1) {
    m.fail(found.empty() ? "the chosen experts' weights are not scattered "
                           "into a dense [tokens, experts] matrix"
                         : "the chosen experts feed several dense routing "
                           "matrices");
    return Value();
  }
  m.merge(trial);
  weights = found.front().second;
  return found.front().first;
}

namespace {

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
      Value unsqueezed = column.getUsers().begin()->getResult(0);
      if (raising::reshapeInput(unsqueezed) != column ||
          !hasShape(unsqueezed, {tokens, 1}))
        return -1;
      column = unsqueezed;
    }
    return e;
  }
  return -1;
}

} // namespace

bool kiln::moe::matchExpertColumns(Value dense, const Router &r, Match &m,
                                   SmallVectorImpl<Value> &columns) {
  columns.assign(r.experts, Value());
  for (Operation *user : dense.getUsers()) {
    Value column;
    int64_t e = columnIndex(user, dense, r.tokens, column);
    if (e < 0 || e >= r.experts)
      continue;
    if (columns[e])
      return m.fail(
          llvm::formatv("expert {0}'s routing column is taken twice", e));
    columns[e] = column;
    m.ops.insert(user);
    m.add(column);
  }
  return true;
}

Value kiln::moe::matchExpertSum(ArrayRef<Value> products, Match &m,
                                SmallVectorImpl<Value> &others) {
  // Up from the first product to the last add of the tree.
  Value root = products.front();
  while (root.hasOneUse()) {
    auto add = dyn_cast<AddOp>(*root.getUsers().begin());
    if (!add || add.getType() != products.front().getType())
      break;
    root = add.getResult();
  }
  // Down again, collecting the leaves.
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
  size_t seen = 0;
  for (Value leaf : leaves) {
    if (want.erase(leaf)) {
      ++seen;
      continue;
    }
    if (isSplatOf(leaf, 0)) {
      m.add(leaf);
      continue;
    }
    // Another term of the same sum (Qwen2-MoE's gated shared expert, added
    // before the block's reshape): it stays, added to the MoE's result.
    others.push_back(leaf);
  }
  if (seen != products.size()) {
    m.fail("the expert outputs are not summed into one result (a partial "
           "sum is used elsewhere)");
    return Value();
  }
  m.ops.insert(adds.begin(), adds.end());
  return root;
}
