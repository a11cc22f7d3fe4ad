//===- OnnxOptionalOps.cpp - Optional values that are plain tensors -------===//
//
// Kiln has no optional type: a value is a tensor or absent. An optional
// that holds a tensor is that tensor, and a missing input is the empty
// optional, so OptionalHasElement is a constant and OptionalGetElement is
// the identity; an optional sequence is the sequence. An optional graph
// input is a tensor, a sequence or absent (GraphValues.h).
//
//===----------------------------------------------------------------------===//

#include "NodeContext.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

/// OptionalHasElement (opsets 15 to 25): whether the input is there, as a
/// bool scalar known at compile time.
LogicalResult optionalHasElementOp(NodeContext &nc) {
  bool has = nc.numInputs() > 0 && (nc.input(0) || nc.sequenceInput(0));
  auto type = RankedTensorType::get({}, nc.b.getI1Type());
  nc.setOutput(0, nc.constant(DenseElementsAttr::get(type, has)));
  nc.setOutputOnnxType(0, onnx::TensorProto::BOOL);
  return success();
}

/// OptionalGetElement (opsets 15 to 25): the tensor itself; an empty
/// optional is an error in ONNX too.
LogicalResult optionalGetElementOp(NodeContext &nc) {
  if (const SmallVector<Value> *sequence = nc.sequenceInput(0)) {
    nc.setSequenceOutput(0, *sequence);
    return success();
  }
  if (nc.numInputs() == 0 || !nc.input(0))
    return nc.error("expects an input that holds a tensor (the optional is "
                    "empty)");
  nc.setOutput(0, nc.input(0));
  return success();
}

} // namespace

void kiln::onnx_import::registerOptionalHandlers(HandlerTable &t) {
#define ONNX_OPTIONAL_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
