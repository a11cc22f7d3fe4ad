//===- npy.cpp - NumPy .npy reader and writer ----------------------------===//
//
// Format: "\x93NUMPY", major, minor, header length (u16 for 1.0, u32 for
// 2.0/3.0), then an ASCII Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and a newline, then the raw array bytes.
//
//===----------------------------------------------------------------------===//

#include "kiln/tensor_io.h"

#include "no_throw.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

namespace kiln {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

struct DescrEntry {
  char kind;    // NumPy kind character
  int itemSize; // bytes
  kiln_dtype dtype = KILN_DTYPE_INVALID;
};

constexpr DescrEntry kDescrs[] = {
    {'f', 2, KILN_DTYPE_FLOAT16}, {'f', 4, KILN_DTYPE_FLOAT32},
    {'f', 8, KILN_DTYPE_FLOAT64}, {'i', 1, KILN_DTYPE_INT8},
    {'i', 2, KILN_DTYPE_INT16},   {'i', 4, KILN_DTYPE_INT32},
    {'i', 8, KILN_DTYPE_INT64},   {'u', 1, KILN_DTYPE_UINT8},
    {'u', 2, KILN_DTYPE_UINT16},  {'u', 4, KILN_DTYPE_UINT32},
    {'u', 8, KILN_DTYPE_UINT64},  {'b', 1, KILN_DTYPE_BOOL},
};

/// '<f4' -> float32. '|' and '=' are accepted (the host is little-endian);
/// '>' only where byte order cannot matter.
std::string dtypeFromDescr(const std::string &descr, kiln_dtype &out) {
  if (descr.size() >= 2) {
    char order = descr[0];
    char kind = descr[1];
    int itemSize = std::atoi(descr.c_str() + 2);
    bool digits = descr.size() > 2 &&
                  descr.find_first_not_of("0123456789", 2) == std::string::npos;
    for (const DescrEntry &entry : kDescrs) {
      if (!digits || entry.kind != kind || entry.itemSize != itemSize)
        continue;
      if (order == '>' && itemSize > 1)
        return "big-endian dtype '" + descr +
               "' is not supported; save the array as little-endian";
      if (order != '<' && order != '|' && order != '=' && order != '>')
        break;
      out = entry.dtype;
      return "";
    }
  }
  return "unsupported dtype '" + descr +
         "' (supported: bool, int8-64, uint8-64, float16/32/64)";
}

/// A cursor over the header dict literal: just enough of Python's syntax
/// for what numpy.save writes (and hand-written variants of it).
class DictParser {
public:
  explicit DictParser(const std::string &text) : text_(text) {}

  std::string parse(std::string &descr, bool &fortranOrder,
                    std::vector<int64_t> &shape) {
    bool haveDescr = false, haveOrder = false, haveShape = false;
    if (!consume('{'))
      return "header is not a dict";
    while (!consume('}')) {
      std::string key;
      if (!parseString(key))
        return "expected a quoted key in the header";
      if (!consume(':'))
        return "expected ':' after '" + key + "' in the header";
      if (key == "descr") {
        if (peek() == '[')
          return "structured dtypes are not supported";
        if (!parseString(descr))
          return "expected a string for 'descr'";
        haveDescr = true;
      } else if (key == "fortran_order") {
        if (!parseBool(fortranOrder))
          return "expected True or False for 'fortran_order'";
        haveOrder = true;
      } else if (key == "shape") {
        if (std::string error = parseShape(shape); !error.empty())
          return error;
        haveShape = true;
      } else {
        return "unexpected key '" + key + "' in the header";
      }
      if (!consume(',') && peek() != '}')
        return "expected ',' or '}' in the header";
    }
    skipSpace();
    if (pos_ != text_.size())
      return "unexpected text after the header dict";
    if (!haveDescr || !haveOrder || !haveShape)
      return "header lacks 'descr', 'fortran_order' or 'shape'";
    return "";
  }

private:
  void skipSpace() {
    while (pos_ < text_.size() && std::strchr(" \t\n\r", text_[pos_]))
      ++pos_;
  }
  char peek() {
    skipSpace();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  bool consume(char c) {
    if (peek() != c)
      return false;
    ++pos_;
    return true;
  }
  bool consumeWord(const char *word) {
    size_t length = std::strlen(word);
    if (peek() == '\0' || text_.compare(pos_, length, word) != 0)
      return false;
    pos_ += length;
    return true;
  }
  bool parseString(std::string &out) {
    char quote = peek();
    if (quote != '\'' && quote != '"')
      return false;
    size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string::npos)
      return false;
    out = text_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return true;
  }
  bool parseBool(bool &out) {
    if (consumeWord("True"))
      out = true;
    else if (consumeWord("False"))
      out = false;
    else
      return false;
    return true;
  }
  std::string parseShape(std::vector<int64_t> &shape) {
    if (!consume('('))
      return "expected a tuple for 'shape'";
    shape.clear();
    while (!consume(')')) {
      skipSpace();
      size_t start = pos_;
      int64_t value = 0;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        if (value > (INT64_MAX - 9) / 10)
          return "dimension too large in 'shape'";
        value = value * 10 + (text_[pos_++] - '0');
      }
      if (pos_ == start)
        return "expected a non-negative integer in 'shape'";
      if (pos_ < text_.size() && text_[pos_] == 'L') // Python 2 long
        ++pos_;
      shape.push_back(value);
      if (!consume(',') && peek() != ')')
        return "expected ',' or ')' in 'shape'";
    }
    return "";
  }

  const std::string &text_;
  size_t pos_ = 0;
};

/// The descr `dtype` is written with, from its storage's kDescrs entry
/// ('|' for one-byte items, '<' otherwise); int4/int2 are stored one element
/// per byte, sign-extended, as int8, and uint4/uint2 zero-extended as uint8.
/// Empty when NumPy has no equivalent.
std::string descrFor(kiln_dtype dtype) {
  if (dtype == KILN_DTYPE_INT4 || dtype == KILN_DTYPE_INT2)
    dtype = KILN_DTYPE_INT8;
  if (dtype == KILN_DTYPE_UINT4 || dtype == KILN_DTYPE_UINT2)
    dtype = KILN_DTYPE_UINT8;
  for (const DescrEntry &entry : kDescrs)
    if (entry.dtype == dtype)
      return (entry.itemSize == 1 ? "|" : "<") + std::string(1, entry.kind) +
             std::to_string(entry.itemSize);
  return "";
}

uint32_t readLittleEndian(const uint8_t *bytes, int count) {
  uint32_t value = 0;
  for (int i = count - 1; i >= 0; --i)
    value = value << 8 | bytes[i];
  return value;
}

std::string parseNpyUnchecked(const uint8_t *data, size_t size,
                              HostTensor &out) {
  if (size < kMagicSize || std::memcmp(data, kMagic, kMagicSize) != 0)
    return "not a .npy file (bad magic)";
  if (size < kMagicSize + 2)
    return "truncated .npy header";
  int major = data[6], minor = data[7];
  // 3.0 differs from 2.0 only in allowing UTF-8 in the header.
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    return "unsupported .npy version " + std::to_string(major) + "." +
           std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)";
  size_t lengthBytes = major == 1 ? 2 : 4;
  size_t prefix = 8 + lengthBytes;
  if (size < prefix)
    return "truncated .npy header";
  uint64_t headerLength = readLittleEndian(data + 8, int(lengthBytes));
  if (headerLength > size - prefix)
    return "truncated .npy header: it says " + std::to_string(headerLength) +
           " bytes, the file has " + std::to_string(size - prefix) + " left";

  std::string header(reinterpret_cast<const char *>(data + prefix),
                     size_t(headerLength));
  std::string descr;
  bool fortranOrder = false;
  std::vector<int64_t> shape;
  if (std::string error = DictParser(header).parse(descr, fortranOrder, shape);
      !error.empty())
    return "corrupt .npy header: " + error;
  kiln_dtype dtype = KILN_DTYPE_INVALID;
  if (std::string error = dtypeFromDescr(descr, dtype); !error.empty())
    return error;
  if (fortranOrder)
    return "fortran_order arrays are not supported; save a C-contiguous "
           "array (numpy.ascontiguousarray)";

  uint64_t elements, bytes;
  if (std::string error = tensorSize(dtype, shape, elements, bytes);
      !error.empty())
    return error;
  uint64_t available = size - prefix - headerLength;
  if (bytes != available)
    return "data size mismatch: dtype '" + descr + "' and the shape need " +
           std::to_string(bytes) + " bytes, the file has " +
           std::to_string(available);
  out.name.clear();
  out.dtype = dtype;
  out.dims = std::move(shape);
  const uint8_t *begin = data + prefix + headerLength;
  out.data.assign(begin, begin + bytes);
  return "";
}

std::string encodeHeaderUnchecked(kiln_dtype dtype,
                                  const std::vector<int64_t> &dims,
                                  uint64_t dataBytes,
                                  std::vector<uint8_t> &out) {
  std::string descr = descrFor(dtype);
  if (descr.empty())
    return std::string("dtype ") + kiln_dtype_name(dtype) +
           " has no .npy equivalent (write it as an ONNX TensorProto .pb)";
  uint64_t elements;
  if (std::string error = checkTensorBytes(dtype, dims, dataBytes, elements);
      !error.empty())
    return error;

  std::string shape = "(";
  for (size_t i = 0; i < dims.size(); ++i)
    shape += (i ? ", " : "") + std::to_string(dims[i]);
  if (dims.size() == 1)
    shape += ",";
  shape += ")";
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // numpy aligns the data to 64 bytes; pad with spaces, end with '\n'.
  size_t prefix = 10;
  size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  if (total - prefix > 0xffff)
    return "shape too long for a version 1.0 .npy header";
  header.append(total - prefix - header.size() - 1, ' ');
  header += '\n';

  out = {0x93,
         'N',
         'U',
         'M',
         'P',
         'Y',
         1,
         0,
         uint8_t(header.size() & 0xff),
         uint8_t(header.size() >> 8)};
  out.insert(out.end(), header.begin(), header.end());
  return "";
}

} // namespace

std::string parseNpy(const uint8_t *data, size_t size, HostTensor &out) {
  return detail::noThrow([&] { return parseNpyUnchecked(data, size, out); });
}

std::string readNpy(const std::string &path, HostTensor &out) {
  return detail::noThrow(
      [&] { return detail::readAndParse(path, out, parseNpyUnchecked); });
}

bool npyCanHold(kiln_dtype dtype) { return !descrFor(dtype).empty(); }

std::string encodeNpyHeader(kiln_dtype dtype, const std::vector<int64_t> &dims,
                            uint64_t dataBytes, std::vector<uint8_t> &out) {
  return detail::noThrow(
      [&] { return encodeHeaderUnchecked(dtype, dims, dataBytes, out); });
}

std::string encodeNpy(const HostTensor &tensor, std::vector<uint8_t> &out) {
  return detail::noThrow([&]() -> std::string {
    if (std::string error = encodeHeaderUnchecked(tensor.dtype, tensor.dims,
                                                  tensor.data.size(), out);
        !error.empty())
      return error;
    if (std::string error = checkSubByteValues(tensor.dtype, tensor.data.data(),
                                               tensor.data.size());
        !error.empty())
      return error;
    out.insert(out.end(), tensor.data.begin(), tensor.data.end());
    return "";
  });
}

std::string writeNpy(const std::string &path, const HostTensor &tensor) {
  return detail::noThrow([&]() -> std::string {
    std::vector<uint8_t> header;
    if (std::string error = encodeHeaderUnchecked(tensor.dtype, tensor.dims,
                                                  tensor.data.size(), header);
        !error.empty())
      return "cannot write '" + path + "': " + error;
    if (std::string error = checkSubByteValues(tensor.dtype, tensor.data.data(),
                                               tensor.data.size());
        !error.empty())
      return "cannot write '" + path + "': " + error;
    FILE *file = std::fopen(path.c_str(), "wb");
    if (!file)
      return "cannot create '" + path + "': " + std::strerror(errno);
    bool ok =
        std::fwrite(header.data(), 1, header.size(), file) == header.size();
    ok &= tensor.data.empty() ||
          std::fwrite(tensor.data.data(), 1, tensor.data.size(), file) ==
              tensor.data.size();
    ok &= std::fclose(file) == 0;
    if (!ok)
      return "cannot write '" + path + "': " + std::strerror(errno);
    return "";
  });
}

} // namespace kiln
