//===- OnnxControlFlowOps.cpp - Scan, unrolled ----------------------------===//
//
// Scan's body is a subgraph; Kiln has no loop op that the importer could
// build it into, so a Scan over a static number of steps is unrolled: the
// body is imported once per step (NodeContext::importSubgraph), on the
// step's slices of the scan inputs and the states the previous step left.
//
//===----------------------------------------------------------------------===//

#include "NodeContext.h"
#include "SharedBuilders.h"

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

} // namespace

Value kiln::onnx_import::stepOf(NodeContext &nc, Value x, int64_t axis,
                                int64_t t) {
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

Value kiln::onnx_import::stackSteps(NodeContext &nc, ArrayRef<Value> steps,
                                    int64_t axis) {
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

namespace {

/// How a Scan slices its inputs and stacks its outputs.
struct ScanLayout {
  /// The body's number of states (N) and scan outputs (K).
  int64_t states, outputs;
  SmallVector<int64_t> inAxes, inDirections, outAxes, outDirections;
};

/// The unrolled Scan: `states` and the step slices of `scans` through the
/// body once per step. Returns the final states, then the K scan outputs
/// stacked; failure after an error.
FailureOr<SmallVector<Value>>
unrollScan(NodeContext &nc, const onnx::GraphProto &graph, ScanLayout layout,
           SmallVector<Value> states, ArrayRef<Value> scans) {
  int64_t n = layout.states, k = layout.outputs;
  int64_t length = ShapedType::kDynamic;
  for (auto [j, x] : llvm::enumerate(scans)) {
    FailureOr<int64_t> axis = nc.normalizeAxis(
        layout.inAxes[j], nc.typeOf(x).getRank(), "scan_input_axes");
    if (failed(axis))
      return failure();
    layout.inAxes[j] = *axis;
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
      stepInputs.push_back(stepOf(nc, x, layout.inAxes[j],
                                  layout.inDirections[j] ? length - 1 - t : t));
    FailureOr<SmallVector<Value>> results =
        nc.importSubgraph(graph, stepInputs);
    if (failed(results))
      return failure();
    states.assign(results->begin(), results->begin() + n);
    for (int64_t i = 0; i < k; ++i)
      scanOutputs[i].push_back((*results)[n + i]);
  }
  SmallVector<Value> results(states);
  for (int64_t i = 0; i < k; ++i) {
    SmallVector<Value> &steps = scanOutputs[i];
    FailureOr<int64_t> axis = nc.normalizeAxis(
        layout.outAxes[i], nc.typeOf(steps.front()).getRank() + 1,
        "scan_output_axes");
    if (failed(axis))
      return failure();
    if (layout.outDirections[i])
      std::reverse(steps.begin(), steps.end());
    results.push_back(stackSteps(nc, steps, *axis));
  }
  return results;
}

/// The body graph, and its N states and K scan outputs for `inputs` node
/// inputs of which `m` are scanned (besides `skipped`: opset 8's
/// sequence_lens).
FailureOr<ScanLayout> readScanCounts(NodeContext &nc,
                                     const onnx::GraphProto *&graph,
                                     int64_t skipped) {
  const onnx::AttributeProto *body = nc.attr("body");
  if (!body || !body->has_g())
    return nc.error("expects a body graph");
  graph = &body->g();
  int64_t m = nc.getInt("num_scan_inputs", 0);
  int64_t inputs = nc.numInputs() - skipped;
  int64_t n = inputs - m, k = graph->output_size() - n;
  if (m < 1 || n < 0 || k < 0 || graph->input_size() != inputs)
    return nc.error("num_scan_inputs (" + Twine(m) + "), the " + Twine(inputs) +
                    " inputs and the body's " + Twine(graph->input_size()) +
                    " inputs and " + Twine(graph->output_size()) +
                    " outputs do not agree");
  for (int64_t i = skipped; i < (int64_t)nc.numInputs(); ++i)
    if (!nc.input(i))
      return nc.error("input " + Twine(i) + " is missing");
  ScanLayout layout;
  layout.states = n;
  layout.outputs = k;
  return layout;
}

/// Scan of opset 8: every state and scan input has a batch axis first, and
/// the scan inputs' time axis is 1; each batch entry is scanned on its own
/// (as opset 9's Scan of its slices) and the outputs stacked again. The
/// optional sequence_lens (input 0) is not supported.
LogicalResult scan8Op(NodeContext &nc) {
  if (nc.input(0))
    return nc.error("Scan of opset 8 with sequence_lens (input 0) is not "
                    "supported; leave it empty to scan every batch entry "
                    "over the whole sequence");
  const onnx::GraphProto *graph = nullptr;
  FailureOr<ScanLayout> layout = readScanCounts(nc, graph, 1);
  if (failed(layout))
    return failure();
  int64_t n = layout->states, m = nc.numInputs() - 1 - n, k = layout->outputs;
  FailureOr<SmallVector<int64_t>> directions =
      perScanValue(nc, "directions", m);
  if (failed(directions))
    return failure();
  layout->inAxes.assign(m, 0);
  layout->inDirections = *directions;
  layout->outAxes.assign(k, 0);
  layout->outDirections.assign(k, 0);
  int64_t batch = nc.inputType(1).getRank() ? nc.inputType(1).getDimSize(0)
                                            : ShapedType::kDynamic;
  for (int64_t i = 1; i <= n + m; ++i)
    if (nc.inputType(i).getRank() < 1 + (i > n) ||
        nc.inputType(i).getDimSize(0) != batch || ShapedType::isDynamic(batch))
      return nc.error("the states and scan inputs of a Scan of opset 8 must "
                      "have one static batch size (axis 0)");
  SmallVector<SmallVector<Value>> perEntry(n + k);
  for (int64_t b = 0; b < batch; ++b) {
    SmallVector<Value> states, scans;
    for (int64_t i = 1; i <= n + m; ++i)
      (i <= n ? states : scans).push_back(stepOf(nc, nc.input(i), 0, b));
    FailureOr<SmallVector<Value>> results =
        unrollScan(nc, *graph, *layout, states, scans);
    if (failed(results))
      return failure();
    for (auto [i, r] : llvm::enumerate(*results))
      perEntry[i].push_back(r);
  }
  for (auto [i, entries] : llvm::enumerate(perEntry))
    nc.setOutput(i, stackSteps(nc, entries, 0));
  return success();
}

/// Scan (opsets 9 to 25): N states, then M scan inputs sliced along
/// scan_input_axes (backwards where scan_input_directions is 1); the body
/// maps (states, slices) to (states, K scan outputs), which are stacked
/// along scan_output_axes (in reverse where scan_output_directions is 1).
/// The number of steps must be static.
LogicalResult scanOp(NodeContext &nc) {
  if (nc.opset < 9)
    return scan8Op(nc);
  const onnx::GraphProto *graph = nullptr;
  FailureOr<ScanLayout> layout = readScanCounts(nc, graph, 0);
  if (failed(layout))
    return failure();
  int64_t n = layout->states, m = nc.numInputs() - n, k = layout->outputs;
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
  layout->inAxes = *inAxes;
  layout->inDirections = *inDirections;
  layout->outAxes = *outAxes;
  layout->outDirections = *outDirections;
  SmallVector<Value> states, scans;
  for (int64_t i = 0; i < n + m; ++i)
    (i < n ? states : scans).push_back(nc.input(i));
  FailureOr<SmallVector<Value>> results =
      unrollScan(nc, *graph, *layout, states, scans);
  if (failed(results))
    return failure();
  for (auto [i, r] : llvm::enumerate(*results))
    nc.setOutput(i, r);
  return success();
}

} // namespace

void kiln::onnx_import::registerControlFlowHandlers(HandlerTable &t) {
#define ONNX_CONTROL_FLOW_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
