//===- LaunchTable.cpp - The CUDA entry's launches as its kernel table ---===//
//
// The kernel boundary of the CUDA target is a launch: the runtime times
// each one with CUDA events and names the Nth launch of a run row N of
// this table. So a row is a launch (not a kernel symbol), in launch order,
// and a table is only written when every launch runs exactly once a run.
// It only reads the IR (the CPU target's kiln-cpu-mark-kernels-for-
// profiling also inserts the profiler's calls, so it is a pass).
//
//===----------------------------------------------------------------------===//

#include "kiln/Target/CUDA/LaunchTable.h"

#include "kiln/passes/Memory/DescribeMemoryPlan.h"

#include "kiln/dialects/Kiln/KernelNames.h"
#include "kiln/dialects/Kiln/Provenance.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Object/ELFObjectFile.h"

using namespace mlir;

namespace {

/// A dim as the table records it: its constant value, 0 when it has none.
int64_t constantDim(Value v) {
  std::optional<int64_t> c = getConstantIntValue(v);
  return c && *c > 0 ? *c : 0;
}

/// Bytes of the kernel's workgroup buffers (static shared memory), 0 for
/// buffers without a static size.
int64_t workgroupBytes(gpu::GPUFuncOp kernel) {
  int64_t total = 0;
  for (BlockArgument buffer : kernel.getWorkgroupAttributions()) {
    auto type = dyn_cast<MemRefType>(buffer.getType());
    if (!type || !type.hasStaticShape() ||
        !type.getElementType().isIntOrFloat())
      continue;
    total += type.getNumElements() *
             llvm::divideCeil(type.getElementTypeBitWidth(), 8);
  }
  return total;
}

/// The table row of `launch`: what the launch and its kernel's ops name.
DictionaryAttr describeLaunch(gpu::LaunchFuncOp launch) {
  kiln::Provenance p;
  p.add(launch.getLoc());
  auto kernel = SymbolTable::lookupNearestSymbolFrom<gpu::GPUFuncOp>(
      launch, launch.getKernel());
  int64_t shared = 0;
  if (kernel) {
    kernel.walk([&](Operation *op) { p.add(op->getLoc()); });
    shared = workgroupBytes(kernel);
  }
  if (Value dynamic = launch.getDynamicSharedMemorySize())
    shared += constantDim(dynamic);
  Builder b(launch.getContext());
  auto strings = [&](const llvm::SetVector<llvm::StringRef> &values) {
    SmallVector<Attribute> attrs;
    for (llvm::StringRef v : values)
      attrs.push_back(b.getStringAttr(v));
    return b.getArrayAttr(attrs);
  };
  auto dims = [&](gpu::KernelDim3 d) {
    return b.getDenseI64ArrayAttr(
        {constantDim(d.x), constantDim(d.y), constantDim(d.z)});
  };
  StringRef name = launch.getKernelName().getValue();
  return b.getDictionaryAttr(
      {b.getNamedAttr("name", b.getStringAttr(kiln::kernelNameOf(p, "kernel"))),
       b.getNamedAttr("kinds", strings(p.kinds)),
       b.getNamedAttr("nodes", strings(p.nodes)),
       b.getNamedAttr("kernel", b.getStringAttr(name)),
       b.getNamedAttr("grid", dims(launch.getGridSizeOperandValues())),
       b.getNamedAttr("block", dims(launch.getBlockSizeOperandValues())),
       b.getNamedAttr("shared_bytes", b.getI64IntegerAttr(shared))});
}

} // namespace

void kiln::recordLaunchTable(ModuleOp module) {
  SmallVector<gpu::LaunchFuncOp> launches;
  bool onceEach = true;
  SmallVector<func::FuncOp> entries;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal() || !func.isPublic())
      continue;
    entries.push_back(func);
    // In the function's only block, a launch runs once a run; anywhere
    // else (a loop, a branch, a CFG) it may not.
    func.walk([&](gpu::LaunchFuncOp launch) {
      onceEach &= func.getBody().hasOneBlock() &&
                  launch->getBlock() == &func.getBody().front();
      launches.push_back(launch);
    });
  }
  if (launches.empty() || !onceEach)
    return;
  SmallVector<Attribute> table;
  for (gpu::LaunchFuncOp launch : launches)
    table.push_back(describeLaunch(launch));
  module->setAttr(kKernelTableAttrName,
                  ArrayAttr::get(module.getContext(), table));
  // The workspace's buffers in launch terms, for one entry function.
  SmallVector<Operation *> kernels(launches.begin(), launches.end());
  if (entries.size() == 1)
    if (DictionaryAttr plan = describeMemoryPlan(entries.front(), kernels, 0))
      module->setAttr(kMemoryPlanAttrName, plan);
}

void kiln::addLaunchCodeBytes(const GpuCode &code,
                              std::vector<KernelSignature> &kernels) {
  auto cubin = llvm::find_if(code.images, [](const GpuImage &image) {
    return image.format == GpuImage::Cubin;
  });
  if (cubin == code.images.end())
    return;
  llvm::Expected<std::unique_ptr<llvm::object::ObjectFile>> file =
      llvm::object::ObjectFile::createObjectFile(
          llvm::MemoryBufferRef(cubin->bytes, "cubin"));
  if (!file) {
    llvm::consumeError(file.takeError());
    return;
  }
  auto *elf = dyn_cast<llvm::object::ELFObjectFileBase>(file->get());
  if (!elf)
    return;
  llvm::StringMap<uint64_t> sizes;
  for (llvm::object::ELFSymbolRef symbol : elf->symbols()) {
    llvm::Expected<StringRef> name = symbol.getName();
    if (!name) {
      llvm::consumeError(name.takeError());
      continue;
    }
    if (symbol.getELFType() == llvm::ELF::STT_FUNC)
      sizes[*name] = symbol.getSize();
  }
  for (KernelSignature &kernel : kernels)
    if (kernel.launch && kernel.launch->gpuKernel < code.kernels.size())
      kernel.codeBytes = sizes.lookup(code.kernels[kernel.launch->gpuKernel]);
}
