//===- RaiseMoE.cpp - The kiln-raise-moe pass ------------------------------===//
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
//              selection scores, DeepSeek-V2 its best one; the other
//              groups' experts are filled with a
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
// importing it (passes/Raising/ONNX/SparseMoEDispatch.cpp), so it arrives
// here as a dense dispatch.
//
// Anything else is left as it was (it still computes the same numbers
// through the generic ops) and reported with the reason.
////
// The parts are matched in MoERouter.cpp, MoEDispatch.cpp and
// MoEExperts.cpp (MoE.h); this file holds the pass, which runs them in
// order and builds the result.
//
//===----------------------------------------------------------------------===//

#include "MoE.h"
#include "RaisingUtils.h"

#include "kiln/dialects/Kiln/KilnConstants.h"
#include "kiln/passes/Raising/Passes.h"
#include "kiln/passes/Raising/RaisingReport.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstring>

namespace kiln {
#define GEN_PASS_DEF_RAISEMOE
#include "kiln/passes/Raising/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::moe;
using kiln::raising::formatNumber;

//===----------------------------------------------------------------------===//
// Values and constants
//===----------------------------------------------------------------------===//

Value kiln::moe::skipNoOps(Value v) {
  while (Operation *op = v.getDefiningOp()) {
    if (!isa<CastOp, ReshapeOp>(op) ||
        op->getOperand(0).getType() != v.getType())
      break;
    v = op->getOperand(0);
  }
  return v;
}

ElementsAttr kiln::moe::constantOf(Value v) {
  auto c = def<arith::ConstantOp>(v);
  return c ? dyn_cast<ElementsAttr>(c.getValue()) : ElementsAttr();
}

std::optional<ArrayRef<char>>
kiln::moe::wholeByteConstant(ElementsAttr attr, std::vector<char> &storage) {
  Type elt = attr.getElementType();
  if (!elt.isIntOrFloat() || elt.getIntOrFloatBitWidth() % 8)
    return std::nullopt;
  return kiln::constantBytes(attr, storage);
}

std::optional<std::vector<double>>
kiln::moe::constantFloats(ElementsAttr attr) {
  Type elt = attr.getElementType();
  if (!isa<FloatType>(elt) || elt.getIntOrFloatBitWidth() % 8)
    return std::nullopt;
  return kiln::constantFloats(attr);
}

std::optional<double> kiln::moe::splatFloat(Value v) {
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

bool kiln::moe::isSplatOf(Value v, double want) {
  v = skipNoOps(v);
  if (Value stretched = raising::broadcastInput(v))
    v = stretched;
  if (std::optional<double> fill = raising::splatFillValue(v))
    return *fill == want;
  std::optional<double> s = splatFloat(v);
  if (!s) { // integer splats (one_hot's, masks)
    auto dense = dyn_cast_or_null<DenseElementsAttr>(constantOf(v));
    if (dense && dense.isSplat() && isa<IntegerType>(dense.getElementType()))
      return (double)dense.getSplatValue<APInt>().getSExtValue() == want;
    return false;
  }
  return *s == want;
}

void Match::addChain(Value from) {
  while (Operation *op = from.getDefiningOp()) {
    if (!isa<CastOp, ReshapeOp>(op) ||
        op->getOperand(0).getType() != from.getType())
      break;
    ops.insert(op);
    from = op->getOperand(0);
  }
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

namespace {

/// The matched experts, stacked.
struct Experts {
  std::vector<Expert> ffns;
  SmallVector<Value> products; // column e * expert e's output
  Value root;                  // their sum
  SmallVector<Value> others;   // other terms of that sum (a shared expert)
  int64_t hidden = 0, ffn = 0;
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

/// Each column scales one expert's FFN: matches the FFNs.
bool matchExpertProducts(ArrayRef<Value> columns, Experts &ex, Match &m) {
  for (auto [e, column] : llvm::enumerate(columns)) {
    if (!column)
      return m.fail(llvm::formatv("expert {0} has no routing column taken "
                                  "from the dense routing matrix",
                                  e));
    auto mul = column.hasOneUse()
                   ? dyn_cast<MulOp>(*column.getUsers().begin())
                   : MulOp();
    if (!mul)
      return m.fail(llvm::formatv("expert {0}'s routing column does not "
                                  "scale one expert output",
                                  e));
    Value ffn = mul.getLhs() == column ? mul.getRhs() : mul.getLhs();
    Match em;
    std::optional<Expert> expert = matchExpert(ffn, em);
    if (!expert)
      return m.fail(llvm::formatv("expert {0}: {1}", e, em.why));
    m.merge(em);
    m.ops.insert(mul);
    ex.products.push_back(mul.getResult());
    ex.ffns.push_back(*expert);
  }
  return true;
}

/// The experts can be stacked: one input, one activation, one shape and
/// one element type, shared with the router and the routing weights.
bool checkExpertsAgree(Experts &ex, const Router &r, Value dense, Match &m) {
  const Expert &first = ex.ffns.front();
  Type wt = first.gate.weight.getElementType();
  for (auto [e, x] : llvm::enumerate(ex.ffns)) {
    if (x.input != first.input)
      return m.fail(
          llvm::formatv("expert {0} reads other tokens than expert 0", e));
    if (x.act != first.act)
      return m.fail(llvm::formatv("expert {0} is {1}, expert 0 {2}", e,
                                  stringifyExpertActivation(x.act),
                                  stringifyExpertActivation(first.act)));
    if (x.gate.n != first.gate.n || x.gate.k != first.gate.k)
      return m.fail(llvm::formatv("experts have different shapes (expert "
                                  "{0}: {1}x{2}, expert 0: {3}x{4}); they "
                                  "cannot be stacked",
                                  e, x.gate.n, x.gate.k, first.gate.n,
                                  first.gate.k));
    if (x.gate.weight.getElementType() != wt ||
        x.down.weight.getElementType() != wt ||
        (x.up && x.up->weight.getElementType() != wt))
      return m.fail("the experts' weights have different element types");
  }
  auto xType = tensorType(first.input);
  if (!xType || xType.getRank() != 2 || xType.getDimSize(0) != r.tokens)
    return m.fail("the experts' input is not [tokens, hidden]");
  Type elt = xType.getElementType();
  if (wt != elt || tensorType(r.logits).getElementType() != elt ||
      tensorType(dense).getElementType() != elt)
    return m.fail("the router, the routing weights and the experts do not "
                  "share one element type");
  ex.hidden = xType.getDimSize(1);
  ex.ffn = first.gate.n;
  return true;
}

/// The experts' weights and biases stacked into [E, ...] constants (null
/// where no expert has a bias), and the router's bias.
struct StackedWeights {
  Value wGate, wUp, wDown, bGate, bUp, bDown, scoreBias;
};

/// Stacks one projection of every expert: its weight rows (`rows` x
/// `cols`), or with `biasOnly` its bias (zeros for experts without one).
FailureOr<Value> stack(OpBuilder &b, Location loc, const Experts &ex,
                       const Projection &(*getProj)(const Expert &),
                       int64_t rows, int64_t cols, StringRef name,
                       bool biasOnly, Type elt) {
  size_t size = elt.getIntOrFloatBitWidth() / 8;
  size_t expertBytes = rows * (biasOnly ? 1 : cols) * size;
  // Written straight into the constant's blob: the experts' weights are
  // most of a MoE model's bytes.
  AsmResourceBlob blob =
      kiln::allocateConstantBlob(ex.ffns.size() * expertBytes);
  char *to = blob.getMutableData().data();
  bool any = false;
  for (const Expert &e : ex.ffns) {
    const Projection &p = getProj(e);
    if (biasOnly && !p.bias) {
      std::memset(to, 0, expertBytes);
      to += expertBytes;
      continue;
    }
    any = true;
    std::vector<char> storage;
    std::optional<ArrayRef<char>> bytes =
        wholeByteConstant(biasOnly ? p.bias : p.weight, storage);
    if (!bytes || (biasOnly && p.bias.getElementType() != elt))
      return failure();
    char *end = to + expertBytes;
    if (biasOnly) {
      std::memcpy(to, bytes->data() + p.lo * size, p.n * size);
      to += p.n * size;
    } else {
      to = copyWeightRows(p, *bytes, size, to);
    }
    assert(to == end && "an expert's projection has the stacked shape");
    (void)end;
  }
  if (!any)
    return Value();
  SmallVector<int64_t> shape = {(int64_t)ex.ffns.size(), rows};
  if (!biasOnly)
    shape.push_back(cols);
  return Value(arith::ConstantOp::create(
      b, loc,
      kiln::makeConstantAttr(RankedTensorType::get(shape, elt),
                             std::move(blob), name)));
}

const Projection &gateOf(const Expert &e) { return e.gate; }
const Projection &upOf(const Expert &e) { return *e.up; }
const Projection &downOf(const Expert &e) { return e.down; }

/// Stacks every weight; on failure erases what it made.
FailureOr<StackedWeights> stackWeights(OpBuilder &b, Location loc,
                                       const Experts &ex, const Router &r,
                                       Type elt) {
  bool swiglu = ex.ffns.front().act == ExpertActivation::SwiGLU;
  int64_t hidden = ex.hidden, ffn = ex.ffn;
  // In the order the constants appear in the IR.
  FailureOr<Value> parts[] = {
      stack(b, loc, ex, gateOf, ffn, hidden, "moe_w_gate", false, elt),
      stack(b, loc, ex, downOf, hidden, ffn, "moe_w_down", false, elt),
      swiglu ? stack(b, loc, ex, upOf, ffn, hidden, "moe_w_up", false, elt)
             : Value(),
      stack(b, loc, ex, gateOf, ffn, 0, "moe_b_gate", true, elt),
      stack(b, loc, ex, downOf, hidden, 0, "moe_b_down", true, elt),
      swiglu ? stack(b, loc, ex, upOf, ffn, 0, "moe_b_up", true, elt)
             : Value()};
  Value bias;
  if (r.bias) {
    std::vector<char> storage;
    std::optional<ArrayRef<char>> bytes = wholeByteConstant(r.bias, storage);
    if (bytes && r.bias.getElementType() == elt)
      bias = raising::createConstant(
          b, loc, RankedTensorType::get({r.experts}, elt), *bytes,
          "moe_score_bias");
  }
  bool ok = llvm::all_of(parts, [](auto &v) { return succeeded(v); }) &&
            (!r.bias || bias);
  if (!ok) {
    // Nothing uses the new constants yet; drop them.
    for (FailureOr<Value> &v : parts)
      if (succeeded(v) && *v)
        v->getDefiningOp()->erase();
    if (bias)
      bias.getDefiningOp()->erase();
    return failure();
  }
  StackedWeights w;
  w.wGate = *parts[0];
  w.wDown = *parts[1];
  w.wUp = *parts[2];
  w.bGate = *parts[3];
  w.bDown = *parts[4];
  w.bUp = *parts[5];
  w.scoreBias = bias;
  return w;
}

/// The remark of a raised MoE.
std::string describe(const Router &r, const Experts &ex,
                     const StackedWeights &w) {
  std::string detail;
  llvm::raw_string_ostream os(detail);
  os << (r.scoring == RouterScoring::Softmax ? "softmax" : "sigmoid")
     << " router, top-" << r.k << " of " << r.experts << " experts";
  if (r.softmaxOfTopK)
    os << " (softmax of the top-k logits)";
  if (r.bias)
    os << ", selection bias";
  if (r.groups > 1)
    os << ", " << r.groups << " groups keep " << r.topGroups
       << (r.groupScoring == GroupScoring::Max ? " (by their best expert)"
                                               : "");
  if (r.normalize)
    os << ", normalized";
  if (r.eps != 0)
    os << " (epsilon " << formatNumber(r.eps) << " dropped)";
  if (r.scale != 1)
    os << ", scale " << formatNumber(r.scale);
  os << "; " << ex.ffns.size() << " "
     << stringifyExpertActivation(ex.ffns.front().act) << " experts "
     << ex.hidden << "->" << ex.ffn << "->" << ex.hidden;
  if (w.bGate || w.bUp || w.bDown)
    os << " with biases";
  if (!ex.others.empty())
    os << "; " << ex.others.size()
       << " other term(s) of the sum (a shared expert) added to it";
  return detail;
}

/// Replaces the sum of the experts by moe_route + moe_experts.
LogicalResult buildMoE(TopKOp topk, const Router &r, const Experts &ex) {
  OpBuilder b(ex.root.getDefiningOp());
  Location loc = topk.getLoc();
  MLIRContext *ctx = b.getContext();
  const Expert &first = ex.ffns.front();
  Type elt = tensorType(first.input).getElementType();
  FailureOr<StackedWeights> w = stackWeights(b, loc, ex, r, elt);
  if (failed(w))
    return failure();
  auto route = MoERouteOp::create(
      b, loc, RankedTensorType::get({r.tokens, r.k}, elt),
      RankedTensorType::get({r.tokens, r.k}, b.getI64Type()),
      RankedTensorType::get({r.experts}, b.getI64Type()), r.logits,
      w->scoreBias, b.getI64IntegerAttr(r.k),
      RouterScoringAttr::get(ctx, r.scoring), b.getBoolAttr(r.normalize),
      b.getI64IntegerAttr(r.groups), b.getI64IntegerAttr(r.topGroups),
      GroupScoringAttr::get(ctx, r.groupScoring), b.getI64IntegerAttr(0),
      b.getF32FloatAttr(r.scale));
  auto moe = MoEExpertsOp::create(
      b, ex.root.getLoc(), ex.root.getType(), first.input, route.getExperts(),
      route.getWeights(), w->wGate, w->wDown, w->wUp, w->bGate, w->bUp,
      w->bDown, ExpertActivationAttr::get(ctx, first.act), FloatAttr(),
      b.getF32FloatAttr(1.0f), b.getF32FloatAttr(0.0f));
  Value root = ex.root;
  kiln::raising::takeProvenance(moe, root.getDefiningOp());
  Value sum = moe.getResult();
  for (Value other : ex.others)
    sum = AddOp::create(b, root.getLoc(), root.getType(), sum, other);
  root.replaceAllUsesWith(sum);
  reportRaised(topk, "moe", describe(r, ex, *w));
  return success();
}

struct RaiseMoEPass : kiln::impl::RaiseMoEBase<RaiseMoEPass> {
  void runOnOperation() override;

  /// Matches the MoE anchored at `topk`: the router, the dispatch, the
  /// routing weights, the experts and their sum.
  bool match(TopKOp topk, Router &r, Experts &ex, Match &m) {
    Value denseWeights;
    if (!matchRouterInput(topk, r, m))
      return false;
    Value dense = matchDispatch(topk, r, denseWeights, m);
    if (!dense || !matchRouterWeights(denseWeights, topk, r, m))
      return false;
    SmallVector<Value> columns;
    if (!matchExpertColumns(dense, r, m, columns) ||
        !matchExpertProducts(columns, ex, m) ||
        !checkExpertsAgree(ex, r, dense, m))
      return false;
    ex.root = matchExpertSum(ex.products, m, ex.others);
    return (bool)ex.root;
  }

  /// Tries to raise the MoE anchored at `topk`; reports either way.
  void raise(TopKOp topk) {
    Match m;
    Router r;
    Experts ex;
    if (!match(topk, r, ex, m))
      return reportLeft(topk, "moe", m.why);
    if (failed(buildMoE(topk, r, ex)))
      return reportLeft(topk, "moe",
                        "an expert weight or the bias could not be read as "
                        "a constant of the input's element type");
    // Erase what the rewrite left unused.
    raising::eraseDeadOps(SmallVector<Operation *>(m.ops.begin(), m.ops.end()),
                          &erased);
  }

  llvm::DenseSet<Operation *> erased;
};

void RaiseMoEPass::runOnOperation() {
  raising::resolveShapeQueries(getOperation());
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
