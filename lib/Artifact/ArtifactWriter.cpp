//===- ArtifactWriter.cpp - Write .kiln artifacts -------------------------===//

#include "kiln/Artifact/ArtifactWriter.h"

#include "kiln/artifact_format.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace kiln;

namespace {

/// A little-endian byte buffer.
class ByteWriter {
public:
  void u32(uint32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void i64(int64_t v) { raw(&v, 8); }
  void str(llvm::StringRef s) {
    u32((uint32_t)s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void tensor(const TensorSignature &t) {
    str(t.name);
    u32((uint32_t)t.dtype);
    u32((uint32_t)t.dims.size());
    for (int64_t d : t.dims)
      i64(d);
  }
  void raw(const void *p, size_t n) {
    const char *c = static_cast<const char *>(p);
    bytes.insert(bytes.end(), c, c + n);
  }
  void alignTo(size_t alignment) {
    bytes.resize((bytes.size() + alignment - 1) / alignment * alignment, 0);
  }
  std::vector<char> bytes;
};

static_assert(sizeof(kiln_artifact_header) == KILN_ARTIFACT_HEADER_SIZE,
              "header layout");
static_assert(sizeof(kiln_artifact_section) ==
                  KILN_ARTIFACT_SECTION_ENTRY_SIZE,
              "section layout");

/// The GPU_CODE section: the table, then the images, each 64-byte aligned.
std::vector<char> gpuCodeSection(const GpuCode &code) {
  ByteWriter table;
  table.u32(KILN_GPU_CODE_MAGIC);
  table.u64(code.workspaceBytes);
  table.u32((uint32_t)code.kernels.size());
  for (const std::string &name : code.kernels)
    table.str(name);
  table.u32((uint32_t)code.images.size());
  size_t tableSize = table.bytes.size();
  for (const GpuImage &image : code.images)
    tableSize += 4 + image.arch.size() + 4 + 8 + 8;
  uint64_t offset = tableSize;
  ByteWriter images;
  for (const GpuImage &image : code.images) {
    offset = (offset + KILN_ARTIFACT_ALIGNMENT - 1) / KILN_ARTIFACT_ALIGNMENT *
             KILN_ARTIFACT_ALIGNMENT;
    uint64_t size = image.bytes.size() + (image.format == GpuImage::Ptx);
    table.str(image.arch);
    table.u32(image.format);
    table.u64(offset);
    table.u64(size);
    images.bytes.resize(offset - tableSize, 0);
    images.raw(image.bytes.data(), image.bytes.size());
    if (image.format == GpuImage::Ptx)
      images.bytes.push_back('\0');
    offset += size;
  }
  table.raw(images.bytes.data(), images.bytes.size());
  return table.bytes;
}

} // namespace

llvm::Error kiln::writeArtifact(llvm::StringRef path,
                                const ArtifactContents &c) {
  // Weights first, so their offsets are known for the metadata.
  ByteWriter weights;
  std::vector<uint64_t> offsets;
  for (const ArtifactWeight &w : c.weights) {
    weights.alignTo(KILN_ARTIFACT_ALIGNMENT);
    offsets.push_back(weights.bytes.size());
    weights.raw(w.data.data(), w.data.size());
  }

  ByteWriter meta;
  meta.u32(KILN_METADATA_MAGIC);
  meta.str(c.target);
  meta.str(c.entrySymbol);
  meta.u32((uint32_t)c.weights.size());
  for (size_t i = 0; i < c.weights.size(); ++i) {
    meta.tensor(c.weights[i].tensor);
    meta.u64(offsets[i]);
    meta.u64(c.weights[i].data.size());
  }
  meta.u32((uint32_t)c.inputs.size());
  for (const TensorSignature &t : c.inputs)
    meta.tensor(t);
  meta.u32((uint32_t)c.outputs.size());
  for (const TensorSignature &t : c.outputs)
    meta.tensor(t);

  struct Part {
    uint32_t kind;
    const std::vector<char> *bytes;
  };
  std::vector<char> code(c.hostCode.begin(), c.hostCode.end());
  std::vector<Part> parts = {{KILN_SECTION_METADATA, &meta.bytes},
                             {KILN_SECTION_HOST_CODE, &code},
                             {KILN_SECTION_WEIGHTS, &weights.bytes}};
  std::vector<char> gpuCode;
  if (c.gpuCode) {
    gpuCode = gpuCodeSection(*c.gpuCode);
    parts.push_back({KILN_SECTION_GPU_CODE, &gpuCode});
  }

  ByteWriter file;
  file.bytes.resize(KILN_ARTIFACT_HEADER_SIZE, 0);
  uint64_t tableOffset = file.bytes.size();
  file.bytes.resize(tableOffset + parts.size() * KILN_ARTIFACT_SECTION_ENTRY_SIZE,
                    0);
  std::vector<kiln_artifact_section> table;
  for (const Part &p : parts) {
    file.alignTo(KILN_ARTIFACT_ALIGNMENT);
    kiln_artifact_section s{};
    s.kind = p.kind;
    s.offset = file.bytes.size();
    s.size = p.bytes->size();
    table.push_back(s);
    file.raw(p.bytes->data(), p.bytes->size());
  }
  std::memcpy(file.bytes.data() + tableOffset, table.data(),
              table.size() * sizeof(kiln_artifact_section));

  kiln_artifact_header h{};
  std::memcpy(h.magic, KILN_ARTIFACT_MAGIC, sizeof(KILN_ARTIFACT_MAGIC));
  h.format_version = KILN_ARTIFACT_FORMAT_VERSION;
  h.header_size = KILN_ARTIFACT_HEADER_SIZE;
  h.file_size = file.bytes.size();
  h.section_count = (uint32_t)table.size();
  h.section_table_offset = tableOffset;
  h.checksum = kiln_fnv1a64(KILN_FNV1A64_INIT,
                            file.bytes.data() + KILN_ARTIFACT_HEADER_SIZE,
                            file.bytes.size() - KILN_ARTIFACT_HEADER_SIZE);
  std::memcpy(file.bytes.data(), &h, sizeof(h));

  // Write next to the destination, then rename over it.
  llvm::SmallString<256> tmp;
  int fd;
  if (auto ec = llvm::sys::fs::createUniqueFile(path + ".tmp-%%%%%%", fd, tmp)) {
    return llvm::createStringError("cannot create '" + path.str() +
                                   "': " + ec.message());
  }
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os.write(file.bytes.data(), file.bytes.size());
    os.flush();
    if (os.has_error()) {
      llvm::Error error = llvm::createStringError(
          "cannot write '" + path.str() + "': " + os.error().message());
      os.clear_error();
      llvm::sys::fs::remove(tmp);
      return error;
    }
  }
  if (auto ec = llvm::sys::fs::rename(tmp, path)) {
    llvm::sys::fs::remove(tmp);
    return llvm::createStringError("cannot write '" + path.str() +
                                   "': " + ec.message());
  }
  return llvm::Error::success();
}
