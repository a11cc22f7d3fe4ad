//===- cuda_driver.h - The CUDA driver API, loaded with dlopen --*- C++ -*-===//
//
// The runtime never links libcuda (test/runtime/check_runtime_deps.sh checks
// it): the driver is dlopen'ed when the first CUDA session is created, from
// $KILN_CUDA_DRIVER or "libcuda.so.1", and its entry points are looked up
// into a table. The few types and constants used are declared here, with
// the values of CUDA's cuda.h, so no CUDA header is needed to build.
//
// A loaded driver is never unloaded (dlclose of libcuda at arbitrary times
// is not safe: it owns threads and atexit handlers). One table per library
// path, kept for the life of the process; a failed load is not remembered,
// so setting KILN_CUDA_DRIVER and retrying works.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_BACKENDS_CUDA_CUDA_DRIVER_H
#define KILN_RUNTIME_BACKENDS_CUDA_CUDA_DRIVER_H

#include "kiln/runtime.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln::rt::cuda {

// Types of the driver API (cuda.h).
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
struct CUctx_st;
struct CUmod_st;
struct CUfunc_st;
struct CUstream_st;
struct CUgraph_st;
struct CUgraphExec_st;
struct CUevent_st;
using CUcontext = CUctx_st *;
using CUmodule = CUmod_st *;
using CUfunction = CUfunc_st *;
using CUstream = CUstream_st *;
using CUgraph = CUgraph_st *;
using CUgraphExec = CUgraphExec_st *;
using CUevent = CUevent_st *;
using CUdevice_attribute = int;
using CUjit_option = int;
using CUstreamCaptureMode = int;

// Constants (cuda.h).
constexpr CUresult CUDA_SUCCESS = 0;
constexpr CUresult CUDA_ERROR_OUT_OF_MEMORY = 2;
constexpr CUdevice_attribute CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr CUdevice_attribute CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr CUjit_option CU_JIT_ERROR_LOG_BUFFER = 5;
constexpr CUjit_option CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
constexpr unsigned CU_STREAM_NON_BLOCKING = 1;
constexpr CUstreamCaptureMode CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;
constexpr unsigned CU_EVENT_DEFAULT = 0; // records timing

// Every entry point the backend calls: X(name, parameters). The table's
// members are named after the exported symbols (the _v2 names are the ones
// cuda.h maps the plain names to). cuEventElapsedTime is the plain one:
// CUDA 12.8's headers map it to a _v2 that older drivers lack, and every
// driver still exports the plain symbol.
#define KILN_CUDA_DRIVER_FUNCTIONS(X)                                          \
  X(cuInit, (unsigned int flags))                                              \
  X(cuDeviceGetCount, (int *count))                                            \
  X(cuDeviceGet, (CUdevice * device, int ordinal))                             \
  X(cuDeviceGetAttribute,                                                      \
    (int *value, CUdevice_attribute attribute, CUdevice device))               \
  X(cuDeviceGetName, (char *name, int length, CUdevice device))                \
  X(cuDevicePrimaryCtxRetain, (CUcontext * context, CUdevice device))          \
  X(cuDevicePrimaryCtxRelease_v2, (CUdevice device))                           \
  X(cuCtxPushCurrent_v2, (CUcontext context))                                  \
  X(cuCtxPopCurrent_v2, (CUcontext * context))                                 \
  X(cuModuleLoadDataEx,                                                        \
    (CUmodule * module, const void *image, unsigned int numOptions,            \
     CUjit_option *options, void **optionValues))                              \
  X(cuModuleGetFunction,                                                       \
    (CUfunction * function, CUmodule module, const char *name))                \
  X(cuModuleUnload, (CUmodule module))                                         \
  X(cuMemAlloc_v2, (CUdeviceptr * pointer, size_t bytes))                      \
  X(cuMemFree_v2, (CUdeviceptr pointer))                                       \
  X(cuMemGetAddressRange_v2,                                                   \
    (CUdeviceptr * base, size_t * bytes, CUdeviceptr pointer))                 \
  X(cuMemcpyHtoDAsync_v2,                                                      \
    (CUdeviceptr dst, const void *src, size_t bytes, CUstream stream))         \
  X(cuMemcpyDtoHAsync_v2,                                                      \
    (void *dst, CUdeviceptr src, size_t bytes, CUstream stream))               \
  X(cuMemcpyDtoDAsync_v2,                                                      \
    (CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream))         \
  X(cuMemsetD8Async,                                                           \
    (CUdeviceptr dst, unsigned char value, size_t count, CUstream stream))     \
  X(cuStreamCreate, (CUstream * stream, unsigned int flags))                   \
  X(cuStreamDestroy_v2, (CUstream stream))                                     \
  X(cuStreamSynchronize, (CUstream stream))                                    \
  X(cuLaunchKernel,                                                            \
    (CUfunction function, unsigned int gridX, unsigned int gridY,              \
     unsigned int gridZ, unsigned int blockX, unsigned int blockY,             \
     unsigned int blockZ, unsigned int sharedBytes, CUstream stream,           \
     void **params, void **extra))                                             \
  X(cuStreamBeginCapture_v2, (CUstream stream, CUstreamCaptureMode mode))      \
  X(cuStreamEndCapture, (CUstream stream, CUgraph * graph))                    \
  X(cuGraphInstantiateWithFlags,                                               \
    (CUgraphExec * exec, CUgraph graph, unsigned long long flags))             \
  X(cuGraphLaunch, (CUgraphExec exec, CUstream stream))                        \
  X(cuGraphExecDestroy, (CUgraphExec exec))                                    \
  X(cuGraphDestroy, (CUgraph graph))                                           \
  X(cuEventCreate, (CUevent * event, unsigned int flags))                      \
  X(cuEventRecord, (CUevent event, CUstream stream))                           \
  X(cuEventSynchronize, (CUevent event))                                       \
  X(cuEventElapsedTime, (float *milliseconds, CUevent start, CUevent end))     \
  X(cuEventDestroy_v2, (CUevent event))                                        \
  X(cuGetErrorName, (CUresult error, const char **name))                       \
  X(cuGetErrorString, (CUresult error, const char **text))

struct Driver {
  std::string path; // as passed to dlopen
#define KILN_CUDA_MEMBER(name, params) CUresult (*name) params = nullptr;
  KILN_CUDA_DRIVER_FUNCTIONS(KILN_CUDA_MEMBER)
#undef KILN_CUDA_MEMBER

  /// "CUDA_ERROR_OUT_OF_MEMORY (out of memory)", from the driver's own
  /// tables; "CUresult 2" where it has no name.
  std::string describe(CUresult result) const;
};

/// The driver at $KILN_CUDA_DRIVER, else "libcuda.so.1". A missing library
/// or entry point is DEVICE_UNAVAILABLE with a message that starts "device
/// '<device>': " and says what to do.
kiln_status loadDriver(const std::string &device, const Driver *&out);

} // namespace kiln::rt::cuda

#endif // KILN_RUNTIME_BACKENDS_CUDA_CUDA_DRIVER_H
