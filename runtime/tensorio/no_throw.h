//===- no_throw.h - Turn exceptions into error messages ---------*- C++ -*-===//
//
// The tensor I/O API reports errors as strings and promises not to throw;
// the public functions run their bodies through noThrow() so that an
// allocation failure on a huge or hostile file becomes a message.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TENSORIO_NO_THROW_H
#define KILN_TENSORIO_NO_THROW_H

#include <exception>
#include <new>
#include <string>

namespace kiln::detail {

template <typename Body> std::string noThrow(Body &&body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return "out of memory";
  } catch (const std::exception &error) {
    return std::string("internal error: ") + error.what();
  } catch (...) {
    return "internal error";
  }
}

} // namespace kiln::detail

#endif // KILN_TENSORIO_NO_THROW_H
