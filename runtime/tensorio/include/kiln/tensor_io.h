//===- kiln/tensor_io.h - Read and write tensor files -----------*- C++ -*-===//
//
// The tensor files kiln-run and the tests exchange with the outside world:
// NumPy .npy (read 1.0/2.0/3.0, write 1.0) and ONNX TensorProto .pb (read),
// the format of ONNX's conformance test data. No protobuf or NumPy library:
// both formats are decoded by hand with every read bounds-checked, because
// these files come from users and must fail with a message, not a crash.
//
// Every function returns "" on success or a one-line error message, and
// never throws (an allocation failure is reported as a message too).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TENSOR_IO_H
#define KILN_TENSOR_IO_H

#include "kiln/dtype.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

/// A dense, row-major tensor in host memory. Sub-byte types (int4, uint4,
/// float4e2m1) hold one element per byte, like the runtime API: the value in
/// the low nibble, int4 sign-extended to the whole byte.
struct HostTensor {
  std::string name; // from .pb files; empty for .npy
  kiln_dtype dtype = KILN_DTYPE_INVALID;
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

/// Computes the element count and dense byte size of `dtype` x `dims`,
/// rejecting negative dims, unknown dtypes and overflow.
std::string tensorSize(kiln_dtype dtype, const std::vector<int64_t> &dims,
                       uint64_t &elements, uint64_t &bytes);

/// NumPy .npy. Little-endian (or byte-order-free) bool, int8..int64,
/// uint8..uint64, float16/32/64 with fortran_order False.
std::string parseNpy(const uint8_t *data, size_t size, HostTensor &out);
std::string readNpy(const std::string &path, HostTensor &out);
std::string encodeNpy(const HostTensor &tensor, std::vector<uint8_t> &out);
/// Just the .npy header (magic through padding) for `dataBytes` of data that
/// follow it, so large arrays can be written from where they already are.
std::string encodeNpyHeader(kiln_dtype dtype, const std::vector<int64_t> &dims,
                            uint64_t dataBytes, std::vector<uint8_t> &out);
std::string writeNpy(const std::string &path, const HostTensor &tensor);

/// ONNX TensorProto in protobuf wire format.
std::string parseOnnxTensor(const uint8_t *data, size_t size, HostTensor &out);
std::string readOnnxTensor(const std::string &path, HostTensor &out);

/// Reads .npy or .pb, chosen by extension, else by content (.npy magic).
std::string readTensorFile(const std::string &path, HostTensor &out);

/// Reads a whole file; used by the readers above.
std::string readFileBytes(const std::string &path, std::vector<uint8_t> &out);

} // namespace kiln

#endif // KILN_TENSOR_IO_H
