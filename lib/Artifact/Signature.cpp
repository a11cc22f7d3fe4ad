//===- Signature.cpp - Read an entry function's artifact signature --------===//

#include "kiln/Artifact/Signature.h"

#include "kiln/dialects/Kiln/KilnConstants.h"
#include "kiln/dtype.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace kiln;

/// The artifact dtype of an MLIR element type (integers read as signed).
static int dtypeFor(Type t) {
  if (t.isF32()) return KILN_DTYPE_FLOAT32;
  if (t.isF64()) return KILN_DTYPE_FLOAT64;
  if (t.isF16()) return KILN_DTYPE_FLOAT16;
  if (t.isBF16()) return KILN_DTYPE_BFLOAT16;
  if (t.isInteger(1)) return KILN_DTYPE_BOOL;
  if (t.isInteger(8)) return KILN_DTYPE_INT8;
  if (t.isInteger(16)) return KILN_DTYPE_INT16;
  if (t.isInteger(32)) return KILN_DTYPE_INT32;
  if (t.isInteger(64)) return KILN_DTYPE_INT64;
  if (t.isInteger(4)) return KILN_DTYPE_INT4;
  if (t.isInteger(2)) return KILN_DTYPE_INT2;
  if (isa<Float8E4M3FNType>(t)) return KILN_DTYPE_FLOAT8E4M3FN;
  if (isa<Float8E4M3FNUZType>(t)) return KILN_DTYPE_FLOAT8E4M3FNUZ;
  if (isa<Float8E5M2Type>(t)) return KILN_DTYPE_FLOAT8E5M2;
  if (isa<Float8E5M2FNUZType>(t)) return KILN_DTYPE_FLOAT8E5M2FNUZ;
  if (isa<Float8E8M0FNUType>(t)) return KILN_DTYPE_FLOAT8E8M0;
  if (isa<Float4E2M1FNType>(t)) return KILN_DTYPE_FLOAT4E2M1;
  return KILN_DTYPE_INVALID;
}

/// The recorded dtype when it agrees in size with the element type (it keeps
/// signedness the MLIR type lost), else the element type's own.
static int dtypeOf(Type elt, DictionaryAttr attrs) {
  int own = dtypeFor(elt);
  if (attrs)
    if (auto recorded = attrs.getAs<IntegerAttr>("kiln.dtype")) {
      int d = (int)recorded.getInt();
      if (d != 0 && kiln_dtype_size(d) == kiln_dtype_size(own))
        return d;
    }
  return own;
}

static std::string nameOf(DictionaryAttr attrs, const std::string &fallback) {
  if (attrs)
    if (auto name = attrs.getAs<StringAttr>("kiln.name"))
      return name.str();
  return fallback;
}

static LogicalResult signatureOf(Location loc, Type type, DictionaryAttr attrs,
                                 const std::string &fallbackName,
                                 TensorSignature &out) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return emitError(loc) << "'" << fallbackName
                          << "' must be a statically shaped tensor, got "
                          << type;
  out.name = nameOf(attrs, fallbackName);
  out.dtype = dtypeOf(tensor.getElementType(), attrs);
  if (out.dtype == KILN_DTYPE_INVALID)
    return emitError(loc) << "'" << out.name << "' has element type "
                          << tensor.getElementType()
                          << ", which artifacts cannot carry";
  out.dims.assign(tensor.getShape().begin(), tensor.getShape().end());
  return success();
}

/// Bits per element of the element types stored several to a byte.
static unsigned subByteBits(Type t) {
  unsigned width = t.getIntOrFloatBitWidth();
  return width > 1 && width < 8 ? width : 0;
}

/// Packs one-byte-per-element values `bits` wide, element 0 in the low bits
/// of byte 0 (ONNX's layout, and what the code's unpacking reads).
static std::vector<char> packSubByte(ArrayRef<char> bytes, int64_t n,
                                     unsigned bits) {
  unsigned perByte = 8 / bits, mask = (1u << bits) - 1;
  std::vector<char> packed((n * bits + 7) / 8, 0);
  for (int64_t i = 0; i < n; ++i) {
    unsigned v = (unsigned)(unsigned char)bytes[i];
    packed[i / perByte] |= (char)((v & mask) << (bits * (i % perByte)));
  }
  return packed;
}

/// Dense row-major bytes of a weight (bools one byte each; sub-byte types
/// packed), where they lie when possible.
static LogicalResult weightBytes(Location loc, ElementsAttr value,
                                 ArtifactWeight &w) {
  std::vector<char> storage;
  std::optional<ArrayRef<char>> bytes = constantBytes(value, storage);
  if (!bytes)
    return emitError(loc) << "weight data is missing or does not fit its type";
  if (unsigned bits = subByteBits(value.getElementType()))
    w.owned = packSubByte(*bytes, value.getNumElements(), bits);
  else if (!storage.empty())
    w.owned = std::move(storage);
  else
    w.view = *bytes;
  return success();
}

LogicalResult kiln::readSignature(func::FuncOp entry,
                                  ArtifactContents &contents) {
  Location loc = entry.getLoc();
  for (unsigned i = 0; i < entry.getNumArguments(); ++i) {
    DictionaryAttr attrs = entry.getArgAttrDict(i);
    Type type = entry.getArgumentTypes()[i];
    if (auto weight = attrs ? attrs.getAs<ElementsAttr>("kiln.weight")
                            : ElementsAttr()) {
      ArtifactWeight w;
      if (failed(signatureOf(loc, type, attrs, "weight" + std::to_string(i),
                             w.tensor)) ||
          failed(weightBytes(loc, weight, w)))
        return failure();
      uint64_t elements = 1;
      for (int64_t d : w.tensor.dims)
        elements *= d;
      // The runtime's rule: sub-byte weights packed, others dense.
      uint64_t expected = kiln_dtype_packed_size(w.tensor.dtype, elements);
      if (w.data().size() != expected)
        return emitError(loc) << "weight '" << w.tensor.name << "' holds "
                              << w.data().size() << " bytes, expected "
                              << expected;
      contents.weights.push_back(std::move(w));
      continue;
    }
    TensorSignature t;
    if (failed(signatureOf(loc, type, attrs,
                           "input" + std::to_string(contents.inputs.size()),
                           t)))
      return failure();
    contents.inputs.push_back(std::move(t));
  }
  for (unsigned i = 0; i < entry.getNumResults(); ++i) {
    TensorSignature t;
    if (failed(signatureOf(loc, entry.getResultTypes()[i],
                           entry.getResultAttrDict(i),
                           "output" + std::to_string(i), t)))
      return failure();
    contents.outputs.push_back(std::move(t));
  }
  return success();
}
