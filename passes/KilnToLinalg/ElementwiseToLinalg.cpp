//===- ElementwiseToLinalg.cpp - Elementwise Kiln ops to linalg.generic -----===//
//
// Each elementwise op becomes one parallel linalg.generic whose indexing maps
// do the broadcasting; the scalar body is chosen by element type here.
// Transcendental functions on 16-bit floats are evaluated in f32, as every
// reference implementation does.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "kiln/dialects/Kiln/KilnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace kiln;

Value kiln::buildSigmoid(OpBuilder &b, Location loc, Value x) {
  Type t = x.getType();
  Value one = scalarConstant(b, loc, t, 1.0);
  Value negX = arith::NegFOp::create(b, loc, x);
  Value e = math::ExpOp::create(b, loc, negX);
  return arith::DivFOp::create(b, loc, one,
                               arith::AddFOp::create(b, loc, one, e));
}

Value kiln::buildGelu(OpBuilder &b, Location loc, Value x,
                      GeluApproximation approx) {
  Type t = x.getType();
  Value half = scalarConstant(b, loc, t, 0.5);
  Value one = scalarConstant(b, loc, t, 1.0);
  Value inner;
  if (approx == GeluApproximation::None) {
    Value invSqrt2 = scalarConstant(b, loc, t, 0.70710678118654752440);
    inner = math::ErfOp::create(b, loc, arith::MulFOp::create(b, loc, x,
                                                              invSqrt2));
  } else {
    Value c = scalarConstant(b, loc, t, 0.79788456080286535588); // sqrt(2/pi)
    Value k = scalarConstant(b, loc, t, 0.044715);
    Value x3 = arith::MulFOp::create(
        b, loc, x, arith::MulFOp::create(b, loc, x, x));
    Value poly =
        arith::AddFOp::create(b, loc, x, arith::MulFOp::create(b, loc, k, x3));
    inner = math::TanhOp::create(b, loc, arith::MulFOp::create(b, loc, c, poly));
  }
  Value cdf = arith::MulFOp::create(b, loc, half,
                                    arith::AddFOp::create(b, loc, one, inner));
  return arith::MulFOp::create(b, loc, x, cdf);
}

Value kiln::buildMaxOrMin(OpBuilder &b, Location loc, bool isMax, Value lhs,
                          Value rhs) {
  using namespace arith;
  if (isa<FloatType>(lhs.getType()))
    return isMax ? (Value)MaximumFOp::create(b, loc, lhs, rhs)
                 : (Value)MinimumFOp::create(b, loc, lhs, rhs);
  if (lhs.getType().isInteger(1)) // false < true
    return isMax ? (Value)MaxUIOp::create(b, loc, lhs, rhs)
                 : (Value)MinUIOp::create(b, loc, lhs, rhs);
  return isMax ? (Value)MaxSIOp::create(b, loc, lhs, rhs)
               : (Value)MinSIOp::create(b, loc, lhs, rhs);
}

Value kiln::castScalar(OpBuilder &b, Location loc, Value x, Type to,
                       bool isUnsigned) {
  Type from = x.getType();
  if (from == to)
    return x;
  auto fromInt = dyn_cast<IntegerType>(from);
  auto toInt = dyn_cast<IntegerType>(to);
  if (toInt && toInt.getWidth() == 1) {
    if (fromInt)
      return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, x,
                                   scalarConstant(b, loc, from, 0));
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, x,
                                 scalarConstant(b, loc, from, 0));
  }
  if (fromInt && toInt) {
    if (fromInt.getWidth() == 1)
      return arith::ExtUIOp::create(b, loc, to, x);
    if (fromInt.getWidth() < toInt.getWidth())
      return isUnsigned ? (Value)arith::ExtUIOp::create(b, loc, to, x)
                        : (Value)arith::ExtSIOp::create(b, loc, to, x);
    return arith::TruncIOp::create(b, loc, to, x);
  }
  if (fromInt) {
    if (fromInt.getWidth() == 1 || isUnsigned)
      return arith::UIToFPOp::create(b, loc, to, x);
    return arith::SIToFPOp::create(b, loc, to, x);
  }
  if (toInt) {
    // Through i64, so that unsigned results above the signed range keep
    // their bits (fptosi to i8 of 200.0 would be poison).
    if (toInt.getWidth() >= 64)
      return arith::FPToSIOp::create(b, loc, to, x);
    Value wide = arith::FPToSIOp::create(b, loc, b.getI64Type(), x);
    return arith::TruncIOp::create(b, loc, to, wide);
  }
  if (cast<FloatType>(from).getWidth() < cast<FloatType>(to).getWidth())
    return arith::ExtFOp::create(b, loc, to, x);
  if (cast<FloatType>(from).getWidth() > cast<FloatType>(to).getWidth())
    return arith::TruncFOp::create(b, loc, to, x);
  // Same width, different format (f16 <-> bf16): go through f32.
  Value wide = arith::ExtFOp::create(b, loc, b.getF32Type(), x);
  return arith::TruncFOp::create(b, loc, to, wide);
}

namespace {

bool isFloat(Type t) { return isa<FloatType>(t); }
/// i1 orders as unsigned (false < true); wider integers as signed.
bool isBool(Type t) { return t.isInteger(1); }

/// Runs `fn` on `x` widened to f32 when `x` is a float narrower than 32 bits,
/// and narrows the result back.
Value inF32(OpBuilder &b, Location loc, Value x,
            function_ref<Value(Value)> fn) {
  auto ft = cast<FloatType>(x.getType());
  if (ft.getWidth() >= 32)
    return fn(x);
  Value wide = arith::ExtFOp::create(b, loc, b.getF32Type(), x);
  return arith::TruncFOp::create(b, loc, ft, fn(wide));
}

// Scalar bodies, one per op. `args` are the op's scalar operands.
#define KILN_FLOAT_OR_INT_BINARY(OP, FLOATOP, INTOP)                           \
  Value scalar(OP, OpBuilder &b, Location loc, ValueRange a) {                 \
    return buildFloatOrIntOp<FLOATOP, INTOP>(b, loc, a[0], a[1]);              \
  }
KILN_FLOAT_OR_INT_BINARY(AddOp, arith::AddFOp, arith::AddIOp)
KILN_FLOAT_OR_INT_BINARY(SubOp, arith::SubFOp, arith::SubIOp)
KILN_FLOAT_OR_INT_BINARY(MulOp, arith::MulFOp, arith::MulIOp)
KILN_FLOAT_OR_INT_BINARY(DivOp, arith::DivFOp, arith::DivSIOp)
KILN_FLOAT_OR_INT_BINARY(RemOp, arith::RemFOp, arith::RemSIOp)
#undef KILN_FLOAT_OR_INT_BINARY

Value scalar(PowOp, OpBuilder &b, Location loc, ValueRange a) {
  if (isFloat(a[0].getType()))
    return inF32(b, loc, a[0], [&](Value x) {
      Value y = castScalar(b, loc, a[1], x.getType());
      return math::PowFOp::create(b, loc, x, y);
    });
  return math::IPowIOp::create(b, loc, a[0], a[1]);
}
Value scalar(MaxOp, OpBuilder &b, Location loc, ValueRange a) {
  return buildMaxOrMin(b, loc, /*isMax=*/true, a[0], a[1]);
}
Value scalar(MinOp, OpBuilder &b, Location loc, ValueRange a) {
  return buildMaxOrMin(b, loc, /*isMax=*/false, a[0], a[1]);
}
Value scalar(AndOp, OpBuilder &b, Location loc, ValueRange a) {
  return arith::AndIOp::create(b, loc, a[0], a[1]);
}
Value scalar(OrOp, OpBuilder &b, Location loc, ValueRange a) {
  return arith::OrIOp::create(b, loc, a[0], a[1]);
}
Value scalar(XorOp, OpBuilder &b, Location loc, ValueRange a) {
  return arith::XOrIOp::create(b, loc, a[0], a[1]);
}
/// Shifts by the bit width or more give 0 (LLVM would make them poison).
Value shift(OpBuilder &b, Location loc, ValueRange a, bool left) {
  Type t = a[0].getType();
  Value amount = a[1];
  Value shifted = left ? (Value)arith::ShLIOp::create(b, loc, a[0], amount)
                       : (Value)arith::ShRUIOp::create(b, loc, a[0], amount);
  Value inRange = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::ult, amount,
      scalarConstant(b, loc, t, t.getIntOrFloatBitWidth()));
  return arith::SelectOp::create(b, loc, inRange, shifted,
                                 scalarConstant(b, loc, t, 0));
}
Value scalar(ShiftLeftOp, OpBuilder &b, Location loc, ValueRange a) {
  return shift(b, loc, a, /*left=*/true);
}
Value scalar(ShiftRightOp, OpBuilder &b, Location loc, ValueRange a) {
  return shift(b, loc, a, /*left=*/false);
}
Value scalar(CompareOp op, OpBuilder &b, Location loc, ValueRange a) {
  return compareScalars(b, loc, op.getDirection(), a[0], a[1],
                        /*isUnsigned=*/isBool(a[0].getType()));
}
Value scalar(SelectOp, OpBuilder &b, Location loc, ValueRange a) {
  return arith::SelectOp::create(b, loc, a[0], a[1], a[2]);
}
Value scalar(NegOp, OpBuilder &b, Location loc, ValueRange a) {
  if (isFloat(a[0].getType()))
    return arith::NegFOp::create(b, loc, a[0]);
  return arith::SubIOp::create(b, loc, scalarConstant(b, loc, a[0].getType(), 0),
                               a[0]);
}
Value scalar(AbsOp, OpBuilder &b, Location loc, ValueRange a) {
  if (isFloat(a[0].getType()))
    return math::AbsFOp::create(b, loc, a[0]);
  return math::AbsIOp::create(b, loc, a[0]);
}
Value scalar(SignOp, OpBuilder &b, Location loc, ValueRange a) {
  Type t = a[0].getType();
  Value zero = scalarConstant(b, loc, t, 0), one = scalarConstant(b, loc, t, 1);
  Value minusOne = scalarConstant(b, loc, t, -1);
  Value pos, neg;
  pos = compareScalars(b, loc, CompareDirection::GT, a[0], zero);
  neg = compareScalars(b, loc, CompareDirection::LT, a[0], zero);
  // NaN stays NaN: neither comparison holds, so return the input then.
  Value rest = isFloat(t) ? arith::SelectOp::create(b, loc, neg, minusOne,
                                                    arith::MulFOp::create(
                                                        b, loc, a[0], zero))
                          : arith::SelectOp::create(b, loc, neg, minusOne, zero);
  return arith::SelectOp::create(b, loc, pos, one, rest);
}

#define KILN_FLOAT_UNARY(OP, MATHOP)                                           \
  Value scalar(OP, OpBuilder &b, Location loc, ValueRange a) {                 \
    return inF32(b, loc, a[0],                                                 \
                 [&](Value x) { return MATHOP::create(b, loc, x); });          \
  }
KILN_FLOAT_UNARY(ExpOp, math::ExpOp)
KILN_FLOAT_UNARY(LogOp, math::LogOp)
KILN_FLOAT_UNARY(SqrtOp, math::SqrtOp)
KILN_FLOAT_UNARY(RsqrtOp, math::RsqrtOp)
KILN_FLOAT_UNARY(ErfOp, math::ErfOp)
KILN_FLOAT_UNARY(TanhOp, math::TanhOp)
KILN_FLOAT_UNARY(SinOp, math::SinOp)
KILN_FLOAT_UNARY(CosOp, math::CosOp)
KILN_FLOAT_UNARY(TanOp, math::TanOp)
KILN_FLOAT_UNARY(AsinOp, math::AsinOp)
KILN_FLOAT_UNARY(AcosOp, math::AcosOp)
KILN_FLOAT_UNARY(AtanOp, math::AtanOp)
KILN_FLOAT_UNARY(SinhOp, math::SinhOp)
KILN_FLOAT_UNARY(CoshOp, math::CoshOp)
KILN_FLOAT_UNARY(AsinhOp, math::AsinhOp)
KILN_FLOAT_UNARY(AcoshOp, math::AcoshOp)
KILN_FLOAT_UNARY(AtanhOp, math::AtanhOp)
KILN_FLOAT_UNARY(FloorOp, math::FloorOp)
KILN_FLOAT_UNARY(CeilOp, math::CeilOp)
KILN_FLOAT_UNARY(RoundOp, math::RoundEvenOp)
#undef KILN_FLOAT_UNARY

Value scalar(ReciprocalOp, OpBuilder &b, Location loc, ValueRange a) {
  return arith::DivFOp::create(b, loc, scalarConstant(b, loc, a[0].getType(), 1),
                               a[0]);
}
Value scalar(SigmoidOp, OpBuilder &b, Location loc, ValueRange a) {
  return inF32(b, loc, a[0], [&](Value x) { return buildSigmoid(b, loc, x); });
}
Value scalar(SiluOp, OpBuilder &b, Location loc, ValueRange a) {
  return inF32(b, loc, a[0], [&](Value x) {
    return arith::MulFOp::create(b, loc, x, buildSigmoid(b, loc, x));
  });
}
Value scalar(ReluOp, OpBuilder &b, Location loc, ValueRange a) {
  Value zero = scalarConstant(b, loc, a[0].getType(), 0);
  if (isFloat(a[0].getType()))
    return arith::MaximumFOp::create(b, loc, a[0], zero);
  return arith::MaxSIOp::create(b, loc, a[0], zero);
}
Value scalar(NotOp, OpBuilder &b, Location loc, ValueRange a) {
  Type t = a[0].getType();
  Value allOnes = arith::ConstantOp::create(
      b, loc, t,
      b.getIntegerAttr(t, APInt::getAllOnes(t.getIntOrFloatBitWidth())));
  return arith::XOrIOp::create(b, loc, a[0], allOnes);
}
Value scalar(LeakyReluOp op, OpBuilder &b, Location loc, ValueRange a) {
  Type t = a[0].getType();
  Value alpha = scalarConstant(b, loc, t, op.getAlpha().convertToDouble());
  Value isPos = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE, a[0],
                                      scalarConstant(b, loc, t, 0));
  return arith::SelectOp::create(b, loc, isPos, a[0],
                                 arith::MulFOp::create(b, loc, alpha, a[0]));
}
Value scalar(GeluOp op, OpBuilder &b, Location loc, ValueRange a) {
  return inF32(b, loc, a[0], [&](Value x) {
    return buildGelu(b, loc, x, op.getApproximation());
  });
}
Value scalar(CastOp op, OpBuilder &b, Location loc, ValueRange a) {
  return castScalar(b, loc, a[0], op.getType().getElementType(),
                    op.getIsUnsigned());
}

template <typename OpTy>
struct ElementwiseLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    Value result = buildElementwise(
        rewriter, op.getLoc(), resultType, adaptor.getOperands(),
        [&](OpBuilder &b, Location loc, ValueRange args) {
          return scalar(op, b, loc, args);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// One ElementwiseLowering per op type.
template <typename... OpTys>
void addElementwiseLowerings(RewritePatternSet &patterns) {
  patterns.add<ElementwiseLowering<OpTys>...>(patterns.getContext());
}

} // namespace

void kiln::populateElementwiseLoweringPatterns(RewritePatternSet &patterns) {
  addElementwiseLowerings<AddOp, SubOp, MulOp, DivOp, PowOp, RemOp, MaxOp,
                          MinOp, AndOp, OrOp, XorOp, ShiftLeftOp, ShiftRightOp,
                          CompareOp, SelectOp, NegOp, AbsOp, SignOp, ExpOp,
                          LogOp, SqrtOp, RsqrtOp, ReciprocalOp, ErfOp, TanhOp,
                          SinOp, CosOp, TanOp, AsinOp, AcosOp, AtanOp, SinhOp,
                          CoshOp, AsinhOp, AcoshOp, AtanhOp, FloorOp, CeilOp,
                          RoundOp, SigmoidOp,
                          SiluOp, ReluOp, NotOp, LeakyReluOp, GeluOp, CastOp>(
      patterns);
}

Value kiln::compareScalars(OpBuilder &b, Location loc, CompareDirection dir,
                           Value lhs, Value rhs, bool isUnsigned) {
  if (isFloat(lhs.getType())) {
    arith::CmpFPredicate p;
    // clang-format off
    switch (dir) {
    case CompareDirection::EQ: p = arith::CmpFPredicate::OEQ; break;
    case CompareDirection::NE: p = arith::CmpFPredicate::UNE; break;
    case CompareDirection::LT: p = arith::CmpFPredicate::OLT; break;
    case CompareDirection::LE: p = arith::CmpFPredicate::OLE; break;
    case CompareDirection::GT: p = arith::CmpFPredicate::OGT; break;
    case CompareDirection::GE: p = arith::CmpFPredicate::OGE; break;
    }
    // clang-format on
    return arith::CmpFOp::create(b, loc, p, lhs, rhs);
  }
  bool u = isUnsigned;
  arith::CmpIPredicate p;
  // clang-format off
  switch (dir) {
  case CompareDirection::EQ: p = arith::CmpIPredicate::eq; break;
  case CompareDirection::NE: p = arith::CmpIPredicate::ne; break;
  case CompareDirection::LT: p = u ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt; break;
  case CompareDirection::LE: p = u ? arith::CmpIPredicate::ule : arith::CmpIPredicate::sle; break;
  case CompareDirection::GT: p = u ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt; break;
  case CompareDirection::GE: p = u ? arith::CmpIPredicate::uge : arith::CmpIPredicate::sge; break;
  }
  // clang-format on
  return arith::CmpIOp::create(b, loc, p, lhs, rhs);
}
