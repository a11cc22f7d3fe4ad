//===- fuzz_mlir.cpp - libFuzzer target: .mlir through the verifier ------===//
//
// Bytes -> the MLIR parser (Kiln, func, arith, tensor dialects) -> the
// verifier (every Kiln op's verifier runs while parsing) -> canonicalize,
// which runs the Kiln ops' folds and the constant evaluator on whatever
// constants the input holds. Diagnostics are collected, not printed.
//
//===----------------------------------------------------------------------===//

#include "asan_options.h"
#include "fuzz_context.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kiln::fuzz::FuzzContext fuzzContext;
  mlir::MLIRContext &context = fuzzContext.get();
  // MLIR's parser reads past the end of a text with no NUL after it (ASan:
  // heap-buffer-overflow in StringRef::find); files read through
  // llvm::MemoryBuffer (kiln-compile, kiln-opt) always have one.
  // The fuzzer's bytes have none, so they are copied into a std::string.
  std::string source(reinterpret_cast<const char *>(data), size);
  llvm::StringRef text(source.c_str(), source.size());
  mlir::ParserConfig config(&context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, config, "fuzz.mlir");
  if (!module) {
    if (fuzzContext.errors() == 0) {
      std::fprintf(stderr, "fuzz_mlir: parse failed without an error\n");
      std::abort();
    }
    return 0;
  }
  mlir::PassManager pm(&context, mlir::ModuleOp::getOperationName(),
                       mlir::OpPassManager::Nesting::Implicit);
  pm.addPass(mlir::createCanonicalizerPass());
  if (mlir::failed(pm.run(*module)))
    return 0;
  if (mlir::failed(mlir::verify(*module))) {
    std::fprintf(stderr, "fuzz_mlir: canonicalize left invalid IR\n");
    std::abort();
  }
  return 0;
}
