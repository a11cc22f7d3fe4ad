//===- ConvertKilnToLinalg.cpp - The kiln-convert-kiln-to-linalg pass -------===//
//
// The pass itself and the helpers its three pattern files share. The
// conversion is partial but strict: every Kiln op is illegal afterwards, so
// an op without a lowering is reported instead of silently surviving.
//
//===----------------------------------------------------------------------===//

#include "BoundedOutputsToLinalg.h"
#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/dialects/Kiln/KilnShapes.h"
#include "kiln/passes/KilnToLinalg/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/Support/InterleavedRange.h"

namespace kiln {
#define GEN_PASS_DEF_CONVERTKILNTOLINALG
#include "kiln/passes/KilnToLinalg/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

AffineMap kiln::getBroadcastMap(MLIRContext *ctx, ArrayRef<int64_t> operand,
                                ArrayRef<int64_t> result) {
  SmallVector<AffineExpr> exprs;
  size_t offset = result.size() - operand.size();
  for (auto [i, size] : llvm::enumerate(operand)) {
    if (size == 1 && result[offset + i] != 1)
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else
      exprs.push_back(getAffineDimExpr(offset + i, ctx));
  }
  return AffineMap::get(result.size(), 0, exprs, ctx);
}

Value kiln::emptyTensor(OpBuilder &b, Location loc,
                        ArrayRef<OpFoldResult> sizes, Type elementType) {
  return tensor::EmptyOp::create(b, loc, sizes, elementType);
}

Value kiln::emptyLike(OpBuilder &b, Location loc, Value like,
                     Type elementType) {
  return emptyTensor(b, loc, tensor::getMixedSizes(b, loc, like), elementType);
}

FailureOr<SmallVector<OpFoldResult>>
kiln::resultSizes(OpBuilder &b, Operation *op, unsigned result) {
  auto type = cast<RankedTensorType>(op->getResult(result).getType());
  if (type.hasStaticShape())
    return getAsIndexOpFoldResult(b.getContext(), type.getShape());
  auto reify = dyn_cast<ReifyRankedShapedTypeOpInterface>(op);
  ReifiedRankedShapedTypeDims shapes;
  if (!reify || failed(reify.reifyResultShapes(b, shapes))) {
    InFlightDiagnostic diag = op->emitOpError("cannot be lowered: result ")
                              << result << " has type " << type
                              << ", and its dynamic dimensions";
    SmallVector<int64_t> dims;
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (type.isDynamicDim(d))
        dims.push_back(d);
    diag << " (" << llvm::interleaved(dims)
         << ") do not follow from the operands' shapes; give them static "
            "sizes";
    return failure();
  }
  return shapes[result];
}

FailureOr<Value> kiln::emptyTensorFor(OpBuilder &b, Location loc,
                                      Operation *op, unsigned result,
                                      Type elementType) {
  FailureOr<SmallVector<OpFoldResult>> sizes = resultSizes(b, op, result);
  if (failed(sizes))
    return failure();
  if (!elementType)
    elementType = cast<RankedTensorType>(op->getResult(result).getType())
                      .getElementType();
  return emptyTensor(b, loc, *sizes, elementType);
}

/// The sizes of a loop nest over `resultType` that `inputs` read through
/// `inputMaps`: a dynamic dimension d takes the size of the first input
/// dimension its map indexes with d alone. A lowering whose inputs do not
/// cover a dynamic dimension passes its own init instead.
static SmallVector<OpFoldResult> loopSizesFromInputs(
    OpBuilder &b, Location loc, RankedTensorType resultType,
    ValueRange inputs, ArrayRef<AffineMap> inputMaps) {
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < resultType.getRank(); ++d) {
    if (!resultType.isDynamicDim(d)) {
      sizes.push_back(b.getIndexAttr(resultType.getDimSize(d)));
      continue;
    }
    OpFoldResult size;
    AffineExpr loop = b.getAffineDimExpr(d);
    for (auto [input, map] : llvm::zip(inputs, inputMaps)) {
      for (auto [p, expr] : llvm::enumerate(map.getResults())) {
        if (expr == loop) {
          size = dimOf(b, loc, input, p);
          break;
        }
      }
      if (size)
        break;
    }
    assert(size && "a dynamic result dimension no input reads: pass an init");
    sizes.push_back(size);
  }
  return sizes;
}

Value kiln::buildParallelGeneric(
    OpBuilder &b, Location loc, RankedTensorType resultType, ValueRange inputs,
    ArrayRef<AffineMap> inputMaps,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body, Value init) {
  SmallVector<AffineMap> maps(inputMaps.begin(), inputMaps.end());
  maps.push_back(b.getMultiDimIdentityMap(resultType.getRank()));
  SmallVector<utils::IteratorType> iterators(resultType.getRank(),
                                             utils::IteratorType::parallel);
  if (!init)
    init = emptyTensor(
        b, loc, loopSizesFromInputs(b, loc, resultType, inputs, inputMaps),
        resultType.getElementType());
  auto generic = linalg::GenericOp::create(
      b, loc, resultType, inputs, init, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value v = body(nb, nloc, args.drop_back());
        linalg::YieldOp::create(nb, nloc, v);
      });
  return generic.getResult(0);
}

Value kiln::buildElementwise(
    OpBuilder &b, Location loc, RankedTensorType resultType, ValueRange inputs,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body, Value init) {
  SmallVector<AffineMap> maps;
  for (Value in : inputs)
    maps.push_back(getBroadcastMap(
        b.getContext(), cast<RankedTensorType>(in.getType()).getShape(),
        resultType.getShape()));
  return buildParallelGeneric(b, loc, resultType, inputs, maps, body, init);
}

Value kiln::scalarConstant(OpBuilder &b, Location loc, Type type,
                           double value) {
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, type,
                                     b.getFloatAttr(ft, value));
  if (type.isInteger(1))
    return arith::ConstantOp::create(b, loc, type,
                                     b.getIntegerAttr(type, value != 0));
  return arith::ConstantOp::create(b, loc, type,
                                   b.getIntegerAttr(type, (int64_t)value));
}

Type kiln::accumulatorType(Type t) {
  if (auto f = dyn_cast<FloatType>(t); f && f.getWidth() < 32)
    return Float32Type::get(t.getContext());
  return t;
}

Value kiln::narrowTo(OpBuilder &b, Location loc, Value value,
                     RankedTensorType type) {
  if (cast<RankedTensorType>(value.getType()).getElementType() ==
      type.getElementType())
    return value;
  return buildElementwise(b, loc, type, value,
                          [&](OpBuilder &nb, Location l, ValueRange args) {
                            return (Value)arith::TruncFOp::create(
                                nb, l, type.getElementType(), args[0]);
                          });
}

Value kiln::widenScalar(OpBuilder &b, Location loc, Value x, Type acc) {
  if (x.getType() == acc)
    return x;
  return arith::ExtFOp::create(b, loc, acc, x);
}

/// `size` as an index value: a constant created here (inside a body, as the
/// static lowering always did) or the dynamic size itself.
static Value sizeValue(OpBuilder &b, Location loc, OpFoldResult size) {
  return getValueOrCreateConstantIndexOp(b, loc, size);
}

Value kiln::normalizeIndex(OpBuilder &b, Location loc, Value raw,
                           OpFoldResult size, Value *inRange) {
  Value i = arith::IndexCastOp::create(b, loc, b.getIndexType(), raw);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value n = sizeValue(b, loc, size);
  Value neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, i, zero);
  i = arith::SelectOp::create(b, loc, neg, arith::AddIOp::create(b, loc, i, n),
                              i);
  if (inRange)
    *inRange = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, i, zero),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, i, n));
  return i;
}

Value kiln::normalizeIndex(OpBuilder &b, Location loc, Value raw,
                           int64_t size, Value *inRange) {
  return normalizeIndex(b, loc, raw, b.getIndexAttr(size), inRange);
}

Value kiln::clampIndex(OpBuilder &b, Location loc, Value i,
                       OpFoldResult size) {
  i = arith::MaxSIOp::create(b, loc, i,
                             arith::ConstantIndexOp::create(b, loc, 0));
  Value last;
  if (std::optional<int64_t> n = getConstantIntValue(size))
    last = arith::ConstantIndexOp::create(b, loc, *n - 1);
  else
    last = arith::SubIOp::create(b, loc, sizeValue(b, loc, size),
                                 arith::ConstantIndexOp::create(b, loc, 1));
  return arith::MinSIOp::create(b, loc, i, last);
}

Value kiln::clampIndex(OpBuilder &b, Location loc, Value i, int64_t size) {
  return clampIndex(b, loc, i, b.getIndexAttr(size));
}

SmallVector<Value> kiln::loopIndicesWithAxis(OpBuilder &b, Location loc,
                                             int64_t rank, int64_t axis,
                                             Value at) {
  SmallVector<Value> indices;
  for (int64_t d = 0; d < rank; ++d)
    indices.push_back(d == axis ? at
                                : (Value)linalg::IndexOp::create(b, loc, d));
  return indices;
}

Value kiln::filledTensor(OpBuilder &b, Location loc, RankedTensorType type,
                         Value value) {
  assert(type.hasStaticShape() && "size a dynamic tensor with fillTensor");
  Value empty =
      tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  return fillTensor(b, loc, empty, value);
}

Value kiln::fillTensor(OpBuilder &b, Location loc, Value init, Value value) {
  return linalg::FillOp::create(b, loc, value, init).getResult(0);
}

Value kiln::reshapeTensor(OpBuilder &b, Location loc, Value input,
                          RankedTensorType resultType,
                          ArrayRef<OpFoldResult> resultSizes) {
  auto inputType = cast<RankedTensorType>(input.getType());
  if (inputType == resultType)
    return input;
  // An expansion infers a dynamic size from its source when its group has
  // no other dynamic size; the given sizes cover the other cases.
  auto expand = [&](Value source, ArrayRef<ReassociationIndices> r) -> Value {
    if (resultSizes.empty() || resultType.hasStaticShape())
      return tensor::ExpandShapeOp::create(b, loc, resultType, source, r);
    // MLIR 22's expand-strided-metadata crashes on an expansion of one
    // dimension into two dynamic ones: such a reshape takes its shape as
    // a tensor instead.
    bool splitsIntoDynamics = llvm::any_of(r, [&](const auto &group) {
      return llvm::count_if(group, [&](int64_t d) {
               return resultType.isDynamicDim(d);
             }) > 1;
    });
    if (splitsIntoDynamics) {
      SmallVector<Value> extents;
      for (OpFoldResult size : resultSizes)
        extents.push_back(getValueOrCreateConstantIndexOp(b, loc, size));
      Value shape = tensor::FromElementsOp::create(
          b, loc,
          RankedTensorType::get({(int64_t)extents.size()}, b.getIndexType()),
          extents);
      return tensor::ReshapeOp::create(b, loc, resultType, source, shape);
    }
    return tensor::ExpandShapeOp::create(b, loc, resultType, source, r,
                                         resultSizes);
  };
  // One collapse or one expand when the shapes allow it ...
  if (std::optional<SmallVector<ReassociationIndices>> r =
          getReassociationIndicesForReshape(inputType, resultType)) {
    if (inputType.getRank() > resultType.getRank())
      return tensor::CollapseShapeOp::create(b, loc, resultType, input, *r);
    return expand(input, *r);
  }
  // ... otherwise through the flat vector.
  int64_t flatSize = inputType.hasStaticShape() ? inputType.getNumElements()
                                                : ShapedType::kDynamic;
  auto flatType = RankedTensorType::get({flatSize}, inputType.getElementType());
  Value flat = input;
  if (inputType.getRank() == 0) {
    flat = tensor::ExpandShapeOp::create(b, loc, flatType, input,
                                         SmallVector<ReassociationIndices>{});
  } else if (inputType.getRank() > 1) {
    SmallVector<ReassociationIndices> all(1);
    for (int64_t d = 0; d < inputType.getRank(); ++d)
      all[0].push_back(d);
    flat = tensor::CollapseShapeOp::create(b, loc, flatType, input, all);
  }
  if (resultType.getRank() == 1) // [?] <-> [N] when one side is dynamic
    return flat.getType() == resultType
               ? flat
               : tensor::CastOp::create(b, loc, resultType, flat).getResult();
  SmallVector<ReassociationIndices> all(1);
  for (int64_t d = 0; d < resultType.getRank(); ++d)
    all[0].push_back(d);
  if (resultType.getRank() == 0)
    return tensor::CollapseShapeOp::create(
        b, loc, resultType, flat, SmallVector<ReassociationIndices>{});
  return expand(flat, all);
}

namespace {
struct ConvertKilnToLinalgPass
    : kiln::impl::ConvertKilnToLinalgBase<ConvertKilnToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    populateElementwiseLoweringPatterns(patterns);
    populateStructuredLoweringPatterns(patterns);
    populateDataMovementLoweringPatterns(patterns);
    populateTransformerLoweringPatterns(patterns);
    populateIndexingLoweringPatterns(patterns);
    populateMoELoweringPatterns(patterns);
    populateQuantLoweringPatterns(patterns);
    populateWindowLoweringPatterns(patterns);
    populateBoundedOutputLoweringPatterns(patterns);

    ConversionTarget target(*ctx);
    target.addIllegalDialect<KilnDialect>();
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect,
                           arith::ArithDialect, math::MathDialect,
                           scf::SCFDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
