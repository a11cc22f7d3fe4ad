//===- RunPasses.cpp - A pass manager set up with the user's options -----===//

#include "kiln/Target/Target.h"

mlir::LogicalResult
kiln::runPasses(mlir::ModuleOp module, const PassManagerSetup &setup,
                llvm::function_ref<void(mlir::PassManager &)> build) {
  mlir::PassManager pm(module.getContext());
  if (setup && mlir::failed(setup(pm)))
    return mlir::failure();
  build(pm);
  return pm.run(module);
}
