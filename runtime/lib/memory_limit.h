//===- memory_limit.h - The runtime's cap on tensor storage -----*- C++ -*-===//
//
// Every byte of tensor storage the runtime allocates (session inputs and
// outputs, CPU workspaces: AlignedBuffer) is counted against one process-
// wide limit, so that a model whose symbols allow huge shapes fails with a
// status naming the limit instead of being killed by the kernel's OOM
// killer halfway through a run. The limit is the machine's physical memory
// unless $KILN_MEMORY_LIMIT or kiln_set_memory_limit says otherwise.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIB_MEMORY_LIMIT_H
#define KILN_RUNTIME_LIB_MEMORY_LIMIT_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln::rt {

/// Counts `bytes` as in use; false (counting nothing) when that would pass
/// the limit.
bool reserveTensorBytes(size_t bytes);

/// Gives back what reserveTensorBytes counted.
void releaseTensorBytes(size_t bytes);

/// " (the runtime's memory limit of X would be exceeded: Y in use; ...)"
/// when the calling thread's last reservation failed on the limit, else "".
/// Appended to out-of-memory messages.
std::string memoryLimitNote();

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_MEMORY_LIMIT_H
