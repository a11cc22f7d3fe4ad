/*===- test_host_code.c - HOST_CODE for hand-built test artifacts ---------===*\
|*                                                                            *|
|* Built as a shared object and embedded in artifacts by the tests, standing *|
|* in for what kiln-compile emits. Buffers follow the entry convention:      *|
|* weights, then inputs, then outputs.                                       *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include <stdint.h>

/* The "add" model: weight w f32[2,3]; inputs a, b f32[2,3];
 * outputs sum = a + b + w (f32[2,3]) and stats/count = 6 (i64 scalar). */
void kiln_entry(void **buffers) {
  const float *w = (const float *)buffers[0];
  const float *a = (const float *)buffers[1];
  const float *b = (const float *)buffers[2];
  float *sum = (float *)buffers[3];
  int64_t *count = (int64_t *)buffers[4];
  for (int i = 0; i < 6; ++i)
    sum[i] = a[i] + b[i] + w[i];
  *count = 6;
}

/* The "zero-size" model: weight e f32[0]; input x f32[0,3];
 * outputs y f32[0,3] and ok i32[1], which is 1 when no pointer is NULL and
 * every pointer is 64-byte aligned. */
void kiln_entry_zero_size(void **buffers) {
  int ok = 1;
  for (int i = 0; i < 4; ++i)
    ok &= buffers[i] != 0 && ((uintptr_t)buffers[i] % 64) == 0;
  *(int32_t *)buffers[3] = ok;
}

/* The "bf16-output" model: input a f32[2,3]; outputs copy = a (f32[2,3])
 * and half = bfloat16[2] (1.0, 2.0). kiln-run cannot store bfloat16 in a
 * .npy file, which the CLI tests use to fail after a first output was
 * already written. */
void kiln_entry_bf16(void **buffers) {
  const float *a = (const float *)buffers[0];
  float *copy = (float *)buffers[1];
  uint16_t *half = (uint16_t *)buffers[2];
  for (int i = 0; i < 6; ++i)
    copy[i] = a[i];
  half[0] = 0x3f80;
  half[1] = 0x4000;
}
