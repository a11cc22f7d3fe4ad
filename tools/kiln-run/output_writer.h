//===- output_writer.h - All-or-nothing writing of output files -*- C++ -*-===//
//
// kiln-run must never leave a partial result behind: a reader that finds
// DIR/y.npy must be able to trust it. Outputs are written to temporary names
// in DIR and renamed only when every one has been written; any failure (or
// destruction before commit) removes what this run created, including DIR
// itself if the run made it.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUN_OUTPUT_WRITER_H
#define KILN_RUN_OUTPUT_WRITER_H

#include "kiln/tensor_io.h"

#include <set>
#include <string>
#include <vector>

namespace kiln::run {

/// A file name for output `name`: letters, digits, '.', '-' and '_' are
/// kept, anything else (and a leading '.') becomes '_'.
std::string sanitizeFileName(const std::string &name);

class OutputWriter {
public:
  ~OutputWriter();

  /// Uses `dir`, creating it (and missing parents) if needed.
  std::string open(const std::string &dir);

  /// Writes `bytes` of `data` (dtype x dims, row-major) as .npy under a
  /// temporary name; it becomes DIR/<sanitized name>.npy at commit(), with
  /// _2, _3... appended on collisions. The data is written from where it
  /// is, without a copy.
  std::string add(const std::string &outputName, kiln_dtype dtype,
                  const std::vector<int64_t> &dims, const void *data,
                  size_t bytes);

  /// Renames every temporary file to its final name.
  std::string commit();

  /// Removes every file and directory this writer created.
  void rollback();

private:
  struct Pending {
    std::string temporary;
    std::string final;
  };

  std::string dir_;
  std::vector<std::string> createdDirs_; // outermost first
  std::vector<Pending> pending_;
  std::vector<std::string> committedFiles_;
  std::set<std::string> usedNames_;
  bool committed_ = false;
};

} // namespace kiln::run

#endif // KILN_RUN_OUTPUT_WRITER_H
