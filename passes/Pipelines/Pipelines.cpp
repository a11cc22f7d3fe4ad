//===- Pipelines.cpp - Kiln's pass pipelines ------------------------------===//
//
// Written as textual pipelines of registered passes: the text is what a
// developer would type into kiln-opt, and it survives upstream renames of
// C++ pass constructors.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/Pipelines.h"

#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/ErrorHandling.h"

using namespace mlir;

// Decomposed subgraphs (exporters' output) -> Kiln's semantic ops. Each
// raising pass reports what it raised and what it left (RaisingReport.h).
// It changes nothing else, so `--emit=kiln` still shows the graph as
// imported wherever no pattern matched.
static constexpr const char *kRaisePipeline =
    "func.func(kiln-raise-activations,kiln-raise-rms-norm,kiln-raise-rope,"
    "kiln-raise-attention,kiln-raise-moe)";

// Kiln -> linalg on tensors; the weight outlining comes last so that the
// canonicalizer has already folded every constant it could.
static constexpr const char *kTensorPipeline =
    "func.func(kiln-decompose-composite-ops,canonicalize,kiln-convert-kiln-to-linalg,"
    "kiln-fuse-elementwise,canonicalize,cse),"
    "kiln-outline-weights";

// Static shapes make the bare-pointer calling convention possible: every
// buffer crosses the entry as one pointer, and results become out-params.
// Sub-byte boundaries get their byte layouts first (the signature has been
// read by then), and fusion moves the unpacking into the consumers.
static constexpr const char *kCodegenPipeline =
    "kiln-convert-subbyte-boundary-to-bytes,"
    "func.func(kiln-fuse-elementwise,canonicalize),"
    "kiln-flatten-empty-tensors,"
    "one-shot-bufferize{bufferize-function-boundaries=1 "
    "function-boundary-type-conversion=identity-layout-map},"
    "buffer-results-to-out-params{hoist-static-allocs=1 modify-public-functions=1},"
    "buffer-deallocation-pipeline,"
    "convert-bufferization-to-memref,"
    "kiln-convert-strided-copies-to-linalg,"
    "func.func(convert-linalg-to-loops,kiln-expand-small-floats),"
    "expand-strided-metadata,lower-affine,convert-scf-to-cf,"
    "convert-math-to-funcs,"
    "func.func(convert-math-to-llvm),"
    "convert-math-to-libm,"
    "finalize-memref-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,"
    "convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},"
    "convert-cf-to-llvm,convert-ub-to-llvm,reconcile-unrealized-casts";

static void addPipeline(OpPassManager &pm, const char *text) {
  if (!*text)
    return;
  if (failed(parsePassPipeline(text, pm, llvm::errs())))
    llvm::report_fatal_error("kiln: a built-in pass pipeline failed to parse");
}

void kiln::buildRaisePipeline(OpPassManager &pm) {
  addPipeline(pm, kRaisePipeline);
}

void kiln::buildCpuTensorPipeline(OpPassManager &pm) {
  addPipeline(pm, kTensorPipeline);
}

void kiln::buildCpuCodegenPipeline(OpPassManager &pm) {
  addPipeline(pm, kCodegenPipeline);
}

void kiln::buildCpuPipeline(OpPassManager &pm) {
  buildCpuTensorPipeline(pm);
  buildCpuCodegenPipeline(pm);
}

namespace {
struct PipelineInfo {
  const char *name;
  const char *description;
  void (*build)(OpPassManager &);
};
} // namespace

// Every pipeline, registered once: kiln-opt and kiln-compile build the same
// ones through the functions in Pipelines.h.
static const PipelineInfo kPipelines[] = {
    {"kiln-raise-pipeline",
     "Raise decomposed attention, MoE, RoPE, norms and activations to Kiln "
     "ops",
     kiln::buildRaisePipeline},
    {"kiln-cpu-tensor-pipeline",
     "Lower Kiln ops to linalg on tensors and outline weights",
     kiln::buildCpuTensorPipeline},
    {"kiln-cpu-codegen-pipeline",
     "Bufferize linalg on tensors and lower to the LLVM dialect",
     kiln::buildCpuCodegenPipeline},
    {"kiln-cpu-pipeline", "The whole CPU pipeline: Kiln to LLVM dialect",
     kiln::buildCpuPipeline},
};

void kiln::forEachPipeline(
    llvm::function_ref<void(llvm::StringRef name, llvm::StringRef description)>
        callback) {
  for (const PipelineInfo &pipeline : kPipelines)
    callback(pipeline.name, pipeline.description);
}

void kiln::registerPipelines() {
  for (const PipelineInfo &pipeline : kPipelines)
    PassPipelineRegistration<>(pipeline.name, pipeline.description,
                               pipeline.build);
}
