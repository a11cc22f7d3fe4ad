//===- output_writer.h - All-or-nothing writing of output files -*- C++ -*-===//
//
// kiln-run must never leave a partial result behind: a reader that finds
// DIR/y.npy (or DIR/y.pb) must be able to trust it. Outputs are written to temporary names
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

  /// Writes `bytes` of `data` (dtype x dims, row-major) under a temporary
  /// name; it becomes DIR/<sanitized name>.npy at commit(), with _2, _3...
  /// appended to the name on collisions. The data is written from where it
  /// is, without a copy. Dtypes NumPy has no dtype for (bfloat16, float8,
  /// float4e2m1) are written as ONNX TensorProtos, DIR/<name>.pb, instead;
  /// int4/int2 and uint4/uint2 as int8 and uint8 .npy, one element per
  /// byte. Sub-byte values outside their dtype's range are an error.
  /// `fileName`, if given, receives the final file name (without DIR/).
  /// With `subdir` (from openSubdirectory), the file is
  /// DIR/<subdir>/<fileBase>.npy instead: an element of a sequence output.
  std::string add(const std::string &outputName, kiln_dtype dtype,
                  const std::vector<int64_t> &dims, const void *data,
                  size_t bytes, std::string *fileName = nullptr,
                  const std::string &subdir = "",
                  const std::string &fileBase = "");

  /// Creates DIR/<sanitized name> (with _2, _3... on collisions) for the
  /// elements of sequence output `name`; `subdir` receives its name.
  std::string openSubdirectory(const std::string &name, std::string &subdir);

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
