//===- onnx_tensor_test.cpp - ONNX TensorProto decoding ------------------===//
//
// The TensorProtos are encoded by hand here, field by field, so the tests
// pin down the wire format rather than trusting a second implementation.
//
//===----------------------------------------------------------------------===//

#include "test_support.h"

#include "kiln/tensor_io.h"

#include <gtest/gtest.h>

#include <cstring>

using kiln::HostTensor;
using kiln::test::Bytes;

namespace {

/// A minimal protobuf writer.
class Proto {
public:
  Proto &varint(uint64_t value) {
    do {
      uint8_t byte = value & 0x7f;
      value >>= 7;
      bytes.push_back(byte | (value ? 0x80 : 0));
    } while (value);
    return *this;
  }
  Proto &key(uint32_t field, uint32_t wireType) {
    return varint(uint64_t(field) << 3 | wireType);
  }
  Proto &varintField(uint32_t field, uint64_t value) {
    return key(field, 0).varint(value);
  }
  Proto &bytesField(uint32_t field, const Bytes &data) {
    key(field, 2).varint(data.size());
    bytes.insert(bytes.end(), data.begin(), data.end());
    return *this;
  }
  Proto &stringField(uint32_t field, const std::string &text) {
    return bytesField(field, Bytes(text.begin(), text.end()));
  }
  template <typename T> Proto &fixedField(uint32_t field, T value) {
    key(field, sizeof(T) == 4 ? 5 : 1);
    const auto *raw = reinterpret_cast<const uint8_t *>(&value);
    bytes.insert(bytes.end(), raw, raw + sizeof(T));
    return *this;
  }
  template <typename T>
  Proto &packedFixed(uint32_t field, std::initializer_list<T> values) {
    Bytes data;
    for (T value : values) {
      const auto *raw = reinterpret_cast<const uint8_t *>(&value);
      data.insert(data.end(), raw, raw + sizeof(T));
    }
    return bytesField(field, data);
  }
  Proto &packedVarints(uint32_t field, std::initializer_list<int64_t> values) {
    Proto inner;
    for (int64_t value : values)
      inner.varint(uint64_t(value));
    return bytesField(field, inner.bytes);
  }

  Bytes bytes;
};

template <typename T> std::vector<T> valuesOf(const HostTensor &tensor) {
  std::vector<T> values(tensor.data.size() / sizeof(T));
  std::memcpy(values.data(), tensor.data.data(), tensor.data.size());
  return values;
}

std::string parse(const Proto &proto, HostTensor &tensor) {
  return kiln::parseOnnxTensor(proto.bytes.data(), proto.bytes.size(), tensor);
}

TEST(OnnxTensorTest, RawData) {
  Proto proto;
  proto.packedVarints(1, {2, 3}).varintField(2, 1).stringField(8, "x");
  Bytes raw(24);
  float values[6] = {1, 2, 3, 4, 5, 6};
  std::memcpy(raw.data(), values, 24);
  proto.bytesField(9, raw);
  HostTensor tensor;
  ASSERT_EQ(parse(proto, tensor), "");
  EXPECT_EQ(tensor.name, "x");
  EXPECT_EQ(tensor.dtype, KILN_DTYPE_FLOAT32);
  EXPECT_EQ(tensor.dims, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(tensor.data, raw);
}

TEST(OnnxTensorTest, FloatDataPackedAndUnpacked) {
  Proto packed;
  packed.varintField(1, 3).varintField(2, 1).packedFixed<float>(4,
                                                                {1.5f, -2, 3});
  HostTensor tensor;
  ASSERT_EQ(parse(packed, tensor), "");
  EXPECT_EQ(valuesOf<float>(tensor), (std::vector<float>{1.5f, -2, 3}));

  // Unpacked repeated fields and dims given one by one.
  Proto unpacked;
  unpacked.varintField(1, 1).varintField(1, 2).varintField(2, 1);
  unpacked.fixedField<float>(4, 7).fixedField<float>(4, 8);
  ASSERT_EQ(parse(unpacked, tensor), "");
  EXPECT_EQ(tensor.dims, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(valuesOf<float>(tensor), (std::vector<float>{7, 8}));
}

TEST(OnnxTensorTest, Int64AndDoubleAndUint64Data) {
  Proto int64s;
  int64s.varintField(1, 3).varintField(2, 7).packedVarints(7,
                                                           {-1, 0, 1LL << 40});
  HostTensor tensor;
  ASSERT_EQ(parse(int64s, tensor), "");
  EXPECT_EQ(valuesOf<int64_t>(tensor),
            (std::vector<int64_t>{-1, 0, 1LL << 40}));

  Proto doubles;
  doubles.varintField(1, 2).varintField(2, 11).packedFixed<double>(10,
                                                                   {0.5, -1});
  ASSERT_EQ(parse(doubles, tensor), "");
  EXPECT_EQ(valuesOf<double>(tensor), (std::vector<double>{0.5, -1}));

  Proto uint32s; // uint32 travels in uint64_data
  uint32s.varintField(1, 2).varintField(2, 12).packedVarints(11,
                                                             {7, 0xffffffff});
  ASSERT_EQ(parse(uint32s, tensor), "");
  EXPECT_EQ(valuesOf<uint32_t>(tensor),
            (std::vector<uint32_t>{7, 0xffffffffu}));
}

TEST(OnnxTensorTest, Int32DataCarriesNarrowTypes) {
  Proto int8s; // negative int32 values are 10-byte varints on the wire
  int8s.varintField(1, 3).varintField(2, 3).packedVarints(5, {-128, -1, 127});
  HostTensor tensor;
  ASSERT_EQ(parse(int8s, tensor), "");
  EXPECT_EQ(valuesOf<int8_t>(tensor), (std::vector<int8_t>{-128, -1, 127}));

  Proto halves; // float16 bit patterns: 1.0 and -2.0
  halves.varintField(1, 2).varintField(2, 10).packedVarints(5,
                                                            {0x3c00, 0xc000});
  ASSERT_EQ(parse(halves, tensor), "");
  EXPECT_EQ(valuesOf<uint16_t>(tensor),
            (std::vector<uint16_t>{0x3c00, 0xc000}));

  Proto bools;
  bools.varintField(1, 2).varintField(2, 9).varintField(5, 1).varintField(5, 0);
  ASSERT_EQ(parse(bools, tensor), "");
  EXPECT_EQ(tensor.data, (Bytes{1, 0}));
}

TEST(OnnxTensorTest, Int4IsUnpackedOnePerByte) {
  Proto raw; // three int4 values 7, -8, -1 packed into two bytes
  raw.varintField(1, 3).varintField(2, 22).bytesField(9, Bytes{0x87, 0x0f});
  HostTensor tensor;
  ASSERT_EQ(parse(raw, tensor), "");
  EXPECT_EQ(valuesOf<int8_t>(tensor), (std::vector<int8_t>{7, -8, -1}));

  Proto uint4; // the same bits as uint4, via int32_data
  uint4.varintField(1, 3).varintField(2, 21).packedVarints(5, {0x87, 0x0f});
  ASSERT_EQ(parse(uint4, tensor), "");
  EXPECT_EQ(tensor.data, (Bytes{7, 8, 15}));
}

// The layouts below are those of ONNX 1.22's own test data
// (test_{de,}quantizelinear_*, test_cast_*): int32_data carries one packed
// byte per value for the sub-byte types, one element per value for float8.

TEST(OnnxTensorTest, TwoBitTypesAreUnpackedOnePerByte) {
  Proto int2s; // 180 = 0b10'11'01'00: 0, 1, -1, -2 (element 0 lowest)
  int2s.varintField(1, 4).varintField(2, 26).packedVarints(5, {180});
  HostTensor tensor;
  ASSERT_EQ(parse(int2s, tensor), "");
  EXPECT_EQ(tensor.dtype, KILN_DTYPE_INT2);
  EXPECT_EQ(valuesOf<int8_t>(tensor), (std::vector<int8_t>{0, 1, -1, -2}));

  Proto uint2s; // 228 = 0b11'10'01'00
  uint2s.varintField(1, 4).varintField(2, 25).packedVarints(5, {228});
  ASSERT_EQ(parse(uint2s, tensor), "");
  EXPECT_EQ(tensor.data, (Bytes{0, 1, 2, 3}));

  Proto raw; // 7 int2 in 2 bytes of raw_data: 1, -2, -1, 0, 1, -2, -1
  raw.varintField(1, 7).varintField(1, 1).varintField(2, 26);
  raw.bytesField(9, Bytes{0x39, 0x39});
  ASSERT_EQ(parse(raw, tensor), "");
  EXPECT_EQ(tensor.dims, (std::vector<int64_t>{7, 1}));
  EXPECT_EQ(valuesOf<int8_t>(tensor),
            (std::vector<int8_t>{1, -2, -1, 0, 1, -2, -1}));

  Proto threeValues; // 12 elements need 3 packed values
  threeValues.varintField(1, 3).varintField(1, 4).varintField(2, 25);
  threeValues.packedVarints(5, {228, 64, 165});
  ASSERT_EQ(parse(threeValues, tensor), "");
  EXPECT_EQ(tensor.data, (Bytes{0, 1, 2, 3, 0, 0, 0, 1, 1, 1, 2, 2}));
}

TEST(OnnxTensorTest, Float4IsUnpackedToItsCodes) {
  Proto packed; // five float4e2m1 codes in three int32_data values
  packed.varintField(1, 5).varintField(2, 23).packedVarints(5, {32, 58, 14});
  HostTensor tensor;
  ASSERT_EQ(parse(packed, tensor), "");
  EXPECT_EQ(tensor.dtype, KILN_DTYPE_FLOAT4E2M1);
  EXPECT_EQ(tensor.data, (Bytes{0x0, 0x2, 0xa, 0x3, 0xe}));
}

TEST(OnnxTensorTest, Float8TypesAreOneBytePerElement) {
  for (int dtype : {17, 18, 19, 20, 24}) {
    SCOPED_TRACE(dtype);
    Proto typed; // bit patterns in int32_data, one element per value
    typed.varintField(1, 5).varintField(2, uint64_t(dtype));
    typed.packedVarints(5, {0, 48, 56, 126, 237});
    HostTensor tensor;
    ASSERT_EQ(parse(typed, tensor), "");
    EXPECT_EQ(int(tensor.dtype), dtype);
    EXPECT_EQ(tensor.data, (Bytes{0, 48, 56, 126, 237}));
    Proto raw;
    raw.varintField(1, 3).varintField(2, uint64_t(dtype));
    raw.bytesField(9, Bytes{0x7f, 0x80, 0xff});
    ASSERT_EQ(parse(raw, tensor), "");
    EXPECT_EQ(tensor.data, (Bytes{0x7f, 0x80, 0xff}));
  }
}

TEST(OnnxTensorTest, PackedSizesAreChecked) {
  HostTensor tensor;
  Proto raw; // one byte per element is not the file layout
  raw.varintField(1, 7).varintField(2, 26).bytesField(9, Bytes(7));
  EXPECT_EQ(parse(raw, tensor), "TensorProto: raw_data has 7 bytes but int2 "
                                "with 7 elements needs 2");
  Proto typed;
  typed.varintField(1, 5).varintField(2, 21).packedVarints(5, {1, 2});
  EXPECT_EQ(parse(typed, tensor),
            "TensorProto: int32_data has 2 values but the dims need 3");
}

TEST(OnnxTensorTest, UnknownFieldsAreSkipped) {
  Proto proto;
  proto
      .stringField(12, "doc string")     // doc_string
      .bytesField(3, Bytes{8, 0, 16, 1}) // segment (a message)
      .varintField(2, 7)
      .fixedField<uint32_t>(100, 5) // unknown fixed32
      .fixedField<uint64_t>(101, 5) // unknown fixed64
      .varintField(102, 1)          // unknown varint
      .varintField(1, 1)
      .packedVarints(7, {42});
  HostTensor tensor;
  ASSERT_EQ(parse(proto, tensor), "");
  EXPECT_EQ(valuesOf<int64_t>(tensor), (std::vector<int64_t>{42}));
}

TEST(OnnxTensorTest, ScalarAndEmptyTensors) {
  Proto scalar; // no dims: a scalar with one value
  scalar.varintField(2, 1).packedFixed<float>(4, {3});
  HostTensor tensor;
  ASSERT_EQ(parse(scalar, tensor), "");
  EXPECT_TRUE(tensor.dims.empty());
  EXPECT_EQ(tensor.data.size(), 4u);

  Proto empty;
  empty.varintField(1, 0).varintField(2, 1);
  ASSERT_EQ(parse(empty, tensor), "");
  EXPECT_TRUE(tensor.data.empty());
}

TEST(OnnxTensorTest, UnsupportedContents) {
  HostTensor tensor;
  Proto strings;
  strings.varintField(1, 1).varintField(2, 8).stringField(6, "hi");
  EXPECT_EQ(parse(strings, tensor),
            "TensorProto: string tensors are not supported");
  Proto external;
  external.stringField(8, "w").varintField(2, 1).varintField(14, 1);
  EXPECT_EQ(parse(external, tensor),
            "TensorProto 'w': tensors with external data are not supported");
  Proto complex;
  complex.varintField(2, 14);
  EXPECT_EQ(parse(complex, tensor), "TensorProto: unsupported data_type 14");
  Proto missingType;
  EXPECT_EQ(parse(missingType, tensor), "TensorProto: unsupported data_type 0");
}

TEST(OnnxTensorTest, InconsistentContents) {
  HostTensor tensor;
  Proto count;
  count.varintField(1, 3).varintField(2, 1).packedFixed<float>(4, {1, 2});
  EXPECT_EQ(parse(count, tensor),
            "TensorProto: float_data has 2 values but the dims need 3");
  Proto raw;
  raw.varintField(1, 3).varintField(2, 1).bytesField(9, Bytes(8));
  EXPECT_EQ(parse(raw, tensor), "TensorProto: raw_data has 8 bytes but "
                                "float32 with 3 elements needs 12");
  Proto wrongField;
  wrongField.varintField(1, 1).varintField(2, 7).packedFixed<float>(4, {1});
  EXPECT_EQ(parse(wrongField, tensor),
            "TensorProto: float_data given for a int64 tensor (expected "
            "int64_data)");
  Proto both;
  both.varintField(1, 1).varintField(2, 1).packedFixed<float>(4, {1});
  both.bytesField(9, Bytes(4));
  EXPECT_EQ(parse(both, tensor),
            "TensorProto: both raw_data and float_data are set");
  Proto negative;
  negative.packedVarints(1, {-2}).varintField(2, 1);
  EXPECT_EQ(parse(negative, tensor), "TensorProto: negative dimension -2");
}

TEST(OnnxTensorTest, CorruptWireFormat) {
  HostTensor tensor;
  auto parseBytes = [&](const Bytes &bytes) {
    return kiln::parseOnnxTensor(bytes.data(), bytes.size(), tensor);
  };
  // A length running past the end.
  EXPECT_EQ(
      parseBytes(Bytes{0x4a, 0x10, 'a'}),
      "corrupt TensorProto: malformed or truncated field 9 (wire type 2)");
  // A varint that never ends.
  EXPECT_EQ(
      parseBytes(Bytes{0x08, 0xff, 0xff}),
      "corrupt TensorProto: malformed or truncated field 1 (wire type 0)");
  // Eleven continuation bytes.
  EXPECT_EQ(parseBytes(Bytes(11, 0xff)),
            "corrupt TensorProto: malformed or truncated field key");
  // A group (wire type 3) and a wrong wire type for data_type.
  EXPECT_NE(parseBytes(Bytes{0x1b}), "");
  EXPECT_EQ(
      parseBytes(Bytes{0x15, 0, 0, 0, 0}),
      "corrupt TensorProto: malformed or truncated field 2 (wire type 5)");
  // Packed floats whose length is not a multiple of 4.
  EXPECT_EQ(
      parseBytes(Bytes{0x22, 0x03, 0, 0, 0}),
      "corrupt TensorProto: malformed or truncated field 4 (wire type 2)");
  // Field number 0 is invalid.
  EXPECT_NE(parseBytes(Bytes{0x00, 0x00}), "");
}

// The tensor's name is echoed in messages; a newline in it must not split
// the one-line error (found by test/fuzz's onnx-tensor target).
TEST(OnnxTensorTest, ErrorsStayOnOneLine) {
  Proto proto;
  proto.stringField(8, "a\nb\rc");
  HostTensor tensor;
  std::string error =
      kiln::parseOnnxTensor(proto.bytes.data(), proto.bytes.size(), tensor);
  EXPECT_NE(error, "");
  EXPECT_EQ(error.find_first_of("\r\n"), std::string::npos) << error;
  EXPECT_NE(error.find("a b c"), std::string::npos) << error;
}

TEST(OnnxTensorTest, EveryPrefixFailsOrParsesCleanly) {
  Proto proto;
  proto.packedVarints(1, {2, 2}).varintField(2, 1).stringField(8, "name");
  proto.packedFixed<float>(4, {1, 2, 3, 4});
  for (size_t size = 0; size < proto.bytes.size(); ++size) {
    HostTensor tensor;
    Bytes prefix(proto.bytes.begin(), proto.bytes.begin() + size);
    EXPECT_NE(kiln::parseOnnxTensor(prefix.data(), prefix.size(), tensor), "")
        << size;
  }
}

// --- writing ---------------------------------------------------------------

/// `count` elements of `dtype`, one per byte for sub-byte types, every one
/// in range, with varied bit patterns.
Bytes sampleData(kiln_dtype dtype, uint64_t count) {
  Bytes data(count * kiln_dtype_size(dtype));
  unsigned bits = kiln_dtype_bits(dtype);
  bool isSigned = dtype == KILN_DTYPE_INT4 || dtype == KILN_DTYPE_INT2;
  for (size_t i = 0; i < data.size(); ++i) {
    uint8_t value = uint8_t(i * 37 + 11);
    if (bits < 8) {
      value &= uint8_t((1u << bits) - 1);
      if (isSigned && (value >> (bits - 1)))
        value |= uint8_t(~((1u << bits) - 1));
    }
    if (dtype == KILN_DTYPE_BOOL)
      value &= 1;
    data[i] = value;
  }
  return data;
}

class OnnxTensorRoundTrip : public ::testing::TestWithParam<kiln_dtype> {};

TEST_P(OnnxTensorRoundTrip, EncodeThenParseIsIdentity) {
  for (std::vector<int64_t> dims : std::vector<std::vector<int64_t>>{
           {}, {1}, {5}, {2, 3}, {3, 0, 2}, {1, 3, 3}, {300}}) {
    uint64_t elements, bytes;
    ASSERT_EQ(kiln::tensorSize(GetParam(), dims, elements, bytes), "");
    HostTensor tensor{"t:" + std::to_string(dims.size()), GetParam(), dims,
                      sampleData(GetParam(), elements)};
    Bytes file;
    ASSERT_EQ(kiln::encodeOnnxTensor(tensor, file), "");
    HostTensor back;
    ASSERT_EQ(kiln::parseOnnxTensor(file.data(), file.size(), back), "");
    EXPECT_EQ(back.name, tensor.name);
    EXPECT_EQ(back.dtype, tensor.dtype);
    EXPECT_EQ(back.dims, tensor.dims);
    EXPECT_EQ(back.data, tensor.data);
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllDtypes, OnnxTensorRoundTrip,
    ::testing::Values(KILN_DTYPE_FLOAT32, KILN_DTYPE_UINT8, KILN_DTYPE_INT8,
                      KILN_DTYPE_UINT16, KILN_DTYPE_INT16, KILN_DTYPE_INT32,
                      KILN_DTYPE_INT64, KILN_DTYPE_BOOL, KILN_DTYPE_FLOAT16,
                      KILN_DTYPE_FLOAT64, KILN_DTYPE_UINT32, KILN_DTYPE_UINT64,
                      KILN_DTYPE_BFLOAT16, KILN_DTYPE_FLOAT8E4M3FN,
                      KILN_DTYPE_FLOAT8E4M3FNUZ, KILN_DTYPE_FLOAT8E5M2,
                      KILN_DTYPE_FLOAT8E5M2FNUZ, KILN_DTYPE_UINT4,
                      KILN_DTYPE_INT4, KILN_DTYPE_FLOAT4E2M1,
                      KILN_DTYPE_FLOAT8E8M0, KILN_DTYPE_UINT2, KILN_DTYPE_INT2),
    [](const ::testing::TestParamInfo<kiln_dtype> &info) {
      return std::string(kiln_dtype_name(info.param));
    });

TEST(OnnxTensorWriteTest, WireFormatIsOnnxs) {
  // dims as unpacked varints, data_type, name, raw_data: what
  // onnx.numpy_helper.from_array(np.array([[1, 2]], np.float32), "y") gives.
  HostTensor tensor{"y", KILN_DTYPE_FLOAT32, {1, 2}, {}};
  float values[2] = {1, 2};
  tensor.data.resize(8);
  std::memcpy(tensor.data.data(), values, 8);
  Bytes file;
  ASSERT_EQ(kiln::encodeOnnxTensor(tensor, file), "");
  Proto expected;
  expected.varintField(1, 1).varintField(1, 2).varintField(2, 1);
  expected.stringField(8, "y").bytesField(9, tensor.data);
  EXPECT_EQ(file, expected.bytes);

  // No name: no name field. A scalar: no dims. Empty data: raw_data of 0.
  HostTensor scalar{"", KILN_DTYPE_BFLOAT16, {}, {0x80, 0x3f}};
  ASSERT_EQ(kiln::encodeOnnxTensor(scalar, file), "");
  Proto bf16;
  bf16.varintField(2, 16).bytesField(9, Bytes{0x80, 0x3f});
  EXPECT_EQ(file, bf16.bytes);
  HostTensor empty{"e", KILN_DTYPE_FLOAT8E5M2, {0}, {}};
  ASSERT_EQ(kiln::encodeOnnxTensor(empty, file), "");
  Proto none;
  none.varintField(1, 0).varintField(2, 19).stringField(8, "e");
  none.bytesField(9, Bytes{});
  EXPECT_EQ(file, none.bytes);
}

TEST(OnnxTensorWriteTest, SubByteTypesArePackedLowBitsFirst) {
  Bytes file;
  // float4e2m1 codes 1, 2, 0xf: two per byte, element 0 in the low nibble.
  HostTensor fp4{"", KILN_DTYPE_FLOAT4E2M1, {3}, {0x1, 0x2, 0xf}};
  ASSERT_EQ(kiln::encodeOnnxTensor(fp4, file), "");
  Proto fp4Expected;
  fp4Expected.varintField(1, 3).varintField(2, 23).bytesField(9,
                                                              Bytes{0x21, 0x0f});
  EXPECT_EQ(file, fp4Expected.bytes);
  // int4 7, -8, -1 (sign-extended bytes) -> nibbles 7, 8, f.
  HostTensor int4{"", KILN_DTYPE_INT4, {3}, {7, 0xf8, 0xff}};
  ASSERT_EQ(kiln::encodeOnnxTensor(int4, file), "");
  Proto int4Expected;
  int4Expected.varintField(1, 3).varintField(2, 22).bytesField(
      9, Bytes{0x87, 0x0f});
  EXPECT_EQ(file, int4Expected.bytes);
  // int2 1, -2, -1, 0, 1 -> 0b00'11'10'01, 0b01.
  HostTensor int2{"", KILN_DTYPE_INT2, {5}, {1, 0xfe, 0xff, 0, 1}};
  ASSERT_EQ(kiln::encodeOnnxTensor(int2, file), "");
  Proto int2Expected;
  int2Expected.varintField(1, 5).varintField(2, 26).bytesField(
      9, Bytes{0x39, 0x01});
  EXPECT_EQ(file, int2Expected.bytes);
}

TEST(OnnxTensorWriteTest, RejectsWhatItCannotWrite) {
  Bytes file;
  HostTensor fp4{"", KILN_DTYPE_FLOAT4E2M1, {2}, {0x1, 0x10}};
  EXPECT_EQ(kiln::encodeOnnxTensor(fp4, file),
            "element 1 is 16, outside float4e2m1's range [0, 15] (one element "
            "per byte, zero-extended)");
  HostTensor int4{"", KILN_DTYPE_INT4, {1}, {0x08}};
  EXPECT_NE(kiln::encodeOnnxTensor(int4, file).find("outside int4's range"),
            std::string::npos);
  HostTensor size{"", KILN_DTYPE_BFLOAT16, {2}, {0, 0}};
  EXPECT_EQ(kiln::encodeOnnxTensor(size, file),
            "tensor holds 2 bytes but its dtype and shape need 4");
  HostTensor unknown{"", kiln_dtype(14), {1}, {0}};
  EXPECT_EQ(kiln::encodeOnnxTensor(unknown, file), "unsupported dtype 14");
  HostTensor ok{"", KILN_DTYPE_FLOAT32, {1}, {0, 0, 0, 0}};
  EXPECT_NE(kiln::writeOnnxTensor("/nonexistent/dir/x.pb", ok)
                .find("cannot create '/nonexistent/dir/x.pb'"),
            std::string::npos);
}

TEST(OnnxTensorWriteTest, FileRoundTrip) {
  HostTensor tensor{"scores", KILN_DTYPE_FLOAT8E4M3FN, {2, 2},
                    {0x38, 0xc0, 0x7f, 0x00}};
  kiln::test::TempFile file(Bytes(), ".pb");
  ASSERT_EQ(kiln::writeOnnxTensor(file.path(), tensor), "");
  HostTensor back;
  ASSERT_EQ(kiln::readTensorFile(file.path(), back), "");
  EXPECT_EQ(back.name, "scores");
  EXPECT_EQ(back.dtype, tensor.dtype);
  EXPECT_EQ(back.dims, tensor.dims);
  EXPECT_EQ(back.data, tensor.data);
}

TEST(OnnxTensorTest, ReadsFilesAndDispatchesByExtension) {
  Proto proto;
  proto.varintField(1, 2).varintField(2, 7).packedVarints(7, {5, 6});
  kiln::test::TempFile file(proto.bytes, ".pb");
  HostTensor tensor;
  ASSERT_EQ(kiln::readTensorFile(file.path(), tensor), "");
  EXPECT_EQ(valuesOf<int64_t>(tensor), (std::vector<int64_t>{5, 6}));

  kiln::test::TempFile unknown(proto.bytes, ".bin");
  EXPECT_NE(kiln::readTensorFile(unknown.path(), tensor)
                .find("cannot tell the tensor format"),
            std::string::npos);
}

} // namespace
