//===- test_support.h - Shared helpers for the runtime unit tests -*- C++
//-*-===//

#ifndef KILN_TEST_RUNTIME_TEST_SUPPORT_H
#define KILN_TEST_RUNTIME_TEST_SUPPORT_H

#include "artifact_builder.h"
#include "kiln/runtime.h"

#include <cstdlib>
#include <string>
#include <vector>
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

/// Output `index` of a session, as kiln_session_output hands it out.
struct OutputView {
  kiln_status status = KILN_STATUS_OK;
  kiln_tensor_desc desc{};
  const void *data = nullptr;
  size_t bytes = 0;

  template <typename T> const T *as() const {
    return static_cast<const T *>(data);
  }
  std::vector<int64_t> dims() const {
    return std::vector<int64_t>(desc.dims, desc.dims + desc.rank);
  }
};
inline OutputView sessionOutput(kiln_session *session, size_t index) {
  OutputView out;
  out.status =
      kiln_session_output(session, index, &out.desc, &out.data, &out.bytes);
  return out;
}

/// Writes `artifact` to a temporary file and loads it.
inline kiln_status loadBytes(const Bytes &artifact, kiln_model **model) {
  TempFile file(artifact);
  return kiln_model_load(file.path(), model);
}

} // namespace kiln::test

#endif // KILN_TEST_RUNTIME_TEST_SUPPORT_H
