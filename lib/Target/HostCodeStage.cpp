//===- HostCodeStage.cpp - The host code step every target shares --------===//

#include "kiln/Target/HostCodegen.h"
#include "kiln/Target/Target.h"

using namespace mlir;
using namespace kiln;

LogicalResult kiln::buildHostCode(ModuleOp module, TargetContext &context,
                                  llvm::StringRef entrySymbol,
                                  bool addEntryWrapper, std::string &hostCode,
                                  bool &stopped) {
  HostCodegenOptions host;
  host.cpu = context.options.cpu;
  host.optLevel = context.options.optLevel;
  host.linker = context.options.linker;
  host.entryName = context.entryName;
  host.entrySymbol = entrySymbol.str();
  host.addEntryWrapper = addEntryWrapper;
  std::string error;
  if (context.stopsAfter("llvm-ir")) {
    context.progress("generating LLVM IR");
    std::string ir;
    llvm::raw_string_ostream irStream(ir);
    if (!emitHostCode(module, host, &irStream, hostCode, error))
      return emitError(module.getLoc()) << error;
    stopped = true;
    return context.print([&](llvm::raw_ostream &os) { os << ir; });
  }
  context.progress("generating and linking host code");
  if (!emitHostCode(module, host, nullptr, hostCode, error))
    return emitError(module.getLoc()) << error;
  return success();
}
