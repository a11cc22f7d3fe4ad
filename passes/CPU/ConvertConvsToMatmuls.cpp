//===- ConvertConvsToMatmuls.cpp - kiln-cpu-convert-convs-to-matmuls ------===//
//
// A regular (ungrouped) f32 kiln.conv as one matrix product, so that it
// runs on the CPU's packed, register-blocked matmul path instead of the
// reference lowering's scalar window loop:
//
//   1. im2col: one linalg.generic copies each output position's window of
//      the zero-padded input into a row, [N, O..., C, K...], collapsed to
//      [N * prod(O), C * prod(K)] (the column order (c, k...) is the
//      order of the weight's [M, C, K...] layout);
//   2. kiln.matmul by the weight as [C * prod(K), M] (transposed at
//      compile time), plus the bias: [N * prod(O), M], a contraction whose
//      constant weight kiln-cpu-pack-matmul-weights stores as panels and
//      whose bias kiln-cpu-vectorize-contractions adds in its epilogue;
//   3. back to [N, M, O...] with a kiln.reshape and a kiln.transpose
//      (which elementwise fusion merges with the following activation or
//      residual add).
//
// Grouped and depthwise convs, integer and 16-bit float convs and dynamic
// shapes keep the reference lowering.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/CPU/Passes.h"

#include "ConvolutionPadding.h"
#include "KernelRewrites.h"

#include "kiln/dialects/Kiln/KilnConstants.h"
#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace kiln {
#define GEN_PASS_DEF_CONVERTCONVSTOMATMULS
#include "kiln/passes/CPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// Whether `op` is a conv this pass rewrites.
bool isRegularFloatConv(ConvOp op) {
  // f32 only: the product of 16-bit floats plus a separately rounded bias
  // would round twice where the reference lowering rounds once.
  return op.getGroup() == 1 && hasStaticF32Operands(op) &&
         op.getWeight().getType().hasStaticShape();
}

/// `weight` [M, C, K...] as the right-hand side [C * prod(K), M] of the
/// product: transposed at compile time into a new constant when it is one
/// (kiln-cpu-pack-matmul-weights packs constants only), else a kiln.reshape
/// and a kiln.transpose.
Value weightColumns(OpBuilder &b, Location loc, Value weight) {
  auto type = cast<RankedTensorType>(weight.getType());
  int64_t filters = type.getDimSize(0);
  int64_t depth = type.getNumElements() / filters;
  Type elt = type.getElementType();
  auto flatType = RankedTensorType::get({filters, depth}, elt);
  auto columnsType = RankedTensorType::get({depth, filters}, elt);
  if (ElementsAttr attr = constantElements(weight)) {
    std::vector<char> storage;
    std::optional<ArrayRef<char>> bytes = constantBytes(attr, storage);
    size_t width = elt.getIntOrFloatBitWidth() / 8;
    if (bytes && elt.getIntOrFloatBitWidth() % 8 == 0 &&
        bytes->size() == size_t(filters * depth) * width) {
      std::vector<char> transposed(bytes->size());
      transposeElements(bytes->data(), depth, transposed.data(), filters,
                        filters, depth, width);
      return arith::ConstantOp::create(
          b, weight.getLoc(),
          cast<TypedAttr>(
              makeConstantAttr(columnsType, transposed, "conv_weight")));
    }
  }
  Value flat = ReshapeOp::create(b, loc, flatType, weight);
  return TransposeOp::create(b, loc, columnsType, flat,
                             b.getDenseI64ArrayAttr({1, 0}));
}

/// [N * prod(O), C * prod(K)]: row (n, o...) holds the window of output
/// position o, column (c, k...) its element c at kernel offset k.
Value im2col(OpBuilder &b, Location loc, ConvOp op) {
  MLIRContext *ctx = b.getContext();
  RankedTensorType inType = op.getInput().getType(), outType = op.getType();
  Type elt = inType.getElementType();
  ConvolutionWindow window(op);
  int64_t k = window.spatialRank;
  Value input = padConvolutionInput(b, loc, op);

  // Loops (n, o..., c, k...), all parallel: a copy.
  int64_t numDims = 2 + 2 * k;
  SmallVector<int64_t> colsShape{inType.getDimSize(0)};
  for (int64_t i = 0; i < k; ++i)
    colsShape.push_back(outType.getDimSize(2 + i));
  colsShape.push_back(inType.getDimSize(1));
  llvm::append_range(colsShape, window.kernel);
  SmallVector<AffineExpr> inExprs{getAffineDimExpr(0, ctx),
                                  getAffineDimExpr(1 + k, ctx)};
  for (int64_t i = 0; i < k; ++i)
    inExprs.push_back(window.inputIndex(i, getAffineDimExpr(1 + i, ctx),
                                        getAffineDimExpr(2 + k + i, ctx)));
  SmallVector<AffineMap> maps{AffineMap::get(numDims, 0, inExprs, ctx),
                              b.getMultiDimIdentityMap(numDims)};
  auto colsType = RankedTensorType::get(colsShape, elt);
  Value empty = tensor::EmptyOp::create(b, loc, colsShape, elt);
  Value cols =
      linalg::GenericOp::create(b, loc, TypeRange{colsType}, ValueRange{input},
                                ValueRange{empty}, maps,
                                SmallVector<utils::IteratorType>(
                                    numDims, utils::IteratorType::parallel),
                                [](OpBuilder &nb, Location l, ValueRange args) {
                                  linalg::YieldOp::create(nb, l, args[0]);
                                })
          .getResult(0);

  SmallVector<ReassociationIndices> groups(2);
  for (int64_t d = 0; d <= k; ++d)
    groups[0].push_back(d);
  for (int64_t d = k + 1; d < numDims; ++d)
    groups[1].push_back(d);
  return tensor::CollapseShapeOp::create(b, loc, cols, groups);
}

LogicalResult convertConv(RewriterBase &rewriter, ConvOp op) {
  if (!isRegularFloatConv(op))
    return failure();
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  RankedTensorType outType = op.getType();
  int64_t k = outType.getRank() - 2, filters = outType.getDimSize(1);

  Value rows = im2col(rewriter, loc, op);
  Value weight = weightColumns(rewriter, loc, op.getWeight());
  int64_t numRows = cast<RankedTensorType>(rows.getType()).getDimSize(0);
  auto productType =
      RankedTensorType::get({numRows, filters}, outType.getElementType());
  Value product = MatmulOp::create(rewriter, loc, productType, rows, weight);
  if (Value bias = op.getBias())
    product = AddOp::create(rewriter, loc, productType, product, bias);

  // [N * prod(O), M] -> [N, O..., M] -> [N, M, O...].
  SmallVector<int64_t> channelsLast{outType.getDimSize(0)};
  for (int64_t i = 0; i < k; ++i)
    channelsLast.push_back(outType.getDimSize(2 + i));
  channelsLast.push_back(filters);
  Value nhwc =
      ReshapeOp::create(rewriter, loc, outType.clone(channelsLast), product);
  SmallVector<int64_t> permutation{0, k + 1};
  for (int64_t i = 0; i < k; ++i)
    permutation.push_back(1 + i);
  Value result = TransposeOp::create(
      rewriter, loc, outType, nhwc, rewriter.getDenseI64ArrayAttr(permutation));
  replaceOpAndEraseUnusedInputs(rewriter, op, result, {op.getWeight()});
  return success();
}

struct ConvertConvsToMatmulsPass
    : kiln::impl::ConvertConvsToMatmulsBase<ConvertConvsToMatmulsPass> {
  using Base::Base;

  void runOnOperation() override {
    rewriteEachOp<ConvOp>(getOperation(), convertConv);
  }
};

} // namespace
