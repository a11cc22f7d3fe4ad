//===- fake_cuda.cpp - A CUDA driver simulated on the host, for tests ----===//
//
// See fake_cuda.h for what it simulates and how it is configured. Every
// entry point goes through Call, which counts the call, injects a failure
// if asked to, and writes the log line.
//
//===----------------------------------------------------------------------===//

#include "fake_cuda.h"

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

#define FAKE_API extern "C" __attribute__((visibility("default")))

namespace {

using CUresult = int;
using CUdeviceptr = unsigned long long;

constexpr CUresult kSuccess = 0;
constexpr CUresult kInvalidValue = 1;
constexpr CUresult kOutOfMemory = 2;
constexpr CUresult kNotInitialized = 3;
constexpr CUresult kNoDevice = 100;
constexpr CUresult kInvalidDevice = 101;
constexpr CUresult kInvalidImage = 200;
constexpr CUresult kInvalidContext = 201;
constexpr CUresult kNoBinaryForGpu = 209;
constexpr CUresult kInvalidPtx = 218;
constexpr CUresult kInvalidHandle = 400;
constexpr CUresult kNotFound = 500;
constexpr CUresult kNotReady = 600;
constexpr CUresult kIllegalAddress = 700;
constexpr CUresult kLaunchOutOfResources = 701;
constexpr CUresult kLaunchFailed = 719;
constexpr CUresult kNotSupported = 801;
constexpr CUresult kCaptureUnsupported = 900;
constexpr CUresult kCaptureInvalidated = 901;
constexpr CUresult kCaptureImplicit = 906;

struct ErrorInfo {
  CUresult code;
  const char *name;
  const char *text;
};
const ErrorInfo kErrors[] = {
    {kSuccess, "CUDA_SUCCESS", "no error"},
    {kInvalidValue, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {kOutOfMemory, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {kNotInitialized, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {kNoDevice, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {kInvalidDevice, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {kInvalidImage, "CUDA_ERROR_INVALID_IMAGE",
     "device kernel image is invalid"},
    {kInvalidContext, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {kNoBinaryForGpu, "CUDA_ERROR_NO_BINARY_FOR_GPU",
     "no kernel image is available for execution on the device"},
    {kInvalidPtx, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {kInvalidHandle, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {kNotFound, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {kNotReady, "CUDA_ERROR_NOT_READY", "device not ready"},
    {kIllegalAddress, "CUDA_ERROR_ILLEGAL_ADDRESS",
     "an illegal memory access was encountered"},
    {kLaunchOutOfResources, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES",
     "too many resources requested for launch"},
    {kLaunchFailed, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
    {kNotSupported, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
    {kCaptureUnsupported, "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED",
     "operation not permitted when stream is capturing"},
    {kCaptureInvalidated, "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED",
     "operation failed due to a previous error during capture"},
    {kCaptureImplicit, "CUDA_ERROR_STREAM_CAPTURE_IMPLICIT",
     "operation would make the legacy stream depend on a capturing blocking "
     "stream"},
};

/// What an injected failure of each entry point returns by default.
CUresult defaultFailure(const std::string &name) {
  static const std::map<std::string, CUresult> defaults = {
      {"cuInit", kNoDevice},
      {"cuDeviceGetCount", kNotInitialized},
      {"cuDeviceGet", kInvalidDevice},
      {"cuDeviceGetAttribute", kInvalidDevice},
      {"cuDeviceGetName", kInvalidDevice},
      {"cuDevicePrimaryCtxRetain", kOutOfMemory},
      {"cuDevicePrimaryCtxRelease_v2", kInvalidContext},
      {"cuCtxPushCurrent_v2", kInvalidContext},
      {"cuCtxPopCurrent_v2", kInvalidContext},
      {"cuModuleLoadDataEx", kNoBinaryForGpu},
      {"cuModuleGetFunction", kNotFound},
      {"cuModuleUnload", kInvalidHandle},
      {"cuMemAlloc_v2", kOutOfMemory},
      {"cuMemFree_v2", kInvalidValue},
      {"cuMemGetAddressRange_v2", kNotFound},
      {"cuMemcpyHtoDAsync_v2", kIllegalAddress},
      {"cuMemcpyDtoHAsync_v2", kIllegalAddress},
      {"cuMemcpyDtoDAsync_v2", kIllegalAddress},
      {"cuMemsetD8Async", kIllegalAddress},
      {"cuStreamCreate", kOutOfMemory},
      {"cuStreamDestroy_v2", kInvalidHandle},
      {"cuStreamSynchronize", kLaunchFailed},
      {"cuLaunchKernel", kLaunchOutOfResources},
      {"cuStreamBeginCapture_v2", kCaptureUnsupported},
      {"cuStreamEndCapture", kCaptureInvalidated},
      {"cuGraphInstantiateWithFlags", kNotSupported},
      {"cuGraphLaunch", kLaunchFailed},
      {"cuGraphExecDestroy", kInvalidHandle},
      {"cuGraphDestroy", kInvalidHandle},
      {"cuEventCreate", kOutOfMemory},
      {"cuEventRecord", kInvalidHandle},
      {"cuEventSynchronize", kLaunchFailed},
      {"cuEventElapsedTime", kNotReady},
      {"cuEventDestroy_v2", kInvalidHandle},
      {"cuGetErrorName", kInvalidValue},
      {"cuGetErrorString", kInvalidValue},
  };
  auto found = defaults.find(name);
  return found == defaults.end() ? kInvalidValue : found->second;
}

//===--- State -------------------------------------------------------------===//

struct Function;

/// One recorded or executed piece of work.
struct Work {
  enum Kind { Kernel, Copy, Set } kind = Kernel;
  const Function *function = nullptr;
  std::vector<uint64_t> args; // kiln_test_add: a, b, out, n
  CUdeviceptr dst = 0, src = 0;
  uint64_t bytes = 0;
  unsigned char value = 0;
};

struct Module {
  int id;
  std::string arch;
  std::set<std::string> kernels; // empty: any name resolves
};

struct Function {
  int id;
  Module *module;
  std::string name;
};

struct Graph {
  int id;
  std::vector<Work> work;
};

struct Stream {
  int id;
  Graph *capture = nullptr; // non-null while capturing
  CUresult stickyError = kSuccess;
};

struct Context {
  int device;
};

/// A CUDA event: the fake device clock when it was last recorded.
struct Event {
  int id;
  bool recorded = false;
  uint64_t timeNs = 0;
};

/// The fake device clock: what cuEventElapsedTime measures.
constexpr uint64_t kEventRecordNs = 1000; // each event recorded
constexpr uint64_t kKernelNs = 10000;     // each kernel executed

struct Config {
  int devices = 1;
  std::vector<int> capabilities{90};
  std::string log;
  std::map<std::string, std::map<long, CUresult>> failures; // name -> N -> code
};

constexpr int kMaxDevices = 16;

struct State {
  std::mutex mutex;
  bool configured = false;
  Config config;
  bool initialized = false;
  std::map<std::string, long> calls;
  std::map<CUdeviceptr, uint64_t> allocations;
  std::map<Module *, std::unique_ptr<Module>> modules;
  std::map<Function *, std::unique_ptr<Function>> functions;
  std::map<Stream *, std::unique_ptr<Stream>> streams;
  std::map<Graph *, std::unique_ptr<Graph>> graphs;
  std::map<Graph *, std::unique_ptr<Graph>> execs;
  std::map<Event *, std::unique_ptr<Event>> events;
  uint64_t clockNs = 0;
  Context contexts[kMaxDevices];
  int retains[kMaxDevices] = {};
  int nextId = 1;
};

State &state() {
  static State *s = new State; // outlives every static destructor
  return *s;
}

thread_local std::vector<Context *> contextStack;

std::string hex(uint64_t value) {
  char text[32];
  std::snprintf(text, sizeof(text), "0x%llx", (unsigned long long)value);
  return text;
}

void configure(State &s) {
  Config config;
  if (const char *devices = std::getenv("KILN_FAKE_CUDA_DEVICES"))
    config.devices = std::atoi(devices);
  if (config.devices < 0)
    config.devices = 0;
  if (config.devices > kMaxDevices)
    config.devices = kMaxDevices;
  if (const char *list = std::getenv("KILN_FAKE_CUDA_CC")) {
    config.capabilities.clear();
    for (const char *c = list; *c;) {
      config.capabilities.push_back(std::atoi(c));
      c = std::strchr(c, ',');
      if (!c)
        break;
      ++c;
    }
    if (config.capabilities.empty())
      config.capabilities.push_back(90);
  }
  if (const char *log = std::getenv("KILN_FAKE_CUDA_LOG"))
    config.log = log;
  if (const char *failures = std::getenv("KILN_FAKE_CUDA_FAIL")) {
    std::string spec = failures;
    for (size_t start = 0; start < spec.size();) {
      size_t comma = spec.find(',', start);
      std::string item = spec.substr(start, comma - start);
      start = comma == std::string::npos ? spec.size() : comma + 1;
      size_t colon = item.find(':');
      if (colon == std::string::npos)
        continue;
      std::string name = item.substr(0, colon);
      std::string rest = item.substr(colon + 1);
      size_t colon2 = rest.find(':');
      long nth = std::atol(rest.substr(0, colon2).c_str());
      CUresult code = colon2 == std::string::npos
                          ? defaultFailure(name)
                          : std::atoi(rest.substr(colon2 + 1).c_str());
      config.failures[name][nth] = code;
    }
  }
  s.config = config;
  for (int i = 0; i < kMaxDevices; ++i)
    s.contexts[i].device = i;
  s.configured = true;
}

/// One entry-point call: holds the lock, counts it, decides on an injected
/// failure and logs one line when done.
class Call {
public:
  explicit Call(const char *name) : lock_(state().mutex), s_(state()) {
    if (!s_.configured)
      configure(s_);
    name_ = name;
    long nth = ++s_.calls[name_];
    auto failures = s_.config.failures.find(name_);
    if (failures != s_.config.failures.end()) {
      auto failure = failures->second.find(nth);
      if (failure != failures->second.end())
        injected_ = failure->second;
    }
  }

  State &state_() { return s_; }

  void arg(const char *key, const std::string &value) {
    args_ += std::string(" ") + key + "=" + value;
  }
  void arg(const char *key, uint64_t value) {
    arg(key, std::to_string(value));
  }
  void out(const char *key, const std::string &value) {
    outs_ += std::string(" ") + key + "=" + value;
  }

  /// The injected failure, if any; the caller returns done() at once.
  bool injected() const { return injected_ != kSuccess; }

  CUresult done(CUresult result = kSuccess) {
    if (injected_ != kSuccess)
      result = injected_;
    if (!s_.config.log.empty()) {
      std::string line = name_ + args_ + " -> " + std::to_string(result) +
                         (injected_ != kSuccess ? " (injected)" : outs_) +
                         "\n";
      int fd = open(s_.config.log.c_str(),
                    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
      if (fd >= 0) {
        ssize_t ignored = write(fd, line.data(), line.size());
        (void)ignored;
        close(fd);
      }
    }
    return result;
  }

  /// CUDA_ERROR_NOT_INITIALIZED before cuInit, CUDA_ERROR_INVALID_CONTEXT
  /// without a current context; kSuccess otherwise.
  CUresult needContext() const {
    if (!s_.initialized)
      return kNotInitialized;
    return contextStack.empty() ? kInvalidContext : kSuccess;
  }

private:
  std::lock_guard<std::mutex> lock_;
  State &s_;
  std::string name_, args_, outs_;
  CUresult injected_ = kSuccess;
};

std::string handleName(char kind, int id) {
  return std::string(1, kind) + std::to_string(id);
}

/// Whether [pointer, pointer + bytes) lies in one live allocation.
bool valid(const State &s, CUdeviceptr pointer, uint64_t bytes) {
  auto next = s.allocations.upper_bound(pointer);
  if (next == s.allocations.begin())
    return false;
  --next;
  return pointer >= next->first &&
         pointer - next->first <= next->second &&
         bytes <= next->second - (pointer - next->first);
}

/// Runs one piece of work on the host; an error is sticky on the stream.
void execute(State &s, Stream &stream, const Work &work) {
  if (stream.stickyError != kSuccess)
    return;
  switch (work.kind) {
  case Work::Copy:
    if (!valid(s, work.dst, work.bytes) || !valid(s, work.src, work.bytes)) {
      stream.stickyError = kIllegalAddress;
      return;
    }
    std::memmove(reinterpret_cast<void *>(work.dst),
                 reinterpret_cast<const void *>(work.src), work.bytes);
    return;
  case Work::Set:
    if (!valid(s, work.dst, work.bytes)) {
      stream.stickyError = kIllegalAddress;
      return;
    }
    std::memset(reinterpret_cast<void *>(work.dst), work.value, work.bytes);
    return;
  case Work::Kernel:
    s.clockNs += kKernelNs;
    if (work.function->name != "kiln_test_add")
      return;
    uint64_t a = work.args[0], b = work.args[1], out = work.args[2];
    uint64_t n = work.args[3];
    if (!valid(s, a, n * 4) || !valid(s, b, n * 4) || !valid(s, out, n * 4)) {
      stream.stickyError = kIllegalAddress;
      return;
    }
    for (uint64_t i = 0; i < n; ++i)
      reinterpret_cast<float *>(out)[i] =
          reinterpret_cast<const float *>(a)[i] +
          reinterpret_cast<const float *>(b)[i];
    return;
  }
}

/// The stream behind a handle, or null (the legacy stream is not simulated).
Stream *findStream(State &s, void *handle) {
  auto found = s.streams.find(static_cast<Stream *>(handle));
  return found == s.streams.end() ? nullptr : found->second.get();
}

/// Records `work` into a capturing stream's graph or executes it.
void submit(State &s, Stream &stream, const Work &work) {
  if (stream.capture)
    stream.capture->work.push_back(work);
  else
    execute(s, stream, work);
}

/// Reads the NUL-terminated text of a fake image (after the ELF magic for a
/// cubin), at most 4096 bytes.
std::string imageText(const void *image, bool &cubin) {
  const char *bytes = static_cast<const char *>(image);
  cubin = std::memcmp(bytes, "\x7f" "ELF", 4) == 0;
  if (cubin)
    bytes += 4;
  return std::string(bytes, strnlen(bytes, 4096));
}

std::string token(const std::string &text, const std::string &key) {
  size_t at = text.find(key + "=");
  if (at == std::string::npos)
    return "";
  size_t start = at + key.size() + 1;
  return text.substr(start, text.find(' ', start) - start);
}

} // namespace

//===--- Controls ----------------------------------------------------------===//

FAKE_API void kiln_fake_cuda_reset(void) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  for (auto &allocation : s.allocations)
    std::free(reinterpret_cast<void *>(allocation.first));
  s.allocations.clear();
  s.functions.clear();
  s.modules.clear();
  s.streams.clear();
  s.graphs.clear();
  s.execs.clear();
  s.events.clear();
  s.clockNs = 0;
  s.calls.clear();
  for (int &retains : s.retains)
    retains = 0;
  s.initialized = false;
  s.nextId = 1;
  contextStack.clear();
  configure(s);
}

FAKE_API int kiln_fake_cuda_live_allocations(void) {
  std::lock_guard<std::mutex> lock(state().mutex);
  return int(state().allocations.size());
}

FAKE_API int kiln_fake_cuda_live_modules(void) {
  std::lock_guard<std::mutex> lock(state().mutex);
  return int(state().modules.size());
}

FAKE_API int kiln_fake_cuda_live_streams(void) {
  std::lock_guard<std::mutex> lock(state().mutex);
  return int(state().streams.size());
}

FAKE_API int kiln_fake_cuda_live_graphs(void) {
  std::lock_guard<std::mutex> lock(state().mutex);
  return int(state().graphs.size() + state().execs.size());
}

FAKE_API int kiln_fake_cuda_live_events(void) {
  std::lock_guard<std::mutex> lock(state().mutex);
  return int(state().events.size());
}

FAKE_API int kiln_fake_cuda_live_context_retains(void) {
  std::lock_guard<std::mutex> lock(state().mutex);
  int total = 0;
  for (int retains : state().retains)
    total += retains;
  return total;
}

FAKE_API int kiln_fake_cuda_context_depth(void) {
  return int(contextStack.size());
}

//===--- Initialization and devices ----------------------------------------===//

FAKE_API CUresult cuInit(unsigned int flags) {
  Call call("cuInit");
  call.arg("flags", flags);
  if (call.injected())
    return call.done();
  State &s = call.state_();
  if (flags != 0)
    return call.done(kInvalidValue);
  if (s.config.devices == 0)
    return call.done(kNoDevice);
  s.initialized = true;
  return call.done();
}

FAKE_API CUresult cuDeviceGetCount(int *count) {
  Call call("cuDeviceGetCount");
  if (call.injected())
    return call.done();
  if (!call.state_().initialized)
    return call.done(kNotInitialized);
  if (!count)
    return call.done(kInvalidValue);
  *count = call.state_().config.devices;
  call.out("count", std::to_string(*count));
  return call.done();
}

FAKE_API CUresult cuDeviceGet(int *device, int ordinal) {
  Call call("cuDeviceGet");
  call.arg("ordinal", std::to_string(ordinal));
  if (call.injected())
    return call.done();
  if (!call.state_().initialized)
    return call.done(kNotInitialized);
  if (!device)
    return call.done(kInvalidValue);
  if (ordinal < 0 || ordinal >= call.state_().config.devices)
    return call.done(kInvalidDevice);
  *device = ordinal;
  return call.done();
}

namespace {
int capabilityOf(const State &s, int device) {
  const std::vector<int> &list = s.config.capabilities;
  return list[size_t(device) < list.size() ? size_t(device) : list.size() - 1];
}
} // namespace

FAKE_API CUresult cuDeviceGetAttribute(int *value, int attribute, int device) {
  Call call("cuDeviceGetAttribute");
  call.arg("attribute", std::to_string(attribute));
  call.arg("device", std::to_string(device));
  if (call.injected())
    return call.done();
  State &s = call.state_();
  if (!s.initialized)
    return call.done(kNotInitialized);
  if (!value)
    return call.done(kInvalidValue);
  if (device < 0 || device >= s.config.devices)
    return call.done(kInvalidDevice);
  int capability = capabilityOf(s, device);
  if (attribute == 75)
    *value = capability / 10;
  else if (attribute == 76)
    *value = capability % 10;
  else
    return call.done(kInvalidValue);
  call.out("value", std::to_string(*value));
  return call.done();
}

FAKE_API CUresult cuDeviceGetName(char *name, int length, int device) {
  Call call("cuDeviceGetName");
  call.arg("device", std::to_string(device));
  if (call.injected())
    return call.done();
  State &s = call.state_();
  if (!s.initialized)
    return call.done(kNotInitialized);
  if (!name || length <= 0)
    return call.done(kInvalidValue);
  if (device < 0 || device >= s.config.devices)
    return call.done(kInvalidDevice);
  std::snprintf(name, size_t(length), "Kiln Fake GPU %d (sm_%d)", device,
                capabilityOf(s, device));
  return call.done();
}

//===--- Contexts ----------------------------------------------------------===//

FAKE_API CUresult cuDevicePrimaryCtxRetain(void **context, int device) {
  Call call("cuDevicePrimaryCtxRetain");
  call.arg("device", std::to_string(device));
  if (call.injected())
    return call.done();
  State &s = call.state_();
  if (!s.initialized)
    return call.done(kNotInitialized);
  if (!context)
    return call.done(kInvalidValue);
  if (device < 0 || device >= s.config.devices)
    return call.done(kInvalidDevice);
  ++s.retains[device];
  *context = &s.contexts[device];
  return call.done();
}

FAKE_API CUresult cuDevicePrimaryCtxRelease_v2(int device) {
  Call call("cuDevicePrimaryCtxRelease_v2");
  call.arg("device", std::to_string(device));
  if (call.injected())
    return call.done();
  State &s = call.state_();
  if (device < 0 || device >= s.config.devices)
    return call.done(kInvalidDevice);
  if (s.retains[device] == 0)
    return call.done(kInvalidContext);
  --s.retains[device];
  return call.done();
}

FAKE_API CUresult cuCtxPushCurrent_v2(void *context) {
  Call call("cuCtxPushCurrent_v2");
  if (call.injected())
    return call.done();
  State &s = call.state_();
  auto *ctx = static_cast<Context *>(context);
  if (ctx < s.contexts || ctx >= s.contexts + kMaxDevices ||
      s.retains[ctx->device] == 0)
    return call.done(kInvalidContext);
  contextStack.push_back(ctx);
  call.out("depth", std::to_string(contextStack.size()));
  return call.done();
}

FAKE_API CUresult cuCtxPopCurrent_v2(void **context) {
  Call call("cuCtxPopCurrent_v2");
  if (call.injected())
    return call.done();
  if (contextStack.empty())
    return call.done(kInvalidContext);
  if (context)
    *context = contextStack.back();
  contextStack.pop_back();
  call.out("depth", std::to_string(contextStack.size()));
  return call.done();
}

//===--- Modules -----------------------------------------------------------===//

FAKE_API CUresult cuModuleLoadDataEx(void **module, const void *image,
                                     unsigned int numOptions, int *options,
                                     void **values) {
  Call call("cuModuleLoadDataEx");
  if (!image) {
    call.arg("image", "null");
    return call.done(kInvalidValue);
  }
  bool cubin = false;
  std::string text = imageText(image, cubin);
  std::string arch = token(text, "arch");
  call.arg("image", cubin ? "cubin" : "ptx");
  call.arg("arch", arch.empty() ? "?" : arch);
  if (call.injected())
    return call.done();
  State &s = call.state_();
  if (CUresult r = call.needContext())
    return call.done(r);
  if (!module)
    return call.done(kInvalidValue);
  if (text.compare(0, 19, "kiln-fake-gpu-image") != 0)
    return call.done(kInvalidImage);
  if (text.find("invalid") != std::string::npos) {
    // Like the JIT: the reason goes to CU_JIT_ERROR_LOG_BUFFER.
    char *log = nullptr;
    size_t size = 0;
    for (unsigned i = 0; i < numOptions; ++i) {
      if (options[i] == 5)
        log = static_cast<char *>(values[i]);
      if (options[i] == 6)
        size = size_t(reinterpret_cast<uintptr_t>(values[i]));
    }
    if (log && size > 0)
      std::snprintf(log, size, "fake ptxas: error: the %s image is invalid",
                    arch.c_str());
    return call.done(kInvalidPtx);
  }
  auto created = std::make_unique<Module>();
  created->id = s.nextId++;
  created->arch = arch;
  std::string kernels = token(text, "kernels");
  for (size_t start = 0; start < kernels.size();) {
    size_t comma = kernels.find(',', start);
    created->kernels.insert(kernels.substr(start, comma - start));
    start = comma == std::string::npos ? kernels.size() : comma + 1;
  }
  Module *raw = created.get();
  s.modules[raw] = std::move(created);
  *module = raw;
  call.out("module", handleName('M', raw->id));
  return call.done();
}

FAKE_API CUresult cuModuleGetFunction(void **function, void *module,
                                      const char *name) {
  Call call("cuModuleGetFunction");
  call.arg("name", name ? name : "(null)");
  if (call.injected())
    return call.done();
  State &s = call.state_();
  if (CUresult r = call.needContext())
    return call.done(r);
  auto found = s.modules.find(static_cast<Module *>(module));
  if (found == s.modules.end())
    return call.done(kInvalidHandle);
  if (!function || !name)
    return call.done(kInvalidValue);
  Module &m = *found->second;
  call.arg("module", handleName('M', m.id));
  if (!m.kernels.empty() && !m.kernels.count(name))
    return call.done(kNotFound);
  auto created = std::make_unique<Function>();
  created->id = s.nextId++;
  created->module = &m;
  created->name = name;
  Function *raw = created.get();
  s.functions[raw] = std::move(created);
  *function = raw;
  call.out("function", handleName('F', raw->id));
  return call.done();
}

FAKE_API CUresult cuModuleUnload(void *module) {
  Call call("cuModuleUnload");
  State &s = call.state_();
  auto found = s.modules.find(static_cast<Module *>(module));
  call.arg("module", found == s.modules.end()
                         ? std::string("?")
                         : handleName('M', found->second->id));
  if (call.injected())
    return call.done();
  if (CUresult r = call.needContext())
    return call.done(r);
  if (found == s.modules.end())
    return call.done(kInvalidHandle);
  for (auto it = s.functions.begin(); it != s.functions.end();)
    it = it->second->module == found->second.get() ? s.functions.erase(it)
                                                   : std::next(it);
  s.modules.erase(found);
  return call.done();
}

//===--- Memory ------------------------------------------------------------===//

FAKE_API CUresult cuMemAlloc_v2(CUdeviceptr *pointer, size_t bytes) {
  Call call("cuMemAlloc_v2");
  call.arg("bytes", uint64_t(bytes));
  if (call.injected())
    return call.done();
  State &s = call.state_();
  if (CUresult r = call.needContext())
    return call.done(r);
  if (!pointer || bytes == 0)
    return call.done(kInvalidValue);
  // 256-byte aligned like the real allocator; garbage-filled so that code
  // relying on zeroed memory shows up.
  void *memory = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!memory)
    return call.done(kOutOfMemory);
  std::memset(memory, 0xa5, bytes);
  *pointer = CUdeviceptr(uintptr_t(memory));
  s.allocations[*pointer] = bytes;
  call.out("ptr", hex(*pointer));
  return call.done();
}

FAKE_API CUresult cuMemFree_v2(CUdeviceptr pointer) {
  Call call("cuMemFree_v2");
  call.arg("ptr", hex(pointer));
  if (call.injected())
    return call.done();
  State &s = call.state_();
  if (CUresult r = call.needContext())
    return call.done(r);
  auto found = s.allocations.find(pointer);
  if (found == s.allocations.end())
    return call.done(kInvalidValue);
  std::free(reinterpret_cast<void *>(pointer));
  s.allocations.erase(found);
  return call.done();
}

FAKE_API CUresult cuMemGetAddressRange_v2(CUdeviceptr *base, size_t *bytes,
                                          CUdeviceptr pointer) {
  Call call("cuMemGetAddressRange_v2");
  call.arg("ptr", hex(pointer));
  if (call.injected())
    return call.done();
  State &s = call.state_();
  if (CUresult r = call.needContext())
    return call.done(r);
  // The allocation that holds `pointer`, as the real driver finds it.
  auto next = s.allocations.upper_bound(pointer);
  if (next == s.allocations.begin())
    return call.done(kNotFound);
  --next;
  if (pointer - next->first >= next->second)
    return call.done(kNotFound);
  if (base)
    *base = next->first;
  if (bytes)
    *bytes = next->second;
  call.out("base", hex(next->first));
  return call.done();
}

namespace {

/// Common checks of the stream-ordered calls: context, stream, capture.
CUresult streamCall(Call &call, void *handle, Stream *&stream,
                    bool capturable) {
  if (CUresult r = call.needContext())
    return r;
  stream = findStream(call.state_(), handle);
  if (!stream)
    return kInvalidHandle;
  call.arg("stream", handleName('S', stream->id));
  if (stream->capture)
    call.arg("captured", "1");
  // Copies between host and pageable host memory cannot be captured.
  if (stream->capture && !capturable)
    return kCaptureUnsupported;
  return kSuccess;
}

} // namespace

FAKE_API CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src,
                                       size_t bytes, void *handle) {
  Call call("cuMemcpyHtoDAsync_v2");
  call.arg("dst", hex(dst));
  call.arg("bytes", uint64_t(bytes));
  if (call.injected())
    return call.done();
  Stream *stream;
  if (CUresult r = streamCall(call, handle, stream, false))
    return call.done(r);
  if (!src || !valid(call.state_(), dst, bytes))
    return call.done(kInvalidValue);
  std::memcpy(reinterpret_cast<void *>(dst), src, bytes);
  return call.done();
}

FAKE_API CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src,
                                       size_t bytes, void *handle) {
  Call call("cuMemcpyDtoHAsync_v2");
  call.arg("src", hex(src));
  call.arg("bytes", uint64_t(bytes));
  if (call.injected())
    return call.done();
  Stream *stream;
  if (CUresult r = streamCall(call, handle, stream, false))
    return call.done(r);
  if (!dst || !valid(call.state_(), src, bytes))
    return call.done(kInvalidValue);
  std::memcpy(dst, reinterpret_cast<const void *>(src), bytes);
  return call.done();
}

FAKE_API CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src,
                                       size_t bytes, void *handle) {
  Call call("cuMemcpyDtoDAsync_v2");
  call.arg("dst", hex(dst));
  call.arg("src", hex(src));
  call.arg("bytes", uint64_t(bytes));
  if (call.injected())
    return call.done();
  Stream *stream;
  if (CUresult r = streamCall(call, handle, stream, true))
    return call.done(r);
  Work work;
  work.kind = Work::Copy;
  work.dst = dst;
  work.src = src;
  work.bytes = bytes;
  submit(call.state_(), *stream, work);
  return call.done();
}

FAKE_API CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char value,
                                  size_t count, void *handle) {
  Call call("cuMemsetD8Async");
  call.arg("dst", hex(dst));
  call.arg("value", uint64_t(value));
  call.arg("bytes", uint64_t(count));
  if (call.injected())
    return call.done();
  Stream *stream;
  if (CUresult r = streamCall(call, handle, stream, true))
    return call.done(r);
  Work work;
  work.kind = Work::Set;
  work.dst = dst;
  work.bytes = count;
  work.value = value;
  submit(call.state_(), *stream, work);
  return call.done();
}

//===--- Streams and launches ----------------------------------------------===//

FAKE_API CUresult cuStreamCreate(void **handle, unsigned int flags) {
  Call call("cuStreamCreate");
  call.arg("flags", flags);
  if (call.injected())
    return call.done();
  State &s = call.state_();
  if (CUresult r = call.needContext())
    return call.done(r);
  if (!handle)
    return call.done(kInvalidValue);
  auto created = std::make_unique<Stream>();
  created->id = s.nextId++;
  Stream *raw = created.get();
  s.streams[raw] = std::move(created);
  *handle = raw;
  call.out("stream", handleName('S', raw->id));
  return call.done();
}

FAKE_API CUresult cuStreamDestroy_v2(void *handle) {
  Call call("cuStreamDestroy_v2");
  State &s = call.state_();
  Stream *stream = findStream(s, handle);
  call.arg("stream", stream ? handleName('S', stream->id) : "?");
  if (call.injected())
    return call.done();
  if (CUresult r = call.needContext())
    return call.done(r);
  if (!stream)
    return call.done(kInvalidHandle);
  if (stream->capture) {
    s.graphs.erase(stream->capture);
    stream->capture = nullptr;
  }
  s.streams.erase(stream);
  return call.done();
}

FAKE_API CUresult cuStreamSynchronize(void *handle) {
  Call call("cuStreamSynchronize");
  if (call.injected())
    return call.done();
  Stream *stream;
  if (CUresult r = streamCall(call, handle, stream, false))
    return call.done(r);
  return call.done(stream->stickyError);
}

FAKE_API CUresult cuLaunchKernel(void *function, unsigned int gridX,
                                 unsigned int gridY, unsigned int gridZ,
                                 unsigned int blockX, unsigned int blockY,
                                 unsigned int blockZ, unsigned int sharedBytes,
                                 void *handle, void **params, void **extra) {
  Call call("cuLaunchKernel");
  State &s = call.state_();
  auto found = s.functions.find(static_cast<Function *>(function));
  call.arg("kernel",
           found == s.functions.end() ? std::string("?") : found->second->name);
  call.arg("grid", std::to_string(gridX) + "," + std::to_string(gridY) + "," +
                       std::to_string(gridZ));
  call.arg("block", std::to_string(blockX) + "," + std::to_string(blockY) +
                        "," + std::to_string(blockZ));
  call.arg("shared", sharedBytes);
  if (call.injected())
    return call.done();
  Stream *stream;
  if (CUresult r = streamCall(call, handle, stream, true))
    return call.done(r);
  if (found == s.functions.end())
    return call.done(kInvalidHandle);
  if (extra || gridX * gridY * gridZ == 0 || blockX * blockY * blockZ == 0 ||
      blockX * blockY * blockZ > 1024)
    return call.done(kInvalidValue);
  Work work;
  work.function = found->second.get();
  if (work.function->name == "kiln_test_add") {
    if (!params)
      return call.done(kInvalidValue);
    // Parameter values are copied at the launch, as the driver does.
    for (int i = 0; i < 3; ++i)
      work.args.push_back(uint64_t(*static_cast<uintptr_t *>(params[i])));
    work.args.push_back(*static_cast<uint32_t *>(params[3]));
    call.arg("n", work.args[3]);
  }
  submit(s, *stream, work);
  return call.done();
}

//===--- Graphs ------------------------------------------------------------===//

FAKE_API CUresult cuStreamBeginCapture_v2(void *handle, int mode) {
  Call call("cuStreamBeginCapture_v2");
  call.arg("mode", std::to_string(mode));
  if (call.injected())
    return call.done();
  Stream *stream;
  if (CUresult r = streamCall(call, handle, stream, true))
    return call.done(r);
  if (stream->capture)
    return call.done(kCaptureImplicit);
  auto graph = std::make_unique<Graph>();
  graph->id = call.state_().nextId++;
  stream->capture = graph.get();
  call.state_().graphs[graph.get()] = std::move(graph);
  return call.done();
}

FAKE_API CUresult cuStreamEndCapture(void *handle, void **graph) {
  Call call("cuStreamEndCapture");
  State &s = call.state_();
  Stream *stream = findStream(s, handle);
  if (call.injected()) {
    // Like an invalidated capture: the stream leaves capture mode and no
    // graph comes back.
    if (stream && stream->capture) {
      s.graphs.erase(stream->capture);
      stream->capture = nullptr;
    }
    if (graph)
      *graph = nullptr;
    return call.done();
  }
  if (CUresult r = call.needContext())
    return call.done(r);
  if (!stream || !graph)
    return call.done(stream ? kInvalidValue : kInvalidHandle);
  call.arg("stream", handleName('S', stream->id));
  if (!stream->capture)
    return call.done(kInvalidValue);
  Graph *captured = stream->capture;
  stream->capture = nullptr;
  *graph = captured;
  call.out("graph", handleName('G', captured->id));
  call.out("nodes", std::to_string(captured->work.size()));
  return call.done();
}

FAKE_API CUresult cuGraphInstantiateWithFlags(void **exec, void *graph,
                                              unsigned long long flags) {
  Call call("cuGraphInstantiateWithFlags");
  State &s = call.state_();
  auto found = s.graphs.find(static_cast<Graph *>(graph));
  call.arg("graph", found == s.graphs.end()
                        ? std::string("?")
                        : handleName('G', found->second->id));
  call.arg("flags", uint64_t(flags));
  if (call.injected())
    return call.done();
  if (CUresult r = call.needContext())
    return call.done(r);
  if (found == s.graphs.end())
    return call.done(kInvalidHandle);
  if (!exec)
    return call.done(kInvalidValue);
  auto created = std::make_unique<Graph>(*found->second);
  created->id = s.nextId++;
  Graph *raw = created.get();
  s.execs[raw] = std::move(created);
  *exec = raw;
  call.out("exec", handleName('E', raw->id));
  return call.done();
}

FAKE_API CUresult cuGraphLaunch(void *exec, void *handle) {
  Call call("cuGraphLaunch");
  State &s = call.state_();
  auto found = s.execs.find(static_cast<Graph *>(exec));
  call.arg("exec", found == s.execs.end()
                       ? std::string("?")
                       : handleName('E', found->second->id));
  if (call.injected())
    return call.done();
  Stream *stream;
  if (CUresult r = streamCall(call, handle, stream, true))
    return call.done(r);
  if (found == s.execs.end())
    return call.done(kInvalidHandle);
  for (const Work &work : found->second->work)
    submit(s, *stream, work);
  call.out("nodes", std::to_string(found->second->work.size()));
  return call.done();
}

FAKE_API CUresult cuGraphExecDestroy(void *exec) {
  Call call("cuGraphExecDestroy");
  State &s = call.state_();
  auto found = s.execs.find(static_cast<Graph *>(exec));
  call.arg("exec", found == s.execs.end()
                       ? std::string("?")
                       : handleName('E', found->second->id));
  if (call.injected())
    return call.done();
  if (found == s.execs.end())
    return call.done(kInvalidHandle);
  s.execs.erase(found);
  return call.done();
}

FAKE_API CUresult cuGraphDestroy(void *graph) {
  Call call("cuGraphDestroy");
  State &s = call.state_();
  auto found = s.graphs.find(static_cast<Graph *>(graph));
  call.arg("graph", found == s.graphs.end()
                        ? std::string("?")
                        : handleName('G', found->second->id));
  if (call.injected())
    return call.done();
  if (found == s.graphs.end())
    return call.done(kInvalidHandle);
  s.graphs.erase(found);
  return call.done();
}

//===--- Events
//------------------------------------------------------------===//

namespace {

Event *findEvent(State &s, void *handle) {
  auto found = s.events.find(static_cast<Event *>(handle));
  return found == s.events.end() ? nullptr : found->second.get();
}

std::string eventName(Event *event) {
  return event ? handleName('V', event->id) : std::string("?");
}

} // namespace

FAKE_API CUresult cuEventCreate(void **event, unsigned int flags) {
  Call call("cuEventCreate");
  call.arg("flags", flags);
  if (call.injected())
    return call.done();
  if (CUresult r = call.needContext())
    return call.done(r);
  if (!event)
    return call.done(kInvalidValue);
  auto created = std::make_unique<Event>();
  created->id = call.state_().nextId++;
  Event *raw = created.get();
  call.state_().events[raw] = std::move(created);
  *event = raw;
  call.out("event", eventName(raw));
  return call.done();
}

FAKE_API CUresult cuEventRecord(void *handle, void *streamHandle) {
  Call call("cuEventRecord");
  State &s = call.state_();
  Event *event = findEvent(s, handle);
  call.arg("event", eventName(event));
  if (call.injected())
    return call.done();
  Stream *stream;
  if (CUresult r = streamCall(call, streamHandle, stream, false))
    return call.done(r);
  if (!event)
    return call.done(kInvalidHandle);
  // Streams run their work at once, so the event completes here.
  event->recorded = true;
  event->timeNs = s.clockNs;
  s.clockNs += kEventRecordNs;
  return call.done();
}

FAKE_API CUresult cuEventSynchronize(void *handle) {
  Call call("cuEventSynchronize");
  Event *event = findEvent(call.state_(), handle);
  call.arg("event", eventName(event));
  if (call.injected())
    return call.done();
  if (CUresult r = call.needContext())
    return call.done(r);
  return call.done(event ? kSuccess : kInvalidHandle);
}

FAKE_API CUresult cuEventElapsedTime(float *milliseconds, void *start,
                                     void *end) {
  Call call("cuEventElapsedTime");
  State &s = call.state_();
  Event *from = findEvent(s, start), *to = findEvent(s, end);
  call.arg("start", eventName(from));
  call.arg("end", eventName(to));
  if (call.injected())
    return call.done();
  if (CUresult r = call.needContext())
    return call.done(r);
  if (!milliseconds)
    return call.done(kInvalidValue);
  // As the driver: both events must have been recorded.
  if (!from || !to || !from->recorded || !to->recorded)
    return call.done(kInvalidHandle);
  *milliseconds = float((double(to->timeNs) - double(from->timeNs)) / 1e6);
  call.out("ms", std::to_string(*milliseconds));
  return call.done();
}

FAKE_API CUresult cuEventDestroy_v2(void *handle) {
  Call call("cuEventDestroy_v2");
  State &s = call.state_();
  Event *event = findEvent(s, handle);
  call.arg("event", eventName(event));
  if (call.injected())
    return call.done();
  if (!event)
    return call.done(kInvalidHandle);
  s.events.erase(event);
  return call.done();
}

//===--- Errors ------------------------------------------------------------===//

FAKE_API CUresult cuGetErrorName(CUresult error, const char **name) {
  Call call("cuGetErrorName");
  call.arg("error", std::to_string(error));
  if (call.injected())
    return call.done();
  for (const ErrorInfo &info : kErrors)
    if (info.code == error) {
      *name = info.name;
      return call.done();
    }
  *name = nullptr;
  return call.done(kInvalidValue);
}

FAKE_API CUresult cuGetErrorString(CUresult error, const char **text) {
  Call call("cuGetErrorString");
  call.arg("error", std::to_string(error));
  if (call.injected())
    return call.done();
  for (const ErrorInfo &info : kErrors)
    if (info.code == error) {
      *text = info.text;
      return call.done();
    }
  *text = nullptr;
  return call.done(kInvalidValue);
}
