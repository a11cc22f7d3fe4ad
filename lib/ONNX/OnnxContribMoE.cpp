//===- OnnxContribMoE.cpp - onnxruntime MoE and QMoE ----------------------===//
//
// com.microsoft MoE and QMoE as kiln.moe_route + kiln.moe_experts, with the
// semantics of onnxruntime's documentation and CPU kernels:
//
//  - router_probs [T, E] are logits: softmax over the experts, the k best
//    (ties to the lower index), their weights divided by their sum with
//    normalize_routing_weights;
//  - each expert is FC2(act(FC1(x) + b1)) + b2 with weights laid out
//    [E, out, in]; the activation is relu, gelu (onnxruntime's CPU kernel
//    uses the tanh approximation), silu, identity or swiglu;
//  - SwiGLU is G * sigmoid(alpha * G) * (L + beta) with G = min(g, limit),
//    L = clamp(l, -limit, limit) (activation_alpha 1, activation_beta 0 and
//    no limit by default); g and l come from FC1 and FC3 (swiglu_fusion 0),
//    from FC1's interleaved rows (1) or its two halves (2);
//  - QMoE stores the FC weights as uint8 codes packed along the input
//    dimension (expert_weight_bits 2, 4 or 8, low bits first), with scales
//    per output row or per block_size inputs and optional zero points
//    (default 2^(bits-1)), packed the same way.
//
// kiln.moe_experts takes float expert weights, so QMoE's weights are
// dequantized here, into float constants of the input's type. Fused SwiGLU
// weights are split into gate and up constants. The legacy [E, in, out]
// layout onnxruntime still detects is transposed. use_sparse_mixer,
// router_weights, quant_type other than 'int' and FC3 without SwiGLU are
// refused by name.
//
//===----------------------------------------------------------------------===//

#include "OnnxContrib.h"

#include <cmath>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;
using namespace kiln::onnx_import::contrib;

namespace {

/// The FC weights of one MoE node: input indices for weights and biases, and
/// for QMoE the scales and zero points.
struct FcInputs {
  size_t weight, bias;
  std::optional<size_t> scale, zeroPoint;
};

struct MoEAttrs {
  int64_t k;
  ExpertActivation act;
  bool normalize;
  int64_t fusion;
  std::optional<float> limit;
  float alpha, beta;
};

FailureOr<MoEAttrs> readMoEAttrs(NodeContext &nc) {
  MoEAttrs a;
  if (!nc.attr("k"))
    return ((void)nc.error("needs the k attribute"), failure());
  a.k = nc.getInt("k", 1);
  std::string act = nc.getString("activation_type", "relu");
  if (act == "relu")
    a.act = ExpertActivation::ReLU;
  else if (act == "gelu")
    a.act = ExpertActivation::GELUTanh;
  else if (act == "silu")
    a.act = ExpertActivation::SiLU;
  else if (act == "identity")
    a.act = ExpertActivation::Identity;
  else if (act == "swiglu")
    a.act = ExpertActivation::SwiGLU;
  else
    return ((void)nc.unsupported("activation_type", "'" + act + "'"), failure());
  a.normalize = nc.getInt("normalize_routing_weights", 0) != 0;
  if (int64_t v = nc.getInt("use_sparse_mixer", 0))
    return ((void)nc.unsupported("use_sparse_mixer", Twine(v)), failure());
  a.fusion = nc.getInt("swiglu_fusion", 0);
  if (a.fusion < 0 || a.fusion > 2)
    return ((void)nc.unsupported("swiglu_fusion", Twine(a.fusion)), failure());
  a.alpha = nc.getFloat("activation_alpha", 1.0f);
  a.beta = nc.getFloat("activation_beta", 0.0f);
  if (nc.attr("swiglu_limit") && std::isfinite(nc.getFloat("swiglu_limit", 0)))
    a.limit = nc.getFloat("swiglu_limit", 0);
  if (a.act != ExpertActivation::SwiGLU) {
    if (a.alpha != 1.0f || a.beta != 0.0f)
      return ((void)nc.error("activation_alpha and activation_beta are only "
                       "supported with activation_type swiglu"),
              failure());
    if (a.limit)
      return ((void)nc.error("swiglu_limit needs activation_type swiglu"), failure());
  }
  if (a.limit && !(*a.limit > 0))
    return ((void)nc.unsupported("swiglu_limit", std::to_string(*a.limit)), failure());
  return a;
}

/// QMoE's FC weight `fc` as floats [E, rows, cols]: codes packed along the
/// columns, scales [E, rows] or [E, rows, cols / block], zero points packed
/// along the rows (per row) or the blocks.
FailureOr<Value> dequantizeExpertWeight(NodeContext &nc, const FcInputs &fc,
                                        int64_t experts, int64_t rows,
                                        int64_t cols, int64_t bits,
                                        int64_t block, Type elt,
                                        StringRef what) {
  int64_t pack = 8 / bits;
  FailureOr<std::vector<char>> codes = constantBytes(nc, fc.weight, what);
  if (failed(codes))
    return failure();
  if ((int64_t)codes->size() != experts * rows * cols / pack || cols % pack)
    return ((void)nc.error(Twine(what) + " must be uint8 [" + Twine(experts) +
                     ", " + Twine(rows) + ", " + Twine(cols / pack) +
                     "] (the input dimension packed " + Twine(pack) +
                     " to a byte)"),
            failure());
  if (!nc.input(*fc.scale))
    return ((void)nc.error(Twine(what) + " needs its scales"), failure());
  FailureOr<std::vector<float>> scales =
      constantFloats(nc, *fc.scale, (what + " scales").str());
  if (failed(scales))
    return failure();
  int64_t groups = block ? cols / block : 1, groupSize = block ? block : cols;
  if ((int64_t)scales->size() != experts * rows * groups)
    return ((void)nc.error(Twine(what) + " scales must hold " +
                     Twine(experts * rows * groups) + " values ([" +
                     Twine(experts) + ", " + Twine(rows) +
                     (block ? ", " + Twine(groups) : Twine()) + "])"),
            failure());
  // Zero points, unpacked to [E, rows, groups]; default 2^(bits-1).
  std::vector<float> zero(experts * rows * groups, float(1 << (bits - 1)));
  if (fc.zeroPoint && nc.input(*fc.zeroPoint)) {
    FailureOr<std::vector<char>> zp =
        constantBytes(nc, *fc.zeroPoint, (what + " zero points").str());
    if (failed(zp))
      return failure();
    // Per row: packed along the rows; per block: packed along the blocks.
    int64_t packedCount = block ? experts * rows * ((groups + pack - 1) / pack)
                                : experts * ((rows + pack - 1) / pack);
    if ((int64_t)zp->size() != packedCount)
      return ((void)nc.error(Twine(what) + " zero points must hold " +
                       Twine(packedCount) + " bytes"),
              failure());
    for (int64_t e = 0; e < experts; ++e)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t g = 0; g < groups; ++g) {
          unsigned z;
          if (block) {
            int64_t perRow = (groups + pack - 1) / pack;
            z = unpackBits(ArrayRef<char>(zp->data() + (e * rows + r) * perRow,
                                          perRow),
                           g, bits);
          } else {
            int64_t perExpert = (rows + pack - 1) / pack;
            z = unpackBits(ArrayRef<char>(zp->data() + e * perExpert,
                                          perExpert),
                           r, bits);
          }
          zero[(e * rows + r) * groups + g] = (float)z;
        }
  }
  std::vector<float> w(experts * rows * cols);
  for (int64_t e = 0; e < experts; ++e)
    for (int64_t r = 0; r < rows; ++r) {
      ArrayRef<char> row(codes->data() + (e * rows + r) * (cols / pack),
                         cols / pack);
      for (int64_t c = 0; c < cols; ++c) {
        int64_t g = (e * rows + r) * groups + c / groupSize;
        w[(e * rows + r) * cols + c] =
            ((float)unpackBits(row, c, bits) - zero[g]) * (*scales)[g];
      }
    }
  return floatConstant(nc, RankedTensorType::get({experts, rows, cols}, elt),
                       w, nc.node.input(fc.weight));
}

/// The expert FCs of MoE and QMoE: the inputs that hold them and how they
/// are stored.
struct ExpertFcs {
  FcInputs fc1, fc2, fc3;
  bool quantized = false;
  /// QMoE's code width and block size (0: per row).
  int64_t bits = 0, block = 0;
  /// The number of experts and the input's element type.
  int64_t experts = 0;
  Type elt;
};

/// The FC inputs, and for QMoE the quantization attributes Kiln supports.
LogicalResult readExpertFcs(NodeContext &nc, ExpertFcs &x) {
  if (x.quantized) {
    x.fc1 = {2, 4, 3, 11};
    x.fc2 = {5, 7, 6, 12};
    x.fc3 = {8, 10, 9, 13};
    std::string qt = nc.getString("quant_type", "int");
    if (qt != "int")
      return nc.unsupported("quant_type", "'" + qt + "'");
    x.bits = nc.getInt("expert_weight_bits", 4);
    if (x.bits != 2 && x.bits != 4 && x.bits != 8)
      return nc.unsupported("expert_weight_bits", Twine(x.bits));
    x.block = nc.getInt("block_size", 0);
    if (x.block < 0 || (x.block && (x.block < 16 || (x.block & (x.block - 1)))))
      return nc.error("block_size = " + Twine(x.block) +
                      " must be a power of 2 and at least 16");
    int64_t prepacked = nc.getInt("weights_prepacked", -1);
    if (prepacked != -1 && prepacked != 0)
      return nc.unsupported("weights_prepacked", Twine(prepacked));
    if (nc.input(14))
      return nc.error("input 14 (router_weights) is not supported by Kiln");
    for (size_t i = 15; i < nc.numInputs(); ++i)
      if (nc.input(i))
        return nc.error("input " + Twine(i) +
                        " (FP4/FP8 expert scales) is not supported by Kiln");
  } else {
    x.fc1 = {2, 3, std::nullopt, std::nullopt};
    x.fc2 = {4, 5, std::nullopt, std::nullopt};
    x.fc3 = {6, 7, std::nullopt, std::nullopt};
  }
  return success();
}

/// The float weight of an expert FC in the [E, out, in] layout.
FailureOr<Value> expertFcWeight(NodeContext &nc, const ExpertFcs &x,
                                const FcInputs &fc, int64_t rows, int64_t cols,
                                StringRef what) {
  int64_t e = x.experts;
  Type elt = x.elt;
  Value w = nc.input(fc.weight);
  RankedTensorType t = nc.typeOf(w);
  if (x.quantized) {
    if (!t.getElementType().isInteger(8))
      return ((void)nc.error(Twine(what) + " must hold uint8 codes"),
              failure());
    return dequantizeExpertWeight(nc, fc, e, rows, cols, x.bits, x.block, elt,
                                  what);
  }
  if (t.getElementType() != elt || t.getRank() != 3 || t.getDimSize(0) != e)
    return ((void)nc.error(Twine(what) + " must be [" + Twine(e) + ", " +
                           Twine(rows) + ", " + Twine(cols) +
                           "] of the input's type"),
            failure());
  if (t.getDimSize(1) == rows && t.getDimSize(2) == cols)
    return w;
  if (t.getDimSize(1) == cols && t.getDimSize(2) == rows) // legacy layout
    return nc.transpose(w, {0, 2, 1});
  return ((void)nc.error(Twine(what) + " must be [" + Twine(e) + ", " +
                         Twine(rows) + ", " + Twine(cols) + "]"),
          failure());
}

/// The bias of an expert FC as [E, size], or null when it has none.
FailureOr<Value> expertFcBias(NodeContext &nc, const ExpertFcs &x,
                              const FcInputs &fc, int64_t size,
                              StringRef what) {
  int64_t e = x.experts;
  Type elt = x.elt;
  Value bias = nc.input(fc.bias);
  if (!bias)
    return Value();
  RankedTensorType t = nc.typeOf(bias);
  if (t.getNumElements() != e * size || t.getElementType() != elt)
    return ((void)nc.error(Twine(what) + " must be [" + Twine(e) + ", " +
                           Twine(size) + "] of the input's type"),
            failure());
  return nc.reshape(bias, {e, size});
}

/// MoE (quantized = false) and QMoE (quantized = true).
LogicalResult moeCommon(NodeContext &nc, bool quantized) {
  FailureOr<MoEAttrs> attrs = readMoEAttrs(nc);
  if (failed(attrs))
    return failure();
  Value x = nc.input(0), logits = nc.input(1);
  if (!x || !logits || !isa<FloatType>(nc.typeOf(x).getElementType()))
    return nc.error("expects a floating-point input and router_probs");
  RankedTensorType xt = nc.typeOf(x);
  Type elt = xt.getElementType();
  if (xt.getRank() != 2 && xt.getRank() != 3)
    return nc.error("input must be [tokens, hidden] or [batch, sequence, "
                    "hidden]");
  int64_t h = xt.getShape().back();
  int64_t tokens = xt.getNumElements() / std::max<int64_t>(h, 1);
  RankedTensorType lt = nc.typeOf(logits);
  if (lt.getRank() != 2 || lt.getDimSize(0) != tokens ||
      lt.getElementType() != elt)
    return nc.error("router_probs must be [" + Twine(tokens) +
                    ", experts] of the input's type");
  int64_t e = lt.getDimSize(1);
  if (attrs->k < 1 || attrs->k > e)
    return nc.error("k = " + Twine(attrs->k) + " must lie in [1, " + Twine(e) +
                    "] (the number of experts)");

  ExpertFcs fcs;
  fcs.quantized = quantized;
  fcs.experts = e;
  fcs.elt = elt;
  if (failed(readExpertFcs(nc, fcs)))
    return failure();
  const FcInputs &fc1 = fcs.fc1, &fc2 = fcs.fc2, &fc3 = fcs.fc3;
  int64_t bits = fcs.bits, block = fcs.block;
  bool swiglu = attrs->act == ExpertActivation::SwiGLU;
  bool separateUp = swiglu && attrs->fusion == 0;
  if (nc.input(fc3.weight) && !separateUp)
    return nc.error("fc3_experts_weights is only supported with "
                    "activation_type swiglu and swiglu_fusion = 0");
  if (separateUp && !nc.input(fc3.weight))
    return nc.error("swiglu_fusion = 0 needs fc3_experts_weights");
  if (!nc.input(fc1.weight) || !nc.input(fc2.weight))
    return nc.error("expects fc1_experts_weights and fc2_experts_weights");

  // The FFN size F from FC2 ([E, H, F], or [E, F/pack...] packed).
  int64_t pack = quantized ? 8 / bits : 1;
  RankedTensorType w2t = nc.typeOf(nc.input(fc2.weight));
  if (w2t.getRank() != 3 || w2t.getDimSize(0) != e)
    return nc.error("fc2_experts_weights must be [" + Twine(e) +
                    ", hidden, inter]");
  int64_t f1Rows = swiglu && !separateUp ? 2 : 1;
  int64_t f = w2t.getNumElements() * pack / (e * h);

  auto fcWeight = [&](const FcInputs &fc, int64_t rows, int64_t cols,
                      StringRef what) {
    return expertFcWeight(nc, fcs, fc, rows, cols, what);
  };
  auto fcBias = [&](const FcInputs &fc, int64_t size, StringRef what) {
    return expertFcBias(nc, fcs, fc, size, what);
  };

  if (quantized && block && (h % block || f % block))
    return nc.error("block_size = " + Twine(block) +
                    " must divide hidden_size (" + Twine(h) +
                    ") and inter_size (" + Twine(f) + ")");
  FailureOr<Value> w1 = fcWeight(fc1, f1Rows * f, h, "fc1_experts_weights");
  if (failed(w1))
    return failure();
  FailureOr<Value> w2 = fcWeight(fc2, h, f, "fc2_experts_weights");
  if (failed(w2))
    return failure();
  FailureOr<Value> b1 = fcBias(fc1, f1Rows * f, "fc1_experts_bias");
  if (failed(b1))
    return failure();
  FailureOr<Value> b2 = fcBias(fc2, h, "fc2_experts_bias");
  if (failed(b2))
    return failure();
  Value gate = *w1, gateBias = *b1, up, upBias;
  std::string name = nc.node.input(fc1.weight);
  if (separateUp) {
    FailureOr<Value> w3 = fcWeight(fc3, f, h, "fc3_experts_weights");
    if (failed(w3))
      return failure();
    FailureOr<Value> b3 = fcBias(fc3, f, "fc3_experts_bias");
    if (failed(b3))
      return failure();
    up = *w3;
    upBias = *b3;
  } else if (swiglu) {
    // Interleaved rows (g0, l0, g1, l1, ...) or the two halves.
    bool inter = attrs->fusion == 1;
    int64_t start = inter ? 1 : f, step = inter ? 2 : 1;
    up = sliceDim1(nc, *w1, start, step, f, name + "_up");
    gate = sliceDim1(nc, *w1, 0, step, f, name + "_gate");
    if (*b1) {
      upBias = sliceDim1(nc, *b1, start, step, f, name + "_up_bias");
      gateBias = sliceDim1(nc, *b1, 0, step, f, name + "_gate_bias");
    }
  }

  // Routing, then the experts on [T, H].
  auto i64 = nc.b.getI64Type();
  auto route = MoERouteOp::create(
      nc.b, nc.loc, RankedTensorType::get({tokens, attrs->k}, elt),
      RankedTensorType::get({tokens, attrs->k}, i64),
      RankedTensorType::get({e}, i64), logits, /*score_bias=*/Value(),
      nc.b.getI64IntegerAttr(attrs->k),
      RouterScoringAttr::get(nc.b.getContext(), RouterScoring::Softmax),
      nc.b.getBoolAttr(attrs->normalize), nc.b.getI64IntegerAttr(1),
      nc.b.getI64IntegerAttr(1),
      GroupScoringAttr::get(nc.b.getContext(), GroupScoring::TopTwoSum),
      nc.b.getI64IntegerAttr(0), nc.b.getF32FloatAttr(1.0f));
  Value x2 = nc.reshape(x, {tokens, h});
  Value y = MoEExpertsOp::create(
      nc.b, nc.loc, nc.typeOf(x2), x2, route.getExperts(), route.getWeights(),
      gate, *w2, up, gateBias, upBias, *b2,
      ExpertActivationAttr::get(nc.b.getContext(), attrs->act),
      attrs->limit ? nc.b.getF32FloatAttr(*attrs->limit) : FloatAttr(),
      nc.b.getF32FloatAttr(swiglu ? attrs->alpha : 1.0f),
      nc.b.getF32FloatAttr(swiglu ? attrs->beta : 0.0f));
  return nc.setResult(nc.reshape(y, xt.getShape()));
}

LogicalResult moeOp(NodeContext &nc) { return moeCommon(nc, false); }
LogicalResult qmoeOp(NodeContext &nc) { return moeCommon(nc, true); }

} // namespace

void kiln::onnx_import::registerContribMoEHandlers(HandlerTable &t) {
#define MS_CONTRIB_MOE_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
