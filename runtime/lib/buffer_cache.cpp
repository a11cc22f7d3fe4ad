//===- buffer_cache.cpp - Reuse the host code's large buffers ------------===//

#include "buffer_cache.h"

#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

namespace kiln::rt {
namespace {

/// Every block starts with this header (16 bytes, so the caller's pointer
/// keeps malloc's alignment): the size class, 0 for a block that bypassed
/// the cache.
struct alignas(16) Header {
  size_t sizeClass;
};

/// Blocks below this go straight to malloc, which serves them from its
/// heap without mapping pages.
constexpr size_t kMinCached = size_t(256) << 10;
/// The cache keeps at most this many idle bytes; beyond, blocks are freed.
constexpr size_t kMaxIdle = size_t(1) << 30;

struct Cache {
  std::mutex mutex;
  std::map<size_t, std::vector<void *>> idle; // size class -> blocks
  size_t idleBytes = 0;
  size_t sessions = 0;
};

Cache &cache() {
  static Cache *instance = new Cache; // never destroyed: host code may run
  return *instance;                   // during static destruction
}

/// Rounds up to an eighth of the size's power of two: at most 12.5% waste,
/// and a size that grows slowly still finds its class again.
size_t sizeClassOf(size_t bytes) {
  size_t power = 1;
  while (power < bytes)
    power <<= 1;
  size_t step = power >= 64 ? power / 8 : 8;
  return (bytes + step - 1) / step * step;
}

void *withHeader(void *block, size_t sizeClass) {
  if (!block)
    return nullptr;
  static_cast<Header *>(block)->sizeClass = sizeClass;
  return static_cast<Header *>(block) + 1;
}

} // namespace

void *cachedAllocate(size_t bytes) {
  if (bytes > SIZE_MAX / 2)
    return nullptr;
  if (bytes < kMinCached)
    return withHeader(std::malloc(sizeof(Header) + bytes), 0);
  size_t sizeClass = sizeClassOf(bytes);
  {
    Cache &c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.idle.find(sizeClass);
    if (it != c.idle.end() && !it->second.empty()) {
      void *block = it->second.back();
      it->second.pop_back();
      c.idleBytes -= sizeClass;
      return withHeader(block, sizeClass);
    }
  }
  return withHeader(std::malloc(sizeof(Header) + sizeClass), sizeClass);
}

void cachedFree(void *pointer) {
  if (!pointer)
    return;
  Header *header = static_cast<Header *>(pointer) - 1;
  size_t sizeClass = header->sizeClass;
  if (sizeClass != 0) {
    Cache &c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    if (c.sessions > 0 && c.idleBytes + sizeClass <= kMaxIdle) {
      c.idle[sizeClass].push_back(header);
      c.idleBytes += sizeClass;
      return;
    }
  }
  std::free(header);
}

void trimBufferCache() {
  std::map<size_t, std::vector<void *>> blocks;
  {
    Cache &c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    blocks.swap(c.idle);
    c.idleBytes = 0;
  }
  for (auto &[sizeClass, list] : blocks)
    for (void *block : list)
      std::free(block);
}

void retainBufferCache() {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  ++c.sessions;
}

void releaseBufferCache() {
  bool last;
  {
    Cache &c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    last = --c.sessions == 0;
  }
  if (last)
    trimBufferCache();
}

size_t bufferCacheBytes() {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.idleBytes;
}

} // namespace kiln::rt
