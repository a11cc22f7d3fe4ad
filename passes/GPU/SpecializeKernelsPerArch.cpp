//===- SpecializeKernelsPerArch.cpp - One kernel module per GPU arch ------===//
//
// Kernels whose body depends on the arch call a predicate declaration
// (kiln.gpu_arch_predicate); this pass copies gpu.module @kiln_kernels
// once per arch and resolves the predicates in each copy, so that every
// arch's image holds every kernel under the same name, with its own body.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/GPU/Passes.h"

#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_SPECIALIZEKERNELSPERARCH
#include "kiln/passes/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

bool isPredicate(func::FuncOp f) {
  return f->hasAttr(kiln::kGpuArchPredicateAttrName);
}

/// Replaces the calls of every predicate in `module` by its value on
/// `arch`, folds the branches on them, and erases the predicates.
LogicalResult specialize(gpu::GPUModuleOp module, llvm::StringRef arch) {
  SmallVector<func::FuncOp> predicates;
  for (auto f : module.getOps<func::FuncOp>())
    if (isPredicate(f))
      predicates.push_back(f);
  for (func::FuncOp predicate : predicates) {
    auto archs =
        predicate->getAttrOfType<ArrayAttr>(kiln::kGpuArchPredicateAttrName);
    if (!archs || predicate.getFunctionType().getNumInputs() != 0 ||
        predicate.getFunctionType().getResults() !=
            ArrayRef<Type>{IntegerType::get(module.getContext(), 1)} ||
        !predicate.isDeclaration())
      return predicate.emitOpError()
             << "is a GPU arch predicate, which must be a `() -> i1` "
                "declaration with an array of archs";
    bool value = llvm::any_of(archs, [&](Attribute a) {
      auto s = dyn_cast<StringAttr>(a);
      return s && s.getValue() == arch;
    });
    auto alignment = predicate->getAttrOfType<IntegerAttr>(
        kiln::kGpuWorkgroupAlignmentAttrName);
    std::optional<SymbolTable::UseRange> uses =
        SymbolTable::getSymbolUses(predicate, module);
    if (!uses)
      return module.emitOpError("has unknown symbol uses");
    for (const SymbolTable::SymbolUse &use : *uses) {
      auto call = dyn_cast<func::CallOp>(use.getUser());
      auto kernel = call ? call->getParentOfType<gpu::GPUFuncOp>() : nullptr;
      if (!kernel)
        return use.getUser()->emitOpError()
               << "uses GPU arch predicate '" << predicate.getSymName()
               << "' outside a call in a kernel";
      OpBuilder b(call);
      Value constant = arith::ConstantIntOp::create(b, call.getLoc(),
                                                    b.getI1Type(), value);
      call.getResult(0).replaceAllUsesWith(constant);
      call.erase();
      if (alignment)
        for (unsigned i = 0; i < kernel.getNumWorkgroupAttributions(); ++i) {
          auto name = LLVM::LLVMDialect::getAlignAttrName();
          auto old = dyn_cast_or_null<IntegerAttr>(
              kernel.getWorkgroupAttributionAttr(i, name));
          if (!old || old.getInt() < alignment.getInt())
            kernel.setWorkgroupAttributionAttr(i, name, alignment);
        }
    }
    predicate.erase();
  }
  // Fold the branches now: NVVM verifies the other arch's ops against the
  // target attached next.
  RewritePatternSet patterns(module.getContext());
  scf::IfOp::getCanonicalizationPatterns(patterns, module.getContext());
  return applyPatternsGreedily(module, std::move(patterns));
}

struct SpecializeKernelsPerArchPass
    : kiln::impl::SpecializeKernelsPerArchBase<SpecializeKernelsPerArchPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Host-side predicate declarations: their calls were outlined.
    for (auto f : llvm::make_early_inc_range(module.getOps<func::FuncOp>())) {
      if (!isPredicate(f))
        continue;
      if (!SymbolTable::symbolKnownUseEmpty(f, module)) {
        f.emitOpError() << "is a GPU arch predicate used outside a kernel "
                           "(run gpu-kernel-outlining first)";
        return signalPassFailure();
      }
      f.erase();
    }
    if (archs.empty()) {
      module.emitError("kiln-gpu-specialize-kernels-per-arch needs archs");
      return signalPassFailure();
    }
    SmallVector<gpu::GPUModuleOp> sources =
        llvm::to_vector(module.getOps<gpu::GPUModuleOp>());
    SymbolTable table(module);
    for (gpu::GPUModuleOp source : sources) {
      if (source->hasAttr("targets")) {
        source.emitOpError("already has targets; specialize per arch "
                           "before attaching them");
        return signalPassFailure();
      }
      SmallVector<std::pair<gpu::GPUModuleOp, std::string>> copies = {
          {source, archs.front()}};
      OpBuilder b(module.getContext());
      b.setInsertionPointAfter(source);
      for (const std::string &arch : llvm::drop_begin(archs)) {
        std::string name = (source.getName() + "_" + arch).str();
        if (table.lookup(name)) {
          source.emitOpError() << "cannot be copied for " << arch << ": '"
                               << name << "' exists";
          return signalPassFailure();
        }
        auto copy = cast<gpu::GPUModuleOp>(b.clone(*source));
        copy.setName(name);
        table.insert(copy);
        copies.push_back({copy, arch});
      }
      for (auto &[copy, arch] : copies)
        if (failed(specialize(copy, arch)))
          return signalPassFailure();
    }
  }
};

} // namespace
