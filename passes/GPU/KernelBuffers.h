//===- KernelBuffers.h - The buffers a generated kernel reads ---*- C++ -*-===//
//
// Private to passes/GPU. The kernel generators that replace an op by a
// gpu.launch (attention, quantized linears) hand the launch memrefs of the
// op's tensor operands; this is how they make them.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_GPU_KERNELBUFFERS_H
#define KILN_PASSES_GPU_KERNELBUFFERS_H

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace kiln {

/// A read-only memref of `tensor` (identity layout) for a kernel to read;
/// null for a null `tensor` (an absent optional operand).
inline mlir::Value readOnlyBuffer(mlir::ImplicitLocOpBuilder &b,
                                  mlir::Value tensor) {
  if (!tensor)
    return mlir::Value();
  auto type = llvm::cast<mlir::RankedTensorType>(tensor.getType());
  return mlir::bufferization::ToBufferOp::create(
      b, mlir::MemRefType::get(type.getShape(), type.getElementType()), tensor,
      /*read_only=*/true);
}

} // namespace kiln

#endif // KILN_PASSES_GPU_KERNELBUFFERS_H
