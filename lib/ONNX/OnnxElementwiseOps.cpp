//===- OnnxElementwiseOps.cpp - Elementwise ONNX operators ---------------===//
//
// Arithmetic, logic, comparisons and activations. Activations without a Kiln
// op of their own (Elu, HardSigmoid, Softplus, ...) are spelled out in
// primitive Kiln ops; their formulas are ONNX's.
//
//===----------------------------------------------------------------------===//

#include "NodeContext.h"
#include "SharedBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

#include <limits>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

/// Fails with a clear message unless the node has at least `n` inputs.
LogicalResult requireInputs(NodeContext &nc, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!nc.input(i))
      return nc.error("expects at least " + Twine(n) + " inputs");
  return success();
}

template <typename OpTy> LogicalResult binaryOp(NodeContext &nc) {
  if (failed(requireInputs(nc, 2)))
    return failure();
  Value lhs = nc.input(0), rhs = nc.input(1);
  if (nc.typeOf(lhs).getElementType() != nc.typeOf(rhs).getElementType())
    return nc.error("operands have different element types");
  Value r = nc.binary<OpTy>(lhs, rhs);
  return nc.setResult(r);
}

LogicalResult powOp(NodeContext &nc) {
  if (failed(requireInputs(nc, 2)))
    return failure();
  Value base = nc.input(0);
  // ONNX lets the exponent have its own type; Kiln computes in the base's.
  Value exp = nc.cast(nc.input(1), nc.typeOf(base).getElementType());
  Value r = nc.binary<PowOp>(base, exp);
  return nc.setResult(r);
}

/// Max, Min, Sum, Mean: a fold of a binary op over any number of inputs.
template <typename OpTy, bool IsMean = false>
LogicalResult variadicOp(NodeContext &nc) {
  if (failed(requireInputs(nc, 1)))
    return failure();
  Value acc = nc.input(0);
  for (size_t i = 1; i < nc.numInputs(); ++i) {
    acc = nc.binary<OpTy>(acc, nc.input(i));
    if (!acc)
      return failure();
  }
  if (IsMean && nc.numInputs() > 1)
    acc = nc.binary<DivOp>(
        acc, nc.scalar(nc.typeOf(acc).getElementType(), nc.numInputs()));
  return nc.setResult(acc);
}

template <CompareDirection Dir> LogicalResult compareOp(NodeContext &nc) {
  if (failed(requireInputs(nc, 2)))
    return failure();
  Value r = nc.compare(Dir, nc.input(0), nc.input(1));
  return nc.setResult(r);
}

} // namespace

Value kiln::onnx_import::select(NodeContext &nc, Value cond, Value a, Value b) {
  FailureOr<SmallVector<int64_t>> shape = broadcastShapes(
      {nc.typeOf(cond).getShape(), nc.typeOf(a).getShape(),
       nc.typeOf(b).getShape()});
  if (failed(shape)) {
    (void)nc.error("condition and values do not broadcast");
    return nullptr;
  }
  auto type = RankedTensorType::get(*shape, nc.typeOf(a).getElementType());
  return nc.b.createOrFold<SelectOp>(nc.loc, type, cond, a, b);
}

namespace {

LogicalResult whereOp(NodeContext &nc) {
  if (failed(requireInputs(nc, 3)))
    return failure();
  Value r = select(nc, nc.input(0), nc.input(1), nc.input(2));
  return nc.setResult(r);
}

/// Relu, Floor and Ceil of a float constant, computed here: the ops have
/// no folders, and a trip count that Range's function body computes with
/// them must be a constant where a Loop is unrolled (CUDA). Null for any
/// other op or input.
template <typename OpTy> Value foldedUnary(NodeContext &nc, Value x) {
  DenseElementsAttr attr;
  if (!matchPattern(x, m_Constant(&attr)) ||
      !isa<FloatType>(attr.getElementType()))
    return nullptr;
  std::optional<APFloat::roundingMode> round;
  if constexpr (std::is_same_v<OpTy, FloorOp>)
    round = APFloat::rmTowardNegative;
  else if constexpr (std::is_same_v<OpTy, CeilOp>)
    round = APFloat::rmTowardPositive;
  else if constexpr (!std::is_same_v<OpTy, ReluOp>)
    return nullptr;
  SmallVector<APFloat> values;
  for (APFloat v : attr.getValues<APFloat>()) {
    if (round)
      v.roundToIntegral(*round);
    else if (v.isNegative() && !v.isNaN())
      v = APFloat::getZero(v.getSemantics());
    values.push_back(v);
  }
  return nc.constant(DenseElementsAttr::get(attr.getType(), values));
}

template <typename OpTy> LogicalResult unaryOp(NodeContext &nc) {
  if (failed(requireInputs(nc, 1)))
    return failure();
  if (Value folded = foldedUnary<OpTy>(nc, nc.input(0)))
    return nc.setResult(folded);
  return nc.setResult(nc.unary<OpTy>(nc.input(0)));
}

/// Unary ops whose Kiln form accepts floats only.
template <typename OpTy> LogicalResult floatUnaryOp(NodeContext &nc) {
  if (failed(requireInputs(nc, 1)))
    return failure();
  if (!isa<FloatType>(nc.inputType(0).getElementType()))
    return nc.error("expects a floating-point input");
  if (Value folded = foldedUnary<OpTy>(nc, nc.input(0)))
    return nc.setResult(folded);
  return nc.setResult(nc.unary<OpTy>(nc.input(0)));
}

LogicalResult identityOp(NodeContext &nc) {
  if (const SmallVector<Value> *sequence = nc.sequenceInput(0)) {
    nc.setSequenceOutput(0, *sequence);
    return success();
  }
  if (failed(requireInputs(nc, 1)))
    return failure();
  nc.setOutput(0, nc.input(0));
  return success();
}

LogicalResult dropoutOp(NodeContext &nc) {
  if (failed(requireInputs(nc, 1)))
    return failure();
  if (nc.input(2)) {
    FailureOr<SmallVector<int64_t>> training =
        nc.constantInts(2, "training_mode");
    if (failed(training))
      return failure();
    if (!training->empty() && (*training)[0] != 0)
      return nc.unsupported("training_mode", "true", "false");
  }
  nc.setOutput(0, nc.input(0));
  if (nc.hasOutput(1)) { // the mask of an inference-mode dropout is all true
    RankedTensorType t = nc.inputType(0);
    auto maskType = t.clone(nc.b.getI1Type());
    nc.setOutput(1, nc.constant(DenseElementsAttr::get(maskType, true)));
  }
  return success();
}

/// Whether `t` is one of the fp8 types with a sign and a mantissa
/// (e4m3fn, e4m3fnuz, e5m2, e5m2fnuz), the ones Cast's saturate applies to.
bool isSignedFloat8(Type t) {
  return isa<Float8E4M3FNType, Float8E4M3FNUZType, Float8E5M2Type,
             Float8E5M2FNUZType>(t);
}

/// `x` (floating point) cast to the fp8 type `to` with saturate = 0: where
/// rounding overflows the largest finite value the result is infinity (of
/// x's sign) in e5m2, NaN in the formats without infinities. Kiln's cast
/// saturates, so those places are selected afterwards.
Value nonSaturatingCast(NodeContext &nc, Value x, FloatType to) {
  const llvm::fltSemantics &sem = to.getFloatSemantics();
  APFloat largest = APFloat::getLargest(sem);
  // Rounding to nearest overflows past the midpoint between the largest
  // value and the next step up; at the midpoint only if the largest value's
  // last mantissa bit is odd (a tie goes to the even neighbour).
  double limit = largest.convertToDouble() +
                 std::ldexp(1.0, llvm::ilogb(largest) -
                                     int(APFloat::semanticsPrecision(sem)));
  bool tieOverflows = largest.bitcastToAPInt()[0];
  RankedTensorType type = nc.typeOf(x);
  Type from = type.getElementType();
  Value overflows =
      nc.compare(tieOverflows ? CompareDirection::GE : CompareDirection::GT,
                 nc.unary<AbsOp>(x), nc.scalar(from, limit));
  auto special = [&](APFloat v) {
    return nc.constant(
        DenseElementsAttr::get(RankedTensorType::get({}, to), v));
  };
  Value beyond = special(APFloat::getNaN(sem));
  if (APFloat::semanticsHasInf(sem)) {
    Value negative = nc.compare(CompareDirection::LT, x, nc.scalar(from, 0));
    beyond = nc.b.createOrFold<SelectOp>(
        nc.loc, type.clone(to), negative,
        special(APFloat::getInf(sem, /*Negative=*/true)),
        special(APFloat::getInf(sem)));
  }
  Value saturated = nc.b.createOrFold<CastOp>(nc.loc, type.clone(to), x);
  return nc.b.createOrFold<SelectOp>(nc.loc, type.clone(to), overflows, beyond,
                                     saturated);
}

/// Converts input 0 to `elt` (Cast's `to`, CastLike's input 1 type).
LogicalResult castTo(NodeContext &nc, Type elt) {
  Value x = nc.input(0);
  Type from = nc.typeOf(x).getElementType();
  bool saturate = nc.getInt("saturate", 1) != 0;
  if (isa<Float8E8M0FNUType>(elt)) {
    // Kiln rounds to e8m0 up to a power of two, saturating (the defaults).
    std::string roundMode = nc.getString("round_mode", "up");
    if (roundMode != "up")
      return nc.unsupported("round_mode", "'" + roundMode + "'", "'up'");
    if (!saturate)
      return nc.unsupported("saturate", "0", "1 for float8e8m0");
  } else if (isSignedFloat8(elt) && !saturate && from != elt) {
    if (!isa<FloatType>(from))
      return nc.unsupported("saturate", "0",
                            "1 from integers; 0 or 1 from floats");
    nc.setOutput(0, nonSaturatingCast(nc, x, cast<FloatType>(elt)));
    return success();
  }
  if (from == elt)
    nc.setOutput(0, x);
  else
    nc.setOutput(0, nc.b.createOrFold<CastOp>(
                        nc.loc, nc.typeOf(x).clone(elt), x,
                        isUnsignedOnnxType(nc.onnxTypeOf(0))));
  return success();
}

LogicalResult castOp(NodeContext &nc) {
  if (failed(requireInputs(nc, 1)))
    return failure();
  int to = nc.getInt("to", 0);
  Type elt = elementTypeFor(nc.b.getContext(), to);
  if (!elt)
    return nc.unsupported("to", onnxTypeName(to),
                          "the numeric, bool and low-precision float "
                          "types; no strings or complex numbers");
  if (failed(castTo(nc, elt)))
    return failure();
  nc.setOutputOnnxType(0, to);
  return success();
}

LogicalResult castLikeOp(NodeContext &nc) {
  if (failed(requireInputs(nc, 2)))
    return failure();
  if (failed(castTo(nc, nc.inputType(1).getElementType())))
    return failure();
  if (int like = nc.onnxTypeOf(1))
    nc.setOutputOnnxType(0, like);
  return success();
}

/// BitCast (opset 26): each element's bits read as the type `to` of the
/// same size. ONNX's bool is one byte, so bool <-> 8-bit integers is
/// kiln.cast (0 / 1, and nonzero -> true); a cast between two ONNX types
/// that Kiln holds in the same type (int8 / uint8) changes nothing. The
/// rest is arith.bitcast in a linalg.generic: no Kiln op reinterprets bits.
LogicalResult bitCastOp(NodeContext &nc) {
  if (failed(requireInputs(nc, 1)))
    return failure();
  Value x = nc.input(0);
  int to = nc.getInt("to", 0);
  Type elt = elementTypeFor(nc.b.getContext(), to);
  if (!elt)
    return nc.unsupported("to", onnxTypeName(to),
                          "the numeric, bool and low-precision float types");
  RankedTensorType type = nc.typeOf(x);
  Type from = type.getElementType();
  auto bits = [](Type t) {
    return t.isInteger(1) ? 8u : t.getIntOrFloatBitWidth();
  };
  if (bits(from) != bits(elt))
    return nc.error("the input's elements have " + Twine(bits(from)) +
                    " bits and " + onnxTypeName(to) + "'s have " +
                    Twine(bits(elt)) +
                    "; BitCast between types of different sizes is not "
                    "supported");
  nc.setOutputOnnxType(0, to);
  if (from.isInteger(1) || elt.isInteger(1))
    return nc.setResult(nc.cast(x, elt));
  if (from == elt)
    return nc.setResult(x);
  SmallVector<Value> dynamicSizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      dynamicSizes.push_back(tensor::DimOp::create(nc.b, nc.loc, x, d));
  RankedTensorType resultType = type.clone(elt);
  Value init = tensor::EmptyOp::create(nc.b, nc.loc, resultType, dynamicSizes);
  AffineMap identity = nc.b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      nc.b, nc.loc, resultType, x, init,
      ArrayRef<AffineMap>{identity, identity}, iterators,
      [&](OpBuilder &b, Location loc, ValueRange args) {
        linalg::YieldOp::create(
            b, loc, ValueRange{arith::BitcastOp::create(b, loc, elt, args[0])});
      });
  return nc.setResult(generic.getResult(0));
}

LogicalResult leakyReluOp(NodeContext &nc) {
  if (failed(requireInputs(nc, 1)))
    return failure();
  Value x = nc.input(0);
  return nc.setResult(
      LeakyReluOp::create(nc.b, nc.loc, x.getType(), x,
                          nc.b.getF32FloatAttr(nc.getFloat("alpha", 0.01f))));
}

LogicalResult geluOp(NodeContext &nc) {
  if (failed(requireInputs(nc, 1)))
    return failure();
  std::string approx = nc.getString("approximate", "none");
  GeluApproximation a;
  if (approx == "none")
    a = GeluApproximation::None;
  else if (approx == "tanh")
    a = GeluApproximation::Tanh;
  else
    return nc.unsupported("approximate", "'" + approx + "'",
                          "'none', 'tanh'");
  Value x = nc.input(0);
  return nc.setResult(
      GeluOp::create(nc.b, nc.loc, x.getType(), x,
                     GeluApproximationAttr::get(nc.b.getContext(), a)));
}

LogicalResult clipOp(NodeContext &nc) {
  if (failed(requireInputs(nc, 1)))
    return failure();
  Value x = nc.input(0);
  Value lo = nc.input(1), hi = nc.input(2);
  if (nc.opset < 11) { // min and max were attributes
    Type elt = nc.typeOf(x).getElementType();
    lo = nc.attr("min") ? nc.scalar(elt, nc.getFloat("min", 0)) : nullptr;
    hi = nc.attr("max") ? nc.scalar(elt, nc.getFloat("max", 0)) : nullptr;
  }
  if (lo)
    x = nc.binary<MaxOp>(x, lo);
  if (hi)
    x = nc.binary<MinOp>(x, hi);
  return nc.setResult(x);
}

} // namespace

// Activations written in primitive ops. `x` is a float tensor.
Value kiln::onnx_import::exponentialLinear(NodeContext &nc, Value x,
                                           double alpha) {
  Type elt = nc.typeOf(x).getElementType();
  Value zero = nc.scalar(elt, 0), one = nc.scalar(elt, 1);
  Value negative = nc.binary<MulOp>(
      nc.scalar(elt, alpha), nc.binary<SubOp>(nc.unary<ExpOp>(x), one));
  return select(nc, nc.compare(CompareDirection::GT, x, zero), x, negative);
}

namespace {

template <Value (*Formula)(NodeContext &, Value)>
LogicalResult activation(NodeContext &nc) {
  if (failed(requireInputs(nc, 1)))
    return failure();
  if (!isa<FloatType>(nc.inputType(0).getElementType()))
    return nc.error("expects a floating-point input");
  return nc.setResult(Formula(nc, nc.input(0)));
}

Value eluFormula(NodeContext &nc, Value x) {
  return exponentialLinear(nc, x, nc.getFloat("alpha", 1.0f));
}
Value seluFormula(NodeContext &nc, Value x) {
  Type elt = nc.typeOf(x).getElementType();
  Value elu = exponentialLinear(nc, x, nc.getFloat("alpha", 1.67326319217681884765625f));
  return nc.binary<MulOp>(nc.scalar(elt, nc.getFloat("gamma", 1.05070102214813232421875f)), elu);
}
Value celuFormula(NodeContext &nc, Value x) {
  Type elt = nc.typeOf(x).getElementType();
  double alpha = nc.getFloat("alpha", 1.0f);
  Value zero = nc.scalar(elt, 0);
  Value scaled = nc.binary<DivOp>(x, nc.scalar(elt, alpha));
  Value neg = nc.binary<MulOp>(
      nc.scalar(elt, alpha),
      nc.binary<SubOp>(nc.unary<ExpOp>(scaled), nc.scalar(elt, 1)));
  return nc.binary<AddOp>(nc.binary<MaxOp>(x, zero),
                          nc.binary<MinOp>(neg, zero));
}
} // namespace

Value kiln::onnx_import::hardSigmoidOf(NodeContext &nc, Value x, double alpha,
                                       double beta) {
  Type elt = nc.typeOf(x).getElementType();
  Value lin = nc.binary<AddOp>(nc.binary<MulOp>(nc.scalar(elt, alpha), x),
                               nc.scalar(elt, beta));
  return nc.binary<MinOp>(nc.binary<MaxOp>(lin, nc.scalar(elt, 0)),
                          nc.scalar(elt, 1));
}

namespace {

Value hardSigmoidFormula(NodeContext &nc, Value x) {
  return hardSigmoidOf(nc, x, nc.getFloat("alpha", 0.2f),
                       nc.getFloat("beta", 0.5f));
}
Value hardSwishFormula(NodeContext &nc, Value x) {
  return nc.binary<MulOp>(x, hardSigmoidOf(nc, x, 1.0 / 6.0, 0.5));
}
} // namespace

/// log(1 + e^x) written as max(x, 0) + log(1 + e^-|x|), which neither
/// overflows for large x nor loses small values.
Value kiln::onnx_import::softplusOf(NodeContext &nc, Value x) {
  Type elt = nc.typeOf(x).getElementType();
  Value tail = nc.unary<LogOp>(nc.binary<AddOp>(
      nc.scalar(elt, 1), nc.unary<ExpOp>(nc.unary<NegOp>(nc.unary<AbsOp>(x)))));
  return nc.binary<AddOp>(nc.binary<MaxOp>(x, nc.scalar(elt, 0)), tail);
}

namespace {

Value softplusFormula(NodeContext &nc, Value x) { return softplusOf(nc, x); }
Value softsignFormula(NodeContext &nc, Value x) {
  Type elt = nc.typeOf(x).getElementType();
  return nc.binary<DivOp>(
      x, nc.binary<AddOp>(nc.scalar(elt, 1), nc.unary<AbsOp>(x)));
}
Value mishFormula(NodeContext &nc, Value x) {
  return nc.binary<MulOp>(x, nc.unary<TanhOp>(softplusOf(nc, x)));
}
Value thresholdedReluFormula(NodeContext &nc, Value x) {
  Type elt = nc.typeOf(x).getElementType();
  Value alpha = nc.scalar(elt, nc.getFloat("alpha", 1.0f));
  return select(nc, nc.compare(CompareDirection::GT, x, alpha), x,
                nc.scalar(elt, 0));
}

/// Shrink: x + bias below -lambd, x - bias above lambd, 0 in between.
Value shrinkFormula(NodeContext &nc, Value x) {
  Type elt = nc.typeOf(x).getElementType();
  double lambd = nc.getFloat("lambd", 0.5f), bias = nc.getFloat("bias", 0.0f);
  Value below = nc.compare(CompareDirection::LT, x, nc.scalar(elt, -lambd));
  Value above = nc.compare(CompareDirection::GT, x, nc.scalar(elt, lambd));
  Value shifted = nc.binary<SubOp>(x, nc.scalar(elt, bias));
  return select(nc, below, nc.binary<AddOp>(x, nc.scalar(elt, bias)),
                select(nc, above, shifted, nc.scalar(elt, 0)));
}

/// Mod with fmod=1 is C's remainder; with fmod=0 (integers only) the result
/// takes the divisor's sign, like Python's %.
LogicalResult modOp(NodeContext &nc) {
  if (failed(requireInputs(nc, 2)))
    return failure();
  Value a = nc.input(0), d = nc.input(1);
  bool fmod = nc.getInt("fmod", 0) != 0;
  Type elt = nc.typeOf(a).getElementType();
  if (isa<FloatType>(elt) && !fmod)
    return nc.error("fmod must be 1 for floating-point inputs");
  Value r = nc.binary<RemOp>(a, d);
  if (!r)
    return failure();
  if (!fmod) {
    Value zero = nc.scalar(elt, 0);
    Value nonzero = nc.compare(CompareDirection::NE, r, zero);
    Value signsDiffer =
        nc.binary<XorOp>(nc.compare(CompareDirection::LT, r, zero),
                         nc.compare(CompareDirection::LT, d, zero));
    Value fix = nc.binary<AndOp>(nonzero, signsDiffer);
    r = select(nc, fix, nc.binary<AddOp>(r, d), r);
  }
  return nc.setResult(r);
}

/// Bitwise ops reuse the logical ones, which work bit by bit on integers.
template <typename OpTy> LogicalResult bitwiseOp(NodeContext &nc) {
  if (nc.inputType(0) && !isa<IntegerType>(nc.inputType(0).getElementType()))
    return nc.error("expects integer inputs");
  return binaryOp<OpTy>(nc);
}

/// BitShift is defined for unsigned integers: right shifts are logical.
LogicalResult bitShiftOp(NodeContext &nc) {
  std::string direction = nc.getString("direction", "");
  if (direction == "LEFT")
    return bitwiseOp<ShiftLeftOp>(nc);
  if (direction == "RIGHT")
    return bitwiseOp<ShiftRightOp>(nc);
  return nc.unsupported("direction", "'" + direction + "'");
}

LogicalResult isNaNOp(NodeContext &nc) {
  if (failed(requireInputs(nc, 1)))
    return failure();
  Value x = nc.input(0);
  if (!isa<FloatType>(nc.typeOf(x).getElementType()))
    return nc.error("expects a floating-point input");
  nc.setOutput(0, nc.compare(CompareDirection::NE, x, x)); // only NaN != NaN
  return success();
}

LogicalResult isInfOp(NodeContext &nc) {
  if (failed(requireInputs(nc, 1)))
    return failure();
  Value x = nc.input(0);
  Type elt = nc.typeOf(x).getElementType();
  if (!isa<FloatType>(elt))
    return nc.error("expects a floating-point input");
  double inf = std::numeric_limits<double>::infinity();
  bool pos = nc.getInt("detect_positive", 1), neg = nc.getInt("detect_negative", 1);
  Value r;
  auto include = [&](double v) {
    Value hit = nc.compare(CompareDirection::EQ, x, nc.scalar(elt, v));
    r = r ? nc.binary<OrOp>(r, hit) : hit;
  };
  if (pos)
    include(inf);
  if (neg)
    include(-inf);
  if (!r)
    r = nc.constant(DenseElementsAttr::get(
        nc.typeOf(x).clone(nc.b.getI1Type()), false));
  return nc.setResult(r);
}

LogicalResult argReduceOp(NodeContext &nc, bool isMax) {
  if (failed(requireInputs(nc, 1)))
    return failure();
  Value x = nc.input(0);
  RankedTensorType t = nc.typeOf(x);
  FailureOr<int64_t> axis = nc.normalizeAxis(nc.getInt("axis", 0), t.getRank());
  if (failed(axis))
    return failure();
  bool keep = nc.getInt("keepdims", 1) != 0;
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < t.getRank(); ++d)
    if (d != *axis)
      shape.push_back(t.getDimSize(d));
    else if (keep)
      shape.push_back(1);
  auto type = RankedTensorType::get(shape, nc.b.getI64Type());
  auto axisAttr = nc.b.getI64IntegerAttr(*axis);
  auto keepAttr = nc.b.getBoolAttr(keep);
  auto lastAttr = nc.b.getBoolAttr(nc.getInt("select_last_index", 0) != 0);
  Value r = isMax ? (Value)ArgMaxOp::create(nc.b, nc.loc, type, x, axisAttr,
                                            keepAttr, lastAttr)
                  : (Value)ArgMinOp::create(nc.b, nc.loc, type, x, axisAttr,
                                            keepAttr, lastAttr);
  return nc.setResult(r);
}
LogicalResult argMaxOp(NodeContext &nc) { return argReduceOp(nc, true); }
LogicalResult argMinOp(NodeContext &nc) { return argReduceOp(nc, false); }

LogicalResult preluOp(NodeContext &nc) {
  if (failed(requireInputs(nc, 2)))
    return failure();
  Value x = nc.input(0), slope = nc.input(1);
  Type elt = nc.typeOf(x).getElementType();
  Value isNeg = nc.compare(CompareDirection::LT, x, nc.scalar(elt, 0));
  Value scaled = nc.binary<MulOp>(x, slope);
  if (!isNeg || !scaled)
    return failure();
  Value r = select(nc, isNeg, scaled, x);
  return nc.setResult(r);
}

} // namespace

void kiln::onnx_import::registerElementwiseHandlers(HandlerTable &t) {
#define ONNX_ELEMENTWISE_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
