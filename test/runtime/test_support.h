//===- test_support.h - Shared helpers for the runtime unit tests -*- C++
//-*-===//

#ifndef KILN_TEST_RUNTIME_TEST_SUPPORT_H
#define KILN_TEST_RUNTIME_TEST_SUPPORT_H

#include "artifact_builder.h"
#include "kiln/runtime.h"

#include <cstdlib>
#include <string>
#include <unistd.h>

namespace kiln::test {

/// The shared objects built from test_host_code*.c (paths set by CMake).
inline const Bytes &addHostCode() {
  static const Bytes code = readFile(KILN_TEST_HOST_CODE);
  return code;
}
inline const Bytes &mulHostCode() {
  static const Bytes code = readFile(KILN_TEST_HOST_CODE_MUL);
  return code;
}

/// A file holding `bytes`, removed when the object goes away.
class TempFile {
public:
  explicit TempFile(const Bytes &bytes, const char *suffix = ".kiln") {
    const char *dir = std::getenv("TMPDIR");
    path_ =
        std::string(dir && *dir ? dir : "/tmp") + "/kiln-unit-XXXXXX" + suffix;
    int fd = mkstemps(path_.data(), int(std::string(suffix).size()));
    if (fd >= 0)
      close(fd);
    writeFile(path_, bytes);
  }
  ~TempFile() { unlink(path_.c_str()); }
  const char *path() const { return path_.c_str(); }

private:
  std::string path_;
};

/// Writes `artifact` to a temporary file and loads it.
inline kiln_status loadBytes(const Bytes &artifact, kiln_model **model) {
  TempFile file(artifact);
  return kiln_model_load(file.path(), model);
}

} // namespace kiln::test

#endif // KILN_TEST_RUNTIME_TEST_SUPPORT_H
