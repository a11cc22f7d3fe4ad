//===- fuzz_context.h - The MLIR context of the compiler's targets -*- C++ -*-===//
//
// What the targets that feed the compiler (fuzz_mlir, fuzz_onnx_import)
// parse into: an MLIRContext with the dialects Kiln's inputs use, on one
// thread, whose diagnostics are counted instead of printed. An error
// diagnostic is a correct outcome for bad bytes; a crash is not.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TEST_FUZZ_FUZZ_CONTEXT_H
#define KILN_TEST_FUZZ_FUZZ_CONTEXT_H

#include "kiln/dialects/Kiln/KilnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

namespace kiln::fuzz {

/// An MLIRContext with the Kiln, arith, func and tensor dialects, threading
/// off, that counts its error diagnostics. KILN_FUZZ_VERBOSE=1 prints each
/// input's first error (to see what the seeds reach).
class FuzzContext {
public:
  FuzzContext()
      : context(dialects(), mlir::MLIRContext::Threading::DISABLED),
        handler(&context, [this](mlir::Diagnostic &d) { return count(d); }) {}
  FuzzContext(const FuzzContext &) = delete;
  FuzzContext &operator=(const FuzzContext &) = delete;

  mlir::MLIRContext &get() { return context; }
  /// The error diagnostics emitted so far.
  unsigned errors() const { return errorCount; }

private:
  static mlir::DialectRegistry dialects() {
    mlir::DialectRegistry registry;
    registry.insert<kiln::KilnDialect, mlir::arith::ArithDialect,
                    mlir::func::FuncDialect, mlir::tensor::TensorDialect>();
    return registry;
  }

  mlir::LogicalResult count(mlir::Diagnostic &d) {
    static const bool verbose = std::getenv("KILN_FUZZ_VERBOSE") != nullptr;
    if (d.getSeverity() != mlir::DiagnosticSeverity::Error)
      return mlir::success();
    if (verbose && errorCount == 0)
      llvm::errs() << "error: " << d.str() << "\n";
    ++errorCount;
    return mlir::success();
  }

  mlir::MLIRContext context;
  unsigned errorCount = 0;
  mlir::ScopedDiagnosticHandler handler; // after the context it attaches to
};

} // namespace kiln::fuzz

#endif // KILN_TEST_FUZZ_FUZZ_CONTEXT_H
