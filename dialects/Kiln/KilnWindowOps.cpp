//===- KilnWindowOps.cpp - Verifiers of convolution and pooling -----------===//

#include "kiln/dialects/Kiln/KilnOps.h"

using namespace mlir;
using namespace kiln;

int64_t kiln::windowOutputSize(int64_t size, int64_t kernel, int64_t stride,
                               int64_t dilation, int64_t padBegin,
                               int64_t padEnd, bool ceilMode) {
  int64_t span = size + padBegin + padEnd - dilation * (kernel - 1) - 1;
  if (span < 0)
    return 0;
  int64_t out = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1;
  // With ceil_mode, a window must still start inside the input or the
  // leading pad.
  if (ceilMode && (out - 1) * stride >= size + padBegin)
    --out;
  return out;
}

/// Checks the window attributes shared by conv and pool against `input`
/// (rank 2 + k) and the result's spatial sizes against windowOutputSize.
static LogicalResult verifyWindow(Operation *op, RankedTensorType input,
                                  RankedTensorType result,
                                  ArrayRef<int64_t> kernel,
                                  ArrayRef<int64_t> strides,
                                  ArrayRef<int64_t> dilations,
                                  ArrayRef<int64_t> pads, bool ceilMode) {
  int64_t k = input.getRank() - 2;
  if (k < 1)
    return op->emitOpError("input must have rank 3 or more ([N, C, D1, ...]), "
                           "got rank ")
           << input.getRank();
  if (result.getRank() != input.getRank())
    return op->emitOpError("result must have the input's rank ")
           << input.getRank();
  if ((int64_t)kernel.size() != k || (int64_t)strides.size() != k ||
      (int64_t)dilations.size() != k || (int64_t)pads.size() != 2 * k)
    return op->emitOpError("expects ")
           << k << " kernel sizes, strides and dilations and " << 2 * k
           << " pads for " << k << " spatial dimensions";
  for (int64_t i = 0; i < k; ++i) {
    if (kernel[i] < 1 || strides[i] < 1 || dilations[i] < 1)
      return op->emitOpError("kernel sizes, strides and dilations must be at "
                             "least 1");
    if (pads[i] < 0 || pads[k + i] < 0)
      return op->emitOpError("pads must not be negative");
    int64_t expected =
        windowOutputSize(input.getDimSize(2 + i), kernel[i], strides[i],
                         dilations[i], pads[i], pads[k + i], ceilMode);
    if (result.getDimSize(2 + i) != expected)
      return op->emitOpError("spatial dimension ")
             << i << " of the result is " << result.getDimSize(2 + i)
             << ", the window gives " << expected;
  }
  return success();
}

LogicalResult ConvOp::verify() {
  RankedTensorType in = getInput().getType(), w = getWeight().getType(),
                   out = getResult().getType();
  int64_t group = getGroup();
  if (w.getRank() != in.getRank())
    return emitOpError("weight must have the input's rank ") << in.getRank();
  if (w.getElementType() != in.getElementType() ||
      out.getElementType() != in.getElementType())
    return emitOpError("input, weight and result must share an element type");
  int64_t channels = in.getDimSize(1), filters = w.getDimSize(0);
  if (group < 1 || channels % group != 0 || filters % group != 0)
    return emitOpError("group ")
           << group << " must divide the input channels (" << channels
           << ") and the filters (" << filters << ")";
  if (w.getDimSize(1) * group != channels)
    return emitOpError("weight has ")
           << w.getDimSize(1) << " channels per filter, expected "
           << channels / group << " (input channels / group)";
  if (out.getDimSize(0) != in.getDimSize(0) || out.getDimSize(1) != filters)
    return emitOpError("result must be [N, M, ...] = [")
           << in.getDimSize(0) << ", " << filters << ", ...]";
  if (Value bias = getBias()) {
    auto b = cast<RankedTensorType>(bias.getType());
    if (b.getRank() != 1 || b.getDimSize(0) != filters ||
        b.getElementType() != in.getElementType())
      return emitOpError("bias must be a vector of ")
             << filters << " elements of the input's type";
  }
  return verifyWindow(*this, in, out, w.getShape().drop_front(2), getStrides(),
                      getDilations(), getPads(), /*ceilMode=*/false);
}

LogicalResult PoolOp::verify() {
  RankedTensorType in = getInput().getType(), out = getResult().getType();
  if (out.getDimSize(0) != in.getDimSize(0) ||
      out.getDimSize(1) != in.getDimSize(1))
    return emitOpError("result must keep the input's N and C");
  if (getKind() != PoolKind::Max && !isa<FloatType>(in.getElementType()))
    return emitOpError("average and Lp pooling need a float element type");
  if (getKind() == PoolKind::Lp && getP() < 1)
    return emitOpError("p must be at least 1, got ") << getP();
  return verifyWindow(*this, in, out, getKernelShape(), getStrides(),
                      getDilations(), getPads(), getCeilMode());
}
