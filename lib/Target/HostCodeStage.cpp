//===- HostCodeStage.cpp - The steps every target shares ------------------===//

#include "kiln/Artifact/Signature.h"
#include "kiln/Target/HostCodegen.h"
#include "kiln/Target/Target.h"
#include "kiln/artifact_format.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;
using namespace kiln;

LogicalResult kiln::printStage(ModuleOp module, TargetContext &context,
                               bool &stopped) {
  stopped = true;
  return context.print([&](llvm::raw_ostream &os) { module->print(os); });
}

LogicalResult kiln::runStage(ModuleOp module, TargetContext &context,
                             llvm::StringRef step,
                             void (*pipeline)(OpPassManager &),
                             llvm::StringRef stage, bool &stopped) {
  context.progress(step);
  if (failed(context.runPipeline(module, pipeline)))
    return failure();
  if (context.stopsAfter(stage))
    return printStage(module, context, stopped);
  return success();
}

LogicalResult kiln::lowerToLinalg(ModuleOp module, TargetContext &context,
                                  void (*tensorPipeline)(OpPassManager &),
                                  ArtifactContents &contents, bool &stopped) {
  LogicalResult lowered = runStage(module, context, "lowering to linalg",
                                   tensorPipeline, "linalg", stopped);
  if (failed(lowered) || stopped)
    return lowered;
  contents.entrySymbol = KILN_ENTRY_SYMBOL;
  return readSignature(module.lookupSymbol<func::FuncOp>(context.entryName),
                       contents);
}

LogicalResult kiln::buildHostCode(ModuleOp module, TargetContext &context,
                                  llvm::StringRef entrySymbol,
                                  bool addEntryWrapper, std::string &hostCode,
                                  bool &stopped,
                                  std::vector<uint64_t> *kernelCodeBytes) {
  HostCodegenOptions host;
  host.cpu = context.options.cpu;
  host.optLevel = context.options.optLevel;
  host.linker = context.options.linker;
  host.jobs = context.options.jobs;
  host.entryName = context.entryName;
  host.entrySymbol = entrySymbol.str();
  host.addEntryWrapper = addEntryWrapper;
  if (context.stopsAfter("llvm-ir")) {
    context.progress("generating LLVM IR");
    std::string ir;
    llvm::raw_string_ostream irStream(ir);
    if (failed(emitHostCode(module, host, &irStream, hostCode)))
      return failure();
    stopped = true;
    return context.print([&](llvm::raw_ostream &os) { os << ir; });
  }
  context.progress("generating and linking host code");
  return emitHostCode(module, host, nullptr, hostCode, kernelCodeBytes);
}
