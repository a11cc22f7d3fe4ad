//===- KilnTraits.h - Op traits of the Kiln dialect -------------*- C++ -*-===//

#ifndef KILN_DIALECTS_KILN_KILNTRAITS_H
#define KILN_DIALECTS_KILN_KILNTRAITS_H

#include "mlir/IR/BuiltinTypeInterfaces.h"
#include "mlir/IR/OpDefinition.h"

#include <string>

namespace kiln {

/// The NumPy broadcast of `shapes` (right-aligned; a size-1 dimension
/// stretches), or failure when two sizes disagree and neither is 1.
mlir::FailureOr<llvm::SmallVector<int64_t>>
broadcastShapes(llvm::ArrayRef<llvm::ArrayRef<int64_t>> shapes);

/// "[2,3,4]": how verifier messages print shapes.
std::string shapeString(llvm::ArrayRef<int64_t> shape);

/// Verifies that `type` has one dimension per name in `dims`; otherwise
/// `op` reports "<what> must be [dims...]" (such as "input must be [tokens,
/// hidden]").
mlir::LogicalResult verifyDims(mlir::Operation *op, llvm::StringRef what,
                               mlir::ShapedType type,
                               llvm::ArrayRef<llvm::StringRef> dims);

namespace detail {
mlir::LogicalResult verifyNumpyBroadcast(mlir::Operation *op);
} // namespace detail

namespace OpTrait {
/// The result shape is the NumPy broadcast of all operand shapes.
template <typename ConcreteType>
class NumpyBroadcast
    : public mlir::OpTrait::TraitBase<ConcreteType, NumpyBroadcast> {
public:
  static mlir::LogicalResult verifyTrait(mlir::Operation *op) {
    return detail::verifyNumpyBroadcast(op);
  }
};
} // namespace OpTrait
} // namespace kiln

#endif // KILN_DIALECTS_KILN_KILNTRAITS_H
