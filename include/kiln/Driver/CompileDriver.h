//===- CompileDriver.h - The kiln-compile pipeline as a library -*- C++ -*-===//

#ifndef KILN_DRIVER_COMPILEDRIVER_H
#define KILN_DRIVER_COMPILEDRIVER_H

#include "kiln/ONNX/OnnxImporter.h"
#include "kiln/Target/Target.h"

#include "mlir/Pass/PassManager.h"

#include <array>
#include <functional>
#include <map>
#include <string>

namespace kiln {

struct CompileOptions {
  std::string inputPath;
  /// The artifact, or the IR file for earlier stages ("-" is stdout).
  std::string outputPath;
  /// A registered target's name (lib/Target/AllTargets.cpp).
  std::string target = "cpu";
  /// Where compilation stops: "kiln" (the imported, raised graph), one of
  /// the target's stages (Target::getEmitStages), or "artifact".
  std::string emit = "artifact";
  OnnxImportOptions import;
  TargetOptions targetOptions;
  /// Print one line per stage with its duration to stderr.
  bool progress = false;
  /// The compile cache's folder (CompileCache.h); empty compiles without
  /// it. A new option that changes the artifact must join the cache's key
  /// (compileCacheKey in lib/Driver/CompileCache.cpp).
  std::string cacheDir;
  /// Run the raising pipeline after import (see buildRaisePipeline).
  bool raise = true;
  /// A kiln-quantize-weights format ("int4-g32", ...); empty keeps floats.
  /// Each quantized layer's weight error is printed to stderr.
  std::string quantize;
  /// Turn the decoder into a generation step over a KV cache of `maxSeq`
  /// positions (0: the rotary table's length); see
  /// kiln-convert-decoder-to-generation-step.
  bool generate = false;
  int64_t maxSeq = 0;
  /// A paged KV cache: blocks of `kvBlockSize` positions (0: contiguous),
  /// `kvBlocks` of them per pool (0: the pass's default).
  int64_t kvBlockSize = 0, kvBlocks = 0;
  /// Blocks in each paged windowed attention's pool (0: the pass's
  /// default).
  int64_t kvWindowBlocks = 0;
  /// Parallel planning (kiln/Planning, `--plan-only`, `--explain-plan`):
  /// the machine, mesh and workload to plan for.
  struct Planning {
    /// Print the plan and stop (no code generated).
    bool planOnly = false;
    /// Print each device's work, the top candidates and why the winner
    /// won.
    bool explain = false;
    /// `--devices N` (0: from `mesh`) or `--mesh NODESxDEVICES`.
    int64_t devices = 0;
    std::string mesh;
    /// A preset (h100-nvlink, h100-pcie, cpu) or a machine .json file.
    std::string machine = "h100-nvlink";
    /// "auto" or "tp=2,ep=4,pp=2,dp=1" (factors not named are chosen).
    std::string parallel = "auto";
    /// "latency" or "throughput".
    std::string objective = "latency";
    /// "decode" or "prefill".
    std::string phase = "decode";
    int64_t batch = 1, seq = 4096;
    /// Pipeline micro-batches (0: min(pp, sequences per replica)).
    int64_t microbatches = 0;
    bool requested() const { return planOnly || explain; }
    /// The plan compile() partitions for (set from planParallel's
    /// choice): expert parallelism over this many ranks, pipeline
    /// parallelism over this many stages and tensor parallelism over this
    /// many ranks (1: not split that way; they combine), the decoder
    /// layers of each stage, and the plan's one-line description for the
    /// artifact.
    int64_t expertRanks = 1;
    int64_t pipelineStages = 1;
    int64_t tensorRanks = 1;
    /// Data parallelism: this many replicas of the tp x ep x pp ranks, each
    /// running its slice of the batch (axis 0 of every input and output).
    int64_t dataReplicas = 1;
    std::vector<int64_t> stageLayers;
    std::string planText;
  } planning;
  /// Applied to every pass manager the driver creates (IR printing,
  /// timing and the other MLIR command-line options).
  PassManagerSetup configure;
};

/// Checks that `options.target` is registered and `options.emit` is one of
/// its stages, and reports an error on `context` otherwise.
mlir::LogicalResult checkTargetAndStage(mlir::MLIRContext &context,
                                        const CompileOptions &options);

/// Runs the whole compilation. Errors are reported as diagnostics on
/// `context`; nothing is left at the output path on failure.
mlir::LogicalResult compile(mlir::MLIRContext &context,
                            const CompileOptions &options);

/// Plans the parallel split of `options.inputPath` (a Hugging Face
/// config.json, or a model imported and raised as for compile, quantized
/// with `options.quantize`) for `options.planning`, and prints the plan
/// to `os` (explained with `planning.explain`). Errors are diagnostics on
/// `context`.
/// `chosen`, when given, receives the winning split's factors
/// {tp, ep, pp, dp}, and `stageLayers` its pipeline stages' layer counts.
mlir::LogicalResult planParallel(mlir::MLIRContext &context,
                                 const CompileOptions &options,
                                 llvm::raw_ostream &os,
                                 std::array<int64_t, 4> *chosen = nullptr,
                                 std::vector<int64_t> *stageLayers = nullptr);

/// Settles the partition a compile for several devices writes
/// (`planning.devices`, `mesh` or `parallel` given; kiln-compile --devices,
/// kiln.compile(devices=...)): `--parallel ep=N` alone means N devices;
/// the planner chooses the split, the factors `parallel` names fixed
/// (tp, ep, pp, dp, alone or combined: all execute); the plan is printed
/// to `os`
/// (explained with `planning.explain`). Sets `planning.expertRanks`,
/// `pipelineStages`, `tensorRanks`, `dataReplicas`, `stageLayers` and
/// `planText` for compile().
mlir::LogicalResult choosePartition(mlir::MLIRContext &context,
                                    CompileOptions &options,
                                    llvm::raw_ostream &os);

/// What `checkModel` found in a model that it could import.
struct ModelCheck {
  /// Nodes of an ONNX model, or operations in the entry function of a
  /// .mlir input.
  size_t nodes = 0;
  /// The ONNX file's contents; empty for .mlir inputs.
  OnnxModelSummary onnx;
  /// Errors reported: each an unsupported operator, attribute value or
  /// type, or a verifier failure.
  size_t problems = 0;
  /// What raising recognized, by pattern: "attention" -> 4.
  std::map<std::string, size_t> raised;
};

/// Imports and verifies `options.inputPath` and, with `options.raise`, runs
/// the raising pipeline, generating no code: `kiln-compile --check`. Every
/// problem is reported as a diagnostic on `context` (all of them, not the
/// first); fails when there was any.
mlir::LogicalResult checkModel(mlir::MLIRContext &context,
                               const CompileOptions &options,
                               ModelCheck &out);

/// "4 attention, 2 moe": the counts of `ModelCheck::raised`, most first;
/// "nothing" when empty.
std::string describeRaised(const std::map<std::string, size_t> &raised);

} // namespace kiln

#endif // KILN_DRIVER_COMPILEDRIVER_H
