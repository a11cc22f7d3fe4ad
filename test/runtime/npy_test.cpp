//===- npy_test.cpp - NumPy .npy reading and writing ---------------------===//

#include "test_support.h"

#include "kiln/tensor_io.h"

#include <gtest/gtest.h>

#include <cstring>

using kiln::HostTensor;
using kiln::test::Bytes;

namespace {

/// A .npy file with a hand-written header, as numpy (or something else)
/// might produce it.
Bytes npyFile(const std::string &header, const Bytes &data, int major = 1) {
  Bytes out = {0x93, 'N', 'U', 'M', 'P', 'Y', uint8_t(major), 0};
  uint32_t length = uint32_t(header.size());
  out.push_back(uint8_t(length));
  out.push_back(uint8_t(length >> 8));
  if (major >= 2) {
    out.push_back(uint8_t(length >> 16));
    out.push_back(uint8_t(length >> 24));
  }
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::string parseError(const Bytes &file) {
  HostTensor tensor;
  return kiln::parseNpy(file.data(), file.size(), tensor);
}

class NpyRoundTrip : public ::testing::TestWithParam<kiln_dtype> {};

TEST_P(NpyRoundTrip, EncodeThenParseIsIdentity) {
  for (std::vector<int64_t> dims : std::vector<std::vector<int64_t>>{
           {}, {5}, {2, 3}, {2, 0, 4}, {1, 2, 3, 2}}) {
    HostTensor tensor;
    tensor.dtype = GetParam();
    tensor.dims = dims;
    uint64_t elements, bytes;
    ASSERT_EQ(kiln::tensorSize(tensor.dtype, dims, elements, bytes), "");
    for (uint64_t i = 0; i < bytes; ++i)
      tensor.data.push_back(GetParam() == KILN_DTYPE_BOOL ? i % 2
                                                          : uint8_t(i * 37));
    Bytes file;
    ASSERT_EQ(kiln::encodeNpy(tensor, file), "");
    // numpy's layout: the data starts at a multiple of 64.
    EXPECT_EQ((file.size() - bytes) % 64, 0u);
    HostTensor back;
    ASSERT_EQ(kiln::parseNpy(file.data(), file.size(), back), "");
    EXPECT_EQ(back.dtype, tensor.dtype);
    EXPECT_EQ(back.dims, tensor.dims);
    EXPECT_EQ(back.data, tensor.data);
  }
}

INSTANTIATE_TEST_SUITE_P(AllDtypes, NpyRoundTrip,
                         ::testing::Values(KILN_DTYPE_FLOAT32,
                                           KILN_DTYPE_FLOAT64,
                                           KILN_DTYPE_FLOAT16, KILN_DTYPE_INT8,
                                           KILN_DTYPE_INT16, KILN_DTYPE_INT32,
                                           KILN_DTYPE_INT64, KILN_DTYPE_UINT8,
                                           KILN_DTYPE_UINT16, KILN_DTYPE_UINT32,
                                           KILN_DTYPE_UINT64, KILN_DTYPE_BOOL),
                         [](const ::testing::TestParamInfo<kiln_dtype> &info) {
                           return std::string(kiln_dtype_name(info.param));
                         });

TEST(NpyTest, FileRoundTrip) {
  HostTensor tensor;
  tensor.dtype = KILN_DTYPE_INT32;
  tensor.dims = {3};
  tensor.data = {1, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
  kiln::test::TempFile file(Bytes(), ".npy");
  ASSERT_EQ(kiln::writeNpy(file.path(), tensor), "");
  HostTensor back;
  ASSERT_EQ(kiln::readNpy(file.path(), back), "");
  EXPECT_EQ(back.data, tensor.data);
  HostTensor dispatched;
  ASSERT_EQ(kiln::readTensorFile(file.path(), dispatched), "");
  EXPECT_EQ(dispatched.dims, tensor.dims);
}

TEST(NpyTest, ReadsVariantsNumpyWrites) {
  Bytes four = {0, 0, 0x80, 0x3f};
  HostTensor tensor;
  // Version 2.0, double quotes, no trailing comma, Python 2 long.
  Bytes v2 = npyFile("{\"descr\": \"<f4\", \"fortran_order\": False, "
                     "\"shape\": (1L,)}\n",
                     four, 2);
  ASSERT_EQ(kiln::parseNpy(v2.data(), v2.size(), tensor), "");
  EXPECT_EQ(tensor.dtype, KILN_DTYPE_FLOAT32);
  EXPECT_EQ(tensor.dims, std::vector<int64_t>{1});
  // Keys in another order, '=' and '|' byte orders.
  Bytes reordered = npyFile(
      "{'shape': (2, 2), 'fortran_order': False, 'descr': '|u1', }  \n", four);
  ASSERT_EQ(kiln::parseNpy(reordered.data(), reordered.size(), tensor), "");
  EXPECT_EQ(tensor.dtype, KILN_DTYPE_UINT8);
  Bytes native = npyFile(
      "{'descr': '=i4', 'fortran_order': False, 'shape': (), }\n", four);
  ASSERT_EQ(kiln::parseNpy(native.data(), native.size(), tensor), "");
  EXPECT_EQ(tensor.dtype, KILN_DTYPE_INT32);
  EXPECT_TRUE(tensor.dims.empty());
}

TEST(NpyTest, CorruptFilesHaveClearErrors) {
  Bytes four(4, 0);
  auto header = [](const std::string &descr, const std::string &order,
                   const std::string &shape) {
    return "{'descr': '" + descr + "', 'fortran_order': " + order +
           ", 'shape': " + shape + ", }\n";
  };
  EXPECT_EQ(parseError(Bytes{'P', 'K', 3, 4, 0, 0, 0, 0}),
            "not a .npy file (bad magic)");
  EXPECT_EQ(parseError(Bytes{0x93, 'N', 'U', 'M', 'P', 'Y', 1}),
            "truncated .npy header");
  Bytes truncated = npyFile(header("<f4", "False", "(1,)"), four);
  truncated.resize(20);
  EXPECT_NE(parseError(truncated).find("truncated .npy header"),
            std::string::npos);
  EXPECT_EQ(parseError(npyFile(header("<f4", "False", "(1,)"), four, 4)),
            "unsupported .npy version 4.0 (supported: 1.0, 2.0, 3.0)");
  EXPECT_EQ(parseError(npyFile("[1, 2]", four)),
            "corrupt .npy header: header is not a dict");
  EXPECT_EQ(parseError(npyFile("{'descr': '<f4', 'shape': (1,)}", four)),
            "corrupt .npy header: header lacks 'descr', 'fortran_order' or "
            "'shape'");
  EXPECT_EQ(parseError(npyFile(header("<f4", "False", "(1, -2)"), four)),
            "corrupt .npy header: expected a non-negative integer in 'shape'");
  EXPECT_EQ(parseError(npyFile(header("<f4", "True", "(1,)"), four)),
            "fortran_order arrays are not supported; save a C-contiguous "
            "array (numpy.ascontiguousarray)");
  EXPECT_EQ(parseError(npyFile(header(">f4", "False", "(1,)"), four)),
            "big-endian dtype '>f4' is not supported; save the array as "
            "little-endian");
  EXPECT_NE(parseError(npyFile(header("<c8", "False", "(1,)"), four))
                .find("unsupported dtype '<c8'"),
            std::string::npos);
  EXPECT_NE(parseError(npyFile(header("<U3", "False", "(1,)"), four))
                .find("unsupported dtype '<U3'"),
            std::string::npos);
  EXPECT_EQ(parseError(npyFile("{'descr': [('a', '<f4')], 'fortran_order': "
                               "False, 'shape': (1,)}",
                               four)),
            "corrupt .npy header: structured dtypes are not supported");
  EXPECT_EQ(parseError(npyFile(header("<f4", "False", "(2,)"), four)),
            "data size mismatch: dtype '<f4' and the shape need 8 bytes, the "
            "file has 4");
  EXPECT_EQ(parseError(npyFile(
                header("<f4", "False", "(99999999999, 99999999999)"), four)),
            "tensor is too large");
}

// Keys and descrs are echoed in messages; a newline in one must not split
// the one-line error (found by test/fuzz's npy target).
TEST(NpyTest, ErrorsStayOnOneLine) {
  std::string error =
      parseError(npyFile("{'de\nscr': '<f4', }", {}));
  EXPECT_EQ(error, "corrupt .npy header: unexpected key 'de scr' in the header");
  error = parseError(npyFile(
      "{'descr': '<f\r4', 'fortran_order': False, 'shape': (1,), }", {}));
  EXPECT_NE(error, "");
  EXPECT_EQ(error.find_first_of("\r\n"), std::string::npos) << error;
}

TEST(NpyTest, EveryPrefixFailsCleanly) {
  HostTensor tensor;
  tensor.dtype = KILN_DTYPE_FLOAT32;
  tensor.dims = {2, 2};
  tensor.data.resize(16, 1);
  Bytes file;
  ASSERT_EQ(kiln::encodeNpy(tensor, file), "");
  for (size_t size = 0; size < file.size(); ++size)
    EXPECT_NE(parseError(Bytes(file.begin(), file.begin() + size)), "") << size;
}

TEST(NpyTest, WriteRejectsWhatNpyCannotHold) {
  HostTensor tensor;
  tensor.dtype = KILN_DTYPE_BFLOAT16;
  tensor.dims = {1};
  tensor.data.resize(2);
  Bytes file;
  EXPECT_EQ(kiln::encodeNpy(tensor, file),
            "dtype bfloat16 has no .npy equivalent (write it as an ONNX "
            "TensorProto .pb)");
  tensor.dtype = KILN_DTYPE_FLOAT32;
  EXPECT_EQ(kiln::encodeNpy(tensor, file),
            "tensor holds 2 bytes but its dtype and shape need 4");
  for (kiln_dtype dtype :
       {KILN_DTYPE_BFLOAT16, KILN_DTYPE_FLOAT8E4M3FN, KILN_DTYPE_FLOAT8E4M3FNUZ,
        KILN_DTYPE_FLOAT8E5M2, KILN_DTYPE_FLOAT8E5M2FNUZ, KILN_DTYPE_FLOAT8E8M0,
        KILN_DTYPE_FLOAT4E2M1}) {
    EXPECT_FALSE(kiln::npyCanHold(dtype)) << kiln_dtype_name(dtype);
    std::vector<uint8_t> header;
    EXPECT_NE(kiln::encodeNpyHeader(dtype, {1}, kiln_dtype_size(dtype), header),
              "")
        << kiln_dtype_name(dtype);
  }
  EXPECT_TRUE(kiln::npyCanHold(KILN_DTYPE_FLOAT16));
  EXPECT_FALSE(kiln::npyCanHold(KILN_DTYPE_INVALID));
}

TEST(NpyTest, SubByteIntegersAreWrittenOnePerByte) {
  // int4/int2 become int8 and uint4/uint2 uint8; reading gives those back.
  struct Case {
    kiln_dtype dtype;
    Bytes values;
    kiln_dtype readBack;
  };
  for (const Case &c : std::vector<Case>{
           {KILN_DTYPE_INT4, {0xf8, 7, 0xff, 0}, KILN_DTYPE_INT8},
           {KILN_DTYPE_INT2, {0xfe, 1, 0xff, 0}, KILN_DTYPE_INT8},
           {KILN_DTYPE_UINT4, {15, 0, 8, 1}, KILN_DTYPE_UINT8},
           {KILN_DTYPE_UINT2, {3, 0, 2, 1}, KILN_DTYPE_UINT8}}) {
    SCOPED_TRACE(kiln_dtype_name(c.dtype));
    EXPECT_TRUE(kiln::npyCanHold(c.dtype));
    HostTensor tensor{"", c.dtype, {2, 2}, c.values};
    Bytes file;
    ASSERT_EQ(kiln::encodeNpy(tensor, file), "");
    HostTensor back;
    ASSERT_EQ(kiln::parseNpy(file.data(), file.size(), back), "");
    EXPECT_EQ(back.dtype, c.readBack);
    EXPECT_EQ(back.dims, tensor.dims);
    EXPECT_EQ(back.data, c.values);
  }
}

TEST(NpyTest, SubByteValuesOutsideTheirRangeAreNotWritten) {
  HostTensor tensor{"", KILN_DTYPE_INT4, {3}, {1, 8, 0}};
  Bytes file;
  EXPECT_EQ(kiln::encodeNpy(tensor, file),
            "element 1 is 8, outside int4's range [-8, 7] (one element per "
            "byte, sign-extended)");
  tensor = {"", KILN_DTYPE_UINT2, {3}, {0, 3, 4}};
  EXPECT_EQ(kiln::encodeNpy(tensor, file),
            "element 2 is 4, outside uint2's range [0, 3] (one element per "
            "byte, zero-extended)");
  kiln::test::TempFile path(Bytes(), ".npy");
  EXPECT_NE(kiln::writeNpy(path.path(), tensor).find("outside uint2's range"),
            std::string::npos);
  // The check itself, for each sub-byte dtype's edges.
  const uint8_t int2Edges[] = {0xfe, 1}, int2Past[] = {2};
  EXPECT_EQ(kiln::checkSubByteValues(KILN_DTYPE_INT2, int2Edges, 2), "");
  EXPECT_NE(kiln::checkSubByteValues(KILN_DTYPE_INT2, int2Past, 1), "");
  const uint8_t fp4Edge[] = {15}, fp4Past[] = {16};
  EXPECT_EQ(kiln::checkSubByteValues(KILN_DTYPE_FLOAT4E2M1, fp4Edge, 1), "");
  EXPECT_NE(kiln::checkSubByteValues(KILN_DTYPE_FLOAT4E2M1, fp4Past, 1), "");
  EXPECT_EQ(kiln::checkSubByteValues(KILN_DTYPE_INT8, fp4Past, 1), "");
}

TEST(NpyTest, MissingFile) {
  HostTensor tensor;
  EXPECT_EQ(kiln::readNpy("/nonexistent/x.npy", tensor),
            "cannot open '/nonexistent/x.npy': No such file or directory");
}

} // namespace
