//===- OnnxIfOp.cpp - If as an scf.if -------------------------------------===//
//
// ONNX If picks one of two subgraphs by a bool scalar. A condition that
// folds to a constant imports only the branch taken (the expanded
// functions, AffineGrid's, branch on shapes); otherwise both branches are
// imported into the regions of one scf.if, whose results take the joined
// type of the two branches' outputs.
//
//===----------------------------------------------------------------------===//

#include "ControlFlowRegions.h"
#include "NodeContext.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

/// The graph of the branch attribute `name`, or null after an error.
const onnx::GraphProto *branch(NodeContext &nc, StringRef name) {
  const onnx::AttributeProto *attr = nc.attr(name);
  if (!attr || !attr->has_g()) {
    (void)nc.error("expects a " + name + " graph");
    return nullptr;
  }
  return &attr->g();
}

/// Imports `graph` at the end of `block`, or in place when it is null: its
/// outputs, refined to their declared shapes, or failure after an error.
FailureOr<SmallVector<Value>> importBranch(NodeContext &nc, Block *block,
                                           const onnx::GraphProto &graph) {
  OpBuilder::InsertionGuard guard(nc.b);
  if (block)
    nc.b.setInsertionPointToEnd(block);
  FailureOr<SmallVector<Value>> results = nc.importSubgraph(graph, {});
  if (failed(results))
    return failure();
  for (int j = 0, e = results->size(); j < e; ++j)
    (*results)[j] =
        refineToDeclared(nc.b, nc.loc, (*results)[j], graph.output(j));
  return results;
}

/// If (opsets 1 to 25): the outputs of then_branch where cond holds, else
/// of else_branch.
LogicalResult ifOp(NodeContext &nc) {
  const onnx::GraphProto *thenGraph = branch(nc, "then_branch");
  const onnx::GraphProto *elseGraph =
      thenGraph ? branch(nc, "else_branch") : nullptr;
  if (!elseGraph)
    return failure();
  if (thenGraph->output_size() != elseGraph->output_size() ||
      (int64_t)nc.numOutputs() > thenGraph->output_size())
    return nc.error("the branches' " + Twine(thenGraph->output_size()) +
                    " and " + Twine(elseGraph->output_size()) +
                    " outputs and the node's " + Twine(nc.numOutputs()) +
                    " do not agree");
  OpBuilder &b = nc.b;
  Location loc = nc.loc;
  Value cond = nc.input(0) ? extractScalar(b, loc, nc.input(0)) : Value();
  if (!cond || !cond.getType().isInteger(1))
    return nc.error("expects cond to be one bool");

  // A known condition: the branch taken, in place.
  DenseElementsAttr known;
  if (matchPattern(nc.input(0), m_Constant(&known))) {
    bool taken = *known.getValues<bool>().begin();
    FailureOr<SmallVector<Value>> results =
        importBranch(nc, nullptr, taken ? *thenGraph : *elseGraph);
    if (failed(results))
      return failure();
    for (int64_t j = 0; j < (int64_t)nc.numOutputs(); ++j)
      nc.setOutput(j, (*results)[j]);
    return success();
  }

  // Both branches into detached blocks first: their types decide the
  // scf.if's.
  std::unique_ptr<Block> thenBlock(new Block()), elseBlock(new Block());
  FailureOr<SmallVector<Value>> thenResults =
      importBranch(nc, thenBlock.get(), *thenGraph);
  if (failed(thenResults))
    return failure();
  FailureOr<SmallVector<Value>> elseResults =
      importBranch(nc, elseBlock.get(), *elseGraph);
  if (failed(elseResults))
    return failure();
  SmallVector<Type> types;
  for (auto [j, pair] :
       llvm::enumerate(llvm::zip(*thenResults, *elseResults))) {
    auto [t, e] = pair;
    RankedTensorType joined =
        joinTypes(NodeContext::typeOf(t), NodeContext::typeOf(e));
    if (!joined)
      return nc.error("unsupported: If whose branches give output " + Twine(j) +
                      " different ranks or element types");
    types.push_back(joined);
  }
  auto ifOp = scf::IfOp::create(b, loc, types, cond, /*withElseRegion=*/true);
  for (auto [region, block, results] :
       {std::make_tuple(&ifOp.getThenRegion(), &thenBlock, &*thenResults),
        std::make_tuple(&ifOp.getElseRegion(), &elseBlock, &*elseResults)}) {
    if (!region->empty())
      region->front().erase();
    region->push_back(block->release());
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(&region->front());
    SmallVector<Value> yielded;
    for (auto [v, type] : llvm::zip(*results, types))
      yielded.push_back(
          v.getType() == type ? v : tensor::CastOp::create(b, loc, type, v));
    scf::YieldOp::create(b, loc, yielded);
  }
  for (int64_t j = 0; j < (int64_t)nc.numOutputs(); ++j)
    nc.setOutput(j, ifOp.getResult(j));
  return success();
}

} // namespace

void kiln::onnx_import::registerIfHandler(HandlerTable &t) {
#define ONNX_IF_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
