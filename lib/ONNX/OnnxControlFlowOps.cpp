//===- OnnxControlFlowOps.cpp - Scan, unrolled
//-----------------------------===//
//
// Scan's body is a subgraph; Kiln has no loop op that the importer could
// build it into, so a Scan over a static number of steps is unrolled: the
// body is imported once per step (NodeContext::importSubgraph), on the
// step's slices of the scan inputs and the states the previous step left.
//
//===----------------------------------------------------------------------===//

#include "NodeContext.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

/// The most steps a Scan is unrolled over (one copy of its body each).
constexpr int64_t kMaxScanSteps = 256;

/// A Scan attribute of one value per scan input or output (`count`),
/// zeros when absent; failure after an error when it has another length.
FailureOr<SmallVector<int64_t>> perScanValue(NodeContext &nc, StringRef name,
                                             int64_t count) {
  std::optional<SmallVector<int64_t>> values = nc.getInts(name);
  if (!values)
    return SmallVector<int64_t>(count, 0);
  if ((int64_t)values->size() != count)
    return nc.error(name + " holds " + Twine(values->size()) + " values for " +
                    Twine(count) + " scans");
  return *values;
}

/// Step `t` of `x` along `axis`: x[..., t, ...] without that axis.
Value stepOf(NodeContext &nc, Value x, int64_t axis, int64_t t) {
  RankedTensorType type = nc.typeOf(x);
  SmallVector<int64_t> shape(type.getShape()), starts(type.getRank(), 0),
      steps(type.getRank(), 1);
  shape[axis] = 1;
  starts[axis] = t;
  Value slice = nc.b.createOrFold<SliceOp>(nc.loc, type.clone(shape), x,
                                           nc.b.getDenseI64ArrayAttr(starts),
                                           nc.b.getDenseI64ArrayAttr(steps));
  shape.erase(shape.begin() + axis);
  return nc.reshape(slice, shape);
}

/// `steps` (one per step, in step order) stacked along a new `axis`.
Value stack(NodeContext &nc, ArrayRef<Value> steps, int64_t axis) {
  SmallVector<Value> pieces;
  SmallVector<int64_t> shape;
  for (Value step : steps) {
    shape = llvm::to_vector(nc.typeOf(step).getShape());
    shape.insert(shape.begin() + axis, 1);
    pieces.push_back(nc.reshape(step, shape));
  }
  if (pieces.size() == 1)
    return pieces.front();
  shape[axis] = pieces.size();
  return ConcatOp::create(nc.b, nc.loc, nc.typeOf(pieces.front()).clone(shape),
                          pieces, nc.b.getI64IntegerAttr(axis));
}

/// Scan (opsets 9 to 25): N states, then M scan inputs sliced along
/// scan_input_axes (backwards where scan_input_directions is 1); the body
/// maps (states, slices) to (states, K scan outputs), which are stacked
/// along scan_output_axes (in reverse where scan_output_directions is 1).
/// The number of steps must be static.
LogicalResult scanOp(NodeContext &nc) {
  if (nc.opset < 9)
    return nc.error("Scan before opset 9 (batched, with sequence_lens) is "
                    "not supported");
  const onnx::AttributeProto *body = nc.attr("body");
  if (!body || !body->has_g())
    return nc.error("expects a body graph");
  const onnx::GraphProto &graph = body->g();
  int64_t m = nc.getInt("num_scan_inputs", 0), inputs = nc.numInputs();
  int64_t n = inputs - m, k = graph.output_size() - n;
  if (m < 1 || n < 0 || k < 0 || graph.input_size() != inputs)
    return nc.error("num_scan_inputs (" + Twine(m) + "), the " + Twine(inputs) +
                    " inputs and the body's " + Twine(graph.input_size()) +
                    " inputs and " + Twine(graph.output_size()) +
                    " outputs do not agree");
  FailureOr<SmallVector<int64_t>> inAxes =
      perScanValue(nc, "scan_input_axes", m);
  FailureOr<SmallVector<int64_t>> inDirections =
      perScanValue(nc, "scan_input_directions", m);
  FailureOr<SmallVector<int64_t>> outAxes =
      perScanValue(nc, "scan_output_axes", k);
  FailureOr<SmallVector<int64_t>> outDirections =
      perScanValue(nc, "scan_output_directions", k);
  if (failed(inAxes) || failed(inDirections) || failed(outAxes) ||
      failed(outDirections))
    return failure();

  SmallVector<Value> states, scans;
  for (int64_t i = 0; i < inputs; ++i) {
    if (!nc.input(i))
      return nc.error("input " + Twine(i) + " is missing");
    (i < n ? states : scans).push_back(nc.input(i));
  }
  int64_t length = ShapedType::kDynamic;
  for (auto [j, x] : llvm::enumerate(scans)) {
    FailureOr<int64_t> axis = nc.normalizeAxis(
        (*inAxes)[j], nc.typeOf(x).getRank(), "scan_input_axes");
    if (failed(axis))
      return failure();
    (*inAxes)[j] = *axis;
    int64_t dim = nc.typeOf(x).getDimSize(*axis);
    if (ShapedType::isDynamic(dim) || (j > 0 && dim != length))
      return nc.error("the scan inputs must have one static length");
    length = dim;
  }
  if (length < 1 || length > kMaxScanSteps)
    return nc.error("a scan of " + Twine(length) +
                    " steps is not supported (it is unrolled, over 1 to " +
                    Twine(kMaxScanSteps) + " steps)");

  SmallVector<SmallVector<Value>> scanOutputs(k);
  for (int64_t t = 0; t < length; ++t) {
    SmallVector<Value> stepInputs(states);
    for (auto [j, x] : llvm::enumerate(scans))
      stepInputs.push_back(
          stepOf(nc, x, (*inAxes)[j], (*inDirections)[j] ? length - 1 - t : t));
    FailureOr<SmallVector<Value>> results =
        nc.importSubgraph(graph, stepInputs);
    if (failed(results))
      return failure();
    states.assign(results->begin(), results->begin() + n);
    for (int64_t i = 0; i < k; ++i)
      scanOutputs[i].push_back((*results)[n + i]);
  }
  for (auto [i, state] : llvm::enumerate(states))
    nc.setOutput(i, state);
  for (int64_t i = 0; i < k; ++i) {
    SmallVector<Value> &steps = scanOutputs[i];
    FailureOr<int64_t> axis =
        nc.normalizeAxis((*outAxes)[i], nc.typeOf(steps.front()).getRank() + 1,
                         "scan_output_axes");
    if (failed(axis))
      return failure();
    if ((*outDirections)[i])
      std::reverse(steps.begin(), steps.end());
    nc.setOutput(n + i, stack(nc, steps, *axis));
  }
  return success();
}

} // namespace

void kiln::onnx_import::registerControlFlowHandlers(HandlerTable &t) {
#define ONNX_CONTROL_FLOW_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
