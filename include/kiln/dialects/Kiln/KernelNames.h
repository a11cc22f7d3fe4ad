//===- KernelNames.h - How the kernel table names kernels -------*- C++ -*-===//
//
// Each target records the kernel table on the module, one dictionary per
// kernel named from its provenance (kiln-cpu-mark-kernels-for-profiling: a
// CPU entry's loop nests; lib/Target/CUDA/LaunchTable.h: a CUDA entry's
// launches); kiln/Target/KernelTable.h reads it into the artifact.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECTS_KILN_KERNELNAMES_H
#define KILN_DIALECTS_KILN_KERNELNAMES_H

#include "kiln/dialects/Kiln/Provenance.h"

#include "llvm/ADT/StringRef.h"

#include <string>

namespace kiln {

/// The module attribute that holds the kernel table: per kernel, a
/// dictionary of `name`, `kinds` and `nodes` (and on the CUDA target the
/// launch's shape), written by kiln-cpu-mark-kernels-for-profiling or the
/// CUDA target's launch table.
inline constexpr llvm::StringLiteral kKernelTableAttrName = "kiln.kernels";

/// The module attribute that holds the memory plan in kernel terms:
/// `workspace_bytes`, `peak_bytes` and `buffers`, per buffer a dictionary
/// of `nodes`, `type`, `offset`, `bytes`, `first` and `last` (kernel
/// indices), written by kiln-cpu-mark-kernels-for-profiling.
inline constexpr llvm::StringLiteral kMemoryPlanAttrName = "kiln.memory_plan";

/// A kernel's name in the table: the kinds `p` names without "kiln.",
/// joined by '+' ("rms_norm", "matmul+add"; after three, "+..."), or
/// `fallback` when it names none.
std::string kernelNameOf(const Provenance &p, llvm::StringRef fallback);

} // namespace kiln

#endif // KILN_DIALECTS_KILN_KERNELNAMES_H
