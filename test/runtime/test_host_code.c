/*===- test_host_code.c - HOST_CODE for hand-built test artifacts ---------===*\
|*                                                                            *|
|* Built as a shared object and embedded in artifacts by the tests, standing *|
|* in for what kiln-compile emits. Buffers follow the entry convention:      *|
|* weights, then inputs, then outputs.                                       *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include <stdint.h>

/* Built a second time as kiln_test_host_code_mul with KILN_TEST_MUL
 * defined: the same symbol computing a * b + w, so that two artifacts whose
 * code exports the same symbol can be told apart once both are loaded. */
#ifdef KILN_TEST_MUL
#define COMBINE(x, y) ((x) * (y))
#else
#define COMBINE(x, y) ((x) + (y))
#endif

/* The "add" model: weight w f32[2,3]; inputs a, b f32[2,3];
 * outputs sum = a + b + w (f32[2,3]; a * b + w in the mul build) and
 * stats/count = 6 (i64 scalar). */
void kiln_entry(void **buffers) {
  const float *w = (const float *)buffers[0];
  const float *a = (const float *)buffers[1];
  const float *b = (const float *)buffers[2];
  float *sum = (float *)buffers[3];
  int64_t *count = (int64_t *)buffers[4];
  for (int i = 0; i < 6; ++i)
    sum[i] = COMBINE(a[i], b[i]) + w[i];
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
 * and half = bfloat16[2] (1.0, 2.0). NumPy has no bfloat16, so kiln-run
 * writes `half` as an ONNX TensorProto beside copy.npy. */
void kiln_entry_bf16(void **buffers) {
  const float *a = (const float *)buffers[0];
  float *copy = (float *)buffers[1];
  uint16_t *half = (uint16_t *)buffers[2];
  for (int i = 0; i < 6; ++i)
    copy[i] = a[i];
  half[0] = 0x3f80;
  half[1] = 0x4000;
}

/* The "low-precision" model: weight q int4[5] stored PACKED in 3 bytes
 * (7, -8, -1, 0, 3: 0x87 0x0f 0x03); input x int4[5], one element per byte;
 * outputs, one element per byte for the sub-byte ones:
 *   sum  int8[5]            = q + x (q unpacked here, as compiled code does)
 *   x4   int4[5]            = x
 *   u2   uint2[5]           = x & 3
 *   half bfloat16[2]        = 1.0, 2.0
 *   e4m3 float8e4m3fn[4]    = 1.0, -2.0, NaN, 0
 *   fp4  float4e2m1[3]      = 0.5, 1.0, -6.0; when x[4] == 7 its first byte
 *                             is 0x10, which is not a float4e2m1 (the CLI
 *                             tests use it to fail after other outputs). */
void kiln_entry_low_precision(void **buffers) {
  const uint8_t *q = (const uint8_t *)buffers[0];
  const int8_t *x = (const int8_t *)buffers[1];
  int8_t *sum = (int8_t *)buffers[2];
  int8_t *x4 = (int8_t *)buffers[3];
  uint8_t *u2 = (uint8_t *)buffers[4];
  uint16_t *half = (uint16_t *)buffers[5];
  uint8_t *e4m3 = (uint8_t *)buffers[6];
  uint8_t *fp4 = (uint8_t *)buffers[7];
  for (int i = 0; i < 5; ++i) {
    int nibble = (q[i / 2] >> (4 * (i % 2))) & 0xf;
    int weight = nibble >= 8 ? nibble - 16 : nibble;
    sum[i] = (int8_t)(weight + x[i]);
    x4[i] = x[i];
    u2[i] = (uint8_t)(x[i] & 3);
  }
  half[0] = 0x3f80;
  half[1] = 0x4000;
  e4m3[0] = 0x38;
  e4m3[1] = 0xc0;
  e4m3[2] = 0x7f;
  e4m3[3] = 0x00;
  fp4[0] = x[4] == 7 ? 0x10 : 0x1;
  fp4[1] = 0x2;
  fp4[2] = 0xf;
}

/* The "workspace" model (4096 bytes of METADATA workspace_bytes): input
 * x f32[4]; outputs runs i64[1], address u64[1], ok i32[1]. The workspace
 * is the pointer after the outputs. The entry counts its runs in the
 * workspace's first 8 bytes (which start as zero), reports the workspace's
 * address, and sets ok when it is 64-byte aligned and its last byte can be
 * written. */
void kiln_entry_workspace(void **buffers) {
  int64_t *runs = (int64_t *)buffers[1];
  uint64_t *address = (uint64_t *)buffers[2];
  int32_t *ok = (int32_t *)buffers[3];
  unsigned char *workspace = (unsigned char *)buffers[4];
  int64_t *counter = (int64_t *)workspace;
  *runs = ++*counter;
  *address = (uint64_t)(uintptr_t)workspace;
  workspace[4095] = 0x5a;
  *ok = workspace != 0 && ((uintptr_t)workspace % 64) == 0 &&
        workspace[4095] == 0x5a;
}

/* The "dynamic" model: symbols batch and seq; weight w f32[1]; inputs
 * a f32[batch,seq] and b f32[1,seq]; outputs sum f32[batch,seq] =
 * a + b + w (b broadcast over rows), rowsum f32[batch] (each row of sum
 * added up) and symbols i64[2] = the values the entry was passed. The
 * workspace is buffers[6], the symbol values buffers[7]: the shapes come
 * from there alone, as in compiled code. */
void kiln_entry_dynamic(void **buffers) {
  const float *w = (const float *)buffers[0];
  const float *a = (const float *)buffers[1];
  const float *b = (const float *)buffers[2];
  float *sum = (float *)buffers[3];
  float *rowsum = (float *)buffers[4];
  int64_t *symbols = (int64_t *)buffers[5];
  const int64_t *values = (const int64_t *)buffers[7];
  int64_t batch = values[0], seq = values[1];
  for (int64_t i = 0; i < batch; ++i) {
    rowsum[i] = 0;
    for (int64_t j = 0; j < seq; ++j) {
      sum[i * seq + j] = a[i * seq + j] + b[j] + w[0];
      rowsum[i] += sum[i * seq + j];
    }
  }
  symbols[0] = batch;
  symbols[1] = seq;
}

/* A toy generation step (test/runtime/concurrency_test.cpp): symbols batch
 * and seq; inputs tokens i64[batch,seq], past_length i64[batch], caches
 * key/value f32[batch,2,8,4]; output logits f32[batch,seq,16]; workspace
 * buffers[5], symbol values buffers[6]. Each token lands in the key cache
 * at its position (key[b,0,pos,0]); the logits are one-hot at (the sum of
 * the cached tokens up to and including pos, + 1) mod 16, so greedy
 * decoding follows the cache that earlier steps left in place. */
void kiln_entry_generation_step(void **buffers) {
  const int64_t *tokens = (const int64_t *)buffers[0];
  const int64_t *past = (const int64_t *)buffers[1];
  float *key = (float *)buffers[2];
  float *logits = (float *)buffers[4];
  const int64_t *values = (const int64_t *)buffers[6];
  int64_t batch = values[0], seq = values[1];
  for (int64_t b = 0; b < batch; ++b) {
    float *cache = key + b * 2 * 8 * 4; /* [2,8,4], head 0, feature 0 */
    for (int64_t s = 0; s < seq; ++s) {
      int64_t pos = past[b] + s;
      if (pos >= 0 && pos < 8)
        cache[pos * 4] = (float)tokens[b * seq + s];
      int64_t sum = 0;
      for (int64_t p = 0; p <= pos && p < 8; ++p)
        sum += (int64_t)cache[p * 4];
      float *row = logits + (b * seq + s) * 16;
      for (int v = 0; v < 16; ++v)
        row[v] = v == (sum + 1) % 16 ? 1.0f : 0.0f;
    }
  }
}

/* The profiler hook of kiln/artifact_format.h ("Kernels"), as kiln-compile's
 * host code exports it; only kiln_entry_profiled calls it. */
void (*kiln_profiler)(uint32_t kernel, uint32_t phase) = 0;

static void profileMark(uint32_t kernel, uint32_t phase) {
  void (*hook)(uint32_t, uint32_t) = kiln_profiler;
  if (hook)
    hook(kernel, phase);
}

/* The "add" model as two kernels (0: the sum, 1: the count), each between
 * calls of the profiler hook, and a call naming kernel 7, which the
 * two-kernel table of the tests does not have (the runtime ignores it). */
void kiln_entry_profiled(void **buffers) {
  const float *w = (const float *)buffers[0];
  const float *a = (const float *)buffers[1];
  const float *b = (const float *)buffers[2];
  float *sum = (float *)buffers[3];
  int64_t *count = (int64_t *)buffers[4];
  profileMark(0, 0);
  for (int i = 0; i < 6; ++i)
    sum[i] = a[i] + b[i] + w[i];
  profileMark(0, 1);
  profileMark(7, 0);
  profileMark(7, 1);
  profileMark(1, 0);
  *count = 6;
  profileMark(1, 1);
}
