//===- ranks.cpp - Parse the RANKS section --------------------------------===//

#include "ranks.h"

#include "byte_reader.h"
#include "error.h"
#include "kiln/artifact_format.h"

namespace kiln::rt {

kiln_status parseRanks(const uint8_t *data, uint64_t size, RankTable &out) {
  ByteReader reader(data, size, "corrupt RANKS section");
  if (kiln_status status = reader.magic(KILN_RANKS_MAGIC))
    return status;
  uint32_t count = 0;
  // Each entry: a string length and two u64s at least.
  if (kiln_status status = reader.count(count, 4 + 16, "num_ranks"))
    return status;
  if (count < 2 || count > KILN_MAX_RANKS)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "corrupt RANKS section: num_ranks is %u, must lie in [2, %u]",
                count, KILN_MAX_RANKS);
  RankTable table;
  if (kiln_status status = reader.string(table.plan, "plan"))
    return status;
  table.ranks.resize(count);
  for (uint32_t r = 0; r < count; ++r) {
    RankEntry &entry = table.ranks[r];
    std::string what = format("rank %u", r);
    if (kiln_status status = reader.string(entry.summary, what + " summary"))
      return status;
    if (kiln_status status = reader.scalar(entry.offset, what + " offset"))
      return status;
    if (kiln_status status = reader.scalar(entry.size, what + " size"))
      return status;
    if (entry.offset % KILN_ARTIFACT_ALIGNMENT != 0)
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "corrupt RANKS section: rank %u's artifact at offset %" PRIu64
                  " is not %u-byte aligned",
                  r, entry.offset, KILN_ARTIFACT_ALIGNMENT);
    if (entry.offset > size || entry.size > size - entry.offset ||
        entry.size < KILN_ARTIFACT_HEADER_SIZE)
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "corrupt RANKS section: rank %u's artifact (%" PRIu64
                  " bytes at offset %" PRIu64
                  ") does not lie inside the section (%" PRIu64 " bytes)",
                  r, entry.size, entry.offset, size);
  }
  out = std::move(table);
  return KILN_STATUS_OK;
}

} // namespace kiln::rt
