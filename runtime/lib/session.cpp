//===- session.cpp - kiln_session: set inputs, run, read outputs ---------===//
//
// A session owns one buffer per input and output, allocated at creation
// because shapes are static, and the pointer array the entry point takes.
// Weights are not copied: their slots point into the model's mapping.
//
//===----------------------------------------------------------------------===//

#include "aligned_buffer.h"
#include "api_guard.h"
#include "device.h"
#include "error.h"
#include "model.h"

#include <cinttypes>
#include <cstring>
#include <vector>

using namespace kiln::rt;

struct kiln_session {
  kiln_model *model = nullptr; // holds a reference
  EntryFunction entry = nullptr;
  std::vector<AlignedBuffer> inputs;
  std::vector<AlignedBuffer> outputs;
  std::vector<bool> inputSet;
  std::vector<void *> buffers; // weights, inputs, outputs: the entry's array
  bool hasRun = false;

  ~kiln_session() {
    if (model)
      releaseModel(model);
  }
};

namespace {

kiln_status allocateAll(const std::vector<TensorInfo> &tensors,
                        std::vector<AlignedBuffer> &buffers) {
  buffers.resize(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i)
    if (!buffers[i].allocate(size_t(tensors[i].byteSize)))
      return fail(KILN_STATUS_OUT_OF_MEMORY,
                  "out of memory allocating %" PRIu64 " bytes for '%s'",
                  tensors[i].byteSize, tensors[i].name.c_str());
  return KILN_STATUS_OK;
}

kiln_status createSession(kiln_model *model, const char *device,
                          kiln_session *&out) {
  DeviceKind kind;
  if (kiln_status status = parseDevice(device, kind))
    return status;
  if (kiln_status status = checkTarget(model->metadata.target, kind))
    return status;
  EntryFunction entry;
  if (kiln_status status = getEntry(*model, entry))
    return status;

  std::unique_ptr<kiln_session> session(new kiln_session);
  retainModel(model);
  session->model = model;
  session->entry = entry;
  const Metadata &metadata = model->metadata;
  if (kiln_status status = allocateAll(metadata.inputs, session->inputs))
    return status;
  if (kiln_status status = allocateAll(metadata.outputs, session->outputs))
    return status;
  session->inputSet.assign(metadata.inputs.size(), false);

  for (size_t i = 0; i < metadata.weights.size(); ++i)
    session->buffers.push_back(weightData(*model, i));
  for (AlignedBuffer &buffer : session->inputs)
    session->buffers.push_back(buffer.data());
  for (AlignedBuffer &buffer : session->outputs)
    session->buffers.push_back(buffer.data());
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
    session->entry(session->buffers.data());
    session->hasRun = true;
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
                "no outputs yet: call kiln_session_run first");
  }
  *out_data = session->outputs[index].data();
  *out_bytes = session->outputs[index].size();
  return KILN_STATUS_OK;
}

} // extern "C"
