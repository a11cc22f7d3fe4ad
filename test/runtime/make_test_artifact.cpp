//===- make_test_artifact.cpp - Write a tiny artifact for CLI tests ------===//
//
// kiln-make-test-artifact HOST_CODE.so OUT.kiln [--model
// add|zero-size|bf16-output|low-precision|dynamic|generation|cuda-add|
//  profiled|cuda-profiled]
//                         [--target TARGET] [--format-version N]
//                         [--gpu ARCH:cubin|ptx[,ARCH:cubin|ptx...]]
//
// --gpu adds a GPU_CODE section with fake_cuda's stand-in images for those
// archs (kernel kiln_test_add, workspace 256 bytes) and, unless --target is
// given, the target "cuda-ARCH,ARCH...". --model cuda-add (HOST_CODE.so:
// cuda_host_code.c's) has an sm_90a cubin and an sm_80 PTX unless --gpu
// says otherwise.
//
// --model profiled is "add" as two kernels around test_host_code.c's
// profiler hook calls, with a KERNELS section naming them;
// --model cuda-profiled is cuda-add with its kernel table (KERNELS and
// LAUNCHES: its two launches).
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
    std::fprintf(stderr,
                 "usage: kiln-make-test-artifact HOST_CODE.so OUT.kiln "
                 "[--model add|zero-size|bf16-output|low-precision|dynamic|"
                 "generation|cuda-add|profiled|cuda-profiled] "
                 "[--target T] "
                 "[--format-version N] [--gpu ARCH:cubin|ptx,...]\n");
    return 2;
  }
  Bytes hostCode = readFile(argv[1]);
  if (hostCode.empty()) {
    std::fprintf(stderr, "cannot read '%s'\n", argv[1]);
    return 1;
  }
  std::string model = "add", target, gpu;
  unsigned version = KILN_ARTIFACT_FORMAT_VERSION;
  for (int i = 3; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model"))
      model = argv[i + 1];
    else if (!std::strcmp(argv[i], "--target"))
      target = argv[i + 1];
    else if (!std::strcmp(argv[i], "--format-version"))
      version = unsigned(std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--gpu"))
      gpu = argv[i + 1];
  }
  bool cuda = model == "cuda-add" || model == "cuda-profiled";
  ModelSpec spec = cuda                       ? cudaAddModel(hostCode)
                   : model == "zero-size"     ? zeroSizeModel(hostCode)
                   : model == "bf16-output"   ? bf16OutputModel(hostCode)
                   : model == "low-precision" ? lowPrecisionModel(hostCode)
                   : model == "dynamic"       ? dynamicModel(hostCode)
                   : model == "generation"    ? generationStepModel(hostCode)
                                              : addModel(hostCode);
  if (model == "profiled") {
    spec.entrySymbol = "kiln_entry_profiled";
    spec.kernels = encodeKernels(
        {{"add+add", {"kiln.add"}, {"add_0", "add_1"}}, {"copy", {}, {}}});
  }
  if (model == "cuda-profiled")
    addCudaAddKernelTable(spec);
  if (!gpu.empty()) {
    spec.withGpuCode = true;
    if (!cuda)
      spec.gpuCode.workspaceBytes = 256;
    spec.gpuCode.kernels = {"kiln_test_add"};
    spec.gpuCode.images.clear();
    std::string archs;
    for (size_t start = 0; start < gpu.size();) {
      size_t comma = gpu.find(',', start);
      std::string item = gpu.substr(start, comma - start);
      start = comma == std::string::npos ? gpu.size() : comma + 1;
      size_t colon = item.find(':');
      std::string arch = item.substr(0, colon);
      uint32_t format = colon != std::string::npos &&
                                item.substr(colon + 1) == "ptx"
                            ? KILN_GPU_IMAGE_PTX
                            : KILN_GPU_IMAGE_CUBIN;
      spec.gpuCode.images.push_back(
          {arch, format, fakeGpuImage(arch, format, spec.gpuCode.kernels)});
      if (archs.find(arch) == std::string::npos)
        archs += (archs.empty() ? "" : ",") + arch;
    }
    if (target.empty())
      target = "cuda-" + archs;
  }
  if (!target.empty())
    spec.target = target;
  spec.formatVersion = version;
  // The toy generation step (test_host_code.c) comes with its GENERATION
  // section: kiln-run --generate and kiln-bench tests drive it.
  Bytes artifact = model == "generation"
                       ? buildGenerationArtifact(spec, GenerationSpec{})
                       : buildArtifact(spec);
  if (!writeFile(argv[2], artifact)) {
    std::fprintf(stderr, "cannot write '%s'\n", argv[2]);
    return 1;
  }
  return 0;
}
