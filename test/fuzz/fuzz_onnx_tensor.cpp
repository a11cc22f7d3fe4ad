//===- fuzz_onnx_tensor.cpp - libFuzzer target: the TensorProto reader ---===//
//
// Bytes -> kiln::parseOnnxTensor (protobuf wire format decoded by hand). A
// parsed tensor must be consistent and survive encodeOnnxTensor +
// parseOnnxTensor unchanged.
//
//===----------------------------------------------------------------------===//

#include "fuzz_tensor.h"

using namespace kiln;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto encode = [](const HostTensor &tensor, std::vector<uint8_t> &out) {
    return encodeOnnxTensor(tensor, out);
  };
  fuzz::checkReader(data, size, parseOnnxTensor, encode, "TensorProto");
  return 0;
}
