//===- buffer_cache_test.cpp - The host code's buffer cache --------------===//
//
// Compiled with runtime/lib/buffer_cache.cpp itself (its functions are
// internal to libkiln_runtime.so).

#include "buffer_cache.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

using namespace kiln::rt;

namespace {

constexpr size_t kLarge = size_t(1) << 20;

bool aligned16(void *p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

TEST(BufferCacheTest, LargeBlocksAreReusedWhileASessionLives) {
  BufferCacheUse session;
  void *a = cachedAllocate(kLarge);
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(aligned16(a));
  std::memset(a, 1, kLarge);
  cachedFree(a);
  EXPECT_GE(bufferCacheBytes(), kLarge);
  // A slightly different size of the same class gets the same block back.
  void *b = cachedAllocate(kLarge - 1000);
  EXPECT_EQ(a, b);
  EXPECT_EQ(bufferCacheBytes(), 0u);
  cachedFree(b);
}

TEST(BufferCacheTest, SmallBlocksAndNoSessionBypassTheCache) {
  void *large = cachedAllocate(kLarge); // no session: freed for real
  cachedFree(large);
  EXPECT_EQ(bufferCacheBytes(), 0u);
  BufferCacheUse session;
  void *small = cachedAllocate(100);
  ASSERT_NE(small, nullptr);
  EXPECT_TRUE(aligned16(small));
  cachedFree(small);
  EXPECT_EQ(bufferCacheBytes(), 0u);
  cachedFree(nullptr);
}

TEST(BufferCacheTest, TheLastSessionEmptiesTheCache) {
  {
    BufferCacheUse first;
    {
      BufferCacheUse second;
      cachedFree(cachedAllocate(kLarge));
    }
    EXPECT_GE(bufferCacheBytes(), kLarge); // `first` still lives
  }
  EXPECT_EQ(bufferCacheBytes(), 0u);
}

TEST(BufferCacheTest, ImpossibleSizesFail) {
  EXPECT_EQ(cachedAllocate(SIZE_MAX), nullptr);
}

TEST(BufferCacheTest, ThreadsAllocateAndFreeAtOnce) {
  BufferCacheUse session;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t] {
      for (int i = 0; i < 200; ++i) {
        size_t bytes = kLarge / 4 + size_t(i % 7) * 4096 + size_t(t);
        auto *p = static_cast<unsigned char *>(cachedAllocate(bytes));
        ASSERT_NE(p, nullptr);
        p[0] = p[bytes - 1] = static_cast<unsigned char>(t);
        cachedFree(p);
      }
    });
  for (std::thread &thread : threads)
    thread.join();
}

} // namespace
