//===- OnnxContrib.h - Helpers of the com.microsoft handlers ----*- C++ -*-===//
//
// Private to the OnnxContrib*.cpp files: onnxruntime's contrib ops carry
// packed weights (MatMulNBits, QMoE) that the importer unpacks or
// dequantizes into ordinary constants, so the handlers read the bytes of
// initializers and build constants from bytes.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_ONNX_ONNXCONTRIB_H
#define KILN_LIB_ONNX_ONNXCONTRIB_H

#include "NodeContext.h"

#include <vector>

namespace kiln::onnx_import::contrib {

/// The raw little-endian bytes of input `i` when it is a constant (an
/// initializer, inline or a resource blob; sub-byte elements one per byte,
/// splats expanded). Otherwise reports that `what` must be an initializer.
mlir::FailureOr<std::vector<char>> constantBytes(NodeContext &nc, size_t i,
                                                 llvm::StringRef what);

/// The values of a floating-point constant input `i` as floats.
mlir::FailureOr<std::vector<float>> constantFloats(NodeContext &nc, size_t i,
                                                   llvm::StringRef what);

/// A constant of `type` holding `bytes` (one byte per element for sub-byte
/// types); above 256 elements it is a dense resource blob named `name`,
/// like the importer's initializers.
mlir::Value bytesConstant(NodeContext &nc, mlir::RankedTensorType type,
                          llvm::ArrayRef<char> bytes, llvm::StringRef name);

/// A float constant of `type` (f32, f16, bf16 or f64) from float values.
mlir::Value floatConstant(NodeContext &nc, mlir::RankedTensorType type,
                          llvm::ArrayRef<float> values, llvm::StringRef name);

/// Element `i` of `bytes` read as unsigned `bits`-bit integers packed low
/// bits first (element `i` starts at bit `i * bits`).
inline unsigned unpackBits(llvm::ArrayRef<char> bytes, int64_t i,
                           unsigned bits) {
  int64_t bit = i * bits;
  return ((unsigned char)bytes[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
}

/// A slice of rows `[start, start + step * count)` along dimension 1 of a
/// rank-3 tensor (how fused SwiGLU weights are split): a new constant when
/// `v` is one, else a kiln.slice.
mlir::Value sliceDim1(NodeContext &nc, mlir::Value v, int64_t start,
                      int64_t step, int64_t count, llvm::StringRef name);

} // namespace kiln::onnx_import::contrib

#endif // KILN_LIB_ONNX_ONNXCONTRIB_H
