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

  LogicalResult wrapRemainingMemoryOps(IRRewriter &rewriter, Block &body) {
    // Groups of consecutive top-level ops with memory effects (and the
    // pure ops that compute on their results) run in one one-thread
    // launch each.
    SmallVector<SmallVector<Operation *>> groups;
    SmallVector<Operation *> group;
    llvm::SmallPtrSet<Operation *, 8> inGroup;
    auto close = [&] {
      if (!group.empty())
        groups.push_back(group);
      group.clear();
    };
    for (Operation &op : body) {
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
      if (device || (feedsFromGroup && !group.empty()))
        group.push_back(&op);
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
      // linalg inside runs sequentially in this thread.
      SmallVector<linalg::LinalgOp> inner;
      launch.walk([&](linalg::LinalgOp l) { inner.push_back(l); });
      for (linalg::LinalgOp l : inner) {
        rewriter.setInsertionPoint(l);
        if (failed(linalg::linalgOpToLoops(rewriter, l)))
          return l->emitOpError("cannot be lowered to loops");
        rewriter.eraseOp(l);
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
