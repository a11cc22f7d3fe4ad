//===- DeviceTensors.cpp - Tensors in device memory, through DLPack -------===//
//
// A model that runs on a GPU takes inputs that already live there (a CUDA
// torch.Tensor, another run's output) and can leave its outputs there: the
// runtime copies device to device (kiln_session_set_input_device,
// kiln_session_output_device) and this file speaks DLPack, the protocol
// frameworks exchange such tensors through. Host arrays keep going through
// NumPy (KilnModule.cpp, kiln/_runtime.py).
//
//===----------------------------------------------------------------------===//

#include "DLPack.h"
#include "RuntimeSupport.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <initializer_list>
#include <memory>
#include <optional>

namespace py = pybind11;
using namespace kiln::python;

namespace {

/// The Kiln dtypes DLPack has exactly, by DLPack type code; each one's bits
/// are its element size. Types DLPack lacks (fp8, fp4, int4, ...) go out as
/// their storage type, as they do to NumPy; they cannot come in from device
/// memory (the runtime checks their values on the host).
struct DlpackCode {
  uint8_t code;
  std::initializer_list<int> dtypes;
};
const DlpackCode kExactTypes[] = {
    {dlpack::kFloat,
     {KILN_DTYPE_FLOAT16, KILN_DTYPE_FLOAT32, KILN_DTYPE_FLOAT64}},
    {dlpack::kBfloat, {KILN_DTYPE_BFLOAT16}},
    {dlpack::kInt,
     {KILN_DTYPE_INT8, KILN_DTYPE_INT16, KILN_DTYPE_INT32, KILN_DTYPE_INT64}},
    {dlpack::kUInt,
     {KILN_DTYPE_UINT8, KILN_DTYPE_UINT16, KILN_DTYPE_UINT32,
      KILN_DTYPE_UINT64}},
    {dlpack::kBool, {KILN_DTYPE_BOOL}},
};

uint8_t bitsOf(int kilnDtype) {
  return uint8_t(8 * kiln_dtype_size(kilnDtype));
}

std::optional<int> kilnDtypeOf(dlpack::DataType type) {
  for (const DlpackCode &exact : kExactTypes)
    for (int dtype : exact.dtypes)
      if (exact.code == type.code && bitsOf(dtype) == type.bits &&
          type.lanes == 1)
        return dtype;
  return std::nullopt;
}

dlpack::DataType dlpackTypeOf(int kilnDtype) {
  for (const DlpackCode &exact : kExactTypes)
    for (int dtype : exact.dtypes)
      if (dtype == kilnDtype)
        return {exact.code, bitsOf(dtype), 1};
  // Storage types: int4/int2 sign-extended bytes, the rest unsigned bytes.
  bool isSigned = kilnDtype == KILN_DTYPE_INT4 || kilnDtype == KILN_DTYPE_INT2;
  return {isSigned ? dlpack::kInt : dlpack::kUInt, 8, 1};
}

std::string dlpackTypeName(dlpack::DataType type) {
  static const char *const kCodes[] = {"int", "uint", "float", "opaque",
                                       "bfloat", "complex", "bool"};
  std::string name = type.code < 7 ? kCodes[type.code]
                                   : "code" + std::to_string(type.code);
  name += std::to_string(type.bits);
  if (type.lanes != 1)
    name += "x" + std::to_string(type.lanes);
  return name;
}

[[noreturn]] void refuse(const std::string &name, const std::string &why,
                         const char *status = "INVALID_ARGUMENT") {
  throw RuntimeFailure{status, "input '" + name + "': " + why};
}

/// A DLPack capsule Kiln exports: the tensor, and what keeps its memory
/// (the session) and its shape alive until the consumer calls the deleter.
struct Export {
  dlpack::ManagedTensor managed{};
  std::shared_ptr<Session> owner;
  std::vector<int64_t> shape;
};

void deleteExport(dlpack::ManagedTensor *managed) {
  delete static_cast<Export *>(managed->manager_ctx);
}

/// A capsule nobody consumed still owns its tensor.
void destroyUnconsumedCapsule(PyObject *capsule) {
  if (!PyCapsule_IsValid(capsule, "dltensor"))
    return; // consumed: renamed "used_dltensor", the consumer deletes
  auto *managed = static_cast<dlpack::ManagedTensor *>(
      PyCapsule_GetPointer(capsule, "dltensor"));
  if (managed && managed->deleter)
    managed->deleter(managed);
}

/// One output of a run, in the device memory of the session that made it.
class DeviceTensor {
public:
  DeviceTensor(std::shared_ptr<Session> owner, std::string name, int dtype,
               std::vector<int64_t> dims, uint64_t address, size_t bytes,
               int deviceIndex, py::array host)
      : owner_(std::move(owner)), name_(std::move(name)), dtype_(dtype),
        dims_(std::move(dims)), address_(address), bytes_(bytes),
        deviceIndex_(deviceIndex), host_(std::move(host)) {}

  /// `__dlpack__`: the runtime finished the run (and its stream) before
  /// returning, so the data is ready on every stream and `stream` needs no
  /// wait; it is accepted for the protocol's sake.
  py::object dlpack(py::object stream) const {
    (void)stream;
    auto *e = new Export;
    e->owner = owner_;
    e->shape = dims_;
    dlpack::Tensor &t = e->managed.dl_tensor;
    t.data = reinterpret_cast<void *>(uintptr_t(address_));
    t.device = {dlpack::kCUDA, deviceIndex_};
    t.ndim = int32_t(dims_.size());
    t.dtype = dlpackTypeOf(dtype_);
    t.shape = e->shape.data();
    t.strides = nullptr;
    t.byte_offset = 0;
    e->managed.manager_ctx = e;
    e->managed.deleter = &deleteExport;
    PyObject *capsule =
        PyCapsule_New(&e->managed, "dltensor", &destroyUnconsumedCapsule);
    if (!capsule) {
      delete e;
      throw py::error_already_set();
    }
    return py::reinterpret_steal<py::object>(capsule);
  }

  py::tuple dlpackDevice() const {
    return py::make_tuple(int(dlpack::kCUDA), deviceIndex_);
  }

  const std::string &name() const { return name_; }
  int dtype() const { return dtype_; }
  py::tuple shape() const { return py::cast(dims_); }
  uint64_t address() const { return address_; }
  size_t bytes() const { return bytes_; }
  int deviceIndex() const { return deviceIndex_; }
  /// The run's host copy of the same values (the runtime brings every
  /// output back too), a view that keeps the session.
  py::array host() const { return host_; }

private:
  std::shared_ptr<Session> owner_;
  std::string name_;
  int dtype_;
  std::vector<int64_t> dims_;
  uint64_t address_;
  size_t bytes_;
  int deviceIndex_;
  py::array host_;
};

/// The dense row-major strides of `shape`, in elements.
bool isRowMajor(const dlpack::Tensor &t) {
  if (!t.strides)
    return true;
  int64_t expected = 1;
  for (int32_t i = t.ndim - 1; i >= 0; --i) {
    // A dim of size 1 may have any stride.
    if (t.shape[i] != 1 && t.strides[i] != expected)
      return false;
    expected *= t.shape[i];
  }
  return true;
}

} // namespace

namespace kiln::python {

DeviceInput readDeviceInput(const std::string &name, py::object capsule) {
  PyObject *object = capsule.ptr();
  if (!PyCapsule_IsValid(object, "dltensor"))
    refuse(name, "__dlpack__() did not return a DLPack capsule named "
                 "'dltensor' (already consumed, or a versioned capsule)");
  auto *managed = static_cast<dlpack::ManagedTensor *>(
      PyCapsule_GetPointer(object, "dltensor"));
  const dlpack::Tensor &t = managed->dl_tensor;
  DeviceInput in;
  in.name = name;
  in.deviceType = t.device.device_type;
  in.deviceId = t.device.device_id;
  std::optional<int> dtype = kilnDtypeOf(t.dtype);
  if (!dtype)
    refuse(name, "DLPack dtype " + dlpackTypeName(t.dtype) +
                     " has no Kiln dtype", "DTYPE_MISMATCH");
  in.dtype = *dtype;
  if (t.ndim < 0 || (t.ndim > 0 && !t.shape))
    refuse(name, "DLPack tensor has no valid shape");
  in.dims.assign(t.shape, t.shape + t.ndim);
  if (!isRowMajor(t))
    refuse(name, "the tensor is not dense row-major (make it contiguous "
                 "first, e.g. tensor.contiguous())");
  uint64_t elements = 1;
  for (int64_t d : in.dims) {
    if (d < 0)
      refuse(name, "DLPack tensor has a negative dim");
    elements *= uint64_t(d);
  }
  in.bytes = size_t(elements * (t.dtype.bits / 8));
  in.address = uint64_t(uintptr_t(t.data)) + t.byte_offset;
  // Consumed: from now on the capsule's destructor leaves the tensor alone
  // and `in` calls its deleter, once the copy no longer needs the memory.
  PyCapsule_SetName(object, "used_dltensor");
  in.release = std::shared_ptr<void>(managed, [](void *p) {
    auto *m = static_cast<dlpack::ManagedTensor *>(p);
    if (m->deleter)
      m->deleter(m);
  });
  return in;
}

py::list deviceOutputs(const std::shared_ptr<Session> &session,
                       const kiln_model *model, int deviceIndex) {
  py::list result;
  size_t n = kiln_model_num_outputs(model);
  for (size_t i = 0; i < n; ++i) {
    kiln_tensor_desc desc;
    uint64_t address = 0;
    size_t bytes = 0;
    const void *hostData = nullptr;
    size_t hostBytes = 0;
    kiln_status status = kiln_session_output_device(session->session, i,
                                                    &desc, &address, &bytes);
    if (status == KILN_STATUS_OK)
      status = kiln_session_output(session->session, i, &desc, &hostData,
                                   &hostBytes);
    if (status != KILN_STATUS_OK)
      throw lastFailure(status);
    std::vector<int64_t> dims(desc.dims, desc.dims + desc.rank);
    auto *keep = new std::shared_ptr<Session>(session);
    py::capsule base(keep, [](void *p) {
      delete static_cast<std::shared_ptr<Session> *>(p);
    });
    py::array host(py::dtype(storageDtype(desc.dtype)),
                   std::vector<py::ssize_t>(dims.begin(), dims.end()), {},
                   const_cast<void *>(hostData), base);
    result.append(DeviceTensor(session, desc.name, int(desc.dtype),
                               std::move(dims), address, bytes, deviceIndex,
                               std::move(host)));
  }
  return result;
}

void registerDeviceTensors(py::module_ &m) {
  py::class_<DeviceTensor>(m, "DeviceTensor")
      .def("__dlpack__", &DeviceTensor::dlpack, py::kw_only(),
           py::arg("stream") = py::none(),
           "A DLPack capsule ('dltensor') viewing the tensor in device "
           "memory; it keeps the run's session alive until the consumer "
           "releases it.")
      .def("__dlpack_device__", &DeviceTensor::dlpackDevice,
           "(2, N): DLPack's kDLCUDA and the device index.")
      .def_property_readonly("name", &DeviceTensor::name)
      .def_property_readonly("dtype_code", &DeviceTensor::dtype)
      .def_property_readonly("shape", &DeviceTensor::shape)
      .def_property_readonly("data_ptr", &DeviceTensor::address,
                             "The device address of the first element.")
      .def_property_readonly("nbytes", &DeviceTensor::bytes)
      .def_property_readonly("device_index", &DeviceTensor::deviceIndex)
      .def("host", &DeviceTensor::host,
           "The run's host copy of the values, as a NumPy array.");
}

} // namespace kiln::python
