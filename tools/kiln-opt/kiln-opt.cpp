//===- kiln-opt.cpp - Run Kiln passes and pipelines on .mlir files --------===//
//
// mlir-opt with the Kiln dialect and passes registered: every flag of
// mlir-opt works (`--mlir-print-ir-after-all`, `--mlir-timing`,
// `--split-input-file`, `--verify-diagnostics`, ...).
//
//===----------------------------------------------------------------------===//

#include "kiln/Init.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  kiln::registerAllDialects(registry);
  kiln::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "Kiln optimizer driver\n", registry));
}
