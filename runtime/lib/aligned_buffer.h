//===- aligned_buffer.h - Session-owned tensor storage ----------*- C++ -*-===//
//
// Inputs and outputs live in 64-byte-aligned, zero-initialized storage: the
// alignment compiled code may assume for vector loads, and zero so that an
// output the code does not write is deterministic. A zero-size tensor still
// gets a real, unique allocation, so the entry never sees a null pointer.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIB_ALIGNED_BUFFER_H
#define KILN_RUNTIME_LIB_ALIGNED_BUFFER_H

#include "fault_injection.h"
#include "memory_limit.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace kiln::rt {

constexpr size_t kBufferAlignment = 64;

class AlignedBuffer {
public:
  AlignedBuffer() = default;
  ~AlignedBuffer() { release(); }
  AlignedBuffer(AlignedBuffer &&other) noexcept
      : data_(other.data_), size_(other.size_), capacity_(other.capacity_) {
    other.data_ = nullptr;
    other.size_ = 0;
    other.capacity_ = 0;
  }
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(AlignedBuffer &&) = delete;

  /// Returns false when out of memory. `size` must be below SIZE_MAX / 2.
  /// The bytes count against the runtime's memory limit (memory_limit.h):
  /// over it, this fails as out of memory would.
  bool allocate(size_t size) {
    if (!allocationMayProceed())
      return false;
    size_t rounded = (size + kBufferAlignment) & ~(kBufferAlignment - 1);
    if (!reserveTensorBytes(rounded))
      return false;
    void *data = std::aligned_alloc(kBufferAlignment, rounded);
    if (!data) {
      releaseTensorBytes(rounded);
      return false;
    }
    std::memset(data, 0, rounded);
    release();
    data_ = data;
    size_ = size;
    capacity_ = rounded;
    return true;
  }

  /// Makes the buffer `size` bytes long, keeping the allocation (and its
  /// bytes, which the caller overwrites) when it is large enough: tensors
  /// with symbolic dims change size from run to run. Returns false when out
  /// of memory, the buffer unchanged.
  bool resize(size_t size) {
    if (data_ && size <= capacity_) {
      size_ = size;
      return true;
    }
    return allocate(size);
  }

  void *data() const { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }

private:
  void release() {
    if (!data_)
      return;
    std::free(data_);
    releaseTensorBytes(capacity_);
    data_ = nullptr;
  }

  void *data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0; // allocated bytes, >= size_ (64 for size 0)
};

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_ALIGNED_BUFFER_H
