//===- block_allocator_test.cpp - The paged KV cache's free list ----------===//
//
// Compiled with runtime/lib/block_allocator.h itself (header-only): blocks
// are handed out once each, come back on release and are handed out again
// (most recently freed first), and bad releases change nothing.

#include "block_allocator.h"

#include <gtest/gtest.h>

using kiln::rt::BlockAllocator;

TEST(BlockAllocator, HandsOutEachBlockOnce) {
  BlockAllocator pool(4);
  std::vector<int64_t> a, b;
  ASSERT_TRUE(pool.allocate(3, a));
  EXPECT_EQ(a, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(pool.available(), 1);
  EXPECT_FALSE(pool.allocate(2, b)); // only one left: nothing taken
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(pool.available(), 1);
  ASSERT_TRUE(pool.allocate(1, b));
  EXPECT_EQ(b, (std::vector<int64_t>{3}));
  EXPECT_EQ(pool.available(), 0);
  EXPECT_EQ(pool.peakUsed(), 4);
  EXPECT_TRUE(pool.allocate(0, b));
  EXPECT_FALSE(pool.allocate(-1, b));
}

TEST(BlockAllocator, ReusesFreedBlocks) {
  BlockAllocator pool(3);
  std::vector<int64_t> a, b, c;
  ASSERT_TRUE(pool.allocate(2, a));
  ASSERT_TRUE(pool.release(a));
  EXPECT_EQ(pool.available(), 3);
  ASSERT_TRUE(pool.allocate(3, b)); // the freed ones first
  EXPECT_EQ(b[0], a[1]);
  EXPECT_EQ(b[1], a[0]);
  EXPECT_EQ(pool.handedOut(), 5u);
  EXPECT_EQ(pool.peakUsed(), 3);
  // More blocks handed out over time than the pool has: reuse.
  for (int round = 0; round < 10; ++round) {
    ASSERT_TRUE(pool.release(b));
    b.clear();
    ASSERT_TRUE(pool.allocate(3, b));
  }
  EXPECT_EQ(pool.handedOut(), 35u);
  EXPECT_EQ(pool.peakUsed(), 3);
  (void)c;
}

TEST(BlockAllocator, BadReleasesChangeNothing) {
  BlockAllocator pool(4);
  std::vector<int64_t> a;
  ASSERT_TRUE(pool.allocate(2, a)); // 0, 1
  EXPECT_FALSE(pool.release({2}));        // never handed out
  EXPECT_FALSE(pool.release({4}));        // not a block of the pool
  EXPECT_FALSE(pool.release({-1}));
  EXPECT_FALSE(pool.release({0, 0}));     // twice
  EXPECT_FALSE(pool.release({0, 3}));     // one good, one bad: neither
  EXPECT_EQ(pool.available(), 2);
  ASSERT_TRUE(pool.release({0}));
  EXPECT_FALSE(pool.release({0}));        // already back
  EXPECT_EQ(pool.available(), 3);
}

TEST(BlockAllocator, EmptyPool) {
  BlockAllocator pool(0);
  std::vector<int64_t> a;
  EXPECT_FALSE(pool.allocate(1, a));
  EXPECT_TRUE(pool.allocate(0, a));
  EXPECT_EQ(pool.total(), 0);
}
