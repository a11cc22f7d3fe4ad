/*===- kiln/dtype.h - Element types of tensors crossing the runtime API ---===*\
|*                                                                            *|
|* The numbering is ONNX's TensorProto.DataType, so ONNX inputs, artifacts   *|
|* and the runtime API use one vocabulary with no translation tables.        *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef KILN_DTYPE_H
#define KILN_DTYPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum kiln_dtype {
  KILN_DTYPE_INVALID = 0,
  KILN_DTYPE_FLOAT32 = 1,
  KILN_DTYPE_UINT8 = 2,
  KILN_DTYPE_INT8 = 3,
  KILN_DTYPE_UINT16 = 4,
  KILN_DTYPE_INT16 = 5,
  KILN_DTYPE_INT32 = 6,
  KILN_DTYPE_INT64 = 7,
  KILN_DTYPE_BOOL = 9,
  KILN_DTYPE_FLOAT16 = 10,
  KILN_DTYPE_FLOAT64 = 11,
  KILN_DTYPE_UINT32 = 12,
  KILN_DTYPE_UINT64 = 13,
  KILN_DTYPE_BFLOAT16 = 16,
  KILN_DTYPE_FLOAT8E4M3FN = 17,
  KILN_DTYPE_FLOAT8E4M3FNUZ = 18,
  KILN_DTYPE_FLOAT8E5M2 = 19,
  KILN_DTYPE_FLOAT8E5M2FNUZ = 20,
  KILN_DTYPE_UINT4 = 21,
  KILN_DTYPE_INT4 = 22,
  KILN_DTYPE_FLOAT4E2M1 = 23,
  KILN_DTYPE_FLOAT8E8M0 = 24,
  KILN_DTYPE_UINT2 = 25,
  KILN_DTYPE_INT2 = 26
} kiln_dtype;

/* Sub-byte dtypes (int4, uint4, float4e2m1, int2, uint2) have two sizes:
 *  - at the runtime API (session inputs and outputs, HostTensor in tensorio)
 *    every element occupies ONE byte: int4/int2 sign-extended to int8,
 *    uint4/uint2 zero-extended to uint8, float4e2m1 its 4-bit code in the
 *    low bits with the high bits zero. kiln_dtype_size() is this size.
 *  - stored (weights in an artifact, raw_data in ONNX files) they are
 *    PACKED: kiln_dtype_bits() bits per element, element 0 in the lowest
 *    bits of byte 0 (ONNX's layout), the unused high bits of the last byte
 *    zero. kiln_dtype_packed_size() is this size. */

/* Bytes per element at the runtime API; 0 for an unknown dtype. Sub-byte
 * types are stored one element per byte there (see above). */
static inline size_t kiln_dtype_size(int dtype) {
  switch (dtype) {
  case KILN_DTYPE_FLOAT64: case KILN_DTYPE_INT64: case KILN_DTYPE_UINT64:
    return 8;
  case KILN_DTYPE_FLOAT32: case KILN_DTYPE_INT32: case KILN_DTYPE_UINT32:
    return 4;
  case KILN_DTYPE_FLOAT16: case KILN_DTYPE_BFLOAT16: case KILN_DTYPE_INT16:
  case KILN_DTYPE_UINT16:
    return 2;
  case KILN_DTYPE_UINT8: case KILN_DTYPE_INT8: case KILN_DTYPE_BOOL:
  case KILN_DTYPE_FLOAT8E4M3FN: case KILN_DTYPE_FLOAT8E4M3FNUZ:
  case KILN_DTYPE_FLOAT8E5M2: case KILN_DTYPE_FLOAT8E5M2FNUZ:
  case KILN_DTYPE_FLOAT8E8M0:
  case KILN_DTYPE_UINT4: case KILN_DTYPE_INT4: case KILN_DTYPE_FLOAT4E2M1:
  case KILN_DTYPE_UINT2: case KILN_DTYPE_INT2:
    return 1;
  default:
    return 0;
  }
}

/* Bits per element as stored packed (2, 4, 8, 16, 32 or 64); 0 for an
 * unknown dtype. bool counts as 8: it is never packed. */
static inline unsigned kiln_dtype_bits(int dtype) {
  switch (dtype) {
  case KILN_DTYPE_UINT2: case KILN_DTYPE_INT2:
    return 2;
  case KILN_DTYPE_UINT4: case KILN_DTYPE_INT4: case KILN_DTYPE_FLOAT4E2M1:
    return 4;
  default:
    return (unsigned)kiln_dtype_size(dtype) * 8u;
  }
}

/* Bytes that `numel` elements of `dtype` occupy packed:
 * ceil(numel * bits / 8), which for byte-sized and larger dtypes is
 * numel * kiln_dtype_size(). 0 for an unknown dtype; UINT64_MAX when the
 * size does not fit in 64 bits. */
static inline uint64_t kiln_dtype_packed_size(int dtype, uint64_t numel) {
  unsigned bits = kiln_dtype_bits(dtype);
  if (bits == 0)
    return 0;
  if (bits < 8) {
    uint64_t perByte = 8u / bits;
    return numel / perByte + (numel % perByte != 0);
  }
  if (numel > UINT64_MAX / (bits / 8u))
    return UINT64_MAX;
  return numel * (bits / 8u);
}

/* A short lowercase name ("float32", "int64", "bool", ...); "invalid" for an
 * unknown dtype. */
static inline const char *kiln_dtype_name(int dtype) {
  switch (dtype) {
  case KILN_DTYPE_FLOAT32: return "float32";
  case KILN_DTYPE_UINT8: return "uint8";
  case KILN_DTYPE_INT8: return "int8";
  case KILN_DTYPE_UINT16: return "uint16";
  case KILN_DTYPE_INT16: return "int16";
  case KILN_DTYPE_INT32: return "int32";
  case KILN_DTYPE_INT64: return "int64";
  case KILN_DTYPE_BOOL: return "bool";
  case KILN_DTYPE_FLOAT16: return "float16";
  case KILN_DTYPE_FLOAT64: return "float64";
  case KILN_DTYPE_UINT32: return "uint32";
  case KILN_DTYPE_UINT64: return "uint64";
  case KILN_DTYPE_BFLOAT16: return "bfloat16";
  case KILN_DTYPE_FLOAT8E4M3FN: return "float8e4m3fn";
  case KILN_DTYPE_FLOAT8E4M3FNUZ: return "float8e4m3fnuz";
  case KILN_DTYPE_FLOAT8E5M2: return "float8e5m2";
  case KILN_DTYPE_FLOAT8E5M2FNUZ: return "float8e5m2fnuz";
  case KILN_DTYPE_UINT4: return "uint4";
  case KILN_DTYPE_INT4: return "int4";
  case KILN_DTYPE_FLOAT4E2M1: return "float4e2m1";
  case KILN_DTYPE_FLOAT8E8M0: return "float8e8m0";
  case KILN_DTYPE_UINT2: return "uint2";
  case KILN_DTYPE_INT2: return "int2";
  default: return "invalid";
  }
}

#ifdef __cplusplus
}
#endif

#endif /* KILN_DTYPE_H */
