//===- fake_cuda.h - Test controls of the fake CUDA driver ------*- C++ -*-===//
//
// libkiln_fake_cuda.so exports the CUDA driver entry points the runtime's
// CUDA backend uses (runtime/backends/cuda/cuda_driver.h), simulated on the
// host, so that the backend is tested without a GPU. The runtime loads it
// through KILN_CUDA_DRIVER=/path/to/libkiln_fake_cuda.so.
//
// Configuration, read from the environment at the first call and at every
// kiln_fake_cuda_reset():
//   KILN_FAKE_CUDA_DEVICES  number of devices (default 1; 0 makes cuInit
//                           fail with CUDA_ERROR_NO_DEVICE, as a real driver
//                           on a machine without a GPU does)
//   KILN_FAKE_CUDA_CC       compute capability per device as major*10+minor,
//                           comma separated, the last repeated (default 90)
//   KILN_FAKE_CUDA_LOG      file to append one line per call to:
//                             NAME key=value... -> RESULT [key=value...]
//                           handles are named M1, F1, S1, G1, E1, V1 (module,
//                           function, stream, graph, executable graph,
//                           event) and
//                           device pointers printed as 0x...; an injected
//                           failure ends with "(injected)"
//   KILN_FAKE_CUDA_FAIL     NAME:N[:CODE],... : the Nth call (from 1) of
//                           entry point NAME fails with CODE, or with a
//                           realistic default for NAME (cuMemAlloc_v2: 2,
//                           CUDA_ERROR_OUT_OF_MEMORY), without effect
//
// Simulation: device memory is host memory (malloc), so copies and memsets
// really move bytes; streams execute work at once; a module "loads" any
// image made by kiln::test::fakeGpuImage ("kiln-fake-gpu-image arch=A
// kernels=K1,K2"; the word "invalid" in it makes the load fail with
// CUDA_ERROR_INVALID_PTX and a JIT log); launches of kernel
// "kiln_test_add" (const float *a, const float *b, float *out, uint32_t n)
// compute out[i] = a[i] + b[i], other kernels do nothing. An out-of-bounds
// pointer in a kernel or copy is a sticky CUDA_ERROR_ILLEGAL_ADDRESS
// returned by the next cuStreamSynchronize. Work on a capturing stream is
// recorded into the graph and executed by cuGraphLaunch. Calls that need a
// context fail with CUDA_ERROR_INVALID_CONTEXT when none is current.
//
// Events read a fake device clock that starts at 0 (at every reset) and
// advances 1 us after each cuEventRecord and 10 us for each kernel
// executed, so a launch timed by events on either side of it takes 11 us
// and cuEventElapsedTime's values are exact and known in advance.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TEST_RUNTIME_FAKE_CUDA_H
#define KILN_TEST_RUNTIME_FAKE_CUDA_H

extern "C" {

/// Frees everything, forgets every handle and call count, and re-reads the
/// environment.
void kiln_fake_cuda_reset(void);

/// What is still alive: allocations, modules, streams, graphs plus
/// executable graphs, primary-context retains (summed over devices).
int kiln_fake_cuda_live_allocations(void);
int kiln_fake_cuda_live_modules(void);
int kiln_fake_cuda_live_streams(void);
int kiln_fake_cuda_live_graphs(void);
int kiln_fake_cuda_live_context_retains(void);
int kiln_fake_cuda_live_events(void);

/// Depth of the calling thread's context stack.
int kiln_fake_cuda_context_depth(void);

} // extern "C"

#endif // KILN_TEST_RUNTIME_FAKE_CUDA_H
