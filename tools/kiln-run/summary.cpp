//===- summary.cpp - One-line description of an output tensor ------------===//

#include "summary.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>

namespace kiln::run {
namespace {

constexpr size_t kShownValues = 6;

float halfToFloat(uint16_t bits) {
  uint32_t sign = uint32_t(bits & 0x8000) << 16;
  int exponent = (bits >> 10) & 0x1f;
  uint32_t mantissa = bits & 0x3ff;
  if (exponent == 0) // zero or subnormal
    return (sign ? -1.0f : 1.0f) * std::ldexp(float(mantissa), -24);
  uint32_t result =
      exponent == 31 ? sign | 0x7f800000u | (mantissa << 13) // inf, NaN
                     : sign | uint32_t(exponent + 112) << 23 | (mantissa << 13);
  float value;
  std::memcpy(&value, &result, 4);
  return value;
}

float bfloat16ToFloat(uint16_t bits) {
  uint32_t result = uint32_t(bits) << 16;
  float value;
  std::memcpy(&value, &result, 4);
  return value;
}

/// A float8 or float4 bit pattern with `exponentBits` and `mantissaBits`
/// (and a sign bit unless `unsigned`) and ONNX's special values:
///  - `ieee`: all-ones exponent is inf (mantissa 0) or NaN (float8e5m2);
///  - `fnuz`: 0x80 is the only NaN, no inf, no negative zero (the *fnuz
///    types, whose bias is one more than IEEE's);
///  - otherwise only S.1111.111 is NaN (float8e4m3fn), or nothing is
///    (float4e2m1).
struct MiniFloat {
  int exponentBits;
  int mantissaBits;
  int bias;
  bool ieee;
  bool fnuz;
};

double decodeMiniFloat(const MiniFloat &format, uint8_t bits) {
  int total = 1 + format.exponentBits + format.mantissaBits;
  uint8_t magnitudeMask = uint8_t((1u << (total - 1)) - 1);
  bool negative = (bits >> (total - 1)) & 1;
  uint8_t magnitude = bits & magnitudeMask;
  if (format.fnuz && negative && magnitude == 0)
    return NAN;
  int exponent = magnitude >> format.mantissaBits;
  int mantissa = magnitude & ((1 << format.mantissaBits) - 1);
  int maxExponent = (1 << format.exponentBits) - 1;
  if (format.ieee && exponent == maxExponent)
    return mantissa ? NAN : (negative ? -INFINITY : INFINITY);
  if (!format.ieee && !format.fnuz && total == 8 &&
      magnitude == magnitudeMask) // float8e4m3fn: S.1111.111
    return NAN;
  double value =
      exponent == 0
          ? std::ldexp(double(mantissa), 1 - format.bias - format.mantissaBits)
          : std::ldexp(double(mantissa | (1 << format.mantissaBits)),
                       exponent - format.bias - format.mantissaBits);
  return negative ? -value : value;
}

template <typename T> T load(const uint8_t *data, size_t index) {
  T value;
  std::memcpy(&value, data + index * sizeof(T), sizeof(T));
  return value;
}

/// Element `index` as a double, or nothing for an unknown dtype. Sub-byte
/// types are one element per byte (int4/int2 sign-extended).
std::optional<double> element(kiln_dtype dtype, const uint8_t *data,
                              size_t index) {
  switch (dtype) {
  case KILN_DTYPE_FLOAT8E4M3FN:
    return decodeMiniFloat({4, 3, 7, false, false}, data[index]);
  case KILN_DTYPE_FLOAT8E4M3FNUZ:
    return decodeMiniFloat({4, 3, 8, false, true}, data[index]);
  case KILN_DTYPE_FLOAT8E5M2:
    return decodeMiniFloat({5, 2, 15, true, false}, data[index]);
  case KILN_DTYPE_FLOAT8E5M2FNUZ:
    return decodeMiniFloat({5, 2, 16, false, true}, data[index]);
  case KILN_DTYPE_FLOAT4E2M1:
    return decodeMiniFloat({2, 1, 1, false, false}, data[index] & 0xf);
  case KILN_DTYPE_FLOAT8E8M0: // 2^(bits - 127), no sign, 0xff is NaN
    return data[index] == 0xff ? NAN : std::ldexp(1.0, int(data[index]) - 127);
  case KILN_DTYPE_FLOAT16:
    return halfToFloat(load<uint16_t>(data, index));
  case KILN_DTYPE_BFLOAT16:
    return bfloat16ToFloat(load<uint16_t>(data, index));
  case KILN_DTYPE_FLOAT32:
    return load<float>(data, index);
  case KILN_DTYPE_FLOAT64:
    return load<double>(data, index);
  case KILN_DTYPE_INT2:
  case KILN_DTYPE_INT4:
  case KILN_DTYPE_INT8:
    return load<int8_t>(data, index);
  case KILN_DTYPE_BOOL:
  case KILN_DTYPE_UINT2:
  case KILN_DTYPE_UINT4:
  case KILN_DTYPE_UINT8:
    return load<uint8_t>(data, index);
  case KILN_DTYPE_INT16:
    return load<int16_t>(data, index);
  case KILN_DTYPE_UINT16:
    return load<uint16_t>(data, index);
  case KILN_DTYPE_INT32:
    return load<int32_t>(data, index);
  case KILN_DTYPE_UINT32:
    return load<uint32_t>(data, index);
  case KILN_DTYPE_INT64:
    return double(load<int64_t>(data, index));
  case KILN_DTYPE_UINT64:
    return double(load<uint64_t>(data, index));
  default:
    return std::nullopt;
  }
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return text;
}

} // namespace

std::string typeString(const kiln_tensor_desc &desc,
                       const std::vector<std::string> &symbolNames) {
  std::string text = std::string(kiln_dtype_name(desc.dtype)) + "[";
  for (uint32_t i = 0; i < desc.rank; ++i) {
    int64_t dim = desc.dims[i];
    uint64_t symbol = dim < 0 ? uint64_t(-(dim + 1)) : UINT64_MAX;
    text += i ? "," : "";
    text += symbol < symbolNames.size() ? symbolNames[symbol]
                                        : std::to_string(dim);
  }
  return text + "]";
}

std::string summarize(const kiln_tensor_desc &desc, const void *data,
                      size_t bytes) {
  std::string line = std::string(desc.name) + ": " + typeString(desc);
  size_t elementSize = kiln_dtype_size(desc.dtype);
  size_t count = elementSize ? bytes / elementSize : 0;
  const auto *raw = static_cast<const uint8_t *>(data);
  if (count == 0)
    return line + " (empty)";
  if (!element(desc.dtype, raw, 0))
    return line + " (no statistics for this dtype)";

  double minimum = INFINITY, maximum = -INFINITY, sum = 0;
  size_t nans = 0;
  std::string shown;
  for (size_t i = 0; i < count; ++i) {
    double value = *element(desc.dtype, raw, i);
    if (i < kShownValues)
      shown += (i ? ", " : "") + number(value);
    if (std::isnan(value)) {
      ++nans;
      continue;
    }
    minimum = std::fmin(minimum, value);
    maximum = std::fmax(maximum, value);
    sum += value;
  }
  if (count > kShownValues)
    shown += ", ...";
  if (desc.dtype == KILN_DTYPE_BOOL)
    return line + " true=" + number(sum) + "/" + std::to_string(count) +
           " values=[" + shown + "]";
  if (nans < count)
    line += " min=" + number(minimum) + " max=" + number(maximum) +
            " mean=" + number(sum / double(count - nans));
  if (nans)
    line += " nan=" + std::to_string(nans);
  return line + " values=[" + shown + "]";
}

} // namespace kiln::run
