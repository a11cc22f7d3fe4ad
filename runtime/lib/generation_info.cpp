//===- generation_info.cpp - Parse and check the GENERATION section ------===//

#include "generation_info.h"

#include "byte_reader.h"
#include "error.h"
#include "kiln/artifact_format.h"

#include <algorithm>
#include <cstring>

namespace kiln::rt {
namespace {

constexpr const char *kContext = "corrupt GENERATION";

kiln_status corrupt(const std::string &detail) {
  return fail(KILN_STATUS_CORRUPT_ARTIFACT, "%s: %s", kContext,
              detail.c_str());
}

bool isInteger(kiln_dtype d) {
  return d == KILN_DTYPE_INT64 || d == KILN_DTYPE_INT32 ||
         d == KILN_DTYPE_INT16 || d == KILN_DTYPE_INT8 ||
         d == KILN_DTYPE_UINT8 || d == KILN_DTYPE_UINT16 ||
         d == KILN_DTYPE_UINT32 || d == KILN_DTYPE_UINT64;
}

bool isFloat(kiln_dtype d) {
  return d == KILN_DTYPE_FLOAT32 || d == KILN_DTYPE_FLOAT16 ||
         d == KILN_DTYPE_BFLOAT16 || d == KILN_DTYPE_FLOAT64;
}

/// The index of the tensor named `name` in `tensors`, or a corruption
/// status naming the role it was read for.
kiln_status find(const std::vector<TensorInfo> &tensors, const std::string &name,
                 const char *role, size_t &out) {
  auto it = std::find_if(tensors.begin(), tensors.end(),
                         [&](const TensorInfo &t) { return t.name == name; });
  if (it == tensors.end())
    return corrupt(format("the %s '%s' is not in the signature", role,
                          name.c_str()));
  out = size_t(it - tensors.begin());
  return KILN_STATUS_OK;
}

/// The window tail (after the paged one): the windowed pools, their
/// block count and block table.
kiln_status parseWindowTail(ByteReader &reader, const Metadata &metadata,
                            GenerationInfo &out) {
  if (kiln_status status = reader.scalar(out.windowBlocks, "window_blocks"))
    return status;
  std::string table;
  if (kiln_status status = reader.string(table, "window_block_table"))
    return status;
  if (out.windowBlocks < 1 || out.windowBlocks > (int64_t(1) << 31))
    return corrupt(format("window_blocks %lld is outside [1, 2^31]",
                          (long long)out.windowBlocks));
  if (kiln_status status =
          find(metadata.inputs, table, "window block table input",
               out.windowBlockTableInput))
    return status;
  const TensorInfo &wt = metadata.inputs[out.windowBlockTableInput];
  size_t index = out.windowBlockTableInput;
  if (wt.dtype != KILN_DTYPE_INT64 || wt.dims.size() != 2 || wt.dims[1] < 1 ||
      wt.dims[1] > out.maxSeq / out.kvBlockSize || index == out.tokensInput ||
      index == out.positionsInput || index == out.blockTableInput ||
      std::count(out.stateInputs.begin(), out.stateInputs.end(), index))
    return corrupt("the window block table must be an int64 [batch, "
                   "blocks] input (at most max_seq / block_size blocks) "
                   "other than the tokens, positions, block table and "
                   "states");
  out.windowColumns = wt.dims[1];
  uint32_t count = 0;
  if (kiln_status status = reader.count(count, 4, "num_window"))
    return status;
  if (count == 0)
    return corrupt("a window tail without windowed pools");
  for (uint32_t i = 0; i < count; ++i) {
    std::string name;
    if (kiln_status status = reader.string(name, format("window %u", i)))
      return status;
    size_t state = 0;
    if (kiln_status status =
            find(metadata.inputs, name, "windowed pool", state))
      return status;
    if (!std::count(out.stateInputs.begin(), out.stateInputs.end(), state) ||
        std::count(out.windowStates.begin(), out.windowStates.end(), state))
      return corrupt(format("windowed pool '%s' is not a state input or is "
                            "listed twice",
                            name.c_str()));
    out.windowStates.push_back(state);
  }
  out.hasFullStates = out.windowStates.size() < out.stateInputs.size();
  return KILN_STATUS_OK;
}

/// The paged tail, after the state names: block size and count, the block
/// table, then optionally the window tail; checks every pool's shape.
kiln_status parsePagedTail(ByteReader &reader, const uint8_t *data,
                           uint64_t size, const Metadata &metadata,
                           GenerationInfo &out) {
  uint32_t tail = 0;
  if (kiln_status status = reader.scalar(tail, "paged magic"))
    return status;
  if (kiln_status status = reader.scalar(out.kvBlockSize, "block_size"))
    return status;
  if (kiln_status status = reader.scalar(out.kvBlocks, "num_blocks"))
    return status;
  std::string table;
  if (kiln_status status = reader.string(table, "block_table"))
    return status;
  if (out.kvBlockSize < 1 || out.maxSeq % out.kvBlockSize != 0)
    return corrupt(format("block_size %lld must be positive and divide "
                          "max_seq %lld",
                          (long long)out.kvBlockSize, (long long)out.maxSeq));
  if (out.kvBlocks < 1 || out.kvBlocks > (int64_t(1) << 31))
    return corrupt(format("num_blocks %lld is outside [1, 2^31]",
                          (long long)out.kvBlocks));
  if (kiln_status status = find(metadata.inputs, table, "block table input",
                                out.blockTableInput))
    return status;
  const TensorInfo &bt = metadata.inputs[out.blockTableInput];
  if (bt.dtype != KILN_DTYPE_INT64 || bt.dims.size() != 2 ||
      out.blockTableInput == out.tokensInput ||
      out.blockTableInput == out.positionsInput ||
      std::count(out.stateInputs.begin(), out.stateInputs.end(),
                 out.blockTableInput))
    return corrupt("the block table must be an int64 [batch, blocks] "
                   "input other than the tokens, positions and states");
  if (reader.remaining() >= 4) {
    std::memcpy(&tail, data + (size - reader.remaining()), 4);
    if (tail == KILN_GENERATION_WINDOW_MAGIC) {
      if (kiln_status status = reader.scalar(tail, "window magic"))
        return status;
      if (kiln_status status = parseWindowTail(reader, metadata, out))
        return status;
    }
  }
  for (size_t index : out.stateInputs) {
    const TensorInfo &pool = metadata.inputs[index];
    bool windowed =
        std::count(out.windowStates.begin(), out.windowStates.end(), index);
    int64_t blocks = windowed ? out.windowBlocks : out.kvBlocks;
    if (pool.dims.size() != 4 || pool.dims[0] != blocks ||
        pool.dims[2] != out.kvBlockSize)
      return corrupt(format("state input '%s' is not a pool of %lld "
                            "blocks of %lld positions",
                            pool.name.c_str(), (long long)blocks,
                            (long long)out.kvBlockSize));
  }
  return KILN_STATUS_OK;
}

} // namespace

kiln_status parseGeneration(const uint8_t *data, uint64_t size,
                            const Metadata &metadata, GenerationInfo &out) {
  ByteReader reader(data, size, kContext);
  if (kiln_status status = reader.magic(KILN_GENERATION_MAGIC))
    return status;
  if (kiln_status status = reader.scalar(out.maxSeq, "max_seq"))
    return status;
  if (out.maxSeq < 1 || out.maxSeq > KILN_MAX_SYMBOL_VALUE)
    return corrupt(format("max_seq %lld is outside [1, 2^40]",
                          (long long)out.maxSeq));
  std::string tokens, positions, logits;
  if (kiln_status status = reader.string(tokens, "tokens"))
    return status;
  if (kiln_status status = reader.string(positions, "positions"))
    return status;
  if (kiln_status status = reader.string(logits, "logits"))
    return status;
  if (kiln_status status =
          find(metadata.inputs, tokens, "tokens input", out.tokensInput))
    return status;
  if (kiln_status status = find(metadata.inputs, positions, "positions input",
                                out.positionsInput))
    return status;
  if (kiln_status status =
          find(metadata.outputs, logits, "logits output", out.logitsOutput))
    return status;
  const TensorInfo &t = metadata.inputs[out.tokensInput];
  const TensorInfo &p = metadata.inputs[out.positionsInput];
  const TensorInfo &l = metadata.outputs[out.logitsOutput];
  if (!isInteger(t.dtype) || t.dims.size() != 2)
    return corrupt("the tokens input must be integers [batch, seq]");
  if (p.dtype != KILN_DTYPE_INT64 || p.dims.size() != 1 ||
      out.positionsInput == out.tokensInput)
    return corrupt("the positions input must be int64 [batch]");
  if (!isFloat(l.dtype) || l.dims.size() != 3)
    return corrupt("the logits output must be float [batch, seq, vocab]");
  uint32_t count = 0;
  if (kiln_status status = reader.count(count, 4, "num_state"))
    return status;
  for (uint32_t i = 0; i < count; ++i) {
    std::string name;
    if (kiln_status status = reader.string(name, format("state %u", i)))
      return status;
    size_t index = 0;
    if (kiln_status status = find(metadata.inputs, name, "state input", index))
      return status;
    if (index == out.tokensInput || index == out.positionsInput ||
        std::count(out.stateInputs.begin(), out.stateInputs.end(), index))
      return corrupt(format("state input '%s' is listed twice or is the "
                            "tokens or positions",
                            name.c_str()));
    out.stateInputs.push_back(index);
  }
  // The paged tail: its magic where padding would be zeros.
  if (reader.remaining() >= 4) {
    uint32_t tail = 0;
    std::memcpy(&tail, data + (size - reader.remaining()), 4);
    if (tail == KILN_GENERATION_PAGED_MAGIC)
      if (kiln_status status =
              parsePagedTail(reader, data, size, metadata, out))
        return status;
  }
  while (reader.remaining()) {
    uint8_t pad = 0;
    if (kiln_status status = reader.scalar(pad, "padding"))
      return status;
    if (pad)
      return corrupt("bytes after the last state input");
  }
  out.present = true;
  return KILN_STATUS_OK;
}

} // namespace kiln::rt
