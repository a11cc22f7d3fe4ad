//===- Machine.h - Devices and links the planner costs against --*- C++ -*-===//
//
// A machine description: what one device computes and holds, and how fast
// devices talk inside a node and between nodes. Built-in presets
// (h100-nvlink, h100-pcie, cpu) or a small JSON file (docs/parallel.md
// gives the format). A mesh is nodes x devices per node of one machine.
//
// This header and the rest of kiln/Planning depend on LLVM Support only.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PLANNING_MACHINE_H
#define KILN_PLANNING_MACHINE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kiln::planning {

struct Machine {
  std::string name;
  /// Where the numbers come from (a datasheet, an assumption).
  std::string source;
  /// Devices in one node (the mesh's default for --devices N).
  int64_t devicesPerNode = 8;
  /// One device's memory, in bytes, and the fraction the plan may fill
  /// (the rest: the runtime, its workspace, fragmentation).
  double memoryBytes = 0;
  double usableMemoryFraction = 0.9;
  /// One device's memory bandwidth, bytes/s.
  double memoryBandwidth = 0;
  /// Dense peak rates, FLOP/s, by compute dtype: "f32", "bf16", "f16",
  /// "fp8", "int8". A dtype without a rate uses bf16's, then f32's.
  std::map<std::string, double> flops;
  /// Link between two devices of a node and between nodes: bandwidth in
  /// bytes/s per device and direction, latency in seconds per message (a
  /// ring step).
  double intraNodeBandwidth = 0, intraNodeLatency = 0;
  double interNodeBandwidth = 0, interNodeLatency = 0;

  double usableMemory() const { return memoryBytes * usableMemoryFraction; }
  /// The rate for `dtype` (see `flops`).
  double rate(llvm::StringRef dtype) const;
};

/// The built-in presets' names: "h100-nvlink", "h100-pcie", "cpu".
std::vector<std::string> machinePresetNames();

/// A built-in preset, or an error naming the presets.
llvm::Expected<Machine> lookupMachinePreset(llvm::StringRef name);

/// Parses a machine description (JSON); `origin` names it in errors.
llvm::Expected<Machine> parseMachine(llvm::StringRef json,
                                     llvm::StringRef origin);

/// `spec` is a preset's name or the path of a JSON file.
llvm::Expected<Machine> loadMachine(llvm::StringRef spec);

/// nodes x devices per node.
struct Mesh {
  int64_t nodes = 1;
  int64_t devicesPerNode = 1;
  int64_t devices() const { return nodes * devicesPerNode; }
};

/// The mesh for `--devices N` (`devices` > 0) or `--mesh NODESxDEVICES`
/// (`meshSpec` non-empty) on `machine`: N devices fill nodes of the
/// machine's size (N must be a multiple of it when larger).
llvm::Expected<Mesh> makeMesh(const Machine &machine, int64_t devices,
                              llvm::StringRef meshSpec);

} // namespace kiln::planning

#endif // KILN_PLANNING_MACHINE_H
