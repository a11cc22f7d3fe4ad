//===- OnnxSamplingOps.cpp - GridSample ------------------------------------===//
//
// GridSample is spelled out in Kiln ops, following ONNX's reference
// implementation step by step: each grid coordinate is mapped to pixel
// space (align_corners), rounded half to even for nearest, moved inside the
// image by the padding mode (border: clamped, reflection: reflected) when
// it lies beyond the borders, and given taps with weights (1 for nearest,
// 2 for linear, 4 for cubic with A = -0.75), whose pixels are padded again
// (zeros: weight 0 outside the image). The taps of a dimension are one
// tensor with an axis of its own, so that the taps of all dimensions
// combine by broadcasting: [N, out..., k1, ..., kr]. One kiln.gather_elements
// from the image flattened to [N, C, pixels] reads them all, and the
// weighted values are summed over the tap axes.
//
//===----------------------------------------------------------------------===//

#include "NodeContext.h"

#include "kiln/dialects/Kiln/KilnTraits.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

enum class SampleMode { Nearest, Linear, Cubic };
enum class Padding { Zeros, Border, Reflection };

/// The taps along one spatial dimension, [N, out..., 1, .., k, .., 1]: their
/// pixel indices (i64, inside the dimension), weights (null: 1) and where
/// they count (null: everywhere).
struct Taps {
  Value index, weight, valid;
};

/// The arithmetic of GridSample on coordinates of shape [N, out...].
struct GridSampler {
  NodeContext &nc;
  SampleMode mode;
  Padding padding;
  bool alignCorners;
  RankedTensorType coordType; // [N, out...] of the image's element type

  Type elt() const { return coordType.getElementType(); }
  Value s(double v) { return nc.scalar(elt(), v); }
  Value add(Value a, Value b) { return nc.binary<AddOp>(a, b); }
  Value sub(Value a, Value b) { return nc.binary<SubOp>(a, b); }
  Value mul(Value a, Value b) { return nc.binary<MulOp>(a, b); }
  Value floor(Value x) { return nc.unary<FloorOp>(x); }
  Value less(Value a, Value b) { return nc.compare(CompareDirection::LT, a, b); }
  /// A NumPy-broadcasting select (the shapes are known to broadcast).
  Value select(Value c, Value a, Value b) {
    FailureOr<SmallVector<int64_t>> shape = broadcastShapes(
        {nc.typeOf(c).getShape(), nc.typeOf(a).getShape(),
         nc.typeOf(b).getShape()});
    return nc.b.createOrFold<SelectOp>(
        nc.loc, nc.typeOf(a).clone(*shape), c, a, b);
  }
  Value clamp(Value x, double lo, double hi) {
    return nc.binary<MinOp>(nc.binary<MaxOp>(x, s(lo)), s(hi));
  }
  double low() const { return alignCorners ? 0.0 : -0.5; }
  double high(int64_t size) const {
    return alignCorners ? double(size - 1) : double(size) - 0.5;
  }

  /// A normalized coordinate in [-1, 1] as a pixel coordinate.
  Value denormalize(Value g, int64_t size) {
    if (alignCorners) // (g + 1) / 2 * (size - 1)
      return mul(add(g, s(1)), s(double(size - 1) / 2));
    return sub(mul(add(g, s(1)), s(double(size) / 2)), s(0.5));
  }

  /// x reflected at lo and hi until inside [lo, hi], as the reference's
  /// _gs_reflect (the distance beyond the border in ranges, and its
  /// parity): a triangle wave of period 2 * range, hi -
  /// |((x - lo) mod 2 range) - range|; x itself where inside.
  Value reflect(Value x, double lo, double hi) {
    double range = hi - lo;
    if (range <= 0) // a dimension of one pixel with align_corners
      return nc.b.createOrFold<BroadcastOp>(nc.loc, nc.typeOf(x), s(lo));
    Value t = sub(x, s(lo));
    Value y = sub(t, mul(floor(mul(t, s(0.5 / range))), s(2 * range)));
    Value wave = sub(s(hi), nc.unary<AbsOp>(sub(y, s(range))));
    Value outside = nc.binary<OrOp>(less(x, s(lo)), less(s(hi), x));
    return select(outside, wave, x);
  }

  /// The coordinate moved inside the borders by the padding mode.
  Value pad(Value x, int64_t size) {
    if (padding == Padding::Reflection)
      return reflect(x, low(), high(size));
    if (padding == Padding::Border) {
      Value outside = nc.binary<OrOp>(less(x, s(low())),
                                      less(s(high(size)), x));
      return select(outside, clamp(x, 0, double(size - 1)), x);
    }
    return x;
  }

  /// The cubic convolution kernel (A = -0.75) at distances d in [0, 2].
  Value cubicWeight(Value d) {
    const double a = -0.75;
    Value inner = add(mul(mul(sub(mul(s(a + 2), d), s(a + 3)), d), d), s(1));
    Value outer =
        sub(mul(add(mul(sub(mul(s(a), d), s(5 * a)), d), s(8 * a)), d),
            s(4 * a));
    return select(nc.compare(CompareDirection::LE, d, s(1)), inner, outer);
  }

  /// The taps of normalized coordinates `g` ([N, out...]) along spatial
  /// dimension `dim` (of `size`, one of `rank`): on an axis of their own.
  Taps taps(Value g, int64_t size, int64_t dim, int64_t rank) {
    Value x = denormalize(g, size);
    x = mode == SampleMode::Nearest ? pad(nc.unary<RoundOp>(x), size)
                                    : pad(x, size);
    // Offsets from floor(x): 0 (nearest: x itself), 0 and 1, or -1 to 2.
    SmallVector<double> offsets{0};
    if (mode == SampleMode::Linear)
      offsets = {0, 1};
    else if (mode == SampleMode::Cubic)
      offsets = {-1, 0, 1, 2};
    SmallVector<int64_t> shape(coordType.getShape());
    shape.append(rank, 1);
    Value wide = nc.reshape(x, shape);
    SmallVector<int64_t> offsetShape(shape.size(), 1);
    offsetShape[coordType.getRank() + dim] = int64_t(offsets.size());
    SmallVector<float> values(offsets.begin(), offsets.end());
    Value at = add(mode == SampleMode::Nearest ? wide : floor(wide),
                   nc.constant(DenseElementsAttr::get(
                       RankedTensorType::get(offsetShape, elt()),
                       ArrayRef(values))));
    Taps t{nullptr, nullptr, nullptr};
    // Linear: 1 - |at - x|; cubic: the kernel at |at - x|.
    if (mode != SampleMode::Nearest) {
      Value distance = nc.unary<AbsOp>(sub(at, wide));
      t.weight = mode == SampleMode::Linear ? sub(s(1), distance)
                                            : cubicWeight(distance);
    }
    if (padding == Padding::Zeros)
      t.valid = nc.binary<AndOp>(nc.compare(CompareDirection::GE, at, s(0)),
                                 less(at, s(double(size))));
    else if (padding == Padding::Reflection)
      at = reflect(at, low(), high(size));
    // Clamped (zeros: the value is weighted 0 there), then truncated, as
    // the reference's int().
    t.index = nc.cast(clamp(at, 0, double(size - 1)), nc.b.getI64Type());
    return t;
  }
};

FailureOr<SampleMode> sampleModeOf(NodeContext &nc) {
  std::string m = nc.getString("mode", nc.opset >= 20 ? "linear" : "bilinear");
  if (m == "nearest")
    return SampleMode::Nearest;
  if (m == "linear" || m == "bilinear")
    return SampleMode::Linear;
  if (m == "cubic" || m == "bicubic")
    return SampleMode::Cubic;
  (void)nc.unsupported("mode", "'" + m + "'", "'nearest', 'linear', 'cubic'");
  return failure();
}

FailureOr<Padding> paddingOf(NodeContext &nc) {
  return nc.getChoice<Padding>("padding_mode", "zeros",
                               {{"zeros", Padding::Zeros},
                                {"border", Padding::Border},
                                {"reflection", Padding::Reflection}});
}

/// The sum over every combination of one tap per spatial dimension of the
/// image value there (gathered from `flat`, [N, C, pixels]) times the taps'
/// weights; [N, C, points].
Value sumOverTaps(GridSampler &gs, Value flat, ArrayRef<Taps> taps,
                  ArrayRef<int64_t> sizes) {
  NodeContext &nc = gs.nc;
  Value index, weight, valid;
  for (auto [d, t] : llvm::enumerate(taps)) {
    // Row-major: index = index * size + t.index.
    index = index ? nc.binary<AddOp>(
                        nc.binary<MulOp>(index, nc.i64Constant(sizes[d], {})),
                        t.index)
                  : t.index;
    if (t.weight)
      weight = weight ? gs.mul(weight, t.weight) : t.weight;
    if (t.valid)
      valid = valid ? nc.binary<AndOp>(valid, t.valid) : t.valid;
  }
  RankedTensorType ft = nc.typeOf(flat);
  int64_t n = ft.getDimSize(0), c = ft.getDimSize(1);
  int64_t points = gs.coordType.getNumElements() / n;
  int64_t all = nc.typeOf(index).getNumElements() / n;
  Value wide = nc.b.createOrFold<BroadcastOp>(
      nc.loc, RankedTensorType::get({n, c, all}, nc.b.getI64Type()),
      nc.reshape(index, {n, 1, all}));
  Value values = GatherElementsOp::create(nc.b, nc.loc, ft.clone({n, c, all}),
                                          flat, wide, nc.b.getI64IntegerAttr(2));
  if (valid)
    weight = gs.select(valid, weight ? weight : gs.s(1), gs.s(0));
  if (weight)
    values = gs.mul(values, nc.reshape(weight, {n, 1, all}));
  Value perPoint = nc.reshape(values, {n, c, points, all / points});
  return nc.reduce<ReduceSumOp>(perPoint, {3}, /*keepdims=*/false);
}

LogicalResult gridSampleOp(NodeContext &nc) {
  Value x = nc.input(0), grid = nc.input(1);
  if (!x || !grid)
    return nc.error("expects X and grid");
  FailureOr<SampleMode> mode = sampleModeOf(nc);
  FailureOr<Padding> padding = paddingOf(nc);
  if (failed(mode) || failed(padding))
    return failure();
  RankedTensorType xt = nc.typeOf(x), gt = nc.typeOf(grid);
  int64_t r = xt.getRank() - 2;
  if (!isa<FloatType>(xt.getElementType()) ||
      !isa<FloatType>(gt.getElementType()))
    return nc.error("expects a floating-point X and grid");
  if (!xt.hasStaticShape() || !gt.hasStaticShape())
    return nc.error("needs static shapes of X and grid; give them with "
                    "--input-shape");
  if (r < 1 || r > 3 || gt.getRank() != r + 2 ||
      gt.getDimSize(r + 1) != r || gt.getDimSize(0) != xt.getDimSize(0))
    return nc.error("expects X [N, C, D1, ...] with 1 to 3 spatial "
                    "dimensions and grid [N, out..., " + Twine(r) + "]");
  Type elt = xt.getElementType();
  SmallVector<int64_t> coordShape(gt.getShape().drop_back());
  GridSampler gs{nc, *mode, *padding, nc.getInt("align_corners", 0) != 0,
                 RankedTensorType::get(coordShape, elt)};
  Value g = nc.cast(grid, elt);
  ArrayRef<int64_t> sizes = xt.getShape().drop_front(2);
  // The grid's last axis holds (x, y, z): the innermost dimension first.
  SmallVector<Taps> taps;
  for (int64_t d = 0; d < r; ++d) {
    Value coord = nc.b.createOrFold<GatherOp>(
        nc.loc, gs.coordType, g, nc.i64Constant({r - 1 - d}, {}),
        nc.b.getI64IntegerAttr(r + 1));
    taps.push_back(gs.taps(coord, sizes[d], d, r));
  }
  int64_t n = xt.getDimSize(0), c = xt.getDimSize(1), pixels = 1;
  for (int64_t s : sizes)
    pixels *= s;
  Value sum = sumOverTaps(gs, nc.reshape(x, {n, c, pixels}), taps, sizes);
  SmallVector<int64_t> outShape{n, c};
  outShape.append(coordShape.begin() + 1, coordShape.end());
  return nc.setResult(nc.reshape(sum, outShape));
}

} // namespace

void kiln::onnx_import::registerSamplingHandlers(HandlerTable &t) {
#define ONNX_SAMPLING_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
