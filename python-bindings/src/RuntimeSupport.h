//===- RuntimeSupport.h - What the extension's runtime parts share -*- C++ -*-===//
//
// The runtime half of `kiln._kiln` is split by job: KilnModule.cpp runs
// models on host arrays, DeviceTensors.cpp moves tensors in device memory
// through DLPack. Both report failures and own sessions the same way.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PYTHON_BINDINGS_RUNTIMESUPPORT_H
#define KILN_PYTHON_BINDINGS_RUNTIMESUPPORT_H

#include "kiln/runtime.h"

#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kiln::python {

/// A failed runtime call: its status and kiln_last_error(), read in the
/// thread that failed. Translated to kiln.errors.RuntimeError.
struct RuntimeFailure {
  std::string status;
  std::string message;
};

inline RuntimeFailure lastFailure(kiln_status status) {
  return {kiln_status_string(status), kiln_last_error()};
}

/// A session owned by whatever views its outputs (arrays, device tensors).
struct Session {
  kiln_session *session = nullptr;
  ~Session() { kiln_session_release(session); }
};

/// The NumPy dtype that holds a Kiln dtype at the runtime API: the same type
/// where NumPy has it, else its storage (bfloat16 as uint16, fp8/fp4 codes
/// and uint4/uint2 as uint8, int4/int2 sign-extended as int8).
const char *storageDtype(int dtype);

/// An input in device memory, read from a DLPack capsule ("dltensor").
struct DeviceInput {
  std::string name;
  int dtype = 0; // Kiln (ONNX) dtype code
  std::vector<int64_t> dims;
  uint64_t address = 0;
  size_t bytes = 0;
  int deviceType = 0; // DLPack's: 2 CUDA, 13 CUDA managed
  int deviceId = 0;
  /// Calls the producer's deleter when the last copy of this goes (with the
  /// GIL held: deleters may touch Python objects).
  std::shared_ptr<void> release;
};

/// Reads the DLPack capsule `capsule` given for input `name`: a dense
/// row-major tensor of a dtype Kiln has. Consumes it (renames it
/// "used_dltensor"), as the protocol asks of a consumer; the result's
/// `release` then owns the tensor. Throws RuntimeFailure.
DeviceInput readDeviceInput(const std::string &name, pybind11::object capsule);

/// The outputs of a successful run on `session`, as kiln.DeviceTensor
/// objects over the session's device buffers (each keeps the session).
pybind11::list deviceOutputs(const std::shared_ptr<Session> &session,
                             const kiln_model *model, int deviceIndex);

/// Registers kiln._kiln.DeviceTensor.
void registerDeviceTensors(pybind11::module_ &m);

/// What Model.serve runs: request i is prompts[i], generating up to
/// maxNewTokens[i] tokens, joining at decode step arrivals[i] (>= 0).
struct ServeRequests {
  std::vector<std::vector<int64_t>> prompts;
  std::vector<uint32_t> maxNewTokens;
  std::vector<int64_t> arrivals;
  std::vector<int64_t> stopTokens;
  kiln_sampling sampling{};
  uint32_t maxBatch = 0; // 0: kiln_batch's default
};

/// Runs `requests` through one kiln_batch on a fresh session of `model`
/// (the GIL released): (list of int64 arrays, the generated tokens of
/// each request in request order; dict of the batch's counters). Throws
/// RuntimeFailure.
pybind11::tuple serve(kiln_model *model, const std::string &device,
                      uint32_t threads, const ServeRequests &requests);

} // namespace kiln::python

#endif // KILN_PYTHON_BINDINGS_RUNTIMESUPPORT_H
