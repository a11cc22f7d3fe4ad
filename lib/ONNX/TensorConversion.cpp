//===- TensorConversion.cpp - ONNX TensorProto to MLIR attributes ---------===//
//
// ONNX stores tensor values either as little-endian raw bytes or in typed
// repeated fields (with several element types sharing int32_data). Both are
// brought to one raw little-endian buffer first, then turned into an
// attribute: inline for small tensors (so folding can read them), a dense
// resource blob for weights (never printed into the IR as text).
//
//===----------------------------------------------------------------------===//

#include "NodeContext.h"

#include "kiln/dialects/Kiln/KilnConstants.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cstring>
#include <limits>

using namespace mlir;
using namespace kiln::onnx_import;

Type kiln::onnx_import::elementTypeFor(MLIRContext *ctx, int onnxType) {
  Builder b(ctx);
  switch (onnxType) {
  case onnx::TensorProto::FLOAT: return b.getF32Type();
  case onnx::TensorProto::DOUBLE: return b.getF64Type();
  case onnx::TensorProto::FLOAT16: return b.getF16Type();
  case onnx::TensorProto::BFLOAT16: return b.getBF16Type();
  case onnx::TensorProto::BOOL: return b.getI1Type();
  case onnx::TensorProto::INT8:
  case onnx::TensorProto::UINT8: return b.getI8Type();
  case onnx::TensorProto::INT16:
  case onnx::TensorProto::UINT16: return b.getI16Type();
  case onnx::TensorProto::INT32:
  case onnx::TensorProto::UINT32: return b.getI32Type();
  case onnx::TensorProto::INT64:
  case onnx::TensorProto::UINT64: return b.getI64Type();
  // The low-precision types (numbered past what libonnx's enum knows).
  case 17: return b.getType<Float8E4M3FNType>();
  case 18: return b.getType<Float8E4M3FNUZType>();
  case 19: return b.getType<Float8E5M2Type>();
  case 20: return b.getType<Float8E5M2FNUZType>();
  case 21: case 22: return b.getIntegerType(4); // uint4, int4
  case 23: return b.getType<Float4E2M1FNType>();
  case 24: return b.getType<Float8E8M0FNUType>();
  case 25: case 26: return b.getIntegerType(2); // uint2, int2
  default: return nullptr;
  }
}

bool kiln::onnx_import::isUnsignedOnnxType(int onnxType) {
  switch (onnxType) {
  case onnx::TensorProto::UINT8: case onnx::TensorProto::UINT16:
  case onnx::TensorProto::UINT32: case onnx::TensorProto::UINT64:
  case 21: case 25: // uint4, uint2
    return true;
  default:
    return false;
  }
}

std::string kiln::onnx_import::onnxTypeName(int onnxType) {
  switch (onnxType) {
  case 1: return "float";
  case 2: return "uint8";
  case 3: return "int8";
  case 4: return "uint16";
  case 5: return "int16";
  case 6: return "int32";
  case 7: return "int64";
  case 8: return "string";
  case 9: return "bool";
  case 10: return "float16";
  case 11: return "double";
  case 12: return "uint32";
  case 13: return "uint64";
  case 14: return "complex64";
  case 15: return "complex128";
  case 16: return "bfloat16";
  case 17: return "float8e4m3fn";
  case 18: return "float8e4m3fnuz";
  case 19: return "float8e5m2";
  case 20: return "float8e5m2fnuz";
  case 21: return "uint4";
  case 22: return "int4";
  case 23: return "float4e2m1";
  case 24: return "float8e8m0";
  case 25: return "uint2";
  case 26: return "int2";
  default: return "data type " + std::to_string(onnxType);
  }
}

/// Bytes per element in raw_data for the types Kiln supports.
static size_t storageBytes(int onnxType) {
  switch (onnxType) {
  case 11: case 7: case 13: return 8;
  case 1: case 6: case 12: return 4;
  case 10: case 16: case 5: case 4: return 2;
  case 2: case 3: case 9: return 1;
  case 17: case 18: case 19: case 20: case 24: return 1;
  default: return 0;
  }
}

/// Bits per element of the types ONNX packs several to a byte; 0 otherwise.
static unsigned packedBits(int onnxType) {
  switch (onnxType) {
  case 21: case 22: case 23: return 4;
  case 25: case 26: return 2;
  default: return 0;
  }
}

/// Unpacks ONNX's packed sub-byte layout (element 0 in the low bits) to one
/// byte per element, sign-extending the signed integer types, which is how
/// MLIR stores i4/i2/f4 elements in a dense buffer.
static std::vector<char> unpackSubByte(const std::vector<char> &packed,
                                       int onnxType, int64_t numElements) {
  unsigned bits = packedBits(onnxType);
  bool isSigned = onnxType == 22 || onnxType == 26;
  unsigned perByte = 8 / bits, mask = (1u << bits) - 1;
  std::vector<char> out(numElements);
  for (int64_t i = 0; i < numElements; ++i) {
    unsigned byte = (unsigned char)packed[i / perByte];
    unsigned v = (byte >> (bits * (i % perByte))) & mask;
    if (isSigned && (v >> (bits - 1)))
      v |= ~mask;
    out[i] = (char)v;
  }
  return out;
}

/// Appends the low `bytes` bytes of `v`, little-endian.
static void appendLE(std::vector<char> &out, uint64_t v, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i)
    out.push_back((char)((v >> (8 * i)) & 0xff));
}

/// Appends each float of `values` as its IEEE bits (a `Bits` wide),
/// little-endian.
template <typename Bits, typename Floats>
static void appendFloatBits(std::vector<char> &out, const Floats &values) {
  for (auto f : values) {
    Bits bits;
    static_assert(sizeof(bits) == sizeof(f));
    std::memcpy(&bits, &f, sizeof(bits));
    appendLE(out, bits, sizeof(bits));
  }
}

/// The alignment a constant over external data declares: that of the
/// constants Kiln allocates (allocateConstantBlob), so that printed IR is
/// the same whether a weight was mapped or copied.
constexpr size_t kMappedBlobAlignment = 64;

/// Where a tensor's external data lies: a file in the model's folder and a
/// byte range of it that is known to lie inside the file.
struct ExternalRange {
  SmallString<256> path;
  uint64_t offset = 0, length = 0;
};

static llvm::Expected<ExternalRange>
locateExternalData(const onnx::TensorProto &t, StringRef modelDir) {
  std::string location;
  ExternalRange range;
  bool hasLength = false;
  for (const auto &kv : t.external_data()) {
    if (kv.key() == "location") {
      location = kv.value();
      continue;
    }
    if (kv.key() != "offset" && kv.key() != "length")
      continue;
    // A decimal byte count; std::stoull would throw (and abort) on text.
    uint64_t &field = kv.key() == "offset" ? range.offset : range.length;
    if (StringRef(kv.value()).getAsInteger(10, field))
      return llvm::createStringError(
          "external data of tensor '" + t.name() + "' has " + kv.key() +
          " '" + kv.value() + "', not a byte count");
    hasLength |= kv.key() == "length";
  }
  if (location.empty()) {
    return llvm::createStringError("external data of tensor '" + t.name() +
                                   "' has no location");
  }
  // As ONNX's checker: the file lies in the model's folder or below it.
  bool escapes = llvm::sys::path::is_absolute(location) ||
                 llvm::any_of(llvm::make_range(
                                  llvm::sys::path::begin(location),
                                  llvm::sys::path::end(location)),
                              [](StringRef part) { return part == ".."; });
  if (escapes)
    return llvm::createStringError(
        "external data of tensor '" + t.name() + "' is at '" + location +
        "', outside the model's folder (a relative path without '..' is "
        "required)");
  range.path = modelDir;
  llvm::sys::path::append(range.path, location);
  llvm::sys::fs::file_status status;
  std::error_code ec = llvm::sys::fs::status(range.path, status);
  if (!ec && status.type() != llvm::sys::fs::file_type::regular_file)
    ec = std::make_error_code(std::errc::invalid_argument);
  if (ec) {
    return llvm::createStringError(
        "cannot read external data file '" + range.path.str().str() +
        "' of tensor '" + t.name() + "': " + ec.message());
  }
  uint64_t size = status.getSize();
  if (!hasLength)
    range.length = size > range.offset ? size - range.offset : 0;
  if (range.offset > size || range.length > size - range.offset) {
    return llvm::createStringError("external data of tensor '" + t.name() +
                                   "' lies outside '" +
                                   range.path.str().str() + "'");
  }
  return range;
}

/// The tensor's external bytes, memory-mapped where they lie (LLVM maps a
/// slice of a few pages or more and reads a smaller one): a weight of
/// gigabytes is not read into memory, let alone copied.
static llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
mapExternalData(const onnx::TensorProto &t, StringRef modelDir) {
  llvm::Expected<ExternalRange> range = locateExternalData(t, modelDir);
  if (!range)
    return range.takeError();
  if (range->length == 0)
    return llvm::MemoryBuffer::getMemBuffer("", range->path);
  auto buffer = llvm::MemoryBuffer::getFileSlice(
      range->path, range->length, range->offset, /*IsVolatile=*/false,
      llvm::Align(kMappedBlobAlignment));
  if (!buffer) {
    return llvm::createStringError(
        "cannot read external data file '" + range->path.str().str() +
        "' of tensor '" + t.name() + "': " + buffer.getError().message());
  }
  return std::move(*buffer);
}

static llvm::Error readExternalData(const onnx::TensorProto &t,
                                    StringRef modelDir,
                                    std::vector<char> &out) {
  auto buffer = mapExternalData(t, modelDir);
  if (!buffer)
    return buffer.takeError();
  out.assign((*buffer)->getBufferStart(), (*buffer)->getBufferEnd());
  return llvm::Error::success();
}

/// The tensor's bytes as stored: in an external file, in raw_data, or in
/// its typed field (sub-byte types: one packed byte per int32_data entry).
static llvm::Error storedBytes(const onnx::TensorProto &t, int64_t numElements,
                               StringRef modelDir, std::vector<char> &out) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    return readExternalData(t, modelDir, out);
  if (t.has_raw_data()) {
    out.assign(t.raw_data().begin(), t.raw_data().end());
    return llvm::Error::success();
  }
  int type = t.data_type();
  if (packedBits(type)) {
    for (int32_t v : t.int32_data())
      out.push_back((char)(v & 0xff));
    return llvm::Error::success();
  }
  // Sized by what the typed field holds, never by the declared shape: a
  // shape can claim terabytes that the file does not contain, and the
  // caller compares the two sizes.
  size_t eltBytes = storageBytes(type);
  switch (type) {
  case onnx::TensorProto::FLOAT:
    appendFloatBits<uint32_t>(out, t.float_data());
    break;
  case onnx::TensorProto::DOUBLE:
    appendFloatBits<uint64_t>(out, t.double_data());
    break;
  case onnx::TensorProto::INT64:
    for (int64_t v : t.int64_data())
      appendLE(out, (uint64_t)v, 8);
    break;
  case onnx::TensorProto::UINT32:
  case onnx::TensorProto::UINT64:
    for (uint64_t v : t.uint64_data())
      appendLE(out, v, eltBytes);
    break;
  default: // int32_data carries every type of 32 bits or fewer
    for (int32_t v : t.int32_data())
      appendLE(out, (uint64_t)(uint32_t)v, eltBytes);
    break;
  }
  return llvm::Error::success();
}

/// Whether `size` stored bytes are what the tensor's shape needs.
static llvm::Error checkStoredSize(const onnx::TensorProto &t,
                                   int64_t numElements, size_t size) {
  unsigned bits = packedBits(t.data_type());
  size_t expected = bits ? (numElements * bits + 7) / 8
                         : (size_t)numElements * storageBytes(t.data_type());
  if (size == expected)
    return llvm::Error::success();
  return llvm::createStringError(
      "tensor '" + t.name() + "' holds " + std::to_string(size) +
      " bytes of " + (bits ? "packed data" : "data") +
      " but its shape needs " + std::to_string(expected));
}

/// The tensor's values as raw little-endian bytes (sub-byte types unpacked
/// to one element per byte).
static llvm::Error rawBytes(const onnx::TensorProto &t, int64_t numElements,
                            StringRef modelDir, std::vector<char> &out) {
  int type = t.data_type();
  unsigned bits = packedBits(type);
  std::vector<char> stored;
  if (llvm::Error error = storedBytes(t, numElements, modelDir, stored))
    return error;
  if (llvm::Error error = checkStoredSize(t, numElements, stored.size()))
    return error;
  out = bits ? unpackSubByte(stored, type, numElements) : std::move(stored);
  return llvm::Error::success();
}

/// The alignment a blob that took over a parser's string declares: what
/// malloc guarantees. Always this one, whatever the address happens to
/// allow, so that printed IR (which shows it) does not depend on where
/// the allocator put the weight.
constexpr size_t kParsedBlobAlignment = 16;

/// A constant that owns `raw`, a string moved out of a TensorProto: its
/// heap buffer becomes the blob's, so the weight is never copied.
static AsmResourceBlob blobOwningString(std::string &&raw) {
  auto *owned = new std::string(std::move(raw));
  return AsmResourceBlob(
      ArrayRef<char>(owned->data(), owned->size()), kParsedBlobAlignment,
      [owned](void *, size_t, size_t) { delete owned; },
      /*dataIsMutable=*/true);
}

/// A constant over mapped external data: the blob holds the mapping, which
/// is read-only (no pass writes into a constant; they make new ones).
/// Exporters of large models put each tensor in a file of its own
/// (torch.onnx) or at a page-aligned offset (newer onnx.save), so a mapped
/// weight's address is aligned (and a small slice is read into an aligned
/// buffer); one that is not is copied once instead.
static AsmResourceBlob
blobOwningMapping(std::unique_ptr<llvm::MemoryBuffer> buffer) {
  llvm::MemoryBuffer *owned = buffer.release();
  return AsmResourceBlob(
      ArrayRef<char>(owned->getBufferStart(), owned->getBufferSize()),
      kMappedBlobAlignment, [owned](void *, size_t, size_t) { delete owned; },
      /*dataIsMutable=*/false);
}

/// Both conversions; `movable` is the tensor's raw_data when the caller
/// gives the tensor up.
static llvm::Expected<ElementsAttr>
convertTensorImpl(MLIRContext *ctx, const onnx::TensorProto &t,
                  StringRef modelDir, int64_t inlineLimit,
                  std::string *movable) {
  Type elt = elementTypeFor(ctx, t.data_type());
  if (!elt) {
    return llvm::createStringError(
        "tensor '" + t.name() + "' has element type " +
        onnxTypeName(t.data_type()) + ", which Kiln does not support");
  }
  SmallVector<int64_t> shape;
  int64_t numElements = 1;
  for (int64_t d : t.dims()) {
    if (d < 0) {
      return llvm::createStringError("tensor '" + t.name() +
                                     "' has a negative dimension");
    }
    shape.push_back(d);
    // Counted in int64 and later in bytes (up to 8 per element): a claim
    // beyond that is refused before anything is sized from it.
    if (llvm::MulOverflow(numElements, d, numElements) ||
        numElements > std::numeric_limits<int64_t>::max() / 8) {
      return llvm::createStringError("tensor '" + t.name() +
                                     "' has more elements than Kiln can "
                                     "count");
    }
  }
  auto type = RankedTensorType::get(shape, elt);
  std::string name = t.name().empty() ? "weight" : t.name();
  // Raw bytes in the file as they are stored in memory (the common case
  // for weights) are read where the parser left them, and, when the caller
  // gives the tensor up, kept there: the parser's copy is the constant.
  // External data in that layout is mapped, and the mapping is the
  // constant when its address suits one.
  std::vector<char> storage;
  std::unique_ptr<llvm::MemoryBuffer> mapped;
  ArrayRef<char> bytes;
  bool external = t.data_location() == onnx::TensorProto::EXTERNAL;
  if (t.has_raw_data() && !packedBits(t.data_type()) && !external &&
      t.raw_data().size() == size_t(numElements) * storageBytes(t.data_type())) {
    bytes = ArrayRef<char>(t.raw_data().data(), t.raw_data().size());
  } else if (external && !packedBits(t.data_type())) {
    auto buffer = mapExternalData(t, modelDir);
    if (!buffer)
      return buffer.takeError();
    mapped = std::move(*buffer);
    bytes = ArrayRef<char>(mapped->getBufferStart(), mapped->getBufferSize());
    if (llvm::Error error = checkStoredSize(t, numElements, bytes.size()))
      return std::move(error);
  } else {
    if (llvm::Error error = rawBytes(t, numElements, modelDir, storage))
      return std::move(error);
    bytes = storage;
  }

  if (elt.isInteger(1)) {
    SmallVector<bool> values;
    for (char c : bytes)
      values.push_back(c != 0);
    return cast<ElementsAttr>(DenseElementsAttr::get(type, values));
  }
  if (numElements <= inlineLimit) {
    bool detectedSplat = false;
    if (!DenseElementsAttr::isValidRawBuffer(type, bytes, detectedSplat)) {
      return llvm::createStringError("tensor '" + t.name() +
                                     "' has a malformed data buffer");
    }
    return cast<ElementsAttr>(DenseElementsAttr::getFromRawBuffer(type, bytes));
  }
  if (movable && bytes.data() == movable->data() &&
      reinterpret_cast<uintptr_t>(movable->data()) % kParsedBlobAlignment == 0)
    return cast<ElementsAttr>(DenseResourceElementsAttr::get(
        type, name, blobOwningString(std::move(*movable))));
  if (mapped &&
      reinterpret_cast<uintptr_t>(bytes.data()) % kMappedBlobAlignment == 0)
    return cast<ElementsAttr>(DenseResourceElementsAttr::get(
        type, name, blobOwningMapping(std::move(mapped))));
  AsmResourceBlob blob = kiln::allocateConstantBlob(bytes.size());
  std::memcpy(blob.getMutableData().data(), bytes.data(), bytes.size());
  return cast<ElementsAttr>(
      DenseResourceElementsAttr::get(type, name, std::move(blob)));
}

llvm::Expected<ElementsAttr>
kiln::onnx_import::convertTensor(MLIRContext *ctx, const onnx::TensorProto &t,
                                 StringRef modelDir, int64_t inlineLimit) {
  return convertTensorImpl(ctx, t, modelDir, inlineLimit, nullptr);
}

llvm::Expected<ElementsAttr> kiln::onnx_import::convertTensorTakingData(
    MLIRContext *ctx, onnx::TensorProto &t, StringRef modelDir,
    int64_t inlineLimit) {
  return convertTensorImpl(ctx, t, modelDir, inlineLimit,
                           t.has_raw_data() ? t.mutable_raw_data() : nullptr);
}
