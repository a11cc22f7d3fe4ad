//===- KilnConstants.h - Reading and making weight constants ----*- C++ -*-===//
//
// Kiln IR holds weights as `arith.constant`s of two kinds: inline dense
// attributes (small tensors, which folders can read) and dense_resource
// blobs (weights, never printed as text). The importer, the raising and
// quantization passes and the artifact writer all read and create them
// through these two functions, so there is one rule for each.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECTS_KILN_KILNCONSTANTS_H
#define KILN_DIALECTS_KILN_KILNCONSTANTS_H

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

#include <optional>
#include <vector>

namespace kiln {

/// Tensors with more elements than this become dense_resource blobs.
constexpr int64_t kInlineConstantLimit = 256;

/// The row-major bytes of a dense or dense_resource constant, with splats
/// expanded, in MLIR's dense storage layout: whole bytes per element (one
/// for i1, which holds 0 or 1, and for the sub-byte types i2/i4/f4). Nothing
/// for a dangling resource or a buffer whose size does not fit the type.
std::optional<std::vector<char>> constantBytes(mlir::ElementsAttr attr);

/// The same bytes without a copy where they already lie in memory (a
/// dense_resource blob, a non-splat dense attribute of whole-byte
/// elements); otherwise a copy made in `storage`. The view lives as long
/// as the attribute, or `storage`. For readers of whole weights, where
/// each copy of a model's weights costs as much as a compile stage.
std::optional<llvm::ArrayRef<char>>
constantBytes(mlir::ElementsAttr attr, std::vector<char> &storage);

/// A writable, 64-byte-aligned blob of `size` bytes for a new constant,
/// to be filled in place and handed to makeConstantAttr. Large blobs ask
/// for transparent huge pages, so that filling them does not fault in
/// each 4 KiB page on its own.
mlir::AsmResourceBlob allocateConstantBlob(size_t size);

/// A constant attribute of `type` over `blob`, without copying a large
/// one (inline, copied, up to kInlineConstantLimit elements).
mlir::ElementsAttr makeConstantAttr(mlir::RankedTensorType type,
                                    mlir::AsmResourceBlob blob,
                                    llvm::StringRef name);

/// The values of a float constant (any float type, sub-byte ones included)
/// as doubles, row-major; nothing for other constants or where
/// constantBytes gives nothing.
std::optional<std::vector<double>> constantFloats(mlir::ElementsAttr attr);

/// A constant attribute of `type` holding `bytes` (the layout above):
/// inline up to kInlineConstantLimit elements, otherwise a 64-byte-aligned
/// dense_resource blob named `name`.
mlir::ElementsAttr makeConstantAttr(mlir::RankedTensorType type,
                                    llvm::ArrayRef<char> bytes,
                                    llvm::StringRef name);

/// Writes the transpose of a [rows, cols] matrix of `width`-byte elements
/// whose rows lie `fromStride` elements apart, as [cols, rows] with rows
/// `toStride` elements apart. The weight layouts kernels want are often
/// the transpose of the stored one; this copies in square blocks, so that
/// both sides move whole cache lines, instead of one strided element at a
/// time (width 1, 2, 4 or 8).
void transposeElements(const char *from, int64_t fromStride, char *to,
                       int64_t toStride, int64_t rows, int64_t cols,
                       size_t width);

/// A rank-0 dense constant of `elementType` holding `value` (truncated
/// toward zero for an integer type), the scalar operand that elementwise
/// ops broadcast.
mlir::DenseElementsAttr scalarConstantAttr(mlir::Type elementType,
                                           double value);

} // namespace kiln

#endif // KILN_DIALECTS_KILN_KILNCONSTANTS_H
