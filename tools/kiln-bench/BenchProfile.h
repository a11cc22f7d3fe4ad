//===- BenchProfile.h - kiln-bench --profile and --trace --------*- C++ -*-===//
//
// Turns the runtime's profile events (kiln_session_profile_get) into the
// per-kernel table, the time by category and by layer, and a Chrome trace.
// Kernels are described by the artifact's kernel table
// (kiln_model_kernel): name, op kinds, ONNX nodes.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_BENCH_BENCHPROFILE_H
#define KILN_TOOLS_KILN_BENCH_BENCHPROFILE_H

#include "kiln/runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::bench {

/// A kernel of the table, with what kiln-bench derives from it.
struct KernelDesc {
  std::string name;
  std::vector<std::string> kinds, nodes;
  /// "attention", "moe routing", "experts", "norms", "matmuls", "other".
  std::string category;
  /// The decoder layer its nodes name ("layers.3", "layer_3", "h.3",
  /// "blocks.3"), or -1.
  int layer = -1;
};

std::vector<KernelDesc> describeKernels(const kiln_model *model);

/// Prints the profile to stdout: the `rows` slowest kernels (0: all), the
/// rest summed in one line, then the time by category and by layer.
void printProfile(const std::vector<KernelDesc> &kernels,
                  const std::vector<kiln_profile_event> &events,
                  uint64_t dropped, size_t rows);

/// The same as one JSON object (kiln-bench --json --profile): runs,
/// ms_per_run, dropped_events, outside_kernels_ms_per_run, every kernel
/// that ran (id, name, ms_per_run, share, calls_per_run, category, nodes),
/// by_category and by_layer.
std::string profileJson(const std::vector<KernelDesc> &kernels,
                        const std::vector<kiln_profile_event> &events,
                        uint64_t dropped);

/// Writes the events of the first 100 runs as a Chrome trace (Trace Event
/// Format, "X" events with microsecond times); "" or the reason it could
/// not.
std::string writeTrace(const std::string &path,
                       const std::vector<KernelDesc> &kernels,
                       const std::vector<kiln_profile_event> &events);

} // namespace kiln::bench

#endif // KILN_TOOLS_KILN_BENCH_BENCHPROFILE_H
