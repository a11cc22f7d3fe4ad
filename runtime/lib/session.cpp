//===- session.cpp - kiln_session: set inputs, run, read outputs ---------===//
//
// A session owns one host buffer per input and output and the backend's
// device state. Buffers of static shapes are allocated at creation; those
// with symbolic dims when their shape is known: an input's when it is set,
// an output's when a run has bound every symbol from the inputs' shapes.
// Everything that does not depend on the device is here: finding the
// backend for the device string, checking the target's family, checking
// inputs and copying them in, binding symbols and sizing outputs. The
// backend (backend.h) runs the model between the host buffers.
//
//===----------------------------------------------------------------------===//

#include "aligned_buffer.h"
#include "api_guard.h"
#include "arguments.h"
#include "buffer_cache.h"
#include "backend.h"
#include "error.h"
#include "memory_limit.h"
#include "model.h"
#include "profile.h"
#include "session.h"

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
  /// The actual shapes of the inputs with symbolic dims, as last set, and
  /// of the outputs with symbolic dims, in the last run (empty for static
  /// tensors, whose shapes are the model's).
  std::vector<std::vector<int64_t>> inputDims;
  std::vector<std::vector<int64_t>> outputDims;
  std::vector<bool> inputSet;
  HostIO io; // pointers to the buffers above and the symbols' values
  std::unique_ptr<DeviceSession> device;
  std::string deviceText; // as the caller named it: "cuda:0"
  /// Outputs hold the result of the last run only if it succeeded: a failed
  /// run may have overwritten some of them.
  bool hasRun = false;
  bool lastRunFailed = false;

  /// Sessions keep the buffer cache of the host code's allocations; the
  /// last one to go empties it.
  BufferCacheUse cacheUse;

  /// kiln_session_enable_profile's events.
  SessionProfile profile;

  ~kiln_session() {
    profile.disable(); // the model's hook counts this session
    device.reset(); // before the model its state may point into
    if (model)
      releaseModel(model);
  }
};

namespace {

/// Allocates the buffers of the static tensors; those with symbolic dims
/// stay null until their shape is known.
kiln_status allocateStatic(const std::vector<TensorInfo> &tensors,
                           std::vector<AlignedBuffer> &buffers,
                           std::vector<void *> &pointers,
                           std::vector<size_t> &sizes) {
  buffers.resize(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].symbolic) {
      pointers.push_back(nullptr);
      sizes.push_back(0);
      continue;
    }
    if (!buffers[i].allocate(size_t(tensors[i].byteSize)))
      return fail(KILN_STATUS_OUT_OF_MEMORY,
                  "out of memory allocating %" PRIu64 " bytes for '%s'%s",
                  tensors[i].byteSize, tensors[i].name.c_str(),
                  memoryLimitNote().c_str());
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
  session->deviceText = ref.text;
  HostIO &io = session->io;
  if (kiln_status status = allocateStatic(metadata.inputs, session->inputs,
                                          io.inputs, io.inputBytes))
    return status;
  if (kiln_status status = allocateStatic(metadata.outputs, session->outputs,
                                          io.outputs, io.outputBytes))
    return status;
  io.symbolValues.assign(metadata.numSymbolValues(), 0);
  session->inputDims.resize(metadata.inputs.size());
  session->outputDims.resize(metadata.outputs.size());
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

/// Rank and static dims as the model's; each symbolic dim in its symbol's
/// range. (Whether the inputs agree on a symbol is a question for the run,
/// once they are all set.)
kiln_status checkInputShape(const char *name, const TensorInfo &expected,
                            const std::vector<SymbolInfo> &symbols,
                            const int64_t *dims, uint32_t rank) {
  bool sameShape = rank == expected.dims.size();
  for (uint32_t i = 0; sameShape && i < rank; ++i)
    sameShape = isSymbolic(expected.dims[i]) || dims[i] == expected.dims[i];
  if (!sameShape)
    return fail(KILN_STATUS_SHAPE_MISMATCH,
                "input '%s' expects shape %s but got %s", name,
                symbolicShapeString(expected.dims, symbols).c_str(),
                shapeString(dims, rank).c_str());
  for (uint32_t i = 0; i < rank; ++i) {
    if (!isSymbolic(expected.dims[i]))
      continue;
    const SymbolInfo &symbol = symbols[symbolIndex(expected.dims[i])];
    if (dims[i] < symbol.min || dims[i] > symbol.max)
      return fail(KILN_STATUS_SHAPE_MISMATCH,
                  "input '%s' dim %u (%s) is %" PRId64
                  ", outside %s's range %" PRId64 "..%" PRId64,
                  name, i, symbol.name.c_str(), dims[i], symbol.name.c_str(),
                  symbol.min, symbol.max);
  }
  return KILN_STATUS_OK;
}

/// The dense byte size of input `expected` at the (checked) shape `dims`.
kiln_status inputByteSize(const char *name, const TensorInfo &expected,
                          const int64_t *dims, uint32_t rank,
                          uint64_t &bytes) {
  if (!expected.symbolic) {
    bytes = expected.byteSize;
    return KILN_STATUS_OK;
  }
  if (!denseByteSize(dims, rank, kiln_dtype_size(expected.dtype), bytes))
    return fail(KILN_STATUS_SHAPE_MISMATCH,
                "input '%s' of dtype %s and shape %s is too large (more "
                "than %zu bytes)",
                name, kiln_dtype_name(expected.dtype),
                shapeString(dims, rank).c_str(), size_t(SIZE_MAX / 2));
  return KILN_STATUS_OK;
}

/// Copies a checked input into its buffer, which an input with symbolic
/// dims first fits to this shape.
kiln_status storeInput(kiln_session &session, size_t index,
                       const int64_t *dims, uint32_t rank, const void *data,
                       size_t byteSize) {
  const TensorInfo &input = session.model->metadata.inputs[index];
  AlignedBuffer &buffer = session.inputs[index];
  if (input.symbolic) {
    if (!buffer.resize(byteSize))
      return fail(KILN_STATUS_OUT_OF_MEMORY,
                  "out of memory allocating %zu bytes for input '%s'%s",
                  byteSize, input.name.c_str(), memoryLimitNote().c_str());
    session.io.inputs[index] = buffer.data();
    session.io.inputBytes[index] = byteSize;
    session.inputDims[index].assign(dims, dims + rank);
  }
  if (byteSize > 0)
    std::memcpy(buffer.data(), data, byteSize);
  return KILN_STATUS_OK;
}

/// The checks every way of setting an input shares: a known name, the
/// model's dtype, a shape the model accepts and the dense byte size of that
/// shape. Finds the input's index.
kiln_status checkInput(kiln_session &session, const char *name, int dtype,
                       const int64_t *dims, uint32_t rank, size_t byteSize,
                       size_t &index) {
  if (kiln_status status = kiln_model_find_input(session.model, name, &index))
    return status;
  const Metadata &metadata = session.model->metadata;
  const TensorInfo &expected = metadata.inputs[index];
  if (dtype != expected.dtype) {
    // C callers may pass any integer; name it rather than print "invalid".
    std::string got = kiln_dtype_size(dtype)
                          ? kiln_dtype_name(dtype)
                          : format("unknown dtype %d", dtype);
    return fail(KILN_STATUS_DTYPE_MISMATCH,
                "input '%s' expects dtype %s but got %s", name,
                kiln_dtype_name(expected.dtype), got.c_str());
  }
  if (kiln_status status =
          checkInputShape(name, expected, metadata.symbols, dims, rank))
    return status;
  uint64_t expectedBytes = 0;
  if (kiln_status status =
          inputByteSize(name, expected, dims, rank, expectedBytes))
    return status;
  if (byteSize != expectedBytes)
    return fail(KILN_STATUS_INVALID_ARGUMENT,
                "input '%s' of dtype %s and shape %s needs %" PRIu64
                " bytes but byte_size is %zu",
                name, kiln_dtype_name(dtype), shapeString(dims, rank).c_str(),
                expectedBytes, byteSize);
  return KILN_STATUS_OK;
}

kiln_status setInput(kiln_session &session, const char *name, int dtype,
                     const int64_t *dims, uint32_t rank, const void *data,
                     size_t byteSize) {
  size_t index;
  if (kiln_status status =
          checkInput(session, name, dtype, dims, rank, byteSize, index))
    return status;
  if (byteSize > 0 && !data)
    return fail(KILN_STATUS_INVALID_ARGUMENT, "input '%s': data is NULL", name);
  if (kiln_status status = checkSubByteRange(name, dtype, data, byteSize))
    return status;
  if (kiln_status status =
          storeInput(session, index, dims, rank, data, byteSize))
    return status;
  session.inputSet[index] = true;
  session.device->inputChanged(index);
  return KILN_STATUS_OK;
}

/// UNSUPPORTED, naming the device, unless the session's backend keeps its
/// tensors in device memory.
kiln_status needDeviceMemory(const kiln_session &session, const char *call) {
  if (session.device->hasDeviceMemory())
    return KILN_STATUS_OK;
  return fail(KILN_STATUS_UNSUPPORTED,
              "%s: the session runs on device '%s', which has no device "
              "memory; use host memory (kiln_session_set_input / "
              "kiln_session_output)",
              call, session.deviceText.c_str());
}

kiln_status setInputFromDevice(kiln_session &session, const char *name,
                               int dtype, const int64_t *dims, uint32_t rank,
                               uint64_t address, size_t byteSize) {
  if (kiln_status status =
          needDeviceMemory(session, "kiln_session_set_input_device"))
    return status;
  size_t index;
  if (kiln_status status =
          checkInput(session, name, dtype, dims, rank, byteSize, index))
    return status;
  const TensorInfo &input = session.model->metadata.inputs[index];
  if (input.symbolic)
    return fail(KILN_STATUS_UNSUPPORTED,
                "input '%s' has symbolic dims: set it from host memory "
                "(kiln_session_set_input)",
                name);
  if (kiln_dtype_bits(input.dtype) < 8)
    return fail(KILN_STATUS_UNSUPPORTED,
                "input '%s' of dtype %s must be set from host memory "
                "(kiln_session_set_input), which checks each element's range",
                name, kiln_dtype_name(input.dtype));
  if (byteSize > 0 && address == 0)
    return fail(KILN_STATUS_INVALID_ARGUMENT,
                "input '%s': device_address is 0", name);
  if (kiln_status status =
          session.device->setInputFromDevice(index, address, byteSize))
    return status;
  session.inputSet[index] = true;
  return KILN_STATUS_OK;
}

kiln_status checkAllInputsSet(const kiln_session &session) {
  const Metadata &metadata = session.model->metadata;
  for (size_t i = 0; i < metadata.inputs.size(); ++i)
    if (!session.inputSet[i])
      return fail(KILN_STATUS_MISSING_INPUT,
                  "missing input '%s': set it with kiln_session_set_input "
                  "before running",
                  metadata.inputs[i].name.c_str());
  return KILN_STATUS_OK;
}

/// Gives each symbol the value of the first input dim (in model order)
/// that names it, and checks that every other such dim agrees.
kiln_status bindSymbols(kiln_session &session) {
  const Metadata &metadata = session.model->metadata;
  std::vector<int64_t> &values = session.io.symbolValues;
  struct Origin {
    size_t input = SIZE_MAX; // SIZE_MAX: not bound yet
    size_t dim = 0;
  };
  std::vector<Origin> boundBy(metadata.symbols.size());
  for (size_t i = 0; i < metadata.inputs.size(); ++i) {
    const TensorInfo &input = metadata.inputs[i];
    for (size_t d = 0; input.symbolic && d < input.dims.size(); ++d) {
      if (!isSymbolic(input.dims[d]))
        continue;
      uint64_t k = symbolIndex(input.dims[d]);
      int64_t value = session.inputDims[i][d];
      Origin &origin = boundBy[k];
      if (origin.input == SIZE_MAX) {
        origin = {i, d};
        values[k] = value;
      } else if (value != values[k]) {
        return fail(KILN_STATUS_SHAPE_MISMATCH,
                    "input '%s' dim %zu is %" PRId64 " but %s is %" PRId64
                    " (from input '%s' dim %zu)",
                    input.name.c_str(), d, value,
                    metadata.symbols[k].name.c_str(), values[k],
                    metadata.inputs[origin.input].name.c_str(), origin.dim);
      }
    }
  }
  return KILN_STATUS_OK;
}

/// Fits output `i`'s buffer to `dims` (all known).
kiln_status fitOutput(kiln_session &session, size_t i,
                      const std::vector<int64_t> &dims) {
  const TensorInfo &output = session.model->metadata.outputs[i];
  uint64_t bytes = 0;
  if (!denseByteSize(dims.data(), dims.size(), kiln_dtype_size(output.dtype),
                     bytes))
    return fail(KILN_STATUS_OUT_OF_MEMORY,
                "output '%s' of dtype %s and shape %s is too large (more "
                "than %zu bytes)",
                output.name.c_str(), kiln_dtype_name(output.dtype),
                shapeString(dims.data(), uint32_t(dims.size())).c_str(),
                size_t(SIZE_MAX / 2));
  AlignedBuffer &buffer = session.outputs[i];
  if (!buffer.resize(size_t(bytes)))
    return fail(KILN_STATUS_OUT_OF_MEMORY,
                "out of memory allocating %" PRIu64 " bytes for output '%s'%s",
                bytes, output.name.c_str(), memoryLimitNote().c_str());
  session.io.outputs[i] = buffer.data();
  session.io.outputBytes[i] = buffer.size();
  return KILN_STATUS_OK;
}

/// An output with a computed dim gets the room its buffer has (at least
/// kMinComputedOutputBytes), and the entry its capacity in elements.
constexpr size_t kMinComputedOutputBytes = 4096;

kiln_status offerCapacities(kiln_session &session) {
  const Metadata &metadata = session.model->metadata;
  for (size_t o = 0; o < metadata.computedOutputs.size(); ++o) {
    size_t i = metadata.computedOutputs[o];
    AlignedBuffer &buffer = session.outputs[i];
    size_t bytes = std::max(buffer.capacity(), kMinComputedOutputBytes);
    if (!buffer.resize(bytes))
      return fail(KILN_STATUS_OUT_OF_MEMORY,
                  "out of memory allocating %zu bytes for output '%s'%s",
                  bytes, metadata.outputs[i].name.c_str(),
                  memoryLimitNote().c_str());
    session.io.outputs[i] = buffer.data();
    session.io.outputBytes[i] = buffer.size();
    session.io.symbolValues[metadata.symbols.size() + o] =
        int64_t(bytes / kiln_dtype_size(metadata.outputs[i].dtype));
  }
  return KILN_STATUS_OK;
}

/// This run's shape of output `i`: its symbolic dims from the symbol
/// values (bound from the inputs, or reported by the entry).
std::vector<int64_t> runShape(const kiln_session &session, size_t i) {
  std::vector<int64_t> dims = session.model->metadata.outputs[i].dims;
  for (int64_t &dim : dims)
    if (isSymbolic(dim))
      dim = session.io.symbolValues[symbolIndex(dim)];
  return dims;
}

/// Computes each output with symbolic dims' shape from the bound symbols
/// and fits its buffer to it; outputs with computed dims get a capacity.
kiln_status sizeOutputs(kiln_session &session) {
  const Metadata &metadata = session.model->metadata;
  for (size_t i = 0; i < metadata.outputs.size(); ++i) {
    const std::vector<size_t> &computed = metadata.computedOutputs;
    if (!metadata.outputs[i].symbolic ||
        std::find(computed.begin(), computed.end(), i) != computed.end())
      continue;
    session.outputDims[i] = runShape(session, i);
    if (kiln_status status = fitOutput(session, i, session.outputDims[i]))
      return status;
  }
  return offerCapacities(session);
}

/// Runs the entry; when an output with a computed dim did not fit (the
/// status word is 1), grows it to the size the entry reported and runs
/// once more. The second run computes the same sizes from the same inputs.
kiln_status runWithComputedOutputs(kiln_session &session) {
  const Metadata &metadata = session.model->metadata;
  for (int attempt = 0;; ++attempt) {
    if (kiln_status status = session.device->run())
      return status;
    if (metadata.computedOutputs.empty())
      return KILN_STATUS_OK;
    bool fitted = session.io.symbolValues.back() == 0;
    if (!fitted && attempt > 0)
      return fail(KILN_STATUS_INTERNAL,
                  "the model's computed output sizes changed between two "
                  "runs on the same inputs");
    // Each buffer takes the reported size: it shrinks in place when the
    // data fitted, and grows for the next run when it did not.
    for (size_t i : metadata.computedOutputs) {
      session.outputDims[i] = runShape(session, i);
      if (kiln_status status = fitOutput(session, i, session.outputDims[i]))
        return status;
    }
    if (fitted)
      return KILN_STATUS_OK;
    if (kiln_status status = offerCapacities(session))
      return status;
  }
}

kiln_status runSession(kiln_session &session) {
  if (kiln_status status = checkAllInputsSet(session))
    return status;
  // From here on the outputs no longer hold the last run's result.
  session.hasRun = false;
  session.lastRunFailed = true;
  if (kiln_status status = bindSymbols(session))
    return status;
  if (kiln_status status = sizeOutputs(session))
    return status;
  session.profile.beginRun();
  kiln_status status = runWithComputedOutputs(session);
  session.profile.endRun();
  if (status)
    return status;
  session.hasRun = true;
  session.lastRunFailed = false;
  return KILN_STATUS_OK;
}

/// The pointer arguments both kiln_session_set_input calls check, and the
/// dtype as the int a C caller may have passed (any int: C++ may not even
/// load it as a kiln_dtype, so it comes by reference and its bytes are
/// read; UBSan reports a load of a value outside the enum).
kiln_status checkSetInputArguments(const kiln_session *session,
                                   const char *name, const kiln_dtype &dtype,
                                   const int64_t *dims, uint32_t rank,
                                   int &dtypeValue) {
  if (kiln_status status =
          requireArguments({{session, "session"}, {name, "name"}}))
    return status;
  if (rank > 0 && !dims)
    return fail(KILN_STATUS_INVALID_ARGUMENT,
                "input '%s': dims is NULL but rank is %u", name, rank);
  static_assert(sizeof(kiln_dtype) == sizeof(int), "enum is int-sized");
  std::memcpy(&dtypeValue, &dtype, sizeof(int));
  return KILN_STATUS_OK;
}

/// The C entry points of set_input: checks the arguments they share, then
/// `set(dtypeValue)` with the dtype read as a plain int.
template <typename SetFn>
kiln_status checkedSetInput(kiln_session *session, const char *name,
                            const kiln_dtype &dtype, const int64_t *dims,
                            uint32_t rank, SetFn set) {
  return guard([&] {
    int dtypeValue = 0;
    if (kiln_status status =
            checkSetInputArguments(session, name, dtype, dims, rank,
                                   dtypeValue))
      return status;
    return set(dtypeValue);
  });
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
    if (model->rankTable.ranks.size() > 1 && !model->rankRunning)
      return fail(KILN_STATUS_UNSUPPORTED,
                  "the model is partitioned for %zu ranks (%s): run one "
                  "process per rank, e.g. mpirun -np %zu kiln-run ...",
                  model->rankTable.ranks.size(), model->rankTable.plan.c_str(),
                  model->rankTable.ranks.size());
    return createSession(model, device, *out_session);
  });
}

void kiln_session_release(kiln_session *session) { delete session; }

kiln_status kiln_session_set_input(kiln_session *session, const char *name,
                                   kiln_dtype dtype, const int64_t *dims,
                                   uint32_t rank, const void *data,
                                   size_t byte_size) {
  return checkedSetInput(session, name, dtype, dims, rank, [&](int value) {
    return setInput(*session, name, value, dims, rank, data, byte_size);
  });
}

kiln_status kiln_session_set_input_device(kiln_session *session,
                                          const char *name, kiln_dtype dtype,
                                          const int64_t *dims, uint32_t rank,
                                          uint64_t device_address,
                                          size_t byte_size) {
  return checkedSetInput(session, name, dtype, dims, rank, [&](int value) {
    return setInputFromDevice(*session, name, value, dims, rank,
                              device_address, byte_size);
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
    return runSession(*session);
  });
}

kiln_status kiln_session_output(const kiln_session *session, size_t index,
                                kiln_tensor_desc *out_desc,
                                const void **out_data, size_t *out_bytes) {
  clearOutputs(out_data, out_bytes);
  if (kiln_status status = requireArguments({{session, "session"},
                                             {out_desc, "out_desc"},
                                             {out_data, "out_data"},
                                             {out_bytes, "out_bytes"}}))
    return status;
  if (kiln_status status = kiln_model_output(session->model, index, out_desc))
    return status;
  if (!session->hasRun) {
    *out_desc = kiln_tensor_desc{nullptr, KILN_DTYPE_INVALID, 0, nullptr};
    return fail(KILN_STATUS_INVALID_ARGUMENT,
                session->lastRunFailed
                    ? "no outputs: the last kiln_session_run failed"
                    : "no outputs yet: call kiln_session_run first");
  }
  // A symbolic output's desc has this run's shape, not the model's.
  if (session->model->metadata.outputs[index].symbolic)
    out_desc->dims = session->outputDims[index].data();
  *out_data = session->outputs[index].data();
  *out_bytes = session->outputs[index].size();
  return KILN_STATUS_OK;
}

kiln_status kiln_session_output_device(const kiln_session *session,
                                       size_t index,
                                       kiln_tensor_desc *out_desc,
                                       uint64_t *out_device_address,
                                       size_t *out_bytes) {
  return guard([&] {
    if (out_device_address)
      *out_device_address = 0;
    if (!out_device_address)
      return fail(KILN_STATUS_INVALID_ARGUMENT, "out_device_address is NULL");
    if (session)
      if (kiln_status status =
              needDeviceMemory(*session, "kiln_session_output_device"))
        return status;
    const void *hostData;
    if (kiln_status status = kiln_session_output(session, index, out_desc,
                                                 &hostData, out_bytes))
      return status;
    *out_device_address = session->device->outputDeviceAddress(index);
    return KILN_STATUS_OK;
  });
}

} // extern "C"

namespace kiln::rt {

const kiln_model &modelOf(const kiln_session &session) {
  return *session.model;
}

kiln_model &modelOf(kiln_session &session) { return *session.model; }

SessionProfile &profileOf(kiln_session &session) { return session.profile; }

} // namespace kiln::rt
