//===- CompileCache.h - Artifacts by the hash of what made them -*- C++ -*-===//
//
// kiln-compile's content-addressed cache: an artifact is stored under the
// hash of everything that decides its bytes (the model file and its
// external data, the options that change the output, the compiler's build
// and the host CPU for --cpu=native), so compiling an unchanged model again
// copies the stored artifact instead of compiling.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DRIVER_COMPILECACHE_H
#define KILN_DRIVER_COMPILECACHE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <string>

namespace kiln {

struct CompileOptions;

/// The cache folder when none is given: $KILN_CACHE_DIR, else
/// $XDG_CACHE_HOME/kiln, else $HOME/.cache/kiln; empty when none is set.
std::string defaultCompileCacheDir();

/// Whether a compile of `options` can come from the cache: an artifact
/// (not an --emit stage) of a model read from a file, without reports
/// printed along the way that a stored artifact could not repeat
/// (--quantize prints each layer's error).
bool isCacheable(const CompileOptions &options);

/// The key of compiling `options` to an artifact: a BLAKE3 hash, in hex, of
/// the model's bytes and of its external data files, every option that
/// changes the artifact, the compiler's build (its ELF build ID and LLVM's
/// version) and, for --cpu=native, the host's CPU and features. Fails with
/// the reason when the model cannot be read.
llvm::Expected<std::string> compileCacheKey(const CompileOptions &options);

/// A folder of artifacts named by key. Nothing it does fails a compile:
/// a problem is a warning, and the compile goes on without the cache.
class CompileCache {
public:
  /// The folder's size past which the least recently used entries are
  /// removed after a store (an artifact larger than this is not stored).
  static constexpr uint64_t kDefaultMaxBytes = uint64_t(10) << 30;

  CompileCache(std::string dir, std::function<void(llvm::StringRef)> warn,
               uint64_t maxBytes = kDefaultMaxBytes)
      : dir(std::move(dir)), warn(std::move(warn)), maxBytes(maxBytes) {}

  /// The entry of `key`: `<dir>/<key>.kiln`.
  std::string entryPath(llvm::StringRef key) const;

  /// Copies the entry of `key` to `outputPath` (a hard link, or a copy
  /// across file systems, under a temporary name renamed over it); true on
  /// a hit. An entry that is not a whole, valid artifact
  /// is removed with a warning, and is a miss.
  bool fetch(llvm::StringRef key, llvm::StringRef outputPath);

  /// Copies the artifact at `artifactPath` into the cache as `key`, then
  /// trims the folder to its size limit.
  void store(llvm::StringRef key, llvm::StringRef artifactPath);

private:
  bool ensureFolder();
  void trim();

  std::string dir;
  std::function<void(llvm::StringRef)> warn;
  uint64_t maxBytes;
};

} // namespace kiln

#endif // KILN_DRIVER_COMPILECACHE_H
