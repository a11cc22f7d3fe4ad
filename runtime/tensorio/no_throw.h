//===- no_throw.h - Turn exceptions into error messages ---------*- C++ -*-===//
//
// The tensor I/O API reports errors as strings and promises not to throw;
// the public functions run their bodies through noThrow() so that an
// allocation failure on a huge or hostile file becomes a message. The
// readers share readAndParse.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TENSORIO_NO_THROW_H
#define KILN_TENSORIO_NO_THROW_H

#include "kiln/tensor_io.h"

#include <cstdint>
#include <exception>
#include <new>
#include <string>

namespace kiln::detail {

/// Errors are one line, like the runtime's (kiln_last_error): names, keys
/// and paths copied from a file or its path must not split the message.
inline std::string oneLine(std::string message) {
  for (char &c : message)
    if (c == '\n' || c == '\r')
      c = ' ';
  return message;
}

template <typename Body> std::string noThrow(Body &&body) noexcept {
  try {
    return oneLine(body());
  } catch (const std::bad_alloc &) {
    return "out of memory";
  } catch (const std::exception &error) {
    return std::string("internal error: ") + error.what();
  } catch (...) {
    return "internal error";
  }
}

/// Reads the file `path` whole and parses it with `parse`; a parse error
/// names the file.
inline std::string readAndParse(const std::string &path, HostTensor &out,
                                std::string (*parse)(const uint8_t *, size_t,
                                                     HostTensor &)) {
  std::vector<uint8_t> bytes;
  if (std::string error = readFileBytes(path, bytes); !error.empty())
    return error;
  if (std::string error = parse(bytes.data(), bytes.size(), out);
      !error.empty())
    return "'" + path + "': " + error;
  return "";
}

} // namespace kiln::detail

#endif // KILN_TENSORIO_NO_THROW_H
