//===- ExpandSmallFloats.cpp - The kiln-expand-small-floats pass ----------===//
//
// LLVM has no fp8 or fp4 types, and MLIR's LLVM lowering only stores them as
// integers of the same width. This pass gives every scalar conversion to and
// from those types an integer implementation on their bit patterns, and
// computes any other arithmetic on them in f32:
//
//   decode: bits -> f32, exact (every fp8/fp4 value is an f32 value);
//   encode: f32 -> bits, round to nearest even, saturating to the largest
//           finite value (ONNX's saturate=1; infinities too), NaN to NaN;
//           e8m0 rounds up to a power of two (ONNX's round_mode "up").
//
// Afterwards fp8/fp4 values only flow through loads, stores, yields, selects
// and bitcasts, which the LLVM lowering handles as plain integers.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/CPU/Passes.h"
#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/IRMapping.h"

namespace kiln {
#define GEN_PASS_DEF_EXPANDSMALLFLOATS
#include "kiln/passes/CPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

enum class NaNKind { IEEE, FiniteOnly, UnsignedZero, None };

/// The parameters of one narrow float format.
struct SmallFloatFormat {
  unsigned exponentBits, mantissaBits;
  int bias;
  double maxFinite;
  NaNKind nan;
  bool isE8M0;
  unsigned width() const {
    return isE8M0 ? 8 : 1 + exponentBits + mantissaBits;
  }
  int minExponent() const { return 1 - bias; }
};

std::optional<SmallFloatFormat> formatOf(Type t) {
  if (isa<Float8E4M3FNType>(t))
    return SmallFloatFormat{4, 3, 7, 448.0, NaNKind::FiniteOnly, false};
  if (isa<Float8E4M3FNUZType>(t))
    return SmallFloatFormat{4, 3, 8, 240.0, NaNKind::UnsignedZero, false};
  if (isa<Float8E5M2Type>(t))
    return SmallFloatFormat{5, 2, 15, 57344.0, NaNKind::IEEE, false};
  if (isa<Float8E5M2FNUZType>(t))
    return SmallFloatFormat{5, 2, 16, 57344.0, NaNKind::UnsignedZero, false};
  if (isa<Float4E2M1FNType>(t))
    return SmallFloatFormat{2, 1, 1, 6.0, NaNKind::None, false};
  if (isa<Float8E8M0FNUType>(t))
    return SmallFloatFormat{8, 0, 127, 0x1p127, NaNKind::FiniteOnly, true};
  return std::nullopt;
}

bool isSmallFloat(Type t) { return formatOf(getElementTypeOrSelf(t)).has_value(); }

/// Scalar i32/f32 arithmetic, written the way the formulas read.
struct Builder32 {
  OpBuilder &b;
  Location loc;
  Type i32() { return b.getI32Type(); }
  Type f32() { return b.getF32Type(); }
  Value c(int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 32); }
  Value cf(double v) {
    return arith::ConstantFloatOp::create(b, loc, b.getF32Type(),
                                          APFloat((float)v));
  }
  Value shl(Value x, int64_t n) { return arith::ShLIOp::create(b, loc, x, c(n)); }
  Value shr(Value x, int64_t n) { return arith::ShRUIOp::create(b, loc, x, c(n)); }
  Value andi(Value x, int64_t m) { return arith::AndIOp::create(b, loc, x, c(m)); }
  Value ori(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value eq(Value x, int64_t v) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x, c(v));
  }
  Value select(Value cond, Value x, Value y) {
    return arith::SelectOp::create(b, loc, cond, x, y);
  }
  Value asFloat(Value bits) { return arith::BitcastOp::create(b, loc, f32(), bits); }
  Value asBits(Value f) { return arith::BitcastOp::create(b, loc, i32(), f); }
  /// 2^e as an f32, for e in f32's normal exponent range.
  Value pow2(Value e) { return asFloat(shl(add(e, c(127)), 23)); }
};

/// The f32 value of a narrow float's bit pattern (zero-extended to i32).
Value decode(Builder32 &k, const SmallFloatFormat &f, Value code) {
  Value nan = k.c(0x7fc00000);
  if (f.isE8M0) {
    // 2^(code - 127); code 0 is 2^-127, an f32 subnormal; 255 is NaN.
    Value isZero = k.eq(code, 0);
    Value subnormal = k.c(0x00400000);
    Value normal = k.shl(code, 23);
    Value bits = k.select(isZero, subnormal, normal);
    return k.asFloat(k.select(k.eq(code, 255), nan, bits));
  }
  unsigned m = f.mantissaBits, e = f.exponentBits;
  Value sign = k.shl(k.andi(k.shr(code, e + m), 1), 31);
  Value expField = k.andi(k.shr(code, m), (1 << e) - 1);
  Value mantissa = k.andi(code, (1 << m) - 1);
  // (Operands are built in separate statements throughout, so the order of
  // the generated ops does not depend on the C++ compiler.)
  Value exponentBits = k.shl(k.add(expField, k.c(127 - f.bias)), 23);
  Value normal = k.ori(exponentBits, k.shl(mantissa, 23 - m));
  // Subnormals: mantissa * 2^(emin - m), exact in f32.
  Value mantissaValue = arith::UIToFPOp::create(k.b, k.loc, k.f32(), mantissa);
  Value subnormalValue = arith::MulFOp::create(
      k.b, k.loc, mantissaValue,
      k.cf(std::ldexp(1.0, f.minExponent() - (int)m)));
  Value isSubnormal = k.eq(expField, 0);
  Value magnitude = k.select(isSubnormal, k.asBits(subnormalValue), normal);
  Value bits = k.ori(sign, magnitude);
  switch (f.nan) {
  case NaNKind::FiniteOnly: // all-ones exponent and mantissa
    bits = k.select(k.eq(k.andi(code, (1 << (e + m)) - 1), (1 << (e + m)) - 1),
                    nan, bits);
    break;
  case NaNKind::UnsignedZero: // "negative zero" is the NaN
    bits = k.select(k.eq(code, 1 << (e + m)), nan, bits);
    break;
  case NaNKind::IEEE: {
    Value special = k.eq(expField, (1 << e) - 1);
    Value inf = k.ori(sign, k.c(0x7f800000));
    bits = k.select(special, k.select(k.eq(mantissa, 0), inf, nan), bits);
    break;
  }
  case NaNKind::None:
    break;
  }
  return k.asFloat(bits);
}

/// The e8m0 code of the f32 `x` as ONNX's Cast computes it by default
/// (round_mode "up", saturate): the power of two at or above |x| (e8m0 has
/// no sign), that is x's exponent field plus one when a mantissa bit is set,
/// up to 254 (2^127); NaN and infinities give 255, the NaN.
Value encodeE8M0(Builder32 &k, Value x) {
  Value u = k.asBits(x);
  Value expField = k.andi(k.shr(u, 23), 0xff);
  Value inexact = arith::CmpIOp::create(k.b, k.loc, arith::CmpIPredicate::ne,
                                        k.andi(u, 0x7fffff), k.c(0));
  Value belowMax = arith::CmpIOp::create(k.b, k.loc, arith::CmpIPredicate::ult,
                                         expField, k.c(254));
  Value up = arith::AndIOp::create(k.b, k.loc, inexact, belowMax);
  return k.select(up, k.add(expField, k.c(1)), expField);
}

/// The bit pattern (in the low bits of an i32) of the narrow float nearest
/// to the f32 `x`: ties to even, saturating, NaN to NaN.
Value encode(Builder32 &k, const SmallFloatFormat &f, Value x) {
  if (f.isE8M0)
    return encodeE8M0(k, x);
  unsigned m = f.mantissaBits, e = f.exponentBits;
  Value u = k.asBits(x);
  Value sign = k.shr(u, 31);
  Value absBits = k.andi(u, 0x7fffffff);
  Value isNaN = arith::CmpIOp::create(k.b, k.loc, arith::CmpIPredicate::ugt,
                                      absBits, k.c(0x7f800000));
  // Saturate first: anything above the largest finite value rounds to it.
  Value magnitudeIn = k.asFloat(absBits);
  Value a = arith::MinimumFOp::create(k.b, k.loc, magnitudeIn,
                                      k.cf(f.maxFinite));
  // The quantum at a's binade (never below the subnormal quantum).
  Value exponent = k.sub(k.shr(k.asBits(a), 23), k.c(127));
  exponent = arith::MaxSIOp::create(k.b, k.loc, exponent, k.c(f.minExponent()));
  Value quantum = k.pow2(k.sub(exponent, k.c(m)));
  Value steps = math::RoundEvenOp::create(
      k.b, k.loc, arith::DivFOp::create(k.b, k.loc, a, quantum));
  Value r = arith::MulFOp::create(k.b, k.loc, steps, quantum);
  Value rBits = k.asBits(r);
  Value rExp = k.sub(k.shr(rBits, 23), k.c(127));
  Value exponentField = k.shl(k.add(rExp, k.c(f.bias)), m);
  Value normal = k.ori(exponentField, k.andi(k.shr(rBits, 23 - m), (1 << m) - 1));
  Value isSubnormal = arith::CmpFOp::create(
      k.b, k.loc, arith::CmpFPredicate::OLT, r,
      k.cf(std::ldexp(1.0, f.minExponent())));
  Value subnormal = arith::FPToUIOp::create(
      k.b, k.loc, k.i32(),
      arith::MulFOp::create(k.b, k.loc, r,
                            k.cf(std::ldexp(1.0, (int)m - f.minExponent()))));
  Value code = k.select(isSubnormal, subnormal, normal);
  Value signed_ = k.ori(code, k.shl(sign, e + m));
  if (f.nan == NaNKind::UnsignedZero) // no negative zero: 1000... is NaN
    signed_ = k.select(k.eq(code, 0), code, signed_);
  Value nanCode;
  switch (f.nan) {
  case NaNKind::FiniteOnly:
  case NaNKind::IEEE: {
    Value payload = k.c((1 << (e + m)) - 1);
    nanCode = k.ori(payload, k.shl(sign, e + m));
    break;
  }
  case NaNKind::UnsignedZero: // the "negative zero" code
  case NaNKind::None: // no NaN to give: ONNX's choice, the sign bit alone
    nanCode = k.c(1 << (e + m));
    break;
  }
  return k.select(isNaN, nanCode, signed_);
}

/// A narrow float value as f32 (through its bits).
Value expandDecode(OpBuilder &b, Location loc, Value v) {
  SmallFloatFormat f = *formatOf(v.getType());
  Builder32 k{b, loc};
  Value bits = arith::BitcastOp::create(b, loc, b.getIntegerType(f.width()), v);
  Value code = arith::ExtUIOp::create(b, loc, k.i32(), bits);
  return decode(k, f, code);
}

/// An f32 value as the narrow float type `to` (through its bits).
Value expandEncode(OpBuilder &b, Location loc, Value v, Type to) {
  SmallFloatFormat f = *formatOf(to);
  Builder32 k{b, loc};
  Value code = encode(k, f, v);
  Value bits = arith::TruncIOp::create(b, loc, b.getIntegerType(f.width()), code);
  return arith::BitcastOp::create(b, loc, to, bits);
}

struct ExpandSmallFloatsPass
    : kiln::impl::ExpandSmallFloatsBase<ExpandSmallFloatsPass> {
  void runOnOperation() override {
    SmallVector<Operation *> work;
    getOperation()->walk([&](Operation *op) {
      if (!isa<arith::ArithDialect, math::MathDialect>(op->getDialect()) ||
          isa<arith::BitcastOp, arith::SelectOp>(op))
        return;
      if (llvm::any_of(op->getOperandTypes(), isSmallFloat) ||
          llvm::any_of(op->getResultTypes(), isSmallFloat))
        work.push_back(op);
    });
    for (Operation *op : work)
      if (failed(expand(op)))
        return signalPassFailure();
  }

  LogicalResult expand(Operation *op) {
    OpBuilder b(op);
    Location loc = op->getLoc();
    auto scalar = [](Type t) { return !isa<ShapedType>(t); };
    if (!llvm::all_of(op->getOperandTypes(), scalar) ||
        !llvm::all_of(op->getResultTypes(), scalar))
      return op->emitOpError("on fp8/fp4 tensors or vectors cannot be "
                             "expanded; lower it to scalars first");
    if (auto c = dyn_cast<arith::ConstantOp>(op)) {
      auto value = cast<FloatAttr>(c.getValue()).getValue();
      Type bitsType = b.getIntegerType(value.bitcastToAPInt().getBitWidth());
      Value bits = arith::ConstantOp::create(
          b, loc, IntegerAttr::get(bitsType, value.bitcastToAPInt()));
      c.replaceAllUsesWith(
          arith::BitcastOp::create(b, loc, c.getType(), bits).getResult());
      c.erase();
      return success();
    }
    if (auto truncf = dyn_cast<arith::TruncFOp>(op)) {
      // Wider than f32 rounds to f32 first (a double rounding).
      Value x = isSmallFloat(truncf.getIn().getType())
                    ? expandDecode(b, loc, truncf.getIn())
                    : kiln::castScalar(b, loc, truncf.getIn(), b.getF32Type());
      truncf.replaceAllUsesWith(expandEncode(b, loc, x, truncf.getType()));
      truncf.erase();
      return success();
    }
    if (auto extf = dyn_cast<arith::ExtFOp>(op)) {
      Value x = expandDecode(b, loc, extf.getIn());
      if (isSmallFloat(extf.getType()))
        x = expandEncode(b, loc, x, extf.getType());
      else
        x = kiln::castScalar(b, loc, x, extf.getType());
      extf.replaceAllUsesWith(x);
      extf.erase();
      return success();
    }
    // Anything else: the same op on f32 values, results rounded back.
    IRMapping map;
    for (Value operand : op->getOperands())
      if (isSmallFloat(operand.getType()))
        map.map(operand, expandDecode(b, loc, operand));
    Operation *wide = b.clone(*op, map);
    for (OpResult r : wide->getResults())
      if (isSmallFloat(r.getType()))
        r.setType(b.getF32Type());
    b.setInsertionPointAfter(wide);
    for (auto [oldResult, newResult] :
         llvm::zip(op->getResults(), wide->getResults())) {
      Value v = newResult;
      if (isSmallFloat(oldResult.getType()))
        v = expandEncode(b, loc, v, oldResult.getType());
      oldResult.replaceAllUsesWith(v);
    }
    op->erase();
    return success();
  }
};

} // namespace
