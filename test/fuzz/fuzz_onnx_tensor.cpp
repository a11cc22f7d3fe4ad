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
  HostTensor tensor;
  std::string error = parseOnnxTensor(data, size, tensor);
  fuzz::checkParsed(error, tensor);
  if (!error.empty())
    return 0;
  std::vector<uint8_t> encoded;
  std::string encodeError = encodeOnnxTensor(tensor, encoded);
  fuzz::require(encodeError.empty(), "a parsed TensorProto does not encode:",
                encodeError);
  HostTensor again;
  std::string reparsed = parseOnnxTensor(encoded.data(), encoded.size(), again);
  fuzz::require(reparsed.empty(), "an encoded TensorProto does not parse:",
                reparsed);
  fuzz::require(fuzz::sameTensor(tensor, again),
                "TensorProto round trip changed it");
  return 0;
}
