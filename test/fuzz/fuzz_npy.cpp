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
  fuzz::checkReader(data, size, parseNpy, encodeNpy, ".npy", "too long");
  return 0;
}
