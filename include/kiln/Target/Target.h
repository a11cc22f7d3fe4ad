//===- Target.h - Code generation targets and their registry ----*- C++ -*-===//
//
// A target turns a module in the Kiln dialect (imported, raised, maybe
// quantized) into the contents of an artifact. The compile driver knows
// targets only through this interface: it looks one up by its --target
// name, hands it the module and a TargetContext, and writes what comes back.
// Adding a target is adding a folder beside lib/Target/CPU and one line in
// lib/Target/AllTargets.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TARGET_TARGET_H
#define KILN_TARGET_TARGET_H

#include "kiln/Artifact/ArtifactWriter.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kiln {

/// Options of every target, set from kiln-compile's flags; a target reads
/// the ones that concern it.
struct TargetOptions {
  /// Host CPU: "native" or an LLVM CPU name ("x86-64-v3", ...).
  std::string cpu = "native";
  /// LLVM optimization level of host code, 0 to 3.
  unsigned optLevel = 3;
  /// The ld.lld that links host code; empty means the one LLVM 22 installs.
  std::string linker;
  /// Threads compiling host code (`-j`): it is split into this many
  /// partitions, each optimized and compiled on its own thread; 0 is one
  /// per hardware thread, at most 4. Not part of the compile cache's key:
  /// the partitions compute the same thing however many there are.
  unsigned jobs = 0;
  /// GPU architectures to build for ("sm_90a", "sm_80", ...).
  std::vector<std::string> gpuArchs;
  /// The CUDA toolkit (ptxas, libdevice).
  std::string cudaPath = "/usr/local/cuda";
};

/// An IR stage a target can stop after (`kiln-compile --emit=NAME`).
struct EmitStageInfo {
  llvm::StringRef name;
  llvm::StringRef description;
};

/// What the driver gives a target for one compilation.
/// The user's pass manager options (--mlir-print-ir-*, --mlir-timing) as a
/// function that sets a pass manager up.
using PassManagerSetup = std::function<mlir::LogicalResult(mlir::PassManager &)>;

/// Runs on `module` the passes `build` adds, in a pass manager that `setup`
/// (may be empty) prepared first.
mlir::LogicalResult
runPasses(mlir::ModuleOp module, const PassManagerSetup &setup,
          llvm::function_ref<void(mlir::PassManager &)> build);

struct TargetContext {
  const TargetOptions &options;
  /// The model function (ONNX models always have @main).
  std::string entryName;
  /// The --emit stage to stop after; "artifact" to build the whole thing.
  std::string emit;
  /// Starts a named step of the --progress report.
  std::function<void(llvm::StringRef)> progress;
  /// Runs a registered pipeline with the user's pass manager options
  /// (--mlir-print-ir-*, --mlir-timing).
  std::function<mlir::LogicalResult(mlir::ModuleOp,
                                    void (*)(mlir::OpPassManager &))>
      runPipeline;
  /// Writes the text of the --emit stage to the output.
  std::function<mlir::LogicalResult(
      llvm::function_ref<void(llvm::raw_ostream &)>)>
      print;

  /// Applies the user's pass manager options to a pass manager the target
  /// builds itself (a pipeline with options); may be empty.
  PassManagerSetup configure;

  /// True when compilation stops after `stage`.
  bool stopsAfter(llvm::StringRef stage) const { return emit == stage; }
};

class Target {
public:
  virtual ~Target() = default;

  /// The --target name.
  virtual llvm::StringRef getName() const = 0;
  /// One line for --help.
  virtual llvm::StringRef getDescription() const = 0;
  /// The stages this target can stop after, in pipeline order (besides the
  /// driver's own `kiln` and `artifact`).
  virtual llvm::ArrayRef<EmitStageInfo> getEmitStages() const = 0;

  /// Lowers `module` and fills `contents`. When `context.emit` names one of
  /// this target's stages, prints that stage through `context.print` and
  /// sets `stopped`. Errors are diagnostics on the module's context.
  virtual mlir::LogicalResult compile(mlir::ModuleOp module,
                                      TargetContext &context,
                                      ArtifactContents &contents,
                                      bool &stopped) const = 0;
};

/// Prints `module` as the text of the current --emit stage and sets
/// `stopped`.
mlir::LogicalResult printStage(mlir::ModuleOp module, TargetContext &context,
                               bool &stopped);

/// Runs `pipeline` as the --progress step `step`; with --emit=`stage` prints
/// the result and sets `stopped`.
mlir::LogicalResult runStage(mlir::ModuleOp module, TargetContext &context,
                             llvm::StringRef step,
                             void (*pipeline)(mlir::OpPassManager &),
                             llvm::StringRef stage, bool &stopped);

/// The first step every target shares: `tensorPipeline` lowers the Kiln ops
/// to linalg on tensors (with --emit=linalg it prints that and sets
/// `stopped`), then the entry function's signature is read into `contents`
/// and its exported symbol set.
mlir::LogicalResult
lowerToLinalg(mlir::ModuleOp module, TargetContext &context,
              void (*tensorPipeline)(mlir::OpPassManager &),
              ArtifactContents &contents, bool &stopped);

/// The last step every target shares: `module` (LLVM dialect) becomes host
/// code for this machine (context.options' CPU, optimization level and
/// linker), an ELF shared object in `hostCode` exporting `entrySymbol`.
/// With --emit=llvm-ir it prints the optimized LLVM IR and sets `stopped`.
/// `addEntryWrapper`: generate `void entrySymbol(void **buffers)` around the
/// model function (the CPU's calling convention); false when the module
/// defines `entrySymbol` itself. `kernelCodeBytes`: see emitHostCode.
mlir::LogicalResult
buildHostCode(mlir::ModuleOp module, TargetContext &context,
              llvm::StringRef entrySymbol, bool addEntryWrapper,
              std::string &hostCode, bool &stopped,
              std::vector<uint64_t> *kernelCodeBytes = nullptr);

/// Adds `target` to the registry (names are unique).
void registerTarget(std::unique_ptr<Target> target);

/// The registered target named `name`, or null.
const Target *lookupTarget(llvm::StringRef name);

/// Every registered target, in registration order.
std::vector<const Target *> getRegisteredTargets();

/// Registers every target this build has (lib/Target/AllTargets.cpp).
void registerAllTargets();

} // namespace kiln

#endif // KILN_TARGET_TARGET_H
