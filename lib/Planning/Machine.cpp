//===- Machine.cpp - Machine presets and the machine file format ----------===//
//
// The presets' numbers: peak dense rates, memory and link bandwidths are
// from the vendors' datasheets (cited per preset); latencies and the CPU
// preset are assumptions of the right order, stated as such. Every
// estimate built on them is an ideal (peak rates, no overlap of compute
// and communication, balanced experts), not a measurement.
//
//===----------------------------------------------------------------------===//

#include "kiln/Planning/Machine.h"

#include "JsonObject.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace kiln::planning;
using llvm::StringRef;

static constexpr double GiB = 1024.0 * 1024.0 * 1024.0;
static constexpr double GB = 1e9;
static constexpr double TFLOPS = 1e12;
static constexpr double US = 1e-6;

double Machine::rate(StringRef dtype) const {
  for (StringRef key : {dtype, StringRef("bf16"), StringRef("f32")}) {
    auto it = flops.find(key.str());
    if (it != flops.end() && it->second > 0)
      return it->second;
  }
  return 0;
}

namespace {
/// One machine preset; rates of 0 are absent from Machine::flops.
struct Preset {
  const char *name;
  const char *source;
  int64_t devicesPerNode;
  double memoryGiB, memoryBandwidthGBps;
  /// Dense TFLOP/s.
  double f32, bf16, f16, fp8, int8;
  double intraNodeGBps, intraNodeLatencyUs;
  double interNodeGBps, interNodeLatencyUs;
};
} // namespace

// clang-format off
static const Preset kPresets[] = {
    // NVIDIA H100 Tensor Core GPU datasheet, H100 SXM5 column (dense rates,
    // i.e. half the "with sparsity" figures): 80 GB HBM3 at 3.35 TB/s;
    // FP32 67 TFLOPS, BF16/FP16 989 TFLOPS, FP8 and INT8 1979; NVLink 4 900
    // GB/s per GPU both directions together (450 each way). Between nodes:
    // a DGX H100 has one 400 Gb/s ConnectX-7 (InfiniBand NDR) per GPU, 50
    // GB/s. Assumed: a ring step of a small NCCL message over NVLink, 1.5 us
    // (8-GPU all-reduces of a few KiB take ~15-25 us in nccl-tests: 14
    // steps); between nodes 5 us (IB NDR plus NCCL's proxy).
    {"h100-nvlink",
     "NVIDIA H100 SXM5 datasheet (dense rates), DGX H100 (8 GPUs, NVLink 4, "
     "one 400 Gb/s NIC per GPU); latencies assumed",
     /*devicesPerNode=*/8, /*memory GiB, GB/s=*/80, 3350,
     /*TFLOP/s f32, bf16, f16, fp8, int8=*/67, 989, 989, 1979, 1979,
     /*intra-node GB/s, us=*/450, 1.5, /*inter-node GB/s, us=*/50, 5},
    // NVIDIA H100 datasheet, H100 PCIe column: 80 GB HBM2e at 2.0 TB/s;
    // FP32 51 TFLOPS, BF16/FP16 756, FP8 and INT8 1513 (dense); PCIe Gen5
    // x16, 128 GB/s both directions (64 each way), no NVLink bridge assumed.
    {"h100-pcie",
     "NVIDIA H100 PCIe datasheet (dense rates), PCIe Gen5 x16 between GPUs; "
     "the NIC (200 Gb/s per GPU) and latencies assumed",
     /*devicesPerNode=*/8, /*memory GiB, GB/s=*/80, 2000,
     /*TFLOP/s f32, bf16, f16, fp8, int8=*/51, 756, 756, 1513, 1513,
     /*intra-node GB/s, us=*/64, 5, /*inter-node GB/s, us=*/25, 10},
    // Assumed, not measured: a device is one MPI process on one socket of a
    // two-socket server (8 DDR5 channels, ~200 GB/s achievable of ~300
    // theoretical; ~3 TFLOP/s f32 from 48 cores of AVX-512 FMA at ~2 GHz,
    // bf16 computed in f32); processes on one node talk through shared
    // memory, nodes through 100 Gb/s Ethernet. Write a machine file with
    // your own numbers for anything that matters.
    {"cpu", "assumed two-socket server, one process per socket",
     /*devicesPerNode=*/2, /*memory GiB, GB/s=*/128, 200,
     /*TFLOP/s f32, bf16, f16, fp8, int8=*/3, 3, 0, 0, 0,
     /*intra-node GB/s, us=*/10, 1, /*inter-node GB/s, us=*/12.5, 10},
};
// clang-format on

static Machine fromPreset(const Preset &p) {
  Machine m;
  m.name = p.name;
  m.source = p.source;
  m.devicesPerNode = p.devicesPerNode;
  m.memoryBytes = p.memoryGiB * GiB;
  m.memoryBandwidth = p.memoryBandwidthGBps * GB;
  std::pair<const char *, double> rates[] = {{"f32", p.f32},
                                             {"bf16", p.bf16},
                                             {"f16", p.f16},
                                             {"fp8", p.fp8},
                                             {"int8", p.int8}};
  for (auto [dtype, tflops] : rates)
    if (tflops > 0)
      m.flops[dtype] = tflops * TFLOPS;
  m.intraNodeBandwidth = p.intraNodeGBps * GB;
  m.intraNodeLatency = p.intraNodeLatencyUs * US;
  m.interNodeBandwidth = p.interNodeGBps * GB;
  m.interNodeLatency = p.interNodeLatencyUs * US;
  return m;
}

std::vector<std::string> kiln::planning::machinePresetNames() {
  std::vector<std::string> names;
  for (const Preset &p : kPresets)
    names.push_back(p.name);
  return names;
}

llvm::Expected<Machine> kiln::planning::lookupMachinePreset(StringRef name) {
  for (const Preset &p : kPresets)
    if (name == p.name)
      return fromPreset(p);
  return llvm::createStringError(
      "unknown machine '" + name.str() + "': a preset (" +
      llvm::join(machinePresetNames(), ", ") + ") or a .json machine file");
}

namespace {
/// Reads the machine file's fields, remembering the first error.
struct Reader {
  StringRef origin;
  std::string error;

  bool fail(const llvm::Twine &message) {
    if (error.empty())
      error = (origin + ": " + message).str();
    return false;
  }
  /// A positive number at `key` of `object` (`path` names it in errors).
  bool number(const llvm::json::Object &object, StringRef key,
              StringRef path, double &out, bool required = true) {
    const llvm::json::Value *v = object.get(key);
    if (!v)
      return required ? fail("missing '" + path + "'") : true;
    std::optional<double> d = v->getAsNumber();
    if (!d || !(*d > 0))
      return fail("'" + path + "' must be a positive number");
    out = *d;
    return true;
  }
  bool link(const llvm::json::Object &root, StringRef key, double &bandwidth,
            double &latency) {
    const llvm::json::Object *o = root.getObject(key);
    if (!o)
      return fail("missing '" + key + "' (an object with bandwidth_gbs and "
                  "latency_us)");
    double bw = 0, lat = 0;
    if (!number(*o, "bandwidth_gbs", (key + ".bandwidth_gbs").str(), bw) ||
        !number(*o, "latency_us", (key + ".latency_us").str(), lat))
      return false;
    bandwidth = bw * GB;
    latency = lat * US;
    return true;
  }
};
} // namespace

llvm::Expected<Machine> kiln::planning::parseMachine(StringRef json,
                                                     StringRef origin) {
  llvm::Expected<llvm::json::Object> object = parseJsonObject(json, origin);
  if (!object)
    return object.takeError();
  const llvm::json::Object *root = &*object;
  Reader r{origin, ""};
  Machine m;
  m.name = root->getString("name").value_or(origin).str();
  m.source = root->getString("source").value_or("machine file").str();
  double perNode = 0, memGiB = 0, bwGBs = 0, fraction = m.usableMemoryFraction;
  r.number(*root, "devices_per_node", "devices_per_node", perNode) &&
      r.number(*root, "memory_gib", "memory_gib", memGiB) &&
      r.number(*root, "memory_bandwidth_gbs", "memory_bandwidth_gbs",
               bwGBs) &&
      r.number(*root, "usable_memory_fraction", "usable_memory_fraction",
               fraction, /*required=*/false) &&
      r.link(*root, "intra_node", m.intraNodeBandwidth,
             m.intraNodeLatency) &&
      r.link(*root, "inter_node", m.interNodeBandwidth, m.interNodeLatency);
  if (r.error.empty()) {
    if (perNode != std::floor(perNode))
      r.fail("'devices_per_node' must be an integer");
    else if (fraction > 1)
      r.fail("'usable_memory_fraction' must be at most 1");
    const llvm::json::Object *tflops = root->getObject("tflops");
    if (!tflops)
      r.fail("missing 'tflops' (an object of dense rates by dtype, e.g. "
             "{\"bf16\": 989, \"f32\": 67})");
    else
      for (const auto &[key, value] : *tflops) {
        static const char *known[] = {"f32", "bf16", "f16", "fp8", "int8"};
        if (!llvm::is_contained(known, StringRef(key))) {
          r.fail("'tflops." + StringRef(key) +
                 "': unknown dtype (f32, bf16, f16, fp8, int8)");
          break;
        }
        double rate = 0;
        if (!r.number(*tflops, key, ("tflops." + StringRef(key)).str(), rate))
          break;
        m.flops[key.str()] = rate * TFLOPS;
      }
    if (r.error.empty() && m.rate("f32") == 0)
      r.fail("'tflops' needs a rate for bf16 or f32");
  }
  if (!r.error.empty())
    return llvm::createStringError(r.error);
  m.devicesPerNode = int64_t(perNode);
  m.memoryBytes = memGiB * GiB;
  m.memoryBandwidth = bwGBs * GB;
  m.usableMemoryFraction = fraction;
  return m;
}

llvm::Expected<Machine> kiln::planning::loadMachine(StringRef spec) {
  if (llvm::is_contained(machinePresetNames(), spec.str()) ||
      !spec.ends_with(".json"))
    return lookupMachinePreset(spec);
  auto buffer = llvm::MemoryBuffer::getFile(spec);
  if (!buffer)
    return llvm::createStringError("cannot read machine file '" +
                                   spec.str() +
                                   "': " + buffer.getError().message());
  return parseMachine((*buffer)->getBuffer(), spec);
}

llvm::Expected<Mesh> kiln::planning::makeMesh(const Machine &machine,
                                              int64_t devices,
                                              StringRef meshSpec) {
  Mesh mesh;
  if (!meshSpec.empty()) {
    auto [nodes, perNode] = meshSpec.split('x');
    if (nodes.getAsInteger(10, mesh.nodes) ||
        perNode.getAsInteger(10, mesh.devicesPerNode) || mesh.nodes < 1 ||
        mesh.devicesPerNode < 1)
      return llvm::createStringError(
          "--mesh expects NODESxDEVICES (e.g. 2x8), got '" + meshSpec.str() +
          "'");
    if (devices > 0 && devices != mesh.devices())
      return llvm::createStringError(llvm::formatv(
          "--devices {0} disagrees with --mesh {1} ({2} devices)", devices,
          meshSpec, mesh.devices()));
    return mesh;
  }
  if (devices < 1)
    return llvm::createStringError(
        llvm::formatv("--devices must be positive, got {0}", devices));
  if (devices <= machine.devicesPerNode) {
    mesh.devicesPerNode = devices;
    return mesh;
  }
  if (devices % machine.devicesPerNode != 0)
    return llvm::createStringError(llvm::formatv(
        "--devices {0} is not a whole number of {1}'s nodes of {2} devices; "
        "give --mesh NODESxDEVICES",
        devices, machine.name, machine.devicesPerNode));
  mesh.devicesPerNode = machine.devicesPerNode;
  mesh.nodes = devices / machine.devicesPerNode;
  return mesh;
}
