//===- MergeKernelModules.cpp - One gpu.module with every kernel ----------===//
//
// gpu-kernel-outlining makes a gpu.module per kernel; the artifact has one
// image per architecture. Upstream has no pass that merges gpu.modules.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/GPU/Passes.h"

#include "mlir/IR/SymbolTable.h"

namespace kiln {
#define GEN_PASS_DEF_MERGEKERNELMODULES
#include "kiln/passes/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kMergedName = "kiln_kernels";

struct MergeKernelModulesPass
    : kiln::impl::MergeKernelModulesBase<MergeKernelModulesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> sources =
        llvm::to_vector(module.getOps<gpu::GPUModuleOp>());
    if (sources.empty())
      return;
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    b.setInsertionPoint(sources.front());
    auto merged = gpu::GPUModuleOp::create(b, module.getLoc(), kMergedName);
    // A name that the module's symbol table has not given out yet.
    SymbolTable mergedTable(merged);

    // (old module, old kernel) -> new kernel name.
    llvm::DenseMap<std::pair<StringAttr, StringAttr>, StringAttr> renamed;
    for (gpu::GPUModuleOp source : sources) {
      SymbolTable sourceTable(source);
      for (Operation &op : llvm::make_early_inc_range(*source.getBody())) {
        auto name = op.getAttrOfType<StringAttr>(
            SymbolTable::getSymbolAttrName());
        if (!name)
          continue;
        StringAttr newName = name;
        for (unsigned i = 0; mergedTable.lookup(newName) ||
                             (newName != name && sourceTable.lookup(newName));
             ++i)
          newName = b.getStringAttr(name.getValue() + "_" + Twine(i));
        if (newName != name) {
          if (failed(SymbolTable::replaceAllSymbolUses(&op, newName, source))) {
            op.emitOpError("cannot be renamed to merge kernel modules");
            return signalPassFailure();
          }
          SymbolTable::setSymbolName(&op, newName);
        }
        renamed[{source.getSymNameAttr(), name}] = newName;
        op.moveBefore(merged.getBody(), merged.getBody()->end());
        mergedTable.insert(&op);
      }
    }

    module.walk([&](gpu::LaunchFuncOp launch) {
      auto it = renamed.find(
          {launch.getKernelModuleName(), launch.getKernelName()});
      if (it == renamed.end())
        return;
      launch.setKernelAttr(SymbolRefAttr::get(
          b.getStringAttr(kMergedName), {FlatSymbolRefAttr::get(it->second)}));
    });
    for (gpu::GPUModuleOp source : sources)
      source.erase();
  }
};

} // namespace
