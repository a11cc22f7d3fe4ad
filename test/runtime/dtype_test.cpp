//===- dtype_test.cpp - kiln/dtype.h: sizes, bits, packed sizes, names ---===//
//
// dtype.h is the vocabulary the compiler and the runtime share; these pin
// down the sub-byte rule: one byte per element at the API, packed bits in
// stored weights.
//
//===----------------------------------------------------------------------===//

#include "kiln/dtype.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace {

struct DtypeFacts {
  int dtype;
  const char *name;
  size_t apiSize;
  unsigned bits;
};

// ONNX TensorProto.DataType numbering, every dtype Kiln knows.
const DtypeFacts kDtypes[] = {
    {1, "float32", 4, 32},         {2, "uint8", 1, 8},
    {3, "int8", 1, 8},             {4, "uint16", 2, 16},
    {5, "int16", 2, 16},           {6, "int32", 4, 32},
    {7, "int64", 8, 64},           {9, "bool", 1, 8},
    {10, "float16", 2, 16},        {11, "float64", 8, 64},
    {12, "uint32", 4, 32},         {13, "uint64", 8, 64},
    {16, "bfloat16", 2, 16},       {17, "float8e4m3fn", 1, 8},
    {18, "float8e4m3fnuz", 1, 8},  {19, "float8e5m2", 1, 8},
    {20, "float8e5m2fnuz", 1, 8},  {21, "uint4", 1, 4},
    {22, "int4", 1, 4},            {23, "float4e2m1", 1, 4},
    {24, "float8e8m0", 1, 8},      {25, "uint2", 1, 2},
    {26, "int2", 1, 2},
};

TEST(DtypeTest, EveryDtypeHasItsSizeBitsAndName) {
  std::set<std::string> names;
  for (const DtypeFacts &facts : kDtypes) {
    SCOPED_TRACE(facts.name);
    EXPECT_EQ(kiln_dtype_size(facts.dtype), facts.apiSize);
    EXPECT_EQ(kiln_dtype_bits(facts.dtype), facts.bits);
    EXPECT_STREQ(kiln_dtype_name(facts.dtype), facts.name);
    EXPECT_TRUE(names.insert(facts.name).second);
  }
  EXPECT_EQ(KILN_DTYPE_FLOAT8E4M3FNUZ, 18);
  EXPECT_EQ(KILN_DTYPE_FLOAT8E5M2FNUZ, 20);
  EXPECT_EQ(KILN_DTYPE_FLOAT8E8M0, 24);
  EXPECT_EQ(KILN_DTYPE_UINT2, 25);
  EXPECT_EQ(KILN_DTYPE_INT2, 26);
}

TEST(DtypeTest, UnknownDtypes) {
  for (int dtype : {0, 8, 14, 15, 27, 99, -1}) {
    EXPECT_EQ(kiln_dtype_size(dtype), 0u) << dtype;
    EXPECT_EQ(kiln_dtype_bits(dtype), 0u) << dtype;
    EXPECT_EQ(kiln_dtype_packed_size(dtype, 10), 0u) << dtype;
    EXPECT_STREQ(kiln_dtype_name(dtype), "invalid") << dtype;
  }
}

TEST(DtypeTest, PackedSizeRoundsUpToWholeBytes) {
  // 4 bits: two elements per byte.
  EXPECT_EQ(kiln_dtype_packed_size(KILN_DTYPE_INT4, 0), 0u);
  EXPECT_EQ(kiln_dtype_packed_size(KILN_DTYPE_INT4, 1), 1u);
  EXPECT_EQ(kiln_dtype_packed_size(KILN_DTYPE_UINT4, 5), 3u);
  EXPECT_EQ(kiln_dtype_packed_size(KILN_DTYPE_FLOAT4E2M1, 6), 3u);
  // 2 bits: four elements per byte.
  EXPECT_EQ(kiln_dtype_packed_size(KILN_DTYPE_INT2, 1), 1u);
  EXPECT_EQ(kiln_dtype_packed_size(KILN_DTYPE_INT2, 4), 1u);
  EXPECT_EQ(kiln_dtype_packed_size(KILN_DTYPE_UINT2, 7), 2u);
  EXPECT_EQ(kiln_dtype_packed_size(KILN_DTYPE_UINT2, 12), 3u);
  // Byte-sized and larger: elements x size.
  EXPECT_EQ(kiln_dtype_packed_size(KILN_DTYPE_FLOAT8E5M2, 7), 7u);
  EXPECT_EQ(kiln_dtype_packed_size(KILN_DTYPE_BOOL, 7), 7u);
  EXPECT_EQ(kiln_dtype_packed_size(KILN_DTYPE_BFLOAT16, 7), 14u);
  EXPECT_EQ(kiln_dtype_packed_size(KILN_DTYPE_INT64, 7), 56u);
  // No overflow anywhere: huge counts pack, or saturate.
  EXPECT_EQ(kiln_dtype_packed_size(KILN_DTYPE_INT4, UINT64_MAX),
            UINT64_MAX / 2 + 1);
  EXPECT_EQ(kiln_dtype_packed_size(KILN_DTYPE_INT2, UINT64_MAX),
            UINT64_MAX / 4 + 1);
  EXPECT_EQ(kiln_dtype_packed_size(KILN_DTYPE_UINT8, UINT64_MAX), UINT64_MAX);
  EXPECT_EQ(kiln_dtype_packed_size(KILN_DTYPE_FLOAT32, UINT64_MAX / 2),
            UINT64_MAX);
  EXPECT_EQ(kiln_dtype_packed_size(KILN_DTYPE_FLOAT32, UINT64_MAX / 4),
            UINT64_MAX / 4 * 4);
}

} // namespace
