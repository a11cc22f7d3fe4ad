//===- MoEExperts.cpp - One expert's FFN ----------------------------------===//
//
// kiln-raise-moe's expert step (MoE.h): an expert is
// w2(act(w1 x) * w3 x) (SwiGLU, act = SiLU written as sigmoid(g) * g or
// kiln.silu, or kiln.swiglu of a fused [w1 | w3] projection) or
// w2(act(w1 x)) (SiLU, GELU, ReLU), each layer `x @ W (+ b)` or
// `kiln.linear` with a constant weight.
//
//===----------------------------------------------------------------------===//

#include "MoE.h"

#include "kiln/dialects/Kiln/KilnConstants.h"

#include <cstring>

using namespace mlir;
using namespace kiln;
using namespace kiln::moe;

namespace {

std::optional<Projection> matchProjection(Value v, Match &m) {
  v = skipNoOps(v);
  Projection p;
  Value core = v;
  if (auto add = v.getDefiningOp<AddOp>()) {
    for (int i : {0, 1}) {
      Value other = add->getOperand(1 - i);
      ElementsAttr bias = constantOf(other);
      Operation *mm = skipNoOps(add->getOperand(i)).getDefiningOp();
      if (!bias || !isa_and_nonnull<MatmulOp>(mm) ||
          add->getOperand(i).getType() != v.getType())
        continue;
      p.bias = bias;
      core = add->getOperand(i);
      m.add(v);
      m.add(other);
      break;
    }
  }
  core = skipNoOps(core);
  if (auto mm = core.getDefiningOp<MatmulOp>()) {
    auto wt = tensorType(mm.getRhs());
    if (wt.getRank() != 2 || tensorType(mm.getLhs()).getRank() != 2)
      return std::nullopt;
    // x @ W, or x @ transpose(W) as Gemm(transB = 1) imports (nn.Linear
    // with a bias): W is then already [N, K].
    ElementsAttr w = constantOf(mm.getRhs());
    p.kMajor = true;
    if (auto tr = def<TransposeOp>(mm.getRhs());
        !w && tr && tr.getPermutation() == ArrayRef<int64_t>{1, 0}) {
      w = constantOf(tr.getInput());
      p.kMajor = false;
      m.add(tr.getInput());
    }
    if (!w)
      return std::nullopt;
    p.input = skipNoOps(mm.getLhs());
    p.weight = w;
    p.k = wt.getDimSize(0);
    p.fullN = p.n = wt.getDimSize(1);
    m.add(mm.getRhs());
    m.addChain(mm.getRhs());
  } else if (auto lin = core.getDefiningOp<LinearOp>()) {
    ElementsAttr w = constantOf(lin.getWeight());
    auto wt = tensorType(lin.getWeight());
    if (!w || wt.getRank() != 2 || tensorType(lin.getInput()).getRank() != 2)
      return std::nullopt;
    if (lin.getBias()) {
      p.bias = constantOf(lin.getBias());
      if (!p.bias)
        return std::nullopt;
      m.add(lin.getBias());
    }
    p.input = skipNoOps(lin.getInput());
    p.weight = w;
    p.k = wt.getDimSize(1);
    p.fullN = p.n = wt.getDimSize(0);
    m.add(lin.getWeight());
  } else {
    return std::nullopt;
  }
  if (p.bias && p.bias.getNumElements() != p.fullN)
    return std::nullopt;
  m.add(core);
  m.addChain(v);
  return p;
}

/// The `g` of `silu(g)`, written as kiln.silu or sigmoid(g) * g.
Value matchSilu(Value v, Match &m) {
  v = skipNoOps(v);
  if (auto silu = v.getDefiningOp<SiluOp>()) {
    m.add(v);
    return silu.getInput();
  }
  if (auto mul = v.getDefiningOp<MulOp>()) {
    for (int i : {0, 1}) {
      auto sig = def<SigmoidOp>(mul->getOperand(i));
      if (sig &&
          skipNoOps(sig.getInput()) == skipNoOps(mul->getOperand(1 - i))) {
        m.add(v);
        m.add(mul->getOperand(i));
        return sig.getInput();
      }
    }
  }
  return Value();
}

} // namespace

/// One expert's FFN ending in `y`; the reason for a miss goes to `m`.
std::optional<Expert> kiln::moe::matchExpert(Value y, Match &m) {
  Expert e;
  std::optional<Projection> down = matchProjection(y, m);
  if (!down) {
    m.fail("its output is not a linear layer with a constant weight");
    return std::nullopt;
  }
  e.down = *down;
  Value h = skipNoOps(down->input);
  auto proj = [&](Value v, Projection &out) {
    std::optional<Projection> p = matchProjection(v, m);
    if (p)
      out = *p;
    return p.has_value();
  };
  bool matched = false;
  // SwiGLU: silu(gate(x)) * up(x), either operand order.
  if (auto mul = h.getDefiningOp<MulOp>()) {
    for (int i : {0, 1}) {
      Match trial;
      Value g = matchSilu(mul->getOperand(i), trial);
      Projection gate, up;
      if (!g || !proj(g, gate) || !proj(mul->getOperand(1 - i), up))
        continue;
      e.act = ExpertActivation::SwiGLU;
      e.gate = gate;
      e.up = up;
      m.ops.insert(trial.ops.begin(), trial.ops.end());
      m.add(h);
      matched = true;
      break;
    }
  }
  // kiln.swiglu of one fused projection [gate | up].
  if (!matched) {
    if (auto sw = h.getDefiningOp<SwiGLUOp>()) {
      Projection fused;
      if (proj(sw.getInput(), fused) && fused.fullN % 2 == 0) {
        e.act = ExpertActivation::SwiGLU;
        e.gate = fused;
        e.gate.n = fused.fullN / 2;
        Projection up = fused;
        up.lo = up.n = fused.fullN / 2;
        e.up = up;
        m.add(h);
        matched = true;
      }
    }
  }
  // Ungated activations.
  if (!matched) {
    Value g;
    Match trial;
    if ((g = matchSilu(h, trial))) {
      e.act = ExpertActivation::SiLU;
    } else if (auto gelu = h.getDefiningOp<GeluOp>()) {
      g = gelu.getInput();
      e.act = gelu.getApproximation() == GeluApproximation::Tanh
                  ? ExpertActivation::GELUTanh
                  : ExpertActivation::GELU;
    } else if (auto relu = h.getDefiningOp<ReluOp>()) {
      g = relu.getInput();
      e.act = ExpertActivation::ReLU;
    }
    if (g && proj(g, e.gate)) {
      m.ops.insert(trial.ops.begin(), trial.ops.end());
      m.add(h);
      matched = true;
    }
  }
  if (!matched) {
    m.fail("its hidden layer is not SwiGLU (silu(w1 x) * w3 x), SiLU, GELU "
           "or ReLU of linear layers with constant weights");
    return std::nullopt;
  }
  e.input = e.gate.input;
  if (e.up && e.up->input != e.input) {
    m.fail("its gate and up projections read different inputs");
    return std::nullopt;
  }
  if (e.gate.n != e.down.k || (e.up && e.up->n != e.gate.n) ||
      e.down.n != e.gate.k) {
    m.fail("its layer shapes do not chain");
    return std::nullopt;
  }
  return e;
}

char *kiln::moe::copyWeightRows(const Projection &p, ArrayRef<char> bytes,
                                size_t size, char *to) {
  if (!p.kMajor) { // the rows are contiguous already
    size_t n = p.n * p.k * size;
    std::memcpy(to, bytes.data() + p.lo * p.k * size, n);
    return to + n;
  }
  // Stored [K, fullN]: columns lo .. lo + n, transposed.
  kiln::transposeElements(bytes.data() + p.lo * size, p.fullN, to, p.k, p.k,
                          p.n, size);
  return to + p.n * p.k * size;
}
