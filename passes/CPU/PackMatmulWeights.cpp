//===- PackMatmulWeights.cpp - The kiln-cpu-pack-matmul-weights pass ------===//
//
// A constant right-hand operand W of a 2-D contraction is re-laid out at
// compile time as column panels Wp[N / P][K][P] (PanelPacking.h), so that
// the register-blocked micro-kernel (kiln-cpu-vectorize-contractions)
// streams each panel contiguously instead of reading P columns of K rows
// far apart.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/CPU/Passes.h"

#include "KernelRewrites.h"
#include "PanelPacking.h"

#include "kiln/dialects/Kiln/KilnConstants.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/AffineMap.h"

namespace kiln {
#define GEN_PASS_DEF_PACKMATMULWEIGHTS
#include "kiln/passes/CPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Loop positions of a plain (m, n, k) contraction and where its constant
/// right-hand operand keeps N.
struct MatmulWithConstantWeight {
  unsigned m, n, k;
  int64_t sizeM, sizeN, sizeK;
  arith::ConstantOp weight;
  bool weightTransposed; // W[N, K] rather than W[K, N]
};

/// `map` reads exactly the loop dimensions `dims`, in that order.
bool readsDims(AffineMap map, ArrayRef<unsigned> dims) {
  if (map.getNumResults() != dims.size())
    return false;
  for (auto [expr, dim] : llvm::zip(map.getResults(), dims)) {
    auto d = dyn_cast<AffineDimExpr>(expr);
    if (!d || d.getPosition() != dim)
      return false;
  }
  return true;
}

std::optional<MatmulWithConstantWeight>
matchMatmulWithConstantWeight(linalg::GenericOp op, int64_t panelWidth) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      op.getNumLoops() != 3 || !op.hasPureTensorSemantics() ||
      !linalg::isaContractionOpInterface(op))
    return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || !dims->batch.empty() || dims->m.size() != 1 ||
      dims->n.size() != 1 || dims->k.size() != 1)
    return std::nullopt;
  MatmulWithConstantWeight match;
  match.m = dims->m[0];
  match.n = dims->n[0];
  match.k = dims->k[0];
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!readsDims(maps[0], {match.m, match.k}) ||
      !readsDims(maps[2], {match.m, match.n}))
    return std::nullopt;
  if (readsDims(maps[1], {match.k, match.n}))
    match.weightTransposed = false;
  else if (readsDims(maps[1], {match.n, match.k}))
    match.weightTransposed = true;
  else
    return std::nullopt;

  Value rhs = op.getDpsInputOperand(1)->get();
  match.weight = rhs.getDefiningOp<arith::ConstantOp>();
  if (!match.weight || !rhs.hasOneUse() ||
      !isa<ElementsAttr>(match.weight.getValue()))
    return std::nullopt;
  // One element type throughout: the micro-kernel multiplies in it.
  Type elt = getElementTypeOrSelf(rhs.getType());
  if (!isa<FloatType>(elt) ||
      getElementTypeOrSelf(op.getDpsInputOperand(0)->get().getType()) != elt ||
      getElementTypeOrSelf(op.getDpsInitOperand(0)->get().getType()) != elt)
    return std::nullopt;

  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  match.sizeM = ranges[match.m];
  match.sizeN = ranges[match.n];
  match.sizeK = ranges[match.k];
  // The weight's sizes must be static; the rows may be dynamic (tokens of
  // a model with symbolic dimensions): the panel product sizes its output
  // from the input, and kiln-cpu-vectorize-contractions runs it in blocks
  // of rows with a tail.
  if (ShapedType::isDynamic(match.sizeN) ||
      ShapedType::isDynamic(match.sizeK) || match.sizeN % panelWidth != 0 ||
      match.sizeN == panelWidth)
    return std::nullopt;
  return match;
}

LogicalResult packWeight(RewriterBase &rewriter, linalg::GenericOp op,
                         MatmulWithConstantWeight mm, int64_t panelWidth) {
  auto weight = cast<ElementsAttr>(mm.weight.getValue());
  std::optional<AsmResourceBlob> packed = kiln::packColumnPanels(
      weight, {1, mm.sizeK, mm.sizeN, mm.weightTransposed}, panelWidth);
  if (!packed)
    return failure();
  auto packedType = RankedTensorType::get(
      {mm.sizeN / panelWidth, mm.sizeK, panelWidth}, weight.getElementType());
  rewriter.setInsertionPoint(op);
  // The packed constant keeps the weight's location: kiln-outline-weights
  // names the artifact's weight after it.
  auto panels = arith::ConstantOp::create(
      rewriter, mm.weight.getLoc(),
      cast<TypedAttr>(kiln::makeConstantAttr(packedType, std::move(*packed),
                                             "packed_weight")));
  Value result = kiln::buildPanelMatmul(
      rewriter, op.getLoc(), op.getDpsInputOperand(0)->get(), panels,
      op.getDpsInitOperand(0)->get());
  rewriter.replaceOp(op, result);
  rewriter.eraseOp(mm.weight);
  return success();
}

/// A 2-D linalg.transpose of a constant that only it reads, feeding
/// contractions (ONNX Gemm's transB, kiln.linear's weight): the transposed
/// constant made at compile time, so that the product reads (and, when N
/// fits the panels, packs) a constant instead of transposing the weight on
/// every run.
void transposeConstantWeight(RewriterBase &rewriter, linalg::TransposeOp op) {
  auto cst = op.getInput().getDefiningOp<arith::ConstantOp>();
  auto attr = cst ? dyn_cast<ElementsAttr>(cst.getValue()) : nullptr;
  auto type = dyn_cast<RankedTensorType>(op.getResult()[0].getType());
  if (!attr || !cst->hasOneUse() || !type || type.getRank() != 2 ||
      !type.hasStaticShape() || op.getPermutation() != ArrayRef<int64_t>{1, 0})
    return;
  for (Operation *user : op->getUsers()) {
    auto generic = dyn_cast<linalg::GenericOp>(user);
    if (!generic || !linalg::isaContractionOpInterface(generic))
      return;
  }
  Type elt = type.getElementType();
  if (!elt.isIntOrFloat() || elt.getIntOrFloatBitWidth() % 8 != 0)
    return;
  std::vector<char> storage;
  std::optional<ArrayRef<char>> bytes = kiln::constantBytes(attr, storage);
  size_t width = elt.getIntOrFloatBitWidth() / 8;
  int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
  if (!bytes || bytes->size() != size_t(rows * cols) * width)
    return;
  std::vector<char> transposed(bytes->size());
  // The input is [cols, rows].
  kiln::transposeElements(bytes->data(), rows, transposed.data(), cols, cols,
                          rows, width);
  rewriter.setInsertionPoint(op);
  auto replacement = arith::ConstantOp::create(
      rewriter, cst.getLoc(),
      cast<TypedAttr>(kiln::makeConstantAttr(type, transposed, "weight_t")));
  rewriter.replaceOp(op, replacement.getResult());
  rewriter.eraseOp(cst);
}

struct PackMatmulWeightsPass
    : kiln::impl::PackMatmulWeightsBase<PackMatmulWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(kiln::checkBlockSizes(getOperation(), "panel-width",
                                     {panelWidth})))
      return signalPassFailure();
    IRRewriter rewriter(&getContext());
    SmallVector<linalg::TransposeOp> transposes;
    getOperation().walk(
        [&](linalg::TransposeOp op) { transposes.push_back(op); });
    for (linalg::TransposeOp op : transposes)
      transposeConstantWeight(rewriter, op);
    SmallVector<std::pair<linalg::GenericOp, MatmulWithConstantWeight>> work;
    getOperation().walk([&](linalg::GenericOp op) {
      if (auto mm = matchMatmulWithConstantWeight(op, panelWidth))
        work.push_back({op, *mm});
    });
    for (auto &[op, mm] : work)
      (void)packWeight(rewriter, op, mm, panelWidth);
  }
};

} // namespace
