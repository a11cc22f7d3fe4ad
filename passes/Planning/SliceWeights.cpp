//===- SliceWeights.cpp - One rank's block of a weight --------------------===//

#include "SliceWeights.h"

#include "kiln/dialects/Kiln/KilnConstants.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;

namespace {

/// The bytes of entries [lo, lo + count) along `dim` of a row-major
/// constant of `shape` held in `bytes`, or nothing when the bytes are not
/// whole elements of that shape. Along dimension 0 the entries are one
/// contiguous run (a view); along another, one run per outer index.
std::optional<ArrayRef<char>> sliceBytes(ArrayRef<char> bytes,
                                         ArrayRef<int64_t> shape, int64_t dim,
                                         int64_t lo, int64_t count,
                                         std::vector<char> &out) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < (int64_t)shape.size(); ++d) {
    if (d < dim)
      outer *= shape[d];
    else if (d > dim)
      inner *= shape[d];
  }
  int64_t elements = outer * shape[dim] * inner;
  if (elements <= 0 || bytes.size() % elements != 0)
    return std::nullopt;
  size_t run = inner * (bytes.size() / elements);
  size_t rows = shape[dim];
  if (outer == 1)
    return bytes.slice(lo * run, count * run);
  out.reserve(outer * count * run);
  for (int64_t o = 0; o < outer; ++o) {
    ArrayRef<char> part = bytes.slice((o * rows + lo) * run, count * run);
    out.insert(out.end(), part.begin(), part.end());
  }
  return ArrayRef<char>(out);
}

} // namespace

Value kiln::sliceAlong(OpBuilder &b, Location loc, Value value, int64_t dim,
                       int64_t lo, int64_t count, StringRef suffix) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape[dim] = count;
  auto sliced = RankedTensorType::get(shape, type.getElementType());
  if (auto constant = value.getDefiningOp<arith::ConstantOp>()) {
    if (auto attr = dyn_cast<ElementsAttr>(constant.getValue());
        attr && type.hasStaticShape()) {
      std::vector<char> storage, part;
      std::optional<ArrayRef<char>> bytes = constantBytes(attr, storage);
      std::optional<ArrayRef<char>> block =
          bytes ? sliceBytes(*bytes, type.getShape(), dim, lo, count, part)
                : std::nullopt;
      if (block) {
        std::string name = "weight";
        if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr))
          name = resource.getRawHandle().getKey().str();
        name += suffix.str();
        ElementsAttr slicedAttr = makeConstantAttr(sliced, *block, name);
        return arith::ConstantOp::create(b, loc, sliced,
                                         cast<TypedAttr>(slicedAttr));
      }
    }
  }
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  offsets[dim] = b.getIndexAttr(lo);
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, value);
  sizes[dim] = b.getIndexAttr(count);
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, sliced, value, offsets, sizes,
                                        strides);
}
