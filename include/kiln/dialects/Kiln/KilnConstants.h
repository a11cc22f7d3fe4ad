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

/// A rank-0 dense constant of `elementType` holding `value` (truncated
/// toward zero for an integer type), the scalar operand that elementwise
/// ops broadcast.
mlir::DenseElementsAttr scalarConstantAttr(mlir::Type elementType,
                                           double value);

} // namespace kiln

#endif // KILN_DIALECTS_KILN_KILNCONSTANTS_H
