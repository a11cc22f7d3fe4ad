//===- OnnxWindowOps.cpp - Convolution and pooling ------------------------===//
//
// Conv, MaxPool, AveragePool, LpPool and their Global forms become
// kiln.conv and kiln.pool. ONNX's auto_pad is resolved here into explicit
// pads, so the ops carry only pads, strides and dilations.
//
//===----------------------------------------------------------------------===//

#include "NodeContext.h"

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
Value windowInput(NodeContext &nc) {
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
  Value x = windowInput(nc), weight = nc.input(1), bias = nc.input(2);
  if (!x)
    return failure();
  if (!weight)
    return nc.error("expects a weight W");
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
  Value x = windowInput(nc), weight = nc.input(1);
  if (!x)
    return failure();
  if (!weight)
    return nc.error("expects a weight w");
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

/// Unsigned data would be compared as signed (Kiln's integers are
/// signless): refused rather than computed wrong.
LogicalResult checkPoolType(NodeContext &nc, PoolKind kind) {
  int type = nc.onnxTypeOf(0);
  if (type == 2 || type == 4 || type == 12 || type == 13)
    return nc.error("pooling unsigned integers is not supported (signed "
                    "integers and floats are)");
  if (kind != PoolKind::Max && !isa<FloatType>(nc.inputType(0).getElementType()))
    return nc.error("average and Lp pooling need float data");
  return success();
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
  if (Kind == PoolKind::Max && nc.hasOutput(1))
    return nc.error("the Indices output of MaxPool is not supported");
  if (Kind == PoolKind::Max && nc.getInt("storage_order", 0) != 0)
    return nc.unsupported("storage_order", Twine(nc.getInt("storage_order", 0)));
  std::optional<SmallVector<int64_t>> kernel = nc.getInts("kernel_shape");
  if (!kernel || (int64_t)kernel->size() != nc.typeOf(x).getRank() - 2)
    return nc.error("kernel_shape must give one size per spatial dimension");
  FailureOr<WindowAttrs> w = windowAttrs(nc, nc.typeOf(x), *kernel);
  if (failed(w))
    return failure();
  return nc.setResult(buildPool(nc, Kind, x, *w));
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
  return nc.setResult(buildPool(nc, Kind, x, w));
}

} // namespace

void kiln::onnx_import::registerWindowHandlers(HandlerTable &t) {
#define ONNX_WINDOW_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
