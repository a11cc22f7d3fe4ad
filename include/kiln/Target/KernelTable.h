//===- KernelTable.h - The kernel table, for the artifact -------*- C++ -*-===//
//
// kiln-cpu-mark-kernels-for-profiling (a CPU entry's loop nests) and
// recordLaunchTable (lib/Target/CUDA: a CUDA entry's launches) leave the
// kernel table on the module as `kiln.kernels`: per kernel a dictionary of
// `name`, `kinds` and `nodes`, and for a launch also `kernel` (the GPU
// kernel's symbol), `grid`, `block` and `shared_bytes`. Both targets read it
// here into the KERNELS (and LAUNCHES) sections.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TARGET_KERNELTABLE_H
#define KILN_TARGET_KERNELTABLE_H

#include "kiln/Artifact/ArtifactWriter.h"
#include "kiln/dialects/Kiln/KernelNames.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <string>
#include <vector>

namespace kiln {

/// The table on `module` (empty without one). A launch's `kernel` is
/// numbered by its position in `gpuKernels` (GPU_CODE's kernel table); a
/// row whose kernel is not there gets no launch, and then the artifact
/// gets no LAUNCHES section.
std::vector<KernelSignature>
readKernelTable(mlir::ModuleOp module,
                llvm::ArrayRef<std::string> gpuKernels = {});

/// The memory plan on `module` (kMemoryPlanAttrName), if it has one.
std::optional<MemoryPlanSignature> readMemoryPlan(mlir::ModuleOp module);

} // namespace kiln

#endif // KILN_TARGET_KERNELTABLE_H
