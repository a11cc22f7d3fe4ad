//===- PartitionTensorParallel.cpp - Tensor parallelism for one rank ------===//
//
// Megatron-style tensor parallelism: each block's first projections keep
// the rank's output columns (attention heads, FFN columns), its last
// projection the matching input columns, and one kiln.all_reduce per block
// adds the ranks' partial results. Steps: attention layers (follow q, k and
// v back to their projections, shrink what lies between, shrink the
// attention, follow its output to the output projection), routed experts
// (their intermediate size), then dense FFNs (a weighted op fed by an
// elementwise tree over weighted ops of one input).
//
// Kiln's own rewrite rather than upstream shard-partition: Kiln's ops do
// not implement the shard dialect's ShardingInterface (shard-partition
// reports "sharding interface is not implemented" on them), and the
// weights must become per-rank constants, which one SPMD program of the
// shard dialect does not express (docs/parallel.md).
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/Planning/Passes.h"

#include "RankOptions.h"

#include "SliceWeights.h"

#include "kiln/dialects/Kiln/KilnOps.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"

namespace kiln {
#define GEN_PASS_DEF_PARTITIONTENSORPARALLEL
#include "kiln/passes/Planning/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// What a rank keeps of one dimension: block `index` of `count` equal
/// blocks.
struct Block {
  int64_t index, count;
};

/// The constant weight of a projection: kiln.linear's `[N, K]` weight, or
/// kiln.matmul's 2-D right operand `[K, N]`; null for other ops.
Value projectionWeight(Operation *op) {
  Value w;
  if (auto lin = dyn_cast<LinearOp>(op))
    w = lin.getWeight();
  else if (auto mm = dyn_cast<MatmulOp>(op))
    w = mm.getRhs();
  else
    return Value();
  auto type = dyn_cast<RankedTensorType>(w.getType());
  Operation *def = w.getDefiningOp();
  if (!type || type.getRank() != 2 || !type.hasStaticShape() || !def ||
      !def->hasTrait<mlir::OpTrait::ConstantLike>())
    return Value();
  return w;
}

/// `type` with dimension `dim` divided by `blocks`.
RankedTensorType shrink(Type type, int64_t dim, int64_t blocks) {
  auto t = cast<RankedTensorType>(type);
  SmallVector<int64_t> shape(t.getShape());
  shape[dim] /= blocks;
  return RankedTensorType::get(shape, t.getElementType());
}

/// Projection `op` (kiln.linear, weight [N, K], or kiln.matmul, weight
/// [K, N]) rebuilt over block `block` of its weight's output features
/// (`outputs`) or input features, with result type `resultType`; a
/// linear's bias is sliced with the outputs, or kept only where `keepBias`
/// when the inputs are split. The new op replaces `op`.
Value sliceProjection(Operation *op, Type resultType, bool outputs, Block block,
                      bool keepBias, StringRef suffix) {
  OpBuilder b(op);
  Location loc = op->getLoc();
  Value w = projectionWeight(op);
  auto lin = dyn_cast<LinearOp>(op);
  int64_t dim = outputs == bool(lin) ? 0 : 1;
  int64_t size =
      cast<RankedTensorType>(w.getType()).getDimSize(dim) / block.count;
  Value weight = sliceAlong(b, loc, w, dim, block.index * size, size, suffix);
  Value result;
  if (lin) {
    Value bias = lin.getBias();
    if (bias && outputs)
      bias = sliceAlong(b, loc, bias, 0, block.index * size, size, suffix);
    else if (!keepBias)
      bias = Value();
    result = LinearOp::create(b, loc, resultType, lin.getInput(), weight, bias);
  } else {
    result = MatmulOp::create(b, loc, resultType, cast<MatmulOp>(op).getLhs(),
                              weight);
  }
  op->getResult(0).replaceAllUsesWith(result);
  op->erase();
  return result;
}

/// Keeps block `block` of the output columns of projection `op` (its
/// weight's rows for kiln.linear, columns for kiln.matmul, and the bias):
/// a new op over the sliced constants, whose result replaces `op`'s.
Value splitColumns(Operation *op, Block block, StringRef suffix) {
  Type oldType = op->getResult(0).getType();
  auto resultType = shrink(
      oldType, cast<RankedTensorType>(oldType).getRank() - 1, block.count);
  return sliceProjection(op, resultType, /*outputs=*/true, block,
                         /*keepBias=*/true, suffix);
}

/// Checks that kiln.all_reduce can sum `type`'s elements.
LogicalResult checkSummable(Operation *op, Type type) {
  Type element = cast<RankedTensorType>(type).getElementType();
  if (element.isF32() || element.isF64())
    return success();
  return op->emitError("tensor parallelism sums the ranks' partial results "
                       "with kiln.all_reduce, which takes f32 or f64; found ")
         << element;
}

/// Adds a kiln.all_reduce after `value` (a rank's partial sum) and makes
/// it take `value`'s place.
void sumOverRanks(Value value, int64_t ranks) {
  OpBuilder b(value.getContext());
  b.setInsertionPointAfterValue(value);
  auto sum = AllReduceOp::create(b, value.getLoc(), value.getType(), value,
                                 b.getI64IntegerAttr(ranks),
                                 /*group=*/IntegerAttr());
  value.replaceAllUsesExcept(sum.getResult(), sum);
}

/// Keeps block `block` of the input columns of projection `op` (its
/// weight's columns for kiln.linear, rows for kiln.matmul; the bias on
/// rank 0 only, as the all-reduce would add it once per rank), whose input
/// already has the block's columns, and sums the ranks' results.
LogicalResult splitRows(Operation *op, Block block, int64_t rank,
                        StringRef suffix) {
  if (failed(checkSummable(op, op->getResult(0).getType())))
    return failure();
  Value result =
      sliceProjection(op, op->getResult(0).getType(), /*outputs=*/false, block,
                      /*keepBias=*/rank == 0, suffix);
  sumOverRanks(result, block.count);
  return success();
}

/// Where a split of dimension `dim` (into `blocks`) of `reshape`'s input
/// lands in its result: the result dimension that starts at the same
/// element offset, when the smaller of the two (unsplit) sizes is a
/// multiple of `blocks` and divides the larger (so the input's contiguous
/// block is the result's). -1 when there is none. The input already has
/// the split type, the result not yet.
int64_t reshapedDim(ReshapeOp reshape, int64_t dim, int64_t blocks) {
  auto in = cast<RankedTensorType>(reshape.getInput().getType());
  auto out = cast<RankedTensorType>(reshape.getType());
  if (!in.hasStaticShape() || !out.hasStaticShape())
    return -1;
  int64_t before = 1;
  for (int64_t d = 0; d < dim; ++d)
    before *= in.getDimSize(d);
  int64_t inSize = in.getDimSize(dim) * blocks;
  int64_t outBefore = 1;
  for (int64_t d = 0; d < out.getRank(); ++d) {
    int64_t size = out.getDimSize(d);
    if (outBefore == before && size > 1) {
      int64_t small = std::min(size, inSize), large = std::max(size, inSize);
      return small % blocks == 0 && large % small == 0 ? d : -1;
    }
    outBefore *= size;
  }
  return -1;
}

/// Gives `op` (a reshape, transpose, cast or RoPE whose input's dimension
/// `dim` was split into `blocks`) the smaller result type; the split
/// dimension of its result, or failure when the op cannot carry the split.
FailureOr<int64_t> carrySplit(Operation *op, int64_t dim, int64_t blocks) {
  int64_t outDim = -1;
  if (auto reshape = dyn_cast<ReshapeOp>(op))
    outDim = reshapedDim(reshape, dim, blocks);
  else if (auto transpose = dyn_cast<TransposeOp>(op))
    outDim = llvm::find(transpose.getPermutation(), dim) -
             transpose.getPermutation().begin();
  else if (isa<CastOp>(op) || (isa<RopeOp>(op) && dim == 1))
    outDim = dim;
  if (outDim < 0)
    return op->emitError("tensor parallelism cannot carry a split of "
                         "dimension ")
           << dim << " through this op (it follows the heads through "
           << "reshapes, transposes, casts and RoPE on the heads dimension)";
  op->getResult(0).setType(shrink(op->getResult(0).getType(), outDim, blocks));
  return outDim;
}

/// The projection that `operand` (a q, k or v of attention `attn`) comes
/// from, and the ops between them in order; failure (reported) when the
/// chain is not projection -> reshape/transpose/cast/RoPE -> attention
/// with each value used once.
FailureOr<Operation *> projectionChain(AttentionOp attn, Value operand,
                                       StringRef what,
                                       SmallVectorImpl<Operation *> &chain) {
  Value v = operand;
  for (int depth = 0; depth < 16; ++depth) {
    Operation *def = v.getDefiningOp();
    if (!def)
      break;
    if (!v.hasOneUse())
      return attn.emitError("tensor parallelism needs the attention's ")
             << what << " computed for it alone; a value on its way from "
             << "the projection has other users";
    if (projectionWeight(def)) {
      std::reverse(chain.begin(), chain.end());
      return def;
    }
    if (!isa<ReshapeOp, TransposeOp, CastOp, RopeOp>(def))
      break;
    chain.push_back(def);
    v = def->getOperand(0);
  }
  return attn.emitError("tensor parallelism needs the attention's ")
         << what
         << " to come from a kiln.linear or kiln.matmul with a constant "
            "2-D weight, through reshapes, transposes, casts and RoPE";
}

/// Splits the projection feeding `operand` of `attn` by output columns
/// into `block` and shrinks the ops between them, so `operand` ends with
/// the rank's heads on dimension 1.
LogicalResult splitOperand(AttentionOp attn, Value operand, StringRef what,
                           Block block, StringRef suffix) {
  // One block is the whole: a KV head every rank keeps (fewer KV heads
  // than ranks, one of them).
  if (block.count == 1)
    return success();
  SmallVector<Operation *> chain;
  FailureOr<Operation *> proj = projectionChain(attn, operand, what, chain);
  if (failed(proj))
    return failure();
  auto projType = cast<RankedTensorType>((*proj)->getResult(0).getType());
  if (!projType.hasStaticShape() ||
      projType.getShape().back() % block.count != 0)
    return attn.emitError("tensor parallelism cannot split the ")
           << what << " projection's " << projType.getShape().back()
           << " output columns into " << block.count << " blocks";
  splitColumns(*proj, block, suffix);
  int64_t dim = projType.getRank() - 1;
  for (Operation *op : chain) {
    FailureOr<int64_t> next = carrySplit(op, dim, block.count);
    if (failed(next))
      return failure();
    dim = *next;
  }
  if (dim != 1)
    return attn.emitError("tensor parallelism split the ")
           << what << " projection's columns, which reach the attention as "
           << "dimension " << dim << " rather than the heads (dimension 1)";
  return success();
}

/// The attention features the partitioning supports: no KV cache, and
/// nothing reads the present keys and values or the scores (they would
/// hold only the rank's heads).
LogicalResult checkAttention(AttentionOp attn) {
  if (attn.getPastKey())
    return attn.emitError("tensor parallelism does not split attention with "
                          "a KV cache (past keys) yet");
  if (!attn.getPresentKey().use_empty() || !attn.getPresentValue().use_empty())
    return attn.emitError("tensor parallelism does not split attention "
                          "whose present keys or values are used");
  if (attn.getScores())
    return attn.emitError("tensor parallelism does not split attention "
                          "that returns its scores");
  return success();
}

/// The KV heads rank `rank` of `ranks` keeps of `kvHeads`: its block when
/// `ranks` divides them, else the one head its query heads use.
FailureOr<Block> kvBlock(AttentionOp attn, int64_t kvHeads, int64_t rank,
                         int64_t ranks) {
  if (kvHeads % ranks == 0)
    return Block{rank, ranks};
  if (ranks % kvHeads == 0)
    return Block{rank * kvHeads / ranks, kvHeads};
  return attn.emitError("tensor parallelism over ")
         << ranks << " ranks needs the " << kvHeads
         << " KV heads and the ranks to divide one another";
}

/// Follows the attention output (its heads on dimension 1 already split)
/// through reshapes, transposes and casts to the output projection, which
/// keeps the matching input columns and is summed over the ranks.
LogicalResult partitionOutput(AttentionOp attn, Block heads, int64_t rank,
                              StringRef suffix) {
  Value v = attn.getOutput();
  int64_t dim = 1;
  for (int depth = 0; depth < 16; ++depth) {
    if (!v.hasOneUse())
      break;
    Operation *user = *v.getUsers().begin();
    if (projectionWeight(user) && user->getOperand(0) == v) {
      if (dim != cast<RankedTensorType>(v.getType()).getRank() - 1)
        break;
      return splitRows(user, heads, rank, suffix);
    }
    if (!isa<ReshapeOp, TransposeOp, CastOp>(user))
      break;
    FailureOr<int64_t> next = carrySplit(user, dim, heads.count);
    if (failed(next))
      return failure();
    dim = *next;
    v = user->getResult(0);
  }
  return attn.emitError("tensor parallelism needs the attention's output "
                        "to reach one kiln.linear or kiln.matmul with a "
                        "constant 2-D weight, through reshapes, transposes "
                        "and casts that bring the heads to its last "
                        "dimension");
}

/// Tensor parallelism of one attention layer: q, k and v projections by
/// output columns (the rank's heads), the attention over those heads, the
/// output projection by input columns, then the all-reduce.
LogicalResult partitionAttention(AttentionOp attn, int64_t rank,
                                 int64_t ranks) {
  auto q = cast<RankedTensorType>(attn.getQuery().getType());
  auto k = cast<RankedTensorType>(attn.getKey().getType());
  if (failed(checkAttention(attn)))
    return failure();
  if (q.getRank() != 4 || ShapedType::isDynamic(q.getDimSize(1)) ||
      ShapedType::isDynamic(k.getDimSize(1)) || q.getDimSize(1) % ranks != 0)
    return attn.emitError("tensor parallelism over ")
           << ranks << " ranks needs the query heads to be a multiple of "
           << ranks << ", found " << q.getDimSize(1);
  Block heads{rank, ranks};
  FailureOr<Block> kv = kvBlock(attn, k.getDimSize(1), rank, ranks);
  if (failed(kv))
    return failure();
  std::string suffix = ".tp" + std::to_string(rank);
  if (failed(splitOperand(attn, attn.getQuery(), "query", heads, suffix)) ||
      failed(splitOperand(attn, attn.getKey(), "key", *kv, suffix)) ||
      failed(splitOperand(attn, attn.getValue(), "value", *kv, suffix)))
    return failure();
  // A mask with a dimension per query head keeps the rank's heads.
  if (Value mask = attn.getMask()) {
    auto m = cast<RankedTensorType>(mask.getType());
    if (m.getRank() == 4 && m.getDimSize(1) == q.getDimSize(1) &&
        m.getDimSize(1) > 1) {
      OpBuilder b(attn);
      int64_t n = m.getDimSize(1) / ranks;
      attn.getMaskMutable().assign(
          sliceAlong(b, attn.getLoc(), mask, 1, rank * n, n, suffix));
    }
  }
  attn.getOutput().setType(shrink(attn.getOutput().getType(), 1, ranks));
  attn.getPresentKey().setType(
      shrink(attn.getPresentKey().getType(), 1, kv->count));
  attn.getPresentValue().setType(
      shrink(attn.getPresentValue().getType(), 1, kv->count));
  return partitionOutput(attn, heads, rank, suffix);
}

/// Tensor parallelism of one routed-expert layer: every expert keeps
/// block `rank` of its intermediate columns (w_gate, w_up and their biases
/// by rows, w_down by columns; the down bias on rank 0 only), then the
/// all-reduce.
LogicalResult partitionExperts(MoEExpertsOp op, int64_t rank, int64_t ranks) {
  auto gateType = cast<RankedTensorType>(op.getWGate().getType());
  int64_t f = gateType.getDimSize(1);
  if (!gateType.hasStaticShape() || f % ranks != 0)
    return op.emitError("tensor parallelism over ")
           << ranks << " ranks needs the experts' intermediate size to be a "
           << "multiple of " << ranks << ", found " << f;
  if (failed(checkSummable(op, op.getType())))
    return failure();
  OpBuilder b(op);
  Location loc = op.getLoc();
  int64_t n = f / ranks, lo = rank * n;
  std::string suffix = ".tp" + std::to_string(rank);
  auto slice = [&](Value v, int64_t dim) {
    return v ? sliceAlong(b, loc, v, dim, lo, n, suffix) : Value();
  };
  // One at a time, so the new ops come in operand order.
  Value gate = slice(op.getWGate(), 1);
  Value down = slice(op.getWDown(), 2);
  Value up = slice(op.getWUp(), 1);
  Value gateBias = slice(op.getBGate(), 1);
  Value upBias = slice(op.getBUp(), 1);
  Value downBias = rank == 0 ? op.getBDown() : Value();
  auto local = MoEExpertsOp::create(
      b, loc, op.getType(), op.getInput(), op.getExperts(), op.getWeights(),
      gate, down, up, gateBias, upBias, downBias, op.getActivationAttr(),
      op.getSwigluLimitAttr(), op.getSwigluAlphaAttr(), op.getSwigluBetaAttr());
  op.getResult().replaceAllUsesWith(local.getResult());
  op.erase();
  sumOverRanks(local.getResult(), ranks);
  return success();
}

/// A dense FFN ending in `down`: the elementwise ops between its input and
/// the projections that feed them (`tree`), and those projections
/// (`leaves`, all of one input).
struct Ffn {
  Operation *down;
  llvm::SetVector<Operation *> tree, leaves;
};

/// Elementwise ops an FFN's activation is made of: each output column
/// depends on the same column of its operands alone.
bool isElementwise(Operation *op) {
  return isa<SiluOp, GeluOp, SigmoidOp, ReluOp, TanhOp, MulOp, AddOp, SubOp,
             NegOp, CastOp, LeakyReluOp, ErfOp>(op);
}

/// A constant operand that broadcasts over the columns (a scalar or a
/// last dimension of 1), which an elementwise op may take whole.
bool isBroadcastConstant(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  Operation *def = v.getDefiningOp();
  return type && def && def->hasTrait<mlir::OpTrait::ConstantLike>() &&
         (type.getRank() == 0 || type.getShape().back() == 1);
}

/// The FFN that `down` ends, if its input is an elementwise tree over
/// projections of one common input whose values nothing else uses.
std::optional<Ffn> matchFfn(Operation *down) {
  Ffn ffn{down, {}, {}};
  SmallVector<Value> work{down->getOperand(0)};
  Type columns = down->getOperand(0).getType();
  while (!work.empty()) {
    Operation *def = work.pop_back_val().getDefiningOp();
    if (!def || ffn.tree.contains(def) || ffn.leaves.contains(def))
      continue;
    if (def->getResult(0).getType() != columns)
      return std::nullopt;
    if (projectionWeight(def)) {
      ffn.leaves.insert(def);
      continue;
    }
    if (!isElementwise(def))
      return std::nullopt;
    ffn.tree.insert(def);
    for (Value operand : def->getOperands())
      if (!isBroadcastConstant(operand))
        work.push_back(operand);
  }
  if (ffn.leaves.empty())
    return std::nullopt;
  Value input = ffn.leaves.front()->getOperand(0);
  for (Operation *leaf : ffn.leaves)
    if (leaf->getOperand(0) != input)
      return std::nullopt;
  auto inside = [&](Operation *user) {
    return user == down || ffn.tree.contains(user);
  };
  for (auto *set : {&ffn.tree, &ffn.leaves})
    for (Operation *op : *set)
      if (!llvm::all_of(op->getUsers(), inside))
        return std::nullopt;
  return ffn;
}

/// Tensor parallelism of a dense FFN: its projections by output columns,
/// the elementwise ops on the rank's columns, `down` by input columns,
/// then the all-reduce. Nothing happens when the columns do not divide.
LogicalResult partitionFfn(Ffn &ffn, int64_t rank, int64_t ranks) {
  auto type = cast<RankedTensorType>(ffn.down->getOperand(0).getType());
  if (!type.hasStaticShape() || type.getShape().back() % ranks != 0)
    return success();
  Block block{rank, ranks};
  std::string suffix = ".tp" + std::to_string(rank);
  for (Operation *leaf : ffn.leaves)
    splitColumns(leaf, block, suffix);
  for (Operation *op : ffn.tree)
    op->getResult(0).setType(
        shrink(op->getResult(0).getType(), type.getRank() - 1, ranks));
  return splitRows(ffn.down, block, rank, suffix);
}

/// `add(all_reduce(a), all_reduce(b))` -> `all_reduce(add(a, b))`, where
/// the two sums are used by the add alone: one collective instead of two
/// where a block's parts meet (DeepSeek's shared expert beside the routed
/// ones). The sum is linear, so the rank-0-only biases stay right.
void mergeSums(func::FuncOp func) {
  SmallVector<AddOp> adds;
  func.walk([&](AddOp add) { adds.push_back(add); });
  for (AddOp add : adds) {
    auto lhs = add.getLhs().getDefiningOp<AllReduceOp>();
    auto rhs = add.getRhs().getDefiningOp<AllReduceOp>();
    if (!lhs || !rhs || lhs == rhs || !lhs->hasOneUse() || !rhs->hasOneUse() ||
        lhs.getType() != add.getType() || rhs.getType() != add.getType() ||
        lhs.getRanks() != rhs.getRanks() ||
        collectiveGroup(lhs) != collectiveGroup(rhs))
      continue;
    OpBuilder b(add);
    Value partial = AddOp::create(b, add.getLoc(), add.getType(),
                                  lhs.getInput(), rhs.getInput());
    auto sum = AllReduceOp::create(b, add.getLoc(), add.getType(), partial,
                                   lhs.getRanksAttr(), lhs.getGroupAttr());
    add.getResult().replaceAllUsesWith(sum.getResult());
    add.erase();
    lhs.erase();
    rhs.erase();
  }
}

struct PartitionTensorParallelPass
    : public kiln::impl::PartitionTensorParallelBase<
          PartitionTensorParallelPass> {
  using PartitionTensorParallelBase::PartitionTensorParallelBase;

  void runOnOperation() override {
    int64_t rank = this->rank, ranks = this->ranks;
    if (failed(checkRankOptions(getOperation(),
                                "kiln-partition-tensor-parallel", rank, ranks)))
      return signalPassFailure();
    if (ranks == 1)
      return;
    // The sums already there (none in a plan's order of passes) keep
    // their group; the ones this pass adds get `group`.
    llvm::DenseSet<Operation *> before;
    getOperation().walk([&](AllReduceOp op) { before.insert(op); });
    SmallVector<AttentionOp> attentions;
    SmallVector<MoEExpertsOp> experts;
    getOperation().walk([&](Operation *op) {
      if (auto attn = dyn_cast<AttentionOp>(op))
        attentions.push_back(attn);
      else if (auto moe = dyn_cast<MoEExpertsOp>(op))
        experts.push_back(moe);
    });
    for (AttentionOp attn : attentions)
      if (failed(partitionAttention(attn, rank, ranks)))
        return signalPassFailure();
    for (MoEExpertsOp moe : experts)
      if (failed(partitionExperts(moe, rank, ranks)))
        return signalPassFailure();
    // The projections left are dense FFNs' (split here) or stay whole
    // (the LM head, the router: their inputs are norms, not elementwise
    // trees over projections; so are the attention projections split
    // above). An op claimed by one FFN is not matched again (stacked FFNs
    // share a projection: one's down, the next's leaf).
    SmallVector<Ffn> ffns;
    llvm::DenseSet<Operation *> claimed;
    getOperation().walk([&](Operation *op) {
      if (!projectionWeight(op) || claimed.contains(op))
        return;
      std::optional<Ffn> ffn = matchFfn(op);
      if (!ffn || llvm::any_of(ffn->leaves, [&](Operation *leaf) {
            return claimed.contains(leaf);
          }))
        return;
      claimed.insert(op);
      claimed.insert(ffn->leaves.begin(), ffn->leaves.end());
      ffns.push_back(std::move(*ffn));
    });
    for (Ffn &ffn : ffns)
      if (failed(partitionFfn(ffn, rank, ranks)))
        return signalPassFailure();
    mergeSums(getOperation());
    getOperation().walk([&](AllReduceOp op) {
      if (!before.contains(op))
        setCollectiveGroup(op, group);
    });
  }
};

} // namespace
