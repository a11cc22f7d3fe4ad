//===- ConvolutionPadding.h - The zero-padded input of a conv ---*- C++ -*-===//
//
// Private to passes/CPU: both CPU conv schedules (im2col, depthwise) read
// a kiln.conv's input through the same zero padding.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_CPU_CONVOLUTIONPADDING_H
#define KILN_PASSES_CPU_CONVOLUTIONPADDING_H

#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <algorithm>

namespace kiln {

/// `op`'s input zero-padded by its leading pads and, at the end of each
/// spatial dim, by exactly what the last window reaches (the trailing pads
/// trimmed or extended), so a window never tests bounds; the input itself
/// when no padding is needed.
inline mlir::Value padConvolutionInput(mlir::OpBuilder &b, mlir::Location loc,
                                       ConvOp op) {
  mlir::RankedTensorType inType = op.getInput().getType(),
                         outType = op.getType();
  int64_t k = inType.getRank() - 2;
  llvm::ArrayRef<int64_t> strides = op.getStrides(),
                          dilations = op.getDilations(), pads = op.getPads();
  llvm::ArrayRef<int64_t> kernel =
      op.getWeight().getType().getShape().drop_front(2);
  llvm::SmallVector<mlir::OpFoldResult> low(2, b.getIndexAttr(0)),
      high(2, b.getIndexAttr(0));
  llvm::SmallVector<int64_t> paddedShape(inType.getShape().take_front(2));
  bool padded = false;
  for (int64_t i = 0; i < k; ++i) {
    int64_t size = inType.getDimSize(2 + i);
    int64_t reach = (outType.getDimSize(2 + i) - 1) * strides[i] +
                    dilations[i] * (kernel[i] - 1) + 1;
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
