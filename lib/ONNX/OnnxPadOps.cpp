//===- OnnxPadOps.cpp - Pad and CenterCropPad
//------------------------------===//
//
// Both read the input at (output index - begin) in each dimension, an
// index outside the input mapping by Pad's mode (constant: the fill value;
// edge: clamped; reflect: mirrored without repeating the edge; wrap:
// modulo the dimension), as one linalg.generic of tensor.extract. Pads and
// sizes are index values: constants fold, so constant pads give a static
// shape, and pads the run gives (RuntimeParameters.h) dynamic dims. A
// target without run-time sizes (CUDA) takes pads the run gives when the
// graph declares the output's static shape: the kernel reads the pads,
// the declared shape sizes the output (trusted, like the declared sizes
// of NonZero and the like).
//
//===----------------------------------------------------------------------===//

#include "DeclaredTypes.h"
#include "NodeContext.h"
#include "RuntimeParameters.h"
#include "ShapeArithmetic.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

/// How an index outside the input reads (Pad's mode).
enum class PadMode { Constant, Edge, Reflect, Wrap };
/// The modes by the names of Pad's `mode` attribute.
const std::pair<StringRef, PadMode> kModes[] = {{"constant", PadMode::Constant},
                                                {"edge", PadMode::Edge},
                                                {"reflect", PadMode::Reflect},
                                                {"wrap", PadMode::Wrap}};

/// Index `i` of a dimension of `dim` elements mapped into it by `mode`
/// (Constant clamps, for a select); meaningless but computed without a
/// division by zero when `dim` is 0.
Value mapIndex(IndexMath &m, PadMode mode, Value i, Value dim) {
  using P = arith::CmpIPredicate;
  Value zero = m.constant(0), one = m.constant(1);
  Value last = m.sub(dim, one);
  switch (mode) {
  case PadMode::Constant:
  case PadMode::Edge:
    return m.min(m.max(i, zero), last);
  case PadMode::Reflect: {
    // Period 2 (dim - 1): |i| folded back from the far edge.
    Value period = m.max(m.add(last, last), one);
    Value j =
        m.rem(m.select(m.cmp(P::slt, i, zero), m.sub(zero, i), i), period);
    return m.select(m.cmp(P::sgt, j, last), m.sub(period, j), j);
  }
  case PadMode::Wrap: {
    Value positive = m.max(dim, one);
    Value j = m.rem(i, positive);
    return m.select(m.cmp(P::slt, j, zero), m.add(j, positive), j);
  }
  }
  llvm_unreachable("unknown pad mode");
}

/// `x` read at (output index - begins[d]) into an output of `sizes` (index
/// values; the constant ones become static dims), by `mode`; Constant
/// reads `fill` (a scalar of x's element type) outside the input. An
/// input that may be empty is read under an scf.if, so that nothing reads
/// out of bounds.
Value paddedRead(NodeContext &nc, Value x, ArrayRef<Value> begins,
                 ArrayRef<Value> sizes, PadMode mode, Value fill) {
  OpBuilder &b = nc.b;
  Location loc = nc.loc;
  RankedTensorType t = nc.typeOf(x);
  SmallVector<int64_t> shape;
  SmallVector<Value> dynamicSizes, dims;
  for (auto [d, size] : llvm::enumerate(sizes)) {
    std::optional<int64_t> known = getConstantIntValue(size);
    shape.push_back(known ? *known : ShapedType::kDynamic);
    if (!known)
      dynamicSizes.push_back(size);
    dims.push_back(b.createOrFold<tensor::DimOp>(loc, x, d));
  }
  bool nonEmpty = t.hasStaticShape() && t.getNumElements() > 0;
  return generate(
      b, loc, t.clone(shape), dynamicSizes,
      [&](OpBuilder &nb, Location l, ArrayRef<Value> at) -> Value {
        using P = arith::CmpIPredicate;
        IndexMath m{nb, l};
        Value readable = arith::ConstantIntOp::create(nb, l, 1, 1);
        SmallVector<Value> from;
        for (auto [d, dim] : llvm::enumerate(dims)) {
          Value i = m.sub(at[d], begins[d]);
          if (mode == PadMode::Constant)
            readable = m.both(readable, m.both(m.cmp(P::sge, i, m.constant(0)),
                                               m.cmp(P::slt, i, dim)));
          else if (!nonEmpty)
            readable = m.both(readable, m.cmp(P::sgt, dim, m.constant(0)));
          from.push_back(nonEmpty || mode != PadMode::Constant
                             ? mapIndex(m, mode, i, dim)
                             : i);
        }
        if (matchPattern(readable, m_One()))
          return tensor::ExtractOp::create(nb, l, x, from);
        if (nonEmpty)
          return arith::SelectOp::create(
              nb, l, readable, tensor::ExtractOp::create(nb, l, x, from), fill);
        auto read = scf::IfOp::create(
            nb, l, readable,
            [&](OpBuilder &ib, Location il) {
              scf::YieldOp::create(
                  ib, il,
                  ValueRange{tensor::ExtractOp::create(ib, il, x, from)});
            },
            [&](OpBuilder &ib, Location il) {
              scf::YieldOp::create(ib, il, fill);
            });
        return read.getResult(0);
      });
}

/// The elements of input `i` as index values, for a target without
/// run-time sizes whose kernel reads them (the output's shape is declared):
/// tensor.extract's of an integer 1-D input of static length that is not
/// a constant, indexValues' constants otherwise.
FailureOr<SmallVector<Value>> kernelReadValues(NodeContext &nc, size_t i,
                                               StringRef what) {
  Value v = nc.input(i);
  RankedTensorType type = nc.inputType(i);
  if (!v || matchPattern(v, m_Constant()) || !type || type.getRank() != 1 ||
      !type.hasStaticShape() || !isa<IntegerType>(type.getElementType()))
    return indexValues(nc, i, what);
  SmallVector<Value> values;
  for (int64_t k = 0; k < type.getDimSize(0); ++k) {
    Value at = arith::ConstantIndexOp::create(nc.b, nc.loc, k);
    Value e = tensor::ExtractOp::create(nc.b, nc.loc, v, ValueRange{at});
    values.push_back(
        arith::IndexCastOp::create(nc.b, nc.loc, nc.b.getIndexType(), e));
  }
  return values;
}

/// Pad (opsets 2 to 25): pads (input 1 from opset 11, else an attribute)
/// of begins then ends for each of `axes` (input 3, opset 18; all
/// dimensions without it), negative ones cropping; constant_value (input
/// 2, or the value attribute) fills in constant mode.
LogicalResult padOp(NodeContext &nc, Value x) {
  FailureOr<PadMode> mode = nc.getChoice<PadMode>("mode", "constant", kModes);
  if (failed(mode))
    return failure();
  RankedTensorType t = nc.typeOf(x);
  int64_t rank = t.getRank();
  IndexMath m{nc.b, nc.loc};
  Type elt = t.getElementType();
  SmallVector<Value> pads, axes;
  // Without run-time sizes, the output's declared static shape (if any).
  RankedTensorType declared =
      nc.symbolicDims ? RankedTensorType() : declaredOutputType(nc, 0);
  if (declared && declared.getRank() != rank)
    declared = RankedTensorType();
  Value fill;
  if (nc.opset < 11) {
    std::optional<SmallVector<int64_t>> attrPads = nc.getInts("pads");
    if (!attrPads)
      return nc.error("expects the pads attribute");
    for (int64_t p : *attrPads)
      pads.push_back(m.constant(p));
    double value = nc.getFloat("value", 0.0f);
    TypedAttr fillAttr =
        isa<FloatType>(elt)
            ? (TypedAttr)nc.b.getFloatAttr(elt, value)
            : (TypedAttr)nc.b.getIntegerAttr(elt, (int64_t)value);
    fill = arith::ConstantOp::create(nc.b, nc.loc, fillAttr);
  } else {
    FailureOr<SmallVector<Value>> given = (bool)declared
                                              ? kernelReadValues(nc, 1, "pads")
                                              : indexValues(nc, 1, "pads");
    if (failed(given))
      return failure();
    pads = std::move(*given);
    if (Value v = nc.input(2)) {
      RankedTensorType vt = nc.typeOf(v);
      if (vt.getElementType() != elt || !vt.hasStaticShape() ||
          vt.getNumElements() != 1)
        return nc.error("constant_value must be one value of the input's "
                        "type");
      SmallVector<Value> first(vt.getRank(),
                               arith::ConstantIndexOp::create(nc.b, nc.loc, 0));
      fill = tensor::ExtractOp::create(nc.b, nc.loc, v, first);
    }
  }
  if (!fill)
    fill = arith::ConstantOp::create(nc.b, nc.loc,
                                     cast<TypedAttr>(nc.b.getZeroAttr(elt)));
  if (nc.input(3)) {
    FailureOr<SmallVector<Value>> given = indexValues(nc, 3, "axes");
    if (failed(given))
      return failure();
    Value zero = m.constant(0), r = m.constant(rank);
    for (Value a : *given)
      axes.push_back(
          m.select(m.cmp(arith::CmpIPredicate::slt, a, zero), m.add(a, r), a));
  } else {
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(m.constant(d));
  }
  size_t n = axes.size();
  if (pads.size() != 2 * n)
    return nc.error("pads holds " + Twine(pads.size()) +
                    " values; expected 2 per padded axis (" + Twine(2 * n) +
                    ")");
  SmallVector<Value> begins, sizes;
  for (int64_t d = 0; d < rank; ++d) {
    Value begin = m.constant(0), end = m.constant(0);
    for (size_t i = 0; i < n; ++i) {
      Value here = m.cmp(arith::CmpIPredicate::eq, axes[i], m.constant(d));
      begin = m.select(here, pads[i], begin);
      end = m.select(here, pads[i + n], end);
    }
    Value dim = nc.b.createOrFold<tensor::DimOp>(nc.loc, x, d);
    begins.push_back(begin);
    Value size = m.max(m.add(m.add(dim, begin), end), m.constant(0));
    if (declared && !getConstantIntValue(size))
      size = m.constant(declared.getDimSize(d));
    sizes.push_back(size);
  }
  return nc.setResult(paddedRead(nc, x, begins, sizes, *mode, fill));
}

/// CenterCropPad (opset 18): each of `axes` (all dimensions without the
/// attribute) cropped or zero-padded to the size in input 1, centred: the
/// output starts (size - dim) / 2 (rounded toward zero) before the input.
LogicalResult centerCropPadOp(NodeContext &nc, Value x) {
  RankedTensorType t = nc.typeOf(x);
  int64_t rank = t.getRank();
  SmallVector<int64_t> axes =
      nc.getInts("axes").value_or(llvm::to_vector(llvm::seq<int64_t>(0, rank)));
  for (int64_t &a : axes) {
    FailureOr<int64_t> axis = nc.normalizeAxis(a, rank);
    if (failed(axis))
      return failure();
    a = *axis;
  }
  RankedTensorType declared =
      nc.symbolicDims ? RankedTensorType() : declaredOutputType(nc, 0);
  if (declared && declared.getRank() != rank)
    declared = RankedTensorType();
  FailureOr<SmallVector<Value>> shape = (bool)declared
                                            ? kernelReadValues(nc, 1, "shape")
                                            : indexValues(nc, 1, "shape");
  if (failed(shape))
    return failure();
  if (shape->size() != axes.size())
    return nc.error("shape holds " + Twine(shape->size()) + " sizes for " +
                    Twine(axes.size()) + " axes");
  IndexMath m{nc.b, nc.loc};
  SmallVector<Value> begins(rank, m.constant(0)), sizes;
  for (int64_t d = 0; d < rank; ++d)
    sizes.push_back(nc.b.createOrFold<tensor::DimOp>(nc.loc, x, d));
  for (auto [axis, size] : llvm::zip(axes, *shape)) {
    Value wanted = m.max(size, m.constant(0));
    begins[axis] = nc.b.createOrFold<arith::DivSIOp>(
        nc.loc, m.sub(wanted, sizes[axis]), m.constant(2));
    sizes[axis] = declared && !getConstantIntValue(wanted)
                      ? m.constant(declared.getDimSize(axis))
                      : wanted;
  }
  Value zero = arith::ConstantOp::create(
      nc.b, nc.loc, cast<TypedAttr>(nc.b.getZeroAttr(t.getElementType())));
  return nc.setResult(
      paddedRead(nc, x, begins, sizes, PadMode::Constant, zero));
}

} // namespace

void kiln::onnx_import::registerPadHandlers(HandlerTable &t) {
#define ONNX_PAD_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
