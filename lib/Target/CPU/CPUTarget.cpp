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
#include "kiln/Target/Target.h"
#include "kiln/artifact_format.h"
#include "kiln/passes/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;
using namespace kiln;

namespace {

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
    auto printModule = [&] {
      stopped = true;
      return context.print([&](llvm::raw_ostream &os) { module->print(os); });
    };
    context.progress("lowering to linalg");
    if (failed(context.runPipeline(module, buildCpuTensorPipeline)))
      return failure();
    if (context.stopsAfter("linalg"))
      return printModule();

    contents.target = hostTargetName();
    contents.entrySymbol = KILN_ENTRY_SYMBOL;
    if (failed(readSignature(
            module.lookupSymbol<func::FuncOp>(context.entryName), contents)))
      return failure();

    context.progress("bufferizing and lowering to LLVM");
    if (failed(context.runPipeline(module, buildCpuCodegenPipeline)))
      return failure();
    if (context.stopsAfter("llvm"))
      return printModule();

    return buildHostCode(module, context, contents.entrySymbol,
                         /*addEntryWrapper=*/true, contents.hostCode, stopped);
  }
};

} // namespace

void kiln::registerCpuTarget() { registerTarget(std::make_unique<CpuTarget>()); }
