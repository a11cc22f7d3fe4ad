//===- backend.h - The seam between sessions and devices --------*- C++ -*-===//
//
// A backend runs artifacts of one family of targets on one kind of device:
// "cpu" runs "cpu-*" targets, "cuda" runs "cuda-*" targets. The generic code
// (model.cpp, session.cpp) never asks which backend it has; it finds one by
// the device string's name or the artifact target's prefix and calls through
// this interface. Backends are listed in backends/backends.def.
//
// What stays generic, in session.cpp: device-string parsing, input checks
// (name, dtype, shape, sub-byte ranges), the host-side input and output
// buffers (64-byte aligned, zero-initialized, one per tensor), the
// missing-input check, and symbolic dims: binding each symbol's value from
// the inputs and sizing the outputs from them. What a backend does: its own artifact checks at load,
// its per-session device state, and running: read the host input buffers,
// fill the host output buffers.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIB_BACKEND_H
#define KILN_RUNTIME_LIB_BACKEND_H

#include "kiln/runtime.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct kiln_model;

namespace kiln::rt {

/// A parsed device string: "cuda" is {"cuda", 0, false}, "cuda:1" is
/// {"cuda", 1, true}.
struct DeviceRef {
  std::string text; // as given, for messages
  std::string name; // the part before ':'
  uint32_t index = 0;
  bool indexGiven = false;
};

/// The session-owned host buffers a backend reads inputs from and writes
/// outputs to, and this run's symbol values. They outlive the backend's
/// session. At every run each buffer is 64-byte aligned and non-null, even
/// for zero bytes, and sized for this run's shape. The pointers and sizes
/// of tensors with static shapes never change; those of tensors with
/// symbolic dims may change at each kiln_session_set_input (inputs) and
/// each run (outputs), so a backend that runs such a model reads them at
/// every run. A tensor with symbolic dims has no buffer (null) before that.
struct HostIO {
  std::vector<void *> inputs;
  std::vector<size_t> inputBytes;
  std::vector<void *> outputs;
  std::vector<size_t> outputBytes;
  /// One value per symbol of the model, in its order, set before each run;
  /// sized once, at session creation, so its data() never moves.
  std::vector<int64_t> symbolValues;
};

/// Per-session device state, created by Backend::createSession.
class DeviceSession {
public:
  virtual ~DeviceSession() = default;

  /// Input `index` has a new value in its host buffer (already checked).
  virtual void inputChanged(size_t index) = 0;

  /// Host threads later runs may use (>= 1, already resolved from 0 =
  /// every core). Backends that compute on a device ignore it.
  virtual void setThreads(uint32_t threads) { (void)threads; }

  /// Runs the model once: every input's host buffer holds a value, every
  /// output's host buffer has this run's size and io.symbolValues this
  /// run's values; on success every output's host buffer holds the result. On failure the
  /// output buffers are unspecified and kiln_last_error() says why.
  virtual kiln_status run() = 0;

  /// Whether inputs and outputs also live in device memory, so that the
  /// two calls below work (kiln_session_set_input_device/_output_device);
  /// the session refuses them, naming the device, when not.
  virtual bool hasDeviceMemory() const { return false; }

  /// Input `index` (checked: dtype, static shape, `bytes`) takes its value
  /// from `bytes` at `address` in the device's memory, copied before this
  /// returns; later runs use it until the input is set again.
  virtual kiln_status setInputFromDevice(size_t index, uint64_t address,
                                         size_t bytes);

  /// The device address of output `index`, valid after a successful run.
  virtual uint64_t outputDeviceAddress(size_t index) const;
};

class Backend {
public:
  /// What names a backend and what it runs.
  struct Names {
    /// The device name it answers to: "cpu", "cuda".
    const char *device;
    /// How its device strings look, for messages: "'cpu'", "'cuda:N'".
    const char *syntax;
    /// The prefix of the artifact targets it runs: "cpu-", "cuda-".
    const char *targetPrefix;
  };

  explicit Backend(Names names) : names_(names) {}
  virtual ~Backend() = default;

  const char *deviceName() const { return names_.device; }
  const char *deviceSyntax() const { return names_.syntax; }
  const char *targetPrefix() const { return names_.targetPrefix; }

  /// Checks, at kiln_model_load, an artifact whose target has this
  /// backend's prefix: the sections it needs, target details. Runs without
  /// the device (a model must load for introspection anywhere).
  virtual kiln_status checkArtifact(const kiln_model &model) const = 0;

  /// Creates the device state for one session of `model` on `device` (whose
  /// name is this backend's; the target prefix is already checked). `io`
  /// outlives the result.
  virtual kiln_status createSession(kiln_model &model, const DeviceRef &device,
                                    const HostIO &io,
                                    std::unique_ptr<DeviceSession> &out) const = 0;

private:
  Names names_;
};

/// Every backend, in the order of backends/backends.def.
const std::vector<const Backend *> &allBackends();

/// The backend whose deviceName() is `name`, or null.
const Backend *findBackendForDevice(const std::string &name);

/// The backend whose targetPrefix() starts `target`, or null.
const Backend *findBackendForTarget(const std::string &target);

/// "'cpu' or 'cuda:N'": every backend's deviceSyntax(), for messages.
std::string expectedDevices();

/// Parses "NAME" or "NAME:N" (NAME lowercase letters, N decimal below
/// 2^31); a NULL device means "cpu". Anything else is INVALID_ARGUMENT.
/// Does not check that NAME is a known backend.
kiln_status parseDeviceString(const char *device, DeviceRef &out);

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_BACKEND_H
