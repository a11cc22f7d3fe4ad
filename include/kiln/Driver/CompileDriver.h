//===- CompileDriver.h - The kiln-compile pipeline as a library -*- C++ -*-===//

#ifndef KILN_DRIVER_COMPILEDRIVER_H
#define KILN_DRIVER_COMPILEDRIVER_H

#include "kiln/ONNX/OnnxImporter.h"
#include "kiln/Target/HostCodegen.h"

#include "mlir/Pass/PassManager.h"

#include <functional>
#include <string>

namespace kiln {

/// Where compilation stops; every stage but the last prints IR.
enum class EmitStage {
  Kiln,        // the imported Kiln dialect
  Linalg,      // linalg/tensor after fusion, weights outlined
  LLVMDialect, // MLIR's LLVM dialect
  LLVMIR,      // optimized LLVM IR with the entry wrapper
  Artifact     // the .kiln file
};

struct CompileOptions {
  std::string inputPath;
  /// The artifact, or the IR file for earlier stages ("-" is stdout).
  std::string outputPath;
  std::string target = "cpu";
  EmitStage emit = EmitStage::Artifact;
  OnnxImportOptions import;
  HostCodegenOptions host;
  /// Print one line per stage with its duration to stderr.
  bool progress = false;
  /// Run the raising pipeline after import (see buildRaisePipeline).
  bool raise = true;
  /// A kiln-quantize-weights format ("int4-g32", ...); empty keeps floats.
  /// Each quantized layer's weight error is printed to stderr.
  std::string quantize;
  /// Applied to every pass manager the driver creates (IR printing,
  /// timing and the other MLIR command-line options).
  std::function<mlir::LogicalResult(mlir::PassManager &)> configure;
};

/// Runs the whole compilation. Errors are reported as diagnostics on
/// `context`; nothing is left at the output path on failure.
mlir::LogicalResult compile(mlir::MLIRContext &context,
                            const CompileOptions &options);

} // namespace kiln

#endif // KILN_DRIVER_COMPILEDRIVER_H
