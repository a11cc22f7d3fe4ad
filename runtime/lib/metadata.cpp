//===- metadata.cpp - Parse and check the METADATA section ---------------===//

#include "metadata.h"

#include "byte_reader.h"
#include "error.h"
#include "kiln/artifact_format.h"

#include <cinttypes>
#include <cstring>
#include <algorithm>
#include <set>

namespace kiln::rt {
namespace {

/// Smallest encoding of one table entry, used to reject counts that cannot
/// possibly fit before reserving memory for them.
constexpr uint64_t kMinTensorBytes = 4 + 4 + 4; // name length, dtype, rank
constexpr uint64_t kMinWeightBytes = kMinTensorBytes + 8 + 8;
constexpr uint64_t kMinSymbolBytes = 4 + 8 + 8; // name length, min, max

/// Inputs and outputs may have symbolic dims; weights never do.
enum class DimKinds { StaticOnly, StaticOrSymbolic };

kiln_status readTensor(ByteReader &reader, const std::string &what,
                       DimKinds allowed, TensorInfo &out) {
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

  out.symbolic = std::any_of(out.dims.begin(), out.dims.end(), isSymbolic);
  if (out.symbolic && allowed == DimKinds::StaticOnly)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "corrupt metadata: %s has a symbolic dimension in shape %s "
                "(weights are static)",
                named.c_str(), shapeString(out.dims.data(), rank).c_str());
  // A symbolic tensor is sized per run, and its symbol references are
  // checked once the symbol table is read. A static one is sized here, with
  // overflow checks, so that nobody downstream has to.
  if (out.symbolic)
    return KILN_STATUS_OK;
  uint64_t bytes = 0;
  if (!denseByteSize(out.dims.data(), rank, kiln_dtype_size(int(dtype)),
                     bytes))
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "corrupt metadata: %s with shape %s is too large",
                named.c_str(), shapeString(out.dims.data(), rank).c_str());
  out.byteSize = bytes;
  out.elements = bytes / kiln_dtype_size(int(dtype));
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
    if (kiln_status status =
            readTensor(reader, what, DimKinds::StaticOrSymbolic, out[i]))
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

kiln_status readSymbol(ByteReader &reader, uint32_t index, SymbolInfo &out) {
  std::string what = format("symbol %u", index);
  if (kiln_status status = reader.name(out.name, what))
    return status;
  what += " '" + out.name + "'";
  if (kiln_status status = reader.scalar(out.min, what + " min"))
    return status;
  if (kiln_status status = reader.scalar(out.max, what + " max"))
    return status;
  if (out.min < 0 || out.min > out.max || out.max > KILN_MAX_SYMBOL_VALUE)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "corrupt metadata: %s has range %" PRId64 "..%" PRId64
                "; a range needs 0 <= min <= max <= %" PRId64,
                what.c_str(), out.min, out.max, KILN_MAX_SYMBOL_VALUE);
  return KILN_STATUS_OK;
}

/// The symbol table that ends a version-3 METADATA; nothing before that.
kiln_status readSymbols(ByteReader &reader, uint32_t formatVersion,
                        std::vector<SymbolInfo> &out) {
  if (formatVersion < KILN_ARTIFACT_SYMBOLS_VERSION)
    return KILN_STATUS_OK;
  return reader.namedTable(
      out, kMinSymbolBytes, "num_symbols",
      [&](uint32_t i, SymbolInfo &symbol) -> kiln_status {
        return readSymbol(reader, i, symbol);
      },
      [](const SymbolInfo &symbol) -> const std::string & {
        return symbol.name;
      },
      [](const std::string &name) -> kiln_status {
        return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                    "corrupt metadata: two symbols are named '%s'",
                    name.c_str());
      });
}

/// The names of the computed symbols, which (when there are any) follow the
/// table in a version-3 METADATA: u32 count, then a str per name.
kiln_status readComputedSymbols(ByteReader &reader, uint64_t size,
                                std::vector<SymbolInfo> &symbols,
                                size_t &numComputed) {
  numComputed = 0;
  if (reader.position() + sizeof(uint32_t) > size)
    return KILN_STATUS_OK; // the table ends METADATA
  uint32_t count = 0;
  if (kiln_status status = reader.count(count, sizeof(uint32_t) + 1, "num_computed"))
    return status;
  std::set<std::string> seen;
  for (const SymbolInfo &s : symbols)
    seen.insert(s.name);
  for (uint32_t i = 0; i < count; ++i) {
    SymbolInfo symbol;
    symbol.computed = true;
    symbol.max = KILN_MAX_SYMBOL_VALUE;
    std::string what = format("computed symbol %u", i);
    if (kiln_status status = reader.nonEmptyString(symbol.name, what))
      return status;
    if (!seen.insert(symbol.name).second)
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "corrupt metadata: two symbols are named '%s'",
                  symbol.name.c_str());
    symbols.push_back(std::move(symbol));
  }
  numComputed = count;
  return KILN_STATUS_OK;
}

/// Inputs name no computed symbol: a run cannot compute what it reads.
kiln_status checkInputsBindTheirSymbols(const Metadata &metadata) {
  for (const TensorInfo &input : metadata.inputs)
    for (size_t d = 0; d < input.dims.size(); ++d)
      if (isSymbolic(input.dims[d]) &&
          metadata.symbols[symbolIndex(input.dims[d])].computed)
        return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                    "corrupt metadata: input '%s' dim %zu names '%s', which "
                    "only a run computes",
                    input.name.c_str(), d,
                    metadata.symbols[symbolIndex(input.dims[d])].name.c_str());
  return KILN_STATUS_OK;
}

/// Every symbolic dim of `tensors` names a symbol of the table.
kiln_status checkSymbolReferences(const std::vector<TensorInfo> &tensors,
                                  const char *kind, size_t numSymbols) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    const std::vector<int64_t> &dims = tensors[i].dims;
    for (size_t d = 0; d < dims.size(); ++d)
      if (isSymbolic(dims[d]) && symbolIndex(dims[d]) >= numSymbols)
        return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                    "corrupt metadata: %s %zu '%s' dim %zu is %" PRId64
                    ", which names symbol %" PRIu64
                    ", but the model has %zu symbols",
                    kind, i, tensors[i].name.c_str(), d, dims[d],
                    symbolIndex(dims[d]), numSymbols);
  }
  return KILN_STATUS_OK;
}

/// The runtime learns a symbol's value from the inputs' shapes only, so a
/// symbol no input uses could never be given one. (References are valid.)
kiln_status checkEverySymbolHasAnInput(const Metadata &metadata) {
  std::vector<bool> used(metadata.symbols.size(), false);
  for (const TensorInfo &input : metadata.inputs)
    for (int64_t dim : input.dims)
      if (isSymbolic(dim))
        used[symbolIndex(dim)] = true;
  for (size_t k = 0; k < used.size(); ++k)
    if (!used[k] && !metadata.symbols[k].computed)
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "corrupt metadata: symbol '%s' occurs in no input's shape, "
                  "so no run could give it a value",
                  metadata.symbols[k].name.c_str());
  return KILN_STATUS_OK;
}

kiln_status checkSymbolUses(const Metadata &metadata) {
  size_t numSymbols = metadata.symbols.size();
  if (kiln_status status =
          checkSymbolReferences(metadata.inputs, "input", numSymbols))
    return status;
  if (kiln_status status =
          checkSymbolReferences(metadata.outputs, "output", numSymbols))
    return status;
  if (kiln_status status = checkInputsBindTheirSymbols(metadata))
    return status;
  return checkEverySymbolHasAnInput(metadata);
}

/// The outputs with a computed dim, in output order.
std::vector<size_t> computedOutputsOf(const Metadata &metadata) {
  std::vector<size_t> outputs;
  for (size_t i = 0; i < metadata.outputs.size(); ++i)
    for (int64_t dim : metadata.outputs[i].dims)
      if (isSymbolic(dim) && metadata.symbols[symbolIndex(dim)].computed) {
        outputs.push_back(i);
        break;
      }
  return outputs;
}

} // namespace

bool denseByteSize(const int64_t *dims, size_t rank, uint64_t elementSize,
                   uint64_t &bytes) {
  // A zero dim empties the tensor whatever the others are: looking for one
  // first keeps the product below from overflowing on the way.
  if (std::find(dims, dims + rank, 0) != dims + rank) {
    bytes = 0;
    return true;
  }
  uint64_t total = elementSize;
  for (size_t i = 0; i < rank; ++i) {
    if (total > (SIZE_MAX / 2) / uint64_t(dims[i]))
      return false;
    total *= uint64_t(dims[i]);
  }
  bytes = total;
  return true;
}

std::string symbolicShapeString(const std::vector<int64_t> &dims,
                                const std::vector<SymbolInfo> &symbols) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i)
      text += ',';
    bool named = isSymbolic(dims[i]) && symbolIndex(dims[i]) < symbols.size();
    text += named ? symbols[symbolIndex(dims[i])].name
                  : std::to_string(dims[i]);
  }
  return text + "]";
}

kiln_status parseMetadata(const uint8_t *data, uint64_t size,
                          uint32_t formatVersion, Metadata &out) {
  ByteReader reader(data, size, "corrupt metadata");
  if (kiln_status status = reader.magic(KILN_METADATA_MAGIC))
    return status;

  Metadata metadata;
  if (kiln_status status = reader.nonEmptyString(metadata.target, "target"))
    return status;
  if (kiln_status status =
          reader.nonEmptyString(metadata.entrySymbol, "entry_symbol"))
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
    if (kiln_status status =
            readTensor(reader, what, DimKinds::StaticOnly, weight.tensor))
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

  if (kiln_status status =
          readSymbols(reader, formatVersion, metadata.symbols))
    return status;
  if (formatVersion >= KILN_ARTIFACT_SYMBOLS_VERSION)
    if (kiln_status status = readComputedSymbols(
            reader, size, metadata.symbols, metadata.numComputedSymbols))
      return status;
  if (kiln_status status = checkSymbolUses(metadata))
    return status;
  metadata.computedOutputs = computedOutputsOf(metadata);

  const char *lastField = formatVersion < KILN_ARTIFACT_SYMBOLS_VERSION
                              ? "workspace_bytes"
                              : "the symbol table";
  for (uint64_t i = reader.position(); i < size; ++i)
    if (data[i] != 0)
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "corrupt metadata: unexpected non-zero byte at offset "
                  "%" PRIu64 " after %s",
                  i, lastField);
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
