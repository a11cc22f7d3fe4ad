//===- DLPack.h - The DLPack ABI, as far as Kiln uses it --------*- C++ -*-===//
//
// The C structs of the DLPack protocol (https://dmlc.github.io/dlpack/,
// the unversioned DLManagedTensor that `__dlpack__` capsules named
// "dltensor" carry), declared here because Debian ships no dlpack.h. Only
// the layout matters: it is the ABI every framework agrees on.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PYTHON_BINDINGS_DLPACK_H
#define KILN_PYTHON_BINDINGS_DLPACK_H

#include <cstdint>

namespace kiln::python::dlpack {

// DLPack's numbering (dlpack.h's DLDeviceType and DLDataTypeCode), only the
// values Kiln produces or accepts.
enum DeviceType : int32_t { kCPU = 1, kCUDA, kCUDAHost, kCUDAManaged = 13 };
enum TypeCode : uint8_t { kInt, kUInt, kFloat, kBfloat = 4, kBool = 6 };

struct Device {
  int32_t device_type;
  int32_t device_id;
};

struct DataType {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
};

struct Tensor {
  void *data;
  Device device;
  int32_t ndim;
  DataType dtype;
  int64_t *shape;
  int64_t *strides; // NULL: dense row-major
  uint64_t byte_offset;
};

struct ManagedTensor {
  Tensor dl_tensor;
  void *manager_ctx;
  void (*deleter)(ManagedTensor *self);
};

} // namespace kiln::python::dlpack

#endif // KILN_PYTHON_BINDINGS_DLPACK_H
