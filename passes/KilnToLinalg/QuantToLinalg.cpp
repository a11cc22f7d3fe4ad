//===- QuantToLinalg.cpp - Quantize and dequantize to linalg.generic
//--------===//
//
// Both ops are elementwise over the data; the scale and zero point are read
// through an indexing map that encodes their granularity: all-constant for
// per tensor, the axis loop for per axis, and `axis floordiv block_size`
// for blocks, so no expanded scale tensor is ever built.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "kiln/dialects/Kiln/KilnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

using namespace mlir;
using namespace kiln;

namespace {

/// How the scale is read inside a loop nest over a rank-`rank` tensor.
AffineMap scaleMap(MLIRContext *ctx, RankedTensorType scale, int64_t rank,
                   int64_t axis, int64_t blockSize,
                   std::optional<ArrayRef<int64_t>> blockShape) {
  SmallVector<AffineExpr> exprs;
  if (blockShape) {
    for (int64_t d = 0; d < rank; ++d) {
      AffineExpr e = getAffineDimExpr(d, ctx);
      int64_t block = (*blockShape)[d];
      exprs.push_back(block == 1 ? e : e.floorDiv(block));
    }
  } else if (blockSize > 0) {
    for (int64_t d = 0; d < rank; ++d) {
      AffineExpr e = getAffineDimExpr(d, ctx);
      exprs.push_back(d == axis ? e.floorDiv(blockSize) : e);
    }
  } else if (scale.getRank() == 1 && scale.getNumElements() > 1) {
    exprs.push_back(getAffineDimExpr(axis, ctx));
  } else {
    for (int64_t d = 0; d < scale.getRank(); ++d)
      exprs.push_back(getAffineConstantExpr(0, ctx));
  }
  return AffineMap::get(rank, 0, exprs, ctx);
}

/// A stored quantized value (integer, fp8 or fp4) as the float type `f`.
Value intToFloat(OpBuilder &b, Location loc, Value v, Type f, bool isUnsigned) {
  if (isa<FloatType>(v.getType()))
    return arith::ExtFOp::create(b, loc, f, v);
  if (isUnsigned)
    return arith::UIToFPOp::create(b, loc, f, v);
  return arith::SIToFPOp::create(b, loc, f, v);
}

template <typename OpTy>
Value buildQuantGeneric(
    OpBuilder &b, OpTy op, Value input, Value scale, Value zeroPoint,
    function_ref<Value(OpBuilder &, Location, Value, Value, Value)> body) {
  Location loc = op.getLoc();
  MLIRContext *ctx = b.getContext();
  RankedTensorType type = op.getType();
  int64_t rank = type.getRank();
  AffineMap sMap =
      scaleMap(ctx, cast<RankedTensorType>(scale.getType()), rank, op.getAxis(),
               op.getBlockSize(), op.getBlockShape());
  SmallVector<Value> inputs = {input, scale};
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank), sMap};
  if (zeroPoint) {
    inputs.push_back(zeroPoint);
    maps.push_back(sMap);
  }
  return buildParallelGeneric(b, loc, type, inputs, maps,
                              [&](OpBuilder &nb, Location l, ValueRange args) {
                                return body(nb, l, args[0], args[1],
                                            zeroPoint ? args[2] : Value());
                              });
}

SmallVector<Value> lowerDequantize(DequantizeOp op,
                                   DequantizeOp::Adaptor adaptor,
                                   ConversionPatternRewriter &rewriter) {
  bool isUnsigned = op.getIsUnsigned();
  Type out = op.getType().getElementType();
  Value result = buildQuantGeneric(
      rewriter, op, adaptor.getInput(), adaptor.getScale(),
      adaptor.getZeroPoint(),
      [&](OpBuilder &b, Location l, Value x, Value s, Value zp) -> Value {
        // At least f32: a 16-bit scale type cannot hold int16 values.
        Type f = s.getType();
        if (cast<FloatType>(f).getWidth() < 32) {
          f = b.getF32Type();
          s = arith::ExtFOp::create(b, l, f, s);
        }
        Value v = intToFloat(b, l, x, f, isUnsigned);
        if (zp)
          v = arith::SubFOp::create(b, l, v,
                                    intToFloat(b, l, zp, f, isUnsigned));
        v = arith::MulFOp::create(b, l, v, s);
        if (f == out)
          return v;
        if (cast<FloatType>(f).getWidth() < cast<FloatType>(out).getWidth())
          return arith::ExtFOp::create(b, l, out, v);
        return arith::TruncFOp::create(b, l, out, v);
      });
  return {result};
}

struct QuantizeLowering : OpConversionPattern<QuantizeOp> {
  using OpConversionPattern::OpConversionPattern;

  /// fp8/fp4 results: `x / scale + zero_point` in f32, then one rounding
  /// (and saturation) by the truncation to the narrow type.
  static Value lowerToSmallFloat(OpBuilder &rewriter, QuantizeOp op,
                                 OpAdaptor adaptor) {
    Type out = op.getType().getElementType();
    return buildQuantGeneric(
        rewriter, op, adaptor.getInput(), adaptor.getScale(),
        adaptor.getZeroPoint(),
        [&](OpBuilder &b, Location l, Value x, Value s, Value zp) -> Value {
          auto toF32 = [&](Value v) {
            return castScalar(b, l, v, b.getF32Type());
          };
          Value xf = toF32(x), sf = toF32(s); // in this order
          Value v = arith::DivFOp::create(b, l, xf, sf);
          if (zp)
            v = arith::AddFOp::create(b, l, v, toF32(zp));
          return arith::TruncFOp::create(b, l, out, v);
        });
  }

  LogicalResult
  matchAndRewrite(QuantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (isa<FloatType>(op.getType().getElementType())) {
      rewriter.replaceOp(op, lowerToSmallFloat(rewriter, op, adaptor));
      return success();
    }
    bool isUnsigned = op.getIsUnsigned();
    auto intType = cast<IntegerType>(op.getType().getElementType());
    unsigned width = intType.getWidth();
    double lo = isUnsigned ? 0.0 : -std::ldexp(1.0, width - 1);
    double hi = isUnsigned ? std::ldexp(1.0, width) - 1
                           : std::ldexp(1.0, width - 1) - 1;
    Value result = buildQuantGeneric(
        rewriter, op, adaptor.getInput(), adaptor.getScale(),
        adaptor.getZeroPoint(),
        [&](OpBuilder &b, Location l, Value x, Value s, Value zp) -> Value {
          // f32 at least, f64 for 32-bit integers so the clamp is exact.
          Type f = width >= 32 ? (Type)b.getF64Type() : (Type)b.getF32Type();
          auto widen = [&](Value v) -> Value {
            if (v.getType() == f)
              return v;
            if (cast<FloatType>(v.getType()).getWidth() <
                cast<FloatType>(f).getWidth())
              return arith::ExtFOp::create(b, l, f, v);
            return arith::TruncFOp::create(b, l, f, v);
          };
          Value xf = widen(x), sf = widen(s); // in this order
          Value v = arith::DivFOp::create(b, l, xf, sf);
          v = math::RoundEvenOp::create(b, l, v);
          if (zp)
            v = arith::AddFOp::create(b, l, v,
                                      intToFloat(b, l, zp, f, isUnsigned));
          v = arith::MaximumFOp::create(b, l, v, scalarConstant(b, l, f, lo));
          v = arith::MinimumFOp::create(b, l, v, scalarConstant(b, l, f, hi));
          // Through a wider integer, so unsigned values keep their bits.
          Type wide = b.getIntegerType(std::max(width * 2, 16u));
          Value i = arith::FPToSIOp::create(b, l, wide, v);
          return arith::TruncIOp::create(b, l, intType, i);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void kiln::populateQuantLoweringPatterns(RewritePatternSet &patterns) {
  addLowerings(patterns, lowerDequantize);
  patterns.add<QuantizeLowering>(patterns.getContext());
}
