//===- OnnxLoopOp.cpp - Loop as an scf.while ------------------------------===//
//
// ONNX Loop runs its body while `iteration < M` and `cond` holds, both of
// which are usually known only at run time (Range's function body computes
// M from its inputs). So Loop is not unrolled: it becomes one scf.while
// whose "after" region is the body, imported once. The loop carries the
// iteration number (index), the condition (i1), the loop-carried values and
// one buffer per scan output, of M steps, into which step i writes slice i;
// after the loop each buffer is cut to the steps that ran, a dimension only
// the run knows (docs/ARCHITECTURE.md, "Dimensions only the run knows").
// A target without run-time sizes (CUDA), whose host code only launches
// kernels and cannot read a condition from device memory, gets the Loop
// unrolled instead: M and cond must be constants (after folding) and the
// body's condition output must fold to a constant at every step.
//
//===----------------------------------------------------------------------===//

#include "ControlFlowRegions.h"
#include "NodeContext.h"
#include "SharedBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

/// The most steps a Loop is unrolled over (one copy of its body each).
constexpr int64_t kMaxUnrolledSteps = 256;

/// What the body block computes, before the loop around it is built.
struct LoopBody {
  Block *block;
  Value next;                 // i1: whether the body asks for another step
  SmallVector<Value> carried; // the loop-carried values of the next step
  SmallVector<Value> buffers; // the scan buffers with this step written
};

/// Imports the body into a new block of arguments (i, cond, carried...,
/// buffers...), the carried values of `carriedTypes`, the scan buffers
/// `staticSteps` steps long (dynamic when it is). Failure after an error.
FailureOr<LoopBody> importBody(NodeContext &nc, const onnx::GraphProto &graph,
                               ArrayRef<Type> carriedTypes,
                               int64_t staticSteps) {
  OpBuilder &b = nc.b;
  Location loc = nc.loc;
  OpBuilder::InsertionGuard guard(b);
  LoopBody body;
  body.block = new Block();
  Value i = body.block->addArgument(b.getIndexType(), loc);
  body.block->addArgument(b.getI1Type(), loc);
  SmallVector<Value> inputs;
  b.setInsertionPointToStart(body.block);
  Value iter = arith::IndexCastOp::create(b, loc, b.getI64Type(), i);
  inputs.push_back(tensor::FromElementsOp::create(
      b, loc, RankedTensorType::get({}, b.getI64Type()), iter));
  // The body runs only while cond holds, so the cond it reads is true.
  inputs.push_back(nc.constant(
      DenseElementsAttr::get(RankedTensorType::get({}, b.getI1Type()), true)));
  for (Type type : carriedTypes)
    inputs.push_back(body.block->addArgument(type, loc));
  auto fail = [&](const Twine &message) {
    delete body.block;
    return nc.error(message);
  };
  FailureOr<SmallVector<Value>> results = nc.importSubgraph(graph, inputs);
  if (failed(results)) {
    delete body.block;
    return failure();
  }
  body.next = extractScalar(b, loc, results->front());
  if (!body.next || !nc.typeOf(results->front()).getElementType().isInteger(1))
    return fail("unsupported: Loop body whose condition output is not one "
                "bool");
  for (int j = 0, e = results->size(); j < e; ++j)
    (*results)[j] = refineToDeclared(b, loc, (*results)[j], graph.output(j));
  body.carried.assign(results->begin() + 1,
                      results->begin() + 1 + carriedTypes.size());
  for (Value step :
       ArrayRef<Value>(*results).drop_front(1 + carriedTypes.size())) {
    RankedTensorType stepType = nc.typeOf(step);
    if (!stepType.hasStaticShape())
      return fail("unsupported: Loop scan output of a shape only the run "
                  "knows");
    SmallVector<int64_t> shape{staticSteps};
    llvm::append_range(shape, stepType.getShape());
    Value buffer = body.block->addArgument(stepType.clone(shape), loc);
    SmallVector<OpFoldResult> offsets(shape.size(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes, strides(shape.size(), b.getIndexAttr(1));
    offsets[0] = i;
    sizes.push_back(b.getIndexAttr(1));
    for (int64_t d : stepType.getShape())
      sizes.push_back(b.getIndexAttr(d));
    body.buffers.push_back(tensor::InsertSliceOp::create(
        b, loc, step, buffer, offsets, sizes, strides));
  }
  return body;
}

/// Imports the body with carried values of types that hold for every step:
/// first the initial values' types, then, where a step changes a size,
/// those sizes dynamic (each try makes more dynamic, so a few settle
/// every body Kiln has met). Failure after an error.
FailureOr<LoopBody> importStableBody(NodeContext &nc,
                                     const onnx::GraphProto &graph,
                                     SmallVectorImpl<Type> &carriedTypes,
                                     int64_t staticSteps) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    FailureOr<LoopBody> body = importBody(nc, graph, carriedTypes, staticSteps);
    if (failed(body))
      return failure();
    bool stable = true;
    for (auto [j, next] : llvm::enumerate(body->carried)) {
      auto type = cast<RankedTensorType>(carriedTypes[j]);
      RankedTensorType joined = joinTypes(type, nc.typeOf(next));
      if (!joined) {
        delete body->block;
        return nc.error("unsupported: Loop carried value " + Twine(j) +
                        " whose rank or element type changes from step to "
                        "step");
      }
      stable &= joined == type;
      carriedTypes[j] = joined;
    }
    if (stable)
      return body;
    delete body->block;
  }
  return nc.error("unsupported: Loop carried values whose sizes the "
                  "importer cannot follow from step to step");
}

/// Whether `v` folds to a constant tensor of one bool; its value in `value`.
bool constantBool(Value v, bool &value) {
  DenseElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)) || attr.getNumElements() != 1 ||
      !attr.getElementType().isInteger(1))
    return false;
  value = (*attr.getValues<APInt>().begin()).getBoolValue();
  return true;
}

/// The body imported for step `t`: (cond, carried..., scan steps...), the
/// outputs refined to the body's declared types. Failure after an error.
FailureOr<SmallVector<Value>> importStep(NodeContext &nc,
                                         const onnx::GraphProto &graph,
                                         ArrayRef<Value> carried, int64_t t) {
  OpBuilder &b = nc.b;
  SmallVector<Value> inputs{
      nc.constant(DenseElementsAttr::get(
          RankedTensorType::get({}, b.getI64Type()), APInt(64, t))),
      nc.constant(DenseElementsAttr::get(
          RankedTensorType::get({}, b.getI1Type()), true))};
  llvm::append_range(inputs, carried);
  FailureOr<SmallVector<Value>> results = nc.importSubgraph(graph, inputs);
  if (failed(results))
    return failure();
  for (int j = 0, e = results->size(); j < e; ++j)
    (*results)[j] = refineToDeclared(b, nc.loc, (*results)[j], graph.output(j));
  return results;
}

/// The Loop unrolled, for a target whose host code cannot loop over device
/// values (CUDA): M and cond must be constants, and the body's condition
/// output a constant at each step (Range's function body passes it
/// through); the scan outputs stack the steps that ran.
LogicalResult unrolledLoop(NodeContext &nc, const onnx::GraphProto &graph,
                           int64_t n) {
  if (!nc.input(0))
    return nc.error("unsupported: Loop without a trip count (input M)");
  FailureOr<int64_t> m = nc.constantInt(0, "the trip count M");
  if (failed(m))
    return failure();
  bool more = true;
  if (nc.input(1)) {
    FailureOr<DenseElementsAttr> cond = nc.constantInput(1, "the condition");
    if (failed(cond) || !constantBool(nc.input(1), more))
      return failed(cond) ? failure()
                          : nc.error("unsupported: Loop condition (cond) "
                                     "that is not one bool");
  }
  int64_t steps = more ? std::max<int64_t>(*m, 0) : 0;
  if (steps > kMaxUnrolledSteps)
    return nc.error("a Loop of " + Twine(steps) +
                    " steps is not supported for this target (it is "
                    "unrolled, over at most " +
                    Twine(kMaxUnrolledSteps) + " steps)");
  SmallVector<Value> carried;
  for (int64_t j = 0; j < n; ++j) {
    if (!nc.input(2 + j))
      return nc.error("loop-carried input " + Twine(2 + j) + " is missing");
    carried.push_back(nc.input(2 + j));
  }
  int64_t k = graph.output_size() - 1 - n;
  SmallVector<SmallVector<Value>> scans(k);
  for (int64_t t = 0; t < steps && more; ++t) {
    FailureOr<SmallVector<Value>> results = importStep(nc, graph, carried, t);
    if (failed(results))
      return failure();
    if (!constantBool(results->front(), more))
      return nc.error("unsupported for this target: a Loop body that "
                      "computes its condition from run-time values (the "
                      "host code cannot read it; it is unrolled)");
    carried.assign(results->begin() + 1, results->begin() + 1 + n);
    for (int64_t j = 0; j < k; ++j)
      scans[j].push_back((*results)[1 + n + j]);
  }
  for (int64_t j = 0; j < n && j < (int64_t)nc.numOutputs(); ++j)
    nc.setOutput(j, carried[j]);
  for (int64_t j = 0; n + j < (int64_t)nc.numOutputs(); ++j) {
    if (!scans[j].empty()) {
      RankedTensorType first = nc.typeOf(scans[j].front());
      if (!llvm::all_of(scans[j],
                        [&](Value v) { return nc.typeOf(v) == first; }))
        return nc.error("unsupported: Loop scan output " + Twine(j) +
                        " whose shape changes from step to step");
      nc.setOutput(n + j, stackSteps(nc, scans[j], 0));
      continue;
    }
    // No step ran: an empty stack of the step's declared shape.
    FailureOr<SmallVector<Value>> types = importStep(nc, graph, carried, 0);
    if (failed(types))
      return failure();
    RankedTensorType step = nc.typeOf((*types)[1 + n + j]);
    if (!step.hasStaticShape())
      return nc.error("unsupported: Loop of no steps whose scan output has "
                      "a shape only the run knows");
    SmallVector<int64_t> shape{0};
    llvm::append_range(shape, step.getShape());
    nc.setOutput(n + j, tensor::EmptyOp::create(nc.b, nc.loc, shape,
                                                step.getElementType()));
  }
  return success();
}

/// Loop (opsets 1 to 25): inputs M (optional), cond (optional) and the
/// initial loop-carried values; the body maps (iteration, cond, carried)
/// to (cond, carried, scan outputs). Outputs: the final carried values,
/// then each scan output's steps stacked along a new axis 0.
LogicalResult loopOp(NodeContext &nc) {
  const onnx::AttributeProto *attr = nc.attr("body");
  if (!attr || !attr->has_g())
    return nc.error("expects a body graph");
  const onnx::GraphProto &graph = attr->g();
  int64_t n = (int64_t)nc.numInputs() - 2;
  int64_t k = graph.output_size() - 1 - n;
  if (n < 0 || k < 0 || graph.input_size() != n + 2 ||
      (int64_t)nc.numOutputs() > n + k)
    return nc.error("the " + Twine(nc.numInputs()) + " inputs, " +
                    Twine(nc.numOutputs()) + " outputs and the body's " +
                    Twine(graph.input_size()) + " inputs and " +
                    Twine(graph.output_size()) + " outputs do not agree");
  if (!nc.symbolicDims)
    return unrolledLoop(nc, graph, n);
  OpBuilder &b = nc.b;
  Location loc = nc.loc;
  // Without M a Loop runs until cond fails: no bound sizes its scan
  // outputs, and the run cannot fail a model that never stops.
  if (!nc.input(0))
    return nc.error("unsupported: Loop without a trip count (input M)");
  Value m = extractScalar(b, loc, nc.input(0));
  if (!m || !isa<IntegerType>(m.getType()))
    return nc.error("unsupported: Loop trip count (M) that is not one "
                    "integer");
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  // Folded, so that a constant M gives the scan buffers a static length.
  Value steps = b.createOrFold<arith::MaxSIOp>(
      loc, b.createOrFold<arith::IndexCastOp>(loc, b.getIndexType(), m), zero);
  Value cond = arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1);
  if (nc.input(1)) {
    cond = extractScalar(b, loc, nc.input(1));
    if (!cond || !cond.getType().isInteger(1))
      return nc.error("unsupported: Loop condition (cond) that is not one "
                      "bool");
  }
  SmallVector<Value> initial;
  for (int64_t j = 0; j < n; ++j) {
    if (!nc.input(2 + j))
      return nc.error("loop-carried input " + Twine(2 + j) + " is missing");
    initial.push_back(nc.input(2 + j));
  }
  int64_t staticSteps = ShapedType::kDynamic;
  if (std::optional<int64_t> constant = getConstantIntValue(steps))
    staticSteps = *constant;

  SmallVector<Type> carriedTypes(ValueRange(initial).getTypes());
  FailureOr<LoopBody> body =
      importStableBody(nc, graph, carriedTypes, staticSteps);
  if (failed(body))
    return failure();
  SmallVector<Value> operands{zero, cond};
  for (auto [v, type] : llvm::zip(initial, carriedTypes))
    operands.push_back(
        v.getType() == type ? v : tensor::CastOp::create(b, loc, type, v));
  for (BlockArgument buffer : body->block->getArguments().drop_front(2 + n)) {
    auto type = cast<RankedTensorType>(buffer.getType());
    SmallVector<Value> dynamic;
    if (type.isDynamicDim(0))
      dynamic.push_back(steps);
    operands.push_back(tensor::EmptyOp::create(b, loc, type, dynamic));
  }
  TypeRange types = ValueRange(operands).getTypes();
  auto loop = scf::WhileOp::create(b, loc, types, operands);
  {
    // Before: another step while cond holds and i < M.
    OpBuilder::InsertionGuard guard(b);
    SmallVector<Location> locs(types.size(), loc);
    Block *before = b.createBlock(&loop.getBefore(), {}, types, locs);
    Value more = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                       before->getArgument(0), steps);
    more = arith::AndIOp::create(b, loc, more, before->getArgument(1));
    scf::ConditionOp::create(b, loc, more, before->getArguments());
    // After: the body, then i + 1 and what it computed.
    loop.getAfter().push_back(body->block);
    b.setInsertionPointToEnd(body->block);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    SmallVector<Value> yielded{
        arith::AddIOp::create(b, loc, body->block->getArgument(0), one),
        body->next};
    for (auto [v, type] : llvm::zip(body->carried, carriedTypes))
      yielded.push_back(
          v.getType() == type ? v : tensor::CastOp::create(b, loc, type, v));
    llvm::append_range(yielded, body->buffers);
    scf::YieldOp::create(b, loc, yielded);
  }
  for (int64_t j = 0; j < n && j < (int64_t)nc.numOutputs(); ++j)
    nc.setOutput(j, loop.getResult(2 + j));
  // Each buffer cut to the steps that ran (fewer than M when cond failed).
  Value ran = loop.getResult(0);
  for (int64_t j = 0; n + j < (int64_t)nc.numOutputs(); ++j) {
    Value buffer = loop.getResult(2 + n + j);
    auto type = cast<RankedTensorType>(buffer.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes{ran},
        strides(type.getRank(), b.getIndexAttr(1));
    for (int64_t d : type.getShape().drop_front())
      sizes.push_back(b.getIndexAttr(d));
    nc.setOutput(n + j, tensor::ExtractSliceOp::create(b, loc, buffer, offsets,
                                                       sizes, strides));
  }
  return success();
}

} // namespace

void kiln::onnx_import::registerLoopHandler(HandlerTable &t) {
#define ONNX_LOOP_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
