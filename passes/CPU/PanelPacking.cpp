//===- PanelPacking.cpp - Weights as column panels, and their products ----===//

#include "PanelPacking.h"

#include "kiln/dialects/Kiln/KilnConstants.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cstring>

using namespace mlir;

std::optional<AsmResourceBlob>
kiln::packColumnPanels(ElementsAttr weight, const PanelPackingShape &shape,
                       int64_t panelWidth) {
  std::vector<char> storage;
  std::optional<ArrayRef<char>> bytes = kiln::constantBytes(weight, storage);
  if (!bytes || shape.n % panelWidth != 0)
    return std::nullopt;
  size_t width = weight.getElementType().getIntOrFloatBitWidth() / 8;
  if (bytes->size() != size_t(shape.batch * shape.k * shape.n) * width)
    return std::nullopt;
  AsmResourceBlob packed = kiln::allocateConstantBlob(bytes->size());
  char *to = packed.getMutableData().data();
  const char *from = bytes->data();
  int64_t n = shape.n, k = shape.k, matrix = n * k;
  for (int64_t b = 0; b < shape.batch; ++b)
    for (int64_t panel = 0; panel < n / panelWidth; ++panel) {
      char *dst = to + (b * matrix + panel * k * panelWidth) * width;
      if (shape.transposed) {
        // [N][K]: the panel's P rows of K, transposed.
        kiln::transposeElements(
            from + (b * matrix + panel * panelWidth * k) * width, k, dst,
            panelWidth, panelWidth, k, width);
        continue;
      }
      // Whole panel rows are contiguous in a [K][N] weight: copy P at a time.
      for (int64_t row = 0; row < k; ++row)
        std::memcpy(dst + row * panelWidth * width,
                    from + (b * matrix + row * n + panel * panelWidth) * width,
                    panelWidth * width);
    }
  return packed;
}

Value kiln::buildPanelMatmul(OpBuilder &b, Location loc, Value lhs,
                             Value panels, Value init) {
  auto initType = cast<RankedTensorType>(init.getType());
  auto panelsType = cast<RankedTensorType>(panels.getType());
  Type elt = initType.getElementType();
  auto blockedType = RankedTensorType::get(
      {initType.getDimSize(0), panelsType.getDimSize(0),
       panelsType.getDimSize(2)},
      elt);
  SmallVector<ReassociationIndices> columnsAsPanels = {{0}, {1, 2}};
  Value blockedInit = tensor::ExpandShapeOp::create(b, loc, blockedType, init,
                                                    columnsAsPanels);
  MLIRContext *ctx = b.getContext();
  AffineExpr m = getAffineDimExpr(0, ctx), nb = getAffineDimExpr(1, ctx),
             k = getAffineDimExpr(2, ctx), ni = getAffineDimExpr(3, ctx);
  SmallVector<AffineMap> maps = {AffineMap::get(4, 0, {m, k}, ctx),
                                 AffineMap::get(4, 0, {nb, k, ni}, ctx),
                                 AffineMap::get(4, 0, {m, nb, ni}, ctx)};
  SmallVector<utils::IteratorType> iterators = {
      utils::IteratorType::parallel, utils::IteratorType::parallel,
      utils::IteratorType::reduction, utils::IteratorType::parallel};
  auto product = linalg::GenericOp::create(
      b, loc, blockedType, ValueRange{lhs, panels}, ValueRange{blockedInit},
      maps, iterators, [](OpBuilder &nb, Location l, ValueRange args) {
        Value p = arith::MulFOp::create(nb, l, args[0], args[1]);
        linalg::YieldOp::create(
            nb, l, ValueRange{arith::AddFOp::create(nb, l, args[2], p)});
      });
  return tensor::CollapseShapeOp::create(b, loc, initType,
                                         product.getResult(0), columnsAsPanels);
}

/// Panel `p`'s block by rows: blocks of `rows`, then single rows.
static Value buildRowBlocks(
    OpBuilder &b, Location loc, Value p, int64_t m, int64_t rows, Value block,
    function_ref<Value(OpBuilder &, Value p, Value m0, int64_t n, Value block)>
        rowBlock) {
  auto rowLoop = [&](int64_t from, int64_t to, int64_t step,
                     Value init) -> Value {
    if (from >= to)
      return init;
    auto loop = scf::ForOp::create(
        b, loc, arith::ConstantIndexOp::create(b, loc, from),
        arith::ConstantIndexOp::create(b, loc, to),
        arith::ConstantIndexOp::create(b, loc, step), ValueRange{init},
        [&](OpBuilder &lb, Location, Value m0, ValueRange iter) {
          scf::YieldOp::create(lb, loc, rowBlock(lb, p, m0, step, iter[0]));
        });
    return loop.getResult(0);
  };
  int64_t full = m / rows * rows;
  return rowLoop(full, m, 1, rowLoop(0, full, rows, block));
}

Value kiln::buildPanelLoop(
    OpBuilder &b, Location loc, RankedTensorType resultType, int64_t width,
    int64_t rows, bool parallel,
    function_ref<Value(OpBuilder &, Value p, Value m0, int64_t n, Value block)>
        rowBlock) {
  int64_t m = resultType.getDimSize(0);
  auto panel = [&](OpBuilder &pb, Value p, Value block) {
    return buildRowBlocks(pb, loc, p, m, rows, block, rowBlock);
  };
  int64_t panels = resultType.getDimSize(1) / width;
  Value y = tensor::EmptyOp::create(b, loc, resultType.getShape(),
                                    resultType.getElementType());
  auto blockType = resultType.clone({m, width});
  auto offsets = [&](OpBuilder &ib, Value p) -> SmallVector<OpFoldResult> {
    Value w = arith::ConstantIndexOp::create(ib, loc, width);
    return {ib.getIndexAttr(0),
            arith::MulIOp::create(ib, loc, p, w).getResult()};
  };
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(m), b.getIndexAttr(width)};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  if (parallel) {
    auto forall = scf::ForallOp::create(
        b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(panels)}, ValueRange{y},
        std::nullopt, [&](OpBuilder &fb, Location, ValueRange args) {
          SmallVector<OpFoldResult> at = offsets(fb, args[0]);
          Value block = tensor::ExtractSliceOp::create(
              fb, loc, blockType, args[1], at, sizes, strides);
          Value result = panel(fb, args[0], block);
          auto terminator = scf::InParallelOp::create(fb, loc);
          OpBuilder::InsertionGuard guard(fb);
          fb.setInsertionPointToStart(terminator.getBody());
          tensor::ParallelInsertSliceOp::create(fb, loc, result, args[1], at,
                                                sizes, strides);
        });
    return forall.getResult(0);
  }
  auto loop = scf::ForOp::create(
      b, loc, arith::ConstantIndexOp::create(b, loc, 0),
      arith::ConstantIndexOp::create(b, loc, panels),
      arith::ConstantIndexOp::create(b, loc, 1), ValueRange{y},
      [&](OpBuilder &lb, Location, Value p, ValueRange iter) {
        SmallVector<OpFoldResult> at = offsets(lb, p);
        Value block = tensor::ExtractSliceOp::create(lb, loc, blockType,
                                                     iter[0], at, sizes, strides);
        Value result = panel(lb, p, block);
        scf::YieldOp::create(lb, loc,
                             tensor::InsertSliceOp::create(
                                 lb, loc, result, iter[0], at, sizes, strides)
                                 .getResult());
      });
  return loop.getResult(0);
}

