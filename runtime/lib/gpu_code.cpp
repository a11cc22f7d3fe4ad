//===- gpu_code.cpp - Parse and check the GPU_CODE section ---------------===//

#include "gpu_code.h"

#include "byte_reader.h"
#include "error.h"
#include "kiln/artifact_format.h"

#include <algorithm>
#include <cinttypes>
#include <set>
#include <utility>

namespace kiln::rt {
namespace {

constexpr const char *kContext = "corrupt GPU_CODE";
/// Smallest encodings of a kernel and an image entry (empty strings).
constexpr uint64_t kMinKernelBytes = 4;
constexpr uint64_t kMinImageBytes = 4 + 4 + 8 + 8;

kiln_status corrupt(const std::string &detail) {
  return fail(KILN_STATUS_CORRUPT_ARTIFACT, "%s: %s", kContext,
              detail.c_str());
}

kiln_status readKernels(ByteReader &reader, std::vector<std::string> &out) {
  auto readName = [&](uint32_t i, std::string &name) -> kiln_status {
    return reader.name(name, format("kernel %u", i));
  };
  return reader.namedTable(
      out, kMinKernelBytes, "num_kernels", readName,
      [](const std::string &name) -> const std::string & { return name; },
      [](const std::string &name) -> kiln_status {
        return corrupt(format("two kernels are named '%s'", name.c_str()));
      });
}

kiln_status readImage(ByteReader &reader, uint32_t index, GpuImage &out) {
  std::string what = format("image %u", index);
  if (kiln_status status = reader.string(out.arch, what + " arch"))
    return status;
  if (!parseGpuArch(out.arch, out.parsed))
    return corrupt(format("image %u has arch '%s'; expected sm_ followed by "
                          "2 or 3 digits and an optional 'a' or 'f' (sm_90a)",
                          index, out.arch.c_str()));
  what += " (" + out.arch + ")";
  if (kiln_status status = reader.scalar(out.format, what + " format"))
    return status;
  if (out.format != KILN_GPU_IMAGE_CUBIN && out.format != KILN_GPU_IMAGE_PTX)
    return corrupt(format("%s has format %u; expected %u (cubin) or %u (PTX)",
                          what.c_str(), out.format, KILN_GPU_IMAGE_CUBIN,
                          KILN_GPU_IMAGE_PTX));
  if (kiln_status status = reader.scalar(out.offset, what + " offset"))
    return status;
  return reader.scalar(out.size, what + " size");
}

/// Bounds, alignment and content of one image, once the table's end is
/// known.
kiln_status checkImage(const uint8_t *data, uint64_t size, uint64_t tableEnd,
                       uint32_t index, const GpuImage &image) {
  std::string what = format("image %u (%s %s)", index, image.arch.c_str(),
                            gpuImageFormatName(image.format).c_str());
  if (image.size == 0)
    return corrupt(what + " is empty");
  if (image.offset % KILN_ARTIFACT_ALIGNMENT != 0)
    return corrupt(format("%s at offset %" PRIu64 " is not %u-byte aligned",
                          what.c_str(), image.offset,
                          KILN_ARTIFACT_ALIGNMENT));
  if (image.offset < tableEnd)
    return corrupt(format("%s at offset %" PRIu64
                          " overlaps the tables, which end at %" PRIu64,
                          what.c_str(), image.offset, tableEnd));
  if (image.offset > size || image.size > size - image.offset)
    return corrupt(format("%s at offset %" PRIu64 " with size %" PRIu64
                          " extends past the end of the section (%" PRIu64
                          " bytes)",
                          what.c_str(), image.offset, image.size, size));
  const uint8_t *bytes = data + image.offset;
  static const uint8_t kElfMagic[4] = {0x7f, 'E', 'L', 'F'};
  if (image.format == KILN_GPU_IMAGE_CUBIN &&
      (image.size < sizeof(kElfMagic) ||
       std::memcmp(bytes, kElfMagic, sizeof(kElfMagic)) != 0))
    return corrupt(what + " is not an ELF file");
  if (image.format == KILN_GPU_IMAGE_PTX && bytes[image.size - 1] != 0)
    return corrupt(what + " does not end with a NUL byte");
  return KILN_STATUS_OK;
}

} // namespace

bool parseGpuArch(const std::string &text, GpuArch &out) {
  if (text.compare(0, 3, "sm_") != 0)
    return false;
  size_t digits = 0;
  while (3 + digits < text.size() && text[3 + digits] >= '0' &&
         text[3 + digits] <= '9')
    ++digits;
  if (digits < 2 || digits > 3 || text[3] == '0')
    return false;
  size_t rest = 3 + digits;
  char suffix = 0;
  if (rest < text.size()) {
    suffix = text[rest++];
    if (suffix != 'a' && suffix != 'f')
      return false;
  }
  if (rest != text.size())
    return false;
  unsigned number = unsigned(std::stoul(text.substr(3, digits)));
  out = GpuArch{number / 10, number % 10, suffix};
  return true;
}

std::string gpuImageFormatName(uint32_t format) {
  switch (format) {
  case KILN_GPU_IMAGE_CUBIN:
    return "cubin";
  case KILN_GPU_IMAGE_PTX:
    return "ptx";
  default:
    return kiln::rt::format("format %u", format);
  }
}

kiln_status parseGpuCode(const uint8_t *data, uint64_t size, GpuCode &out) {
  ByteReader reader(data, size, kContext);
  if (kiln_status status = reader.magic(KILN_GPU_CODE_MAGIC))
    return status;
  GpuCode code;
  if (kiln_status status =
          reader.scalar(code.workspaceBytes, "workspace_bytes"))
    return status;
  if (kiln_status status = readKernels(reader, code.kernels))
    return status;

  uint32_t numImages = 0;
  if (kiln_status status =
          reader.count(numImages, kMinImageBytes, "num_images"))
    return status;
  if (numImages == 0)
    return corrupt("no images (num_images is 0)");
  code.images.resize(numImages);
  std::set<std::pair<std::string, uint32_t>> seen;
  for (uint32_t i = 0; i < numImages; ++i) {
    if (kiln_status status = readImage(reader, i, code.images[i]))
      return status;
    const GpuImage &image = code.images[i];
    if (!seen.insert({image.arch, image.format}).second)
      return corrupt(format("two %s images for %s",
                            gpuImageFormatName(image.format).c_str(),
                            image.arch.c_str()));
  }
  for (uint32_t i = 0; i < numImages; ++i)
    if (kiln_status status =
            checkImage(data, size, reader.position(), i, code.images[i]))
      return status;
  out = std::move(code);
  return KILN_STATUS_OK;
}

kiln_status checkCudaTarget(const std::string &target, const GpuCode &code) {
  const std::string prefix = "cuda-";
  std::string list = target.substr(prefix.size());
  std::vector<std::string> archs;
  for (size_t start = 0;;) {
    size_t comma = std::min(list.find(',', start), list.size());
    std::string arch = list.substr(start, comma - start);
    GpuArch parsed;
    if (!parseGpuArch(arch, parsed))
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "target '%s': '%s' is not a GPU architecture; expected "
                  "cuda-ARCH[,ARCH...] with ARCH like sm_90a or sm_80",
                  target.c_str(), arch.c_str());
    if (std::find(archs.begin(), archs.end(), arch) != archs.end())
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "target '%s' lists %s twice", target.c_str(), arch.c_str());
    archs.push_back(arch);
    if (comma == list.size())
      break;
    start = comma + 1;
  }
  for (const GpuImage &image : code.images)
    if (std::find(archs.begin(), archs.end(), image.arch) == archs.end())
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "GPU_CODE has a %s image for %s, which target '%s' does not "
                  "list",
                  gpuImageFormatName(image.format).c_str(),
                  image.arch.c_str(), target.c_str());
  for (const std::string &arch : archs) {
    bool found = false;
    for (const GpuImage &image : code.images)
      found |= image.arch == arch;
    if (!found)
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "target '%s' lists %s but GPU_CODE has no image for it",
                  target.c_str(), arch.c_str());
  }
  return KILN_STATUS_OK;
}

} // namespace kiln::rt
