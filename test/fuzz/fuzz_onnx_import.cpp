//===- fuzz_onnx_import.cpp - libFuzzer target: the ONNX importer --------===//
//
// Bytes -> a binary ONNX ModelProto file -> kiln::importOnnxModel -> the
// verifier, as kiln-compile's driver does before its pipelines. The file
// sits alone in a private temporary folder, so a tensor's external data
// can only name files that do not exist (or escape the folder, which the
// importer must refuse). Diagnostics are collected, not printed: an error
// is a correct outcome; a crash, a sanitizer report or an assertion is not.
//
//===----------------------------------------------------------------------===//

#include "asan_options.h"
#include "fuzz_context.h"
#include "kiln/ONNX/OnnxImporter.h"

#include "mlir/IR/Verifier.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace {

std::string modelPath;

void writeModel(const uint8_t *data, size_t size) {
  FILE *file = std::fopen(modelPath.c_str(), "wb");
  if (!file || std::fwrite(data, 1, size, file) != size ||
      std::fclose(file) != 0) {
    std::perror(modelPath.c_str());
    std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  const char *tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") +
                        "/kiln-fuzz-onnx-import-XXXXXX";
  if (!mkdtemp(pattern.data())) {
    std::perror("mkdtemp");
    std::abort();
  }
  modelPath = pattern + "/model.onnx";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (modelPath.empty())
    LLVMFuzzerInitialize(nullptr, nullptr); // the replay main does not
  writeModel(data, size);

  kiln::fuzz::FuzzContext fuzzContext;
  kiln::OnnxImportOptions options;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      kiln::importOnnxModel(modelPath, fuzzContext.get(), options);
  if (!module) {
    if (fuzzContext.errors() == 0) {
      std::fprintf(stderr, "fuzz_onnx_import: import failed without an error\n");
      std::abort();
    }
    return 0;
  }
  (void)mlir::verify(*module); // a failure is reported, as the driver does
  return 0;
}
