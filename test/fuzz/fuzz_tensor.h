//===- fuzz_tensor.h - Shared checks of the tensor-reader targets -*- C++ -*-===//
//
// What every parsed tensor must satisfy, whatever bytes it came from: a
// known dtype, non-negative dims whose product times the element size is
// the data's size, sub-byte values in range; and parse(encode(t)) == t
// (checkReader runs a reader's target through all of it).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TEST_FUZZ_FUZZ_TENSOR_H
#define KILN_TEST_FUZZ_FUZZ_TENSOR_H

#include "kiln/tensor_io.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace kiln::fuzz {

inline void require(bool ok, const char *what, const std::string &detail = "") {
  if (!ok) {
    std::fprintf(stderr, "fuzz target invariant broken: %s %s\n", what,
                 detail.c_str());
    std::abort();
  }
}

/// Checks `error` (a reader's result) and, on success, `tensor`.
inline void checkParsed(const std::string &error, const HostTensor &tensor) {
  if (!error.empty()) {
    require(error.find_first_of("\n\r") == std::string::npos, "multi-line error",
            error);
    return;
  }
  uint64_t elements = 0;
  require(checkTensorBytes(tensor.dtype, tensor.dims, tensor.data.size(),
                           elements)
              .empty(),
          "parsed tensor's data does not match its dtype and shape");
  require(checkSubByteValues(tensor.dtype, tensor.data.data(),
                             tensor.data.size())
              .empty(),
          "parsed sub-byte tensor holds out-of-range values");
}

inline bool sameTensor(const HostTensor &a, const HostTensor &b) {
  return a.name == b.name && a.dtype == b.dtype && a.dims == b.dims &&
         a.data == b.data;
}

/// The body of a tensor reader's target: `parse`s the bytes, checks what
/// it returns and, when it parsed, that `encode` and `parse` again give the
/// same tensor. `what` names the format in messages; an encode error
/// containing `encodeMayFailWith` (when not null) is accepted.
template <typename Parse, typename Encode>
void checkReader(const uint8_t *data, size_t size, Parse parse, Encode encode,
                 const std::string &what,
                 const char *encodeMayFailWith = nullptr) {
  HostTensor tensor;
  std::string error = parse(data, size, tensor);
  checkParsed(error, tensor);
  if (!error.empty())
    return;
  std::vector<uint8_t> encoded;
  if (std::string error = encode(tensor, encoded); !error.empty()) {
    require(encodeMayFailWith &&
                error.find(encodeMayFailWith) != std::string::npos,
            ("a parsed " + what + " does not encode:").c_str(), error);
    return;
  }
  HostTensor again;
  std::string reparsed = parse(encoded.data(), encoded.size(), again);
  require(reparsed.empty(), ("an encoded " + what + " does not parse:").c_str(),
          reparsed);
  require(sameTensor(tensor, again), (what + " round trip changed it").c_str());
}

} // namespace kiln::fuzz

#endif // KILN_TEST_FUZZ_FUZZ_TENSOR_H
