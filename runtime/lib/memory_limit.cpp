//===- memory_limit.cpp - The runtime's cap on tensor storage -------------===//

#include "memory_limit.h"

#include "error.h"
#include "kiln/runtime.h"

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdlib>
#include <mutex>
#include <unistd.h>

namespace kiln::rt {
namespace {

std::atomic<uint64_t> inUse{0};
std::atomic<uint64_t> limit{0}; // 0: none
std::once_flag limitRead;

/// Whether the calling thread's last reservation failed on the limit.
thread_local bool lastFailedOnLimit = false;

uint64_t physicalMemory() {
  long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
  return pages > 0 && pageSize > 0 ? uint64_t(pages) * uint64_t(pageSize) : 0;
}

/// "8G", "512M", "4096K" or plain bytes; false for anything else.
bool parseSize(const char *text, uint64_t &out) {
  errno = 0;
  char *end = nullptr;
  unsigned long long value = std::strtoull(text, &end, 10);
  if (errno || end == text)
    return false;
  uint64_t scale = 1;
  switch (*end) {
  case 'K': case 'k': scale = uint64_t(1) << 10; ++end; break;
  case 'M': case 'm': scale = uint64_t(1) << 20; ++end; break;
  case 'G': case 'g': scale = uint64_t(1) << 30; ++end; break;
  case 'T': case 't': scale = uint64_t(1) << 40; ++end; break;
  default: break;
  }
  if (*end || value > UINT64_MAX / scale)
    return false;
  out = value * scale;
  return true;
}

/// The limit from $KILN_MEMORY_LIMIT (a bad value is ignored: the default
/// is the safe choice), else the physical memory, at the first use.
void readLimitOnce() {
  std::call_once(limitRead, [] {
    uint64_t bytes = physicalMemory();
    if (const char *text = std::getenv("KILN_MEMORY_LIMIT"))
      parseSize(text, bytes);
    // Only if nobody set one through the API first.
    uint64_t unset = 0;
    limit.compare_exchange_strong(unset, bytes);
  });
}

std::string sizeText(uint64_t bytes) {
  const char *units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double value = double(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? format("%" PRIu64 " bytes", bytes)
                   : format("%.1f %s", value, units[unit]);
}

} // namespace

bool reserveTensorBytes(size_t bytes) {
  readLimitOnce();
  lastFailedOnLimit = false;
  uint64_t cap = limit.load(std::memory_order_relaxed);
  uint64_t current = inUse.load(std::memory_order_relaxed);
  do {
    if (cap != 0 && (bytes > cap || current > cap - bytes)) {
      lastFailedOnLimit = true;
      return false;
    }
  } while (!inUse.compare_exchange_weak(current, current + bytes,
                                        std::memory_order_relaxed));
  return true;
}

void releaseTensorBytes(size_t bytes) {
  inUse.fetch_sub(bytes, std::memory_order_relaxed);
}

std::string memoryLimitNote() {
  if (!lastFailedOnLimit)
    return "";
  return " (over the runtime's memory limit of " +
         sizeText(limit.load(std::memory_order_relaxed)) + ": " +
         sizeText(inUse.load(std::memory_order_relaxed)) +
         " already in use; raise it with KILN_MEMORY_LIMIT or "
         "kiln_set_memory_limit)";
}

} // namespace kiln::rt

extern "C" {

void kiln_set_memory_limit(uint64_t bytes) {
  kiln::rt::readLimitOnce();
  kiln::rt::limit.store(bytes, std::memory_order_relaxed);
}

uint64_t kiln_memory_limit(void) {
  kiln::rt::readLimitOnce();
  return kiln::rt::limit.load(std::memory_order_relaxed);
}

} // extern "C"
