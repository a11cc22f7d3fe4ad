//===- RuntimeResize.h - Resize at run-time scales or sizes ----*- C++ -*-===//
//
// Private to lib/ONNX. Resize's constant lowering (OnnxWindowOps.cpp)
// computes each axis's taps at import; when its scales, sizes or roi are
// graph inputs (on the CPU target, isRuntimeInput) the output's size and
// every tap are computed at run time instead, with the same rules.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_ONNX_RUNTIMERESIZE_H
#define KILN_LIB_ONNX_RUNTIMERESIZE_H

#include "NodeContext.h"

#include <string>

namespace kiln::onnx_import {

/// The attributes of a Resize node that decide its taps.
struct ResizeMode {
  std::string mode, transform, nearest;
  double cubicA = -0.75;
  bool excludeOutside = false, antialias = false;
};

/// Resize of `x` along `axes` (normalized, distinct) with the scales
/// (input 2) or sizes (input 3, adjusted by keep_aspect_ratio_policy
/// `policy`) and roi (input 1) that the run gives: each resized dimension
/// dynamic, each axis (the last first) one linalg.generic whose elements
/// compute their source coordinate and sum their taps. Values ONNX calls
/// invalid (a scale or size that is not positive, an output dimension over
/// 2^30) make every resized dimension 0; no value reads out of bounds.
mlir::LogicalResult runtimeResizeOp(NodeContext &nc, mlir::Value x,
                                    const ResizeMode &m,
                                    llvm::ArrayRef<int64_t> axes,
                                    llvm::StringRef policy,
                                    double extrapolation);

} // namespace kiln::onnx_import

#endif // KILN_LIB_ONNX_RUNTIMERESIZE_H
