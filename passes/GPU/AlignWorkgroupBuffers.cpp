//===- AlignWorkgroupBuffers.cpp - Least alignment of workgroup buffers ---===//
//
// Workgroup attributions are emitted aligned to their element type, but the
// kernels access them with 16-byte cp.async, ldmatrix and vector stores:
// this pass states the alignment those need on every attribution.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/GPU/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "llvm/Support/MathExtras.h"

namespace kiln {
#define GEN_PASS_DEF_ALIGNWORKGROUPBUFFERS
#include "kiln/passes/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct AlignWorkgroupBuffersPass
    : kiln::impl::AlignWorkgroupBuffersBase<AlignWorkgroupBuffersPass> {
  using Base::Base;

  void runOnOperation() override {
    gpu::GPUModuleOp module = getOperation();
    if (alignment <= 0 || !llvm::isPowerOf2_64(alignment)) {
      module.emitError() << "kiln-gpu-align-workgroup-buffers expects an "
                            "alignment that is a power of two, found "
                         << static_cast<int64_t>(alignment);
      return signalPassFailure();
    }
    Builder b(module.getContext());
    StringRef name = LLVM::LLVMDialect::getAlignAttrName();
    for (auto kernel : module.getOps<gpu::GPUFuncOp>())
      for (unsigned i = 0; i < kernel.getNumWorkgroupAttributions(); ++i) {
        auto old = dyn_cast_or_null<IntegerAttr>(
            kernel.getWorkgroupAttributionAttr(i, name));
        if (!old || old.getInt() < alignment)
          kernel.setWorkgroupAttributionAttr(i, name,
                                             b.getI64IntegerAttr(alignment));
      }
  }
};

} // namespace
