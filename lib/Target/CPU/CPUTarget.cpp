//===- CPUTarget.cpp - The `cpu` target -----------------------------------===//
//
// kiln-cpu-tensor-pipeline -> signature -> kiln-cpu-codegen-pipeline ->
// host code, with --emit stops after linalg, the LLVM dialect and LLVM IR.
// The pipelines are the registered ones, so kiln-opt reproduces any stage.
//
//===----------------------------------------------------------------------===//

#include "kiln/Target/CPU/CPUTarget.h"

#include "kiln/Artifact/Signature.h"
#include "kiln/Target/HostCodegen.h"
#include "kiln/Target/KernelTable.h"
#include "kiln/Target/Target.h"
#include "kiln/artifact_format.h"
#include "kiln/passes/CPU/Passes.h"
#include "kiln/passes/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;
using namespace kiln;

namespace {

/// The features of `--cpu` that the CPU passes choose instructions by, as
/// the module's kCpuFeaturesAttrName (an unknown CPU is reported here, by
/// the same rule host code generation applies).
LogicalResult recordCpuFeatures(ModuleOp module, const std::string &cpu) {
  SmallVector<llvm::StringRef> consulted(std::begin(kConsultedCpuFeatures),
                                         std::end(kConsultedCpuFeatures));
  llvm::Expected<std::vector<std::string>> features =
      cpuFeaturesOf(cpu, consulted);
  if (!features)
    return emitError(module.getLoc(), llvm::toString(features.takeError()));
  Builder b(module.getContext());
  SmallVector<Attribute> names;
  for (const std::string &feature : *features)
    names.push_back(b.getStringAttr(feature));
  module->setAttr(kCpuFeaturesAttrName, b.getArrayAttr(names));
  return success();
}

class CpuTarget final : public Target {
public:
  llvm::StringRef getName() const override { return "cpu"; }
  llvm::StringRef getDescription() const override {
    return "host code for this machine's architecture (--cpu picks the CPU)";
  }
  llvm::ArrayRef<EmitStageInfo> getEmitStages() const override {
    static const EmitStageInfo stages[] = {
        {"linalg", "linalg/tensor IR after fusion, weights outlined"},
        {"llvm", "MLIR's LLVM dialect"},
        {"llvm-ir", "optimized LLVM IR, with the exported entry point"},
    };
    return stages;
  }

  LogicalResult compile(ModuleOp module, TargetContext &context,
                        ArtifactContents &contents,
                        bool &stopped) const override {
    if (failed(recordCpuFeatures(module, context.options.cpu)))
      return failure();
    LogicalResult lowered =
        lowerToLinalg(module, context, buildCpuTensorPipeline, contents, stopped);
    if (failed(lowered) || stopped)
      return lowered;
    contents.target = hostTargetName();
    lowered = runStage(module, context, "bufferizing and lowering to LLVM",
                       buildCpuCodegenPipeline, "llvm", stopped);
    if (failed(lowered) || stopped)
      return lowered;
    // kiln-plan-workspace's plan, kept on the entry through the lowering:
    // the runtime allocates that much once and passes it last in buffers.
    if (Operation *entry = module.lookupSymbol(context.entryName))
      if (auto bytes = entry->getAttrOfType<IntegerAttr>("kiln.workspace_bytes"))
        contents.workspaceBytes = bytes.getInt();
    contents.kernels = readKernelTable(module);
    contents.memoryPlan = readMemoryPlan(module);

    std::vector<uint64_t> codeBytes;
    if (failed(buildHostCode(module, context, contents.entrySymbol,
                             /*addEntryWrapper=*/true, contents.hostCode,
                             stopped, &codeBytes)))
      return failure();
    for (size_t k = 0; k < codeBytes.size() && k < contents.kernels.size(); ++k)
      contents.kernels[k].codeBytes = codeBytes[k];
    return success();
  }
};

} // namespace

void kiln::registerCpuTarget() { registerTarget(std::make_unique<CpuTarget>()); }
