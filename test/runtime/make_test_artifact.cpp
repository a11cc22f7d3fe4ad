//===- make_test_artifact.cpp - Write a tiny artifact for CLI tests ------===//
//
// kiln-make-test-artifact HOST_CODE.so OUT.kiln [--model
// add|zero-size|bf16-output|low-precision]
//                         [--target TARGET] [--format-version N]
//
// Lets the kiln-run tests exercise the CLI end to end without the compiler.
//
//===----------------------------------------------------------------------===//

#include "artifact_builder.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace kiln::test;

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: kiln-make-test-artifact HOST_CODE.so OUT.kiln "
                         "[--model add|zero-size|bf16-output|low-precision] "
                         "[--target T] "
                         "[--format-version N]\n");
    return 2;
  }
  Bytes hostCode = readFile(argv[1]);
  if (hostCode.empty()) {
    std::fprintf(stderr, "cannot read '%s'\n", argv[1]);
    return 1;
  }
  std::string model = "add", target = "cpu-x86_64";
  unsigned version = KILN_ARTIFACT_FORMAT_VERSION;
  for (int i = 3; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model"))
      model = argv[i + 1];
    else if (!std::strcmp(argv[i], "--target"))
      target = argv[i + 1];
    else if (!std::strcmp(argv[i], "--format-version"))
      version = unsigned(std::atoi(argv[i + 1]));
  }
  ModelSpec spec = model == "zero-size"       ? zeroSizeModel(hostCode)
                   : model == "bf16-output"   ? bf16OutputModel(hostCode)
                   : model == "low-precision" ? lowPrecisionModel(hostCode)
                                              : addModel(hostCode);
  spec.target = target;
  Bytes artifact = buildArtifact(spec);
  // The version lies in the header, outside the checksummed bytes.
  headerOf(artifact).format_version = version;
  if (!writeFile(argv[2], artifact)) {
    std::fprintf(stderr, "cannot write '%s'\n", argv[2]);
    return 1;
  }
  return 0;
}
