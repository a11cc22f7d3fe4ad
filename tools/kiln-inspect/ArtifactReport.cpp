//===- ArtifactReport.cpp - Print what an artifact holds ------------------===//

#include "ArtifactReport.h"

#include "summary.h" // kiln-run's typeString: "int64[batch,seq]"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <map>

using namespace kiln::inspect;

namespace {

std::vector<std::string> symbolNames(const ArtifactInfo &info) {
  std::vector<std::string> names;
  for (const Symbol &symbol : info.symbols)
    names.push_back(symbol.name);
  return names;
}

std::string typeOf(const Tensor &tensor,
                   const std::vector<std::string> &symbols) {
  kiln_tensor_desc desc{tensor.name.c_str(), tensor.dtype,
                        uint32_t(tensor.dims.size()), tensor.dims.data()};
  return kiln::run::typeString(desc, symbols);
}

struct DtypeTotal {
  size_t count = 0;
  uint64_t bytes = 0;
};

/// Weights per dtype name, in name order.
std::map<std::string, DtypeTotal> weightsPerDtype(const ArtifactInfo &info) {
  std::map<std::string, DtypeTotal> totals;
  for (const Tensor &weight : info.weights) {
    DtypeTotal &total = totals[kiln_dtype_name(weight.dtype)];
    ++total.count;
    total.bytes += weight.bytes;
  }
  return totals;
}

uint64_t totalWeightBytes(const ArtifactInfo &info) {
  uint64_t bytes = 0;
  for (const Tensor &weight : info.weights)
    bytes += weight.bytes;
  return bytes;
}

/// "1.5 MiB": a size people read at a glance (the exact bytes go beside it).
std::string humanBytes(uint64_t bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = double(bytes);
  unsigned unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? llvm::formatv("{0} B", bytes).str()
                   : llvm::formatv("{0:f1} {1}", value, units[unit]).str();
}

void printTensors(llvm::StringRef heading, const std::vector<Tensor> &tensors,
                  const std::vector<std::string> &symbols,
                  llvm::raw_ostream &os) {
  os << heading << ":" << (tensors.empty() ? " none" : "") << "\n";
  for (const Tensor &tensor : tensors)
    os << llvm::formatv(
        "  {0,-24} {1}{2}\n", tensor.name, typeOf(tensor, symbols),
        tensor.dumpOf.empty() ? std::string()
                              : "  (dumped, node " + tensor.dumpOf + ")");
}

/// A dim as JSON: its size, or the symbol's name.
llvm::json::Value dimJson(int64_t dim, const std::vector<std::string> &symbols) {
  if (dim >= 0)
    return dim;
  return symbols[size_t(-(dim + 1))];
}

void tensorsJson(llvm::json::OStream &j, llvm::StringRef key,
                 const std::vector<Tensor> &tensors,
                 const std::vector<std::string> &symbols, bool withBytes) {
  j.attributeArray(key, [&] {
    for (const Tensor &tensor : tensors)
      j.object([&] {
        j.attribute("name", tensor.name);
        j.attribute("dtype", kiln_dtype_name(tensor.dtype));
        j.attributeArray("shape", [&] {
          for (int64_t dim : tensor.dims)
            j.value(dimJson(dim, symbols));
        });
        if (withBytes)
          j.attribute("bytes", tensor.bytes);
        if (!tensor.dumpOf.empty())
          j.attribute("dump_of", tensor.dumpOf);
      });
  });
}

/// "key": an array of `items`, each an object whose members `members` writes.
template <typename T, typename Members>
void objectArray(llvm::json::OStream &j, llvm::StringRef key,
                 const std::vector<T> &items, Members members) {
  j.attributeArray(key, [&] {
    for (const T &item : items)
      j.object([&] { members(item); });
  });
}

/// "key": an array of strings.
void stringArray(llvm::json::OStream &j, llvm::StringRef key,
                 const std::vector<std::string> &strings) {
  j.attributeArray(key, [&] {
    for (const std::string &s : strings)
      j.value(s);
  });
}

/// "grid 4x1x1 block 128x1x1 smem 0": a launch's shape ("?" for a dim
/// only the run knows).
std::string launchShape(const kiln_kernel_launch &launch) {
  auto dims = [](const uint32_t(&d)[3]) {
    auto dim = [](uint32_t v) { return v ? std::to_string(v) : "?"; };
    return dim(d[0]) + "x" + dim(d[1]) + "x" + dim(d[2]);
  };
  return "grid " + dims(launch.grid) + " block " + dims(launch.block) +
         " smem " + std::to_string(launch.shared_bytes);
}

/// The kernel table: per kernel its index (the profiler's), name (its op
/// kinds), for a CUDA launch its GPU kernel and launch shape, and the ONNX
/// nodes it came from.
void printKernels(const ArtifactInfo &info, llvm::raw_ostream &os) {
  if (info.kernels.empty())
    return;
  os << "kernels: " << info.kernels.size() << "\n";
  // The first few nodes (a fused MoE lists dozens); --json has them all.
  constexpr size_t kShown = 6;
  for (auto [i, kernel] : llvm::enumerate(info.kernels)) {
    llvm::ArrayRef<std::string> nodes = kernel.nodes;
    std::string list = nodes.empty() ? "-" : llvm::join(nodes.take_front(kShown), ", ");
    if (nodes.size() > kShown)
      list += ", ... (" + std::to_string(nodes.size()) + " in all)";
    os << llvm::formatv("  {0,-4} {1,-24} ", i, kernel.name);
    if (kernel.launch)
      os << kernel.gpuKernel << " " << launchShape(*kernel.launch) << " ";
    if (kernel.hasDetail) {
      os << llvm::formatv("code {0,-9} ", kernel.codeBytes
                                              ? humanBytes(kernel.codeBytes)
                                              : std::string("-"));
      if (!kernel.loopNest.empty())
        os << "loops " << kernel.loopNest << "  ";
    }
    os << "nodes: " << list << "\n";
  }
}

/// The kernel during which the most buffer bytes are live (the first such).
uint32_t peakKernel(const MemoryPlan &plan) {
  std::map<uint32_t, uint64_t> live;
  for (const PlannedBuffer &buffer : plan.buffers)
    for (uint32_t k = buffer.firstKernel; k <= buffer.lastKernel; ++k)
      live[k] += buffer.bytes;
  uint32_t best = 0;
  uint64_t most = 0;
  for (auto [kernel, bytes] : live)
    if (bytes > most) {
      best = kernel;
      most = bytes;
    }
  return best;
}

/// The memory plan: the workspace, the peak, and each buffer with its place
/// and the kernels it lives through.
void printMemoryPlan(const ArtifactInfo &info, llvm::raw_ostream &os) {
  if (!info.memoryPlan)
    return;
  const MemoryPlan &plan = *info.memoryPlan;
  if (plan.buffers.empty()) {
    os << llvm::formatv("memory plan: workspace {0} bytes, no planned "
                        "buffers\n",
                        plan.workspaceBytes);
    return;
  }
  os << llvm::formatv("memory plan: workspace {0} bytes, peak {1} bytes live "
                      "(during kernel {2}), {3} buffers\n",
                      plan.workspaceBytes, plan.peakBytes, peakKernel(plan),
                      plan.buffers.size());
  os << "  offset     bytes      kernels    type                 nodes\n";
  for (const PlannedBuffer &buffer : plan.buffers)
    os << llvm::formatv("  {0,-10} {1,-10} {2,-10} {3,-20} {4}\n",
                        buffer.offset, buffer.bytes,
                        std::to_string(buffer.firstKernel) + ".." +
                            std::to_string(buffer.lastKernel),
                        buffer.type, buffer.nodes.empty() ? "-" : buffer.nodes);
}

} // namespace

void kiln::inspect::printArtifactText(const ArtifactInfo &info,
                                      bool listWeights, llvm::raw_ostream &os) {
  std::vector<std::string> symbols = symbolNames(info);
  os << "artifact: " << info.path << "\n";
  os << llvm::formatv("  format version {0}, {1} bytes ({2}), checksum ok\n",
                      info.formatVersion, info.fileSize,
                      humanBytes(info.fileSize));
  os << "target: " << info.target << "\n";
  if (!info.rankSummaries.empty()) {
    os << llvm::formatv("ranks: {0} ({1}); run with mpirun -np {0}; below: "
                        "rank 0's program\n",
                        info.rankSummaries.size(), info.plan);
    for (size_t r = 0; r < info.rankSummaries.size(); ++r)
      os << llvm::formatv("  rank {0}: {1}\n", r, info.rankSummaries[r]);
  }
  if (!info.gpuArchs.empty())
    os << "gpu archs: " << llvm::join(info.gpuArchs, ", ") << "\n";
  os << "entry: " << info.entrySymbol << "\n";
  printTensors("inputs", info.inputs, symbols, os);
  printTensors("outputs", info.outputs, symbols, os);
  os << "symbols:" << (info.symbols.empty() ? " none (static shapes)" : "")
     << "\n";
  for (const Symbol &symbol : info.symbols)
    os << llvm::formatv("  {0,-24} {1}..{2}\n", symbol.name, symbol.min,
                        symbol.max);

  uint64_t weightBytes = totalWeightBytes(info);
  os << llvm::formatv("weights: {0}, {1} bytes ({2})\n", info.weights.size(),
                      weightBytes, humanBytes(weightBytes));
  for (const auto &[dtype, total] : weightsPerDtype(info))
    os << llvm::formatv("  {0,-24} {1} weights, {2} bytes\n", dtype,
                        total.count, total.bytes);
  if (listWeights)
    for (const Tensor &weight : info.weights)
      os << llvm::formatv("  - {0,-22} {1} {2} bytes\n", weight.name,
                          typeOf(weight, symbols), weight.bytes);

  os << llvm::formatv("workspace: cpu {0} bytes, gpu {1} bytes\n",
                      info.cpuWorkspaceBytes, info.gpuWorkspaceBytes);
  if (const auto &g = info.generation) {
    os << llvm::formatv("generation step: KV cache of {0} positions; tokens "
                        "{1}, positions {2}, logits {3}\n",
                        g->maxSeq, g->tokens, g->positions, g->logits);
    os << "  state (updated in place): " << llvm::join(g->stateInputs, ", ")
       << "\n";
  }
  os << "sections:\n";
  for (const Section &section : info.sections)
    os << llvm::formatv("  {0,-14} offset {1,10}  size {2,10}\n", section.kind,
                        section.offset, section.size);
  printKernels(info, os);
  printMemoryPlan(info, os);
  if (info.gpuImages.empty()) {
    os << "gpu kernels: none\n";
    return;
  }
  os << "gpu kernels: " << info.gpuKernels.size() << "\n";
  for (const std::string &kernel : info.gpuKernels)
    os << "  " << kernel << "\n";
  os << "gpu images: " << info.gpuImages.size() << "\n";
  for (const GpuImage &image : info.gpuImages)
    os << llvm::formatv("  {0,-8} {1,-5} {2} bytes\n", image.arch, image.format,
                        image.bytes);
}

void kiln::inspect::printArtifactJson(const ArtifactInfo &info,
                                      bool listWeights, llvm::raw_ostream &os) {
  std::vector<std::string> symbols = symbolNames(info);
  llvm::json::OStream j(os, 2);
  j.object([&] {
    j.attribute("kind", "artifact");
    j.attribute("path", info.path);
    j.attribute("format_version", info.formatVersion);
    j.attribute("file_bytes", info.fileSize);
    j.attribute("checksum_ok", true);
    j.attribute("target", info.target);
    stringArray(j, "gpu_archs", info.gpuArchs);
    j.attribute("entry", info.entrySymbol);
    if (!info.rankSummaries.empty())
      j.attributeObject("ranks", [&] {
        j.attribute("plan", info.plan);
        j.attributeArray("holds", [&] {
          for (const std::string &summary : info.rankSummaries)
            j.value(summary);
        });
      });
    tensorsJson(j, "inputs", info.inputs, symbols, false);
    tensorsJson(j, "outputs", info.outputs, symbols, false);
    objectArray(j, "symbols", info.symbols, [&](const Symbol &symbol) {
      j.attribute("name", symbol.name);
      j.attribute("min", symbol.min);
      j.attribute("max", symbol.max);
    });
    j.attributeObject("weights", [&] {
      j.attribute("count", int64_t(info.weights.size()));
      j.attribute("bytes", totalWeightBytes(info));
      j.attributeObject("per_dtype", [&] {
        for (const auto &[dtype, total] : weightsPerDtype(info))
          j.attributeObject(dtype, [&] {
            j.attribute("count", int64_t(total.count));
            j.attribute("bytes", total.bytes);
          });
      });
      if (listWeights)
        tensorsJson(j, "list", info.weights, symbols, true);
    });
    j.attributeObject("workspace_bytes", [&] {
      j.attribute("cpu", info.cpuWorkspaceBytes);
      j.attribute("gpu", info.gpuWorkspaceBytes);
    });
    if (const auto &g = info.generation)
      j.attributeObject("generation", [&] {
        j.attribute("max_seq", g->maxSeq);
        j.attribute("tokens", g->tokens);
        j.attribute("positions", g->positions);
        j.attribute("logits", g->logits);
        stringArray(j, "state_inputs", g->stateInputs);
      });
    objectArray(j, "sections", info.sections, [&](const Section &section) {
      j.attribute("kind", section.kind);
      j.attribute("offset", section.offset);
      j.attribute("size", section.size);
    });
    objectArray(j, "kernels", info.kernels, [&](const Kernel &kernel) {
      j.attribute("name", kernel.name);
      stringArray(j, "kinds", kernel.kinds);
      stringArray(j, "nodes", kernel.nodes);
      if (const std::optional<kiln_kernel_launch> &l = kernel.launch)
        j.attributeObject("launch", [&] {
          j.attribute("gpu_kernel", kernel.gpuKernel);
          j.attributeArray("grid", [&] {
            for (uint32_t d : l->grid)
              j.value(d);
          });
          j.attributeArray("block", [&] {
            for (uint32_t d : l->block)
              j.value(d);
          });
          j.attribute("shared_bytes", l->shared_bytes);
        });
      if (kernel.hasDetail) {
        j.attribute("code_bytes", kernel.codeBytes);
        j.attribute("loop_nest", kernel.loopNest);
      }
    });
    if (const std::optional<MemoryPlan> &plan = info.memoryPlan)
      j.attributeObject("memory_plan", [&] {
        j.attribute("workspace_bytes", plan->workspaceBytes);
        j.attribute("peak_bytes", plan->peakBytes);
        j.attribute("peak_kernel", peakKernel(*plan));
        objectArray(j, "buffers", plan->buffers,
                    [&](const PlannedBuffer &buffer) {
                      j.attribute("nodes", buffer.nodes);
                      j.attribute("type", buffer.type);
                      j.attribute("offset", buffer.offset);
                      j.attribute("bytes", buffer.bytes);
                      j.attribute("first_kernel", buffer.firstKernel);
                      j.attribute("last_kernel", buffer.lastKernel);
                    });
      });
    stringArray(j, "gpu_kernels", info.gpuKernels);
    objectArray(j, "gpu_images", info.gpuImages, [&](const GpuImage &image) {
      j.attribute("arch", image.arch);
      j.attribute("format", image.format);
      j.attribute("bytes", image.bytes);
    });
  });
  os << "\n";
}
