//===- KilnConstants.cpp - Reading and making weight constants ------------===//

#include "kiln/dialects/Kiln/KilnConstants.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/Support/ErrorHandling.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <sys/mman.h>

using namespace mlir;

/// Bytes per element in MLIR's dense storage (i1 counted as one byte).
static size_t storageBytes(Type elt) {
  return (elt.getIntOrFloatBitWidth() + 7) / 8;
}

std::optional<std::vector<char>> kiln::constantBytes(ElementsAttr attr) {
  Type elt = attr.getElementType();
  if (!elt.isIntOrFloat())
    return std::nullopt;
  size_t width = storageBytes(elt);
  size_t size = width * attr.getNumElements();
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != size)
      return std::nullopt;
    ArrayRef<char> data = blob->getData();
    return std::vector<char>(data.begin(), data.end());
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    return std::nullopt;
  if (elt.isInteger(1)) { // bit-packed in the attribute
    std::vector<char> out;
    out.reserve(size);
    for (bool b : dense.getValues<bool>())
      out.push_back(b ? 1 : 0);
    return out;
  }
  ArrayRef<char> raw = dense.getRawData();
  if (dense.isSplat()) {
    if (raw.size() != width)
      return std::nullopt;
    std::vector<char> out(size);
    for (size_t i = 0; i < size; i += width)
      std::copy(raw.begin(), raw.end(), out.begin() + i);
    return out;
  }
  if (raw.size() != size)
    return std::nullopt;
  return std::vector<char>(raw.begin(), raw.end());
}

std::optional<std::vector<double>> kiln::constantFloats(ElementsAttr attr) {
  auto floatType = dyn_cast<FloatType>(attr.getElementType());
  if (!floatType)
    return std::nullopt;
  std::vector<char> storage;
  std::optional<ArrayRef<char>> bytes = constantBytes(attr, storage);
  if (!bytes)
    return std::nullopt;
  std::vector<double> out;
  out.reserve(attr.getNumElements());
  // f32 and f64 weights (nearly all of them) convert exactly by a cast;
  // APFloat per element took a third of a quantized compile.
  if (floatType.isF32()) {
    for (size_t i = 0; i + sizeof(float) <= bytes->size(); i += sizeof(float)) {
      float value;
      std::memcpy(&value, bytes->data() + i, sizeof(float));
      out.push_back(value);
    }
    return out;
  }
  if (floatType.isF64()) {
    out.resize(bytes->size() / sizeof(double));
    std::memcpy(out.data(), bytes->data(), out.size() * sizeof(double));
    return out;
  }
  // Every other float type's bit pattern, through APFloat.
  const llvm::fltSemantics &semantics = floatType.getFloatSemantics();
  unsigned width = floatType.getWidth(), stride = (width + 7) / 8;
  for (size_t i = 0; i + stride <= bytes->size(); i += stride) {
    uint64_t bits = 0;
    std::memcpy(&bits, bytes->data() + i, stride); // little-endian host
    APFloat value(semantics, APInt(width, bits));
    bool lost;
    value.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
    out.push_back(value.convertToDouble());
  }
  return out;
}

std::optional<ArrayRef<char>>
kiln::constantBytes(ElementsAttr attr, std::vector<char> &storage) {
  Type elt = attr.getElementType();
  if (!elt.isIntOrFloat())
    return std::nullopt;
  size_t size = storageBytes(elt) * attr.getNumElements();
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != size)
      return std::nullopt;
    return blob->getData();
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (dense && !dense.isSplat() && !elt.isInteger(1) &&
      dense.getRawData().size() == size)
    return dense.getRawData();
  std::optional<std::vector<char>> copy = constantBytes(attr);
  if (!copy)
    return std::nullopt;
  storage = std::move(*copy);
  return ArrayRef<char>(storage);
}

AsmResourceBlob kiln::allocateConstantBlob(size_t size) {
  constexpr size_t kAlignment = 64;
  constexpr size_t kHugePage = size_t(2) << 20;
  if (size < 2 * kHugePage)
    return HeapAsmResourceBlob::allocate(size, kAlignment);
  void *data = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (data == MAP_FAILED)
    return HeapAsmResourceBlob::allocate(size, kAlignment);
  // Advice only: where the kernel has no huge pages this changes nothing.
  (void)madvise(data, size, MADV_HUGEPAGE);
  return AsmResourceBlob(
      ArrayRef<char>(static_cast<const char *>(data), size), kAlignment,
      [](void *p, size_t n, size_t) { munmap(p, n); }, /*dataIsMutable=*/true);
}

ElementsAttr kiln::makeConstantAttr(RankedTensorType type,
                                    AsmResourceBlob blob, StringRef name) {
  if (type.getNumElements() <= kInlineConstantLimit)
    return makeConstantAttr(type, blob.getData(), name);
  return DenseResourceElementsAttr::get(type, name, std::move(blob));
}

ElementsAttr kiln::makeConstantAttr(RankedTensorType type,
                                    ArrayRef<char> bytes, StringRef name) {
  if (type.getElementType().isInteger(1)) { // one byte each -> bits
    SmallVector<bool> bits(bytes.begin(), bytes.end());
    if (type.getNumElements() <= kInlineConstantLimit)
      return DenseElementsAttr::get(type, bits);
  }
  if (type.getNumElements() <= kInlineConstantLimit)
    return DenseElementsAttr::getFromRawBuffer(type, bytes);
  AsmResourceBlob blob = allocateConstantBlob(bytes.size());
  std::memcpy(blob.getMutableData().data(), bytes.data(), bytes.size());
  return DenseResourceElementsAttr::get(type, name, std::move(blob));
}

/// transposeElements for one element type: blocks of kBlock x kBlock, each
/// read row by row and written column by column within the cache.
template <typename T>
static void transposeBlocked(const char *from, int64_t fromStride, char *to,
                             int64_t toStride, int64_t rows, int64_t cols) {
  constexpr int64_t kBlock = 32;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock)
    for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
      int64_t rEnd = std::min(rows, r0 + kBlock);
      int64_t cEnd = std::min(cols, c0 + kBlock);
      for (int64_t r = r0; r < rEnd; ++r)
        for (int64_t c = c0; c < cEnd; ++c) {
          T value;
          std::memcpy(&value, from + (r * fromStride + c) * sizeof(T),
                      sizeof(T));
          std::memcpy(to + (c * toStride + r) * sizeof(T), &value, sizeof(T));
        }
    }
}

void kiln::transposeElements(const char *from, int64_t fromStride, char *to,
                             int64_t toStride, int64_t rows, int64_t cols,
                             size_t width) {
  using Transpose = void (*)(const char *, int64_t, char *, int64_t, int64_t,
                             int64_t);
  // Indexed by the element width in bytes.
  static constexpr Transpose kByWidth[] = {
      nullptr, transposeBlocked<uint8_t>, transposeBlocked<uint16_t>,
      nullptr, transposeBlocked<uint32_t>, nullptr,
      nullptr, nullptr,                    transposeBlocked<uint64_t>};
  if (width >= std::size(kByWidth) || !kByWidth[width])
    llvm_unreachable("transposeElements: element width is 1, 2, 4 or 8");
  kByWidth[width](from, fromStride, to, toStride, rows, cols);
}

DenseElementsAttr kiln::scalarConstantAttr(Type elementType, double value) {
  Builder b(elementType.getContext());
  auto type = RankedTensorType::get({}, elementType);
  if (auto ft = dyn_cast<FloatType>(elementType))
    return DenseElementsAttr::get(type, b.getFloatAttr(ft, value));
  return DenseElementsAttr::get(type,
                                b.getIntegerAttr(elementType, (int64_t)value));
}
