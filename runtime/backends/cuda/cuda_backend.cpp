//===- cuda_backend.cpp - Run a "cuda-" artifact through the driver API --===//
//
// One session = one device's primary context, one module (the image chosen
// for the device), one stream and ONE device allocation (the arena) that
// holds, at 256-byte-aligned offsets, every weight, input, output and the
// workspace. Weights are uploaded when the session is created. A run
// uploads the inputs set since the last run, calls the host code's entry
// (which enqueues kernels, copies and memsets through kiln_gpu_calls),
// downloads the outputs and waits for the stream.
//
// CUDA graphs: the first successful run calls the entry directly (so a
// failure is reported by the call that failed); the next one captures the
// entry's work into a graph, and every later run replays the graph without
// calling the entry. Any failure while capturing or instantiating switches
// the session to direct launches for good, silently: graphs are a speed-up,
// not a requirement.
//
// Profiling (kiln_session_enable_profile, an artifact with a kernel
// table): a run that records calls the entry directly, never the graph (a
// graph's kernels cannot be timed one by one), with CUDA events around
// each launch (launch_timing.h). A graph not yet captured is captured by
// the next run that does not record.
//
// Every driver call happens with the session's context pushed on the
// calling thread and popped afterwards, so sessions may move between
// threads and the caller's own current context is left alone. Everything a
// session acquires is released by its destructor, whatever step failed.
//
//===----------------------------------------------------------------------===//

#include "cuda_driver.h"
#include "image_choice.h"
#include "launch_timing.h"

#include "../../lib/backend.h"
#include "../../lib/error.h"
#include "../../lib/model.h"
#include "../../lib/profile.h"
#include "kiln/gpu_calls.h"

#include <cinttypes>
#include <new>

namespace kiln::rt::cuda {
namespace {

constexpr uint64_t kDeviceAlignment = 256;

/// The kiln_status a driver error becomes.
kiln_status statusFor(CUresult result) {
  switch (result) {
  case CUDA_ERROR_OUT_OF_MEMORY:
    return KILN_STATUS_OUT_OF_MEMORY;
  case 3:   // CUDA_ERROR_NOT_INITIALIZED
  case 4:   // CUDA_ERROR_DEINITIALIZED
  case 34:  // CUDA_ERROR_STUB_LIBRARY
  case 35:  // CUDA_ERROR_INSUFFICIENT_DRIVER
  case 46:  // CUDA_ERROR_DEVICE_UNAVAILABLE
  case 100: // CUDA_ERROR_NO_DEVICE
  case 101: // CUDA_ERROR_INVALID_DEVICE
  case 102: // CUDA_ERROR_DEVICE_NOT_LICENSED
  case 803: // CUDA_ERROR_SYSTEM_DRIVER_MISMATCH
  case 804: // CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE
    return KILN_STATUS_DEVICE_UNAVAILABLE;
  case 209: // CUDA_ERROR_NO_BINARY_FOR_GPU
  case 221: // CUDA_ERROR_JIT_COMPILER_NOT_FOUND
  case 222: // CUDA_ERROR_UNSUPPORTED_PTX_VERSION (driver older than the PTX)
  case 223: // CUDA_ERROR_JIT_COMPILATION_DISABLED
    return KILN_STATUS_UNSUPPORTED;
  case 200: // CUDA_ERROR_INVALID_IMAGE
  case 218: // CUDA_ERROR_INVALID_PTX
  case 500: // CUDA_ERROR_NOT_FOUND (a kernel the image lacks)
    return KILN_STATUS_CORRUPT_ARTIFACT;
  default:
    return KILN_STATUS_DEVICE_ERROR;
  }
}

/// `a + b`, or false if it does not fit in 64 bits.
bool addChecked(uint64_t a, uint64_t b, uint64_t &out) {
  return !__builtin_add_overflow(a, b, &out);
}

/// Room for `bytes` in the arena: at least one aligned block, so that a
/// zero-size tensor still gets its own non-null address.
bool slotSize(uint64_t bytes, uint64_t &out) {
  uint64_t padded;
  if (!addChecked(bytes == 0 ? 1 : bytes, kDeviceAlignment - 1, padded))
    return false;
  out = padded / kDeviceAlignment * kDeviceAlignment;
  return true;
}

class CudaSession final : public DeviceSession {
public:
  CudaSession(const Driver &driver, const DeviceRef &device, const HostIO &io)
      : d_(driver), label_(format("device '%s'", device.text.c_str())), io_(io),
        dirty_(io.inputs.size(), true), timer_(driver) {
    calls_.abi_version = KILN_GPU_CALLS_ABI_VERSION;
    calls_.launch = &launchThunk;
    calls_.memcpy_d2d = &memcpyThunk;
    calls_.memset_d8 = &memsetThunk;
  }
  ~CudaSession() override;

  kiln_status create(kiln_model &model, const DeviceRef &device);
  void inputChanged(size_t index) override { dirty_[index] = true; }
  kiln_status run() override;
  bool hasDeviceMemory() const override { return true; }
  kiln_status setInputFromDevice(size_t index, uint64_t address,
                                 size_t bytes) override;
  uint64_t outputDeviceAddress(size_t index) const override {
    return uint64_t(uintptr_t(buffers_[outputSlot(index)]));
  }

private:
  /// Pushes the session's context for the lifetime of the scope.
  class ContextScope {
  public:
    explicit ContextScope(CudaSession &session) : s_(session) {}
    ~ContextScope() {
      if (pushed_) {
        CUcontext popped;
        s_.d_.cuCtxPopCurrent_v2(&popped);
      }
    }
    kiln_status push() {
      if (CUresult r = s_.d_.cuCtxPushCurrent_v2(s_.context_))
        return s_.driverFailure(r, "cuCtxPushCurrent_v2",
                                "making its context current");
      pushed_ = true;
      return KILN_STATUS_OK;
    }
    /// Pops now, reporting a failure (the destructor cannot).
    kiln_status pop() {
      pushed_ = false;
      CUcontext popped;
      if (CUresult r = s_.d_.cuCtxPopCurrent_v2(&popped))
        return s_.driverFailure(r, "cuCtxPopCurrent_v2",
                                "restoring the caller's context");
      return KILN_STATUS_OK;
    }

  private:
    CudaSession &s_;
    bool pushed_ = false;
  };

  /// "device 'cuda:0' (NAME): DOING: CALL returned CUDA_ERROR_..." with the
  /// status the error maps to (or `status` if given).
  kiln_status driverFailure(CUresult result, const char *call,
                            const std::string &doing,
                            kiln_status status = KILN_STATUS_OK) {
    return fail(status ? status : statusFor(result), "%s: %s: %s returned %s",
                label_.c_str(), doing.c_str(), call,
                d_.describe(result).c_str());
  }

  /// Where input / output `index` lies in buffers_ (weights, inputs,
  /// outputs: the host code's argument order).
  size_t inputSlot(size_t index) const {
    return buffers_.size() - io_.outputs.size() - io_.inputs.size() + index;
  }
  size_t outputSlot(size_t index) const {
    return buffers_.size() - io_.outputs.size() + index;
  }

  kiln_status findDevice(const DeviceRef &device);
  kiln_status loadModule(const kiln_model &model, const GpuImage &image);
  kiln_status allocateArena(const kiln_model &model);
  kiln_status uploadWeights(const kiln_model &model);
  kiln_status uploadInputs();
  kiln_status launchModel();
  kiln_status runTimed(SessionProfile &profile);
  kiln_status callEntry();
  void captureGraph();
  kiln_status downloadOutputs();

  // kiln_gpu_calls. They never throw into the host code; a failure is
  // recorded (the first one wins) and returned as a non-zero status.
  int32_t recordFailure(kiln_status status) noexcept;
  bool inArena(const void *pointer, uint64_t bytes) const;
  /// Runs a thunk's `body` on the session `ctx`; an exception (out of
  /// memory, while building a message) is recorded instead of thrown.
  template <typename Body> static int32_t guardedThunk(void *ctx, Body body);
  static int32_t launchThunk(void *ctx, uint32_t kernel, uint32_t gridX,
                             uint32_t gridY, uint32_t gridZ, uint32_t blockX,
                             uint32_t blockY, uint32_t blockZ,
                             uint32_t sharedBytes, void **params);
  static int32_t memcpyThunk(void *ctx, void *dst, const void *src,
                             uint64_t bytes);
  static int32_t memsetThunk(void *ctx, void *dst, uint8_t value,
                             uint64_t bytes);

  const Driver &d_;
  std::string label_; // "device 'cuda:0' (NAME)" once the name is known
  const HostIO &io_;
  kiln_gpu_entry_fn entry_ = nullptr;

  CUdevice device_ = 0;
  CUcontext context_ = nullptr; // retained primary context, or null
  CUmodule module_ = nullptr;
  std::vector<std::string> kernelNames_;
  std::vector<CUfunction> kernels_;
  CUstream stream_ = nullptr;
  CUdeviceptr arena_ = 0;
  uint64_t arenaBytes_ = 0;
  std::vector<void *> buffers_; // device: weights, inputs, outputs
  void *workspace_ = nullptr;
  std::vector<bool> dirty_; // inputs to upload at the next run

  enum class Graph { NotTried, Ready, Disabled };
  Graph graph_ = Graph::NotTried;
  CUgraphExec graphExec_ = nullptr;
  unsigned successfulRuns_ = 0;

  /// The kernel table (one row per launch); empty: runs are not timed.
  const std::vector<KernelEntry> *table_ = nullptr;
  LaunchTimer timer_;
  bool timing_ = false; // this run records events around its launches
  /// Marks the start or end of a launch of `kernel` while timing_.
  int32_t markLaunch(uint32_t kernel, bool end) noexcept;

  kiln_gpu_calls calls_{};
  kiln_status callStatus_ = KILN_STATUS_OK;
  std::string callError_;
};

CudaSession::~CudaSession() {
  if (!context_)
    return;
  // Best effort throughout: nothing can be reported from here, and each
  // resource is released even if releasing another failed.
  CUcontext popped;
  bool pushed = d_.cuCtxPushCurrent_v2(context_) == CUDA_SUCCESS;
  if (stream_)
    d_.cuStreamSynchronize(stream_); // nothing in flight uses the arena
  if (graphExec_)
    d_.cuGraphExecDestroy(graphExec_);
  timer_.release();
  if (arena_)
    d_.cuMemFree_v2(arena_);
  if (stream_)
    d_.cuStreamDestroy_v2(stream_);
  if (module_)
    d_.cuModuleUnload(module_);
  if (pushed)
    d_.cuCtxPopCurrent_v2(&popped);
  d_.cuDevicePrimaryCtxRelease_v2(device_);
}

kiln_status CudaSession::findDevice(const DeviceRef &device) {
  if (CUresult r = d_.cuInit(0))
    return driverFailure(r, "cuInit",
                         format("initializing the CUDA driver '%s' (is there "
                                "a GPU?)",
                                d_.path.c_str()),
                         KILN_STATUS_DEVICE_UNAVAILABLE);
  int count = 0;
  if (CUresult r = d_.cuDeviceGetCount(&count))
    return driverFailure(r, "cuDeviceGetCount", "counting devices");
  if (device.index >= uint32_t(count < 0 ? 0 : count))
    return fail(KILN_STATUS_DEVICE_UNAVAILABLE,
                "%s does not exist: the CUDA driver sees %s", label_.c_str(),
                count <= 0   ? "no devices"
                : count == 1 ? "1 device (cuda:0)"
                             : format("%d devices (cuda:0 to cuda:%d)", count,
                                      count - 1)
                                   .c_str());
  if (CUresult r = d_.cuDeviceGet(&device_, int(device.index)))
    return driverFailure(r, "cuDeviceGet", "opening the device");
  return KILN_STATUS_OK;
}

kiln_status CudaSession::loadModule(const kiln_model &model,
                                    const GpuImage &image) {
  const uint8_t *bytes = model.file->data() + model.layout.gpuCode.offset +
                         image.offset;
  // The JIT's own log says what is wrong with PTX it rejects.
  char log[2048] = {0};
  CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {log, reinterpret_cast<void *>(uintptr_t(sizeof(log)))};
  if (CUresult r = d_.cuModuleLoadDataEx(&module_, bytes, 2, options, values)) {
    module_ = nullptr;
    log[sizeof(log) - 1] = '\0';
    std::string doing =
        format("loading the %s %s image", image.arch.c_str(),
               gpuImageFormatName(image.format).c_str());
    if (log[0])
      doing += format(" (JIT log: %s)", log);
    return driverFailure(r, "cuModuleLoadDataEx", doing);
  }
  const std::vector<std::string> &names = model.gpuCode.kernels;
  kernelNames_ = names;
  kernels_.assign(names.size(), nullptr);
  for (size_t i = 0; i < names.size(); ++i)
    if (CUresult r =
            d_.cuModuleGetFunction(&kernels_[i], module_, names[i].c_str()))
      return driverFailure(
          r, "cuModuleGetFunction",
          format("finding kernel '%s' in the %s image", names[i].c_str(),
                 image.arch.c_str()));
  return KILN_STATUS_OK;
}

kiln_status CudaSession::allocateArena(const kiln_model &model) {
  // Offsets in the arena: weights, inputs, outputs, then the workspace.
  std::vector<uint64_t> sizes;
  for (const WeightInfo &weight : model.metadata.weights)
    sizes.push_back(weight.tensor.byteSize);
  sizes.insert(sizes.end(), io_.inputBytes.begin(), io_.inputBytes.end());
  sizes.insert(sizes.end(), io_.outputBytes.begin(), io_.outputBytes.end());
  uint64_t workspace = model.gpuCode.workspaceBytes;
  sizes.push_back(workspace < kDeviceAlignment ? kDeviceAlignment : workspace);

  std::vector<uint64_t> offsets;
  uint64_t total = 0;
  for (uint64_t size : sizes) {
    uint64_t slot;
    offsets.push_back(total);
    if (!slotSize(size, slot) || !addChecked(total, slot, total))
      return fail(KILN_STATUS_OUT_OF_MEMORY,
                  "%s: the model needs more than 2^64 bytes of device memory "
                  "(workspace_bytes is %" PRIu64 ")",
                  label_.c_str(), workspace);
  }
  if (CUresult r = d_.cuMemAlloc_v2(&arena_, size_t(total))) {
    arena_ = 0;
    return driverFailure(
        r, "cuMemAlloc_v2",
        format("allocating %" PRIu64 " bytes of device memory for the "
               "weights, inputs, outputs and a %" PRIu64 "-byte workspace",
               total, workspace));
  }
  arenaBytes_ = total;
  for (size_t i = 0; i + 1 < offsets.size(); ++i)
    buffers_.push_back(reinterpret_cast<void *>(arena_ + offsets[i]));
  workspace_ = reinterpret_cast<void *>(arena_ + offsets.back());

  // Outputs start as zeros, like the CPU backend's; inputs and workspace
  // too, so nothing depends on what the allocator left there.
  uint64_t firstIo = model.metadata.weights.empty()
                         ? 0
                         : offsets[model.metadata.weights.size()];
  if (CUresult r = d_.cuMemsetD8Async(arena_ + firstIo, 0,
                                      size_t(total - firstIo), stream_))
    return driverFailure(r, "cuMemsetD8Async", "clearing device memory");
  return KILN_STATUS_OK;
}

kiln_status CudaSession::uploadWeights(const kiln_model &model) {
  const std::vector<WeightInfo> &weights = model.metadata.weights;
  for (size_t i = 0; i < weights.size(); ++i) {
    uint64_t bytes = weights[i].tensor.byteSize;
    if (bytes == 0)
      continue;
    if (CUresult r = d_.cuMemcpyHtoDAsync_v2(
            CUdeviceptr(buffers_[i]), weightData(model, i), size_t(bytes),
            stream_))
      return driverFailure(r, "cuMemcpyHtoDAsync_v2",
                           format("uploading weight '%s' (%" PRIu64 " bytes)",
                                  weights[i].tensor.name.c_str(), bytes));
  }
  if (CUresult r = d_.cuStreamSynchronize(stream_))
    return driverFailure(r, "cuStreamSynchronize", "uploading the weights");
  return KILN_STATUS_OK;
}

kiln_status CudaSession::create(kiln_model &model, const DeviceRef &device) {
  void *entry = nullptr;
  if (kiln_status status = getHostEntry(model, entry))
    return status;
  entry_ = reinterpret_cast<kiln_gpu_entry_fn>(entry);
  table_ = &model.kernels;

  if (kiln_status status = findDevice(device))
    return status;
  int major = 0, minor = 0;
  char name[256] = {0};
  if (CUresult r = d_.cuDeviceGetAttribute(
          &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device_))
    return driverFailure(r, "cuDeviceGetAttribute",
                         "reading its compute capability");
  if (CUresult r = d_.cuDeviceGetAttribute(
          &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device_))
    return driverFailure(r, "cuDeviceGetAttribute",
                         "reading its compute capability");
  if (CUresult r = d_.cuDeviceGetName(name, int(sizeof(name)), device_))
    return driverFailure(r, "cuDeviceGetName", "reading its name");
  name[sizeof(name) - 1] = '\0';
  label_ += format(" (%s)", name);

  size_t image = 0;
  if (kiln_status status = chooseImage(model.gpuCode, unsigned(major),
                                       unsigned(minor), label_, image))
    return status;

  CUcontext context = nullptr;
  if (CUresult r = d_.cuDevicePrimaryCtxRetain(&context, device_))
    return driverFailure(r, "cuDevicePrimaryCtxRetain",
                         "retaining its primary context");
  context_ = context; // from here on the destructor releases it
  ContextScope scope(*this);
  if (kiln_status status = scope.push())
    return status;
  if (kiln_status status = loadModule(model, model.gpuCode.images[image]))
    return status;
  if (CUresult r = d_.cuStreamCreate(&stream_, CU_STREAM_NON_BLOCKING)) {
    stream_ = nullptr;
    return driverFailure(r, "cuStreamCreate", "creating a stream");
  }
  if (kiln_status status = allocateArena(model))
    return status;
  if (kiln_status status = uploadWeights(model))
    return status;
  return scope.pop();
}

kiln_status CudaSession::uploadInputs() {
  for (size_t i = 0; i < dirty_.size(); ++i) {
    if (!dirty_[i])
      continue;
    if (io_.inputBytes[i] > 0)
      if (CUresult r = d_.cuMemcpyHtoDAsync_v2(CUdeviceptr(buffers_[inputSlot(i)]),
                                               io_.inputs[i], io_.inputBytes[i],
                                               stream_))
        return driverFailure(r, "cuMemcpyHtoDAsync_v2",
                             format("uploading input %zu (%zu bytes)", i,
                                    io_.inputBytes[i]));
    dirty_[i] = false;
  }
  return KILN_STATUS_OK;
}

kiln_status CudaSession::setInputFromDevice(size_t index, uint64_t address,
                                            size_t bytes) {
  ContextScope scope(*this);
  if (kiln_status status = scope.push())
    return status;
  if (bytes > 0) {
    std::string doing =
        format("copying input %zu (%zu bytes) from device address 0x%llx",
               index, bytes, (unsigned long long)address);
    // A copy from outside device memory would fault on the device and
    // leave the context unusable; the driver's allocation table says first.
    CUdeviceptr base = 0;
    size_t size = 0;
    if (CUresult r = d_.cuMemGetAddressRange_v2(&base, &size,
                                                CUdeviceptr(address)))
      return driverFailure(r, "cuMemGetAddressRange_v2",
                           doing + ": the address is not in device memory",
                           KILN_STATUS_INVALID_ARGUMENT);
    if (address - base + bytes > size)
      return fail(KILN_STATUS_INVALID_ARGUMENT,
                  "%s: %s: the allocation at 0x%llx holds %zu bytes, %llu "
                  "of them from the address on",
                  label_.c_str(), doing.c_str(), (unsigned long long)base,
                  size, (unsigned long long)(base + size - address));
    if (CUresult r = d_.cuMemcpyDtoDAsync_v2(
            CUdeviceptr(buffers_[inputSlot(index)]), CUdeviceptr(address),
            bytes, stream_))
      return driverFailure(r, "cuMemcpyDtoDAsync_v2", doing);
    // Synchronous for the caller, whose memory is free to reuse on return.
    if (CUresult r = d_.cuStreamSynchronize(stream_))
      return driverFailure(r, "cuStreamSynchronize", doing);
  }
  dirty_[index] = false; // the device buffer is current; the host one is not
  return scope.pop();
}

kiln_status CudaSession::callEntry() {
  callStatus_ = KILN_STATUS_OK;
  callError_.clear();
  int32_t result =
      entry_(buffers_.data(), workspace_, &calls_, static_cast<void *>(this));
  // A failed call is reported even if the host code went on regardless.
  if (callStatus_ != KILN_STATUS_OK)
    return fail(callStatus_, "%s", callError_.c_str());
  if (result != 0)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "%s: the host code's entry returned %d, but none of its "
                "calls failed",
                label_.c_str(), int(result));
  return KILN_STATUS_OK;
}

void CudaSession::captureGraph() {
  graph_ = Graph::Disabled; // unless everything below succeeds
  if (d_.cuStreamBeginCapture_v2(stream_, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL))
    return;
  callStatus_ = KILN_STATUS_OK;
  int32_t result =
      entry_(buffers_.data(), workspace_, &calls_, static_cast<void *>(this));
  bool captured = result == 0 && callStatus_ == KILN_STATUS_OK;
  CUgraph graph = nullptr;
  // Always end the capture, or the stream stays in capture mode.
  captured &= d_.cuStreamEndCapture(stream_, &graph) == CUDA_SUCCESS;
  captured &= graph != nullptr;
  if (captured && d_.cuGraphInstantiateWithFlags(&graphExec_, graph, 0) ==
                      CUDA_SUCCESS)
    graph_ = Graph::Ready;
  else
    graphExec_ = nullptr;
  if (graph)
    d_.cuGraphDestroy(graph); // the executable graph is independent of it
}

kiln_status CudaSession::launchModel() {
  if (graph_ == Graph::NotTried && successfulRuns_ > 0)
    captureGraph();
  if (graph_ != Graph::Ready)
    return callEntry();
  if (CUresult r = d_.cuGraphLaunch(graphExec_, stream_))
    return driverFailure(r, "cuGraphLaunch", "launching the model's graph");
  return KILN_STATUS_OK;
}

kiln_status CudaSession::downloadOutputs() {
  for (size_t i = 0; i < io_.outputs.size(); ++i)
    if (io_.outputBytes[i] > 0)
      if (CUresult r = d_.cuMemcpyDtoHAsync_v2(
              io_.outputs[i], CUdeviceptr(buffers_[outputSlot(i)]),
              io_.outputBytes[i], stream_))
        return driverFailure(r, "cuMemcpyDtoHAsync_v2",
                             format("downloading output %zu (%zu bytes)", i,
                                    io_.outputBytes[i]));
  if (CUresult r = d_.cuStreamSynchronize(stream_))
    return driverFailure(r, "cuStreamSynchronize", "running the model");
  return KILN_STATUS_OK;
}

kiln_status CudaSession::runTimed(SessionProfile &profile) {
  if (LaunchTimer::Failure f = timer_.start(stream_))
    return driverFailure(f.result, f.call, "timing the run's kernels");
  timing_ = true;
  kiln_status entered = callEntry();
  timing_ = false;
  if (entered)
    return entered;
  if (kiln_status status = downloadOutputs())
    return status;
  if (LaunchTimer::Failure f = timer_.finish(*table_, profile))
    return driverFailure(f.result, f.call, "reading the kernels' times");
  return KILN_STATUS_OK;
}

kiln_status CudaSession::run() {
  ContextScope scope(*this);
  if (kiln_status status = scope.push())
    return status;
  if (kiln_status status = uploadInputs())
    return status;
  SessionProfile *profile =
      table_->empty() ? nullptr : SessionProfile::active();
  if (profile) {
    if (kiln_status status = runTimed(*profile))
      return status;
  } else {
    if (kiln_status status = launchModel())
      return status;
    if (kiln_status status = downloadOutputs())
      return status;
  }
  if (kiln_status status = scope.pop())
    return status;
  ++successfulRuns_;
  return KILN_STATUS_OK;
}

int32_t CudaSession::recordFailure(kiln_status status) noexcept {
  if (callStatus_ == KILN_STATUS_OK) {
    callStatus_ = status;
    try {
      callError_ = kiln_last_error();
    } catch (...) {
      callError_.clear(); // out of memory: the status still says it
    }
  }
  return int32_t(status);
}

bool CudaSession::inArena(const void *pointer, uint64_t bytes) const {
  uint64_t start = uint64_t(uintptr_t(pointer)), end;
  return start >= arena_ && addChecked(start, bytes, end) &&
         end <= arena_ + arenaBytes_;
}

template <typename Body>
int32_t CudaSession::guardedThunk(void *ctx, Body body) {
  auto &s = *static_cast<CudaSession *>(ctx);
  try {
    return body(s);
  } catch (...) {
    return s.recordFailure(fail(KILN_STATUS_OUT_OF_MEMORY, "out of memory"));
  }
}

int32_t CudaSession::markLaunch(uint32_t kernel, bool end) noexcept {
  if (!timing_)
    return 0;
  return guardedThunk(this, [&](CudaSession &s) -> int32_t {
    if (LaunchTimer::Failure f = s.timer_.mark(s.stream_, kernel, end))
      return s.recordFailure(s.driverFailure(
          f.result, f.call,
          format("timing launch %zu (kernel '%s')", s.timer_.launches() - 1,
                 s.kernelNames_[kernel].c_str())));
    return 0;
  });
}

int32_t CudaSession::launchThunk(void *ctx, uint32_t kernel, uint32_t gridX,
                                 uint32_t gridY, uint32_t gridZ,
                                 uint32_t blockX, uint32_t blockY,
                                 uint32_t blockZ, uint32_t sharedBytes,
                                 void **params) {
  return guardedThunk(ctx, [&](CudaSession &s) -> int32_t {
    if (kernel >= s.kernels_.size())
      return s.recordFailure(fail(
          KILN_STATUS_CORRUPT_ARTIFACT,
          "%s: the host code launched kernel %u, but GPU_CODE has %zu",
          s.label_.c_str(), kernel, s.kernels_.size()));
    if (int32_t failed = s.markLaunch(kernel, /*end=*/false))
      return failed;
    if (CUresult r = s.d_.cuLaunchKernel(s.kernels_[kernel], gridX, gridY,
                                         gridZ, blockX, blockY, blockZ,
                                         sharedBytes, s.stream_, params,
                                         nullptr))
      return s.recordFailure(s.driverFailure(
          r, "cuLaunchKernel",
          format("launching kernel '%s' (grid %ux%ux%u, block %ux%ux%u, %u "
                 "bytes of shared memory)",
                 s.kernelNames_[kernel].c_str(), gridX, gridY, gridZ, blockX,
                 blockY, blockZ, sharedBytes)));
    return s.markLaunch(kernel, /*end=*/true);
  });
}

int32_t CudaSession::memcpyThunk(void *ctx, void *dst, const void *src,
                                 uint64_t bytes) {
  if (bytes == 0)
    return 0;
  return guardedThunk(ctx, [&](CudaSession &s) -> int32_t {
    if (!s.inArena(dst, bytes) || !s.inArena(src, bytes))
      return s.recordFailure(fail(
          KILN_STATUS_CORRUPT_ARTIFACT,
          "%s: the host code copies %" PRIu64 " bytes from %p to %p, outside "
          "the session's device memory",
          s.label_.c_str(), bytes, src, dst));
    if (CUresult r = s.d_.cuMemcpyDtoDAsync_v2(CUdeviceptr(dst),
                                               CUdeviceptr(src), size_t(bytes),
                                               s.stream_))
      return s.recordFailure(s.driverFailure(
          r, "cuMemcpyDtoDAsync_v2",
          format("copying %" PRIu64 " bytes on the device", bytes)));
    return 0;
  });
}

int32_t CudaSession::memsetThunk(void *ctx, void *dst, uint8_t value,
                                 uint64_t bytes) {
  if (bytes == 0)
    return 0;
  return guardedThunk(ctx, [&](CudaSession &s) -> int32_t {
    if (!s.inArena(dst, bytes))
      return s.recordFailure(fail(
          KILN_STATUS_CORRUPT_ARTIFACT,
          "%s: the host code sets %" PRIu64 " bytes at %p, outside the "
          "session's device memory",
          s.label_.c_str(), bytes, dst));
    if (CUresult r = s.d_.cuMemsetD8Async(CUdeviceptr(dst), value,
                                          size_t(bytes), s.stream_))
      return s.recordFailure(s.driverFailure(
          r, "cuMemsetD8Async",
          format("setting %" PRIu64 " bytes on the device", bytes)));
    return 0;
  });
}

class CudaBackend final : public Backend {
public:
  CudaBackend() : Backend({"cuda", "'cuda:N'", "cuda-"}) {}

  kiln_status checkArtifact(const kiln_model &model) const override {
    const std::string &target = model.metadata.target;
    if (!model.layout.hostCode.present || !model.layout.gpuCode.present)
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "artifact for target '%s' has no %s section", target.c_str(),
                  model.layout.hostCode.present ? "GPU_CODE" : "HOST_CODE");
    return checkCudaTarget(target, model.gpuCode);
  }

  kiln_status createSession(kiln_model &model, const DeviceRef &device,
                            const HostIO &io,
                            std::unique_ptr<DeviceSession> &out) const override {
    // The session plans one device arena at fixed offsets from static
    // sizes, and its graphs replay fixed calls: neither holds for tensors
    // whose size changes from run to run.
    if (!model.metadata.symbols.empty())
      return fail(KILN_STATUS_UNSUPPORTED,
                  "artifact target '%s' has symbolic dimensions: dynamic "
                  "dims are not supported by the CUDA backend yet",
                  model.metadata.target.c_str());
    const Driver *driver = nullptr;
    if (kiln_status status = loadDriver(device.text, driver))
      return status;
    auto session = std::make_unique<CudaSession>(*driver, device, io);
    if (kiln_status status = session->create(model, device))
      return status; // the destructor releases what was acquired
    out = std::move(session);
    return KILN_STATUS_OK;
  }
};

} // namespace
} // namespace kiln::rt::cuda

namespace kiln::rt {

const Backend &cudaBackend() {
  static const cuda::CudaBackend backend;
  return backend;
}

} // namespace kiln::rt
