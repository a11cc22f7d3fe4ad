/*===- cuda_host_code.c - HOST_CODE of hand-built CUDA test artifacts ----===*\
|*                                                                            *|
|* Stands in for what kiln-compile emits for a "cuda-" target: entry points  *|
|* with the kiln_gpu_entry_fn signature that drive the GPU through           *|
|* kiln_gpu_calls only. Kernel 0 is "kiln_test_add" (const float *a, const   *|
|* float *b, float *out, uint32_t n), which the fake driver executes.        *|
|* Buffers: weights, then inputs, then outputs, all device pointers.         *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include "kiln/gpu_calls.h"

#include <stddef.h>
#include <stdint.h>

#define TRY(call)                                                              \
  do {                                                                         \
    int32_t status_ = (call);                                                  \
    if (status_ != 0)                                                          \
      return status_;                                                          \
  } while (0)

static int32_t add(const kiln_gpu_calls *calls, void *ctx, const float *a,
                   const float *b, float *out, uint32_t n) {
  void *params[4] = {&a, &b, &out, &n};
  return calls->launch(ctx, 0, 1, 1, 1, 64, 1, 1, 0, params);
}

/* The "cuda-add" model: weight w f32[2,3]; inputs a, b f32[2,3]; outputs
 *   sum    f32[2,3] = (a + w) + b   two launches through the workspace
 *   copy   f32[2,3] = a             memcpy_d2d
 *   sevens u8[4]    = 7             memset_d8 */
int32_t kiln_entry(void **buffers, void *workspace,
                   const kiln_gpu_calls *calls, void *ctx) {
  const float *w = (const float *)buffers[0];
  const float *a = (const float *)buffers[1];
  const float *b = (const float *)buffers[2];
  float *sum = (float *)buffers[3];
  float *copy = (float *)buffers[4];
  uint8_t *sevens = (uint8_t *)buffers[5];
  float *partial = (float *)workspace;
  if (calls->abi_version < KILN_GPU_CALLS_ABI_VERSION)
    return 1000;
  TRY(add(calls, ctx, a, w, partial, 6));
  TRY(add(calls, ctx, partial, b, sum, 6));
  TRY(calls->memcpy_d2d(ctx, copy, a, 6 * sizeof(float)));
  TRY(calls->memset_d8(ctx, sevens, 7, 4));
  return 0;
}

/* Same model, broken host code, one way each. */

/* Launches a kernel index that GPU_CODE does not have. */
int32_t kiln_entry_bad_kernel(void **buffers, void *workspace,
                              const kiln_gpu_calls *calls, void *ctx) {
  (void)buffers;
  (void)workspace;
  return calls->launch(ctx, 7, 1, 1, 1, 1, 1, 1, 0, NULL);
}

/* Ignores a failed call and returns 0. */
int32_t kiln_entry_ignores_failure(void **buffers, void *workspace,
                                   const kiln_gpu_calls *calls, void *ctx) {
  (void)buffers;
  (void)workspace;
  calls->launch(ctx, 7, 1, 1, 1, 1, 1, 1, 0, NULL);
  return 0;
}

/* Returns an error no call gave it. */
int32_t kiln_entry_returns_error(void **buffers, void *workspace,
                                 const kiln_gpu_calls *calls, void *ctx) {
  (void)buffers;
  (void)workspace;
  (void)calls;
  (void)ctx;
  return 42;
}

/* Sets bytes past the end of the workspace (and of the session's memory). */
int32_t kiln_entry_out_of_bounds(void **buffers, void *workspace,
                                 const kiln_gpu_calls *calls, void *ctx) {
  (void)buffers;
  return calls->memset_d8(ctx, (char *)workspace + (1 << 20), 0, 16);
}

/* A kernel that reads past its buffers: the fake driver reports an
 * illegal address at the next stream synchronization, as a GPU does. */
int32_t kiln_entry_fault(void **buffers, void *workspace,
                         const kiln_gpu_calls *calls, void *ctx) {
  (void)workspace;
  return add(calls, ctx, (const float *)buffers[1], (const float *)buffers[2],
             (float *)buffers[3], 1u << 24);
}

/* The "cuda-zero-size" model: weight e f32[0]; input x f32[0,3]; outputs
 * y f32[0,3] and ok i32[1], 1 when the four buffers and the workspace are
 * non-null, distinct and 256-byte aligned (written with memset_d8 on the
 * low byte; outputs start as zeros). */
int32_t kiln_entry_zero_size(void **buffers, void *workspace,
                             const kiln_gpu_calls *calls, void *ctx) {
  void *all[5] = {buffers[0], buffers[1], buffers[2], buffers[3], workspace};
  int ok = 1;
  for (int i = 0; i < 5; ++i) {
    ok &= all[i] != NULL && ((uintptr_t)all[i] % 256) == 0;
    for (int j = 0; j < i; ++j)
      ok &= all[i] != all[j];
  }
  return calls->memset_d8(ctx, buffers[3], (uint8_t)ok, 1);
}
