//===- session.cpp - kiln_session: set inputs, run, read outputs ---------===//
//
// A session owns one host buffer per input and output, allocated at creation
// because shapes are static, and the backend's device state. Everything that
// does not depend on the device is here: finding the backend for the device
// string, checking the target's family, checking inputs and copying them in.
// The backend (backend.h) runs the model between the host buffers.
//
//===----------------------------------------------------------------------===//

#include "aligned_buffer.h"
#include "api_guard.h"
#include "backend.h"
#include "error.h"
#include "model.h"

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <thread>
#include <vector>

using namespace kiln::rt;

struct kiln_session {
  kiln_model *model = nullptr; // holds a reference
  std::vector<AlignedBuffer> inputs;
  std::vector<AlignedBuffer> outputs;
  std::vector<bool> inputSet;
  HostIO io; // pointers to the buffers above, for the backend
  std::unique_ptr<DeviceSession> device;
  /// Outputs hold the result of the last run only if it succeeded: a failed
  /// run may have overwritten some of them.
  bool hasRun = false;
  bool lastRunFailed = false;

  ~kiln_session() {
    device.reset(); // before the model its state may point into
    if (model)
      releaseModel(model);
  }
};

namespace {

kiln_status allocateAll(const std::vector<TensorInfo> &tensors,
                        std::vector<AlignedBuffer> &buffers,
                        std::vector<void *> &pointers,
                        std::vector<size_t> &sizes) {
  buffers.resize(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!buffers[i].allocate(size_t(tensors[i].byteSize)))
      return fail(KILN_STATUS_OUT_OF_MEMORY,
                  "out of memory allocating %" PRIu64 " bytes for '%s'",
                  tensors[i].byteSize, tensors[i].name.c_str());
    pointers.push_back(buffers[i].data());
    sizes.push_back(buffers[i].size());
  }
  return KILN_STATUS_OK;
}

/// UNSUPPORTED unless `backend` runs the family of `target`; the backend
/// checks the rest (the CPU's architecture, the GPU's).
kiln_status checkTargetFamily(const std::string &target,
                              const DeviceRef &device,
                              const Backend &backend) {
  const char *prefix = backend.targetPrefix();
  if (target.compare(0, std::strlen(prefix), prefix) == 0)
    return KILN_STATUS_OK;
  const Backend *owner = findBackendForTarget(target);
  std::string why =
      owner ? format("it runs on '%s' devices", owner->deviceName())
            : std::string("no backend of this runtime runs it");
  return fail(KILN_STATUS_UNSUPPORTED,
              "artifact target '%s' cannot run on device '%s': %s",
              target.c_str(), device.text.c_str(), why.c_str());
}

kiln_status createSession(kiln_model *model, const char *device,
                          kiln_session *&out) {
  DeviceRef ref;
  if (kiln_status status = parseDeviceString(device, ref))
    return status;
  const Backend *backend = findBackendForDevice(ref.name);
  if (!backend)
    return fail(KILN_STATUS_INVALID_ARGUMENT,
                "unknown device '%s'; expected %s", ref.text.c_str(),
                expectedDevices().c_str());
  const Metadata &metadata = model->metadata;
  if (kiln_status status = checkTargetFamily(metadata.target, ref, *backend))
    return status;

  std::unique_ptr<kiln_session> session(new kiln_session);
  retainModel(model);
  session->model = model;
  HostIO &io = session->io;
  if (kiln_status status = allocateAll(metadata.inputs, session->inputs,
                                       io.inputs, io.inputBytes))
    return status;
  if (kiln_status status = allocateAll(metadata.outputs, session->outputs,
                                       io.outputs, io.outputBytes))
    return status;
  session->inputSet.assign(metadata.inputs.size(), false);
  if (kiln_status status =
          backend->createSession(*model, ref, io, session->device))
    return status;
  out = session.release();
  return KILN_STATUS_OK;
}

/// Sub-byte dtypes travel one element per byte (kiln/dtype.h): int4/int2
/// sign-extended, uint4/uint2/float4e2m1 zero-extended. A byte outside
/// that range has no meaning for the compiled code; say which one it is.
kiln_status checkSubByteRange(const char *name, int dtype, const void *data,
                              size_t byteSize) {
  unsigned bits = kiln_dtype_bits(dtype);
  if (bits >= 8)
    return KILN_STATUS_OK;
  bool isSigned = dtype == KILN_DTYPE_INT4 || dtype == KILN_DTYPE_INT2;
  int low = isSigned ? -(1 << (bits - 1)) : 0;
  int high = isSigned ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
  const auto *bytes = static_cast<const uint8_t *>(data);
  for (size_t i = 0; i < byteSize; ++i) {
    int value = isSigned ? int(int8_t(bytes[i])) : int(bytes[i]);
    if (value < low || value > high)
      return fail(KILN_STATUS_INVALID_ARGUMENT,
                  "input '%s': element %zu is %d, outside %s's range [%d, %d] "
                  "(one element per byte, %s)",
                  name, i, value, kiln_dtype_name(dtype), low, high,
                  isSigned ? "sign-extended" : "zero-extended");
  }
  return KILN_STATUS_OK;
}

kiln_status setInput(kiln_session &session, const char *name, int dtype,
                     const int64_t *dims, uint32_t rank, const void *data,
                     size_t byteSize) {
  size_t index;
  if (kiln_status status = kiln_model_find_input(session.model, name, &index))
    return status;
  const TensorInfo &expected = session.model->metadata.inputs[index];
  if (dtype != expected.dtype) {
    // C callers may pass any integer; name it rather than print "invalid".
    std::string got = kiln_dtype_size(dtype)
                          ? kiln_dtype_name(dtype)
                          : format("unknown dtype %d", dtype);
    return fail(KILN_STATUS_DTYPE_MISMATCH,
                "input '%s' expects dtype %s but got %s", name,
                kiln_dtype_name(expected.dtype), got.c_str());
  }
  bool sameShape = rank == expected.dims.size();
  for (uint32_t i = 0; sameShape && i < rank; ++i)
    sameShape = dims[i] == expected.dims[i];
  if (!sameShape)
    return fail(
        KILN_STATUS_SHAPE_MISMATCH, "input '%s' expects shape %s but got %s",
        name,
        shapeString(expected.dims.data(), uint32_t(expected.dims.size()))
            .c_str(),
        shapeString(dims, rank).c_str());
  if (byteSize != expected.byteSize)
    return fail(KILN_STATUS_INVALID_ARGUMENT,
                "input '%s' of dtype %s and shape %s needs %" PRIu64
                " bytes but byte_size is %zu",
                name, kiln_dtype_name(dtype), shapeString(dims, rank).c_str(),
                expected.byteSize, byteSize);
  if (byteSize > 0 && !data)
    return fail(KILN_STATUS_INVALID_ARGUMENT, "input '%s': data is NULL", name);
  if (kiln_status status = checkSubByteRange(name, dtype, data, byteSize))
    return status;
  if (byteSize > 0)
    std::memcpy(session.inputs[index].data(), data, byteSize);
  session.inputSet[index] = true;
  session.device->inputChanged(index);
  return KILN_STATUS_OK;
}

} // namespace

extern "C" {

kiln_status kiln_session_create(kiln_model *model, const char *device,
                                kiln_session **out_session) {
  return guard([&] {
    if (!out_session)
      return fail(KILN_STATUS_INVALID_ARGUMENT, "out_session is NULL");
    *out_session = nullptr;
    if (!model)
      return fail(KILN_STATUS_INVALID_ARGUMENT, "model is NULL");
    return createSession(model, device, *out_session);
  });
}

void kiln_session_release(kiln_session *session) { delete session; }

kiln_status kiln_session_set_input(kiln_session *session, const char *name,
                                   kiln_dtype dtype, const int64_t *dims,
                                   uint32_t rank, const void *data,
                                   size_t byte_size) {
  return guard([&] {
    if (!session || !name)
      return fail(KILN_STATUS_INVALID_ARGUMENT, "%s is NULL",
                  session ? "name" : "session");
    if (rank > 0 && !dims)
      return fail(KILN_STATUS_INVALID_ARGUMENT,
                  "input '%s': dims is NULL but rank is %u", name, rank);
    // A C caller may pass any int as the enum, which C++ may not even load
    // as a kiln_dtype; read its bytes instead.
    static_assert(sizeof(kiln_dtype) == sizeof(int), "enum is int-sized");
    int dtypeValue;
    std::memcpy(&dtypeValue, &dtype, sizeof(int));
    return setInput(*session, name, dtypeValue, dims, rank, data, byte_size);
  });
}

kiln_status kiln_session_set_threads(kiln_session *session,
                                     uint32_t threads) {
  return guard([&] {
    if (!session)
      return fail(KILN_STATUS_INVALID_ARGUMENT, "session is NULL");
    if (threads == 0)
      threads = std::max(1u, std::thread::hardware_concurrency());
    session->device->setThreads(threads);
    return KILN_STATUS_OK;
  });
}

kiln_status kiln_session_run(kiln_session *session) {
  return guard([&] {
    if (!session)
      return fail(KILN_STATUS_INVALID_ARGUMENT, "session is NULL");
    const Metadata &metadata = session->model->metadata;
    for (size_t i = 0; i < metadata.inputs.size(); ++i)
      if (!session->inputSet[i])
        return fail(KILN_STATUS_MISSING_INPUT,
                    "missing input '%s': set it with kiln_session_set_input "
                    "before running",
                    metadata.inputs[i].name.c_str());
    session->hasRun = false;
    session->lastRunFailed = true;
    if (kiln_status status = session->device->run())
      return status;
    session->hasRun = true;
    session->lastRunFailed = false;
    return KILN_STATUS_OK;
  });
}

kiln_status kiln_session_output(const kiln_session *session, size_t index,
                                kiln_tensor_desc *out_desc,
                                const void **out_data, size_t *out_bytes) {
  if (out_data)
    *out_data = nullptr;
  if (out_bytes)
    *out_bytes = 0;
  if (!session || !out_desc || !out_data || !out_bytes)
    return fail(KILN_STATUS_INVALID_ARGUMENT, "%s is NULL",
                !session    ? "session"
                : !out_desc ? "out_desc"
                : !out_data ? "out_data"
                            : "out_bytes");
  if (kiln_status status = kiln_model_output(session->model, index, out_desc))
    return status;
  if (!session->hasRun) {
    *out_desc = kiln_tensor_desc{nullptr, KILN_DTYPE_INVALID, 0, nullptr};
    return fail(KILN_STATUS_INVALID_ARGUMENT,
                session->lastRunFailed
                    ? "no outputs: the last kiln_session_run failed"
                    : "no outputs yet: call kiln_session_run first");
  }
  *out_data = session->outputs[index].data();
  *out_bytes = session->outputs[index].size();
  return KILN_STATUS_OK;
}

} // extern "C"
