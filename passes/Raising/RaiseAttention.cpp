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
// A KV cache in the graph (Hugging Face's past_key_values): keys and values
// `concat(past, new)` along the sequence, returned as `present`, become
// kiln.attention's past_key / past_value, and HF's mask, `concat(zeros
// over the past, causal over the new keys)`, its causal kind.
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
// no pair is removed and the mask operand is clamped itself (see planMasks).
//
// The steps live in AttentionScores.cpp (the scores back to q @ kT),
// AttentionHeads.cpp (GQA) and AttentionMask.cpp (masks), declared in
// Attention.h; constant masks are evaluated by the dialect's BlockEvaluator
// (KilnEvaluate.h).
//
//===----------------------------------------------------------------------===//

#include "Attention.h"
#include "RaisingUtils.h"

#include "kiln/passes/Raising/Passes.h"
#include "kiln/passes/Raising/RaisingReport.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "llvm/ADT/DenseSet.h"

namespace kiln {
#define GEN_PASS_DEF_RAISEATTENTION
#include "kiln/passes/Raising/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::attention;

namespace {

/// Q, K and V as kiln.attention takes them, lifted to [B, H, T, D].
struct QKV {
  /// The key [.., L, D] is transpose(keySource, keyPerm) (identity: none).
  Value keySource, value;
  SmallVector<int64_t> keyPerm, keyShape;
  SmallVector<int64_t> q4, k4, v4;
  /// A KV cache in the graph: the key and value are `concat(past, new)`
  /// along the sequence (see findPastConcats).
  ConcatOp pastKey, pastValue;
};

/// Lifted to 4-D by leading unit dimensions; masks broadcast on the right,
/// so they need no change.
SmallVector<int64_t> lift(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> r(4 - shape.size(), 1);
  llvm::append_range(r, shape);
  return r;
}

/// The matmul that multiplies the probabilities by the values.
std::string findValueMatmul(AttentionMatch &m) {
  SoftmaxOp softmax = m.softmax;
  for (Operation *user : softmax->getUsers())
    if (auto mm = dyn_cast<MatmulOp>(user))
      if (mm.getLhs() == softmax.getResult()) {
        m.output = mm;
        return "";
      }
  Operation *user =
      softmax->use_empty() ? nullptr : *softmax->getUsers().begin();
  if (user && isa<AddOp, SubOp, MulOp, DivOp>(user))
    return "the probabilities go through " +
           user->getName().getStringRef().str() + " before the value matmul";
  return "the probabilities are not multiplied by values";
}

/// The key as [.., L, D]: kT's own transposes composed with (-2, -1); with
/// GQA, K and V un-repeated when both repeat the same grouping.
void findKeyAndValue(AttentionMatch &m, int64_t rank, QKV &qkv) {
  Value src = m.keyT;
  SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  if (!m.keyTPerm.empty())
    perm.assign(m.keyTPerm.begin(), m.keyTPerm.end());
  while (auto tr = src.getDefiningOp<TransposeOp>()) {
    ArrayRef<int64_t> p = tr.getPermutation();
    for (int64_t &d : perm)
      d = p[d];
    src = tr.getInput();
  }
  qkv.keyPerm.assign(perm.begin(), perm.end());
  std::swap(qkv.keyPerm[rank - 2], qkv.keyPerm[rank - 1]);
  qkv.value = m.output.getRhs();
  if (rank == 4 && qkv.keyPerm[0] == 0 && qkv.keyPerm[1] == 1) {
    HeadSource keyHeads = headSource(src), valueHeads = headSource(qkv.value);
    int64_t kk = groupedHeads(keyHeads), kv = groupedHeads(valueHeads);
    if (kk && kk == kv && keyHeads.base != src) {
      src = keyHeads.base;
      qkv.value = valueHeads.base;
    }
  }
  qkv.keySource = src;
  auto srcType = cast<RankedTensorType>(src.getType());
  for (int64_t d : qkv.keyPerm)
    qkv.keyShape.push_back(srcType.getDimSize(d));
}

/// A decoder exported with its KV cache (Hugging Face's past_key_values)
/// appends the step's keys and values to the past ones before attending:
/// `present = concat(past, new)` along the sequence of [B, H, L, D], the
/// concats also returned. kiln.attention has that form: `past` becomes its
/// past_key / past_value, `new` its key / value, and its present_key /
/// present_value replace the concats.
void findPastConcats(QKV &qkv) {
  auto key = qkv.keySource.getDefiningOp<ConcatOp>();
  auto value = qkv.value.getDefiningOp<ConcatOp>();
  auto isCache = [](ConcatOp concat) {
    return concat && concat.getInputs().size() == 2 && concat.getAxis() == 2 &&
           concat.getType().getRank() == 4;
  };
  if (!isCache(key) || !isCache(value) ||
      !llvm::equal(qkv.keyPerm, llvm::seq<int64_t>(0, 4)))
    return;
  qkv.pastKey = key;
  qkv.pastValue = value;
}

/// Shapes: q [.., S, D], kT [.., D, L], v [.., L, Dv], all with the
/// scores' batch dimensions (K/V may have fewer heads: GQA, MQA).
std::string checkShapes(AttentionMatch &m, QKV &qkv) {
  auto st = m.softmax.getType();
  int64_t rank = st.getRank();
  auto qt = cast<RankedTensorType>(m.query.getType());
  if (qt.getShape().drop_back(2) != st.getShape().drop_back(2))
    return "the query's batch dimensions broadcast";
  int64_t l = st.getDimSize(rank - 1);
  findKeyAndValue(m, rank, qkv);
  qkv.q4 = lift(qt.getShape());
  qkv.k4 = lift(qkv.keyShape);
  qkv.v4 = lift(cast<RankedTensorType>(qkv.value.getType()).getShape());
  ArrayRef<int64_t> q4 = qkv.q4, k4 = qkv.k4, v4 = qkv.v4;
  if (k4[0] != q4[0] || v4[0] != q4[0])
    return "the key or value batch broadcasts against the query's";
  if (k4[1] != v4[1] || k4[1] == 0 || q4[1] % k4[1] != 0)
    return "the key and value heads do not divide the query heads";
  if (k4[2] != l || v4[2] != l || k4[3] != q4[3])
    return "the key and value shapes do not match the scores";
  if (rank == 4)
    findPastConcats(qkv);
  return "";
}

/// The remark of a raised attention.
std::string describe(AttentionMatch &m, const MaskPlan &plan,
                     int64_t heads, int64_t kvHeads, Value mask,
                     int64_t rank, bool past) {
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
      os << " clamped at " << raising::formatNumber(*m.clamp);
  }
  os << ", " << heads << (heads == 1 ? " head" : " heads");
  if (kvHeads != heads)
    os << " on " << kvHeads << (kvHeads == 1 ? " kv head" : " kv heads");
  if (rank < 4)
    os << " from " << rank << "-D scores";
  os << ", scale " << raising::formatNumber((float)m.scale);
  if (m.softcap > 0)
    os << ", softcap " << raising::formatNumber(m.softcap);
  if (past)
    os << ", after past keys and values";
  return s;
}

/// Replaces the matched ops by one kiln.attention; returns the old output
/// matmul, now unused.
Operation *buildAttention(AttentionMatch &m, const QKV &qkv,
                          const MaskPlan &plan) {
  SoftmaxOp softmax = m.softmax;
  auto st = softmax.getType();
  int64_t rank = st.getRank();
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
  Value key = qkv.keySource;
  if (!llvm::equal(qkv.keyPerm, llvm::seq<int64_t>(0, rank)))
    key = TransposeOp::create(b, loc, ty(qkv.keyShape), key,
                              b.getDenseI64ArrayAttr(qkv.keyPerm));
  Value q = reshapeTo(m.query, qkv.q4);
  key = reshapeTo(key, qkv.k4);
  Value value = reshapeTo(qkv.value, qkv.v4);
  ConcatOp keyCache = qkv.pastKey, valueCache = qkv.pastValue;
  Value pastKey, pastValue;
  if (keyCache) {
    pastKey = keyCache.getInputs()[0];
    key = keyCache.getInputs()[1];
    pastValue = valueCache.getInputs()[0];
    value = valueCache.getInputs()[1];
  }
  Value mask;
  if (!plan.operandTerms.empty())
    mask = buildMaskOperand(b, loc, plan.operandTerms, elt, m.clamp);
  // Other users of the probabilities read the op's scores result.
  bool probsUsed = llvm::any_of(softmax->getUsers(), [&](Operation *u) {
    return u != m.output.getOperation();
  });
  ArrayRef<int64_t> q4 = qkv.q4, k4 = qkv.k4, v4 = qkv.v4;
  auto op = AttentionOp::create(
      b, loc, ty({q4[0], q4[1], q4[2], v4[3]}), ty(k4), ty(v4),
      probsUsed ? (Type)ty(lift(st.getShape())) : Type(), q, key, value, mask,
      pastKey, pastValue,
      /*global_indices=*/Value(), /*kv_seqlen=*/Value(),
      /*query_start=*/Value(),
      b.getF32FloatAttr(m.scale), b.getF32FloatAttr(m.softcap),
      probsUsed ? ScoreStageAttr::get(b.getContext(), ScoreStage::Probs)
                : ScoreStageAttr(),
      MaskKindAttr::get(b.getContext(), plan.kind),
      b.getI64IntegerAttr(plan.left), b.getI64IntegerAttr(plan.right),
      b.getI64IntegerAttr(0), b.getI64IntegerAttr(0), DenseBoolArrayAttr());

  reportRaised(softmax, "attention",
               describe(m, plan, q4[1], k4[1], mask, rank, (bool)pastKey));
  if (keyCache) {
    // The concats' later users (the graph's present outputs) read the
    // attention's; the earlier ones are the head repeats, erased with the
    // old matmuls.
    auto after = [&](OpOperand &use) {
      Operation *user = use.getOwner();
      return user->getBlock() == op->getBlock() && op->isBeforeInBlock(user);
    };
    keyCache.getResult().replaceUsesWithIf(op.getPresentKey(), after);
    valueCache.getResult().replaceUsesWithIf(op.getPresentValue(), after);
  }
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
  kiln::raising::takeProvenance(op, m.output);
  m.output.getResult().replaceAllUsesWith(out);
  return m.output;
}

/// A softmax of scores (q @ kT of two activations), or one whose result
/// is multiplied by an activation: anything else is not attention and
/// gets no remark (a MoE router's softmax, say).
bool looksLikeAttention(SoftmaxOp softmax) {
  if (reachesScores(softmax.getInput()))
    return true;
  return llvm::any_of(softmax->getUsers(), [&](Operation *user) {
    auto mm = dyn_cast<MatmulOp>(user);
    return mm && mm.getLhs() == softmax.getResult() &&
           !isConstantLike(mm.getRhs());
  });
}

/// Matches the attention around `softmax` into `m`, `qkv` and `plan`;
/// returns why not, or "".
std::string matchAttention(SoftmaxOp softmax, BlockEvaluator &evaluator,
                           AttentionMatch &m, QKV &qkv, MaskPlan &plan) {
  m.softmax = softmax;
  auto st = softmax.getType();
  int64_t rank = st.getRank();
  if (softmax.getNormalizedAxis() != rank - 1)
    return "the softmax is over axis " +
           std::to_string(softmax.getNormalizedAxis()) +
           ", not the key axis " + std::to_string(rank - 1);
  if (std::string why = findValueMatmul(m); !why.empty())
    return why;
  if (std::string why = matchScores(m); !why.empty())
    return why;
  if (isConstantLike(m.scores.getLhs()) || isConstantLike(m.scores.getRhs()))
    return "the scores multiply by a constant, not q @ kT";
  if (rank < 2 || rank > 4)
    return "the scores have rank " + std::to_string(rank) +
           " (kiln.attention takes [B, H, S, L])";
  if (std::string why = checkShapes(m, qkv); !why.empty())
    return why;
  return planMasks(m, st.getDimSize(rank - 2), st.getDimSize(rank - 1),
                   evaluator, plan,
                   qkv.pastKey ? qkv.pastKey.getInputs()[0] : Value());
}

struct RaiseAttentionPass : kiln::impl::RaiseAttentionBase<RaiseAttentionPass> {
  using RaiseAttentionBase::RaiseAttentionBase;

  void runOnOperation() override {
    raising::resolveShapeQueries(getOperation());
    SmallVector<SoftmaxOp> candidates;
    getOperation().walk([&](SoftmaxOp op) { candidates.push_back(op); });
    llvm::DenseSet<Operation *> erased;
    for (SoftmaxOp softmax : candidates) {
      if (erased.contains(softmax.getOperation()) ||
          !looksLikeAttention(softmax))
        continue;
      // A fresh evaluator each time: values it memoized may be erased.
      BlockEvaluator evaluator(maxMaskElements);
      AttentionMatch m;
      QKV qkv;
      MaskPlan plan;
      std::string why = matchAttention(softmax, evaluator, m, qkv, plan);
      if (!why.empty()) {
        reportLeft(softmax, "attention", why);
        continue;
      }
      // The old matmuls, softmax, masks, head reshapes and their constants.
      raising::eraseDeadOps({buildAttention(m, qkv, plan)}, &erased);
    }
    // The size queries the symbolic mask reading made and did not keep.
    raising::resolveShapeQueries(getOperation());
  }
};

} // namespace
