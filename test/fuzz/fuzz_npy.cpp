//===- fuzz_npy.cpp - libFuzzer target: the .npy reader ------------------===//
//
// Bytes -> kiln::parseNpy. A parsed tensor must be consistent and survive
// encodeNpy + parseNpy unchanged (a shape too long for a version 1.0 header
// may fail to encode, with a message).
//
//===----------------------------------------------------------------------===//

#include "fuzz_tensor.h"

using namespace kiln;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  HostTensor tensor;
  std::string error = parseNpy(data, size, tensor);
  fuzz::checkParsed(error, tensor);
  if (!error.empty())
    return 0;
  std::vector<uint8_t> encoded;
  if (std::string error = encodeNpy(tensor, encoded); !error.empty()) {
    fuzz::require(error.find("too long") != std::string::npos,
                  "a parsed .npy tensor does not encode:", error);
    return 0;
  }
  HostTensor again;
  std::string reparsed = parseNpy(encoded.data(), encoded.size(), again);
  fuzz::require(reparsed.empty(), "an encoded .npy does not parse:", reparsed);
  fuzz::require(fuzz::sameTensor(tensor, again), ".npy round trip changed it");
  return 0;
}
