//===- introspection.cpp - Sections that only describe the program --------===//

#include "introspection.h"

#include "byte_reader.h"
#include "error.h"
#include "kiln/artifact_format.h"

#include <cinttypes>

namespace kiln::rt {
namespace {

/// "%s: N bytes after the last <what>" when the reader has not reached the
/// section's end.
kiln_status checkEnd(const ByteReader &reader, const char *what) {
  if (reader.remaining() == 0)
    return KILN_STATUS_OK;
  return fail(KILN_STATUS_CORRUPT_ARTIFACT,
              "%s: %" PRIu64 " bytes after the last %s", reader.context(),
              reader.remaining(), what);
}

kiln_status readBuffer(ByteReader &reader, uint32_t index, size_t numKernels,
                       uint64_t workspaceBytes, PlannedBuffer &out) {
  std::string what = format("buffer %u", index);
  if (kiln_status status = reader.string(out.nodes, what + " nodes"))
    return status;
  if (kiln_status status = reader.string(out.type, what + " type"))
    return status;
  if (kiln_status status = reader.scalar(out.offset, what + " offset"))
    return status;
  if (kiln_status status = reader.scalar(out.bytes, what + " bytes"))
    return status;
  if (kiln_status status = reader.scalar(out.firstKernel, what + " first"))
    return status;
  if (kiln_status status = reader.scalar(out.lastKernel, what + " last"))
    return status;
  if (out.firstKernel > out.lastKernel || out.lastKernel >= numKernels)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "%s: %s lives from kernel %u to kernel %u, but KERNELS has "
                "%zu rows",
                reader.context(), what.c_str(), out.firstKernel, out.lastKernel,
                numKernels);
  if (out.offset > workspaceBytes || out.bytes > workspaceBytes - out.offset)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "%s: %s [%" PRIu64 ", +%" PRIu64 ") is outside the %" PRIu64
                "-byte workspace",
                reader.context(), what.c_str(), out.offset, out.bytes,
                workspaceBytes);
  return KILN_STATUS_OK;
}

} // namespace

kiln_status parseKernelDetails(const uint8_t *data, uint64_t size,
                               size_t numKernels,
                               std::vector<KernelDetail> &out) {
  ByteReader reader(data, size, "corrupt KERNEL_DETAILS section");
  if (kiln_status status = reader.magic(KILN_KERNEL_DETAILS_MAGIC))
    return status;
  uint32_t n = 0;
  // A row is at least its code size and its loop nest's length.
  if (kiln_status status = reader.count(n, 12, "num_kernels"))
    return status;
  if (n != numKernels)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "%s: %u rows, but KERNELS has %zu", reader.context(), n,
                numKernels);
  std::vector<KernelDetail> details(n);
  for (uint32_t i = 0; i < n; ++i) {
    std::string what = format("kernel %u", i);
    if (kiln_status status =
            reader.scalar(details[i].codeBytes, what + " code_bytes"))
      return status;
    if (kiln_status status =
            reader.string(details[i].loopNest, what + " loop_nest"))
      return status;
  }
  if (kiln_status status = checkEnd(reader, "kernel"))
    return status;
  out = std::move(details);
  return KILN_STATUS_OK;
}

kiln_status parseMemoryPlan(const uint8_t *data, uint64_t size,
                            size_t numKernels, MemoryPlan &out) {
  ByteReader reader(data, size, "corrupt MEMORY_PLAN section");
  if (kiln_status status = reader.magic(KILN_MEMORY_PLAN_MAGIC))
    return status;
  MemoryPlan plan;
  plan.present = true;
  if (kiln_status status =
          reader.scalar(plan.workspaceBytes, "workspace_bytes"))
    return status;
  if (kiln_status status = reader.scalar(plan.peakBytes, "peak_bytes"))
    return status;
  uint32_t n = 0;
  // Two string lengths, two u64 and two u32.
  if (kiln_status status = reader.count(n, 32, "num_buffers"))
    return status;
  plan.buffers.resize(n);
  for (uint32_t i = 0; i < n; ++i)
    if (kiln_status status = readBuffer(reader, i, numKernels,
                                        plan.workspaceBytes, plan.buffers[i]))
      return status;
  if (kiln_status status = checkEnd(reader, "buffer"))
    return status;
  out = std::move(plan);
  return KILN_STATUS_OK;
}

kiln_status parseDumps(const uint8_t *data, uint64_t size, size_t numOutputs,
                       Dumps &out) {
  ByteReader reader(data, size, "corrupt DUMPS section");
  if (kiln_status status = reader.magic(KILN_DUMPS_MAGIC))
    return status;
  Dumps dumps;
  dumps.present = true;
  if (kiln_status status = reader.scalar(dumps.firstOutput, "first_output"))
    return status;
  uint32_t n = 0;
  if (kiln_status status = reader.count(n, 4, "num_dumps"))
    return status;
  if (uint64_t(dumps.firstOutput) + n != numOutputs)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "%s: %u dumps from output %u, but the model has %zu outputs",
                reader.context(), n, dumps.firstOutput, numOutputs);
  dumps.nodes.resize(n);
  for (uint32_t i = 0; i < n; ++i)
    if (kiln_status status =
            reader.nonEmptyString(dumps.nodes[i], format("dump %u node", i)))
      return status;
  if (kiln_status status = checkEnd(reader, "dump"))
    return status;
  out = std::move(dumps);
  return KILN_STATUS_OK;
}

} // namespace kiln::rt
