//===- CompileCache.cpp - Artifacts by the hash of what made them ---------===//
//
// Entries are whole artifacts, `<dir>/<key>.kiln`, linked or copied under a
// temporary name and renamed into place, so a reader sees an entry whole or
// not at all;
// a hit is checked as the runtime checks an artifact (magic, size,
// checksum) before it is copied out, so a damaged entry is a miss, never a
// broken output. Work on unchanged files is not redone: `<key>.kiln.ok`
// records the stamp (size, time, inode) of an entry whose checksum passed,
// and `inputs/` the hashes of large model files by their stamps. A store
// removes the least recently used entries past the size limit.
//
//===----------------------------------------------------------------------===//

#include "kiln/Driver/CompileCache.h"

#include "kiln/Driver/CompileDriver.h"
#include "kiln/ONNX/OnnxImporter.h"
#include "kiln/artifact_format.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/BLAKE3.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <elf.h>
#include <link.h>

using namespace kiln;
namespace fs = llvm::sys::fs;

std::string kiln::defaultCompileCacheDir() {
  if (const char *dir = std::getenv("KILN_CACHE_DIR"))
    return dir;
  llvm::SmallString<256> path;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    path = xdg;
  } else if (const char *home = std::getenv("HOME"); home && *home) {
    path = home;
    llvm::sys::path::append(path, ".cache");
  } else {
    return "";
  }
  llvm::sys::path::append(path, "kiln");
  return path.str().str();
}

bool kiln::isCacheable(const CompileOptions &options) {
  return options.emit == "artifact" && options.quantize.empty() &&
         options.inputPath != "-" && !options.outputPath.empty() &&
         options.outputPath != "-";
}

namespace {

/// What identifies a file's bytes without reading them: its size,
/// modification time (ns) and device and inode; "" when it cannot be
/// stat'ed or changed in the last 2 seconds (a second write within one
/// timestamp would go unseen).
std::string fileStamp(llvm::StringRef path) {
  fs::file_status status;
  if (fs::status(path, status))
    return "";
  llvm::sys::TimePoint<> modified = status.getLastModificationTime();
  if (std::chrono::system_clock::now() - modified < std::chrono::seconds(2))
    return "";
  fs::UniqueID id = status.getUniqueID();
  return std::to_string(status.getSize()) + " " +
         std::to_string(modified.time_since_epoch().count()) + " " +
         std::to_string(id.getDevice()) + ":" + std::to_string(id.getFile());
}

/// A small file's text ("" when it cannot be read).
std::string readSmallFile(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  return buffer ? (*buffer)->getBuffer().str() : "";
}

/// Replaces `path` with `text` (a temporary file renamed over it); a
/// failure leaves things as they were, which only costs work later.
void writeSmallFile(llvm::StringRef path, llvm::StringRef text) {
  llvm::SmallString<256> tmp;
  int fd;
  if (fs::createUniqueFile(path + ".tmp-%%%%%%", fd, tmp))
    return;
  bool ok;
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << text;
    os.flush();
    ok = !os.has_error();
    os.clear_error();
  }
  if (!ok || fs::rename(tmp, path))
    fs::remove(tmp);
}

/// The hash of a sequence of named fields: each is its name and its
/// length-prefixed bytes, so that no two sequences of fields run together
/// into the same bytes.
class KeyHasher {
public:
  void add(llvm::StringRef name, llvm::StringRef value) {
    hasher.update(name);
    uint64_t size = value.size();
    hasher.update(llvm::ArrayRef<uint8_t>(
        reinterpret_cast<const uint8_t *>(&size), sizeof(size)));
    hasher.update(value);
  }
  void add(llvm::StringRef name, int64_t value) {
    add(name, llvm::StringRef(reinterpret_cast<const char *>(&value),
                              sizeof(value)));
  }
  /// A file's bytes (mapped, not read into memory), or a marker when it
  /// cannot be read: the compile then fails with its own message.
  void addFile(llvm::StringRef name, llvm::StringRef path) {
    auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
    if (!buffer)
      return add(name, "unreadable " + path.str());
    add(name, (*buffer)->getBuffer());
  }
  /// A file's hash, which `memoDir` remembers for files of a MiB or more
  /// (the weights) by their fileStamp: hashing gigabytes of unchanged
  /// weights again would cost a cache hit as much as reading them.
  void addFileHash(llvm::StringRef name, llvm::StringRef path,
                   llvm::StringRef memoDir) {
    llvm::SmallString<256> absolute(path);
    std::string stamp;
    uint64_t size = 0;
    if (memoDir.empty() || fs::make_absolute(absolute) ||
        fs::file_size(path, size) || size < (1u << 20))
      return addFile(name, path);
    llvm::SmallString<256> memo(memoDir);
    llvm::sys::path::append(
        memo, llvm::toHex(llvm::BLAKE3::hash(llvm::arrayRefFromStringRef(
                              absolute.str())),
                          /*LowerCase=*/true));
    stamp = fileStamp(path);
    std::string remembered = readSmallFile(memo);
    auto [memoStamp, memoHash] = llvm::StringRef(remembered).split('\n');
    if (!stamp.empty() && memoStamp == stamp && !memoHash.empty())
      return add(name, memoHash.str());
    KeyHasher file;
    file.addFile(name, path);
    std::string hash = file.hex();
    add(name, hash);
    if (!stamp.empty() && !fs::create_directories(memoDir))
      writeSmallFile(memo, stamp + "\n" + hash);
  }
  std::string hex() { return llvm::toHex(hasher.final(), /*LowerCase=*/true); }

private:
  llvm::BLAKE3 hasher;
};

/// The ELF build ID of the object that holds this code (kiln-compile, or
/// the Python module), or the object's bytes when it has none: a rebuilt
/// compiler never reuses its predecessor's artifacts.
std::string compilerBuild() {
  struct Search {
    uintptr_t address;
    std::string id;
  } search{reinterpret_cast<uintptr_t>(&compilerBuild), ""};
  dl_iterate_phdr(
      [](dl_phdr_info *info, size_t, void *data) -> int {
        auto &s = *static_cast<Search *>(data);
        bool holds = false;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr) &ph = info->dlpi_phdr[i];
          uintptr_t start = info->dlpi_addr + ph.p_vaddr;
          holds |= ph.p_type == PT_LOAD && s.address >= start &&
                   s.address < start + ph.p_memsz;
        }
        if (!holds)
          return 0;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr) &ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_NOTE)
            continue;
          const char *at =
              reinterpret_cast<const char *>(info->dlpi_addr + ph.p_vaddr);
          const char *end = at + ph.p_memsz;
          while (at + sizeof(ElfW(Nhdr)) <= end) {
            const auto *note = reinterpret_cast<const ElfW(Nhdr) *>(at);
            const char *name = at + sizeof(ElfW(Nhdr));
            const char *desc = name + ((note->n_namesz + 3) & ~3u);
            if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 &&
                std::memcmp(name, "GNU", 4) == 0 &&
                desc + note->n_descsz <= end)
              s.id = llvm::toHex(llvm::StringRef(desc, note->n_descsz));
            at = desc + ((note->n_descsz + 3) & ~3u);
          }
        }
        return 1;
      },
      &search);
  if (!search.id.empty())
    return search.id;
  Dl_info info;
  KeyHasher file;
  if (dladdr(reinterpret_cast<void *>(&compilerBuild), &info) &&
      info.dli_fname)
    file.addFile("object", info.dli_fname);
  return file.hex();
}

/// The model's file and every external data file it names (their hashes
/// remembered in `memoDir`, when not empty).
llvm::Error addModel(KeyHasher &key, llvm::StringRef path,
                     llvm::StringRef memoDir) {
  key.addFileHash("model", path, memoDir);
  if (!path.ends_with(".onnx") && !path.ends_with(".onnxtxt"))
    return llvm::Error::success();
  // Only a model that names a location is parsed for it (a model with
  // weights inside can be 2 GB of protobuf, which the import parses again).
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                          /*RequiresNullTerminator=*/false);
  if (!file || !(*file)->getBuffer().contains("location"))
    return llvm::Error::success();
  llvm::Expected<std::vector<std::string>> locations =
      onnxExternalDataLocations(path);
  if (!locations)
    return locations.takeError();
  llvm::StringRef dir = llvm::sys::path::parent_path(path);
  for (const std::string &location : *locations) {
    llvm::SmallString<256> file(dir);
    llvm::sys::path::append(file, location);
    key.add("external data", location);
    key.addFileHash("external data bytes", file, memoDir);
  }
  return llvm::Error::success();
}

/// The import options: shapes, ranges, bound, sequence and absent inputs,
/// by name.
void addImportOptions(KeyHasher &key, const OnnxImportOptions &import) {
  key.add("entry", import.entryName);
  key.add("inline constant limit", import.inlineConstantLimit);
  auto sorted = [](const auto &map) {
    std::vector<llvm::StringRef> names;
    for (const auto &entry : map)
      names.push_back(entry.getKey());
    llvm::sort(names);
    return names;
  };
  for (llvm::StringRef name : sorted(import.inputShapes)) {
    key.add("input shape", name);
    for (int64_t d : import.inputShapes.find(name)->second)
      key.add("dim", d);
  }
  for (llvm::StringRef name : sorted(import.dimRanges)) {
    const DimRange &range = import.dimRanges.find(name)->second;
    key.add("dim range", name);
    key.add("min", range.min);
    key.add("max", range.max);
  }
  for (llvm::StringRef name : sorted(import.boundInputs)) {
    const BoundInput &bound = import.boundInputs.find(name)->second;
    key.add("bound input", name);
    key.add("dtype", bound.dtype);
    for (int64_t d : bound.dims)
      key.add("dim", d);
    key.add("data", bound.data);
  }
  // --sequence-input / --absent-input: how sequence and optional inputs
  // are passed.
  for (llvm::StringRef name : sorted(import.sequenceInputs)) {
    key.add("sequence input", name);
    key.add("length", import.sequenceInputs.find(name)->second);
  }
  for (llvm::StringRef name : sorted(import.absentInputs))
    key.add("absent input", name);
  // --dump / --dump-all: the values kept as extra outputs, in their order.
  key.add("dump all", int64_t(import.dumpAll));
  for (const std::string &value : import.dumpValues)
    key.add("dump", value);
}

/// The target's options; --cpu=native stands for this host's CPU.
void addTargetOptions(KeyHasher &key, const CompileOptions &options) {
  const TargetOptions &target = options.targetOptions;
  key.add("target", options.target);
  key.add("cpu", target.cpu);
  if (target.cpu == "native") {
    key.add("host cpu", llvm::sys::getHostCPUName());
    llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
    std::vector<std::string> enabled;
    for (const auto &feature : features)
      if (feature.getValue())
        enabled.push_back(feature.getKey().str());
    llvm::sort(enabled);
    for (const std::string &feature : enabled)
      key.add("host feature", feature);
  }
  key.add("opt level", int64_t(target.optLevel));
  key.add("linker", target.linker);
  for (const std::string &arch : target.gpuArchs)
    key.add("gpu arch", arch);
  key.add("cuda path", target.cudaPath);
}

} // namespace

llvm::Expected<std::string>
kiln::compileCacheKey(const CompileOptions &options) {
  KeyHasher key;
  key.add("kiln compile cache", int64_t(1));
  key.add("compiler build", compilerBuild());
  key.add("llvm", LLVM_VERSION_STRING);
  llvm::SmallString<256> memoDir;
  if (!options.cacheDir.empty()) {
    memoDir = options.cacheDir;
    llvm::sys::path::append(memoDir, "inputs");
  }
  if (llvm::Error error = addModel(key, options.inputPath, memoDir))
    return std::move(error);
  addImportOptions(key, options.import);
  addTargetOptions(key, options);
  key.add("raise", int64_t(options.raise));
  key.add("quantize", options.quantize);
  key.add("generate", int64_t(options.generate));
  key.add("max seq", options.maxSeq);
  key.add("kv block size", options.kvBlockSize);
  key.add("kv blocks", options.kvBlocks);
  key.add("kv window blocks", options.kvWindowBlocks);
  key.add("expert ranks", options.planning.expertRanks);
  key.add("pipeline stages", options.planning.pipelineStages);
  key.add("tensor ranks", options.planning.tensorRanks);
  key.add("data replicas", options.planning.dataReplicas);
  for (int64_t layers : options.planning.stageLayers)
    key.add("stage layers", layers);
  key.add("plan", options.planning.planText);
  return key.hex();
}

std::string CompileCache::entryPath(llvm::StringRef key) const {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, key + ".kiln");
  return path.str().str();
}

/// Why `bytes`, the start of a file of `fileSize` bytes, is not a whole
/// artifact, or "" when it is: the runtime's first checks (magic, header
/// size, file size and, with `verifyChecksum`, the checksum of all of it).
static std::string artifactProblem(llvm::StringRef bytes, uint64_t fileSize,
                                   bool verifyChecksum) {
  kiln_artifact_header header;
  if (bytes.size() < sizeof(header))
    return "shorter than an artifact's header";
  std::memcpy(&header, bytes.data(), sizeof(header));
  if (std::memcmp(header.magic, KILN_ARTIFACT_MAGIC,
                  sizeof(KILN_ARTIFACT_MAGIC)) != 0 ||
      header.header_size != KILN_ARTIFACT_HEADER_SIZE)
    return "not an artifact";
  if (header.file_size != fileSize)
    return "its header says " + std::to_string(header.file_size) +
           " bytes, the file has " + std::to_string(fileSize);
  if (verifyChecksum &&
      kiln_checksum(bytes.data() + sizeof(header),
                    bytes.size() - sizeof(header)) != header.checksum)
    return "checksum mismatch";
  return "";
}

/// Puts the bytes of `from` at `to` through a temporary name beside `to`,
/// renamed over it: a hard link when both are on one file system (an
/// artifact of gigabytes costs nothing to store or fetch; a later compile
/// to `to` renames a new file over it, never writing into the entry), else
/// a copy. "" or why it failed.
static std::string copyAtomically(llvm::StringRef from, llvm::StringRef to) {
  // `to` may already be `from` (a hit fetched to the same output before):
  // renaming a link over another link of the same file does nothing.
  bool same = false;
  if (!fs::equivalent(from, to, same) && same)
    return "";
  llvm::SmallString<256> tmp;
  fs::createUniquePath(to + ".tmp-%%%%%%", tmp, /*MakeAbsolute=*/false);
  std::error_code ec = fs::create_hard_link(from, tmp);
  if (ec) {
    int fd;
    if ((ec = fs::createUniqueFile(to + ".tmp-%%%%%%", fd, tmp)))
      return "cannot create a file beside '" + to.str() + "': " + ec.message();
    ec = fs::copy_file(from, fd);
    if (std::error_code closed = fs::closeFile(fd); !ec)
      ec = closed;
  }
  if (!ec)
    ec = fs::rename(tmp, to);
  if (!ec)
    return "";
  fs::remove(tmp);
  return "cannot copy '" + from.str() + "' to '" + to.str() +
         "': " + ec.message();
}

/// Why the entry at `path` is not a whole artifact, or "". Its checksum is
/// verified unless `<path>.ok` holds the entry's fileStamp from a check
/// before (then its header and size are), and is recorded when it passes:
/// reading gigabytes on every hit would cost a large model's hit seconds.
/// The stamp file is rewritten on each hit: its time is the entry's last
/// use.
static std::string entryProblem(llvm::StringRef path) {
  std::string stamp = fileStamp(path), okPath = (path + ".ok").str();
  bool checked = !stamp.empty() && readSmallFile(okPath) == stamp;
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return buffer.getError().message();
  llvm::StringRef bytes = (*buffer)->getBuffer();
  std::string problem = artifactProblem(
      checked ? bytes.take_front(KILN_ARTIFACT_HEADER_SIZE) : bytes,
      bytes.size(), /*verifyChecksum=*/!checked);
  if (problem.empty())
    writeSmallFile(okPath, stamp);
  return problem;
}

bool CompileCache::fetch(llvm::StringRef key, llvm::StringRef outputPath) {
  std::string entry = entryPath(key);
  if (!fs::exists(entry))
    return false;
  if (std::string problem = entryProblem(entry); !problem.empty()) {
    warn("ignoring the damaged compile cache entry '" + entry + "' (" +
         problem + "); compiling");
    fs::remove(entry);
    fs::remove(entry + ".ok");
    return false;
  }
  // An output that cannot be written is the compile's error to report.
  return copyAtomically(entry, outputPath).empty();
}

bool CompileCache::ensureFolder() {
  if (std::error_code ec = fs::create_directories(dir)) {
    warn("cannot use the compile cache '" + dir + "': " + ec.message() +
         "; compiling without it");
    return false;
  }
  return true;
}

void CompileCache::store(llvm::StringRef key, llvm::StringRef artifactPath) {
  uint64_t size = 0;
  if (fs::file_size(artifactPath, size) || size > maxBytes || !ensureFolder())
    return;
  if (std::string why = copyAtomically(artifactPath, entryPath(key));
      !why.empty()) {
    warn("cannot store the artifact in the compile cache: " + why);
    return;
  }
  trim();
}

void CompileCache::trim() {
  struct Entry {
    std::string path;
    uint64_t size;
    llvm::sys::TimePoint<> used;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec)) {
    fs::file_status status, ok;
    if (!llvm::StringRef(it->path()).ends_with(".kiln") ||
        fs::status(it->path(), status) || !fs::is_regular_file(status))
      continue;
    // Last used: the entry's last check (its .ok file), else its making.
    llvm::sys::TimePoint<> used = status.getLastModificationTime();
    if (!fs::status(it->path() + ".ok", ok))
      used = std::max(used, ok.getLastModificationTime());
    entries.push_back({it->path(), status.getSize(), used});
    total += status.getSize();
  }
  llvm::sort(entries, [](const Entry &a, const Entry &b) {
    return a.used < b.used;
  });
  for (const Entry &entry : entries) {
    if (total <= maxBytes)
      break;
    if (!fs::remove(entry.path)) {
      fs::remove(entry.path + ".ok");
      total -= entry.size;
    }
  }
}
