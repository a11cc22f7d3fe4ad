/*===- kiln/dtype.h - Element types of tensors crossing the runtime API ---===*\
|*                                                                            *|
|* The numbering is ONNX's TensorProto.DataType, so ONNX inputs, artifacts   *|
|* and the runtime API use one vocabulary with no translation tables.        *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef KILN_DTYPE_H
#define KILN_DTYPE_H

#include <stddef.h>

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
  KILN_DTYPE_FLOAT8E5M2 = 19,
  KILN_DTYPE_UINT4 = 21,
  KILN_DTYPE_INT4 = 22,
  KILN_DTYPE_FLOAT4E2M1 = 23
} kiln_dtype;

/* Bytes per element; 0 for an unknown dtype. Sub-byte types (int4, uint4,
 * float4e2m1) are stored one element per byte at the runtime API. */
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
  case KILN_DTYPE_FLOAT8E4M3FN: case KILN_DTYPE_FLOAT8E5M2:
  case KILN_DTYPE_UINT4: case KILN_DTYPE_INT4: case KILN_DTYPE_FLOAT4E2M1:
    return 1;
  default:
    return 0;
  }
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
  case KILN_DTYPE_FLOAT8E5M2: return "float8e5m2";
  case KILN_DTYPE_UINT4: return "uint4";
  case KILN_DTYPE_INT4: return "int4";
  case KILN_DTYPE_FLOAT4E2M1: return "float4e2m1";
  default: return "invalid";
  }
}

#ifdef __cplusplus
}
#endif

#endif /* KILN_DTYPE_H */
