//===- ArtifactWriter.cpp - Write .kiln artifacts -------------------------===//

#include "kiln/Artifact/ArtifactWriter.h"

#include "kiln/artifact_format.h"

#include "llvm/ADT/STLExtras.h"
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

/// The KERNELS section (empty when there are no kernels).
std::vector<char> kernelsSection(const std::vector<KernelSignature> &kernels) {
  if (kernels.empty())
    return {};
  ByteWriter w;
  w.u32(KILN_KERNELS_MAGIC);
  w.u32((uint32_t)kernels.size());
  for (const KernelSignature &kernel : kernels) {
    w.str(kernel.name);
    for (const std::vector<std::string> *names : {&kernel.kinds, &kernel.nodes}) {
      w.u32((uint32_t)names->size());
      for (const std::string &name : *names)
        w.str(name);
    }
  }
  return std::move(w.bytes);
}

/// The VALUES section (empty when there are no sequences or optionals).
std::vector<char> valuesSection(const std::vector<ValueSignature> &values) {
  if (values.empty())
    return {};
  ByteWriter w;
  w.u32(KILN_VALUES_MAGIC);
  w.u32((uint32_t)values.size());
  for (const ValueSignature &value : values) {
    w.str(value.name);
    w.u32(value.output ? 1 : 0);
    w.u32((value.sequence ? KILN_VALUE_SEQUENCE : 0) |
          (value.present ? KILN_VALUE_PRESENT : 0));
    w.str(value.type);
    w.u32((uint32_t)value.tensors.size());
    for (const std::string &tensor : value.tensors)
      w.str(tensor);
  }
  return std::move(w.bytes);
}

/// The LAUNCHES section: each kernel's launch, when every kernel has one
/// (empty otherwise: rows and launches pair up by position).
std::vector<char> launchesSection(const std::vector<KernelSignature> &kernels) {
  if (kernels.empty() ||
      !llvm::all_of(kernels, [](const KernelSignature &kernel) {
        return kernel.launch.has_value();
      }))
    return {};
  ByteWriter w;
  w.u32(KILN_LAUNCHES_MAGIC);
  w.u32((uint32_t)kernels.size());
  for (const KernelSignature &kernel : kernels) {
    const KernelLaunch &launch = *kernel.launch;
    w.u32(launch.gpuKernel);
    for (uint32_t value : launch.grid)
      w.u32(value);
    for (uint32_t value : launch.block)
      w.u32(value);
    w.u32(launch.sharedBytes);
  }
  return std::move(w.bytes);
}

/// The KERNEL_DETAILS section (empty when no kernel has details).
std::vector<char>
kernelDetailsSection(const std::vector<KernelSignature> &kernels) {
  if (llvm::none_of(kernels, [](const KernelSignature &kernel) {
        return kernel.codeBytes || !kernel.loopNest.empty();
      }))
    return {};
  ByteWriter w;
  w.u32(KILN_KERNEL_DETAILS_MAGIC);
  w.u32((uint32_t)kernels.size());
  for (const KernelSignature &kernel : kernels) {
    w.u64(kernel.codeBytes);
    w.str(kernel.loopNest);
  }
  return std::move(w.bytes);
}

/// The MEMORY_PLAN section (empty without a plan or without kernels, whose
/// indices its buffers' lives are).
std::vector<char> memoryPlanSection(const ArtifactContents &c) {
  if (!c.memoryPlan || c.kernels.empty())
    return {};
  ByteWriter w;
  w.u32(KILN_MEMORY_PLAN_MAGIC);
  w.u64(c.memoryPlan->workspaceBytes);
  w.u64(c.memoryPlan->peakBytes);
  w.u32((uint32_t)c.memoryPlan->buffers.size());
  for (const PlannedBufferSignature &buffer : c.memoryPlan->buffers) {
    w.str(buffer.nodes);
    w.str(buffer.type);
    w.u64(buffer.offset);
    w.u64(buffer.bytes);
    w.u32(buffer.firstKernel);
    w.u32(buffer.lastKernel);
  }
  return std::move(w.bytes);
}

/// The DUMPS section (empty when nothing is dumped).
std::vector<char> dumpsSection(const ArtifactContents &c) {
  if (c.dumpNodes.empty() || c.dumpNodes.size() > c.outputs.size())
    return {};
  ByteWriter w;
  w.u32(KILN_DUMPS_MAGIC);
  w.u32((uint32_t)(c.outputs.size() - c.dumpNodes.size()));
  w.u32((uint32_t)c.dumpNodes.size());
  for (const std::string &node : c.dumpNodes)
    w.str(node);
  return std::move(w.bytes);
}

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

namespace {

/// The file after its header as a list of pieces, each either bytes owned
/// elsewhere (the weights are hundreds of megabytes: they are checksummed
/// and written where they lie, never gathered into one buffer) or zero
/// padding.
class FileLayout {
public:
  uint64_t size() const { return size_; }
  void add(const char *data, size_t n) {
    pieces.push_back({data, n});
    size_ += n;
  }
  void add(llvm::ArrayRef<char> bytes) { add(bytes.data(), bytes.size()); }
  void alignTo(uint64_t alignment) {
    uint64_t padding = (alignment - size_ % alignment) % alignment;
    if (padding)
      add(nullptr, padding);
  }
  uint64_t checksum() const {
    static const char zeros[KILN_ARTIFACT_ALIGNMENT] = {};
    kiln_checksum_state state;
    kiln_checksum_init(&state);
    for (const Piece &p : pieces)
      kiln_checksum_update(&state, p.data ? p.data : zeros, p.size);
    return kiln_checksum_final(&state);
  }
  /// Writes the pieces. Into a file, whole MiBs of zeros are skipped over
  /// instead of written: holes, which the file system stores for nothing
  /// and reads back as zeros (a weight of zeros, or a sparse model's).
  void write(llvm::raw_ostream &os, llvm::raw_fd_ostream *file) const {
    constexpr size_t kChunk = size_t(1) << 20;
    for (const Piece &p : pieces) {
      if (!p.data) {
        os.write_zeros(p.size);
        continue;
      }
      for (size_t at = 0; at < p.size; at += kChunk) {
        size_t n = std::min(kChunk, p.size - at);
        const char *chunk = p.data + at;
        if (file && n == kChunk && chunk[0] == 0 &&
            std::memcmp(chunk, chunk + 1, n - 1) == 0)
          file->seek(file->tell() + n);
        else
          os.write(chunk, n);
      }
    }
  }

private:
  struct Piece {
    const char *data; // null: `size` zero bytes (less than an alignment)
    size_t size;
  };
  std::vector<Piece> pieces;
  uint64_t size_ = KILN_ARTIFACT_HEADER_SIZE;
};

/// Writes `write`'s bytes next to `path`, then renames them over it, so a
/// failure never leaves a half-written artifact behind. `write` may seek
/// past the end (a hole); the file is then extended to where it ended.
llvm::Error writeAtomically(
    llvm::StringRef path,
    llvm::function_ref<void(llvm::raw_ostream &, llvm::raw_fd_ostream *)>
        write) {
  llvm::SmallString<256> tmp;
  int fd;
  if (auto ec = llvm::sys::fs::createUniqueFile(path + ".tmp-%%%%%%", fd, tmp)) {
    return llvm::createStringError("cannot create '" + path.str() +
                                   "': " + ec.message());
  }
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    write(os, &os);
    uint64_t end = os.tell();
    os.flush();
    std::error_code ec = os.has_error()
                             ? os.error()
                             : llvm::sys::fs::resize_file(fd, end);
    if (ec) {
      llvm::Error error = llvm::createStringError(
          "cannot write '" + path.str() + "': " + ec.message());
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

} // namespace

/// Hands the artifact's bytes to `sink` as one writer function.
static llvm::Error
emitArtifact(const ArtifactContents &c,
             llvm::function_ref<llvm::Error(llvm::function_ref<void(
                 llvm::raw_ostream &, llvm::raw_fd_ostream *)>)>
                 sink) {
  // Weight offsets within their section, for the metadata.
  std::vector<uint64_t> offsets;
  uint64_t weightsSize = 0;
  for (const ArtifactWeight &w : c.weights) {
    weightsSize = (weightsSize + KILN_ARTIFACT_ALIGNMENT - 1) /
                  KILN_ARTIFACT_ALIGNMENT * KILN_ARTIFACT_ALIGNMENT;
    offsets.push_back(weightsSize);
    weightsSize += w.data().size();
  }

  ByteWriter meta;
  meta.u32(KILN_METADATA_MAGIC);
  meta.str(c.target);
  meta.str(c.entrySymbol);
  meta.u32((uint32_t)c.weights.size());
  for (size_t i = 0; i < c.weights.size(); ++i) {
    meta.tensor(c.weights[i].tensor);
    meta.u64(offsets[i]);
    meta.u64(c.weights[i].data().size());
  }
  meta.u32((uint32_t)c.inputs.size());
  for (const TensorSignature &t : c.inputs)
    meta.tensor(t);
  meta.u32((uint32_t)c.outputs.size());
  for (const TensorSignature &t : c.outputs)
    meta.tensor(t);
  meta.u64(c.workspaceBytes);
  // The symbols the inputs bind, then (only when there are any) the names
  // of the computed ones, which follow them in symbol order.
  auto computed = llvm::partition_point(
      c.symbols, [](const SymbolSignature &s) { return !s.computed; });
  meta.u32((uint32_t)(computed - c.symbols.begin()));
  for (const SymbolSignature &symbol : llvm::make_range(c.symbols.begin(), computed)) {
    meta.str(symbol.name);
    meta.i64(symbol.min);
    meta.i64(symbol.max);
  }
  if (computed != c.symbols.end()) {
    meta.u32((uint32_t)(c.symbols.end() - computed));
    for (const SymbolSignature &symbol : llvm::make_range(computed, c.symbols.end()))
      meta.str(symbol.name);
  }
  std::vector<char> gpuCode;
  if (c.gpuCode)
    gpuCode = gpuCodeSection(*c.gpuCode);
  ByteWriter generation;
  if (c.generation) {
    generation.u32(KILN_GENERATION_MAGIC);
    generation.i64(c.generation->maxSeq);
    generation.str(c.generation->tokens);
    generation.str(c.generation->positions);
    generation.str(c.generation->logits);
    generation.u32((uint32_t)c.generation->stateInputs.size());
    for (const std::string &name : c.generation->stateInputs)
      generation.str(name);
    if (c.generation->kvBlockSize > 0) {
      generation.u32(KILN_GENERATION_PAGED_MAGIC);
      generation.i64(c.generation->kvBlockSize);
      generation.i64(c.generation->kvBlocks);
      generation.str(c.generation->blockTable);
      if (c.generation->windowBlocks > 0) {
        generation.u32(KILN_GENERATION_WINDOW_MAGIC);
        generation.i64(c.generation->windowBlocks);
        generation.str(c.generation->windowBlockTable);
        generation.u32((uint32_t)c.generation->windowStateInputs.size());
        for (const std::string &name : c.generation->windowStateInputs)
          generation.str(name);
      }
    }
  }

  std::vector<char> kernels = kernelsSection(c.kernels);
  std::vector<char> launches = launchesSection(c.kernels);
  std::vector<char> values = valuesSection(c.values);
  // Optional sections that only describe the program, in kind order.
  std::vector<std::pair<uint32_t, std::vector<char>>> described;
  for (auto &[kind, bytes] :
       {std::pair{KILN_SECTION_KERNEL_DETAILS,
                  kernels.empty() ? std::vector<char>()
                                  : kernelDetailsSection(c.kernels)},
        std::pair{KILN_SECTION_MEMORY_PLAN, memoryPlanSection(c)},
        std::pair{KILN_SECTION_DUMPS, dumpsSection(c)}})
    if (!bytes.empty())
      described.emplace_back(kind, bytes);

  // Header, section table, then the sections, each aligned.
  size_t sectionCount = 3 + (c.gpuCode ? 1 : 0) + (c.generation ? 1 : 0) +
                        (kernels.empty() ? 0 : 1) + (launches.empty() ? 0 : 1) +
                        (values.empty() ? 0 : 1) + described.size();
  std::vector<kiln_artifact_section> table(sectionCount);
  FileLayout file;
  file.add(reinterpret_cast<const char *>(table.data()),
           table.size() * sizeof(kiln_artifact_section));
  auto section = [&](size_t index, uint32_t kind, uint64_t size,
                     llvm::function_ref<void()> addBytes) {
    file.alignTo(KILN_ARTIFACT_ALIGNMENT);
    table[index].kind = kind;
    table[index].offset = file.size();
    table[index].size = size;
    addBytes();
  };
  section(0, KILN_SECTION_METADATA, meta.bytes.size(),
          [&] { file.add(meta.bytes); });
  section(1, KILN_SECTION_HOST_CODE, c.hostCode.size(),
          [&] { file.add(c.hostCode.data(), c.hostCode.size()); });
  section(2, KILN_SECTION_WEIGHTS, weightsSize, [&] {
    uint64_t start = file.size();
    for (size_t i = 0; i < c.weights.size(); ++i) {
      file.alignTo(KILN_ARTIFACT_ALIGNMENT);
      (void)start;
      assert(file.size() - start == offsets[i] && "weight offsets drifted");
      file.add(c.weights[i].data());
    }
  });
  size_t next = 3;
  if (c.gpuCode)
    section(next++, KILN_SECTION_GPU_CODE, gpuCode.size(),
            [&] { file.add(gpuCode); });
  if (c.generation)
    section(next++, KILN_SECTION_GENERATION, generation.bytes.size(),
            [&] { file.add(generation.bytes); });
  if (!kernels.empty())
    section(next++, KILN_SECTION_KERNELS, kernels.size(),
            [&] { file.add(kernels); });
  if (!launches.empty())
    section(next++, KILN_SECTION_LAUNCHES, launches.size(),
            [&] { file.add(launches); });
  if (!values.empty())
    section(next++, KILN_SECTION_VALUES, values.size(),
            [&] { file.add(values); });
  for (const auto &[kind, bytes] : described)
    section(next++, kind, bytes.size(), [&] { file.add(bytes); });

  kiln_artifact_header h{};
  std::memcpy(h.magic, KILN_ARTIFACT_MAGIC, sizeof(KILN_ARTIFACT_MAGIC));
  h.format_version = c.generation ? KILN_ARTIFACT_GENERATION_VERSION
                                  : KILN_ARTIFACT_BASE_FORMAT_VERSION;
  h.header_size = KILN_ARTIFACT_HEADER_SIZE;
  h.file_size = file.size();
  h.section_count = (uint32_t)table.size();
  h.section_table_offset = KILN_ARTIFACT_HEADER_SIZE;
  h.checksum = file.checksum();
  return sink([&](llvm::raw_ostream &os, llvm::raw_fd_ostream *seekable) {
    os.write(reinterpret_cast<const char *>(&h), sizeof(h));
    file.write(os, seekable);
  });
}

llvm::Error kiln::writeArtifact(llvm::StringRef path,
                                const ArtifactContents &c) {
  return emitArtifact(c, [&](auto write) { return writeAtomically(path, write); });
}

llvm::Error kiln::writeArtifactToBuffer(const ArtifactContents &c,
                                        std::string &out) {
  return emitArtifact(c, [&](auto write) {
    out.clear();
    llvm::raw_string_ostream os(out);
    write(os, nullptr);
    os.flush();
    return llvm::Error::success();
  });
}

/// The METADATA section of the artifact in `bytes` (written by this
/// writer, so well formed); empty if there is none.
static llvm::StringRef metadataOf(llvm::StringRef bytes) {
  kiln_artifact_header h;
  if (bytes.size() < sizeof(h))
    return {};
  std::memcpy(&h, bytes.data(), sizeof(h));
  for (uint32_t i = 0; i < h.section_count; ++i) {
    kiln_artifact_section entry;
    uint64_t at = h.section_table_offset + uint64_t(i) * sizeof(entry);
    if (at + sizeof(entry) > bytes.size())
      return {};
    std::memcpy(&entry, bytes.data() + at, sizeof(entry));
    if (entry.kind == KILN_SECTION_METADATA &&
        entry.offset + entry.size <= bytes.size())
      return bytes.substr(entry.offset, entry.size);
  }
  return {};
}

llvm::Error kiln::writePartitionedArtifact(llvm::StringRef path,
                                           const PartitionedArtifact &p) {
  if (p.ranks.size() < 2 || p.ranks.size() != p.summaries.size())
    return llvm::createStringError(
        "a partitioned artifact needs 2 or more ranks, each with a summary");
  llvm::StringRef metadata = metadataOf(p.ranks.front());
  if (metadata.empty())
    return llvm::createStringError("rank 0's artifact has no METADATA");
  // RANKS: the table, then each rank's artifact, 64-byte aligned.
  ByteWriter ranks;
  ranks.u32(KILN_RANKS_MAGIC);
  ranks.u32((uint32_t)p.ranks.size());
  ranks.str(p.plan);
  uint64_t tableSize = ranks.bytes.size();
  for (const std::string &summary : p.summaries)
    tableSize += 4 + summary.size() + 16;
  auto aligned = [](uint64_t n) {
    return (n + KILN_ARTIFACT_ALIGNMENT - 1) / KILN_ARTIFACT_ALIGNMENT *
           KILN_ARTIFACT_ALIGNMENT;
  };
  uint64_t at = aligned(tableSize);
  std::vector<uint64_t> offsets;
  for (const std::string &rank : p.ranks) {
    offsets.push_back(at);
    at = aligned(at + rank.size());
  }
  for (size_t r = 0; r < p.ranks.size(); ++r) {
    ranks.str(p.summaries[r]);
    ranks.u64(offsets[r]);
    ranks.u64(p.ranks[r].size());
  }
  uint64_t ranksSize = offsets.back() + p.ranks.back().size();

  std::vector<kiln_artifact_section> table(2);
  FileLayout file;
  file.add(reinterpret_cast<const char *>(table.data()),
           table.size() * sizeof(kiln_artifact_section));
  file.alignTo(KILN_ARTIFACT_ALIGNMENT);
  table[0] = {KILN_SECTION_METADATA, 0, file.size(), metadata.size(), 0};
  file.add(metadata.data(), metadata.size());
  file.alignTo(KILN_ARTIFACT_ALIGNMENT);
  table[1] = {KILN_SECTION_RANKS, 0, file.size(), ranksSize, 0};
  uint64_t start = file.size();
  file.add(ranks.bytes);
  for (size_t r = 0; r < p.ranks.size(); ++r) {
    file.alignTo(KILN_ARTIFACT_ALIGNMENT);
    assert(file.size() - start == offsets[r] && "rank offsets drifted");
    (void)start;
    file.add(p.ranks[r].data(), p.ranks[r].size());
  }
  kiln_artifact_header h{};
  std::memcpy(h.magic, KILN_ARTIFACT_MAGIC, sizeof(KILN_ARTIFACT_MAGIC));
  h.format_version = KILN_ARTIFACT_RANKS_VERSION;
  h.header_size = KILN_ARTIFACT_HEADER_SIZE;
  h.file_size = file.size();
  h.section_count = (uint32_t)table.size();
  h.section_table_offset = KILN_ARTIFACT_HEADER_SIZE;
  h.checksum = file.checksum();
  return writeAtomically(path, [&](llvm::raw_ostream &os,
                                   llvm::raw_fd_ostream *seekable) {
    os.write(reinterpret_cast<const char *>(&h), sizeof(h));
    file.write(os, seekable);
  });
}
