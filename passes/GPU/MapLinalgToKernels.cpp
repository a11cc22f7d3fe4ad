//===- MapLinalgToKernels.cpp - linalg and host memory ops -> gpu.launch --===//
//
// The CUDA target's generic path: every linalg op left after the kernel
// generators becomes a one-dimensional grid of `block-size` threads, one
// output element per thread (reductions sequential in the thread), and
// whatever else touches memory runs in a one-thread launch. Upstream does
// the loop-to-launch rewrite (convert-parallel-loops-to-gpu's patterns);
// Kiln chooses the mapping, because upstream's tiling pass applies one
// tile-size list from the outermost loop of every nest, and its mapper
// leaves loops unconverted when their inner bounds are affine.min's.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/GPU/Passes.h"

#include "mlir/Conversion/SCFToGPU/SCFToGPU.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/DialectConversion.h"
#include "mlir/Transforms/RegionUtils.h"

#include <numeric>

namespace kiln {
#define GEN_PASS_DEF_MAPLINALGTOKERNELS
#include "kiln/passes/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

bool insideLaunch(Operation *op) {
  return op->getParentOfType<gpu::LaunchOp>() != nullptr;
}

gpu::ParallelLoopDimMappingAttr mapTo(MLIRContext *ctx, gpu::Processor p) {
  AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
  return gpu::ParallelLoopDimMappingAttr::get(ctx, p, id, id);
}

/// Marks every dimension of `loop` sequential.
void markSequential(scf::ParallelOp loop) {
  SmallVector<gpu::ParallelLoopDimMappingAttr> mapping(
      loop.getNumLoops(), mapTo(loop.getContext(), gpu::Processor::Sequential));
  (void)gpu::setMappingAttr(loop, mapping);
}

/// A loop nest of `op`, parallel loops outside and reductions inside, so
/// that one thread owns each output element.
FailureOr<scf::ParallelOp> toParallelLoops(IRRewriter &rewriter,
                                           linalg::LinalgOp op) {
  rewriter.setInsertionPoint(op);
  auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
  if (!generic) {
    FailureOr<linalg::GenericOp> g = linalg::generalizeNamedOp(rewriter, op);
    if (failed(g))
      return op->emitOpError("cannot be generalized for the GPU");
    generic = *g;
  }
  SmallVector<unsigned> order;
  for (auto [i, it] : llvm::enumerate(generic.getIteratorTypesArray()))
    if (it == utils::IteratorType::parallel)
      order.push_back(i);
  for (auto [i, it] : llvm::enumerate(generic.getIteratorTypesArray()))
    if (it != utils::IteratorType::parallel)
      order.push_back(i);
  if (!llvm::equal(order, llvm::seq<unsigned>(0, order.size()))) {
    FailureOr<linalg::GenericOp> g =
        linalg::interchangeGenericOp(rewriter, generic, order);
    if (failed(g))
      return generic->emitOpError("cannot move its reductions innermost");
    generic = *g;
  }
  rewriter.setInsertionPoint(generic);
  FailureOr<linalg::LinalgLoops> loops =
      linalg::linalgOpToParallelLoops(rewriter, generic);
  if (failed(loops))
    return generic->emitOpError("cannot be lowered to loops");
  rewriter.eraseOp(generic);
  if (loops->empty())
    return scf::ParallelOp();
  return dyn_cast<scf::ParallelOp>(loops->front());
}

/// The buffer `v` is a view of, and the byte range of that buffer it
/// covers when a constant-offset memref.view of a static shape says so (the
/// workspace planner's views; nested views only narrow the range).
struct Footprint {
  Value root;
  std::optional<std::pair<int64_t, int64_t>> bytes;
};

Footprint footprintOf(Value v) {
  Footprint f{v, std::nullopt};
  while (Operation *def = f.root.getDefiningOp()) {
    if (auto view = dyn_cast<memref::ViewOp>(def)) {
      auto type = view.getType();
      std::optional<int64_t> shift = getConstantIntValue(view.getByteShift());
      if (shift && type.hasStaticShape() &&
          type.getElementType().isIntOrFloat())
        f.bytes = {*shift,
                   *shift + type.getNumElements() *
                                ((type.getElementTypeBitWidth() + 7) / 8)};
      else
        f.bytes.reset();
      f.root = view.getSource();
      continue;
    }
    auto viewLike = dyn_cast<ViewLikeOpInterface>(def);
    if (!viewLike)
      break;
    f.root = viewLike.getViewSource();
  }
  return f;
}

/// Whether a write to `a` may change what a read of `b` sees: the same
/// buffer, in overlapping ranges when both ranges are known. Distinct
/// arguments of the entry are distinct buffers (inputs, outputs, the
/// workspace); anything else defined by an op is taken to alias.
bool mayOverlap(Value a, Value b) {
  auto isEntryArgument = [](Value v) {
    auto arg = dyn_cast<BlockArgument>(v);
    return arg && isa<func::FuncOp>(arg.getOwner()->getParentOp());
  };
  Footprint fa = footprintOf(a), fb = footprintOf(b);
  if (fa.root != fb.root)
    return !(isEntryArgument(fa.root) && isEntryArgument(fb.root));
  if (!fa.bytes || !fb.bytes)
    return true;
  return fa.bytes->first < fb.bytes->second &&
         fb.bytes->first < fa.bytes->second;
}

/// Whether `op` or an op nested in it may write memory that `read` reads.
bool mayWrite(Operation *op, Value read) {
  WalkResult result = op->walk([&](Operation *nested) {
    if (isMemoryEffectFree(nested))
      return WalkResult::advance();
    auto iface = dyn_cast<MemoryEffectOpInterface>(nested);
    if (!iface)
      return nested->hasTrait<OpTrait::HasRecursiveMemoryEffects>()
                 ? WalkResult::advance()
                 : WalkResult::interrupt();
    SmallVector<MemoryEffects::EffectInstance> effects;
    iface.getEffects(effects);
    for (const MemoryEffects::EffectInstance &e : effects) {
      if (!isa<MemoryEffects::Write>(e.getEffect()))
        continue;
      if (!e.getValue() || mayOverlap(e.getValue(), read))
        return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return result.wasInterrupted();
}

/// The op of `body` that holds `op`, or null when `op` is not inside one of
/// them (it is in `body` itself, or elsewhere).
Operation *topLevelAncestor(Block &body, Operation *op) {
  Operation *top = body.findAncestorOpInBlock(*op);
  return top == op ? nullptr : top;
}

/// A load of device memory at the host level whose value only kernels use
/// (a Pad's run-time pad value, a scalar parameter read once) is moved
/// into each of them, with the pure ops that compute on it: the host code
/// cannot read device memory, and a one-thread launch could not hand the
/// value to the kernels. Only when no op between the load and its last use
/// may write what it reads.
void sinkDeviceReadsIntoKernels(Block &body) {
  llvm::SmallPtrSet<Operation *, 8> derived;
  for (Operation &op : body) {
    bool fromLoad = llvm::any_of(op.getOperands(), [&](Value v) {
      return derived.contains(v.getDefiningOp());
    });
    if (isa<memref::LoadOp>(op) ||
        (fromLoad && op.getNumRegions() == 0 && isMemoryEffectFree(&op)))
      derived.insert(&op);
  }
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body))) {
    if (!derived.contains(&op) || op.use_empty())
      continue;
    Operation *last = nullptr;
    bool nested = llvm::all_of(op.getUsers(), [&](Operation *user) {
      Operation *top = topLevelAncestor(body, user);
      if (top && (!last || last->isBeforeInBlock(top)))
        last = top;
      return top != nullptr;
    });
    if (!nested)
      continue;
    if (auto load = dyn_cast<memref::LoadOp>(op)) {
      bool written = false;
      for (Operation *o = op.getNextNode();
           !written && o != last->getNextNode(); o = o->getNextNode())
        written = mayWrite(o, load.getMemRef());
      if (written)
        continue;
    }
    for (OpOperand &use : llvm::make_early_inc_range(op.getUses())) {
      OpBuilder b(use.getOwner());
      Operation *clone = b.clone(op);
      use.set(clone->getResult(cast<OpResult>(use.get()).getResultNumber()));
    }
    op.erase();
  }
}

struct MapLinalgToKernelsPass
    : kiln::impl::MapLinalgToKernelsBase<MapLinalgToKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (auto func : module.getOps<func::FuncOp>())
      if (func.isPublic() && !func.isExternal() && failed(mapFunction(func)))
        return signalPassFailure();

    // Upstream's rewrite of mapped scf.parallel nests into gpu.launch.
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    populateParallelLoopToGPUPatterns(patterns);
    ConversionTarget target(*ctx);
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    configureParallelLoopToGPULegality(target);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      return signalPassFailure();
    finalizeParallelLoopToGPUConversion(module);

    for (auto func : module.getOps<func::FuncOp>()) {
      if (!func.isPublic() || func.isExternal())
        continue;
      WalkResult left = func.walk([&](scf::ParallelOp loop) {
        if (insideLaunch(loop))
          return WalkResult::advance();
        loop.emitOpError("was not converted to a gpu.launch");
        return WalkResult::interrupt();
      });
      if (left.wasInterrupted())
        return signalPassFailure();
      for (auto launch : llvm::to_vector(func.getOps<gpu::LaunchOp>()))
        if (failed(sinkIntoLaunch(launch)))
          return signalPassFailure();
    }
  }

  LogicalResult mapFunction(func::FuncOp func) {
    IRRewriter rewriter(func.getContext());
    // Copies are loops like any other (no runner library on the device).
    SmallVector<memref::CopyOp> copies;
    func.walk([&](memref::CopyOp copy) {
      if (!insideLaunch(copy))
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies) {
      rewriter.setInsertionPoint(copy);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(),
                                                  copy.getTarget());
    }

    // Top-level linalg ops: 1-D grids of blocks of `blockSize` threads.
    Block &body = func.getBody().front();
    for (auto op : llvm::to_vector(body.getOps<linalg::LinalgOp>())) {
      FailureOr<scf::ParallelOp> loop = toParallelLoops(rewriter, op);
      if (failed(loop))
        return failure();
      if (*loop)
        collapse(rewriter, *loop);
    }
    if (failed(tileAndMap(body)))
      return failure();

    // Everything else that touches memory: one thread.
    sinkDeviceReadsIntoKernels(body);
    return wrapRemainingMemoryOps(rewriter, body);
  }

  /// Collapses `loop` to one dimension (nested parallel loops, if any,
  /// run sequentially in the thread).
  static void collapse(IRRewriter &rewriter, scf::ParallelOp loop) {
    loop.walk([&](scf::ParallelOp inner) {
      if (inner != loop)
        markSequential(inner);
    });
    if (loop.getNumLoops() == 1)
      return;
    std::vector<unsigned> all(loop.getNumLoops());
    std::iota(all.begin(), all.end(), 0);
    rewriter.setInsertionPoint(loop);
    collapseParallelLoops(rewriter, loop, {all});
  }

  /// Tiles each top-level one-dimensional scf.parallel by blockSize with
  /// constant inner bounds (an scf.if guards the remainder) and maps tiles
  /// to blocks, the inner loop to threads.
  LogicalResult tileAndMap(Block &body) {
    for (auto loop : llvm::to_vector(body.getOps<scf::ParallelOp>())) {
      if (loop->hasAttr(gpu::getMappingAttrName()))
        continue;
      if (loop.getNumLoops() != 1)
        return loop.emitOpError("expected a collapsed loop");
      auto [outer, inner] =
          scf::tileParallelLoop(loop, {blockSize}, /*noMinMaxBounds=*/true);
      (void)gpu::setMappingAttr(
          outer, {mapTo(loop.getContext(), gpu::Processor::BlockX)});
      (void)gpu::setMappingAttr(
          inner, {mapTo(loop.getContext(), gpu::Processor::ThreadX)});
    }
    return success();
  }

  /// For each op of `body` whose results ops of `body` use (or ops nested
  /// in them), the last of those top-level ops.
  static llvm::DenseMap<Operation *, Operation *>
  lastTopLevelUses(Block &body) {
    llvm::DenseMap<Operation *, Operation *> last;
    for (Operation &op : body)
      for (Operation *user : op.getUsers()) {
        Operation *top = body.findAncestorOpInBlock(*user);
        Operation *&entry = last[&op];
        if (top && (!entry || entry->isBeforeInBlock(top)))
          entry = top;
      }
    return last;
  }

  LogicalResult wrapRemainingMemoryOps(IRRewriter &rewriter, Block &body) {
    // Groups of consecutive top-level ops with memory effects (and the
    // pure ops that compute on their results) run in one one-thread
    // launch each.
    // A kernel loop between a group and a later op that uses the group's
    // values (a scan's count bounding a second scan, with the copies that
    // zero its buffers between them) joins the group and runs sequentially
    // in its thread: the value never leaves the device.
    llvm::DenseMap<Operation *, Operation *> lastUse = lastTopLevelUses(body);
    SmallVector<SmallVector<Operation *>> groups;
    SmallVector<Operation *> group;
    Operation *reach = nullptr;
    auto close = [&] {
      if (!group.empty())
        groups.push_back(group);
      group.clear();
      reach = nullptr;
    };
    for (Operation &op : body) {
      if (isa<scf::ParallelOp>(op) && reach && op.isBeforeInBlock(reach)) {
        group.push_back(&op);
        continue;
      }
      if (op.hasTrait<OpTrait::IsTerminator>() ||
          isa<gpu::LaunchOp, scf::ParallelOp>(op)) {
        close();
        continue;
      }
      bool device = !isMemoryEffectFree(&op);
      bool feedsFromGroup = llvm::any_of(op.getOperands(), [&](Value v) {
        Operation *def = v.getDefiningOp();
        return def && llvm::is_contained(group, def);
      });
      if (device || (feedsFromGroup && !group.empty())) {
        group.push_back(&op);
        if (Operation *last = lastUse.lookup(&op))
          if (!reach || reach->isBeforeInBlock(last))
            reach = last;
      }
    }
    close();

    for (ArrayRef<Operation *> ops : groups) {
      Operation *lastOp = ops.back();
      Location loc = ops.front()->getLoc();
      rewriter.setInsertionPointAfter(lastOp);
      Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
      auto launch =
          gpu::LaunchOp::create(rewriter, loc, one, one, one, one, one, one);
      Block &launchBody = launch.getBody().front();
      rewriter.setInsertionPointToEnd(&launchBody);
      auto terminator = gpu::TerminatorOp::create(rewriter, loc);
      for (Operation *op : ops)
        op->moveBefore(terminator);
      for (Operation *op : ops)
        for (Value result : op->getResults())
          for (Operation *user : result.getUsers())
            if (!launch->isAncestor(user))
              return user->emitOpError(
                  "uses a value computed from device memory on the host; "
                  "the CUDA target's host code only launches kernels");
      // linalg and kernel loops inside run sequentially in this thread
      // (inner loops first: the walk is post-order).
      SmallVector<linalg::LinalgOp> inner;
      launch.walk([&](linalg::LinalgOp l) { inner.push_back(l); });
      for (linalg::LinalgOp l : inner) {
        rewriter.setInsertionPoint(l);
        if (failed(linalg::linalgOpToLoops(rewriter, l)))
          return l->emitOpError("cannot be lowered to loops");
        rewriter.eraseOp(l);
      }
      SmallVector<scf::ParallelOp> loops;
      launch.walk([&](scf::ParallelOp l) { loops.push_back(l); });
      for (scf::ParallelOp l : loops) {
        rewriter.setInsertionPoint(l);
        if (failed(scf::parallelForToNestedFors(rewriter, l)))
          return l->emitOpError("cannot run sequentially in one thread");
      }
    }
    return success();
  }

  /// Clones into `launch` the views with non-identity layouts and the
  /// memref.get_global's it uses from above: bare-pointer kernel arguments
  /// carry only an aligned pointer, so a memref crossing into a kernel must
  /// be one that a pointer describes.
  static LogicalResult sinkIntoLaunch(gpu::LaunchOp launch) {
    Region &region = launch.getBody();
    OpBuilder b(launch.getContext());
    b.setInsertionPointToStart(&region.front());
    bool changed = true;
    while (changed) {
      changed = false;
      llvm::SetVector<Value> above;
      getUsedValuesDefinedAbove(region, above);
      for (Value v : above) {
        auto type = dyn_cast<MemRefType>(v.getType());
        if (!type)
          continue;
        Operation *def = v.getDefiningOp();
        bool isGlobal = isa_and_nonnull<memref::GetGlobalOp>(def);
        if (type.getLayout().isIdentity() && !isGlobal)
          continue;
        if (!def || (!isGlobal && !isa<ViewLikeOpInterface>(def)))
          return launch.emitOpError("uses a memref with a strided layout ")
                 << type
                 << " that is not a view; kernels take bare pointers";
        // At the very start: a view cloned later (the source of one cloned
        // earlier) must come first.
        b.setInsertionPointToStart(&region.front());
        Operation *clone = b.clone(*def);
        replaceAllUsesInRegionWith(v, clone->getResult(0), region);
        changed = true;
      }
    }
    return success();
  }
};

} // namespace
