//===- QLinearGeometry.h - A kiln.qlinear's sizes for kernels ----*- C++
//-*-===//
//
// The CPU and GPU kernel generators of kiln.qlinear
// (kiln-cpu-convert-quantized-linears-to-vector-kernels,
// kiln-gpu-convert-quantized-linears-to-mma-kernels) read the op's sizes,
// block shape and constant operands the same way, and find a weight
// group's parameters the same way; this is that part.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_KILNTOLINALG_QLINEARGEOMETRY_H
#define KILN_PASSES_KILNTOLINALG_QLINEARGEOMETRY_H

#include "kiln/dialects/Kiln/KilnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "llvm/Support/MathExtras.h"

#include <numeric>

namespace kiln {

/// `y [m, n] = x [m, k] @ dequantize(W [n, k])^T`, W quantized in blocks of
/// [blockRows, blockCols]; a kernel's groups of `groupSize` along k each
/// lie in one block.
struct QLinearGeometry {
  int64_t m = 0, n = 0, k = 0, blockRows = 0, blockCols = 0, groupSize = 0;
  bool isUnsigned = false;

  /// The sizes of `op`, whose weight must have a static [n, k] shape.
  static QLinearGeometry of(QLinearOp op) {
    QLinearGeometry g;
    auto weightType =
        llvm::cast<mlir::RankedTensorType>(op.getWeight().getType());
    auto inputType =
        llvm::cast<mlir::RankedTensorType>(op.getInput().getType());
    g.isUnsigned = op.getIsUnsigned();
    g.n = weightType.getDimSize(0);
    g.k = weightType.getDimSize(1);
    g.m = inputType.getNumElements() / g.k;
    llvm::ArrayRef<int64_t> block = op.getBlockShape();
    g.blockRows = block[0];
    g.blockCols = block[1];
    g.groupSize = std::gcd(g.k, g.blockCols);
    return g;
  }

  int64_t groups() const { return k / groupSize; }

  /// Where the (scale, zero point) of group `g` of weight row `row` is in
  /// the op's [ceil(n / blockRows), ceil(k / blockCols)] parameters.
  size_t paramIndex(int64_t row, int64_t g) const {
    int64_t blocksAlongK = llvm::divideCeil(k, blockCols);
    return (row / blockRows) * blocksAlongK + g * groupSize / blockCols;
  }
};

/// The constant operands of a kiln.qlinear that a kernel generator repacks
/// at compile time.
struct QLinearConstants {
  mlir::ElementsAttr codes, scales, zeroPoints, globalScale;

  /// Reads them from `op`; false when the codes or scales, or a zero point
  /// or global scale that `op` has, are not constants.
  bool read(QLinearOp op) {
    auto elements = [](mlir::Value v) -> mlir::ElementsAttr {
      auto c = v ? v.getDefiningOp<mlir::arith::ConstantOp>() : nullptr;
      return c ? llvm::dyn_cast<mlir::ElementsAttr>(c.getValue()) : nullptr;
    };
    codes = elements(op.getWeight());
    scales = elements(op.getScale());
    zeroPoints = elements(op.getZeroPoint());
    globalScale = elements(op.getGlobalScale());
    return codes && scales && (!op.getZeroPoint() || zeroPoints) &&
           (!op.getGlobalScale() || globalScale);
  }
};

} // namespace kiln

#endif // KILN_PASSES_KILNTOLINALG_QLINEARGEOMETRY_H
