//===- MarkKernelsForProfiling.cpp - kiln-cpu-mark-kernels-for-profiling --===//
//
// The kernel boundary of the CPU target is a top-level loop nest of the
// entry (host code generation outlines exactly those into functions). Each
// gets an id, a line of the module's kernel table (what it computes and
// which ONNX nodes it came from, read off the locations of the ops it is
// made of) and a call of the profiler hook on either side.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/CPU/Passes.h"

#include "KernelDescription.h"
#include "kiln/passes/Memory/DescribeMemoryPlan.h"

#include "kiln/dialects/Kiln/KernelNames.h"
#include "kiln/dialects/Kiln/Provenance.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace kiln {
#define GEN_PASS_DEF_MARKKERNELSFORPROFILING
#include "kiln/passes/CPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Whether the top-level `op` does work worth timing.
bool isKernel(Operation *op) {
  if (auto call = dyn_cast<func::CallOp>(op))
    return call.getCallee() != kiln::kProfileHookName;
  return op->getNumRegions() > 0 || isa<memref::CopyOp>(op);
}

/// The kernel table entry of `op`: everything its ops' locations name.
DictionaryAttr describeKernel(Operation *op) {
  kiln::Provenance p;
  op->walk([&](Operation *inner) { p.add(inner->getLoc()); });
  Builder b(op->getContext());
  auto strings = [&](const llvm::SetVector<llvm::StringRef> &values) {
    SmallVector<Attribute> attrs;
    for (llvm::StringRef v : values)
      attrs.push_back(b.getStringAttr(v));
    return b.getArrayAttr(attrs);
  };
  return b.getDictionaryAttr(
      {b.getNamedAttr("name", b.getStringAttr(kiln::kernelNameOf(
                                  p, op->getName().stripDialect()))),
       b.getNamedAttr("kinds", strings(p.kinds)),
       b.getNamedAttr("nodes", strings(p.nodes)),
       b.getNamedAttr("loop_nest",
                      b.getStringAttr(kiln::describeLoopNest(op)))});
}

struct MarkKernelsForProfilingPass
    : kiln::impl::MarkKernelsForProfilingBase<MarkKernelsForProfilingPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Operation *> kernels;
    // The memory plan, in the ids of the kernels (described before the
    // profiler calls go in); one entry function has one.
    DictionaryAttr memoryPlan;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal() || !func.isPublic())
        continue;
      size_t first = kernels.size();
      for (Block &block : func.getBody())
        for (Operation &op : block)
          if (isKernel(&op))
            kernels.push_back(&op);
      if (!memoryPlan && func.getBody().hasOneBlock())
        memoryPlan = kiln::describeMemoryPlan(
            func, ArrayRef(kernels).drop_front(first), first);
    }
    if (kernels.empty())
      return;
    if (memoryPlan)
      module->setAttr(kiln::kMemoryPlanAttrName, memoryPlan);
    OpBuilder b(module.getBodyRegion());
    auto i32 = b.getI32Type();
    auto hookType = b.getFunctionType({i32, i32}, {});
    if (!module.lookupSymbol(kiln::kProfileHookName))
      func::FuncOp::create(b, module.getLoc(), kiln::kProfileHookName, hookType)
          .setPrivate();
    SmallVector<Attribute> table;
    for (auto [id, op] : llvm::enumerate(kernels)) {
      table.push_back(describeKernel(op));
      auto call = [&](int32_t phase) {
        Location loc = op->getLoc();
        Value kernel = arith::ConstantIntOp::create(b, loc, i32, id);
        Value when = arith::ConstantIntOp::create(b, loc, i32, phase);
        func::CallOp::create(b, loc, kiln::kProfileHookName, TypeRange{},
                             ValueRange{kernel, when});
      };
      b.setInsertionPoint(op);
      call(0);
      b.setInsertionPointAfter(op);
      call(1);
    }
    module->setAttr(kiln::kKernelTableAttrName, b.getArrayAttr(table));
  }
};

} // namespace
