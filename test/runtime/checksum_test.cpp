//===- checksum_test.cpp - The artifact checksum is XXH64, piece by piece -===//
//
// The compiler hashes an artifact as the pieces it writes (headers, code,
// each weight where it lies, padding); the runtime hashes the mapped file
// in one call. Both must agree with each other and with the published
// XXH64 (seed 0), whose reference values are pinned here.
//
//===----------------------------------------------------------------------===//

#include "kiln/artifact_format.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace {

TEST(ChecksumTest, MatchesPublishedXXH64) {
  // Values of the reference implementation (libxxhash 0.8.1, XXH64, seed 0):
  // every tail path (no stripe, bytes, a 4-byte word, 8-byte words).
  EXPECT_EQ(kiln_checksum("", 0), 0xef46db3751d8e999ull);
  EXPECT_EQ(kiln_checksum("a", 1), 0xd24ec4f1a98c6e5bull);
  EXPECT_EQ(kiln_checksum("abc", 3), 0x44bc2cf5ad770999ull);
  const char *fox = "The quick brown fox jumps over the lazy dog";
  EXPECT_EQ(kiln_checksum(fox, std::strlen(fox)), 0x0b242d361fda71bcull);
}

TEST(ChecksumTest, PiecesHashLikeTheWhole) {
  std::vector<unsigned char> bytes(10007);
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<unsigned char>(i * 131 + 7);
  uint64_t whole = kiln_checksum(bytes.data(), bytes.size());
  // Pieces of every size from 0 to 96 bytes, so that stripes are begun and
  // finished across piece boundaries in every possible way.
  for (size_t step : {1, 3, 31, 32, 33, 64, 96}) {
    kiln_checksum_state state;
    kiln_checksum_init(&state);
    size_t offset = 0, size = 0;
    while (offset < bytes.size()) {
      size = std::min((size + step) % 97, bytes.size() - offset);
      kiln_checksum_update(&state, bytes.data() + offset, size);
      offset += size;
    }
    EXPECT_EQ(kiln_checksum_final(&state), whole) << "step " << step;
  }
}

TEST(ChecksumTest, EveryByteCounts) {
  std::vector<unsigned char> bytes(1000, 0x5a);
  uint64_t reference = kiln_checksum(bytes.data(), bytes.size());
  for (size_t i : {0, 31, 32, 500, 995, 999}) {
    bytes[i] ^= 1;
    EXPECT_NE(kiln_checksum(bytes.data(), bytes.size()), reference)
        << "byte " << i;
    bytes[i] ^= 1;
  }
  EXPECT_NE(kiln_checksum(bytes.data(), bytes.size() - 1), reference);
}

} // namespace
