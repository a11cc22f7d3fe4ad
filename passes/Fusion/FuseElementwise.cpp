//===- FuseElementwise.cpp - The kiln-fuse-elementwise pass ---------------===//

#include "kiln/passes/Fusion/Passes.h"

#include "kiln/dialects/Kiln/Provenance.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "kiln/passes/Fusion/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Whether `producer` widens narrow stored values (8 bits or fewer: int8,
/// int4, fp8, fp4, packed bytes) into wider ones, as dequantization does.
/// Recomputing such a producer in every iteration of its consumer costs a
/// few integer ops per read; materializing it costs a float copy of the
/// weight, written and read back at four times its stored size.
bool isWidening(Operation *producerOp) {
  auto producer = dyn_cast<linalg::GenericOp>(producerOp);
  if (!producer || producer.getNumDpsInits() != 1 ||
      producer.getNumReductionLoops() != 0)
    return false;
  auto result = cast<ShapedType>(producer->getResult(0).getType());
  if (!result.getElementType().isIntOrFloat() ||
      result.getElementTypeBitWidth() <= 8)
    return false;
  // The largest input is the stored data; scales and zero points are small.
  ShapedType data;
  for (Value in : producer.getDpsInputs()) {
    auto t = dyn_cast<ShapedType>(in.getType());
    if (t && t.hasStaticShape() &&
        (!data || t.getNumElements() > data.getNumElements()))
      data = t;
  }
  return data && data.getElementType().isIntOrFloat() &&
         data.getElementTypeBitWidth() <= 8;
}

/// The most operations one fused body may hold. Fusing a chain of n
/// elementwise ops one pair at a time copies the growing body each time,
/// n^2 / 2 operations in all (20,000 ReLUs and negations took minutes); a
/// cap keeps that linear, and bodies this long are past what one loop
/// nest gains from fusion anyway (registers spill).
constexpr int64_t kMaxFusedBodyOps = 256;

int64_t bodySize(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  return linalgOp ? int64_t(linalgOp.getBlock()->getOperations().size()) : 0;
}

/// Fuse when every element the producer computes is used by exactly one
/// iteration of the consumer's loop nest, or when the producer widens
/// narrow stored values (dequantization in the consumer's prologue) and
/// the loops it is projected out of have a single iteration.
bool shouldFuseOperand(OpOperand *fused) {
  auto consumer = dyn_cast<linalg::LinalgOp>(fused->getOwner());
  if (!consumer)
    return false;
  Operation *producer = fused->get().getDefiningOp();
  if (producer &&
      bodySize(producer) + bodySize(consumer) > kMaxFusedBodyOps)
    return false;
  if (consumer.getMatchingIndexingMap(fused).isPermutation())
    return true;
  if (!producer || !isWidening(producer))
    return false;
  // Only where nothing is recomputed either: the loops the consumer does
  // not read the producer through must all have one iteration (a decode
  // matmul with one row). With more rows, recomputing the unpacking per
  // row costs more than one float copy of the weight (measured in
  // docs/benchmarks.md).
  AffineMap map = consumer.getMatchingIndexingMap(fused);
  SmallVector<int64_t> ranges = consumer.getStaticLoopRanges();
  for (unsigned d = 0; d < ranges.size(); ++d)
    if (!map.isFunctionOfDim(d) && ranges[d] != 1)
      return false;
  return true;
}

/// shouldFuseOperand, and when it fuses, the consumer (whose location the
/// fused op takes) names the producer's nodes too: a fused loop nest keeps
/// the provenance of every op it computes.
bool shouldFuse(OpOperand *fused) {
  if (!shouldFuseOperand(fused))
    return false;
  Operation *consumer = fused->getOwner();
  if (Operation *producer = fused->get().getDefiningOp())
    consumer->setLoc(
        kiln::fuseProvenance(producer->getLoc(), consumer->getLoc()));
  return true;
}

/// Whether `collapse` merges two or more dimensions of sizes only the run
/// knows into one. Folding such a collapse into its consumer by expansion
/// expands the consumer's other operands (its init, a tensor.empty) along
/// that group into several dynamic sizes, and MLIR 22's
/// expand-strided-metadata crashes on the memref.expand_shape that becomes
/// (a null size in the memref.reinterpret_cast it builds;
/// test_affine_grid_3d_expanded).
bool mergesDynamicDims(tensor::CollapseShapeOp collapse) {
  RankedTensorType source = collapse.getSrcType();
  return llvm::any_of(collapse.getReassociationIndices(),
                      [&](const ReassociationIndices &group) {
                        return llvm::count_if(group, [&](int64_t d) {
                                 return source.isDynamicDim(d);
                               }) > 1;
                      });
}

/// shouldFuse for folding a reshape into a linalg op by expansion, except
/// where the expansion would split a dimension into several dynamic ones.
bool shouldFoldReshape(OpOperand *fused) {
  if (auto collapse = fused->get().getDefiningOp<tensor::CollapseShapeOp>())
    if (mergesDynamicDims(collapse))
      return false;
  return shouldFuse(fused);
}

/// linalg.transpose as a linalg.generic, so that elementwise fusion can
/// read through it (a dequantized weight feeding a transposed matmul).
struct GeneralizeTranspose : OpRewritePattern<linalg::TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::TransposeOp op,
                                PatternRewriter &rewriter) const override {
    auto producer = op.getInput().getDefiningOp<linalg::GenericOp>();
    if (!producer || !isWidening(producer))
      return failure();
    return linalg::generalizeNamedOp(rewriter, op);
  }
};

struct FuseElementwisePass
    : kiln::impl::FuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    linalg::populateElementwiseOpsFusionPatterns(patterns, shouldFuse);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns,
                                                      shouldFoldReshape);
    patterns.add<GeneralizeTranspose>(ctx);
    linalg::populateEraseUnusedOperandsAndResultsPatterns(patterns);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, ctx);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, ctx);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
