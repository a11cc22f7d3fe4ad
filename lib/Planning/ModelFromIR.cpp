//===- ModelFromIR.cpp - A model summary from raised Kiln IR --------------===//

#include "kiln/Planning/ModelFromIR.h"

#include "kiln/dialects/Kiln/KilnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <optional>
#include <set>

using namespace mlir;
using namespace kiln;
using namespace kiln::planning;

namespace {

bool isConstant(Value v) {
  Operation *def = v ? v.getDefiningOp() : nullptr;
  return def && def->hasTrait<mlir::OpTrait::ConstantLike>();
}

WeightBlock blockOf(Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  double elements = t.getNumElements();
  return {elements, std::ceil(elements * t.getElementTypeBitWidth() / 8.0)};
}

/// A weight operand: a constant, or a kiln.dequantize of constant storage
/// (quantized experts), whose parameters are the float elements and whose
/// bytes are what is stored (values, scales, zero points). Null when it
/// is neither.
std::optional<WeightBlock> storedWeight(Value v) {
  if (!v)
    return std::nullopt;
  if (isConstant(v))
    return blockOf(v);
  auto dq = v.getDefiningOp<DequantizeOp>();
  if (!dq || !isConstant(dq.getInput()))
    return std::nullopt;
  WeightBlock w{blockOf(v).params, blockOf(dq.getInput()).bytes};
  w.bytes += blockOf(dq.getScale()).bytes;
  if (dq.getZeroPoint())
    w.bytes += blockOf(dq.getZeroPoint()).bytes;
  return w;
}

/// The element type a weight is stored in.
Type storedType(Value v) {
  if (auto dq = v.getDefiningOp<DequantizeOp>())
    v = dq.getInput();
  return cast<RankedTensorType>(v.getType()).getElementType();
}

/// The constant weights of a weighted op: kiln.matmul's constant right
/// operand, kiln.linear's weight and bias, kiln.qlinear's stored weight
/// (parameters) with its scales and zero points (bytes only). Zero params
/// when the op holds no constant weight.
WeightBlock weightsOf(Operation *op) {
  WeightBlock w;
  if (auto mm = dyn_cast<MatmulOp>(op)) {
    if (isConstant(mm.getRhs()) &&
        cast<RankedTensorType>(mm.getRhs().getType()).getRank() >= 2)
      w = blockOf(mm.getRhs());
  } else if (auto lin = dyn_cast<LinearOp>(op)) {
    if (isConstant(lin.getWeight())) {
      w = blockOf(lin.getWeight());
      if (lin.getBias())
        w += blockOf(lin.getBias());
    }
  } else if (auto q = dyn_cast<QLinearOp>(op)) {
    if (isConstant(q.getWeight())) {
      w = blockOf(q.getWeight());
      for (Value extra : llvm::SmallVector<Value>{
               q.getScale(), q.getZeroPoint(), q.getGlobalScale(),
               q.getBias()})
        if (extra)
          w.bytes += blockOf(extra).bytes;
    }
  }
  return w;
}

/// The output width of a weighted op (N of `[..., N]`).
int64_t outputWidth(Operation *op) {
  auto t = cast<RankedTensorType>(op->getResult(0).getType());
  return t.getRank() ? t.getShape().back() : 0;
}

/// The weighted op `v` comes from through reshapes, transposes, casts and
/// RoPE (at most a few steps), or null.
Operation *projectionFeeding(Value v) {
  for (int depth = 0; depth < 8 && v; ++depth) {
    Operation *def = v.getDefiningOp();
    if (!def)
      return nullptr;
    if (weightsOf(def).params > 0)
      return def;
    if (!isa<ReshapeOp, TransposeOp, RopeOp, CastOp>(def))
      return nullptr;
    v = def->getOperand(0);
  }
  return nullptr;
}

/// The weighted op that consumes `v` through reshapes and transposes, or
/// null.
Operation *projectionConsuming(Value v) {
  for (int depth = 0; depth < 8 && v; ++depth) {
    if (!v.hasOneUse())
      return nullptr;
    Operation *user = *v.getUsers().begin();
    if (weightsOf(user).params > 0)
      return user;
    if (!isa<ReshapeOp, TransposeOp, CastOp>(user))
      return nullptr;
    v = user->getResult(0);
  }
  return nullptr;
}

std::string dtypeName(Type t) {
  if (t.isF32())
    return "f32";
  if (t.isBF16())
    return "bf16";
  if (t.isF16())
    return "f16";
  if (isa<FloatType>(t) && t.getIntOrFloatBitWidth() == 8)
    return "fp8";
  std::string s;
  llvm::raw_string_ostream os(s);
  t.print(os);
  return s;
}

/// Each attention opens a layer at its earliest projection (or the norm
/// before it).
struct Layer {
  size_t start;
  AttentionOp attention;
  llvm::SmallPtrSet<Operation *, 4> attentionOps;
};

/// The layers of `ops` (in program order, `position` their indices).
std::vector<Layer> findLayers(ArrayRef<Operation *> ops,
                              llvm::DenseMap<Operation *, size_t> &position) {
  std::vector<Layer> layers;
  for (Operation *op : ops) {
    auto attn = dyn_cast<AttentionOp>(op);
    if (!attn)
      continue;
    Layer layer{position[op], attn, {}};
    for (Value v : llvm::SmallVector<Value>{attn.getQuery(), attn.getKey(),
                                            attn.getValue()})
      if (Operation *proj = projectionFeeding(v)) {
        layer.attentionOps.insert(proj);
        size_t start = position[proj];
        if (Operation *norm = proj->getOperand(0).getDefiningOp();
            norm && isa<RmsNormOp, LayerNormOp>(norm))
          start = std::min(start, position[norm]);
        layer.start = std::min(layer.start, start);
      }
    if (Operation *out = projectionConsuming(attn->getResult(0)))
      layer.attentionOps.insert(out);
    layers.push_back(std::move(layer));
  }
  return layers;
}

/// The attention of `layer` into `l`: heads, head dims, KV cache, window
/// and weights; false when its heads or head dims are dynamic.
bool readAttention(const Layer &layer, LayerSummary &l) {
  AttentionOp attn = layer.attention;
  auto q = cast<RankedTensorType>(attn.getQuery().getType());
  auto k = cast<RankedTensorType>(attn.getKey().getType());
  auto v = cast<RankedTensorType>(attn.getValue().getType());
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4 ||
      ShapedType::isDynamic(q.getShape()[1]) ||
      ShapedType::isDynamic(k.getShape()[1]) ||
      ShapedType::isDynamic(q.getShape()[3]) ||
      ShapedType::isDynamic(v.getShape()[3]))
    return false;
  l.heads = q.getShape()[1];
  l.kvHeads = k.getShape()[1];
  l.qkHeadDim = q.getShape()[3];
  l.vHeadDim = v.getShape()[3];
  l.kvCacheElemsPerToken = double(l.kvHeads) * (l.qkHeadDim + l.vHeadDim);
  if (attn.getMaskKind() == MaskKind::SlidingWindow ||
      attn.getMaskKind() == MaskKind::Hierarchical)
    l.window = int64_t(attn.getWindowLeft()) + 1;
  for (Operation *op : layer.attentionOps)
    l.attention += weightsOf(op);
  return true;
}

/// The FFN of a layer into `l` from its weighted ops not claimed by the
/// attention or the router (`others`): the dense FFN, or a MoE layer's
/// shared expert.
void readFfn(const Layer &layer, ArrayRef<Operation *> others, int64_t hidden,
             LayerSummary &l) {
  WeightBlock rest;
  int64_t width = 0;
  for (Operation *op : others) {
    if (layer.attentionOps.contains(op))
      continue;
    rest += weightsOf(op);
    // The FFN's intermediate size: the first width that is not hidden.
    int64_t out = outputWidth(op);
    if (!width && out != hidden)
      width = out;
  }
  if (l.moe) {
    l.shared = rest;
    l.sharedFfnDim = rest.params > 0 ? width : 0;
    l.sharedExperts = rest.params > 0 ? 1 : 0;
  } else {
    l.denseFfn = rest;
    l.ffnDim = width;
  }
}

} // namespace

llvm::Expected<ModelSummary>
kiln::planning::summarizeKilnModule(ModuleOp module, llvm::StringRef entry,
                                    llvm::StringRef name) {
  auto func = module.lookupSymbol<func::FuncOp>(entry);
  if (!func)
    return llvm::createStringError("the module has no entry function @" +
                                   entry.str());
  // Program order.
  llvm::DenseMap<Operation *, size_t> position;
  std::vector<Operation *> ops;
  func.getBody().walk([&](Operation *op) {
    position[op] = ops.size();
    ops.push_back(op);
  });

  ModelSummary m;
  m.name = name.str();
  m.origin = "raised Kiln IR";
  std::set<std::string> weightTypes;

  std::vector<Layer> layers = findLayers(ops, position);
  if (layers.empty())
    return llvm::createStringError(
        name.str() + ": no kiln.attention in @" + entry.str() +
        " after raising: the planner plans decoder layers, found none");

  // The embedding: a gather from a constant table.
  for (Operation *op : ops)
    if (auto gather = dyn_cast<GatherOp>(op))
      if (isConstant(gather.getData()) &&
          cast<RankedTensorType>(gather.getData().getType()).getRank() == 2) {
        auto t = cast<RankedTensorType>(gather.getData().getType());
        m.embedding = blockOf(gather.getData());
        m.vocab = t.getShape()[0];
        m.hidden = t.getShape()[1];
        weightTypes.insert(dtypeName(t.getElementType()));
        break;
      }

  auto layerOf = [&](Operation *op) -> int64_t {
    size_t p = position[op];
    int64_t index = -1;
    for (size_t i = 0; i < layers.size(); ++i)
      if (layers[i].start <= p)
        index = i;
    return index;
  };

  // The LM head: the last weighted op after the last attention whose rows
  // are vocabulary-sized (or, without an embedding, the last one).
  Operation *lmHead = nullptr;
  for (Operation *op : llvm::reverse(ops)) {
    if (position[op] < layers.back().start)
      break;
    if (weightsOf(op).params > 0 &&
        (m.vocab == 0 || outputWidth(op) == m.vocab)) {
      lmHead = op;
      break;
    }
  }

  m.layers.resize(layers.size());
  std::vector<std::vector<Operation *>> others(layers.size());
  for (size_t i = 0; i < layers.size(); ++i)
    if (!readAttention(layers[i], m.layers[i]))
      return llvm::createStringError(
          name.str() + ": a kiln.attention with dynamic heads or head "
                       "dimensions cannot be planned");
  AttentionOp first = layers.front().attention;
  auto firstQuery = cast<RankedTensorType>(first.getQuery().getType());
  m.computeDType = dtypeName(firstQuery.getElementType());
  m.activationBytes = m.kvCacheBytes =
      firstQuery.getElementTypeBitWidth() / 8.0;

  for (Operation *op : ops) {
    int64_t index = layerOf(op);
    if (auto norm = dyn_cast<RmsNormOp>(op)) {
      if (index >= 0 && isConstant(norm.getScale()))
        m.layers[index].norms += blockOf(norm.getScale());
      continue;
    }
    if (auto norm = dyn_cast<LayerNormOp>(op)) {
      if (index >= 0 && isConstant(norm.getScale()))
        m.layers[index].norms += blockOf(norm.getScale());
      continue;
    }
    if (auto route = dyn_cast<MoERouteOp>(op)) {
      if (index < 0)
        continue;
      LayerSummary &l = m.layers[index];
      l.topK = route.getK();
      if (Operation *router = projectionFeeding(route.getLogits()))
        if (layerOf(router) == index) {
          l.router += weightsOf(router);
          layers[index].attentionOps.insert(router); // claimed
        }
      continue;
    }
    if (auto experts = dyn_cast<MoEExpertsOp>(op)) {
      if (index < 0)
        continue;
      LayerSummary &l = m.layers[index];
      auto gate = cast<RankedTensorType>(experts.getWGate().getType());
      l.moe = true;
      l.experts = gate.getShape()[0];
      l.ffnDim = gate.getShape()[1];
      WeightBlock all;
      for (Value w : llvm::SmallVector<Value>{
               experts.getWGate(), experts.getWDown(), experts.getWUp(),
               experts.getBGate(), experts.getBUp(), experts.getBDown()})
        if (std::optional<WeightBlock> stored = storedWeight(w)) {
          all += *stored;
          weightTypes.insert(dtypeName(storedType(w)));
        }
      l.expert = {all.params / l.experts, all.bytes / l.experts};
      continue;
    }
    WeightBlock w = weightsOf(op);
    if (w.params == 0)
      continue;
    weightTypes.insert(dtypeName(
        cast<RankedTensorType>(op->getOperand(1).getType()).getElementType()));
    if (op == lmHead) {
      m.lmHead += w;
      continue;
    }
    if (index >= 0)
      others[index].push_back(op);
  }

  for (size_t i = 0; i < layers.size(); ++i)
    readFfn(layers[i], others[i], m.hidden, m.layers[i]);
  if (m.hidden == 0 && !m.layers.empty())
    m.hidden = m.layers[0].heads * m.layers[0].qkHeadDim;
  std::string types;
  for (const std::string &t : weightTypes)
    types += (types.empty() ? "" : ", ") + t;
  m.weightDType = types.empty() ? m.computeDType : types;
  if (!lmHead)
    m.notes.push_back("no LM head found (no weighted op with vocabulary-"
                      "sized rows after the last layer)");
  if (llvm::any_of(m.layers,
                   [](const LayerSummary &l) { return l.sharedExperts; }))
    m.notes.push_back("a MoE layer's other weighted ops are counted as one "
                      "shared expert");
  return m;
}
