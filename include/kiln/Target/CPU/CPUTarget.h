//===- CPUTarget.h - The `cpu` target ---------------------------*- C++ -*-===//

#ifndef KILN_TARGET_CPU_CPUTARGET_H
#define KILN_TARGET_CPU_CPUTARGET_H

namespace kiln {

/// Registers `--target cpu`: Kiln -> linalg -> loops -> LLVM -> a shared
/// object for this host, run by the runtime's cpu backend.
void registerCpuTarget();

} // namespace kiln

#endif // KILN_TARGET_CPU_CPUTARGET_H
