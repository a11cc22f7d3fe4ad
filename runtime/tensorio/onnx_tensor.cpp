//===- onnx_tensor.cpp - ONNX TensorProto reader (protobuf by hand) ------===//
//
// Decodes the protobuf wire format of onnx.TensorProto without libprotobuf,
// so that the runtime side stays free of it. Fields used:
//   1 dims (int64, packed or not)   2 data_type (int32)
//   4 float_data   5 int32_data   6 string_data   7 int64_data
//   8 name   9 raw_data   10 double_data   11 uint64_data
//   14 data_location (EXTERNAL is unsupported)
// Everything else is skipped by wire type. As in ONNX, int32_data carries
// int8/uint8/int16/uint16/bool/float16/bfloat16/float8 as one element per
// value (bit patterns in the low bits) and the sub-byte types packed, one
// byte per value (int4/uint4/float4e2m1 two elements, int2/uint2 four);
// raw_data is the little-endian dense array (sub-byte types packed the same
// way, element 0 in the low bits). Sub-byte tensors come out one element per
// byte (kiln/dtype.h).
//
// The writer emits dims (unpacked varints), data_type, name and raw_data,
// in field order, as onnx.numpy_helper.from_array does.
//
//===----------------------------------------------------------------------===//

#include "kiln/tensor_io.h"

#include "no_throw.h"

#include <cstring>

namespace kiln {
namespace {

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5
};

class WireReader {
public:
  WireReader(const uint8_t *begin, const uint8_t *end)
      : pos_(begin), end_(end) {}

  bool atEnd() const { return pos_ == end_; }

  bool varint(uint64_t &out) {
    out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ == end_)
        return false;
      uint8_t byte = *pos_++;
      out |= uint64_t(byte & 0x7f) << shift;
      if (!(byte & 0x80))
        return true;
    }
    return false; // more than 10 bytes
  }

  template <typename T> bool fixed(T &out) {
    if (size_t(end_ - pos_) < sizeof(T))
      return false;
    std::memcpy(&out, pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }

  bool lengthDelimited(const uint8_t *&begin, const uint8_t *&end) {
    uint64_t length;
    if (!varint(length) || length > uint64_t(end_ - pos_))
      return false;
    begin = pos_;
    end = pos_ + length;
    pos_ = end;
    return true;
  }

  bool skip(uint32_t wireType) {
    uint64_t ignoredVarint;
    uint64_t ignored64;
    uint32_t ignored32;
    const uint8_t *begin, *end;
    switch (wireType) {
    case kVarint:
      return varint(ignoredVarint);
    case kFixed64:
      return fixed(ignored64);
    case kLengthDelimited:
      return lengthDelimited(begin, end);
    case kFixed32:
      return fixed(ignored32);
    default:
      return false; // groups are deprecated and never used by ONNX
    }
  }

private:
  const uint8_t *pos_;
  const uint8_t *end_;
};

/// The fields as decoded, before they are checked against each other.
struct RawTensor {
  std::vector<int64_t> dims;
  int64_t dataType = 0;
  std::string name;
  bool hasRaw = false;
  std::vector<uint8_t> raw;
  std::vector<float> floats;
  std::vector<int32_t> int32s;
  std::vector<int64_t> int64s;
  std::vector<double> doubles;
  std::vector<uint64_t> uint64s;
  bool hasStrings = false;
  bool external = false;
};

/// Appends one repeated scalar field, packed (wire type 2) or not.
template <typename T>
bool readRepeatedFixed(WireReader &reader, uint32_t wireType,
                       std::vector<T> &out) {
  constexpr uint32_t single = sizeof(T) == 4 ? kFixed32 : kFixed64;
  T value;
  if (wireType == single) {
    if (!reader.fixed(value))
      return false;
    out.push_back(value);
    return true;
  }
  const uint8_t *begin, *end;
  if (wireType != kLengthDelimited || !reader.lengthDelimited(begin, end) ||
      (end - begin) % sizeof(T) != 0)
    return false;
  for (; begin != end; begin += sizeof(T)) {
    std::memcpy(&value, begin, sizeof(T));
    out.push_back(value);
  }
  return true;
}

template <typename T>
bool readRepeatedVarint(WireReader &reader, uint32_t wireType,
                        std::vector<T> &out) {
  uint64_t value;
  if (wireType == kVarint) {
    if (!reader.varint(value))
      return false;
    out.push_back(T(value));
    return true;
  }
  const uint8_t *begin, *end;
  if (wireType != kLengthDelimited || !reader.lengthDelimited(begin, end))
    return false;
  WireReader packed(begin, end);
  while (!packed.atEnd()) {
    if (!packed.varint(value))
      return false;
    out.push_back(T(value));
  }
  return true;
}

/// Reads one non-repeated varint field into `out`.
bool readVarint(WireReader &reader, uint32_t wireType, uint64_t &out) {
  return wireType == kVarint && reader.varint(out);
}

/// Reads one length-delimited field (a string or bytes) into `out`.
template <typename Bytes>
bool readBytes(WireReader &reader, uint32_t wireType, Bytes &out) {
  const uint8_t *begin, *end;
  if (wireType != kLengthDelimited || !reader.lengthDelimited(begin, end))
    return false;
  out.assign(begin, end);
  return true;
}

/// Decodes one field of TensorProto (`field`, sent as `wireType`) into
/// `out`, skipping the fields Kiln does not read; false when it is
/// malformed.
bool decodeField(WireReader &reader, uint64_t field, uint32_t wireType,
                 RawTensor &out) {
  uint64_t value = 0;
  switch (field) {
  case 1:
    return readRepeatedVarint(reader, wireType, out.dims);
  case 2:
    if (!readVarint(reader, wireType, value))
      return false;
    out.dataType = int64_t(value);
    return true;
  case 4:
    return readRepeatedFixed(reader, wireType, out.floats);
  case 5:
    return readRepeatedVarint(reader, wireType, out.int32s);
  case 6: // string_data: Kiln reads no strings, but says that there were
    out.hasStrings = true;
    return reader.skip(wireType);
  case 7:
    return readRepeatedVarint(reader, wireType, out.int64s);
  case 8:
    return readBytes(reader, wireType, out.name);
  case 9:
    if (!readBytes(reader, wireType, out.raw))
      return false;
    out.hasRaw = true;
    return true;
  case 10:
    return readRepeatedFixed(reader, wireType, out.doubles);
  case 11:
    return readRepeatedVarint(reader, wireType, out.uint64s);
  case 14:
    if (!readVarint(reader, wireType, value))
      return false;
    out.external = value == 1;
    return true;
  default:
    return field != 0 && reader.skip(wireType);
  }
}

/// Returns the name of the malformed field, or "" on success.
std::string decodeFields(const uint8_t *data, size_t size, RawTensor &out) {
  WireReader reader(data, data + size);
  while (!reader.atEnd()) {
    uint64_t key;
    if (!reader.varint(key))
      return "field key";
    uint64_t field = key >> 3;
    uint32_t wireType = uint32_t(key & 7);
    if (!decodeField(reader, field, wireType, out))
      return "field " + std::to_string(field) + " (wire type " +
             std::to_string(wireType) + ")";
  }
  return "";
}

bool isSubByte(kiln_dtype dtype) { return kiln_dtype_bits(dtype) < 8; }

/// Packed (`bits` per element, element 0 in the low bits) -> one per byte,
/// int4/int2 sign-extended.
void unpackSubByte(const std::vector<uint8_t> &packed, uint64_t elements,
                   kiln_dtype dtype, std::vector<uint8_t> &out) {
  unsigned bits = kiln_dtype_bits(dtype);
  unsigned perByte = 8 / bits;
  uint8_t mask = uint8_t((1u << bits) - 1);
  bool isSigned = dtype == KILN_DTYPE_INT4 || dtype == KILN_DTYPE_INT2;
  out.resize(elements);
  for (uint64_t i = 0; i < elements; ++i) {
    uint8_t value = (packed[i / perByte] >> (bits * (i % perByte))) & mask;
    if (isSigned && (value >> (bits - 1)))
      value |= uint8_t(~mask); // sign-extend
    out[i] = value;
  }
}

/// Which typed field ONNX uses for `dtype`.
int typedFieldFor(kiln_dtype dtype) {
  switch (dtype) {
  case KILN_DTYPE_FLOAT32:
    return 4;
  case KILN_DTYPE_INT64:
    return 7;
  case KILN_DTYPE_FLOAT64:
    return 10;
  case KILN_DTYPE_UINT32:
  case KILN_DTYPE_UINT64:
    return 11;
  default:
    return 5;
  }
}

const char *fieldName(int field) {
  switch (field) {
  case 4:
    return "float_data";
  case 5:
    return "int32_data";
  case 7:
    return "int64_data";
  case 10:
    return "double_data";
  default:
    return "uint64_data";
  }
}

/// Copies the low `size` bytes of each value (little-endian host).
template <typename T>
void narrow(const std::vector<T> &values, size_t size,
            std::vector<uint8_t> &out) {
  out.resize(values.size() * size);
  for (size_t i = 0; i < values.size(); ++i)
    std::memcpy(out.data() + i * size, &values[i], size);
}

std::string buildTensor(RawTensor &raw, HostTensor &out) {
  if (raw.hasStrings)
    return "string tensors are not supported";
  if (raw.external)
    return "tensors with external data are not supported";
  if (raw.dataType <= 0 || raw.dataType > 255 ||
      kiln_dtype_size(int(raw.dataType)) == 0)
    return "unsupported data_type " + std::to_string(raw.dataType);
  kiln_dtype dtype = kiln_dtype(raw.dataType);
  uint64_t elements, bytes;
  if (std::string error = tensorSize(dtype, raw.dims, elements, bytes);
      !error.empty())
    return error;
  // Sub-byte types are stored packed in the file (also in int32_data, one
  // packed byte per value), unpacked in memory.
  uint64_t fileBytes = kiln_dtype_packed_size(dtype, elements);
  uint64_t fileValues = isSubByte(dtype) ? fileBytes : elements;

  size_t typedCounts[] = {raw.floats.size(), raw.int32s.size(),
                          raw.int64s.size(), raw.doubles.size(),
                          raw.uint64s.size()};
  int typedFields[] = {4, 5, 7, 10, 11};
  int expectedField = typedFieldFor(dtype);
  for (int i = 0; i < 5; ++i) {
    if (typedCounts[i] == 0)
      continue;
    if (raw.hasRaw)
      return std::string("both raw_data and ") + fieldName(typedFields[i]) +
             " are set";
    if (typedFields[i] != expectedField)
      return std::string(fieldName(typedFields[i])) + " given for a " +
             kiln_dtype_name(dtype) + " tensor (expected " +
             fieldName(expectedField) + ")";
  }

  std::vector<uint8_t> packed;
  if (raw.hasRaw) {
    if (raw.raw.size() != fileBytes)
      return "raw_data has " + std::to_string(raw.raw.size()) + " bytes but " +
             kiln_dtype_name(dtype) + " with " + std::to_string(elements) +
             " elements needs " + std::to_string(fileBytes);
    packed = std::move(raw.raw);
  } else {
    size_t count = typedCounts[expectedField == 4    ? 0
                               : expectedField == 5  ? 1
                               : expectedField == 7  ? 2
                               : expectedField == 10 ? 3
                                                     : 4];
    if (count != fileValues)
      return std::string(fieldName(expectedField)) + " has " +
             std::to_string(count) + " values but the dims need " +
             std::to_string(fileValues);
    size_t elementSize = isSubByte(dtype) ? 1 : kiln_dtype_size(dtype);
    if (expectedField == 4)
      narrow(raw.floats, elementSize, packed);
    else if (expectedField == 5)
      narrow(raw.int32s, elementSize, packed);
    else if (expectedField == 7)
      narrow(raw.int64s, elementSize, packed);
    else if (expectedField == 10)
      narrow(raw.doubles, elementSize, packed);
    else
      narrow(raw.uint64s, elementSize, packed);
  }

  out.name = std::move(raw.name);
  out.dtype = dtype;
  out.dims = std::move(raw.dims);
  if (isSubByte(dtype))
    unpackSubByte(packed, elements, dtype, out.data);
  else
    out.data = std::move(packed);
  return "";
}

void putVarint(std::vector<uint8_t> &out, uint64_t value) {
  do {
    uint8_t byte = value & 0x7f;
    value >>= 7;
    out.push_back(byte | (value ? 0x80 : 0));
  } while (value);
}

void putKey(std::vector<uint8_t> &out, uint32_t field, WireType wireType) {
  putVarint(out, uint64_t(field) << 3 | wireType);
}

/// One element per byte -> packed, element 0 in the low bits. The values
/// were range-checked, so masking loses nothing.
void packSubByte(const uint8_t *data, uint64_t elements, kiln_dtype dtype,
                 std::vector<uint8_t> &out) {
  unsigned bits = kiln_dtype_bits(dtype);
  unsigned perByte = 8 / bits;
  uint8_t mask = uint8_t((1u << bits) - 1);
  size_t begin = out.size();
  out.resize(begin + kiln_dtype_packed_size(dtype, elements), 0);
  for (uint64_t i = 0; i < elements; ++i)
    out[begin + i / perByte] |=
        uint8_t((data[i] & mask) << (bits * (i % perByte)));
}

std::string encodeUnchecked(const std::string &name, kiln_dtype dtype,
                            const std::vector<int64_t> &dims, const void *data,
                            size_t bytes, std::vector<uint8_t> &out) {
  uint64_t elements;
  if (std::string error = checkTensorBytes(dtype, dims, bytes, elements);
      !error.empty())
    return error;
  const auto *values = static_cast<const uint8_t *>(data);
  if (std::string error = checkSubByteValues(dtype, values, bytes);
      !error.empty())
    return error;

  out.clear();
  for (int64_t dim : dims) {
    putKey(out, 1, kVarint);
    putVarint(out, uint64_t(dim));
  }
  putKey(out, 2, kVarint);
  putVarint(out, uint64_t(dtype));
  if (!name.empty()) {
    putKey(out, 8, kLengthDelimited);
    putVarint(out, name.size());
    out.insert(out.end(), name.begin(), name.end());
  }
  uint64_t rawBytes = kiln_dtype_packed_size(dtype, elements);
  putKey(out, 9, kLengthDelimited);
  putVarint(out, rawBytes);
  if (isSubByte(dtype))
    packSubByte(values, elements, dtype, out);
  else if (bytes)
    out.insert(out.end(), values, values + bytes);
  return "";
}

} // namespace

std::string parseOnnxTensor(const uint8_t *data, size_t size, HostTensor &out) {
  return detail::noThrow([&]() -> std::string {
    RawTensor raw;
    if (std::string field = decodeFields(data, size, raw); !field.empty())
      return "corrupt TensorProto: malformed or truncated " + field;
    if (std::string error = buildTensor(raw, out); !error.empty())
      return "TensorProto" + (raw.name.empty() ? "" : " '" + raw.name + "'") +
             ": " + error;
    return "";
  });
}

std::string readOnnxTensor(const std::string &path, HostTensor &out) {
  return detail::noThrow(
      [&] { return detail::readAndParse(path, out, parseOnnxTensor); });
}

std::string encodeOnnxTensor(const std::string &name, kiln_dtype dtype,
                             const std::vector<int64_t> &dims, const void *data,
                             size_t bytes, std::vector<uint8_t> &out) {
  return detail::noThrow(
      [&] { return encodeUnchecked(name, dtype, dims, data, bytes, out); });
}

std::string encodeOnnxTensor(const HostTensor &tensor,
                             std::vector<uint8_t> &out) {
  return encodeOnnxTensor(tensor.name, tensor.dtype, tensor.dims,
                          tensor.data.data(), tensor.data.size(), out);
}

std::string writeOnnxTensor(const std::string &path, const HostTensor &tensor) {
  return detail::noThrow([&]() -> std::string {
    std::vector<uint8_t> bytes;
    if (std::string error = encodeOnnxTensor(tensor, bytes); !error.empty())
      return "cannot write '" + path + "': " + error;
    return writeFileBytes(path, bytes);
  });
}

} // namespace kiln
