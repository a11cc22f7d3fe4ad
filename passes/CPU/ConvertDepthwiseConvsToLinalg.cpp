//===- ConvertDepthwiseConvsToLinalg.cpp ----------------------------------===//
//
// kiln-cpu-convert-depthwise-convs-to-linalg: an f32 kiln.conv with one
// input channel per group (depthwise, MobileNet's 3x3 and 5x5 layers) as a
// linalg.generic whose loops run (n, filter, kernel..., out...): the
// kernel loops are outside the output loops, so the innermost loop walks
// one output row, its stores contiguous and its loads contiguous at stride
// 1, which LLVM vectorizes. The reference lowering's order (n, filter,
// out..., kernel...) leaves a 3- or 5-step reduction innermost. Each
// filter's output plane is small and stays in cache while the K1 x K2
// passes add into it.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/CPU/Passes.h"

#include "ConvolutionPadding.h"
#include "KernelRewrites.h"

#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace kiln {
#define GEN_PASS_DEF_CONVERTDEPTHWISECONVSTOLINALG
#include "kiln/passes/CPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

bool isDepthwiseFloatConv(ConvOp op) {
  // f32 only: 16-bit floats accumulate in f32 in the reference lowering,
  // which this loop nest (accumulating in its output) would not.
  return op.getGroup() > 1 && op.getWeight().getType().getDimSize(1) == 1 &&
         hasStaticF32Operands(op);
}

LogicalResult convertDepthwise(RewriterBase &rewriter, ConvOp op) {
  if (!isDepthwiseFloatConv(op))
    return failure();
  Location loc = op.getLoc();
  MLIRContext *ctx = rewriter.getContext();
  rewriter.setInsertionPoint(op);
  RankedTensorType outType = op.getType();
  Type elt = outType.getElementType();
  ConvolutionWindow window(op);
  int64_t k = window.spatialRank;
  Value input = padConvolutionInput(rewriter, loc, op);

  // Loops (n, m, kernel..., out...): kernel dims 2..k+1, out dims k+2...
  int64_t numDims = 2 + 2 * k;
  int64_t filtersPerGroup = outType.getDimSize(1) / op.getGroup();
  AffineExpr n = getAffineDimExpr(0, ctx), m = getAffineDimExpr(1, ctx);
  SmallVector<AffineExpr> inExprs{n, m.floorDiv(filtersPerGroup)};
  SmallVector<AffineExpr> wExprs{m, getAffineConstantExpr(0, ctx)};
  SmallVector<AffineExpr> outExprs{n, m};
  for (int64_t i = 0; i < k; ++i) {
    AffineExpr kd = getAffineDimExpr(2 + i, ctx);
    AffineExpr od = getAffineDimExpr(2 + k + i, ctx);
    inExprs.push_back(window.inputIndex(i, od, kd));
    wExprs.push_back(kd);
    outExprs.push_back(od);
  }
  SmallVector<AffineMap> maps{AffineMap::get(numDims, 0, inExprs, ctx),
                              AffineMap::get(numDims, 0, wExprs, ctx),
                              AffineMap::get(numDims, 0, outExprs, ctx)};
  SmallVector<utils::IteratorType> iterators(2, utils::IteratorType::parallel);
  iterators.append(k, utils::IteratorType::reduction);
  iterators.append(k, utils::IteratorType::parallel);

  // The accumulator starts as the bias broadcast over each plane, or zero.
  Value init;
  if (Value bias = op.getBias()) {
    int64_t rank = outType.getRank();
    Value empty =
        tensor::EmptyOp::create(rewriter, loc, outType.getShape(), elt);
    init = linalg::GenericOp::create(
               rewriter, loc, outType, bias, ValueRange{empty},
               SmallVector<AffineMap>{
                   AffineMap::get(rank, 0, getAffineDimExpr(1, ctx)),
                   rewriter.getMultiDimIdentityMap(rank)},
               SmallVector<utils::IteratorType>(rank,
                                                utils::IteratorType::parallel),
               [](OpBuilder &b, Location l, ValueRange args) {
                 linalg::YieldOp::create(b, l, args[0]);
               })
               .getResult(0);
  } else {
    init = filledTensor(rewriter, loc, outType,
                        scalarConstant(rewriter, loc, elt, 0));
  }
  Value result =
      linalg::GenericOp::create(
          rewriter, loc, TypeRange{outType}, ValueRange{input, op.getWeight()},
          ValueRange{init}, maps, iterators,
          [](OpBuilder &b, Location l, ValueRange args) {
            Value product = arith::MulFOp::create(b, l, args[0], args[1]);
            linalg::YieldOp::create(
                b, l,
                arith::AddFOp::create(b, l, args[2], product).getResult());
          })
          .getResult(0);
  rewriter.replaceOp(op, result);
  return success();
}

struct ConvertDepthwiseConvsToLinalgPass
    : kiln::impl::ConvertDepthwiseConvsToLinalgBase<
          ConvertDepthwiseConvsToLinalgPass> {
  using Base::Base;

  void runOnOperation() override {
    rewriteEachOp<ConvOp>(getOperation(), convertDepthwise);
  }
};

} // namespace
