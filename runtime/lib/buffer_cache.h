//===- buffer_cache.h - Reuse the host code's large buffers -----*- C++ -*-===//
//
// A model with symbolic dims allocates its intermediates of run-time size on
// every run (artifact_format.h). Served by malloc, each large one is a fresh
// mmap, whose pages fault in on first touch and go back to the kernel at
// free: on a 256-token decoder run that churn cost more than the compute.
// The host code calls its allocator through the exported `kiln_allocator`
// hooks, which the runtime points here: large blocks are kept on free, in
// size classes, and handed out again; small ones go straight to malloc.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIB_BUFFER_CACHE_H
#define KILN_RUNTIME_LIB_BUFFER_CACHE_H

#include <cstddef>

namespace kiln::rt {

/// malloc-compatible (16-byte aligned, null on failure); thread-safe.
void *cachedAllocate(size_t bytes);
/// Frees what cachedAllocate returned (null is a no-op).
void cachedFree(void *pointer);

/// Returns every cached block to the system (when the last session of any
/// model is released).
void trimBufferCache();

/// Counts the sessions that may use the cache; the last release trims it.
void retainBufferCache();
void releaseBufferCache();

/// Bytes held in the cache now, not in use (for tests).
size_t bufferCacheBytes();

/// retainBufferCache for as long as it lives.
struct BufferCacheUse {
  BufferCacheUse() { retainBufferCache(); }
  ~BufferCacheUse() { releaseBufferCache(); }
  BufferCacheUse(const BufferCacheUse &) = delete;
  BufferCacheUse &operator=(const BufferCacheUse &) = delete;
};

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_BUFFER_CACHE_H
