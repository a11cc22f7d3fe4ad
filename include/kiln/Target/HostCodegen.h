//===- HostCodegen.h - LLVM dialect to a host shared object -----*- C++ -*-===//

#ifndef KILN_TARGET_HOSTCODEGEN_H
#define KILN_TARGET_HOSTCODEGEN_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace kiln {

struct HostCodegenOptions {
  /// Name of the model function in the LLVM-dialect module.
  std::string entryName = "main";
  /// Symbol of the exported wrapper: void SYMBOL(void **buffers).
  std::string entrySymbol = "kiln_entry";
  /// Target CPU: "native" for this machine, or an LLVM CPU name
  /// ("x86-64", "x86-64-v3", "skylake-avx512", ...).
  std::string cpu = "native";
  /// LLVM optimization level, 0 to 3.
  unsigned optLevel = 3;
  /// The ld.lld used to link; empty means the one LLVM 22 installs.
  std::string linker;
  /// Partitions compiled in parallel, one thread each (TargetOptions::jobs;
  /// 0: one per hardware thread, at most 4).
  unsigned jobs = 0;
  /// Add the CPU wrapper `void SYMBOL(void **buffers)`. A target whose
  /// module already defines `entrySymbol` (the CUDA target's, built by
  /// kiln-gpu-convert-launches-to-runtime-calls) sets this to false.
  bool addEntryWrapper = true;
};

/// Translates `module` (LLVM dialect; the entry takes one pointer per
/// buffer) to optimized LLVM IR with the exported wrapper added. When
/// `irOut` is given the IR is printed there and nothing else happens.
/// Otherwise the IR is compiled and linked into an ELF shared object whose
/// bytes land in `sharedObject`, and, when `kernelCodeBytes` is given, the
/// bytes of machine code of each kernel of the module's kernel table (its
/// functions' symbol sizes; lib/Target/Host/KernelCodeSize.h), indexed by
/// kernel (shorter when the last kernels have none). A failure is a
/// diagnostic on the module.
mlir::LogicalResult
emitHostCode(mlir::ModuleOp module, const HostCodegenOptions &options,
             llvm::raw_ostream *irOut, std::string &sharedObject,
             std::vector<uint64_t> *kernelCodeBytes = nullptr);

/// Which of `features` (LLVM feature names without the `+`: "avx512vnni",
/// "avx2", ...) the CPU `cpu` ("native" or an LLVM CPU name, as in
/// HostCodegenOptions) has; an error for a CPU LLVM does not know.
llvm::Expected<std::vector<std::string>>
cpuFeaturesOf(const std::string &cpu, llvm::ArrayRef<llvm::StringRef> features);

/// The target string recorded in artifacts built for this host.
std::string hostTargetName();

} // namespace kiln

#endif // KILN_TARGET_HOSTCODEGEN_H
