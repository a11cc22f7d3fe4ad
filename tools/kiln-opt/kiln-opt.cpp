//===- kiln-opt.cpp - Run Kiln passes and pipelines on .mlir files --------===//
//
// mlir-opt with the Kiln dialect and passes registered: every flag of
// mlir-opt works (`--mlir-print-ir-after-all`, `--mlir-timing`,
// `--split-input-file`, `--verify-diagnostics`, ...). `--help` ends with
// Kiln's passes grouped by stage, in the order of the data flow.
//
//===----------------------------------------------------------------------===//

#include "kiln/Init.h"
#include "kiln/passes/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"

#include <string>

namespace {

void appendEntry(std::string &text, llvm::StringRef flag,
                 llvm::StringRef description) {
  text += llvm::formatv("    --{0,-42} {1}\n", flag, description).str();
}

/// The passes of each stage (from its Passes.td, see
/// include/kiln/passes/CMakeLists.txt), then the pipelines.
std::string passesByStage() {
  std::string text = "\nKiln's passes by stage, in the order of the data "
                     "flow (docs/ARCHITECTURE.md):\n";
  auto appendStage = [&](llvm::StringRef stage, llvm::StringRef summary,
                         llvm::StringRef flags) {
    text += llvm::formatv("\n  {0}: {1}\n", stage, summary).str();
    llvm::SmallVector<llvm::StringRef> names;
    flags.split(names, ' ', -1, /*KeepEmpty=*/false);
    for (llvm::StringRef name : names) {
      const mlir::PassInfo *info = mlir::PassInfo::lookup(name);
      appendEntry(text, name, info ? info->getPassDescription() : "");
    }
  };
#define KILN_PASS_STAGE(stage, summary, flags) appendStage(stage, summary, flags);
#include "kiln/passes/PassStages.inc"
#undef KILN_PASS_STAGE
  text += "\n  Pipelines (kiln-compile runs the same ones):\n";
  kiln::forEachPipeline([&](llvm::StringRef name, llvm::StringRef description) {
    appendEntry(text, name, description);
  });
  return text;
}

} // namespace

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  kiln::registerAllDialects(registry);
  kiln::registerAllPasses();
  std::string stages = passesByStage();
  llvm::cl::extrahelp stageHelp(stages);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "Kiln optimizer driver\n", registry));
}
