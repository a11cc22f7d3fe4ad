//===- artifact.cpp - Validate an artifact's header and sections ---------===//
//
// The order of the checks matters for the messages: a file from another
// program fails on the magic, a file from another compiler version fails on
// the version (whatever else changed in its layout), and only then are size,
// checksum and section bounds checked.
//
//===----------------------------------------------------------------------===//

#include "artifact.h"

#include "error.h"
#include "kiln/artifact_format.h"

#include <cinttypes>
#include <cstring>

static_assert(sizeof(kiln_artifact_header) == KILN_ARTIFACT_HEADER_SIZE,
              "header layout must match the format");
static_assert(sizeof(kiln_artifact_section) == KILN_ARTIFACT_SECTION_ENTRY_SIZE,
              "section entry layout must match the format");
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the artifact is little-endian and read in place");

namespace kiln::rt {

SectionRef *ArtifactLayout::section(uint32_t kind) {
  switch (kind) {
  case KILN_SECTION_METADATA:
    return &metadata;
  case KILN_SECTION_HOST_CODE:
    return &hostCode;
  case KILN_SECTION_WEIGHTS:
    return &weights;
  case KILN_SECTION_GPU_CODE:
    return &gpuCode;
  case KILN_SECTION_GENERATION:
    return &generation;
  case KILN_SECTION_RANKS:
    return &ranks;
  case KILN_SECTION_KERNELS:
    return &kernels;
  case KILN_SECTION_LAUNCHES:
    return &launches;
  case KILN_SECTION_VALUES:
    return &values;
  case KILN_SECTION_KERNEL_DETAILS:
    return &kernelDetails;
  case KILN_SECTION_MEMORY_PLAN:
    return &memoryPlan;
  case KILN_SECTION_DUMPS:
    return &dumps;
  default:
    return nullptr;
  }
}

namespace {

const char *sectionName(uint32_t kind) {
  // Indexed by the section kinds, numbered from 1 without gaps.
  static const char *const names[] = {
      "METADATA", "HOST_CODE", "WEIGHTS",        "GPU_CODE",
      "GENERATION", "RANKS",   "KERNELS",        "LAUNCHES",
      "VALUES",   "KERNEL_DETAILS", "MEMORY_PLAN", "DUMPS"};
  static_assert(sizeof(names) / sizeof(names[0]) == KILN_SECTION_DUMPS,
                "one name per section kind");
  return kind >= 1 && kind <= KILN_SECTION_DUMPS ? names[kind - 1] : "unknown";
}


kiln_status checkHeader(const kiln_artifact_header &header, uint64_t size) {
  if (header.format_version < KILN_ARTIFACT_MIN_FORMAT_VERSION ||
      header.format_version > KILN_ARTIFACT_FORMAT_VERSION)
    return fail(KILN_STATUS_VERSION_MISMATCH,
                "artifact format version %u, this runtime reads versions %u "
                "to %u; recompile the model",
                header.format_version, KILN_ARTIFACT_MIN_FORMAT_VERSION,
                KILN_ARTIFACT_FORMAT_VERSION);
  if (header.header_size != KILN_ARTIFACT_HEADER_SIZE)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "corrupt header: header_size is %u, format version %u "
                "requires %u",
                header.header_size, header.format_version,
                KILN_ARTIFACT_HEADER_SIZE);
  if (header.file_size != size)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "%s: header says %" PRIu64 " bytes, file has %" PRIu64,
                header.file_size > size ? "truncated" : "trailing data",
                header.file_size, size);
  uint64_t checksum =
      kiln_checksum(reinterpret_cast<const uint8_t *>(&header) +
                        KILN_ARTIFACT_HEADER_SIZE,
                    size - KILN_ARTIFACT_HEADER_SIZE);
  if (checksum != header.checksum)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "checksum mismatch: header says 0x%016" PRIx64
                ", contents hash to 0x%016" PRIx64 "; the file is corrupt",
                header.checksum, checksum);
  return KILN_STATUS_OK;
}

kiln_status checkSection(const kiln_artifact_section &entry, uint32_t index,
                         uint64_t fileSize, uint64_t tableOffset,
                         uint64_t tableBytes) {
  const char *name = sectionName(entry.kind);
  // Written as subtractions so that a huge offset cannot wrap around.
  if (entry.offset > fileSize || entry.size > fileSize - entry.offset)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "section %u (%s) at offset %" PRIu64 " with size %" PRIu64
                " extends past the end of the file (%" PRIu64 " bytes)",
                index, name, entry.offset, entry.size, fileSize);
  // Both ranges are now known to lie inside the file, so their ends cannot
  // overflow.
  bool overlapsTable = entry.size > 0 && tableBytes > 0 &&
                       entry.offset < tableOffset + tableBytes &&
                       tableOffset < entry.offset + entry.size;
  if (entry.offset < KILN_ARTIFACT_HEADER_SIZE || overlapsTable)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "section %u (%s) at offset %" PRIu64
                " overlaps the header or the section table",
                index, name, entry.offset);
  if (entry.offset % KILN_ARTIFACT_ALIGNMENT != 0)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "section %u (%s) at offset %" PRIu64 " is not %u-byte aligned",
                index, name, entry.offset, KILN_ARTIFACT_ALIGNMENT);
  return KILN_STATUS_OK;
}

} // namespace

kiln_status validateArtifact(const uint8_t *data, uint64_t size,
                             ArtifactLayout &out) {
  if (size < sizeof(KILN_ARTIFACT_MAGIC) ||
      std::memcmp(data, KILN_ARTIFACT_MAGIC, sizeof(KILN_ARTIFACT_MAGIC)) != 0)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "not a Kiln artifact (bad magic)");
  if (size < KILN_ARTIFACT_HEADER_SIZE)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "truncated: file has %" PRIu64
                " bytes, less than the %u-byte header",
                size, KILN_ARTIFACT_HEADER_SIZE);

  // The mapping is page-aligned, so the header can be read in place.
  const auto &header = *reinterpret_cast<const kiln_artifact_header *>(data);
  if (kiln_status status = checkHeader(header, size))
    return status;

  uint64_t tableOffset = header.section_table_offset;
  uint64_t tableBytes =
      uint64_t(header.section_count) * KILN_ARTIFACT_SECTION_ENTRY_SIZE;
  if (tableOffset < KILN_ARTIFACT_HEADER_SIZE || tableOffset > size ||
      tableBytes > size - tableOffset)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "section table (%u entries at offset %" PRIu64
                ") does not fit in the file (%" PRIu64 " bytes)",
                header.section_count, tableOffset, size);
  if (tableOffset % alignof(kiln_artifact_section) != 0)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "section table offset %" PRIu64 " is not 8-byte aligned",
                tableOffset);

  ArtifactLayout layout;
  layout.formatVersion = header.format_version;
  const auto *table =
      reinterpret_cast<const kiln_artifact_section *>(data + tableOffset);
  for (uint32_t i = 0; i < header.section_count; ++i) {
    if (kiln_status status =
            checkSection(table[i], i, size, tableOffset, tableBytes))
      return status;
    SectionRef *slot = layout.section(table[i].kind);
    if (!slot)
      continue;
    if (slot->present)
      return fail(KILN_STATUS_CORRUPT_ARTIFACT, "more than one %s section",
                  sectionName(table[i].kind));
    *slot = SectionRef{true, table[i].offset, table[i].size};
  }
  if (!layout.metadata.present)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT, "no METADATA section");
  out = layout;
  return KILN_STATUS_OK;
}

} // namespace kiln::rt
