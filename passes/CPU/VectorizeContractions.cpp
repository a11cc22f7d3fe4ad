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
// Elementwise consumers of contractions (bias, activation, residual add,
// scaling, SwiGLU's product) become the block's epilogue: the consumer is
// the root that is tiled, and scf::tileConsumerAndFuseProducersUsingSCF
// computes each contraction block inside the consumer's tile loops, over
// the whole of K, so the epilogue reads the finished accumulator tile
// (forwarded in registers once the tile's transfers fold) and the
// contraction's result is never stored.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/CPU/Passes.h"

#include "KernelRewrites.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/IRMapping.h"
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
  /// The target has 16 vector registers of half a vector each (AVX2 for
  /// 16-lane f32 vectors) rather than AVX-512's 32 full ones.
  bool sixteenRegisters = false;

  /// Vectors (or packed panels) side by side in a row of a block over
  /// `rowCount` rows. Two, except where that would not fit in 16
  /// registers: rows x vectors x 2 halves <= 12 keeps the accumulators
  /// and leaves the B row and the broadcast registers of their own. One
  /// row's block keeps two vectors (four accumulators) because its FMAs
  /// would otherwise wait on each other's latency.
  int64_t vectorsPerRow(int64_t rowCount) const {
    return !sixteenRegisters || rowCount <= 3 ? 2 : 1;
  }
};

/// How one contraction is cut into register blocks: a tile size per loop
/// (0 = not tiled) and the order of the tile loops.
struct BlockPlan {
  SmallVector<int64_t> tileSizes;
  SmallVector<int64_t> interchange;
  /// Batch and N dimensions: their blocks are independent, so threads
  /// take them.
  SmallVector<unsigned> independentDims;

  /// The tile sizes that hand whole blocks of the independent dimensions
  /// to threads over loops of `ranges` (0: not tiled), or nothing when
  /// every independent dimension is a single block.
  std::optional<SmallVector<int64_t>>
  threadTiles(ArrayRef<int64_t> ranges) const {
    SmallVector<int64_t> tiles(ranges.size(), 0);
    bool anyLoop = false;
    for (unsigned d : independentDims)
      if (tileSizes[d] < ranges[d]) {
        tiles[d] = tileSizes[d];
        anyLoop = true;
      }
    if (!anyLoop)
      return std::nullopt;
    return tiles;
  }
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
                                    const BlockShape &shape,
                                    ArrayRef<int64_t> ranges) {
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
  if (llvm::any_of(ranges, ShapedType::isDynamic))
    return std::nullopt;

  unsigned loops = op.getNumLoops();
  BlockPlan plan;
  plan.tileSizes.assign(loops, 1);
  // One N dimension: vectors side by side; packed panels: as many panels.
  bool panelled = dims->n.size() > 1;
  int64_t vectors = shape.vectorsPerRow(ranges[dims->m.back()]);
  if (panelled && dims->n.front() != *vectorDim)
    plan.tileSizes[dims->n.front()] = vectors;
  plan.tileSizes[*vectorDim] = shape.vectorWidth * (panelled ? 1 : vectors);
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

std::optional<BlockPlan> planBlocks(linalg::GenericOp op,
                                    const BlockShape &shape) {
  return planBlocks(op, shape, op.getStaticLoopRanges());
}

/// The row (M) dimension of a contraction whose only dynamic loop it is
/// and whose blocks of `shape.rows` rows the static plan handles: the
/// tokens of a model compiled for symbolic batch and sequence sizes, with
/// static weights.
std::optional<unsigned> dynamicRowDim(linalg::GenericOp op,
                                      const BlockShape &shape) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::count_if(ranges, ShapedType::isDynamic) != 1 ||
      !linalg::isaContractionOpInterface(op))
    return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  unsigned m = llvm::find_if(ranges, ShapedType::isDynamic) - ranges.begin();
  if (failed(dims) || !llvm::is_contained(dims->m, m))
    return std::nullopt;
  ranges[m] = shape.rows;
  if (!planBlocks(op, shape, ranges))
    return std::nullopt;
  return m;
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

/// Replaces `block` (a tiled linalg op) by its vector form; `what` names
/// it in the error when upstream's vectorizer refuses.
LogicalResult vectorizeBlock(RewriterBase &rewriter, Operation *block,
                             StringRef what) {
  rewriter.setInsertionPoint(block);
  FailureOr<linalg::VectorizationResult> vectorized =
      linalg::vectorize(rewriter, block);
  if (failed(vectorized))
    return block->emitError("could not vectorize this ") << what;
  rewriter.replaceOp(block, vectorized->replacements);
  return success();
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

  return vectorizeBlock(rewriter, tiled->tiledOps.front(), "register block");
}

/// Hands the independent blocks of a contraction (column blocks, batches)
/// to threads with scf.forall, which becomes an OpenMP loop after
/// bufferization, then blocks each thread's share.
LogicalResult distributeAndVectorize(RewriterBase &rewriter,
                                     linalg::GenericOp op,
                                     const BlockShape &shape,
                                     const BlockPlan &plan) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  std::optional<SmallVector<int64_t>> threadTiles = plan.threadTiles(ranges);
  int64_t macs = 1;
  for (int64_t r : ranges)
    macs *= r;
  if (!shape.parallel || !threadTiles || macs < kiln::kMinParallelMacs)
    return tileAndVectorizeBlocks(rewriter, op, plan);

  FailureOr<scf::SCFTilingResult> tiled =
      tileContraction(rewriter, op, *threadTiles, /*interchange=*/{},
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

/// A contraction whose only dynamic loop is a row dimension (see
/// dynamicRowDim) as two loops over its rows: blocks of `shape.rows` rows
/// up to the largest multiple of it, then the remaining rows one at a
/// time. Each iteration computes a static slice of the product (rows x N,
/// or 1 x N) into the loop's tensor, and that slice is blocked and
/// vectorized as a static contraction: the register blocks are the static
/// ones, and only the row loops' bounds are known at run time.
LogicalResult blockDynamicRows(RewriterBase &rewriter, linalg::GenericOp op,
                               unsigned rowDim, const BlockShape &shape) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  SmallVector<Range> loopRanges =
      cast<TilingInterface>(op.getOperation()).getIterationDomain(rewriter);
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, v);
  };
  Value rows =
      getValueOrCreateConstantIndexOp(rewriter, loc, loopRanges[rowDim].size);
  Value tail = arith::RemUIOp::create(rewriter, loc, rows, index(shape.rows));
  Value full = arith::SubIOp::create(rewriter, loc, rows, tail);
  Value init = op.getDpsInitOperand(0)->get();
  SmallVector<linalg::GenericOp> slices;

  auto rowLoop = [&](Value from, Value to, int64_t count,
                     Value acc) -> FailureOr<Value> {
    auto loop = scf::ForOp::create(rewriter, loc, from, to, index(count),
                                   ValueRange{acc});
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(loop.getBody());
    Value carried = loop.getRegionIterArgs()[0];
    // The product into the loop's tensor, cut to `count` rows at the
    // induction variable.
    IRMapping map;
    map.map(init, carried);
    auto whole = cast<TilingInterface>(rewriter.clone(*op, map));
    SmallVector<OpFoldResult> offsets(op.getNumLoops(),
                                      rewriter.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes;
    for (auto [d, range] : llvm::enumerate(loopRanges))
      sizes.push_back(d == rowDim ? rewriter.getIndexAttr(count) : range.size);
    offsets[rowDim] = loop.getInductionVar();
    FailureOr<TilingResult> slice =
        whole.getTiledImplementation(rewriter, offsets, sizes);
    SmallVector<OpFoldResult> resultOffsets, resultSizes;
    if (failed(slice) ||
        failed(whole.getResultTilePosition(rewriter, 0, offsets, sizes,
                                           resultOffsets, resultSizes)))
      return failure();
    rewriter.eraseOp(whole);
    auto type = cast<RankedTensorType>(carried.getType());
    Value updated = tensor::InsertSliceOp::create(
        rewriter, loc, slice->tiledValues[0], carried, resultOffsets,
        resultSizes,
        SmallVector<OpFoldResult>(type.getRank(), rewriter.getIndexAttr(1)));
    scf::YieldOp::create(rewriter, loc, updated);
    slices.push_back(cast<linalg::GenericOp>(slice->tiledOps.front()));
    return loop.getResult(0);
  };
  FailureOr<Value> blocks = rowLoop(index(0), full, shape.rows, init);
  FailureOr<Value> result = failed(blocks) ? FailureOr<Value>(failure())
                                            : rowLoop(full, rows, 1, *blocks);
  if (failed(result))
    return op.emitError("could not cut this contraction into blocks of rows");
  rewriter.replaceOp(op, *result);
  for (linalg::GenericOp slice : slices)
    if (failed(blockAndVectorize(rewriter, slice, shape)))
      return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// Epilogues: elementwise consumers applied to the accumulator tile
//===----------------------------------------------------------------------===//

/// The contraction that `value` is the result of, directly or through
/// unit-stride slices of the same rank (the halves of a fused [Wg | Wu]
/// projection), when the micro-kernel blocks it.
linalg::GenericOp contractionBehind(Value value, const BlockShape &shape) {
  while (auto slice = value.getDefiningOp<tensor::ExtractSliceOp>()) {
    if (!slice.hasUnitStride() ||
        slice.getSourceType().getRank() != slice.getResultType().getRank())
      return {};
    value = slice.getSource();
  }
  auto op = value.getDefiningOp<linalg::GenericOp>();
  if (!op || !planBlocks(op, shape))
    return {};
  return op;
}

/// A body of arith and math ops only: what vectorizes to the same ops on
/// vectors, with no index computation or data-dependent read.
bool hasElementwiseBody(linalg::GenericOp op) {
  for (Operation &inner : op.getBody()->without_terminator())
    if (!isa<arith::ArithDialect, math::MathDialect>(inner.getDialect()) ||
        inner.getNumRegions() != 0)
      return false;
  return true;
}

/// Whether every use of `value`, through slices, is an input of `consumer`:
/// then computing the contraction inside the consumer's tiles computes it
/// once, and nothing else needs it stored.
bool onlyFeeds(Value value, Operation *consumer) {
  for (OpOperand &use : value.getUses()) {
    Operation *user = use.getOwner();
    if (user == consumer) {
      if (!cast<linalg::GenericOp>(consumer).isDpsInput(&use))
        return false;
      continue;
    }
    auto slice = dyn_cast<tensor::ExtractSliceOp>(user);
    if (!slice || !onlyFeeds(slice.getResult(), consumer))
      return false;
  }
  return true;
}

/// An elementwise consumer of contractions: the block plan of its loops,
/// derived from its contractions' plans (which must agree), and what the
/// contractions cost.
struct EpiloguePlan {
  BlockPlan plan;
  SmallVector<linalg::GenericOp> contractions;
  int64_t macs = 0;
};

std::optional<EpiloguePlan> planEpilogue(linalg::GenericOp op,
                                         const BlockShape &shape) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
      op->getNumResults() != 1 || op.getNumReductionLoops() != 0 ||
      !isa<FloatType>(getElementTypeOrSelf(op->getResult(0).getType())) ||
      !hasElementwiseBody(op))
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, ShapedType::isDynamic) ||
      !llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isProjectedPermutation(); }))
    return std::nullopt;
  unsigned loops = op.getNumLoops();
  int64_t elements = 1;
  for (int64_t r : ranges)
    elements *= r;
  EpiloguePlan result;
  for (OpOperand *input : op.getDpsInputOperands()) {
    linalg::GenericOp contraction = contractionBehind(input->get(), shape);
    if (!contraction)
      continue;
    // Each element of the contraction's tile is read by one iteration.
    AffineMap readMap = op.getMatchingIndexingMap(input);
    AffineMap outMap =
        contraction.getMatchingIndexingMap(contraction.getDpsInitOperand(0));
    if (!readMap.isPermutation() || !outMap.isProjectedPermutation() ||
        outMap.getNumResults() != loops)
      return std::nullopt;
    std::optional<BlockPlan> contractionPlan = planBlocks(contraction, shape);
    // The consumer's loop that runs along each of the contraction's
    // parallel loops.
    DenseMap<unsigned, unsigned> consumerDim;
    for (unsigned pos = 0; pos < loops; ++pos)
      consumerDim[outMap.getDimPosition(pos)] = readMap.getDimPosition(pos);
    BlockPlan plan;
    plan.tileSizes.assign(loops, 0);
    for (auto [dim, mine] : consumerDim)
      plan.tileSizes[mine] =
          std::min(contractionPlan->tileSizes[dim], ranges[mine]);
    for (unsigned dim : contractionPlan->interchange)
      if (consumerDim.count(dim))
        plan.interchange.push_back(consumerDim[dim]);
    for (unsigned dim : contractionPlan->independentDims)
      if (consumerDim.count(dim))
        plan.independentDims.push_back(consumerDim[dim]);
    if (plan.interchange.size() != loops)
      return std::nullopt;
    if (!result.contractions.empty() &&
        (plan.tileSizes != result.plan.tileSizes ||
         plan.interchange != result.plan.interchange))
      return std::nullopt; // contractions blocked differently
    result.plan = plan;
    result.contractions.push_back(contraction);
    int64_t depth = 1;
    SmallVector<int64_t> contractionRanges = contraction.getStaticLoopRanges();
    for (auto [range, iterator] : llvm::zip(
             contractionRanges, contraction.getIteratorTypesArray()))
      if (iterator == utils::IteratorType::reduction)
        depth *= range;
    result.macs += elements * depth;
  }
  // One contraction block per epilogue tile. Two (an expert's gate and up,
  // or both halves of a fused [Wg | Wu] projection) fuse correctly, but the
  // first block's 16 accumulators then stay live across the second's K
  // loop, which needs the other 16 of the 32 vector registers: measured on
  // the MoE decoder, the fused SwiGLU made the run 3-10% slower in CPU time
  // than storing both products and reading them back (docs/benchmarks.md).
  if (result.contractions.size() != 1)
    return std::nullopt;
  return result;
}

/// Tiles the epilogue `op` with loops of `loopType` and fuses its
/// contractions (and the fills of their accumulators) into the tiles;
/// nothing else is fused (an activation feeding the matmul stays where it
/// is). Replaces `op`; the fused ops it leaves without uses are erased.
FailureOr<scf::SCFTileAndFuseResult>
tileEpilogue(RewriterBase &rewriter, linalg::GenericOp op,
             const EpiloguePlan &epilogue, ArrayRef<int64_t> sizes,
             ArrayRef<int64_t> interchange,
             scf::SCFTilingOptions::LoopType loopType) {
  llvm::SmallPtrSet<Operation *, 8> fusable;
  for (linalg::GenericOp contraction : epilogue.contractions) {
    fusable.insert(contraction);
    if (Operation *init =
            contraction.getDpsInitOperand(0)->get().getDefiningOp())
      if (isa<linalg::FillOp>(init))
        fusable.insert(init);
  }
  scf::SCFTilingOptions tiling;
  tiling.setTileSizes(getAsIndexOpFoldResult(rewriter.getContext(), sizes));
  tiling.setInterchange(interchange);
  tiling.setLoopType(loopType);
  scf::SCFTileAndFuseOptions options;
  options.setTilingOptions(tiling);
  options.setFusionControlFn(
      [&](tensor::ExtractSliceOp, OpResult producer, bool)
          -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
        if (fusable.contains(producer.getOwner()))
          return scf::SCFTileAndFuseOptions::ControlFnResult{};
        return std::nullopt;
      });
  // A half of a fused projection is a slice of a slice once tiled.
  RewritePatternSet cleanup(rewriter.getContext());
  tensor::populateMergeConsecutiveInsertExtractSlicePatterns(cleanup);
  options.cleanupPatterns = FrozenRewritePatternSet(std::move(cleanup));

  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTileAndFuseResult> tiled =
      scf::tileConsumerAndFuseProducersUsingSCF(
          rewriter, cast<TilingInterface>(op.getOperation()), options);
  if (failed(tiled))
    return failure();
  Value replacement = tiled->replacements.lookup(op->getResult(0));
  if (!replacement)
    return failure();
  rewriter.replaceAllUsesWith(op->getResult(0), replacement);
  rewriter.eraseOp(op);
  // Contractions before their fills: erase what no longer has a use.
  for (Operation *producer : llvm::reverse(tiled->fusedProducers))
    if (producer->use_empty())
      rewriter.eraseOp(producer);
  return tiled;
}

/// Vectorizes one register block of an epilogue: each contraction tiled
/// along K only (its accumulator hoisted later), then the fills and the
/// epilogue itself.
LogicalResult vectorizeEpilogueBlock(RewriterBase &rewriter,
                                     ArrayRef<Operation *> ops,
                                     const BlockShape &shape) {
  for (Operation *tiledOp : ops) {
    auto generic = dyn_cast<linalg::GenericOp>(tiledOp);
    if (generic && generic.getNumReductionLoops() != 0) {
      std::optional<BlockPlan> plan = planBlocks(generic, shape);
      if (!plan)
        return generic.emitError(
            "a contraction fused into an epilogue has no block plan");
      SmallVector<int64_t> ranges = generic.getStaticLoopRanges();
      SmallVector<utils::IteratorType> iterators =
          generic.getIteratorTypesArray();
      SmallVector<int64_t> kOnly = plan->tileSizes;
      for (unsigned d = 0; d < kOnly.size(); ++d)
        if (iterators[d] != utils::IteratorType::reduction)
          kOnly[d] = 0;
      BlockPlan kPlan{kOnly, plan->interchange, {}};
      if (failed(tileAndVectorizeBlocks(rewriter, generic, kPlan)))
        return failure();
      continue;
    }
    if (failed(vectorizeBlock(rewriter, tiledOp, "epilogue block")))
      return failure();
  }
  return success();
}

/// Blocks an epilogue and the contractions it reads: threads over the
/// independent blocks (as for a lone contraction), then register blocks,
/// each computing its contractions' tiles and applying the epilogue to
/// them before the one store.
LogicalResult blockEpilogueShare(RewriterBase &rewriter, linalg::GenericOp op,
                                 const BlockShape &shape) {
  std::optional<EpiloguePlan> epilogue = planEpilogue(op, shape);
  if (!epilogue)
    return op.emitError("a share of this epilogue has no block plan");
  FailureOr<scf::SCFTileAndFuseResult> tiled =
      tileEpilogue(rewriter, op, *epilogue, epilogue->plan.tileSizes,
                   epilogue->plan.interchange,
                   scf::SCFTilingOptions::LoopType::ForOp);
  if (failed(tiled))
    return op.emitError("could not tile this epilogue and its contractions "
                        "into register blocks");
  // The kReductionLoopMark the K loops get is relative to the innermost
  // tile loops; every K loop is marked by tileAndVectorizeBlocks.
  return vectorizeEpilogueBlock(rewriter, tiled->tiledAndFusedOps.getArrayRef(),
                                shape);
}

LogicalResult blockAndVectorizeEpilogue(RewriterBase &rewriter,
                                        linalg::GenericOp op,
                                        const BlockShape &shape) {
  std::optional<EpiloguePlan> epilogue = planEpilogue(op, shape);
  if (!epilogue)
    return op.emitError("a piece of this epilogue has no block plan");
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  const BlockPlan &plan = epilogue->plan;
  for (unsigned d = 0; d < ranges.size(); ++d) {
    if (ranges[d] % plan.tileSizes[d] == 0)
      continue;
    rewriter.setInsertionPoint(op);
    auto [main, rest] = linalg::splitOp(
        rewriter, cast<TilingInterface>(op.getOperation()), d,
        rewriter.getIndexAttr(ranges[d] - ranges[d] % plan.tileSizes[d]));
    for (TilingInterface piece : {main, rest}) {
      auto generic = dyn_cast_or_null<linalg::GenericOp>(piece.getOperation());
      if (!generic ||
          failed(blockAndVectorizeEpilogue(rewriter, generic, shape)))
        return failure();
    }
    return success();
  }

  std::optional<SmallVector<int64_t>> threadTiles = plan.threadTiles(ranges);
  if (!shape.parallel || !threadTiles ||
      epilogue->macs < kiln::kMinParallelMacs)
    return blockEpilogueShare(rewriter, op, shape);
  FailureOr<scf::SCFTileAndFuseResult> tiled =
      tileEpilogue(rewriter, op, *epilogue, *threadTiles, /*interchange=*/{},
                   scf::SCFTilingOptions::LoopType::ForallOp);
  if (failed(tiled))
    return op.emitError("could not distribute this epilogue and its "
                        "contractions over threads");
  auto share = dyn_cast<linalg::GenericOp>(tiled->tiledAndFusedOps.front());
  if (!share)
    return op.emitError("a thread's share of this epilogue is not a "
                        "linalg.generic");
  return blockEpilogueShare(rewriter, share, shape);
}

/// `extract_slice(collapse_shape(x))` as `collapse_shape(extract_slice(x))`
/// where each collapsed group's slice is whole rows of its inner dimensions
/// (static offsets and sizes that are multiples of the inner size): the
/// halves of a fused [Wg | Wu] projection, sliced at a panel boundary.
/// Upstream's BubbleUpExtractSliceThroughCollapseShape (MLIR 22.1) moves
/// only the slice at offset 0 of such a pair.
LogicalResult sliceBeforeCollapse(RewriterBase &rewriter,
                                  tensor::ExtractSliceOp slice) {
  auto collapse = slice.getSource().getDefiningOp<tensor::CollapseShapeOp>();
  if (!collapse || !slice.hasUnitStride() ||
      slice.getSourceType().getRank() != slice.getResultType().getRank())
    return failure();
  std::optional<SmallVector<int64_t>> offsets =
      getConstantIntValues(slice.getMixedOffsets());
  std::optional<SmallVector<int64_t>> sizes =
      getConstantIntValues(slice.getMixedSizes());
  RankedTensorType srcType = collapse.getSrcType();
  if (!offsets || !sizes || !srcType.hasStaticShape())
    return failure();
  SmallVector<int64_t> newOffsets, newSizes, newShape;
  for (auto [group, offset, size] :
       llvm::zip(collapse.getReassociationIndices(), *offsets, *sizes)) {
    int64_t inner = 1;
    for (int64_t d : ArrayRef<int64_t>(group).drop_front())
      inner *= srcType.getDimSize(d);
    if (offset % inner != 0 || size % inner != 0)
      return failure();
    newOffsets.push_back(offset / inner);
    newSizes.push_back(size / inner);
    for (int64_t d : ArrayRef<int64_t>(group).drop_front()) {
      newOffsets.push_back(0);
      newSizes.push_back(srcType.getDimSize(d));
    }
  }
  rewriter.setInsertionPoint(slice);
  SmallVector<int64_t> strides(newSizes.size(), 1);
  Value sliced = tensor::ExtractSliceOp::create(
      rewriter, slice.getLoc(), collapse.getSrc(),
      getAsIndexOpFoldResult(rewriter.getContext(), newOffsets),
      getAsIndexOpFoldResult(rewriter.getContext(), newSizes),
      getAsIndexOpFoldResult(rewriter.getContext(), strides));
  rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(
      slice, slice.getResultType(), sliced,
      collapse.getReassociationIndices());
  return success();
}

/// Makes the elementwise consumers of contractions visible as such: a
/// packed contraction's [M, N / P, P] result reaches its consumer through
/// a collapse to [M, N] (and, for a fused [Wg | Wu] projection, slices of
/// that). The slices move above the collapse (sliceBeforeCollapse) and
/// the consumer is expanded to the contraction's shape (upstream's
/// linalg::populateFoldReshapeOpsByExpansionPatterns), so that it reads
/// the contraction's tiles with identity maps.
LogicalResult exposeEpilogues(Operation *root, const BlockShape &shape) {
  MLIRContext *ctx = root->getContext();
  auto collapsedContraction = [&](Value value) {
    auto collapse = value.getDefiningOp<tensor::CollapseShapeOp>();
    return collapse && contractionBehind(collapse.getSrc(), shape);
  };
  IRRewriter rewriter(ctx);
  for (tensor::ExtractSliceOp slice :
       kiln::collectOps<tensor::ExtractSliceOp>(root))
    if (collapsedContraction(slice.getSource()))
      (void)sliceBeforeCollapse(rewriter, slice);
  RewritePatternSet expand(ctx);
  linalg::populateFoldReshapeOpsByExpansionPatterns(
      expand, [&](OpOperand *operand) {
        auto consumer = dyn_cast<linalg::GenericOp>(operand->getOwner());
        if (!consumer || consumer.getNumReductionLoops() != 0 ||
            !hasElementwiseBody(consumer))
          return false;
        Value value = operand->get();
        while (auto slice = value.getDefiningOp<tensor::ExtractSliceOp>())
          value = slice.getSource();
        return collapsedContraction(value);
      });
  return applyPatternsGreedily(root, std::move(expand));
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

/// Whether the module's CPU has 16 vector registers rather than AVX-512's
/// 32: kiln.cpu_features recorded without avx512f (AVX2). Each 16-lane f32
/// vector is then two ymm registers, and the AVX-512 block (8 rows x 2
/// vectors, 32 ymm accumulators) spilled about one accumulator per FMA.
bool hasSixteenVectorRegisters(Operation *op) {
  return kiln::targetCpuFeatures(op) && !kiln::targetCpuHas(op, "avx512f");
}

struct VectorizeContractionsPass
    : kiln::impl::VectorizeContractionsBase<VectorizeContractionsPass> {
  using Base::Base;

  void runOnOperation() override {
    // The target's block unless `rows` is given: 8 x 2 vectors for
    // AVX-512, 6 x 1 (12 ymm accumulators, the classic AVX2 shape) for
    // 16 registers.
    bool narrow = !rows && hasSixteenVectorRegisters(getOperation());
    int64_t blockRows = rows ? rows : narrow ? 6 : 8;
    if (failed(kiln::checkBlockSizes(getOperation(),
                                     "rows, vector-width and k-unroll",
                                     {blockRows, vectorWidth, kUnroll})))
      return signalPassFailure();
    BlockShape shape{blockRows, vectorWidth, kUnroll, parallel, narrow};
    IRRewriter rewriter(&getContext());
    bool anyBlocked = false;
    bool anyContraction = false;
    for (linalg::GenericOp op :
         kiln::collectOps<linalg::GenericOp>(getOperation()))
      if (planBlocks(op, shape) || dynamicRowDim(op, shape) ||
          (makeRhsColumnsContiguous(rewriter, op) && planBlocks(op, shape)))
        anyContraction = true;
    if (!anyContraction)
      return; // nothing else in the function is touched

    // Epilogues first: they take their contractions with them.
    if (epilogues) {
      if (failed(exposeEpilogues(getOperation(), shape)))
        return signalPassFailure();
      SmallVector<linalg::GenericOp> roots;
      llvm::SmallPtrSet<Operation *, 8> claimed;
      for (linalg::GenericOp op :
           kiln::collectOps<linalg::GenericOp>(getOperation())) {
        std::optional<EpiloguePlan> epilogue = planEpilogue(op, shape);
        if (!epilogue ||
            llvm::any_of(epilogue->contractions, [&](linalg::GenericOp c) {
              return claimed.contains(c) || !onlyFeeds(c->getResult(0), op);
            }))
          continue;
        for (linalg::GenericOp c : epilogue->contractions)
          claimed.insert(c);
        roots.push_back(op);
      }
      for (linalg::GenericOp op : roots) {
        anyBlocked = true;
        if (failed(blockAndVectorizeEpilogue(rewriter, op, shape)))
          return signalPassFailure();
      }
    }

    for (linalg::GenericOp op :
         kiln::collectOps<linalg::GenericOp>(getOperation())) {
      if (std::optional<unsigned> rowDim = dynamicRowDim(op, shape)) {
        anyBlocked = true;
        if (failed(blockDynamicRows(rewriter, op, *rowDim, shape)))
          return signalPassFailure();
        continue;
      }
      if (!planBlocks(op, shape))
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
