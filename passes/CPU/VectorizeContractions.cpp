//===- VectorizeContractions.cpp - kiln-cpu-vectorize-contractions --------===//
//
// Register blocking for matmul-like linalg ops, with upstream pieces only:
// scf::tileUsingSCF cuts the op into blocks of rows x vector columns
// (x panels) x a short K step, linalg::vectorize turns each block into a
// vector.contract, and hoistLoopInvariantSubsets moves the accumulator's
// read and write out of the K loop so that it lives in registers for the
// whole reduction. Sizes the blocks do not divide are split off first
// (linalg::splitOp), so every block is static and no masking is needed.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/CPU/Passes.h"

#include "KernelRewrites.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace kiln {
#define GEN_PASS_DEF_VECTORIZECONTRACTIONS
#include "kiln/passes/CPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Marks the K loop of a register block until its accumulator is hoisted
/// (a discardable attribute survives the canonicalization in between).
constexpr llvm::StringLiteral kReductionLoopMark = "kiln.register_block_k_loop";

struct BlockShape {
  int64_t rows, vectorWidth, kUnroll;
  bool parallel;
};

/// How one contraction is cut into register blocks: a tile size per loop
/// (0 = not tiled) and the order of the tile loops.
struct BlockPlan {
  SmallVector<int64_t> tileSizes;
  SmallVector<int64_t> interchange;
  /// Batch and N dimensions: their blocks are independent, so threads
  /// take them.
  SmallVector<unsigned> independentDims;
};

/// The result dimension `map` reads last, if it is a plain loop dimension.
std::optional<unsigned> innermostDim(AffineMap map) {
  if (map.getNumResults() == 0)
    return std::nullopt;
  auto d = dyn_cast<AffineDimExpr>(map.getResults().back());
  if (!d)
    return std::nullopt;
  return d.getPosition();
}

/// The largest of kUnroll, kUnroll - 1, ..., 1 that divides `size`: the
/// reduction is never split (its halves would chain through the output).
int64_t reductionStep(int64_t size, int64_t kUnroll) {
  for (int64_t step = std::min(size, kUnroll); step > 1; --step)
    if (size % step == 0)
      return step;
  return 1;
}

/// The block plan of a contraction the micro-kernel handles: vectors run
/// along an N dimension that is innermost in both the output and the
/// right-hand operand (contiguous loads and stores), rows along the
/// innermost M dimension, and a second N dimension (the panel index of a
/// packed weight) gives a second column of vectors.
std::optional<BlockPlan> planBlocks(linalg::GenericOp op,
                                    const BlockShape &shape) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !op.hasPureTensorSemantics() || !linalg::isaContractionOpInterface(op))
    return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || dims->m.empty() || dims->n.empty() || dims->k.empty())
    return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  std::optional<unsigned> vectorDim = innermostDim(maps[2]);
  if (!vectorDim || vectorDim != innermostDim(maps[1]) ||
      !llvm::is_contained(dims->n, *vectorDim))
    return std::nullopt;
  Type elt = getElementTypeOrSelf(op.getDpsInitOperand(0)->get().getType());
  if (!isa<FloatType>(elt))
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, ShapedType::isDynamic))
    return std::nullopt;

  unsigned loops = op.getNumLoops();
  BlockPlan plan;
  plan.tileSizes.assign(loops, 1);
  // One N dimension: two vectors side by side; packed panels: two panels.
  bool panelled = dims->n.size() > 1;
  if (panelled && dims->n.front() != *vectorDim)
    plan.tileSizes[dims->n.front()] = 2;
  plan.tileSizes[*vectorDim] = shape.vectorWidth * (panelled ? 1 : 2);
  plan.tileSizes[dims->m.back()] = shape.rows;
  plan.tileSizes[dims->k.back()] =
      reductionStep(ranges[dims->k.back()], shape.kUnroll);
  for (unsigned d = 0; d < loops; ++d)
    plan.tileSizes[d] = std::min(plan.tileSizes[d], ranges[d]);

  // Loop order: batch, panels and column blocks, rows, then K innermost
  // so that the accumulator stays put while K runs.
  for (unsigned d : dims->batch)
    plan.interchange.push_back(d);
  for (unsigned d : dims->n)
    plan.interchange.push_back(d);
  plan.independentDims.assign(plan.interchange.begin(), plan.interchange.end());
  for (unsigned d : dims->m)
    plan.interchange.push_back(d);
  for (unsigned d : dims->k)
    plan.interchange.push_back(d);
  if (plan.interchange.size() != loops)
    return std::nullopt;
  return plan;
}

/// scf::tileUsingSCF with `sizes` (0 = not tiled) and loops of `loopType`,
/// replacing `op` by the tiled loops.
FailureOr<scf::SCFTilingResult>
tileContraction(RewriterBase &rewriter, linalg::GenericOp op,
                ArrayRef<int64_t> sizes, ArrayRef<int64_t> interchange,
                scf::SCFTilingOptions::LoopType loopType) {
  scf::SCFTilingOptions options;
  options.setTileSizes(getAsIndexOpFoldResult(rewriter.getContext(), sizes));
  options.setInterchange(interchange);
  options.setLoopType(loopType);
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
      rewriter, cast<TilingInterface>(op.getOperation()), options);
  if (succeeded(tiled))
    rewriter.replaceOp(op, tiled->replacements);
  return tiled;
}

/// Tiles a contraction whose block sizes divide every dimension into
/// register blocks with scf.for (K innermost, marked kReductionLoopMark)
/// and vectorizes the block.
LogicalResult tileAndVectorizeBlocks(RewriterBase &rewriter,
                                     linalg::GenericOp op,
                                     const BlockPlan &plan) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  FailureOr<scf::SCFTilingResult> tiled =
      tileContraction(rewriter, op, plan.tileSizes, plan.interchange,
                      scf::SCFTilingOptions::LoopType::ForOp);
  if (failed(tiled))
    return op.emitError("could not tile this contraction into register "
                        "blocks");
  // The K loop, when K spans more than one step, is the innermost loop.
  unsigned kDim = plan.interchange.back();
  if (plan.tileSizes[kDim] < ranges[kDim] && !tiled->loops.empty())
    tiled->loops.back()->setAttr(kReductionLoopMark, rewriter.getUnitAttr());

  Operation *block = tiled->tiledOps.front();
  rewriter.setInsertionPoint(block);
  FailureOr<linalg::VectorizationResult> vectorized =
      linalg::vectorize(rewriter, block);
  if (failed(vectorized))
    return block->emitError("could not vectorize this register block");
  rewriter.replaceOp(block, vectorized->replacements);
  return success();
}

/// Hands the independent blocks of a contraction (column blocks, batches)
/// to threads with scf.forall, which becomes an OpenMP loop after
/// bufferization, then blocks each thread's share.
LogicalResult distributeAndVectorize(RewriterBase &rewriter,
                                     linalg::GenericOp op,
                                     const BlockShape &shape,
                                     const BlockPlan &plan) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<int64_t> threadTiles(ranges.size(), 0);
  bool anyLoop = false;
  for (unsigned d : plan.independentDims)
    if (plan.tileSizes[d] < ranges[d]) {
      threadTiles[d] = plan.tileSizes[d];
      anyLoop = true;
    }
  int64_t macs = 1;
  for (int64_t r : ranges)
    macs *= r;
  if (!shape.parallel || !anyLoop || macs < kiln::kMinParallelMacs)
    return tileAndVectorizeBlocks(rewriter, op, plan);

  FailureOr<scf::SCFTilingResult> tiled =
      tileContraction(rewriter, op, threadTiles, /*interchange=*/{},
                      scf::SCFTilingOptions::LoopType::ForallOp);
  if (failed(tiled))
    return op.emitError("could not distribute this contraction over "
                        "threads");
  auto share = dyn_cast<linalg::GenericOp>(tiled->tiledOps.front());
  std::optional<BlockPlan> sharePlan =
      share ? planBlocks(share, shape) : std::nullopt;
  if (!sharePlan)
    return tiled->tiledOps.front()->emitError(
        "a thread's share of this contraction has no static block plan");
  return tileAndVectorizeBlocks(rewriter, share, *sharePlan);
}

/// A contraction whose right-hand operand runs along K rather than N
/// (attention's Q K^T, a transposed activation) gets that operand
/// transposed first, with N innermost, so that the block plan applies: the
/// copy reads K x N elements once, the product M times as many. Weights
/// (entry arguments) are left alone: transposing one would cost a copy per
/// call; kiln-cpu-pack-matmul-weights lays out the constant ones.
bool makeRhsColumnsContiguous(RewriterBase &rewriter, linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !op.hasPureTensorSemantics() || !linalg::isaContractionOpInterface(op))
    return false;
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  std::optional<unsigned> vectorDim = innermostDim(maps[2]);
  if (failed(dims) || dims->m.empty() || !vectorDim ||
      !llvm::is_contained(dims->n, *vectorDim) ||
      innermostDim(maps[1]) == vectorDim)
    return false;
  Value rhs = op.getDpsInputOperand(1)->get();
  if (auto arg = dyn_cast<BlockArgument>(rhs))
    if (isa<FunctionOpInterface>(arg.getOwner()->getParentOp()))
      return false;
  auto rhsType = dyn_cast<RankedTensorType>(rhs.getType());
  if (!rhsType || !rhsType.hasStaticShape())
    return false;
  // The operand's dimensions in the new order: the N dimension moved last.
  AffineMap rhsMap = maps[1];
  SmallVector<int64_t> permutation;
  int64_t vectorPosition = -1;
  for (auto [i, expr] : llvm::enumerate(rhsMap.getResults())) {
    auto d = dyn_cast<AffineDimExpr>(expr);
    if (!d)
      return false;
    if (d.getPosition() == *vectorDim)
      vectorPosition = i;
    else
      permutation.push_back(i);
  }
  if (vectorPosition < 0)
    return false;
  permutation.push_back(vectorPosition);
  SmallVector<int64_t> shape;
  SmallVector<AffineExpr> results;
  for (int64_t i : permutation) {
    shape.push_back(rhsType.getDimSize(i));
    results.push_back(rhsMap.getResult(i));
  }
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  Value empty =
      tensor::EmptyOp::create(rewriter, loc, shape, rhsType.getElementType());
  Value transposed =
      linalg::TransposeOp::create(rewriter, loc, rhs, empty, permutation)
          .getResult()[0];
  maps[1] = AffineMap::get(rhsMap.getNumDims(), 0, results, op.getContext());
  rewriter.modifyOpInPlace(op, [&] {
    op.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
    op.getDpsInputOperand(1)->set(transposed);
  });
  return true;
}

/// Splits `op` along its first parallel dimension whose block size does not
/// divide it, recursively, then distributes, tiles and vectorizes every
/// piece.
LogicalResult blockAndVectorize(RewriterBase &rewriter, linalg::GenericOp op,
                                const BlockShape &shape) {
  std::optional<BlockPlan> plan = planBlocks(op, shape);
  if (!plan)
    return success(); // not a contraction the micro-kernel handles
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned d = 0; d < ranges.size(); ++d) {
    int64_t tile = plan->tileSizes[d];
    if (ranges[d] % tile == 0 || iterators[d] != utils::IteratorType::parallel)
      continue;
    rewriter.setInsertionPoint(op);
    auto [main, rest] = linalg::splitOp(
        rewriter, cast<TilingInterface>(op.getOperation()), d,
        rewriter.getIndexAttr(ranges[d] - ranges[d] % tile));
    for (TilingInterface piece : {main, rest}) {
      auto generic = dyn_cast_or_null<linalg::GenericOp>(piece.getOperation());
      if (!generic || failed(blockAndVectorize(rewriter, generic, shape)))
        return failure();
    }
    return success();
  }
  return distributeAndVectorize(rewriter, op, shape, *plan);
}

/// Folds the vectorizer's multiply + multi_reduction into vector.contract
/// and cleans up the slices, so that the accumulator's transfer pair is
/// recognizable to hoistLoopInvariantSubsets.
LogicalResult foldIntoContractions(Operation *root) {
  MLIRContext *ctx = root->getContext();
  RewritePatternSet patterns(ctx);
  vector::populateVectorReductionToContractPatterns(patterns);
  vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
  for (Dialect *dialect : ctx->getLoadedDialects())
    dialect->getCanonicalizationPatterns(patterns);
  for (RegisteredOperationName op : ctx->getRegisteredOperations())
    op.getCanonicalizationPatterns(patterns, ctx);
  return applyPatternsGreedily(root, std::move(patterns));
}

struct VectorizeContractionsPass
    : kiln::impl::VectorizeContractionsBase<VectorizeContractionsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(kiln::checkBlockSizes(getOperation(),
                                     "rows, vector-width and k-unroll",
                                     {rows, vectorWidth, kUnroll})))
      return signalPassFailure();
    BlockShape shape{rows, vectorWidth, kUnroll, parallel};
    SmallVector<linalg::GenericOp> contractions =
        kiln::collectOps<linalg::GenericOp>(getOperation());
    IRRewriter rewriter(&getContext());
    bool anyBlocked = false;
    for (linalg::GenericOp op : contractions) {
      if (!planBlocks(op, shape) &&
          !(makeRhsColumnsContiguous(rewriter, op) && planBlocks(op, shape)))
        continue;
      anyBlocked = true;
      if (failed(blockAndVectorize(rewriter, op, shape)))
        return signalPassFailure();
    }
    // Nothing else in the function is touched when there was no
    // contraction to block.
    if (!anyBlocked)
      return;
    if (failed(foldIntoContractions(getOperation())))
      return signalPassFailure();
    bool hoisted = false;
    getOperation().walk([&](scf::ForOp loop) {
      if (!loop->removeAttr(kReductionLoopMark))
        return;
      hoistLoopInvariantSubsets(rewriter, loop);
      hoisted = true;
    });
    if (!hoisted)
      return;
    if (failed(foldIntoContractions(getOperation())))
      return signalPassFailure();
  }
};

} // namespace
