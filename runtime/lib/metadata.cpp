//===- metadata.cpp - Parse and check the METADATA section ---------------===//

#include "metadata.h"

#include "byte_reader.h"
#include "error.h"
#include "kiln/artifact_format.h"

#include <cinttypes>
#include <cstring>
#include <set>

namespace kiln::rt {
namespace {

/// Smallest encoding of one table entry, used to reject counts that cannot
/// possibly fit before reserving memory for them.
constexpr uint64_t kMinTensorBytes = 4 + 4 + 4; // name length, dtype, rank
constexpr uint64_t kMinWeightBytes = kMinTensorBytes + 8 + 8;

kiln_status readTensor(ByteReader &reader, const std::string &what,
                       TensorInfo &out) {
  if (kiln_status status = reader.string(out.name, what + " name"))
    return status;
  std::string named = what + " '" + out.name + "'";
  uint32_t dtype = 0, rank = 0;
  if (kiln_status status = reader.scalar(dtype, named + " dtype"))
    return status;
  if (kiln_dtype_size(int(dtype)) == 0)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "corrupt metadata: %s has unknown dtype %u", named.c_str(),
                dtype);
  out.dtype = kiln_dtype(dtype);
  if (kiln_status status = reader.scalar(rank, named + " rank"))
    return status;
  if (uint64_t(rank) * 8 > reader.remaining())
    return reader.bytes(nullptr, uint64_t(rank) * 8, named + " dims");
  out.dims.resize(rank);
  if (kiln_status status =
          reader.bytes(out.dims.data(), uint64_t(rank) * 8, named + " dims"))
    return status;

  // Shapes are static in format version 1; size the tensor with overflow
  // checks so that nobody downstream has to.
  bool hasZero = false;
  for (int64_t dim : out.dims) {
    if (dim < 0)
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "corrupt metadata: %s has negative dimension %" PRId64
                  " (format version 1 has static shapes only)",
                  named.c_str(), dim);
    hasZero |= dim == 0;
  }
  uint64_t bytes = hasZero ? 0 : kiln_dtype_size(int(dtype));
  for (int64_t dim : out.dims) {
    if (bytes > (SIZE_MAX / 2) / uint64_t(dim ? dim : 1))
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "corrupt metadata: %s with shape %s is too large",
                  named.c_str(), shapeString(out.dims.data(), rank).c_str());
    bytes *= uint64_t(dim);
  }
  out.byteSize = bytes;
  out.elements = hasZero ? 0 : bytes / kiln_dtype_size(int(dtype));
  return KILN_STATUS_OK;
}

kiln_status readSignature(ByteReader &reader, const char *kind,
                          std::vector<TensorInfo> &out) {
  uint32_t count = 0;
  std::string countName = std::string("num_") + kind + "s";
  if (kiln_status status =
          reader.count(count, kMinTensorBytes, countName.c_str()))
    return status;
  out.resize(count);
  std::set<std::string> seen;
  for (uint32_t i = 0; i < count; ++i) {
    std::string what = format("%s %u", kind, i);
    if (kiln_status status = readTensor(reader, what, out[i]))
      return status;
    if (out[i].name.empty())
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "corrupt metadata: %s has an empty name", what.c_str());
    if (!seen.insert(out[i].name).second)
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "corrupt metadata: two %ss are named '%s'", kind,
                  out[i].name.c_str());
  }
  return KILN_STATUS_OK;
}

kiln_status readNonEmpty(ByteReader &reader, const char *what, std::string &out) {
  if (kiln_status status = reader.string(out, what))
    return status;
  if (out.empty())
    return fail(KILN_STATUS_CORRUPT_ARTIFACT, "corrupt metadata: empty %s",
                what);
  return KILN_STATUS_OK;
}

} // namespace

kiln_status parseMetadata(const uint8_t *data, uint64_t size, Metadata &out) {
  ByteReader reader(data, size, "corrupt metadata");
  uint32_t magic = 0;
  if (kiln_status status = reader.scalar(magic, "metadata magic"))
    return status;
  if (magic != KILN_METADATA_MAGIC)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "corrupt metadata: magic is 0x%08x, expected 0x%08x", magic,
                KILN_METADATA_MAGIC);

  Metadata metadata;
  if (kiln_status status = readNonEmpty(reader, "target", metadata.target))
    return status;
  if (kiln_status status =
          readNonEmpty(reader, "entry_symbol", metadata.entrySymbol))
    return status;

  uint32_t numWeights = 0;
  if (kiln_status status =
          reader.count(numWeights, kMinWeightBytes, "num_weights"))
    return status;
  metadata.weights.resize(numWeights);
  for (uint32_t i = 0; i < numWeights; ++i) {
    WeightInfo &weight = metadata.weights[i];
    std::string what = format("weight %u", i);
    uint64_t declaredSize = 0;
    if (kiln_status status = readTensor(reader, what, weight.tensor))
      return status;
    // Stored weights of sub-byte dtypes are packed (artifact_format.h);
    // never larger than the one-byte-per-element size checked above.
    weight.tensor.byteSize =
        kiln_dtype_packed_size(weight.tensor.dtype, weight.tensor.elements);
    what += " '" + weight.tensor.name + "'";
    if (kiln_status status = reader.scalar(weight.offset, what + " offset"))
      return status;
    if (kiln_status status = reader.scalar(declaredSize, what + " byte_size"))
      return status;
    if (declaredSize != weight.tensor.byteSize) {
      unsigned bits = kiln_dtype_bits(weight.tensor.dtype);
      std::string packed =
          bits < 8 ? format(" (packed, %u bits per element)", bits) : "";
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "corrupt metadata: %s has byte_size %" PRIu64
                  " but %s%s needs %" PRIu64 "%s",
                  what.c_str(), declaredSize,
                  kiln_dtype_name(weight.tensor.dtype),
                  shapeString(weight.tensor.dims.data(),
                              uint32_t(weight.tensor.dims.size()))
                      .c_str(),
                  weight.tensor.byteSize, packed.c_str());
    }
  }

  if (kiln_status status = readSignature(reader, "input", metadata.inputs))
    return status;
  if (kiln_status status = readSignature(reader, "output", metadata.outputs))
    return status;

  // The workspace is allocated in one piece when a session is created; a
  // size no address space holds is corruption, not an allocation failure.
  if (kiln_status status =
          reader.scalar(metadata.workspaceBytes, "workspace_bytes"))
    return status;
  if (metadata.workspaceBytes > SIZE_MAX / 2)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "corrupt metadata: workspace_bytes %" PRIu64
                " is too large (at most %zu)",
                metadata.workspaceBytes, size_t(SIZE_MAX / 2));
  if (metadata.workspaceBytes != 0 &&
      metadata.target.compare(0, 4, "cpu-") != 0)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "corrupt metadata: workspace_bytes is %" PRIu64
                " but only \"cpu-\" targets have a host workspace (target "
                "'%s')",
                metadata.workspaceBytes, metadata.target.c_str());

  for (uint64_t i = reader.position(); i < size; ++i)
    if (data[i] != 0)
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "corrupt metadata: unexpected non-zero byte at offset "
                  "%" PRIu64 " after workspace_bytes",
                  i);
  out = std::move(metadata);
  return KILN_STATUS_OK;
}

kiln_status checkWeights(const Metadata &metadata, const SectionRef &weights) {
  for (const WeightInfo &weight : metadata.weights) {
    const char *name = weight.tensor.name.c_str();
    if (weight.offset % KILN_ARTIFACT_ALIGNMENT != 0)
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "weight '%s' at offset %" PRIu64 " is not %u-byte aligned",
                  name, weight.offset, KILN_ARTIFACT_ALIGNMENT);
    if (weight.tensor.byteSize == 0)
      continue; // gets a dummy pointer; needs no bytes in the section
    if (!weights.present)
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "weight '%s' needs %" PRIu64
                  " bytes but the artifact has no WEIGHTS section",
                  name, weight.tensor.byteSize);
    if (weight.offset > weights.size ||
        weight.tensor.byteSize > weights.size - weight.offset)
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "weight '%s' at offset %" PRIu64 " with size %" PRIu64
                  " extends past the end of the WEIGHTS section (%" PRIu64
                  " bytes)",
                  name, weight.offset, weight.tensor.byteSize, weights.size);
  }
  return KILN_STATUS_OK;
}

} // namespace kiln::rt
