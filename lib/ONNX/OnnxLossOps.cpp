//===- OnnxLossOps.cpp - NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss ===//
//
// Both losses are spelled out in Kiln ops, as ONNX's function bodies define
// them: the log-probability of each target class is picked along axis 1
// with kiln.gather_elements, weighted by the class's weight (kiln.gather),
// targets equal to ignore_index count with weight 0, and the result is
// reduced: none, sum, or the weighted mean sum(loss) / sum(weights).
//
//===----------------------------------------------------------------------===//

#include "NodeContext.h"

#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

enum class Reduction { None, Sum, Mean };

FailureOr<Reduction> reductionOf(NodeContext &nc) {
  return nc.getChoice<Reduction>("reduction", "mean",
                                 {{"none", Reduction::None},
                                  {"sum", Reduction::Sum},
                                  {"mean", Reduction::Mean}});
}

/// Checks that `target` [N, d1, ...] (integer) and `weight` [C] (optional)
/// fit `scores` [N, C, d1, ...] (floating point).
LogicalResult checkLossOperands(NodeContext &nc, Value scores, Value target,
                                Value weight) {
  RankedTensorType st = nc.typeOf(scores), tt = nc.typeOf(target);
  if (!isa<FloatType>(st.getElementType()))
    return nc.error("expects floating-point scores");
  if (st.getRank() < 2)
    return nc.error("expects scores of rank 2 or more, [N, C, d1, ...]");
  if (!tt.getElementType().isInteger(32) && !tt.getElementType().isInteger(64))
    return nc.error("expects int32 or int64 targets");
  SmallVector<int64_t> expected(st.getShape());
  expected.erase(expected.begin() + 1);
  if (tt.getRank() != st.getRank() - 1 ||
      failed(verifyCompatibleShape(tt.getShape(), expected)))
    return nc.error("expects targets shaped like the scores without their "
                    "class axis 1");
  if (!weight)
    return success();
  RankedTensorType wt = nc.typeOf(weight);
  if (wt.getRank() != 1 || wt.getElementType() != st.getElementType() ||
      failed(verifyCompatibleShape(wt.getShape(), st.getShape().slice(1, 1))))
    return nc.error("expects a weight of one value per class, of the scores' "
                    "element type");
  return success();
}

/// The weight of each target: weight[target] (1 without a weight), 0 where
/// the target is ignore_index. Null when every weight is 1.
Value targetWeights(NodeContext &nc, Value target, Value index, Value weight,
                    Type elt) {
  RankedTensorType tt = nc.typeOf(target);
  Value w;
  if (weight)
    w = nc.b.createOrFold<GatherOp>(nc.loc, tt.clone(elt), weight, index,
                                    nc.b.getI64IntegerAttr(0));
  const onnx::AttributeProto *ignore = nc.attr("ignore_index");
  if (!ignore)
    return w;
  Value kept = nc.compare(CompareDirection::NE, target,
                          nc.scalar(tt.getElementType(), double(ignore->i())));
  return nc.b.createOrFold<SelectOp>(nc.loc, tt.clone(elt), kept,
                                     w ? w : nc.scalar(elt, 1),
                                     nc.scalar(elt, 0));
}

/// NegativeLogLikelihoodLoss of `logp` [N, C, d...] at `target` [N, d...]
/// with `weight` [C] (optional), reduced as `r`; null after an error.
Value nllLoss(NodeContext &nc, Value logp, Value target, Value weight,
              Reduction r) {
  if (failed(checkLossOperands(nc, logp, target, weight)))
    return nullptr;
  RankedTensorType lt = nc.typeOf(logp), tt = nc.typeOf(target);
  Type elt = lt.getElementType();
  // -logp[n, target[n, d...], d...], through [N, 1, d...] indices.
  Value index = nc.cast(target, nc.b.getI64Type());
  SmallVector<int64_t> pickedShape(tt.getShape());
  pickedShape.insert(pickedShape.begin() + 1, 1);
  Value picked = GatherElementsOp::create(
      nc.b, nc.loc, lt.clone(pickedShape), logp,
      nc.reshape(index, pickedShape), nc.b.getI64IntegerAttr(1));
  Value loss = nc.unary<NegOp>(nc.reshape(picked, tt.getShape()));
  Value w = targetWeights(nc, target, index, weight, elt);
  if (w) {
    // Weight 0 (an ignored target) gives 0 even where the picked value is
    // not finite.
    Value zero = nc.compare(CompareDirection::EQ, w, nc.scalar(elt, 0));
    loss = nc.b.createOrFold<SelectOp>(nc.loc, loss.getType(), zero,
                                       nc.scalar(elt, 0),
                                       nc.binary<MulOp>(loss, w));
  }
  if (r == Reduction::None)
    return loss;
  SmallVector<int64_t> all = llvm::to_vector(llvm::seq<int64_t>(0, tt.getRank()));
  if (r == Reduction::Mean && !w)
    return nc.reduce<ReduceMeanOp>(loss, all, /*keepdims=*/false);
  Value sum = nc.reduce<ReduceSumOp>(loss, all, /*keepdims=*/false);
  if (r == Reduction::Sum)
    return sum;
  return nc.binary<DivOp>(sum, nc.reduce<ReduceSumOp>(w, all, false));
}

LogicalResult nllLossOp(NodeContext &nc) {
  Value input = nc.input(0), target = nc.input(1);
  if (!input || !target)
    return nc.error("expects input and target");
  FailureOr<Reduction> r = reductionOf(nc);
  if (failed(r))
    return failure();
  return nc.setResult(nllLoss(nc, input, target, nc.input(2), *r));
}

/// SoftmaxCrossEntropyLoss: the NLL loss of log_softmax(scores) along the
/// class axis 1; output 1, when used, is that log-softmax.
LogicalResult softmaxCrossEntropyLossOp(NodeContext &nc) {
  Value scores = nc.input(0), labels = nc.input(1);
  if (!scores || !labels)
    return nc.error("expects scores and labels");
  FailureOr<Reduction> r = reductionOf(nc);
  if (failed(r) || failed(checkLossOperands(nc, scores, labels, nc.input(2))))
    return failure();
  Value logp = LogSoftmaxOp::create(nc.b, nc.loc, scores.getType(), scores,
                                    nc.b.getI64IntegerAttr(1));
  Value loss = nllLoss(nc, logp, labels, nc.input(2), *r);
  if (!loss)
    return failure();
  nc.setOutput(0, loss);
  if (nc.hasOutput(1))
    nc.setOutput(1, logp);
  return success();
}

} // namespace

void kiln::onnx_import::registerLossHandlers(HandlerTable &t) {
#define ONNX_LOSS_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
