//===- ConvertSubByteBoundaryToBytes.cpp - Sub-byte entry tensors as bytes
//---===//
//
// Inside a function an i4, i2 or f4E2M1FN element occupies one byte of
// memory (LLVM's store size), but at the artifact's boundary the layouts are
// fixed by contract (runtime/include/kiln/artifact_format.h):
//
//   - weights are packed, ONNX's layout: 8 / bits elements per byte, element
//     0 in the low bits;
//   - inputs and outputs hold one element per byte: signed integers
//     sign-extended, unsigned ones and fp4 codes zero-extended.
//
// This pass retypes such entry arguments and results as i8 tensors and
// converts them with elementwise linalg.generic ops, which later fusion
// moves into their consumers (a packed weight is unpacked as it is read).
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "kiln/passes/Boundary/Passes.h"

#include "EntryBoundary.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace kiln {
#define GEN_PASS_DEF_CONVERTSUBBYTEBOUNDARYTOBYTES
#include "kiln/passes/Boundary/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// The width of a sub-byte element type (2 or 4), else 0.
unsigned subByteWidth(Type t) {
  auto tensor = dyn_cast<RankedTensorType>(t);
  if (!tensor || !tensor.hasStaticShape())
    return 0;
  Type elt = tensor.getElementType();
  if (!elt.isIntOrFloat())
    return 0;
  unsigned width = elt.getIntOrFloatBitWidth();
  return width > 1 && width < 8 ? width : 0;
}

/// The bits of a sub-byte value as the integer type of its width.
Value asBits(OpBuilder &b, Location loc, Value v) {
  if (isa<FloatType>(v.getType()))
    return arith::BitcastOp::create(
        b, loc, b.getIntegerType(v.getType().getIntOrFloatBitWidth()), v);
  return v;
}

/// Integer bits of the element width as the element type `elt`.
Value fromBits(OpBuilder &b, Location loc, Value bits, Type elt) {
  if (isa<FloatType>(elt))
    return arith::BitcastOp::create(b, loc, elt, bits);
  return bits;
}

/// Unpacks `packed` (tensor<P x i8>) to `type`: element l (row-major) is
/// bits [(l % perByte) * width, +width) of byte l / perByte.
Value unpackWeight(OpBuilder &b, Location loc, Value packed,
                   RankedTensorType type) {
  MLIRContext *ctx = b.getContext();
  unsigned width = type.getElementTypeBitWidth();
  int64_t perByte = 8 / width;
  int64_t rank = type.getRank();
  AffineExpr linear = getAffineConstantExpr(0, ctx);
  for (int64_t d = 0; d < rank; ++d)
    linear = linear * type.getDimSize(d) + getAffineDimExpr(d, ctx);
  AffineMap byteMap = AffineMap::get(rank, 0, linear.floorDiv(perByte));
  return buildParallelGeneric(
      b, loc, type, packed, byteMap,
      [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
        // The element's linear index, for the position inside its byte.
        Value index = arith::ConstantIndexOp::create(nb, l, 0);
        for (int64_t d = 0; d < rank; ++d) {
          Value size =
              arith::ConstantIndexOp::create(nb, l, type.getDimSize(d));
          index = arith::AddIOp::create(
              nb, l, arith::MulIOp::create(nb, l, index, size),
              linalg::IndexOp::create(nb, l, d));
        }
        Value slot = arith::RemUIOp::create(
            nb, l, index, arith::ConstantIndexOp::create(nb, l, perByte));
        Value shift = arith::MulIOp::create(
            nb, l, slot, arith::ConstantIndexOp::create(nb, l, width));
        shift = arith::IndexCastOp::create(nb, l, nb.getI8Type(), shift);
        Value byte = arith::ShRUIOp::create(nb, l, args[0], shift);
        Value bits =
            arith::TruncIOp::create(nb, l, nb.getIntegerType(width), byte);
        return fromBits(nb, l, bits, type.getElementType());
      });
}

/// An entry argument of a sub-byte type becomes i8 storage (packed for a
/// weight, one element per byte otherwise), unpacked at the body's start.
Type bytesArgument(func::FuncOp entry, unsigned i, BlockArgument arg,
                   OpBuilder &b) {
  unsigned width = subByteWidth(arg.getType());
  if (!width)
    return {};
  auto logical = cast<RankedTensorType>(arg.getType());
  bool isWeight = static_cast<bool>(entry.getArgAttr(i, "kiln.weight"));
  RankedTensorType stored =
      isWeight
          ? RankedTensorType::get({(logical.getNumElements() * width + 7) / 8},
                                  b.getI8Type())
          : logical.clone(b.getI8Type());
  arg.setType(stored);
  Value value;
  if (isWeight) {
    value = unpackWeight(b, arg.getLoc(), arg, logical);
  } else {
    value = buildParallelGeneric(
        b, arg.getLoc(), logical, arg,
        b.getMultiDimIdentityMap(logical.getRank()),
        [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
          Value bits =
              arith::TruncIOp::create(nb, l, nb.getIntegerType(width), args[0]);
          return fromBits(nb, l, bits, logical.getElementType());
        });
  }
  arg.replaceUsesWithIf(value, [&](OpOperand &use) {
    return use.getOwner() != value.getDefiningOp();
  });
  return stored;
}

/// A returned value of a sub-byte type is widened to one element per byte
/// before the return.
Type bytesResult(func::FuncOp entry, OpOperand &operand, OpBuilder &b) {
  unsigned width = subByteWidth(operand.get().getType());
  if (!width)
    return {};
  unsigned index = operand.getOperandNumber();
  auto logical = cast<RankedTensorType>(operand.get().getType());
  // int4/int2 sign-extend; uint4/uint2 (ONNX dtypes 21, 25) and fp4
  // codes zero-extend.
  auto dtype = entry.getResultAttrOfType<IntegerAttr>(index, "kiln.dtype");
  bool isUnsigned = isa<FloatType>(logical.getElementType()) ||
                    (dtype && (dtype.getInt() == 21 || dtype.getInt() == 25));
  Value widened = buildParallelGeneric(
      b, operand.getOwner()->getLoc(), logical.clone(b.getI8Type()),
      operand.get(), b.getMultiDimIdentityMap(logical.getRank()),
      [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
        Value bits = asBits(nb, l, args[0]);
        if (isUnsigned)
          return arith::ExtUIOp::create(nb, l, nb.getI8Type(), bits);
        return arith::ExtSIOp::create(nb, l, nb.getI8Type(), bits);
      });
  operand.set(widened);
  return widened.getType();
}

struct ConvertSubByteBoundaryToBytesPass
    : kiln::impl::ConvertSubByteBoundaryToBytesBase<
          ConvertSubByteBoundaryToBytesPass> {
  using Base::Base;

  void runOnOperation() override {
    auto entry = getOperation().lookupSymbol<func::FuncOp>(entryName);
    kiln::retypeEntryBoundary(
        getOperation(), entryName,
        [&](unsigned i, BlockArgument arg, OpBuilder &b) -> Type {
          return bytesArgument(entry, i, arg, b);
        },
        [&](OpOperand &operand, OpBuilder &b) -> Type {
          return bytesResult(entry, operand, b);
        });
  }
};

} // namespace
