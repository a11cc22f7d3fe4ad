//===- CompileDriver.cpp - The kiln-compile pipeline as a library ---------===//
//
// import -> kiln-cpu-tensor-pipeline -> signature -> kiln-cpu-codegen-pipeline
// -> host code -> artifact, stopping early for --emit. The pipelines are the
// registered ones, so kiln-opt reproduces any stage.
//
//===----------------------------------------------------------------------===//

#include "kiln/Driver/CompileDriver.h"

#include "Signature.h"

#include "kiln/Artifact/ArtifactWriter.h"
#include "kiln/artifact_format.h"
#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/passes/Passes.h"
#include "kiln/passes/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

#include <chrono>

using namespace mlir;
using namespace kiln;

namespace {

/// Prints "kiln-compile: <stage> ... <seconds>" when progress is on.
class Progress {
public:
  explicit Progress(bool enabled) : enabled(enabled) {}
  void stage(llvm::StringRef name) {
    finish();
    if (!enabled)
      return;
    current = name.str();
    start = std::chrono::steady_clock::now();
    llvm::errs() << "kiln-compile: " << name << " ...";
    llvm::errs().flush();
  }
  void finish() {
    if (!enabled || current.empty())
      return;
    double s = std::chrono::duration<double>(
                   std::chrono::steady_clock::now() - start)
                   .count();
    llvm::errs() << " " << llvm::format("%.2f", s) << " s\n";
    current.clear();
  }
  ~Progress() { finish(); }

private:
  bool enabled;
  std::string current;
  std::chrono::steady_clock::time_point start;
};

OwningOpRef<ModuleOp> load(MLIRContext &ctx, const CompileOptions &opts) {
  llvm::StringRef path = opts.inputPath;
  if (path.ends_with(".mlir")) {
    llvm::SourceMgr sourceMgr;
    std::string error;
    auto file = openInputFile(path, &error);
    if (!file) {
      emitError(UnknownLoc::get(&ctx)) << error;
      return nullptr;
    }
    sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
    return parseSourceFile<ModuleOp>(sourceMgr, &ctx);
  }
  return importOnnxModel(path, ctx, opts.import);
}

/// Prints `module` to the output path (or stdout), atomically.
LogicalResult printTo(const CompileOptions &opts,
                      llvm::function_ref<void(llvm::raw_ostream &)> print,
                      MLIRContext &ctx) {
  std::string path = opts.outputPath.empty() ? "-" : opts.outputPath;
  std::string error;
  auto out = openOutputFile(path, &error);
  if (!out)
    return emitError(UnknownLoc::get(&ctx)) << error;
  print(out->os());
  out->keep();
  return success();
}

LogicalResult runPipeline(ModuleOp module, const CompileOptions &opts,
                          void (*build)(OpPassManager &)) {
  PassManager pm(module.getContext());
  if (opts.configure && failed(opts.configure(pm)))
    return failure();
  build(pm);
  return pm.run(module);
}

/// Bytes of a tensor's elements (sub-byte types packed).
uint64_t storageBytes(Type type) {
  auto t = cast<RankedTensorType>(type);
  return (t.getNumElements() * t.getElementTypeBitWidth() + 7) / 8;
}

/// Runs kiln-quantize-weights and prints one line per quantized layer (or
/// stacked expert weight):
/// its name, weight shape and relative RMS weight error, then the totals.
LogicalResult quantizeWeights(ModuleOp module, const CompileOptions &opts) {
  PassManager pm(module.getContext());
  if (opts.configure && failed(opts.configure(pm)))
    return failure();
  QuantizeWeightsOptions passOptions;
  passOptions.format = opts.quantize;
  pm.addPass(createQuantizeWeights(passOptions));
  pm.addPass(createCanonicalizerPass());
  if (failed(pm.run(module)))
    return failure();
  uint64_t quantizedBytes = 0, floatBytes = 0;
  unsigned layers = 0;
  llvm::errs() << "kiln-compile: quantized weights (" << opts.quantize
               << "), relative RMS weight error ||W - dequant(W)|| / ||W||:\n";
  module.walk([&](Operation *op) {
    auto error = op->getAttrOfType<FloatAttr>("kiln.quant_error");
    if (!error)
      return;
    ++layers;
    // A qlinear's weight, or the stored experts a dequantize reads.
    Value stored = op->getOperand(isa<QLinearOp>(op) ? 1 : 0);
    Value scale = op->getOperand(isa<QLinearOp>(op) ? 2 : 1);
    auto w = cast<RankedTensorType>(stored.getType());
    quantizedBytes += storageBytes(w) + storageBytes(scale.getType());
    floatBytes += w.getNumElements() * 4;
    std::string name = "(unnamed)";
    if (auto loc = dyn_cast<NameLoc>(op->getLoc()))
      name = loc.getName().str();
    std::string shape;
    llvm::raw_string_ostream os(shape);
    llvm::interleave(w.getShape(), os, " x ");
    llvm::errs() << llvm::formatv("  {0,-40} [{1}]  {2:e2}\n", name, shape,
                                  error.getValueAsDouble());
  });
  llvm::errs() << llvm::formatv(
      "  {0} layers: {1:f1} KiB of f32 weights -> {2:f1} KiB with scales\n",
      layers, floatBytes / 1024.0, quantizedBytes / 1024.0);
  return success();
}

} // namespace

LogicalResult kiln::compile(MLIRContext &ctx, const CompileOptions &opts) {
  if (opts.target != "cpu") {
    if (opts.target == "cuda")
      return emitError(UnknownLoc::get(&ctx))
             << "--target cuda is not available yet: this build of Kiln "
                "generates CPU code only (use --target cpu)";
    return emitError(UnknownLoc::get(&ctx))
           << "unknown target '" << opts.target << "' (expected cpu)";
  }
  Progress progress(opts.progress);

  progress.stage("importing " + opts.inputPath);
  OwningOpRef<ModuleOp> module = load(ctx, opts);
  if (!module || failed(verify(*module)))
    return failure();
  std::string entryName = opts.import.entryName;
  if (!module->lookupSymbol<func::FuncOp>(entryName))
    return emitError(module->getLoc())
           << "the module has no entry function @" << entryName;
  if (opts.raise) {
    progress.stage("raising attention, MoE, RoPE, norms and activations");
    if (failed(runPipeline(*module, opts, buildRaisePipeline)))
      return failure();
  }
  if (!opts.quantize.empty()) {
    progress.stage("quantizing weights to " + opts.quantize);
    if (failed(quantizeWeights(*module, opts)))
      return failure();
  }
  if (opts.emit == EmitStage::Kiln) {
    progress.finish();
    return printTo(opts, [&](llvm::raw_ostream &os) { module->print(os); },
                   ctx);
  }

  progress.stage("lowering to linalg");
  if (failed(runPipeline(*module, opts, buildCpuTensorPipeline)))
    return failure();
  if (opts.emit == EmitStage::Linalg) {
    progress.finish();
    return printTo(opts, [&](llvm::raw_ostream &os) { module->print(os); },
                   ctx);
  }

  ArtifactContents contents;
  contents.target = hostTargetName();
  contents.entrySymbol = KILN_ENTRY_SYMBOL;
  if (failed(readSignature(module->lookupSymbol<func::FuncOp>(entryName),
                           contents)))
    return failure();

  progress.stage("bufferizing and lowering to LLVM");
  if (failed(runPipeline(*module, opts, buildCpuCodegenPipeline)))
    return failure();
  if (opts.emit == EmitStage::LLVMDialect) {
    progress.finish();
    return printTo(opts, [&](llvm::raw_ostream &os) { module->print(os); },
                   ctx);
  }

  HostCodegenOptions host = opts.host;
  host.entryName = entryName;
  host.entrySymbol = contents.entrySymbol;
  std::string error;
  if (opts.emit == EmitStage::LLVMIR) {
    progress.stage("generating LLVM IR");
    std::string ir;
    llvm::raw_string_ostream irStream(ir);
    if (!emitHostCode(*module, host, &irStream, contents.hostCode, error))
      return emitError(module->getLoc()) << error;
    progress.finish();
    return printTo(opts, [&](llvm::raw_ostream &os) { os << ir; }, ctx);
  }

  progress.stage("generating and linking host code");
  if (!emitHostCode(*module, host, nullptr, contents.hostCode, error))
    return emitError(module->getLoc()) << error;

  progress.stage("writing " + opts.outputPath);
  if (!writeArtifact(opts.outputPath, contents, error))
    return emitError(module->getLoc()) << error;
  return success();
}
