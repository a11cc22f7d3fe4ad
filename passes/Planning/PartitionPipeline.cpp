//===- PartitionPipeline.cpp - Pipeline parallelism for one stage ---------===//
//
// The entry function's decoder layers (one per kiln.attention) split into
// contiguous stages; stage `rank` keeps its own layers' operations, receives
// what crosses the cut before them and sends what crosses the cut after
// them. Steps: find the layers, size the stages, classify the operations
// (those that depend on a layer belong to the stage at their position; the
// rest, computed from the arguments and constants, go wherever they are
// used), choose each cut where the fewest layer values cross, then rewrite
// the function for the rank: receives, sends, the results to rank 0, the
// other stages' operations erased.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/Planning/Passes.h"

#include "RankOptions.h"

#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/dialects/Kiln/KilnPipelineOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace kiln {
#define GEN_PASS_DEF_PARTITIONPIPELINE
#include "kiln/passes/Planning/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// The entry function's top-level operations, in order, and what the
/// partitioning knows about each.
struct Program {
  SmallVector<Operation *> ops; // without the terminator
  DenseMap<Operation *, int64_t> index;
  /// The positions of the operations holding each layer's kiln.attention.
  SmallVector<int64_t> layers;
  /// Values that depend on a layer (or on an operation with side effects):
  /// they belong to the stage at their position and cross cuts by send and
  /// receive. Every other value is computed by each stage that uses it.
  DenseSet<Value> layerValues;
  DenseSet<Operation *> layerOps;
  /// Each layer value's last use by a top-level operation (not the
  /// terminator: results go to rank 0 directly).
  DenseMap<Value, int64_t> lastUse;

  int64_t size() const { return ops.size(); }
  /// The position of the top-level operation that holds `op`; size() for
  /// the terminator.
  int64_t position(Operation *op) const {
    auto it = index.find(op);
    return it == index.end() ? size() : it->second;
  }
};

/// Reads `fn`'s body into a Program.
Program analyze(func::FuncOp fn) {
  Program p;
  Block &body = fn.getBody().front();
  for (Operation &op : body.without_terminator()) {
    p.index[&op] = p.ops.size();
    p.ops.push_back(&op);
  }
  for (Operation *op : p.ops) {
    bool attention = false;
    op->walk([&](AttentionOp) { attention = true; });
    if (attention)
      p.layers.push_back(p.index[op]);
    bool dependent = attention || !isMemoryEffectFree(op);
    // Its operands, and the values its regions use from outside.
    op->walk([&](Operation *inner) {
      for (Value operand : inner->getOperands())
        dependent |= p.layerValues.contains(operand);
    });
    if (!dependent)
      continue;
    p.layerOps.insert(op);
    for (Value result : op->getResults()) {
      p.layerValues.insert(result);
      int64_t last = -1;
      for (OpOperand &use : result.getUses()) {
        Operation *user = body.findAncestorOpInBlock(*use.getOwner());
        if (user && user != body.getTerminator())
          last = std::max(last, p.position(user));
      }
      p.lastUse[result] = last;
    }
  }
  return p;
}

/// The layer values defined before position `cut` and used at or after
/// it, in program order.
SmallVector<Value> crossing(const Program &p, int64_t cut) {
  SmallVector<Value> values;
  for (int64_t i = 0; i < cut; ++i)
    for (Value result : p.ops[i]->getResults())
      if (p.layerValues.contains(result) && p.lastUse.lookup(result) >= cut)
        values.push_back(result);
  return values;
}

/// The cut before layer `layer`: the latest position after the previous
/// layer's attention where the fewest layer values cross.
int64_t chooseCut(const Program &p, int64_t layer) {
  int64_t lo = p.layers[layer - 1] + 1, hi = p.layers[layer];
  // crosses[c - lo]: how many layer values cross position c.
  SmallVector<int64_t> crosses(hi - lo + 1, 0);
  for (int64_t i = 0; i < hi; ++i)
    for (Value result : p.ops[i]->getResults()) {
      if (!p.layerValues.contains(result))
        continue;
      int64_t from = std::max(i + 1, lo),
              to = std::min(p.lastUse.lookup(result), hi);
      for (int64_t c = from; c <= to; ++c)
        ++crosses[c - lo];
    }
  int64_t best = hi;
  for (int64_t c = hi; c >= lo; --c)
    if (crosses[c - lo] < crosses[best - lo])
      best = c;
  return best;
}

/// Zeros of `type`, made at run time (no stored constant).
Value zeros(OpBuilder &b, Location loc, RankedTensorType type) {
  Value empty =
      tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  Value zero = arith::ConstantOp::create(b, loc, type.getElementType(),
                                         b.getZeroAttr(type.getElementType()));
  return linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{empty})
      .getResult(0);
}

struct PartitionPipelinePass
    : public kiln::impl::PartitionPipelineBase<PartitionPipelinePass> {
  using PartitionPipelineBase::PartitionPipelineBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    int64_t rank = this->rank, ranks = this->ranks;
    if (failed(
            checkRankOptions(module, "kiln-partition-pipeline", rank, ranks)))
      return signalPassFailure();
    if (ranks == 1)
      return;
    bool found = false;
    for (auto fn : module.getOps<func::FuncOp>()) {
      bool hasLayers = false;
      fn.walk([&](AttentionOp) { hasLayers = true; });
      if (!hasLayers)
        continue;
      found = true;
      if (failed(partition(fn, rank, ranks)))
        return signalPassFailure();
    }
    if (!found) {
      module.emitError("pipeline parallelism splits decoder layers (one per "
                       "kiln.attention), and the model has none");
      signalPassFailure();
    }
  }

  /// The number of layers of each stage: the `layers` option, or an even
  /// split.
  FailureOr<SmallVector<int64_t>> stageSizes(func::FuncOp fn, int64_t count,
                                             int64_t ranks) {
    if (ranks > count)
      return fn.emitError("pipeline parallelism over ")
             << ranks << " stages needs at least " << ranks
             << " decoder layers, found " << count;
    SmallVector<int64_t> sizes(layers.begin(), layers.end());
    if (sizes.empty()) {
      for (int64_t s = 0; s < ranks; ++s)
        sizes.push_back(count / ranks + (s < count % ranks ? 1 : 0));
      return sizes;
    }
    int64_t sum = 0;
    for (int64_t n : sizes) {
      if (n < 1)
        return fn.emitError("every pipeline stage needs at least one layer, "
                            "found layers = ")
               << n;
      sum += n;
    }
    if (static_cast<int64_t>(sizes.size()) != ranks || sum != count)
      return fn.emitError("the stages' layers (")
             << sizes.size() << " stages, " << sum
             << " layers) must be one count per stage (" << ranks
             << ") adding up to the model's " << count << " decoder layers";
    return sizes;
  }

  /// The type of `v`, which crosses into `stage` from the one before; an
  /// error unless it is static (a stage receives into a buffer of its
  /// size).
  static FailureOr<RankedTensorType> crossingType(Value v, int64_t stage) {
    auto type = cast<RankedTensorType>(v.getType());
    if (!type.hasStaticShape())
      return emitError(v.getLoc(), "pipeline parallelism needs static "
                                   "shapes where stages meet; ")
             << type << " crosses into stage " << stage;
    return type;
  }

  LogicalResult partition(func::FuncOp fn, int64_t rank, int64_t ranks) {
    if (!fn.getBody().hasOneBlock())
      return fn.emitError("pipeline parallelism needs a function of one "
                          "block");
    Program p = analyze(fn);
    FailureOr<SmallVector<int64_t>> sizes =
        stageSizes(fn, p.layers.size(), ranks);
    if (failed(sizes))
      return failure();
    // cuts[s]: the position where stage s starts; cuts[ranks] the end.
    SmallVector<int64_t> cuts = {0};
    int64_t first = 0;
    for (int64_t s = 1; s < ranks; ++s) {
      first += (*sizes)[s - 1];
      cuts.push_back(chooseCut(p, first));
    }
    cuts.push_back(p.size());
    int64_t start = cuts[rank], end = cuts[rank + 1];

    OpBuilder b(fn.getContext());
    Block &body = fn.getBody().front();
    Operation *terminator = body.getTerminator();
    // What crosses in from the previous stage: received first.
    DenseMap<Value, Value> received;
    if (rank > 0) {
      b.setInsertionPoint(p.ops[start]);
      for (Value v : crossing(p, start)) {
        FailureOr<RankedTensorType> type = crossingType(v, rank);
        if (failed(type))
          return failure();
        Value r =
            RecvOp::create(b, v.getLoc(), *type, peer(rank - 1), world(ranks));
        received[v] = r;
        v.replaceUsesWithIf(r, [&](OpOperand &use) {
          Operation *user = body.findAncestorOpInBlock(*use.getOwner());
          return user != terminator && p.position(user) >= start;
        });
      }
    }
    // What crosses out to the next stage: sent last.
    if (rank + 1 < ranks) {
      b.setInsertionPoint(p.ops[end]);
      for (Value v : crossing(p, end)) {
        if (failed(crossingType(v, rank + 1)))
          return failure();
        Value local = received.count(v) ? received.lookup(v) : v;
        SendOp::create(b, v.getLoc(), local, peer(rank + 1), world(ranks));
      }
    }
    if (failed(routeResults(p, cuts, terminator, rank, ranks)))
      return failure();
    // The other stages' operations, last first (their uses go first).
    for (int64_t i = p.size() - 1; i >= 0; --i) {
      Operation *op = p.ops[i];
      if ((i >= start && i < end) || !p.layerOps.contains(op))
        continue;
      if (!op->use_empty())
        return op->emitError("kiln-partition-pipeline: stage ")
               << rank << " still uses this operation of another stage";
      op->erase();
    }
    // What no kept operation uses: the other stages' weights, the
    // embedding or LM head of another stage.
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
      if (isOpTriviallyDead(&op))
        op.erase();
    return success();
  }

  /// The world rank of stage `stage` of this rank's pipeline (in a plan
  /// that combines splits, stage s of the pipeline of world rank
  /// `stageOffset` is world rank stageOffset + s * stageStride).
  IntegerAttr peer(int64_t stage) {
    return IntegerAttr::get(IntegerType::get(&getContext(), 64),
                            stageOffset + stage * stageStride);
  }

  /// The ranks of the world: `worldRanks`, else the stages alone.
  IntegerAttr world(int64_t ranks) {
    return IntegerAttr::get(IntegerType::get(&getContext(), 64),
                            worldRanks > 0 ? int64_t(worldRanks) : ranks);
  }

  /// Rank 0 returns every result: those a later stage computes are sent
  /// to it at the end of that stage. A rank returns zeros for a result
  /// that another stage computes.
  LogicalResult routeResults(const Program &p, ArrayRef<int64_t> cuts,
                             Operation *terminator, int64_t rank,
                             int64_t ranks) {
    OpBuilder b(terminator);
    for (OpOperand &operand : terminator->getOpOperands()) {
      Value v = operand.get();
      if (!p.layerValues.contains(v))
        continue; // computed from the inputs: every rank has it
      int64_t at = p.position(v.getDefiningOp());
      int64_t owner = llvm::upper_bound(cuts, at) - cuts.begin() - 1;
      if (owner == rank && rank == 0)
        continue;
      auto type = cast<RankedTensorType>(v.getType());
      if (!type.hasStaticShape())
        return emitError(v.getLoc(), "pipeline parallelism needs static "
                                     "shapes where stages meet; result ")
               << operand.getOperandNumber() << " is " << type;
      if (owner == rank) {
        SendOp::create(b, v.getLoc(), v, peer(0), world(ranks));
      } else if (rank == 0) {
        operand.set(
            RecvOp::create(b, v.getLoc(), type, peer(owner), world(ranks)));
      } else {
        operand.set(zeros(b, v.getLoc(), type));
      }
    }
    return success();
  }
};

} // namespace
