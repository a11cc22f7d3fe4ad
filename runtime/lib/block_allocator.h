//===- block_allocator.h - The free list of a paged KV cache ----*- C++ -*-===//
//
// The blocks of a paged KV cache's pools (one id names the same block in
// every layer's key and value pool). A request takes the blocks its length
// needs and gives them back when it finishes; the most recently freed
// blocks are handed out first. Header-only, so the unit test compiles it
// alone.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_BLOCK_ALLOCATOR_H
#define KILN_RUNTIME_BLOCK_ALLOCATOR_H

#include <algorithm>
#include <cstdint>
#include <vector>

namespace kiln::rt {

class BlockAllocator {
public:
  explicit BlockAllocator(int64_t blocks) : total_(blocks < 0 ? 0 : blocks) {
    free_.reserve(size_t(total_));
    // Block 0 on top: a fresh pool hands out 0, 1, 2, ...
    for (int64_t b = total_ - 1; b >= 0; --b)
      free_.push_back(b);
    owned_.assign(size_t(total_), false);
  }

  int64_t total() const { return total_; }
  int64_t available() const { return int64_t(free_.size()); }
  int64_t used() const { return total_ - available(); }
  int64_t peakUsed() const { return peak_; }
  uint64_t handedOut() const { return handedOut_; }

  /// Appends `count` blocks to `out`; false (and nothing taken) when fewer
  /// are free.
  bool allocate(int64_t count, std::vector<int64_t> &out) {
    if (count < 0 || count > available())
      return false;
    for (int64_t i = 0; i < count; ++i) {
      int64_t b = free_.back();
      free_.pop_back();
      owned_[size_t(b)] = true;
      out.push_back(b);
    }
    handedOut_ += uint64_t(count);
    peak_ = std::max(peak_, used());
    return true;
  }

  /// Returns `blocks` to the free list; false (and nothing returned) when
  /// one is not a block of the pool or is not currently handed out, or
  /// when one appears twice.
  bool release(const std::vector<int64_t> &blocks) {
    std::vector<int64_t> sorted(blocks);
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
      return false;
    for (int64_t b : blocks)
      if (b < 0 || b >= total_ || !owned_[size_t(b)])
        return false;
    for (int64_t b : blocks) {
      owned_[size_t(b)] = false;
      free_.push_back(b);
    }
    return true;
  }

private:
  int64_t total_;
  std::vector<int64_t> free_;
  std::vector<bool> owned_;
  int64_t peak_ = 0;
  uint64_t handedOut_ = 0;
};

} // namespace kiln::rt

#endif // KILN_RUNTIME_BLOCK_ALLOCATOR_H
