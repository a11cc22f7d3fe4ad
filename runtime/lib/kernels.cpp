//===- kernels.cpp - Parse and check the KERNELS section -----------------===//

#include "kernels.h"

#include "byte_reader.h"
#include "error.h"
#include "kiln/artifact_format.h"

namespace kiln::rt {
namespace {

constexpr const char *kContext = "corrupt KERNELS section";

/// A kernel is at least its name's length and two counts.
constexpr uint64_t kMinKernelBytes = 12;

/// A count of non-empty strings, then the strings (`what`: "kernel 3 node").
kiln_status readNames(ByteReader &reader, const std::string &what,
                      std::vector<std::string> &out) {
  uint32_t n = 0;
  std::string countWhat = what + " count";
  if (kiln_status status = reader.count(n, 4, countWhat.c_str()))
    return status;
  out.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (kiln_status status =
            reader.nonEmptyString(out[i], format("%s %u", what.c_str(), i)))
      return status;
  }
  return KILN_STATUS_OK;
}

kiln_status readKernel(ByteReader &reader, uint32_t index, KernelEntry &out) {
  std::string what = format("kernel %u", index);
  if (kiln_status status = reader.name(out.name, what))
    return status;
  if (kiln_status status = readNames(reader, what + " kind", out.kinds))
    return status;
  if (kiln_status status = readNames(reader, what + " node", out.nodes))
    return status;
  for (const std::string &kind : out.kinds)
    out.kindPointers.push_back(kind.c_str());
  for (const std::string &node : out.nodes)
    out.nodePointers.push_back(node.c_str());
  return KILN_STATUS_OK;
}

} // namespace

kiln_status parseKernels(const uint8_t *data, uint64_t size,
                         std::vector<KernelEntry> &out) {
  ByteReader reader(data, size, kContext);
  if (kiln_status status = reader.magic(KILN_KERNELS_MAGIC))
    return status;
  uint32_t n = 0;
  if (kiln_status status = reader.count(n, kMinKernelBytes, "num_kernels"))
    return status;
  std::vector<KernelEntry> kernels(n);
  for (uint32_t i = 0; i < n; ++i)
    if (kiln_status status = readKernel(reader, i, kernels[i]))
      return status;
  if (reader.remaining() != 0)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "%s: %llu bytes after the last kernel", kContext,
                (unsigned long long)reader.remaining());
  out = std::move(kernels);
  return KILN_STATUS_OK;
}

kiln_status parseLaunches(const uint8_t *data, uint64_t size,
                          size_t numGpuKernels,
                          std::vector<KernelEntry> &kernels) {
  constexpr const char *context = "corrupt LAUNCHES section";
  constexpr uint64_t launchBytes = 8 * sizeof(uint32_t);
  ByteReader reader(data, size, context);
  if (kiln_status status = reader.magic(KILN_LAUNCHES_MAGIC))
    return status;
  uint32_t n = 0;
  if (kiln_status status = reader.count(n, launchBytes, "num_launches"))
    return status;
  // Rows and launches pair up by position: a table of another length
  // would name the wrong launches.
  if (n != kernels.size())
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "%s: %u launches, but KERNELS has %zu rows", context, n,
                kernels.size());
  if (reader.remaining() != uint64_t(n) * launchBytes)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "%s: %llu bytes for %u launches of %llu bytes", context,
                (unsigned long long)reader.remaining(), n,
                (unsigned long long)launchBytes);
  std::vector<kiln_kernel_launch> launches(n);
  for (uint32_t i = 0; i < n; ++i) {
    kiln_kernel_launch &l = launches[i];
    std::string what = format("launch %u", i);
    uint32_t *fields[] = {&l.gpu_kernel, &l.grid[0],     &l.grid[1],
                          &l.grid[2],    &l.block[0],    &l.block[1],
                          &l.block[2],   &l.shared_bytes};
    for (uint32_t *field : fields)
      if (kiln_status status = reader.scalar(*field, what))
        return status;
    if (l.gpu_kernel >= numGpuKernels)
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "%s: launch %u names GPU kernel %u, but GPU_CODE has %zu",
                  context, i, l.gpu_kernel, numGpuKernels);
  }
  for (uint32_t i = 0; i < n; ++i) {
    kernels[i].hasLaunch = true;
    kernels[i].launch = launches[i];
  }
  return KILN_STATUS_OK;
}

} // namespace kiln::rt
