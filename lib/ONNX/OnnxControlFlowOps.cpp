//===- OnnxControlFlowOps.cpp - Scan as an scf.for ------------------------===//
//
// Scan's body is a subgraph, imported once into the body of an scf.for over
// the steps (NodeContext::importSubgraph): the loop carries the N states
// and one buffer per scan output, into which step t writes its slice; each
// step reads its slices of the scan inputs with tensor.extract_slice. The
// number of steps may be known only at run time. A body whose scan outputs
// have sizes only the run knows cannot size its buffers before the loop:
// such a Scan over a static number of steps is unrolled instead (the body
// imported once per step), and so is every Scan for a target without
// run-time sizes (CUDA).
//
//===----------------------------------------------------------------------===//

#include "ControlFlowRegions.h"
#include "NodeContext.h"
#include "SharedBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

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

/// The length of `scans` along their scan_input_axes (normalized in
/// `layout`): dynamic when none of them has a static length. Failure after
/// an error, where two static lengths differ.
FailureOr<int64_t> staticScanLength(NodeContext &nc, ScanLayout &layout,
                                    ArrayRef<Value> scans) {
  int64_t length = ShapedType::kDynamic;
  for (auto [j, x] : llvm::enumerate(scans)) {
    FailureOr<int64_t> axis = nc.normalizeAxis(
        layout.inAxes[j], nc.typeOf(x).getRank(), "scan_input_axes");
    if (failed(axis))
      return failure();
    layout.inAxes[j] = *axis;
    int64_t dim = nc.typeOf(x).getDimSize(*axis);
    if (!ShapedType::isDynamic(dim) && !ShapedType::isDynamic(length) &&
        dim != length)
      return nc.error("the scan inputs have different lengths (" +
                      Twine(length) + " and " + Twine(dim) + ")");
    if (!ShapedType::isDynamic(dim))
      length = dim;
  }
  return length;
}

/// The unrolled Scan: `states` and the step slices of `scans` through the
/// body once per step. Returns the final states, then the K scan outputs
/// stacked; failure after an error.
FailureOr<SmallVector<Value>>
unrollScan(NodeContext &nc, const onnx::GraphProto &graph, ScanLayout layout,
           SmallVector<Value> states, ArrayRef<Value> scans) {
  int64_t n = layout.states, k = layout.outputs;
  FailureOr<int64_t> found = staticScanLength(nc, layout, scans);
  if (failed(found))
    return failure();
  int64_t length = *found;
  if (ShapedType::isDynamic(length))
    return nc.error("unsupported: a Scan over a number of steps only the "
                    "run knows whose scan outputs have sizes only the run "
                    "knows");
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

/// Offsets, sizes and strides of slice `index` of `type` along `axis`.
struct SliceAt {
  SmallVector<OpFoldResult> offsets, sizes, strides;
};
SliceAt sliceAt(OpBuilder &b, Location loc, Value full, int64_t axis,
                Value index) {
  auto type = cast<RankedTensorType>(full.getType());
  SliceAt s;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    s.offsets.push_back(d == axis ? (OpFoldResult)index : b.getIndexAttr(0));
    s.strides.push_back(b.getIndexAttr(1));
    if (d == axis || !type.isDynamicDim(d))
      s.sizes.push_back(b.getIndexAttr(d == axis ? 1 : type.getDimSize(d)));
    else
      s.sizes.push_back(
          (OpFoldResult)tensor::DimOp::create(b, loc, full, d).getResult());
  }
  return s;
}

/// The types a Scan loop carries: the states', and the steps of its scan
/// outputs (unknown until the body was imported once).
struct ScanLoopTypes {
  SmallVector<RankedTensorType> states, steps;
  bool stepsKnown = false;
};

/// One scf.for of the Scan over `length` steps, carrying `types`; null
/// after updating `types` when the body computes others (a state whose
/// size changes, the scan outputs' steps on the first try). Failure after
/// an error.
FailureOr<scf::ForOp>
buildScanLoop(NodeContext &nc, const onnx::GraphProto &graph,
              const ScanLayout &layout, Value length, ArrayRef<Value> states,
              ArrayRef<Value> scans, ScanLoopTypes &types) {
  OpBuilder &b = nc.b;
  Location loc = nc.loc;
  SmallVector<Value> init;
  for (auto [v, type] : llvm::zip(states, types.states))
    init.push_back(v.getType() == type
                       ? v
                       : (Value)tensor::CastOp::create(b, loc, type, v));
  for (auto [i, step] : llvm::enumerate(
           types.stepsKnown ? types.steps : ArrayRef<RankedTensorType>())) {
    SmallVector<int64_t> shape(step.getShape());
    std::optional<int64_t> steps = getConstantIntValue(length);
    shape.insert(shape.begin() + layout.outAxes[i],
                 steps ? *steps : ShapedType::kDynamic);
    SmallVector<Value> dynamic;
    if (!steps)
      dynamic.push_back(length);
    init.push_back(tensor::EmptyOp::create(b, loc, step.clone(shape), dynamic));
  }
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(b, loc, zero, length, one, init);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Value t = loop.getInductionVar();
  // Step t reads (and a reversed output writes) index length - 1 - t.
  Value last = arith::SubIOp::create(b, loc, length, one);
  Value reversed = arith::SubIOp::create(b, loc, last, t);
  int64_t n = layout.states;
  SmallVector<Value> inputs(loop.getRegionIterArgs().take_front(n));
  for (auto [j, x] : llvm::enumerate(scans)) {
    int64_t axis = layout.inAxes[j];
    SliceAt s = sliceAt(b, loc, x, axis, layout.inDirections[j] ? reversed : t);
    RankedTensorType type = nc.typeOf(x);
    SmallVector<int64_t> shape(type.getShape());
    shape.erase(shape.begin() + axis);
    inputs.push_back(tensor::ExtractSliceOp::create(
        b, loc, type.clone(shape), x, s.offsets, s.sizes, s.strides));
  }
  FailureOr<SmallVector<Value>> results = nc.importSubgraph(graph, inputs);
  if (failed(results)) {
    loop.erase();
    return failure();
  }
  for (int j = 0, e = results->size(); j < e; ++j)
    (*results)[j] = refineToDeclared(b, loc, (*results)[j], graph.output(j));
  // The types this body computes; another try when they are new.
  bool settled = types.stepsKnown;
  for (int64_t j = 0; j < n; ++j) {
    RankedTensorType joined =
        joinTypes(types.states[j], nc.typeOf((*results)[j]));
    if (!joined) {
      loop.erase();
      return nc.error("unsupported: Scan state " + Twine(j) +
                      " whose rank or element type changes from step to step");
    }
    settled &= joined == types.states[j];
    types.states[j] = joined;
  }
  SmallVector<RankedTensorType> steps;
  for (Value step : ArrayRef<Value>(*results).drop_front(n))
    steps.push_back(nc.typeOf(step));
  settled &= steps == types.steps;
  if (!settled) {
    types.steps = steps;
    types.stepsKnown = true;
    loop.erase();
    return scf::ForOp();
  }
  SmallVector<Value> yielded;
  for (auto [v, type] :
       llvm::zip(ArrayRef<Value>(*results).take_front(n), types.states))
    yielded.push_back(v.getType() == type
                          ? v
                          : (Value)tensor::CastOp::create(b, loc, type, v));
  for (auto [i, step] :
       llvm::enumerate(ArrayRef<Value>(*results).drop_front(n))) {
    Value buffer = loop.getRegionIterArgs()[n + i];
    int64_t axis = layout.outAxes[i];
    SliceAt s =
        sliceAt(b, loc, buffer, axis, layout.outDirections[i] ? reversed : t);
    yielded.push_back(tensor::InsertSliceOp::create(
        b, loc, step, buffer, s.offsets, s.sizes, s.strides));
  }
  scf::YieldOp::create(b, loc, yielded);
  return loop;
}

/// The Scan as an scf.for: the final states, then the K scan outputs.
/// Nothing (no error) when a scan output's step has a size only the run
/// knows, which sizes no buffer before the loop; failure after an error.
FailureOr<std::optional<SmallVector<Value>>>
loopScan(NodeContext &nc, const onnx::GraphProto &graph, ScanLayout layout,
         ArrayRef<Value> states, ArrayRef<Value> scans) {
  FailureOr<int64_t> staticLength = staticScanLength(nc, layout, scans);
  if (failed(staticLength))
    return failure();
  // The first scan input's length when none is static (ONNX requires them
  // all to be equal).
  Value length =
      ShapedType::isDynamic(*staticLength)
          ? (Value)tensor::DimOp::create(nc.b, nc.loc, scans.front(),
                                         layout.inAxes.front())
          : (Value)arith::ConstantIndexOp::create(nc.b, nc.loc, *staticLength);
  ScanLoopTypes types;
  for (Value v : states)
    types.states.push_back(nc.typeOf(v));
  // A few tries settle every body: each one makes more sizes dynamic.
  for (int attempt = 0; attempt < 4; ++attempt) {
    FailureOr<scf::ForOp> loop =
        buildScanLoop(nc, graph, layout, length, states, scans, types);
    if (failed(loop))
      return failure();
    if (*loop)
      return std::optional<SmallVector<Value>>(
          SmallVector<Value>(loop->getResults()));
    for (auto [i, step] : llvm::enumerate(types.steps)) {
      if (!step.hasStaticShape())
        return std::optional<SmallVector<Value>>();
      FailureOr<int64_t> axis = nc.normalizeAxis(
          layout.outAxes[i], step.getRank() + 1, "scan_output_axes");
      if (failed(axis))
        return failure();
      layout.outAxes[i] = *axis;
    }
  }
  return nc.error("unsupported: Scan states whose sizes the importer cannot "
                  "follow from step to step");
}

/// The Scan as an scf.for where it can be, else unrolled.
FailureOr<SmallVector<Value>>
scan(NodeContext &nc, const onnx::GraphProto &graph, const ScanLayout &layout,
     SmallVector<Value> states, ArrayRef<Value> scans) {
  // A target without run-time sizes (CUDA) keeps the unrolled form: its
  // host code only launches kernels, and the loop's step would read the
  // states it carries from device memory on the host.
  if (!nc.symbolicDims)
    return unrollScan(nc, graph, layout, states, scans);
  FailureOr<std::optional<SmallVector<Value>>> looped =
      loopScan(nc, graph, layout, states, scans);
  if (failed(looped))
    return failure();
  if (*looped)
    return **looped;
  return unrollScan(nc, graph, layout, states, scans);
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
        scan(nc, *graph, *layout, states, scans);
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
      scan(nc, *graph, *layout, states, scans);
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
