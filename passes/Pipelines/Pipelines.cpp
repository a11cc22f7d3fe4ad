//===- Pipelines.cpp - Kiln's pass pipelines ------------------------------===//
//
// Written as textual pipelines of registered passes: the text is what a
// developer would type into kiln-opt, and it survives upstream renames of
// C++ pass constructors.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/Pipelines.h"

#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/ErrorHandling.h"

using namespace mlir;

// Decomposed subgraphs (exporters' output) -> Kiln's semantic ops. Each
// raising pass reports what it raised and what it left (RaisingReport.h).
// It changes nothing else, so `--emit=kiln` still shows the graph as
// imported wherever no pattern matched.
static constexpr const char *kRaisePipeline =
    "func.func(kiln-raise-activations,kiln-raise-rms-norm,kiln-raise-rope,"
    "kiln-raise-attention,kiln-raise-moe)";

// Kiln -> linalg on tensors, elementwise chains fused. The weight
// outlining comes after the target's own tensor-level passes, so that the
// canonicalizer has already folded every constant it could and the
// weights the artifact stores are in the layout the kernels read.
static constexpr const char *kLowerToLinalg =
    "func.func(kiln-decompose-composite-ops,canonicalize,kiln-convert-kiln-to-linalg,"
    "kiln-fuse-elementwise,canonicalize,cse)";

// Every Kiln op's location says which kind of op it is, so that the loops
// the lowering makes of it can say what they compute (the kernel table).
static constexpr const char *kRecordOpKinds =
    "func.func(kiln-record-op-kinds-in-locations)";

// Kiln ops with CPU kernels of their own, before the reference lowering
// would see them: MoE experts as grouped matrix products over packed
// weights, int4 / int8 linears as loops that dequantize in registers,
// integer products of 8-bit activations and constant weights as int8
// dot-product kernels (vpdpbusd when kiln.cpu_features lists avx512vnni),
// regular convolutions as im2col and one matrix product (which the
// weight packing and the register blocking below then take), depthwise
// ones as loops with the output rows innermost, and attention
// as one fused loop nest (online softmax over the key blocks
// the mask kind allows, no materialized scores). The integer products are
// a module pass: it declares the intrinsic it calls.
static constexpr const char *kCpuKernelsFromKilnOps =
    "func.func(kiln-cpu-convert-moe-experts-to-grouped-matmuls,"
    "kiln-cpu-convert-convs-to-matmuls,"
    "kiln-cpu-convert-depthwise-convs-to-linalg,"
    "kiln-cpu-convert-quantized-linears-to-vector-kernels,"
    "kiln-cpu-convert-attention-to-tiled-loops),"
    "kiln-cpu-convert-integer-matmuls-to-vector-kernels";

// Weights of matmuls stored as the column panels the CPU micro-kernel
// streams (the packing happens here, at compile time, once).
static constexpr const char *kCpuPackWeights =
    "func.func(kiln-cpu-pack-matmul-weights,canonicalize)";

// Weights leave the function; with symbolic input dimensions, each dynamic
// output dimension is named after its symbol (the runtime sizes outputs
// from the inputs' shapes).
static constexpr const char *kOutlineWeights =
    "kiln-outline-weights,kiln-name-output-dims";

// Matmul-like ops as register-blocked vector code, still on tensors so
// that the accumulators become loop-carried vectors before bufferization.
static constexpr const char *kCpuVectorizeContractions =
    "func.func(kiln-cpu-vectorize-contractions)";

// Static shapes make the bare-pointer calling convention possible: every
// buffer crosses the entry as one pointer, and results become out-params.
// Sub-byte boundaries get their byte layouts first (the signature has been
// read by then), and fusion moves the unpacking into the consumers. Both
// targets start their code generation with this. A generation step's
// updated KV caches are left in their inputs' buffers instead of returned.
// A value returned twice gets a copy first: each out-param needs a buffer
// of its own.
static constexpr const char *kPrepareBoundary =
    "kiln-convert-subbyte-boundary-to-bytes,"
    "func.func(kiln-fuse-elementwise,canonicalize)";
// A loop (ONNX Loop's scf.while) may yield buffers other than the ones its
// step read: each step's values are new allocations.
static constexpr const char *kBufferizeAtBoundary =
    "kiln-flatten-empty-tensors,kiln-copy-repeated-results,"
    "one-shot-bufferize{bufferize-function-boundaries=1 "
    "allow-return-allocs-from-loops=1 "
    "function-boundary-type-conversion=identity-layout-map},"
    "kiln-write-state-results-in-place,"
    "buffer-results-to-out-params{hoist-static-allocs=1 modify-public-functions=1}";

// The vector code of kiln-cpu-vectorize-contractions: n-D transfers fully
// unrolled into 1-D ones (the default would stage them through stack
// buffers allocated inside the K loop), contractions lowered to
// broadcast-FMA outer products.
// The threads' loops (scf.forall) become OpenMP worksharing loops; the
// artifact then links LLVM's OpenMP runtime, and the runtime sets the
// thread count through it.
// The entry's buffers become views of one workspace that the runtime
// allocates once per session (kiln-plan-workspace); those inside
// scf.forall bodies, which OpenMP threads run at the same time, stay
// allocations, and the deallocation pipeline frees them (it never frees a
// view of an argument), as are buffers of a size only known at run time.
// Where it cannot tell statically which of several buffers (the values an
// scf.for or scf.while carries) alias, the deallocation pipeline calls a
// private helper taking memref<?x...> arguments, which convert-func-to-llvm
// with bare-pointer memrefs cannot convert: it is inlined (and then erased).
// Dynamic arguments then take their sizes from the symbol values the
// runtime passes last. The entry's top-level loop nests, the kernels, are
// numbered and listed with the ONNX nodes they came from, with a call of
// the profiler hook on either side (kiln-cpu-mark-kernels-for-profiling).
static constexpr const char *kCodegenPipeline =
    "kiln-plan-workspace{alignment=64 keep-dynamic-allocations=1},"
    "kiln-convert-dynamic-arguments-to-symbol-values,"
    "buffer-deallocation-pipeline,inline{default-pipeline=},"
    "convert-bufferization-to-memref,"
    "kiln-convert-strided-copies-to-linalg,"
    "func.func(convert-linalg-to-loops,kiln-expand-small-floats,"
    "convert-vector-to-scf{full-unroll=1},scf-forall-to-parallel),"
    "kiln-cpu-mark-kernels-for-profiling,"
    "convert-scf-to-openmp,func.func(canonicalize),"
    "expand-strided-metadata,lower-affine,convert-scf-to-cf,"
    "convert-math-to-funcs,"
    "func.func(convert-math-to-llvm),"
    "convert-math-to-libm,"
    "convert-vector-to-llvm{vector-contract-lowering=outerproduct},"
    "finalize-memref-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,"
    "convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},"
    "convert-openmp-to-llvm,"
    "convert-cf-to-llvm,convert-ub-to-llvm,reconcile-unrealized-casts";

// Kiln ops with CUDA kernels of their own, before the reference lowering
// would see them: attention as one flash-attention gpu.launch (online
// softmax over the key tiles the mask kind allows), int4/int8 quantized
// linears as mma.sync launches that dequantize weight tiles in registers.
// The launches read bufferization.to_buffer's of their inputs and write a
// memref.alloc, so they go through bufferization and the workspace planner
// like the kernels built after them.
static constexpr const char *kGpuKernelsFromKilnOps =
    "func.func(kiln-gpu-convert-attention-to-kernels,"
    "kiln-gpu-convert-quantized-linears-to-mma-kernels)";

// The CUDA target after the tensor level (see docs/ARCHITECTURE.md, "CUDA
// target"). Bufferized like the CPU target, but no deallocation pipeline:
// the remaining allocations become views of the workspace argument. Kernel
// generators claim their ops first; the generic path maps the rest.
static constexpr const char *kGpuKernelPipeline =
    "convert-bufferization-to-memref,canonicalize,"
    "kiln-plan-workspace{alignment=256},"
    "kiln-gpu-convert-matmuls-to-mma-kernels,"
    "kiln-gpu-map-linalg-to-kernels,"
    "convert-math-to-funcs,"
    "gpu-launch-sink-index-computations,gpu-kernel-outlining,"
    "kiln-gpu-merge-kernel-modules,canonicalize,cse";

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
  addPipeline(pm, kRecordOpKinds);
  addPipeline(pm, kCpuKernelsFromKilnOps);
  addPipeline(pm, kLowerToLinalg);
  addPipeline(pm, kCpuPackWeights);
  addPipeline(pm, kOutlineWeights);
}

void kiln::buildCpuCodegenPipeline(OpPassManager &pm) {
  addPipeline(pm, kPrepareBoundary);
  addPipeline(pm, kCpuVectorizeContractions);
  addPipeline(pm, kBufferizeAtBoundary);
  addPipeline(pm, kCodegenPipeline);
}

/// `--kiln-cpu-pipeline`: both halves of the CPU target in one, for kiln-opt.
static void buildCpuPipeline(OpPassManager &pm) {
  kiln::buildCpuTensorPipeline(pm);
  kiln::buildCpuCodegenPipeline(pm);
}

void kiln::buildGpuTensorPipeline(OpPassManager &pm) {
  addPipeline(pm, kRecordOpKinds);
  addPipeline(pm, kGpuKernelsFromKilnOps);
  addPipeline(pm, kLowerToLinalg);
  addPipeline(pm, kOutlineWeights);
}

void kiln::buildGpuKernelPipeline(OpPassManager &pm) {
  addPipeline(pm, kPrepareBoundary);
  addPipeline(pm, kBufferizeAtBoundary);
  addPipeline(pm, kGpuKernelPipeline);
}

std::optional<std::string> kiln::nvvmFeaturesForArch(llvm::StringRef arch) {
  // MLIR 22.1's NVVM target defaults to PTX 7.0 (fine for sm_8x); sm_89
  // needs PTX 7.8 and sm_90/sm_90a PTX 8.0, which must be asked for.
  if (arch == "sm_80" || arch == "sm_86" || arch == "sm_87")
    return std::string();
  if (arch == "sm_89" || arch == "sm_90" || arch == "sm_90a")
    return std::string("+ptx80");
  return std::nullopt;
}

void kiln::buildGpuCodegenPipeline(OpPassManager &pm,
                                   const GpuCodegenPipelineOptions &options) {
  std::string text;
  llvm::raw_string_ostream os(text);
  // libdevice is always named: when the toolkit is not found (no toolkit=,
  // no CUDA_HOME), MLIR 22.1 silently skips linking it and leaves calls to
  // __nv_expf & co. that only ptxas rejects.
  std::string libdevice =
      options.cudaPath + "/nvvm/libdevice/libdevice.10.bc";
  std::vector<std::string> archs(options.archs.begin(), options.archs.end());
  if (archs.empty())
    archs.push_back("sm_90a");
  // One copy of the kernel module per arch (an arch-specific body, such
  // as wgmma, must not reach another arch's NVVM target), then one target
  // per copy: @kiln_kernels for the first arch, @kiln_kernels_<arch> for
  // the others.
  os << "kiln-gpu-specialize-kernels-per-arch{archs=" << llvm::join(archs, ",")
     << "},";
  for (const std::string &arch : archs) {
    std::string features = nvvmFeaturesForArch(arch).value_or("");
    std::string module = "kiln_kernels";
    if (arch != archs.front())
      module += "_" + arch;
    os << "nvvm-attach-target{module=^" << module << "$ chip=" << arch
       << " O=3 l=" << libdevice;
    if (!features.empty())
      os << " features=" << features;
    os << "},";
  }
  // Device side. Kernels take bare pointers (one .u64 per memref); the
  // host side below must say the same (use-bare-pointers-for-kernels):
  // MLIR 22.1 does not diagnose a mismatch, the launch is silently wrong.
  // Workgroup buffers 16-byte aligned first: cp.async, ldmatrix and the
  // 16-byte stores of the kernel generators need it, and the element
  // type's alignment (2 for f16) is all the attribution says otherwise.
  os << "gpu.module(kiln-gpu-align-workgroup-buffers{alignment=16},"
        "convert-nvgpu-to-nvvm,kiln-expand-small-floats,"
        "convert-vector-to-scf,expand-strided-metadata,lower-affine,"
        "convert-scf-to-cf,"
        "convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},"
        // NVVM ops that MLIR 22.1 emits as inline PTX (wgmma.mma_async)
        // have no LLVM translation: they become llvm.inline_asm here.
        "convert-nvvm-to-llvm,"
        "canonicalize,cse,reconcile-unrealized-casts),"
     << "gpu-module-to-binary{format=isa toolkit=" << options.cudaPath << "},"
     // Host side: views, constants and launches only.
     << "expand-strided-metadata,lower-affine,convert-scf-to-cf,"
        "finalize-memref-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,"
        "convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},"
        "gpu-to-llvm{use-bare-pointers-for-kernels=1},"
        "convert-cf-to-llvm,convert-ub-to-llvm,reconcile-unrealized-casts,"
     << "kiln-gpu-convert-launches-to-runtime-calls{entry=" << options.entry
     << "}";
  addPipeline(pm, text.c_str());
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
     buildCpuPipeline},
    {"kiln-gpu-tensor-pipeline",
     "CUDA target: Kiln ops to linalg on tensors (the CPU target's tensor "
     "pipeline)",
     kiln::buildGpuTensorPipeline},
    {"kiln-gpu-kernel-pipeline",
     "CUDA target: bufferize into a workspace, map linalg to tensor-core and "
     "generic kernels, outline them into one gpu.module",
     kiln::buildGpuKernelPipeline},
};

static constexpr const char *kGpuCodegenName = "kiln-gpu-codegen-pipeline";
static constexpr const char *kGpuCodegenDescription =
    "CUDA target: kernels to PTX for every gpu-archs entry (libdevice "
    "linked), host schedule to LLVM with launches through kiln_gpu_calls";

void kiln::forEachPipeline(
    llvm::function_ref<void(llvm::StringRef name, llvm::StringRef description)>
        callback) {
  for (const PipelineInfo &pipeline : kPipelines)
    callback(pipeline.name, pipeline.description);
  callback(kGpuCodegenName, kGpuCodegenDescription);
}

void kiln::registerPipelines() {
  for (const PipelineInfo &pipeline : kPipelines)
    PassPipelineRegistration<>(pipeline.name, pipeline.description,
                               pipeline.build);
  PassPipelineRegistration<kiln::GpuCodegenPipelineOptions>(
      kGpuCodegenName, kGpuCodegenDescription, kiln::buildGpuCodegenPipeline);
}
