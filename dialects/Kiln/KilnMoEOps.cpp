//===- KilnMoEOps.cpp - Verifiers of the MoE ops --------------------------===//

#include "kiln/dialects/Kiln/KilnOps.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace kiln;

LogicalResult MoERouteOp::verify() {
  auto logits = getLogits().getType();
  if (failed(verifyDims(*this, "logits", logits, {"tokens", "experts"})))
    return failure();
  int64_t t = logits.getDimSize(0), e = logits.getDimSize(1);
  int64_t k = getK(), groups = getNumGroups(), keep = getTopGroups();
  if (k < 1 || k > e)
    return emitOpError("k = ") << k << " must lie in [1, " << e << "]";
  if (getScoreBias()) {
    auto bias = getScoreBias().getType();
    if (bias.getRank() != 1 || bias.getDimSize(0) != e)
      return emitOpError("score_bias must be [") << e << "], got "
                                                 << shapeString(bias.getShape());
    if (bias.getElementType() != logits.getElementType())
      return emitOpError("score_bias must have the logits' element type");
  }
  if (groups < 1 || e % groups)
    return emitOpError("num_groups = ")
           << groups << " must be positive and divide the " << e
           << " experts";
  if (keep < 1 || keep > groups)
    return emitOpError("top_groups = ") << keep << " must lie in [1, "
                                        << groups << "]";
  if (k > keep * (e / groups))
    return emitOpError("k = ") << k << " exceeds the " << keep * (e / groups)
                               << " experts of the kept groups";
  if ((int64_t)getCapacity() < 0)
    return emitOpError("capacity must not be negative");
  SmallVector<int64_t> tk = {t, k}, ev = {e};
  if (getWeights().getType().getShape() != ArrayRef<int64_t>(tk) ||
      getExperts().getType().getShape() != ArrayRef<int64_t>(tk))
    return emitOpError("weights and experts must be ") << shapeString(tk);
  if (getCounts().getType().getShape() != ArrayRef<int64_t>(ev))
    return emitOpError("counts must be ") << shapeString(ev);
  if (getWeights().getType().getElementType() != logits.getElementType())
    return emitOpError("weights must have the logits' element type");
  return success();
}

LogicalResult MoEExpertsOp::verify() {
  auto x = getInput().getType();
  if (failed(verifyDims(*this, "input", x, {"tokens", "hidden"})))
    return failure();
  int64_t t = x.getDimSize(0), h = x.getDimSize(1);
  auto ex = getExperts().getType(), w = getWeights().getType();
  if (ex.getRank() != 2 || ex.getDimSize(0) != t || ex.getShape() != w.getShape())
    return emitOpError("experts and weights must both be [")
           << t << ", k], got " << shapeString(ex.getShape()) << " and "
           << shapeString(w.getShape());
  auto gate = getWGate().getType(), down = getWDown().getType();
  if (gate.getRank() != 3 || gate.getDimSize(2) != h)
    return emitOpError("w_gate must be [experts, ffn, ")
           << h << "], got " << shapeString(gate.getShape());
  int64_t e = gate.getDimSize(0), f = gate.getDimSize(1);
  SmallVector<int64_t> downShape = {e, h, f};
  if (down.getShape() != ArrayRef<int64_t>(downShape))
    return emitOpError("w_down must be ") << shapeString(downShape) << ", got "
                                          << shapeString(down.getShape());
  bool swiglu = getActivation() == ExpertActivation::SwiGLU;
  if (swiglu != (bool)getWUp())
    return emitOpError(swiglu ? "SwiGLU experts need w_up"
                              : "w_up is only used by SwiGLU experts");
  if (getWUp() && getWUp().getType() != gate)
    return emitOpError("w_up must have w_gate's type ") << gate;
  if (getBUp() && !swiglu)
    return emitOpError("b_up is only used by SwiGLU experts");
  if (!swiglu && (getSwigluLimit() || getSwigluAlpha().convertToFloat() != 1.0f ||
                  getSwigluBeta().convertToFloat() != 0.0f))
    return emitOpError("swiglu_alpha, swiglu_beta and swiglu_limit are only "
                       "used by SwiGLU experts");
  if (auto limit = getSwigluLimit(); limit && !(limit->convertToFloat() > 0))
    return emitOpError("swiglu_limit must be positive");
  Type elt = x.getElementType();
  auto checkBias = [&](Value bias, StringRef name,
                       int64_t size) -> LogicalResult {
    if (!bias)
      return success();
    auto bt = cast<RankedTensorType>(bias.getType());
    SmallVector<int64_t> want = {e, size};
    if (bt.getShape() != ArrayRef<int64_t>(want) || bt.getElementType() != elt)
      return emitOpError(name) << " must be " << shapeString(want)
                               << " of the input's element type, got " << bt;
    return success();
  };
  if (failed(checkBias(getBGate(), "b_gate", f)) ||
      failed(checkBias(getBUp(), "b_up", f)) ||
      failed(checkBias(getBDown(), "b_down", h)))
    return failure();
  if (w.getElementType() != elt || gate.getElementType() != elt ||
      down.getElementType() != elt || getType() != x)
    return emitOpError("input, weights, expert weights and result must "
                       "share the input's type");
  return success();
}
