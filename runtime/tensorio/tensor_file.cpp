//===- tensor_file.cpp - Shared helpers and format dispatch --------------===//

#include "kiln/tensor_io.h"

#include "no_throw.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <sys/stat.h>

namespace kiln {

std::string tensorSize(kiln_dtype dtype, const std::vector<int64_t> &dims,
                       uint64_t &elements, uint64_t &bytes) {
  size_t elementSize = kiln_dtype_size(dtype);
  if (elementSize == 0)
    return "unsupported dtype " + std::to_string(int(dtype));
  bool hasZero = false;
  for (int64_t dim : dims) {
    if (dim < 0)
      return "negative dimension " + std::to_string(dim);
    hasZero |= dim == 0;
  }
  // Limit to what a vector<uint8_t> could ever hold, so that callers can
  // size buffers from it without further checks.
  const uint64_t limit = uint64_t(PTRDIFF_MAX) / 8;
  uint64_t count = 1;
  for (int64_t dim : dims) {
    if (!hasZero && count > limit / uint64_t(dim))
      return "tensor is too large";
    count *= uint64_t(dim);
  }
  elements = count;
  bytes = count * elementSize;
  return "";
}

std::string checkTensorBytes(kiln_dtype dtype, const std::vector<int64_t> &dims,
                             uint64_t dataBytes, uint64_t &elements) {
  uint64_t bytes;
  if (std::string error = tensorSize(dtype, dims, elements, bytes);
      !error.empty())
    return error;
  if (bytes != dataBytes)
    return "tensor holds " + std::to_string(dataBytes) +
           " bytes but its dtype and shape need " + std::to_string(bytes);
  return "";
}

std::string readFileBytes(const std::string &path, std::vector<uint8_t> &out) {
  FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    return "cannot open '" + path + "': " + std::strerror(errno);
  struct stat info;
  if (fstat(fileno(file), &info) != 0 || !S_ISREG(info.st_mode)) {
    std::fclose(file);
    return "'" + path + "' is not a regular file";
  }
  try {
    out.resize(size_t(info.st_size));
  } catch (const std::bad_alloc &) {
    std::fclose(file);
    return "'" + path + "': out of memory";
  }
  size_t read = out.empty() ? 0 : std::fread(out.data(), 1, out.size(), file);
  bool failed = read != out.size() || std::ferror(file);
  std::fclose(file);
  if (failed)
    return "cannot read '" + path + "'";
  return "";
}

std::string checkSubByteValues(kiln_dtype dtype, const uint8_t *data,
                               size_t count) {
  unsigned bits = kiln_dtype_bits(dtype);
  if (bits == 0 || bits >= 8)
    return "";
  bool isSigned = dtype == KILN_DTYPE_INT4 || dtype == KILN_DTYPE_INT2;
  int low = isSigned ? -(1 << (bits - 1)) : 0;
  int high = isSigned ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
  for (size_t i = 0; i < count; ++i) {
    int value = isSigned ? int(int8_t(data[i])) : int(data[i]);
    if (value < low || value > high)
      return "element " + std::to_string(i) + " is " + std::to_string(value) +
             ", outside " + kiln_dtype_name(dtype) + "'s range [" +
             std::to_string(low) + ", " + std::to_string(high) +
             "] (one element per byte, " +
             (isSigned ? "sign-extended)" : "zero-extended)");
  }
  return "";
}

std::string writeFileBytes(const std::string &path,
                           const std::vector<uint8_t> &bytes) {
  FILE *file = std::fopen(path.c_str(), "wb");
  if (!file)
    return "cannot create '" + path + "': " + std::strerror(errno);
  bool ok = bytes.empty() ||
            std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  ok &= std::fclose(file) == 0;
  if (!ok)
    return "cannot write '" + path + "': " + std::strerror(errno);
  return "";
}

namespace {
bool endsWith(const std::string &text, const char *suffix) {
  size_t length = std::strlen(suffix);
  return text.size() >= length &&
         text.compare(text.size() - length, length, suffix) == 0;
}
} // namespace

std::string readTensorFile(const std::string &path, HostTensor &out) {
  return detail::noThrow([&]() -> std::string {
    if (endsWith(path, ".npy"))
      return readNpy(path, out);
    if (endsWith(path, ".pb"))
      return readOnnxTensor(path, out);
    // Unknown extension: a .npy announces itself; anything else is ambiguous.
    std::vector<uint8_t> bytes;
    if (std::string error = readFileBytes(path, bytes); !error.empty())
      return error;
    if (bytes.size() >= 6 && std::memcmp(bytes.data(), "\x93NUMPY", 6) == 0)
      return readNpy(path, out);
    return "'" + path +
           "': cannot tell the tensor format; name it *.npy (NumPy) or *.pb "
           "(ONNX TensorProto)";
  });
}

} // namespace kiln
