//===- Init.cpp - Register everything a Kiln tool needs -------------------===//

#include "kiln/Init.h"

#include "kiln/dialects/Kiln/KilnDialect.h"
#include "kiln/passes/Boundary/Passes.h"
#include "kiln/passes/CPU/Passes.h"
#include "kiln/passes/Fusion/Passes.h"
#include "kiln/passes/GPU/Passes.h"
#include "kiln/passes/Generation/Passes.h"
#include "kiln/passes/Planning/Passes.h"
#include "kiln/passes/KilnToLinalg/Passes.h"
#include "kiln/passes/Memory/Passes.h"
#include "kiln/passes/Quantization/Passes.h"
#include "kiln/passes/Raising/Passes.h"
#include "kiln/passes/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void kiln::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<kiln::KilnDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
}

std::unique_ptr<mlir::MLIRContext> kiln::createContext() {
  mlir::DialectRegistry registry;
  kiln::registerAllDialects(registry);
  auto context = std::make_unique<mlir::MLIRContext>(registry);
  context->allowUnregisteredDialects(false);
  return context;
}

void kiln::registerAllPasses() {
  mlir::registerAllPasses();
  kiln::registerKilnRaisingPasses();
  kiln::registerKilnQuantizationPasses();
  kiln::registerKilnGenerationPasses();
  kiln::registerKilnPlanningPasses();
  kiln::registerKilnKilnToLinalgPasses();
  kiln::registerKilnFusionPasses();
  kiln::registerKilnBoundaryPasses();
  kiln::registerKilnMemoryPasses();
  kiln::registerKilnCPUPasses();
  kiln::registerKilnGPUPasses();
  kiln::registerPipelines();
}
