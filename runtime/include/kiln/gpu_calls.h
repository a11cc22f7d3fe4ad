/*===- kiln/gpu_calls.h - What the host code of a CUDA target may call ----===*\
|*                                                                            *|
|* The HOST_CODE of a "cuda-" target (kiln/artifact_format.h) runs on the     *|
|* host and drives the GPU only through this table, which the runtime fills  *|
|* in: it never links the CUDA driver, allocates memory or synchronizes.     *|
|* Plain C so that generated code and hand-written test code include it.     *|
|*                                                                            *|
|* Every call enqueues work on the session's stream, in call order, and     *|
|* returns 0, or a non-zero code (a kiln_status value; the host code need    *|
|* not interpret it) after which the entry must return that code at once.    *|
|* The runtime records the reason for kiln_last_error(). Pointers are device *|
|* pointers: the entry's buffers and workspace, plus offsets into them.      *|
|*                                                                            *|
|* ABI: later versions only append members and raise abi_version; host code  *|
|* built against version N checks abi_version >= N.                         *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef KILN_GPU_CALLS_H
#define KILN_GPU_CALLS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_GPU_CALLS_ABI_VERSION 1u

typedef struct kiln_gpu_calls {
  uint32_t abi_version; /* KILN_GPU_CALLS_ABI_VERSION */

  /* Launches kernel `kernel_index` (its position in GPU_CODE's kernel
   * table) on a grid of grid_x * grid_y * grid_z blocks of block_x *
   * block_y * block_z threads with `shared_bytes` of dynamic shared memory.
   * `kernel_params` is as cuLaunchKernel's: one pointer per kernel
   * parameter, to its value; the values are copied before this returns. */
  int32_t (*launch)(void *ctx, uint32_t kernel_index, uint32_t grid_x,
                    uint32_t grid_y, uint32_t grid_z, uint32_t block_x,
                    uint32_t block_y, uint32_t block_z, uint32_t shared_bytes,
                    void **kernel_params);

  /* Copies `bytes` from device memory `src` to device memory `dst` (the
   * ranges must not overlap). 0 bytes is a no-op. */
  int32_t (*memcpy_d2d)(void *ctx, void *dst, const void *src, uint64_t bytes);

  /* Sets `bytes` bytes of device memory at `dst` to `value`. 0 bytes is a
   * no-op. */
  int32_t (*memset_d8)(void *ctx, void *dst, uint8_t value, uint64_t bytes);
} kiln_gpu_calls;

/* The entry symbol of a "cuda-" target's HOST_CODE: device pointers of the
 * weights, inputs and outputs in `buffers`, the device workspace, the call
 * table and its context. Returns 0 or the first non-zero call result. */
typedef int32_t (*kiln_gpu_entry_fn)(void **buffers, void *workspace,
                                     const kiln_gpu_calls *calls, void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* KILN_GPU_CALLS_H */
