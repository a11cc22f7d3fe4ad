//===- OnnxWindowOps.cpp - Convolution and pooling ------------------------===//
//
// Conv, MaxPool, AveragePool, LpPool and their Global forms become
// kiln.conv and kiln.pool. ONNX's auto_pad is resolved here into explicit
// pads, so the ops carry only pads, strides and dilations. ConvTranspose is
// a kiln.conv over the input with zeros between its elements. The other
// rearrangements of [N, C, D...] tensors -- DepthToSpace, SpaceToDepth and
// Resize -- are reshapes, transposes and gathers at compile-time indices.
//
//===----------------------------------------------------------------------===//

#include "NodeContext.h"
#include "RuntimeResize.h"
#include "ShapeArithmetic.h"
#include "SharedBuilders.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

/// The window attributes of a Conv or *Pool node, resolved.
struct WindowAttrs {
  SmallVector<int64_t> kernel, strides, dilations, pads;
  bool ceilMode = false;
};

/// `name` (k values, default `fallback` each), or failure after an error.
FailureOr<SmallVector<int64_t>> windowInts(NodeContext &nc, StringRef name,
                                           int64_t k, int64_t fallback) {
  std::optional<SmallVector<int64_t>> values = nc.getInts(name);
  if (!values)
    return SmallVector<int64_t>(k, fallback);
  if ((int64_t)values->size() != k) {
    (void)nc.error(name + " has " + Twine(values->size()) +
                   " values, expected " + Twine(k) +
                   " (one per spatial dimension)");
    return failure();
  }
  return *values;
}

/// Reads strides, dilations, pads, auto_pad and ceil_mode for a window of
/// `kernel` over the spatial dimensions of `input`.
FailureOr<WindowAttrs> windowAttrs(NodeContext &nc, RankedTensorType input,
                                   ArrayRef<int64_t> kernel) {
  int64_t k = input.getRank() - 2;
  WindowAttrs w;
  w.kernel.assign(kernel.begin(), kernel.end());
  w.ceilMode = nc.getInt("ceil_mode", 0) != 0;
  FailureOr<SmallVector<int64_t>> strides = windowInts(nc, "strides", k, 1);
  FailureOr<SmallVector<int64_t>> dilations =
      windowInts(nc, "dilations", k, 1);
  FailureOr<SmallVector<int64_t>> pads = windowInts(nc, "pads", 2 * k, 0);
  if (failed(strides) || failed(dilations) || failed(pads))
    return failure();
  w.strides = *strides;
  w.dilations = *dilations;
  w.pads = *pads;
  std::string autoPad = nc.getString("auto_pad", "NOTSET");
  if (autoPad == "NOTSET")
    return w;
  if (autoPad == "VALID") {
    w.pads.assign(2 * k, 0);
    return w;
  }
  if (autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER") {
    (void)nc.unsupported("auto_pad", autoPad);
    return failure();
  }
  // SAME: ceil(D / stride) outputs, the padding split evenly, the odd one
  // at the end (SAME_UPPER) or the beginning (SAME_LOWER).
  w.ceilMode = false;
  for (int64_t i = 0; i < k; ++i) {
    int64_t size = input.getDimSize(2 + i);
    int64_t out = (size + w.strides[i] - 1) / w.strides[i];
    int64_t total = std::max<int64_t>(
        0, (out - 1) * w.strides[i] + (kernel[i] - 1) * w.dilations[i] + 1 -
               size);
    int64_t small = total / 2, large = total - small;
    w.pads[i] = autoPad == "SAME_UPPER" ? small : large;
    w.pads[k + i] = autoPad == "SAME_UPPER" ? large : small;
  }
  return w;
}

/// [N, channels, out...] for a window over `input`.
RankedTensorType windowResultType(RankedTensorType input, int64_t channels,
                                  const WindowAttrs &w) {
  int64_t k = input.getRank() - 2;
  SmallVector<int64_t> shape{input.getDimSize(0), channels};
  for (int64_t i = 0; i < k; ++i)
    shape.push_back(windowOutputSize(input.getDimSize(2 + i), w.kernel[i],
                                     w.strides[i], w.dilations[i], w.pads[i],
                                     w.pads[k + i], w.ceilMode));
  return input.clone(shape);
}

/// The input [N, C, D1, ...] of a window node, or null after an error.
/// With `weightName` the node must have a weight (input 1) too.
Value windowInput(NodeContext &nc, StringRef weightName = {}) {
  Value x = nc.input(0);
  if (!x) {
    (void)nc.error("expects an input X");
    return {};
  }
  if (nc.typeOf(x).getRank() < 3) {
    (void)nc.error("X must be [N, C, D1, ...] (rank 3 or more), got rank " +
                   Twine(nc.typeOf(x).getRank()));
    return {};
  }
  if (!weightName.empty() && !nc.input(1)) {
    (void)nc.error("expects a weight " + weightName);
    return {};
  }
  return x;
}

/// kiln.conv of `x` and `weight` (same element type) plus `bias`, with
/// the node's window attributes; null after an error.
Value buildConv(NodeContext &nc, Value x, Value weight, Value bias) {
  RankedTensorType in = nc.typeOf(x), wt = nc.typeOf(weight);
  if (wt.getRank() != in.getRank()) {
    (void)nc.error("the weight must have X's rank " + Twine(in.getRank()));
    return {};
  }
  SmallVector<int64_t> kernel(wt.getShape().drop_front(2));
  if (std::optional<SmallVector<int64_t>> stated = nc.getInts("kernel_shape"))
    if (*stated != kernel) {
      (void)nc.error("kernel_shape does not match the weight's spatial "
                     "dimensions");
      return {};
    }
  FailureOr<WindowAttrs> w = windowAttrs(nc, in, kernel);
  if (failed(w))
    return {};
  auto type = windowResultType(in, wt.getDimSize(0), *w);
  return ConvOp::create(nc.b, nc.loc, type, x, weight, bias,
                        nc.b.getDenseI64ArrayAttr(w->strides),
                        nc.b.getDenseI64ArrayAttr(w->dilations),
                        nc.b.getDenseI64ArrayAttr(w->pads),
                        nc.b.getI64IntegerAttr(nc.getInt("group", 1)));
}

LogicalResult convOp(NodeContext &nc) {
  Value x = windowInput(nc, "W"), weight = nc.input(1), bias = nc.input(2);
  if (!x)
    return failure();
  Type elt = nc.typeOf(x).getElementType();
  if (!isa<FloatType>(elt))
    return nc.error("X must hold floats (ConvInteger is the integer form)");
  return nc.setResult(buildConv(nc, x, nc.cast(weight, elt),
                                bias ? nc.cast(bias, elt) : Value()));
}

/// ConvInteger: the exact i32 convolution of the zero-point-centred
/// operands; x_zero_point is per tensor, w_zero_point per tensor or per
/// filter ([M]).
LogicalResult convIntegerOp(NodeContext &nc) {
  Value x = windowInput(nc, "w"), weight = nc.input(1);
  if (!x)
    return failure();
  for (size_t i : {size_t(0), size_t(1)})
    if (nc.onnxTypeOf(i) != onnx::TensorProto::INT8 &&
        nc.onnxTypeOf(i) != onnx::TensorProto::UINT8)
      return nc.error("x and w must be int8 or uint8");
  Value weightZero = nc.input(3);
  if (weightZero && nc.typeOf(weightZero).getNumElements() > 1) {
    SmallVector<int64_t> perFilter(nc.typeOf(weight).getRank(), 1);
    perFilter[0] = nc.typeOf(weightZero).getNumElements();
    weightZero = nc.reshape(weightZero, perFilter);
  }
  Value xc = centeredInteger(nc, x, nc.onnxTypeOf(0), nc.input(2),
                             /*perRow=*/false);
  Value wc = centeredInteger(nc, weight, nc.onnxTypeOf(1), weightZero,
                             /*perRow=*/false);
  if (!xc || !wc)
    return failure();
  return nc.setResult(buildConv(nc, xc, wc, Value()));
}

/// QLinearConv: ConvInteger's exact i32 convolution of the centred
/// operands plus the i32 bias, scaled by x_scale * w_scale / y_scale
/// (w_scale per tensor or per filter) and quantized to y's type with
/// y_zero_point (round half to even, saturating).
LogicalResult qlinearConvOp(NodeContext &nc) {
  Value x = windowInput(nc), weight = nc.input(3);
  if (!x)
    return failure();
  for (size_t i : {1, 2, 3, 4, 5, 6})
    if (!nc.input(i))
      return nc.error("expects x, x_scale, x_zero_point, w, w_scale, "
                      "w_zero_point, y_scale (and y_zero_point, B)");
  for (size_t i : {size_t(0), size_t(3)})
    if (nc.onnxTypeOf(i) != onnx::TensorProto::INT8 &&
        nc.onnxTypeOf(i) != onnx::TensorProto::UINT8)
      return nc.error("x and w must be int8 or uint8");
  int64_t filters = nc.typeOf(weight).getDimSize(0);
  SmallVector<int64_t> perFilter(nc.typeOf(weight).getRank(), 1);
  perFilter[0] = filters;
  Value weightZero = nc.input(5);
  if (nc.typeOf(weightZero).getNumElements() > 1)
    weightZero = nc.reshape(weightZero, perFilter);
  Value xc = centeredInteger(nc, x, nc.onnxTypeOf(0), nc.input(2),
                             /*perRow=*/false);
  Value wc = centeredInteger(nc, weight, nc.onnxTypeOf(3), weightZero,
                             /*perRow=*/false);
  if (!xc || !wc)
    return failure();
  Value bias = nc.input(8);
  if (bias)
    bias = nc.cast(bias, nc.b.getI32Type());
  Value product = buildConv(nc, xc, wc, bias);
  if (!product)
    return failure();
  // [M] scales apply per filter: [M, 1, ...] against [N, M, D...].
  auto f32 = nc.b.getF32Type();
  Value wScale = nc.cast(nc.input(4), f32);
  SmallVector<int64_t> perChannel(nc.typeOf(product).getRank() - 1, 1);
  perChannel[0] = filters;
  if (nc.typeOf(wScale).getNumElements() > 1)
    wScale = nc.reshape(wScale, perChannel);
  Value multiplier =
      nc.binary<DivOp>(nc.binary<MulOp>(nc.cast(nc.input(1), f32), wScale),
                       nc.cast(nc.input(6), f32));
  if (!multiplier)
    return failure();
  Value scaled = nc.binary<MulOp>(nc.cast(product, f32), multiplier);
  if (!scaled)
    return failure();
  return setQLinearOutput(nc, scaled);
}

/// Unsigned data would be compared as signed (Kiln's integers are
/// signless): uint8 and uint16 max pooling widens to i32 (maxPoolUnsigned),
/// the rest is refused rather than computed wrong.
LogicalResult checkPoolType(NodeContext &nc, PoolKind kind) {
  int type = nc.onnxTypeOf(0);
  bool narrowUnsigned =
      type == onnx::TensorProto::UINT8 || type == onnx::TensorProto::UINT16;
  if ((type == 2 || type == 4 || type == 12 || type == 13) &&
      !(kind == PoolKind::Max && narrowUnsigned))
    return nc.error("pooling unsigned integers is not supported (signed "
                    "integers, floats, and uint8 / uint16 max pooling are)");
  if (kind != PoolKind::Max && !isa<FloatType>(nc.inputType(0).getElementType()))
    return nc.error("average and Lp pooling need float data");
  return success();
}

/// `pool(x)`, for uint8 / uint16 `x` computed on its values widened to i32
/// (which order like the unsigned ones) and narrowed back.
template <typename PoolFn>
Value unsignedAsI32(NodeContext &nc, Value x, PoolFn pool) {
  if (!isUnsignedOnnxType(nc.onnxTypeOf(0)))
    return pool(x);
  RankedTensorType t = nc.typeOf(x);
  Value wide = CastOp::create(nc.b, nc.loc, t.clone(nc.b.getI32Type()), x,
                              nc.b.getBoolAttr(true));
  Value pooled = pool(wide);
  if (!pooled)
    return {};
  nc.setOutputOnnxType(0, nc.onnxTypeOf(0));
  return nc.cast(pooled, t.getElementType());
}

Value buildPool(NodeContext &nc, PoolKind kind, Value x, const WindowAttrs &w) {
  RankedTensorType in = nc.typeOf(x);
  auto type = windowResultType(in, in.getDimSize(1), w);
  return PoolOp::create(
      nc.b, nc.loc, type, x, PoolKindAttr::get(nc.b.getContext(), kind),
      nc.b.getDenseI64ArrayAttr(w.kernel), nc.b.getDenseI64ArrayAttr(w.strides),
      nc.b.getDenseI64ArrayAttr(w.dilations), nc.b.getDenseI64ArrayAttr(w.pads),
      nc.b.getBoolAttr(w.ceilMode),
      nc.b.getBoolAttr(nc.getInt("count_include_pad", 0) != 0),
      nc.b.getI64IntegerAttr(nc.getInt("p", 2)));
}

template <PoolKind Kind>
LogicalResult poolOp(NodeContext &nc) {
  Value x = windowInput(nc);
  if (!x || failed(checkPoolType(nc, Kind)))
    return failure();
  int64_t storageOrder = nc.getInt("storage_order", 0);
  if (Kind == PoolKind::Max && storageOrder != 0 && storageOrder != 1)
    return nc.unsupported("storage_order", Twine(storageOrder), "0, 1");
  std::optional<SmallVector<int64_t>> kernel = nc.getInts("kernel_shape");
  if (!kernel || (int64_t)kernel->size() != nc.typeOf(x).getRank() - 2)
    return nc.error("kernel_shape must give one size per spatial dimension");
  FailureOr<WindowAttrs> w = windowAttrs(nc, nc.typeOf(x), *kernel);
  if (failed(w))
    return failure();
  Value y =
      unsignedAsI32(nc, x, [&](Value v) { return buildPool(nc, Kind, v, *w); });
  if (!y || Kind != PoolKind::Max || !nc.hasOutput(1))
    return nc.setResult(y);
  // storage_order only changes how Indices count.
  Value indices =
      maxPoolIndices(nc, x, nc.typeOf(y),
                     PoolWindow{w->kernel, w->strides, w->dilations, w->pads},
                     storageOrder == 1);
  return nc.setResults({y, indices});
}

/// Global*Pool: one window over all spatial dimensions.
template <PoolKind Kind>
LogicalResult globalPoolOp(NodeContext &nc) {
  Value x = windowInput(nc);
  if (!x || failed(checkPoolType(nc, Kind)))
    return failure();
  RankedTensorType in = nc.typeOf(x);
  int64_t k = in.getRank() - 2;
  WindowAttrs w;
  w.kernel.assign(in.getShape().begin() + 2, in.getShape().end());
  w.strides.assign(k, 1);
  w.dilations.assign(k, 1);
  w.pads.assign(2 * k, 0);
  return nc.setResult(
      unsignedAsI32(nc, x, [&](Value v) { return buildPool(nc, Kind, v, w); }));
}

//===----------------------------------------------------------------------===//
// ConvTranspose
//===----------------------------------------------------------------------===//

/// ConvTranspose as a kiln.conv: X with stride - 1 zeros inserted after
/// each element, padded by dilation * (K - 1) - pad, convolved at stride 1
/// with the filters flipped and their in/out channels swapped per group;
/// negative pads become a crop of the result.
LogicalResult convTransposeOp(NodeContext &nc) {
  Value x = windowInput(nc, "W"), weight = nc.input(1), bias = nc.input(2);
  if (!x)
    return failure();
  RankedTensorType in = nc.typeOf(x);
  Type elt = in.getElementType();
  if (!isa<FloatType>(elt))
    return nc.error("X must hold floats");
  if (!in.hasStaticShape() || !nc.typeOf(weight).hasStaticShape())
    return nc.error("X and W need static shapes");
  weight = nc.cast(weight, elt);
  RankedTensorType wt = nc.typeOf(weight);
  int64_t k = in.getRank() - 2, group = nc.getInt("group", 1);
  if (wt.getRank() != in.getRank())
    return nc.error("the weight must have X's rank " + Twine(in.getRank()));
  if (group < 1 || in.getDimSize(1) % group ||
      wt.getDimSize(0) != in.getDimSize(1))
    return nc.error("W must be [C, M / group, K...] with group dividing C");
  SmallVector<int64_t> kernel(wt.getShape().drop_front(2));
  if (std::optional<SmallVector<int64_t>> stated = nc.getInts("kernel_shape"))
    if (*stated != kernel)
      return nc.error("kernel_shape does not match the weight's spatial "
                      "dimensions");
  FailureOr<SmallVector<int64_t>> strides = windowInts(nc, "strides", k, 1);
  FailureOr<SmallVector<int64_t>> dilations = windowInts(nc, "dilations", k, 1);
  FailureOr<SmallVector<int64_t>> pads = windowInts(nc, "pads", 2 * k, 0);
  FailureOr<SmallVector<int64_t>> outPad =
      windowInts(nc, "output_padding", k, 0);
  if (failed(strides) || failed(dilations) || failed(pads) || failed(outPad))
    return failure();
  std::string autoPad = nc.getString("auto_pad", "NOTSET");
  if (autoPad != "NOTSET" && autoPad != "VALID" && autoPad != "SAME_UPPER" &&
      autoPad != "SAME_LOWER")
    return nc.unsupported("auto_pad", autoPad,
                          "NOTSET, VALID, SAME_UPPER, SAME_LOWER");
  std::optional<SmallVector<int64_t>> outputShape = nc.getInts("output_shape");
  if (outputShape && (int64_t)outputShape->size() != k) {
    if ((int64_t)outputShape->size() != k + 2)
      return nc.error("output_shape must give one size per spatial dimension");
    outputShape =
        SmallVector<int64_t>(outputShape->begin() + 2, outputShape->end());
  }
  if (autoPad == "VALID")
    pads->assign(2 * k, 0);
  // The output sizes and pads: explicit, or from output_shape / SAME (the
  // total padding split evenly, the odd one at the end for SAME_UPPER and
  // at the beginning otherwise).
  SmallVector<int64_t> outSizes;
  bool derived =
      outputShape || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER";
  for (int64_t i = 0; i < k; ++i) {
    int64_t full = (*strides)[i] * (in.getDimSize(2 + i) - 1) + (*outPad)[i] +
                   ((kernel[i] - 1) * (*dilations)[i] + 1);
    if (derived) {
      int64_t target = outputShape ? (*outputShape)[i]
                                   : in.getDimSize(2 + i) * (*strides)[i];
      // Halves round down (ONNX's reference divides with Python's //): a
      // negative total pads the end with positions only the bias reaches.
      int64_t total = full - target, half = llvm::divideFloorSigned(total, 2);
      (*pads)[i] = autoPad == "SAME_UPPER" ? half : total - half;
      (*pads)[k + i] = autoPad == "SAME_UPPER" ? total - half : half;
    }
    outSizes.push_back(full - (*pads)[i] - (*pads)[k + i]);
    if (outSizes.back() < 1)
      return nc.error("the output would be empty along spatial dimension " +
                      Twine(i));
  }

  // Zeros between the elements: [N, C, D1, 1, D2, 1, ...] joined with
  // zeros to [N, C, D1, s1, D2, s2, ...], then [N, C, D1 * s1, ...]. The
  // trailing s - 1 zeros of each axis count as end padding.
  SmallVector<int64_t> split(in.getShape().take_front(2));
  for (int64_t i = 0; i < k; ++i) {
    split.push_back(in.getDimSize(2 + i));
    split.push_back(1);
  }
  bool strided = llvm::any_of(*strides, [](int64_t s) { return s > 1; });
  Value up = strided ? nc.reshape(x, split) : x;
  SmallVector<int64_t> upShape(in.getShape().take_front(2));
  for (int64_t i = 0; i < k; ++i) {
    int64_t s = (*strides)[i];
    upShape.push_back(in.getDimSize(2 + i) * s);
    if (!strided || s == 1)
      continue;
    RankedTensorType t = nc.typeOf(up);
    SmallVector<int64_t> zerosShape(t.getShape());
    zerosShape[3 + 2 * i] = s - 1;
    auto zerosType = RankedTensorType::get(zerosShape, elt);
    Value zeros =
        nc.constant(DenseElementsAttr::get(zerosType, nc.b.getZeroAttr(elt)));
    SmallVector<int64_t> joined(t.getShape());
    joined[3 + 2 * i] = s;
    up = ConcatOp::create(nc.b, nc.loc, t.clone(joined), ValueRange{up, zeros},
                          nc.b.getI64IntegerAttr(3 + 2 * i));
  }
  if (strided)
    up = nc.reshape(up, upShape);

  // Filters [C, M/g, K...] -> [M, C/g, K...], each flipped.
  int64_t c = wt.getDimSize(0), mg = wt.getDimSize(1);
  SmallVector<int64_t> grouped{group, c / group, mg};
  llvm::append_range(grouped, kernel);
  SmallVector<int64_t> perm{0, 2, 1};
  for (int64_t i = 0; i < k; ++i)
    perm.push_back(3 + i);
  SmallVector<int64_t> filtersShape{group * mg, c / group};
  llvm::append_range(filtersShape, kernel);
  Value filters =
      nc.reshape(nc.transpose(nc.reshape(weight, grouped), perm), filtersShape);
  SmallVector<int64_t> starts(2, 0), steps(2, 1);
  for (int64_t i = 0; i < k; ++i) {
    starts.push_back(kernel[i] - 1);
    steps.push_back(-1);
  }
  filters = nc.b.createOrFold<SliceOp>(nc.loc, nc.typeOf(filters), filters,
                                       nc.b.getDenseI64ArrayAttr(starts),
                                       nc.b.getDenseI64ArrayAttr(steps));

  // Pads of the stride-1 conv; negative ones are cropped from its result.
  SmallVector<int64_t> convPads(2 * k), crop(k);
  SmallVector<int64_t> convShape{in.getDimSize(0), group * mg};
  for (int64_t i = 0; i < k; ++i) {
    int64_t reach = (*dilations)[i] * (kernel[i] - 1);
    int64_t begin = reach - (*pads)[i];
    int64_t end = reach - (*pads)[k + i] + (*outPad)[i] - ((*strides)[i] - 1);
    convPads[i] = std::max<int64_t>(begin, 0);
    convPads[k + i] = std::max<int64_t>(end, 0);
    crop[i] = std::max<int64_t>(-begin, 0);
    convShape.push_back(upShape[2 + i] + convPads[i] + convPads[k + i] - reach);
  }
  auto convType = in.clone(convShape);
  Value y = ConvOp::create(
      nc.b, nc.loc, convType, up, filters, bias ? nc.cast(bias, elt) : Value(),
      nc.b.getDenseI64ArrayAttr(SmallVector<int64_t>(k, 1)),
      nc.b.getDenseI64ArrayAttr(*dilations),
      nc.b.getDenseI64ArrayAttr(convPads), nc.b.getI64IntegerAttr(group));
  SmallVector<int64_t> resultShape{in.getDimSize(0), group * mg};
  llvm::append_range(resultShape, outSizes);
  if (ArrayRef<int64_t>(resultShape) != convType.getShape()) {
    SmallVector<int64_t> cropStarts{0, 0};
    llvm::append_range(cropStarts, crop);
    y = SliceOp::create(
        nc.b, nc.loc, in.clone(resultShape), y,
        nc.b.getDenseI64ArrayAttr(cropStarts),
        nc.b.getDenseI64ArrayAttr(SmallVector<int64_t>(k + 2, 1)));
  }
  return nc.setResult(y);
}

//===----------------------------------------------------------------------===//
// DepthToSpace, SpaceToDepth
//===----------------------------------------------------------------------===//

/// DepthToSpace and SpaceToDepth: the handler gets the [N, C, H, W] input
/// `x` (static sizes `s`) and the block size `b`, checked here.
using BlockHandler = LogicalResult (*)(NodeContext &, Value x,
                                       ArrayRef<int64_t> s, int64_t b);
template <BlockHandler handler> LogicalResult withBlockInput(NodeContext &nc) {
  Value x = nc.input(0);
  if (!x)
    return nc.error("expects an input");
  RankedTensorType t = nc.typeOf(x);
  if (t.getRank() != 4 || !t.hasStaticShape())
    return nc.error("input must be [N, C, H, W] with static sizes");
  int64_t block = nc.getInt("blocksize", 0);
  if (block < 1)
    return nc.error("blocksize must be at least 1");
  return handler(nc, x, t.getShape(), block);
}

LogicalResult depthToSpaceOp(NodeContext &nc, Value x, ArrayRef<int64_t> s,
                             int64_t b) {
  if (s[1] % (b * b))
    return nc.error("the channels (" + Twine(s[1]) +
                    ") must be a multiple of blocksize^2");
  std::string mode = nc.getString("mode", "DCR");
  Value y;
  if (mode == "DCR")
    y = nc.transpose(nc.reshape(x, {s[0], b, b, s[1] / (b * b), s[2], s[3]}),
                     {0, 3, 4, 1, 5, 2});
  else if (mode == "CRD")
    y = nc.transpose(nc.reshape(x, {s[0], s[1] / (b * b), b, b, s[2], s[3]}),
                     {0, 1, 4, 2, 5, 3});
  else
    return nc.unsupported("mode", mode, "DCR, CRD");
  return nc.setResult(
      nc.reshape(y, {s[0], s[1] / (b * b), s[2] * b, s[3] * b}));
}

LogicalResult spaceToDepthOp(NodeContext &nc, Value x, ArrayRef<int64_t> s,
                             int64_t b) {
  if (s[2] % b || s[3] % b)
    return nc.error("the height and width must be multiples of blocksize");
  Value y = nc.transpose(nc.reshape(x, {s[0], s[1], s[2] / b, b, s[3] / b, b}),
                         {0, 3, 5, 1, 2, 4});
  return nc.setResult(nc.reshape(y, {s[0], s[1] * b * b, s[2] / b, s[3] / b}));
}

//===----------------------------------------------------------------------===//
// Resize
//===----------------------------------------------------------------------===//

/// How Resize reads one axis: output position o is the sum over taps t of
/// input[index[t][o]] * weight[t][o], or the extrapolation value where
/// `outside[o]` (tf_crop_and_resize).
struct AxisTaps {
  std::vector<std::vector<int64_t>> index;
  std::vector<std::vector<double>> weight;
  std::vector<bool> outside;
};

/// ONNX's reference interpolation coefficients for `ratio` in (0, 1].
std::vector<double> resizeCoefficients(const ResizeMode &m, double ratio,
                                       double scale) {
  if (m.mode == "nearest") {
    if (ratio == 1.0)
      return {0, 1};
    if (m.nearest == "round_prefer_floor")
      return {double(ratio <= 0.5), double(ratio > 0.5)};
    if (m.nearest == "round_prefer_ceil")
      return {double(ratio < 0.5), double(ratio >= 0.5)};
    if (m.nearest == "floor")
      return {1, 0};
    return {0, 1}; // ceil
  }
  if (m.mode == "linear") {
    if (!m.antialias)
      return {1 - ratio, ratio};
    scale = std::min(scale, 1.0);
    int64_t start = (int64_t)std::floor(-1 / scale) + 1;
    int64_t footprint = 2 - 2 * start;
    std::vector<double> c;
    double sum = 0;
    for (int64_t i = start; i < start + footprint; ++i) {
      double v = std::clamp(1 - std::abs((i - ratio) * scale), 0.0, 1.0);
      c.push_back(v);
      sum += v;
    }
    for (double &v : c)
      v /= sum;
    return c;
  }
  // cubic
  double a = m.cubicA;
  if (!m.antialias) {
    double r = ratio, q = 1 - ratio;
    return {((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a,
            ((a + 2) * r - (a + 3)) * r * r + 1,
            ((a + 2) * q - (a + 3)) * q * q + 1,
            ((a * (q + 1) - 5 * a) * (q + 1) + 8 * a) * (q + 1) - 4 * a};
  }
  scale = std::min(scale, 1.0);
  auto coeff = [&](double x) {
    x = std::abs(x);
    double x2 = x * x, x3 = x * x2;
    if (x <= 1)
      return (a + 2) * x3 - (a + 3) * x2 + 1;
    if (x < 2)
      return a * x3 - 5 * a * x2 + 8 * a * x - 4 * a;
    return 0.0;
  };
  int64_t start = (int64_t)std::floor(-2 / scale) + 1, end = 2 - start;
  std::vector<double> c;
  double sum = 0;
  for (int64_t i = start; i < end; ++i) {
    c.push_back(coeff(scale * (i - ratio)));
    sum += c.back();
  }
  for (double &v : c)
    v /= sum;
  return c;
}

/// The taps of one axis of `inSize` elements resized to `outSize` with
/// `scale` (ONNX's reference: the n input elements nearest the mapped
/// coordinate, ties to the smaller index, the input extended by its edge
/// values).
AxisTaps axisTaps(const ResizeMode &m, int64_t inSize, int64_t outSize,
                  double scale, double roiStart, double roiEnd) {
  AxisTaps taps;
  double outWidth = scale * inSize;
  for (int64_t o = 0; o < outSize; ++o) {
    double x = o, xo;
    const std::string &t = m.transform;
    if (t == "align_corners")
      xo = outWidth == 1 ? 0 : x * (inSize - 1) / (outWidth - 1);
    else if (t == "asymmetric")
      xo = x / scale;
    else if (t == "tf_crop_and_resize")
      xo = (outWidth == 1
                ? (roiEnd - roiStart) * (inSize - 1) / 2
                : x * (roiEnd - roiStart) * (inSize - 1) / (outWidth - 1)) +
           roiStart * (inSize - 1);
    else if (t == "pytorch_half_pixel")
      xo = outWidth == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
    else if (t == "half_pixel_symmetric") {
      double adjustment = outSize / outWidth, center = inSize / 2.0;
      xo = center * (1 - adjustment) + (x + 0.5) / scale - 0.5;
    } else // half_pixel
      xo = (x + 0.5) / scale - 0.5;
    bool outside = t == "tf_crop_and_resize" && (xo < 0 || xo > inSize - 1);
    taps.outside.push_back(outside);
    double ratio = xo == std::floor(xo) ? 1.0 : xo - std::floor(xo);
    std::vector<double> coeffs = resizeCoefficients(m, ratio, scale);
    int64_t n = coeffs.size(), pad = (n + 1) / 2, limit = inSize + 2 * pad;
    // The n indices of [0, limit) nearest xo + pad, ties to the smaller.
    double xp = xo + pad;
    int64_t center = std::clamp<int64_t>((int64_t)std::floor(xp), 0, limit - 1);
    std::vector<int64_t> candidates;
    for (int64_t i = std::max<int64_t>(0, center - n - 1);
         i <= std::min<int64_t>(limit - 1, center + n + 1); ++i)
      candidates.push_back(i);
    std::stable_sort(candidates.begin(), candidates.end(),
                     [&](int64_t a, int64_t b) {
                       return std::abs(xp - a) < std::abs(xp - b);
                     });
    candidates.resize(n);
    llvm::sort(candidates);
    if (m.excludeOutside) {
      double sum = 0;
      for (int64_t i = 0; i < n; ++i) {
        int64_t idx = candidates[i] - pad;
        if (idx < 0 || idx >= inSize)
          coeffs[i] = 0;
        sum += coeffs[i];
      }
      for (double &v : coeffs)
        v /= sum;
    }
    if ((int64_t)taps.index.size() < n) {
      taps.index.resize(n, std::vector<int64_t>(o, 0));
      taps.weight.resize(n, std::vector<double>(o, 0.0));
    }
    for (int64_t i = 0; i < n; ++i) {
      taps.index[i].push_back(
          std::clamp<int64_t>(candidates[i] - pad, 0, inSize - 1));
      taps.weight[i].push_back(outside ? 0.0 : coeffs[i]);
    }
  }
  // Nearest: one tap, the one of weight 1 (no multiplication: exact for
  // integers too).
  if (m.mode == "nearest") {
    std::vector<int64_t> index;
    for (int64_t o = 0; o < outSize; ++o)
      index.push_back(taps.weight[0][o] != 0 ? taps.index[0][o]
                                             : taps.index[1][o]);
    taps.index = {index};
    taps.weight = {std::vector<double>(outSize, 1.0)};
  }
  // Taps that weigh nothing anywhere are dropped.
  for (size_t i = taps.index.size(); i-- > 0;)
    if (llvm::all_of(taps.weight[i], [](double w) { return w == 0; })) {
      taps.index.erase(taps.index.begin() + i);
      taps.weight.erase(taps.weight.begin() + i);
    }
  return taps;
}

/// `x` resized along `axis` by `taps` (extrapolating with `extrapolation`).
Value resizeAxis(NodeContext &nc, Value x, int64_t axis, const AxisTaps &taps,
                 double extrapolation) {
  RankedTensorType t = nc.typeOf(x);
  Type elt = t.getElementType();
  int64_t outSize = taps.outside.size();
  SmallVector<int64_t> shape(t.getShape());
  shape[axis] = outSize;
  auto type = t.clone(shape);
  SmallVector<int64_t> along(t.getRank(), 1);
  along[axis] = outSize;
  auto alongType = RankedTensorType::get(along, elt);
  auto vectorOf = [&](ArrayRef<double> values) {
    SmallVector<Attribute> attrs;
    for (double v : values)
      attrs.push_back(FloatAttr::get(elt, v));
    return nc.constant(DenseElementsAttr::get(alongType, attrs));
  };
  Value sum;
  for (auto [index, weight] : llvm::zip(taps.index, taps.weight)) {
    Value tap = GatherOp::create(nc.b, nc.loc, type, x,
                                 nc.i64Constant(index, {outSize}),
                                 nc.b.getI64IntegerAttr(axis));
    if (llvm::any_of(weight, [](double w) { return w != 1; }))
      tap = nc.binary<MulOp>(tap, vectorOf(weight));
    sum = sum ? nc.binary<AddOp>(sum, tap) : tap;
  }
  bool anyOutside = llvm::is_contained(taps.outside, true);
  if (anyOutside && extrapolation != 0) {
    SmallVector<double> mask;
    for (bool out : taps.outside)
      mask.push_back(out ? extrapolation : 0.0);
    Value fill = nc.binary<AddOp>(
        nc.constant(DenseElementsAttr::get(type, nc.b.getZeroAttr(elt))),
        vectorOf(mask));
    sum = sum ? nc.binary<AddOp>(sum, vectorOf(mask)) : fill;
  }
  if (!sum)
    sum = nc.constant(DenseElementsAttr::get(type, nc.b.getZeroAttr(elt)));
  return sum;
}

/// `taps` copies the axis unchanged.
bool isIdentity(const AxisTaps &taps, int64_t inSize) {
  if ((int64_t)taps.outside.size() != inSize || taps.index.size() != 1 ||
      llvm::is_contained(taps.outside, true))
    return false;
  for (int64_t o = 0; o < inSize; ++o)
    if (taps.index[0][o] != o || taps.weight[0][o] != 1)
      return false;
  return true;
}

/// The float values of constant input `i` (empty when absent or empty).
FailureOr<SmallVector<double>> constantFloats(NodeContext &nc, size_t i,
                                              StringRef what) {
  SmallVector<double> values;
  if (!nc.input(i) || nc.typeOf(nc.input(i)).getNumElements() == 0)
    return values;
  FailureOr<DenseElementsAttr> attr = nc.constantInput(i, what);
  if (failed(attr))
    return failure();
  if (!isa<FloatType>(attr->getElementType())) {
    (void)nc.error(Twine(what) + " must hold floats");
    return failure();
  }
  for (APFloat v : attr->getValues<APFloat>()) {
    bool lost;
    v.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
    values.push_back(v.convertToDouble());
  }
  return values;
}

/// Resize (opset 11 and later): nearest, linear and cubic, every
/// coordinate_transformation_mode, antialias, axes, keep_aspect_ratio_policy.
/// Interpolation is separable: each resized axis in turn (the last first,
/// as ONNX's reference computes) becomes gathers at compile-time indices
/// times compile-time weights; with scales, sizes or roi that the run
/// gives, generics that compute them at run time (RuntimeResize.h).
LogicalResult resizeOp(NodeContext &nc) {
  Value x = nc.input(0);
  if (!x)
    return nc.error("expects an input X");
  if (nc.opset < 11)
    return nc.error("Resize before opset 11 is not supported (its "
                    "coordinate rules differ); opset " +
                    Twine(nc.opset));
  RankedTensorType t = nc.typeOf(x);
  int64_t rank = t.getRank();
  ResizeMode m;
  m.mode = nc.getString("mode", "nearest");
  m.transform = nc.getString("coordinate_transformation_mode", "half_pixel");
  m.nearest = nc.getString("nearest_mode", "round_prefer_floor");
  m.cubicA = nc.getFloat("cubic_coeff_a", -0.75f);
  m.excludeOutside = nc.getInt("exclude_outside", 0) != 0;
  m.antialias = nc.getInt("antialias", 0) != 0;
  if (m.mode != "nearest" && m.mode != "linear" && m.mode != "cubic")
    return nc.unsupported("mode", m.mode, "nearest, linear, cubic");
  if (!llvm::is_contained({"half_pixel", "half_pixel_symmetric",
                           "pytorch_half_pixel", "align_corners", "asymmetric",
                           "tf_crop_and_resize"},
                          m.transform))
    return nc.unsupported("coordinate_transformation_mode", m.transform,
                          "half_pixel, half_pixel_symmetric, "
                          "pytorch_half_pixel, align_corners, asymmetric, "
                          "tf_crop_and_resize");
  if (m.mode == "nearest" &&
      !llvm::is_contained(
          {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"},
          m.nearest))
    return nc.unsupported("nearest_mode", m.nearest,
                          "round_prefer_floor, round_prefer_ceil, floor, ceil");
  if (m.mode == "nearest" && m.antialias)
    return nc.unsupported("antialias", "1", "0 with mode nearest");
  if (m.mode != "nearest" && !isa<FloatType>(t.getElementType()))
    return nc.error("linear and cubic modes need float data");
  std::string policy = nc.getString("keep_aspect_ratio_policy", "stretch");
  if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller")
    return nc.unsupported("keep_aspect_ratio_policy", policy,
                          "stretch, not_larger, not_smaller");

  SmallVector<int64_t> axes;
  if (std::optional<SmallVector<int64_t>> a = nc.getInts("axes")) {
    for (int64_t axis : *a) {
      FailureOr<int64_t> n = nc.normalizeAxis(axis, rank, "axes");
      if (failed(n))
        return failure();
      axes.push_back(*n);
    }
  } else {
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  int64_t numAxes = axes.size();
  bool cropping = m.transform == "tf_crop_and_resize";
  double extrapolation = nc.getFloat("extrapolation_value", 0.0f);
  // A dynamic X (symbolic dims, CPU target) takes the run-time lowering
  // too: its taps depend on sizes only the run knows.
  if (isRuntimeInput(nc, 2) || isRuntimeInput(nc, 3) ||
      (cropping && isRuntimeInput(nc, 1)) ||
      (!t.hasStaticShape() && nc.symbolicDims))
    return runtimeResizeOp(nc, x, m, axes, policy, extrapolation);
  if (!t.hasStaticShape())
    return nc.error("X needs a static shape");

  // roi matters only to tf_crop_and_resize.
  FailureOr<SmallVector<double>> roi =
      cropping ? constantFloats(nc, 1, "roi")
               : FailureOr<SmallVector<double>>(SmallVector<double>());
  FailureOr<SmallVector<double>> scalesIn = constantFloats(nc, 2, "scales");
  if (failed(roi) || failed(scalesIn))
    return failure();
  SmallVector<int64_t> sizesIn;
  if (nc.input(3) && nc.typeOf(nc.input(3)).getNumElements() > 0) {
    FailureOr<SmallVector<int64_t>> s = nc.constantInts(3, "sizes");
    if (failed(s))
      return failure();
    sizesIn = *s;
  }
  if (scalesIn->empty() == sizesIn.empty())
    return nc.error("expects exactly one of scales and sizes");
  if (!scalesIn->empty() && (int64_t)scalesIn->size() != numAxes)
    return nc.error("scales has " + Twine(scalesIn->size()) +
                    " values, expected " + Twine(numAxes));
  if (!sizesIn.empty() && (int64_t)sizesIn.size() != numAxes)
    return nc.error("sizes has " + Twine(sizesIn.size()) +
                    " values, expected " + Twine(numAxes));
  if (m.transform == "tf_crop_and_resize" &&
      (int64_t)roi->size() != 2 * numAxes)
    return nc.error("tf_crop_and_resize needs roi with 2 * " + Twine(numAxes) +
                    " values");

  // Per dimension: scale, output size, roi.
  SmallVector<double> scale(rank, 1.0), roiStart(rank, 0.0), roiEnd(rank, 1.0);
  SmallVector<int64_t> outSize(t.getShape());
  for (auto [i, d] : llvm::enumerate(axes)) {
    if (m.transform == "tf_crop_and_resize") {
      roiStart[d] = (*roi)[i];
      roiEnd[d] = (*roi)[numAxes + i];
    }
    int64_t in = t.getDimSize(d);
    if (!scalesIn->empty()) {
      scale[d] = (*scalesIn)[i];
      if (!(scale[d] > 0))
        return nc.error("scales must be positive");
      outSize[d] = (int64_t)(scale[d] * in);
    } else {
      outSize[d] = sizesIn[i];
      scale[d] = double(sizesIn[i]) / in;
    }
  }
  if (!sizesIn.empty() && policy != "stretch") {
    double s = policy == "not_larger" ? 1e300 : 0;
    for (int64_t d : axes)
      s = policy == "not_larger" ? std::min(s, scale[d])
                                 : std::max(s, scale[d]);
    for (int64_t d : axes) {
      scale[d] = s;
      outSize[d] = (int64_t)(s * t.getDimSize(d) + 0.5);
    }
  }
  for (int64_t d = 0; d < rank; ++d)
    if (outSize[d] < 1)
      return nc.error("the output would be empty along dimension " + Twine(d));

  Value y = x;
  for (int64_t d = rank - 1; d >= 0; --d) {
    AxisTaps taps = axisTaps(m, t.getDimSize(d), outSize[d], scale[d],
                             roiStart[d], roiEnd[d]);
    if (isIdentity(taps, t.getDimSize(d)))
      continue;
    if (!isa<FloatType>(t.getElementType()) &&
        (llvm::is_contained(taps.outside, true)))
      return nc.error("tf_crop_and_resize extrapolation needs float data");
    y = resizeAxis(nc, y, d, taps, extrapolation);
  }
  return nc.setResult(y);
}

} // namespace

void kiln::onnx_import::registerWindowHandlers(HandlerTable &t) {
#define ONNX_WINDOW_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
