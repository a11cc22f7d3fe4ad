//===- CUDATarget.cpp - The `cuda` target ---------------------------------===//
//
// kiln-gpu-tensor-pipeline -> signature -> kiln-gpu-kernel-pipeline
// (workspace, kernels, outlining) -> kiln-gpu-codegen-pipeline (PTX per
// arch in a gpu.binary, host schedule in LLVM) -> ptxas per arch -> host
// shared object. The artifact holds, per arch, the cubin and the PTX.
//
//===----------------------------------------------------------------------===//

#include "kiln/Target/CUDA/CUDATarget.h"

#include "kiln/Target/CUDA/LaunchTable.h"

#include "kiln/Artifact/Signature.h"
#include "kiln/Target/HostCodegen.h"
#include "kiln/Target/KernelTable.h"
#include "kiln/Target/Target.h"
#include "kiln/artifact_format.h"
#include "kiln/dialects/Kiln/SymbolicDims.h"
#include "kiln/passes/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"

using namespace mlir;
using namespace kiln;

namespace {

/// The toolkit files the target needs, or an error naming what is missing.
LogicalResult checkToolkit(ModuleOp module, llvm::StringRef cudaPath) {
  for (const char *file : {"/bin/ptxas", "/nvvm/libdevice/libdevice.10.bc"})
    if (!llvm::sys::fs::exists(cudaPath + file))
      return emitError(module.getLoc())
             << "the CUDA toolkit at '" << cudaPath << "' has no " << (file + 1)
             << " (install the CUDA toolkit, or point --cuda-path at it)";
  return success();
}

/// Assembles `ptx` for `arch` with the toolkit's ptxas.
LogicalResult runPtxas(ModuleOp module, llvm::StringRef cudaPath,
                       llvm::StringRef arch, llvm::StringRef ptx,
                       std::string &cubin) {
  llvm::SmallString<128> ptxPath, cubinPath, logPath;
  int fd;
  if (llvm::sys::fs::createTemporaryFile("kiln", "ptx", fd, ptxPath) ||
      llvm::sys::fs::createTemporaryFile("kiln", "cubin", cubinPath) ||
      llvm::sys::fs::createTemporaryFile("kiln", "log", logPath))
    return emitError(module.getLoc()) << "cannot create temporary files";
  llvm::FileRemover removePtx(ptxPath), removeCubin(cubinPath),
      removeLog(logPath);
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << ptx;
  }
  std::string ptxas = (cudaPath + "/bin/ptxas").str();
  std::string archFlag = ("-arch=" + arch).str();
  llvm::SmallVector<llvm::StringRef> args = {ptxas,   archFlag, "-O3",
                                             ptxPath, "-o",     cubinPath};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, logPath.str(),
                                                logPath.str()};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects, 0, 0,
                                     &message);
  if (rc != 0) {
    std::string log;
    if (auto buffer = llvm::MemoryBuffer::getFile(logPath))
      log = (*buffer)->getBuffer().trim().str();
    return emitError(module.getLoc()) << "ptxas rejected the PTX for " << arch
                                      << ": " << (log.empty() ? message : log);
  }
  auto buffer = llvm::MemoryBuffer::getFile(cubinPath, /*IsText=*/false);
  if (!buffer)
    return emitError(module.getLoc()) << "cannot read ptxas's output";
  cubin = (*buffer)->getBuffer().str();
  return success();
}

class CudaTarget final : public Target {
public:
  llvm::StringRef getName() const override { return "cuda"; }
  llvm::StringRef getDescription() const override {
    return "NVIDIA GPUs: PTX and cubin for each --gpu-arch, launched by host "
           "code through the runtime (--cuda-path names the toolkit)";
  }
  llvm::ArrayRef<EmitStageInfo> getEmitStages() const override {
    static const EmitStageInfo stages[] = {
        {"linalg", "linalg/tensor IR after fusion, weights outlined"},
        {"gpu", "bufferized host schedule with its kernels outlined into "
                "one gpu.module"},
        {"llvm", "the host schedule in MLIR's LLVM dialect, with the "
                 "kernels' PTX in a gpu.binary"},
        {"ptx", "the PTX of the first --gpu-arch"},
        {"llvm-ir", "optimized LLVM IR of the host schedule"},
    };
    return stages;
  }

  /// The CUDA kernels and the runtime's CUDA backend take static shapes.
  static LogicalResult checkStaticShapes(ModuleOp module) {
    for (auto func : module.getOps<func::FuncOp>())
      if (auto ranges = func->getAttrOfType<DictionaryAttr>(kDimRangesAttr))
        if (!ranges.empty())
          return emitError(module.getLoc())
                 << "--target cuda compiles static shapes only; the model "
                    "has symbolic dimensions ("
                 << llvm::join(llvm::map_range(ranges,
                                               [](NamedAttribute a) {
                                                 return a.getName().str();
                                               }),
                               ", ")
                 << "): pin each with --dim NAME=N or give --input-shape";
    return success();
  }

  /// The --gpu-arch list (sm_90a when none is given), each one checked.
  static FailureOr<std::vector<std::string>>
  gpuArchs(ModuleOp module, const TargetContext &context) {
    std::vector<std::string> archs = context.options.gpuArchs;
    if (archs.empty())
      archs.push_back("sm_90a");
    llvm::StringSet<> seen;
    for (const std::string &arch : archs) {
      if (!nvvmFeaturesForArch(arch))
        return emitError(module.getLoc())
               << "unsupported --gpu-arch '" << arch
               << "' (supported: sm_80, sm_86, sm_87, sm_89, sm_90, sm_90a)";
      if (!seen.insert(arch).second)
        return emitError(module.getLoc())
               << "--gpu-arch lists '" << arch << "' twice";
    }
    return archs;
  }

  LogicalResult compile(ModuleOp module, TargetContext &context,
                        ArtifactContents &contents,
                        bool &stopped) const override {
    FailureOr<std::vector<std::string>> checkedArchs =
        gpuArchs(module, context);
    if (failed(checkedArchs))
      return failure();
    std::vector<std::string> archs = std::move(*checkedArchs);
    if (failed(checkStaticShapes(module)))
      return failure();
    const std::string &cudaPath = context.options.cudaPath;
    if (failed(checkToolkit(module, cudaPath)))
      return failure();

    LogicalResult lowered = lowerToLinalg(
        module, context, buildGpuTensorPipeline, contents, stopped);
    if (failed(lowered) || stopped)
      return lowered;
    contents.target = "cuda-" + llvm::join(archs, ",");
    lowered = runStage(module, context, "mapping linalg to kernels",
                       buildGpuKernelPipeline, "gpu", stopped);
    if (failed(lowered) || stopped)
      return lowered;
    recordLaunchTable(module);
    GpuCode code;
    auto entry = module.lookupSymbol<func::FuncOp>(context.entryName);
    if (auto bytes = entry->getAttrOfType<IntegerAttr>("kiln.workspace_bytes"))
      code.workspaceBytes = bytes.getInt();

    context.progress("generating PTX and the host schedule");
    GpuCodegenPipelineOptions options;
    options.archs = archs;
    options.cudaPath = cudaPath;
    options.entry = context.entryName;
    if (failed(runPasses(module, context.configure, [&](PassManager &pm) {
          buildGpuCodegenPipeline(pm, options);
        })))
      return failure();
    if (context.stopsAfter("llvm"))
      return printStage(module, context, stopped);

    // The PTX of every arch, from the gpu.binary of each arch's copy of
    // the kernel module (kiln-gpu-specialize-kernels-per-arch; none when
    // the model launches nothing).
    llvm::StringMap<std::string> ptxOf;
    SmallVector<gpu::BinaryOp> binaries =
        llvm::to_vector(module.getOps<gpu::BinaryOp>());
    for (gpu::BinaryOp binary : binaries)
      for (Attribute a : binary.getObjectsAttr()) {
        auto object = cast<gpu::ObjectAttr>(a);
        auto target = dyn_cast<NVVM::NVVMTargetAttr>(object.getTarget());
        if (!target || object.getFormat() != gpu::CompilationTarget::Assembly)
          return emitError(binary.getLoc()) << "expected PTX objects";
        if (!ptxOf.try_emplace(target.getChip(),
                               object.getObject().getValue().str())
                 .second)
          return emitError(binary.getLoc())
                 << "expected one PTX object for " << target.getChip()
                 << ", found several (one kernel module per arch)";
      }
    if (!binaries.empty())
      for (const std::string &arch : archs)
        if (!ptxOf.count(arch))
          return emitError(module.getLoc())
                 << "no PTX was generated for " << arch;
    if (context.stopsAfter("ptx")) {
      stopped = true;
      std::string ptx = ptxOf.lookup(archs.front());
      return context.print([&](llvm::raw_ostream &os) { os << ptx; });
    }
    if (!binaries.empty()) {
      for (const std::string &arch : archs) {
        context.progress("assembling " + arch + " with ptxas");
        GpuImage cubin, ptx;
        cubin.arch = ptx.arch = arch;
        cubin.format = GpuImage::Cubin;
        ptx.format = GpuImage::Ptx;
        ptx.bytes = ptxOf.lookup(arch);
        if (failed(runPtxas(module, cudaPath, arch, ptx.bytes, cubin.bytes)))
          return failure();
        code.images.push_back(std::move(cubin));
        code.images.push_back(std::move(ptx));
      }
    }
    if (auto names = module->getAttrOfType<ArrayAttr>("kiln.gpu_kernels"))
      for (Attribute name : names)
        code.kernels.push_back(cast<StringAttr>(name).str());
    // One row per launch (recordLaunchTable, above), each naming its
    // kernel by GPU_CODE's numbering.
    contents.kernels = readKernelTable(module, code.kernels);
    addLaunchCodeBytes(code, contents.kernels);
    contents.memoryPlan = readMemoryPlan(module);
    // The objects are in the artifact; translation must not embed them.
    for (gpu::BinaryOp binary : binaries)
      binary.erase();
    contents.gpuCode = std::move(code);

    return buildHostCode(module, context, contents.entrySymbol,
                         /*addEntryWrapper=*/false, contents.hostCode, stopped);
  }
};

} // namespace

void kiln::registerCudaTarget() {
  registerTarget(std::make_unique<CudaTarget>());
}
