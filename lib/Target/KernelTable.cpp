//===- KernelTable.cpp - The module's kernel table, for the artifact -----===//

#include "kiln/Target/KernelTable.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;

namespace {

std::vector<std::string> stringsOf(DictionaryAttr entry, llvm::StringRef key) {
  std::vector<std::string> values;
  if (auto list = entry.getAs<ArrayAttr>(key))
    for (auto value : list.getAsValueRange<StringAttr>())
      values.push_back(value.str());
  return values;
}

/// Three dims of `key` into `out` (0 where the table has none).
void dimsOf(DictionaryAttr entry, llvm::StringRef key, uint32_t (&out)[3]) {
  auto list = entry.getAs<DenseI64ArrayAttr>(key);
  for (unsigned i = 0; i < 3; ++i)
    out[i] = list && list.size() == 3 && list[i] > 0 && list[i] <= UINT32_MAX
                 ? uint32_t(list[i])
                 : 0;
}

/// The launch of `entry`, if it names a kernel of `gpuKernels`.
std::optional<kiln::KernelLaunch>
launchOf(DictionaryAttr entry, llvm::ArrayRef<std::string> gpuKernels) {
  auto kernel = entry.getAs<StringAttr>("kernel");
  if (!kernel)
    return std::nullopt;
  const auto *found = llvm::find(gpuKernels, kernel.getValue().str());
  if (found == gpuKernels.end())
    return std::nullopt;
  kiln::KernelLaunch launch;
  launch.gpuKernel = uint32_t(found - gpuKernels.begin());
  dimsOf(entry, "grid", launch.grid);
  dimsOf(entry, "block", launch.block);
  if (auto shared = entry.getAs<IntegerAttr>("shared_bytes"))
    launch.sharedBytes = uint32_t(shared.getInt());
  return launch;
}

} // namespace

std::vector<kiln::KernelSignature>
kiln::readKernelTable(ModuleOp module, llvm::ArrayRef<std::string> gpuKernels) {
  std::vector<KernelSignature> kernels;
  auto table = module->getAttrOfType<ArrayAttr>(kKernelTableAttrName);
  if (!table)
    return kernels;
  for (auto entry : table.getAsRange<DictionaryAttr>()) {
    auto name = entry.getAs<StringAttr>("name");
    kernels.push_back({name ? name.str() : "kernel", stringsOf(entry, "kinds"),
                       stringsOf(entry, "nodes"), launchOf(entry, gpuKernels)});
    if (auto nest = entry.getAs<StringAttr>("loop_nest"))
      kernels.back().loopNest = nest.str();
  }
  return kernels;
}

std::optional<kiln::MemoryPlanSignature> kiln::readMemoryPlan(ModuleOp module) {
  auto plan = module->getAttrOfType<DictionaryAttr>(kMemoryPlanAttrName);
  if (!plan)
    return std::nullopt;
  auto integer = [](DictionaryAttr d, llvm::StringRef key) -> int64_t {
    auto value = d.getAs<IntegerAttr>(key);
    return value ? value.getInt() : 0;
  };
  auto string = [](DictionaryAttr d, llvm::StringRef key) {
    auto value = d.getAs<StringAttr>(key);
    return value ? value.str() : std::string();
  };
  MemoryPlanSignature out;
  out.workspaceBytes = integer(plan, "workspace_bytes");
  out.peakBytes = integer(plan, "peak_bytes");
  if (auto buffers = plan.getAs<ArrayAttr>("buffers"))
    for (auto buffer : buffers.getAsRange<DictionaryAttr>())
      out.buffers.push_back({string(buffer, "nodes"), string(buffer, "type"),
                             uint64_t(integer(buffer, "offset")),
                             uint64_t(integer(buffer, "bytes")),
                             uint32_t(integer(buffer, "first")),
                             uint32_t(integer(buffer, "last"))});
  return out;
}
