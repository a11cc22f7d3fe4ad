//===- ConvolutionPadding.h - A conv's window and padded input --*- C++ -*-===//
//
// Private to passes/CPU: both CPU conv schedules (im2col, depthwise) read
// a kiln.conv's input through the same window geometry and zero padding.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_CPU_CONVOLUTIONPADDING_H
#define KILN_PASSES_CPU_CONVOLUTIONPADDING_H

#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <algorithm>

namespace kiln {

/// Whether `op` is f32 throughout (input, weight, bias, result) with a
/// static input and result: what both CPU conv schedules require besides
/// their own group structure.
inline bool hasStaticF32Operands(ConvOp op) {
  mlir::RankedTensorType in = op.getInput().getType(), out = op.getType();
  mlir::Type elt = out.getElementType();
  return elt.isF32() && in.getElementType() == elt &&
         op.getWeight().getType().getElementType() == elt &&
         in.hasStaticShape() && out.hasStaticShape() &&
         (!op.getBias() || op.getBias().getType().getElementType() == elt);
}

/// The window of a kiln.conv over its spatial dims: their count, the
/// strides, dilations and kernel extents.
struct ConvolutionWindow {
  explicit ConvolutionWindow(ConvOp op)
      : spatialRank(op.getType().getRank() - 2), strides(op.getStrides()),
        dilations(op.getDilations()),
        kernel(op.getWeight().getType().getShape().drop_front(2)) {}

  /// The (padded) input index along spatial dim `i` that output index
  /// `out` reads at kernel offset `offset`.
  mlir::AffineExpr inputIndex(int64_t i, mlir::AffineExpr out,
                              mlir::AffineExpr offset) const {
    return out * strides[i] + offset * dilations[i];
  }

  int64_t spatialRank;
  llvm::ArrayRef<int64_t> strides, dilations, kernel;
};

/// `op`'s input zero-padded by its leading pads and, at the end of each
/// spatial dim, by exactly what the last window reaches (the trailing pads
/// trimmed or extended), so a window never tests bounds; the input itself
/// when no padding is needed.
inline mlir::Value padConvolutionInput(mlir::OpBuilder &b, mlir::Location loc,
                                       ConvOp op) {
  mlir::RankedTensorType inType = op.getInput().getType(),
                         outType = op.getType();
  ConvolutionWindow window(op);
  llvm::ArrayRef<int64_t> pads = op.getPads();
  llvm::SmallVector<mlir::OpFoldResult> low(2, b.getIndexAttr(0)),
      high(2, b.getIndexAttr(0));
  llvm::SmallVector<int64_t> paddedShape(inType.getShape().take_front(2));
  bool padded = false;
  for (int64_t i = 0; i < window.spatialRank; ++i) {
    int64_t size = inType.getDimSize(2 + i);
    int64_t reach = (outType.getDimSize(2 + i) - 1) * window.strides[i] +
                    window.dilations[i] * (window.kernel[i] - 1) + 1;
    int64_t end = std::max<int64_t>(0, reach - size - pads[i]);
    padded |= pads[i] > 0 || end > 0;
    low.push_back(b.getIndexAttr(pads[i]));
    high.push_back(b.getIndexAttr(end));
    paddedShape.push_back(size + pads[i] + end);
  }
  if (!padded)
    return op.getInput();
  return mlir::tensor::PadOp::create(
      b, loc, inType.clone(paddedShape), op.getInput(), low, high,
      scalarConstant(b, loc, inType.getElementType(), 0));
}

} // namespace kiln

#endif // KILN_PASSES_CPU_CONVOLUTIONPADDING_H
