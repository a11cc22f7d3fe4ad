//===- kiln-inspect.cpp - Show what a model or an artifact holds ----------===//
//
//   kiln-inspect MODEL.kiln [--weights] [--json]
//   kiln-inspect MODEL.onnx|MODEL.onnxtxt [--json]
//
// An artifact is read through the runtime's C API (ArtifactInfo.cpp); an
// ONNX model through the compiler's check (ModelReport.cpp). Every error is
// one line, "kiln-inspect: error: ...", and exit status 1.
//
//===----------------------------------------------------------------------===//

#include "ArtifactReport.h"
#include "ModelReport.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static cl::OptionCategory inspectCategory("kiln-inspect options");

static cl::opt<std::string>
    inputPath(cl::Positional, cl::desc("<model.kiln | model.onnx | model.onnxtxt>"),
              cl::Required, cl::cat(inspectCategory));
static cl::opt<bool>
    json("json",
         cl::desc("Print the report as one JSON object on stdout, with the "
                  "same contents as the text, for scripts"),
         cl::cat(inspectCategory));
static cl::opt<bool> weights(
    "weights",
    cl::desc("Artifacts: list every weight (name, dtype, shape, bytes), not "
             "only the totals per dtype"),
    cl::cat(inspectCategory));

static int fail(const std::string &message) {
  errs() << "kiln-inspect: error: " << message << "\n";
  return 1;
}

static bool isOnnxModel(StringRef path) {
  return path.ends_with(".onnx") || path.ends_with(".onnxtxt");
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(inspectCategory);
  cl::ParseCommandLineOptions(
      argc, argv,
      "Kiln artifact and model inspector\n\n"
      "For a .kiln artifact (validated as kiln-run loads it: magic, version, "
      "size, checksum): the format version, file size, target and GPU "
      "archs, entry symbol, the I/O signature with symbolic dims and their "
      "ranges, the weights (count, bytes, per dtype), the CPU and GPU "
      "workspace, the sections, the kernel table (per kernel the ONNX nodes "
      "it came from, its code size and loop nest on the CPU, its launch "
      "shape on CUDA), the memory plan (the workspace, the peak of the "
      "bytes live during one kernel, each buffer's offset, bytes, type, "
      "nodes and first and last kernel), which outputs are values "
      "kiln-compile --dump kept, and the GPU kernels and images.\n\n"
      "For a .onnx or .onnxtxt model (imported, verified and raised as "
      "kiln-compile --check does, generating no code): the opsets, the "
      "nodes per operator, the inputs with their symbolic dims, what Kiln "
      "would raise (attention, MoE, norms, ...) and every node Kiln cannot "
      "compile.\n\n"
      "Errors (no such file, not an artifact, a corrupt artifact, a model "
      "that does not parse) are one line on stderr and exit status 1.\n");

  if (sys::fs::is_directory(inputPath))
    return fail("'" + inputPath + "' is a directory, not a model file");

  if (isOnnxModel(inputPath)) {
    kiln::inspect::ModelReport report;
    if (std::string error = kiln::inspect::inspectModel(inputPath, report);
        !error.empty())
      return fail(error);
    if (json)
      kiln::inspect::printModelJson(report, outs());
    else
      kiln::inspect::printModelText(report, outs());
    return 0;
  }

  kiln::inspect::ArtifactInfo info;
  if (std::string error = kiln::inspect::readArtifact(inputPath, info);
      !error.empty())
    return fail(error);
  if (json)
    kiln::inspect::printArtifactJson(info, weights, outs());
  else
    kiln::inspect::printArtifactText(info, weights, outs());
  return 0;
}
