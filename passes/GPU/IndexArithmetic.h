//===- IndexArithmetic.h - Index math for the kernel builders ---*- C++ -*-===//
//
// Every GPU kernel generator computes thread, warp and tile coordinates
// the same way: constants, sums, and products, quotients and remainders by
// constants. Quotients and remainders are unsigned: the coordinates of a
// kernel are never negative, and unsigned division lowers to cheaper PTX.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_GPU_INDEXARITHMETIC_H
#define KILN_PASSES_GPU_INDEXARITHMETIC_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace kiln {

/// Index (or integer) arithmetic at a builder's insertion point; kernel
/// builders derive from it.
class IndexArithmetic {
public:
  explicit IndexArithmetic(mlir::ImplicitLocOpBuilder &builder)
      : builder(builder) {}

  mlir::Value idx(int64_t v) {
    return mlir::arith::ConstantIndexOp::create(builder, v);
  }
  mlir::Value add(mlir::Value x, mlir::Value y) {
    return mlir::arith::AddIOp::create(builder, x, y);
  }
  mlir::Value add(mlir::Value x, int64_t y) {
    return y ? add(x, constantLike(x, y)) : x;
  }
  mlir::Value sub(mlir::Value x, mlir::Value y) {
    return mlir::arith::SubIOp::create(builder, x, y);
  }
  mlir::Value mul(mlir::Value x, int64_t y) {
    return mlir::arith::MulIOp::create(builder, x, constantLike(x, y));
  }
  mlir::Value div(mlir::Value x, int64_t y) {
    return mlir::arith::DivUIOp::create(builder, x, constantLike(x, y));
  }
  mlir::Value rem(mlir::Value x, int64_t y) {
    return mlir::arith::RemUIOp::create(builder, x, constantLike(x, y));
  }

private:
  /// `v` as a constant of `x`'s type (index or an integer).
  mlir::Value constantLike(mlir::Value x, int64_t v) {
    if (x.getType().isIndex())
      return idx(v);
    return mlir::arith::ConstantOp::create(
        builder, builder.getIntegerAttr(x.getType(), v));
  }

  mlir::ImplicitLocOpBuilder &builder;
};

} // namespace kiln

#endif // KILN_PASSES_GPU_INDEXARITHMETIC_H
