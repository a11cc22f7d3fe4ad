//===- kiln/tensor_io.h - Read and write tensor files -----------*- C++ -*-===//
//
// The tensor files kiln-run and the tests exchange with the outside world:
// NumPy .npy (read 1.0/2.0/3.0, write 1.0) and ONNX TensorProto .pb (read
// and write), the format of ONNX's conformance test data and the one file
// format for dtypes NumPy lacks (bfloat16, float8, float4e2m1). No protobuf
// or NumPy library:
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
/// float4e2m1, int2, uint2) hold one element per byte, like the runtime API:
/// int4/int2 sign-extended to the whole byte, the others zero-extended
/// (float4e2m1: its 4-bit code). Files store them packed.
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

/// tensorSize, and "" only if `dataBytes` is the dense byte size it
/// computes; else which check failed.
std::string checkTensorBytes(kiln_dtype dtype, const std::vector<int64_t> &dims,
                             uint64_t dataBytes, uint64_t &elements);

/// "" if every byte of `data` (`count` elements of a sub-byte `dtype`, one
/// per byte) is in the dtype's range, else which element is not. Always ""
/// for other dtypes.
std::string checkSubByteValues(kiln_dtype dtype, const uint8_t *data,
                               size_t count);

/// Whether encodeNpy can write `dtype`. False for bfloat16, the float8
/// types and float4e2m1, which have no NumPy dtype (write them as .pb);
/// true for int4/int2 and uint4/uint2, written as int8 and uint8 one element
/// per byte (read back, such a file is int8/uint8).
bool npyCanHold(kiln_dtype dtype);

/// NumPy .npy. Little-endian (or byte-order-free) bool, int8..int64,
/// uint8..uint64, float16/32/64 with fortran_order False.
std::string parseNpy(const uint8_t *data, size_t size, HostTensor &out);
std::string readNpy(const std::string &path, HostTensor &out);
std::string encodeNpy(const HostTensor &tensor, std::vector<uint8_t> &out);
/// Just the .npy header (magic through padding) for `dataBytes` of data that
/// follow it, so large arrays can be written from where they already are.
/// (It cannot range-check sub-byte data it does not see; encodeNpy and
/// writeNpy do.)
std::string encodeNpyHeader(kiln_dtype dtype, const std::vector<int64_t> &dims,
                            uint64_t dataBytes, std::vector<uint8_t> &out);
std::string writeNpy(const std::string &path, const HostTensor &tensor);

/// ONNX TensorProto in protobuf wire format. Reads raw_data and the typed
/// fields of every dtype in kiln/dtype.h (sub-byte types packed).
std::string parseOnnxTensor(const uint8_t *data, size_t size, HostTensor &out);
std::string readOnnxTensor(const std::string &path, HostTensor &out);
/// Writes dims, data_type, name (if not empty) and raw_data: the bytes as
/// they are (little-endian), sub-byte types packed ONNX's way (element 0 in
/// the low bits) after a range check of every element. Any dtype in
/// kiln/dtype.h; `bytes` must be the dense size of `dtype` x `dims`.
std::string encodeOnnxTensor(const std::string &name, kiln_dtype dtype,
                             const std::vector<int64_t> &dims, const void *data,
                             size_t bytes, std::vector<uint8_t> &out);
std::string encodeOnnxTensor(const HostTensor &tensor,
                             std::vector<uint8_t> &out);
std::string writeOnnxTensor(const std::string &path, const HostTensor &tensor);

/// Reads .npy or .pb, chosen by extension, else by content (.npy magic).
std::string readTensorFile(const std::string &path, HostTensor &out);

/// Reads / writes a whole file; used by the readers and writers above.
std::string readFileBytes(const std::string &path, std::vector<uint8_t> &out);
std::string writeFileBytes(const std::string &path,
                           const std::vector<uint8_t> &bytes);

} // namespace kiln

#endif // KILN_TENSOR_IO_H
