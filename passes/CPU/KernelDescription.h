//===- KernelDescription.h - A kernel's loop nest in one line ---*- C++ -*-===//
//
// What kiln-cpu-mark-kernels-for-profiling records beside the kernel table
// for kiln-inspect: each kernel's loop nest in one line.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_CPU_KERNELDESCRIPTION_H
#define KILN_PASSES_CPU_KERNELDESCRIPTION_H

#include "mlir/IR/Operation.h"

#include <string>

namespace kiln {

/// "scf.parallel 4x16 / scf.for 64": the loops from `kernel` inward while
/// each holds exactly one loop, with their trip counts ("?" where only the
/// run knows one); "N nests" where a level holds several.
std::string describeLoopNest(mlir::Operation *kernel);

} // namespace kiln

#endif // KILN_PASSES_CPU_KERNELDESCRIPTION_H
