/*===- test_host_code_mul.c - A second HOST_CODE with the same symbol -----===*\
|*                                                                            *|
|* Same signature as the "add" model in test_host_code.c but computes       *|
|* a * b + w: two artifacts whose code exports the same symbol must not     *|
|* share it once both are loaded.                                           *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include <stdint.h>

void kiln_entry(void **buffers) {
  const float *w = (const float *)buffers[0];
  const float *a = (const float *)buffers[1];
  const float *b = (const float *)buffers[2];
  float *sum = (float *)buffers[3];
  int64_t *count = (int64_t *)buffers[4];
  for (int i = 0; i < 6; ++i)
    sum[i] = a[i] * b[i] + w[i];
  *count = 6;
}
