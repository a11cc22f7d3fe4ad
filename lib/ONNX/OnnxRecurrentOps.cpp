//===- OnnxRecurrentOps.cpp - RNN, GRU and LSTM, unrolled -----------------===//
//
// The recurrent operators are loops over time steps. Like Scan
// (OnnxControlFlowOps.cpp), they are unrolled over their static number of
// steps: each step is a few matmuls and elementwise ops on the previous
// step's state, so the unrolled graph is what a loop would compute, with no
// loop op that the importer would have to build. The input projection
// X * W^T + Wb of all steps is one matmul before the loop; only H * R^T
// depends on the previous step.
//
// sequence_lens is read at run time: a batch entry's state stops changing
// at the step where its sequence ends (and its Y there is 0). The reverse
// direction walks t = S-1 .. 0 with the same mask, which starts each entry
// at its own last step, len-1, as ONNX asks.
//
//===----------------------------------------------------------------------===//

#include "NodeContext.h"
#include "SharedBuilders.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

/// The most time steps a recurrent operator is unrolled over (one copy of
/// its cell each), as for Scan.
constexpr int64_t kMaxRecurrentSteps = 256;

enum class CellKind { RNN, GRU, LSTM };

/// One of the activation functions the recurrent operators name, with its
/// parameters (ONNX's defaults where the node gives none).
struct Activation {
  enum Kind {
    Relu,
    Tanh,
    Sigmoid,
    Affine,
    LeakyRelu,
    ThresholdedRelu,
    ScaledTanh,
    HardSigmoid,
    Elu,
    Softsign,
    Softplus
  } kind;
  double alpha = 0, beta = 0;
};

/// What a node asks of its cell, read from its attributes.
struct Recurrence {
  CellKind kind;
  /// Gates stacked in W, R and B: 1 (RNN), 3 (GRU: z, r, h), 4 (LSTM: i, o,
  /// f, c).
  int64_t gates;
  int64_t hidden;
  /// 1, or 2 for bidirectional (forward first).
  int64_t directions;
  bool reverse;
  /// layout = 1: X, Y, initial and final states are batch-first.
  bool batchFirst;
  std::optional<double> clip;
  bool linearBeforeReset;
  bool inputForget;
  /// Per direction, the activations of its kind (f; f, g; f, g, h).
  SmallVector<SmallVector<Activation>> activations;
};

/// The activation called `name` (case-insensitive, as onnxruntime reads
/// it), taking its alpha and beta from the front of `alphas` and `betas`
/// when it has them: the lists are consumed in the order of the
/// activations that take a parameter.
FailureOr<Activation> parseActivation(NodeContext &nc, StringRef name,
                                      ArrayRef<float> &alphas,
                                      ArrayRef<float> &betas) {
  using K = Activation::Kind;
  std::string lower = name.lower();
  std::optional<K> kind = llvm::StringSwitch<std::optional<K>>(lower)
                              .Case("relu", K::Relu)
                              .Case("tanh", K::Tanh)
                              .Case("sigmoid", K::Sigmoid)
                              .Case("affine", K::Affine)
                              .Case("leakyrelu", K::LeakyRelu)
                              .Case("thresholdedrelu", K::ThresholdedRelu)
                              .Case("scaledtanh", K::ScaledTanh)
                              .Case("hardsigmoid", K::HardSigmoid)
                              .Case("elu", K::Elu)
                              .Case("softsign", K::Softsign)
                              .Case("softplus", K::Softplus)
                              .Default(std::nullopt);
  if (!kind) {
    (void)nc.unsupported("activations", "'" + name + "'",
                         "Relu, Tanh, Sigmoid, Affine, LeakyRelu, "
                         "ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, "
                         "Softsign, Softplus");
    return failure();
  }
  // ONNX's (and onnxruntime's) defaults of each function's parameters.
  auto [alpha, beta, takesAlpha, takesBeta] =
      llvm::StringSwitch<std::tuple<double, double, bool, bool>>(lower)
          .Case("affine", {1.0, 0.0, true, true})
          .Case("leakyrelu", {0.01, 0.0, true, false})
          .Case("thresholdedrelu", {1.0, 0.0, true, false})
          .Case("scaledtanh", {1.0, 1.0, true, true})
          .Case("hardsigmoid", {0.2, 0.5, true, true})
          .Case("elu", {1.0, 0.0, true, false})
          .Default({0.0, 0.0, false, false});
  if (takesAlpha && !alphas.empty()) {
    alpha = alphas.front();
    alphas = alphas.drop_front();
  }
  if (takesBeta && !betas.empty()) {
    beta = betas.front();
    betas = betas.drop_front();
  }
  return Activation{*kind, alpha, beta};
}

/// The node's activations, per direction: `activations` holds one list of
/// the kind's functions per direction (or one list, used by both).
LogicalResult readActivations(NodeContext &nc, Recurrence &r) {
  static const StringRef rnn[] = {"Tanh"}, gru[] = {"Sigmoid", "Tanh"},
                         lstm[] = {"Sigmoid", "Tanh", "Tanh"};
  ArrayRef<StringRef> defaults = r.kind == CellKind::RNN   ? ArrayRef(rnn)
                                 : r.kind == CellKind::GRU ? ArrayRef(gru)
                                                           : ArrayRef(lstm);
  SmallVector<std::string> names;
  const onnx::AttributeProto *given = nc.attr("activations");
  if (given)
    names.assign(given->strings().begin(), given->strings().end());
  size_t perDirection = defaults.size();
  if (!given || names.empty())
    for (int64_t d = 0; d < r.directions; ++d)
      for (StringRef name : defaults)
        names.push_back(name.str());
  else if (names.size() == perDirection && r.directions == 2)
    names.append(SmallVector<std::string>(names));
  if (names.size() != perDirection * r.directions)
    return nc.error("activations names " + Twine(names.size()) +
                    " functions where " + Twine(perDirection * r.directions) +
                    " (" + Twine(perDirection) +
                    " per direction) are expected");
  SmallVector<float> alphaList, betaList;
  if (const onnx::AttributeProto *a = nc.attr("activation_alpha"))
    alphaList.assign(a->floats().begin(), a->floats().end());
  if (const onnx::AttributeProto *a = nc.attr("activation_beta"))
    betaList.assign(a->floats().begin(), a->floats().end());
  ArrayRef<float> alphas(alphaList), betas(betaList);
  r.activations.assign(r.directions, {});
  for (auto [i, name] : llvm::enumerate(names)) {
    FailureOr<Activation> act = parseActivation(nc, name, alphas, betas);
    if (failed(act))
      return failure();
    r.activations[i / perDirection].push_back(*act);
  }
  return success();
}

/// Reads the attributes every recurrent operator shares, and the ones of
/// its kind.
FailureOr<Recurrence> readRecurrence(NodeContext &nc, CellKind kind) {
  Recurrence r;
  r.kind = kind;
  r.gates = kind == CellKind::RNN ? 1 : kind == CellKind::GRU ? 3 : 4;
  r.hidden = nc.getInt("hidden_size", 0);
  enum Direction { Forward, Reverse, Bidirectional };
  FailureOr<Direction> direction =
      nc.getChoice<Direction>("direction", "forward",
                              {{"forward", Forward},
                               {"reverse", Reverse},
                               {"bidirectional", Bidirectional}});
  if (failed(direction))
    return failure();
  r.directions = *direction == Bidirectional ? 2 : 1;
  r.reverse = *direction == Reverse;
  int64_t layout = nc.getInt("layout", 0);
  if (layout != 0 && layout != 1)
    return nc.unsupported("layout", Twine(layout), "0, 1");
  r.batchFirst = layout == 1;
  if (const onnx::AttributeProto *clip = nc.attr("clip")) {
    if (!(clip->f() > 0))
      return nc.unsupported("clip", llvm::formatv("{0}", clip->f()).str(),
                            "a positive threshold");
    r.clip = clip->f();
  }
  int64_t lbr = nc.getInt("linear_before_reset", 0);
  int64_t inputForget = nc.getInt("input_forget", 0);
  if (lbr != 0 && lbr != 1)
    return nc.unsupported("linear_before_reset", Twine(lbr), "0, 1");
  if (inputForget != 0 && inputForget != 1)
    return nc.unsupported("input_forget", Twine(inputForget), "0, 1");
  r.linearBeforeReset = lbr == 1;
  r.inputForget = inputForget == 1;
  if (failed(readActivations(nc, r)))
    return failure();
  return r;
}

Value applyActivation(NodeContext &nc, const Recurrence &r,
                      const Activation &act, Value x) {
  Type elt = nc.typeOf(x).getElementType();
  if (r.clip)
    x = nc.binary<MinOp>(nc.binary<MaxOp>(x, nc.scalar(elt, -*r.clip)),
                         nc.scalar(elt, *r.clip));
  auto scalar = [&](double v) { return nc.scalar(elt, v); };
  switch (act.kind) {
  case Activation::Relu:
    return nc.unary<ReluOp>(x);
  case Activation::Tanh:
    return nc.unary<TanhOp>(x);
  case Activation::Sigmoid:
    return nc.unary<SigmoidOp>(x);
  case Activation::Affine:
    return nc.binary<AddOp>(nc.binary<MulOp>(scalar(act.alpha), x),
                            scalar(act.beta));
  case Activation::LeakyRelu:
    return LeakyReluOp::create(nc.b, nc.loc, x.getType(), x,
                               nc.b.getF32FloatAttr(act.alpha));
  case Activation::ThresholdedRelu:
    return select(nc, nc.compare(CompareDirection::GT, x, scalar(act.alpha)), x,
                  scalar(0));
  case Activation::ScaledTanh:
    return nc.binary<MulOp>(
        scalar(act.alpha),
        nc.unary<TanhOp>(nc.binary<MulOp>(scalar(act.beta), x)));
  case Activation::HardSigmoid:
    return hardSigmoidOf(nc, x, act.alpha, act.beta);
  case Activation::Elu:
    return exponentialLinear(nc, x, act.alpha);
  case Activation::Softsign:
    return nc.binary<DivOp>(x, nc.binary<AddOp>(scalar(1), nc.unary<AbsOp>(x)));
  case Activation::Softplus:
    return softplusOf(nc, x);
  }
  llvm_unreachable("unknown activation");
}

/// Columns [k * size, (k + 1) * size) of a [rows, cols] tensor: gate `k`.
Value gate(NodeContext &nc, Value x, int64_t k, int64_t size) {
  RankedTensorType type = nc.typeOf(x);
  SmallVector<int64_t> shape(type.getShape()), starts(type.getRank(), 0),
      steps(type.getRank(), 1);
  shape.back() = size;
  starts.back() = k * size;
  return nc.b.createOrFold<SliceOp>(nc.loc, type.clone(shape), x,
                                    nc.b.getDenseI64ArrayAttr(starts),
                                    nc.b.getDenseI64ArrayAttr(steps));
}

/// One direction's weights, as the cell uses them.
struct DirectionWeights {
  /// X * W^T + Wb of every step: [S, B, gates * H].
  Value inputProjection;
  /// R^T: [H, gates * H], and Rb: [gates * H] (null without B).
  Value recurrenceT, recurrenceBias;
  /// Peepholes Pi, Po, Pf: [H] each (null without P).
  Value peepholes[3];
};

/// A cell's state: H, and C for LSTM.
struct CellState {
  Value h, c;
};

/// H * R^T + Rb, the recurrent half of every gate's input: [B, gates * H].
Value recurrentProjection(NodeContext &nc, const DirectionWeights &w, Value h) {
  Value hr = numpyMatmul(nc, h, w.recurrenceT);
  return w.recurrenceBias ? nc.binary<AddOp>(hr, w.recurrenceBias) : hr;
}

/// Ht = f(Xt * W^T + Ht-1 * R^T + Wb + Rb).
CellState rnnCell(NodeContext &nc, const Recurrence &r,
                  ArrayRef<Activation> acts, const DirectionWeights &w,
                  Value xt, CellState s) {
  Value in = nc.binary<AddOp>(xt, recurrentProjection(nc, w, s.h));
  return {applyActivation(nc, r, acts[0], in), {}};
}

/// zt and rt as f(...); ht = g(Xt * Wh^T + (rt . Ht-1) * Rh^T + Rbh + Wbh),
/// or with linear_before_reset g(Xt * Wh^T + rt . (Ht-1 * Rh^T + Rbh) +
/// Wbh); Ht = (1 - zt) . ht + zt . Ht-1.
CellState gruCell(NodeContext &nc, const Recurrence &r,
                  ArrayRef<Activation> acts, const DirectionWeights &w,
                  Value xt, CellState s) {
  int64_t hs = r.hidden;
  Value hr = recurrentProjection(nc, w, s.h);
  Value z = applyActivation(
      nc, r, acts[0],
      nc.binary<AddOp>(gate(nc, xt, 0, hs), gate(nc, hr, 0, hs)));
  Value reset = applyActivation(
      nc, r, acts[0],
      nc.binary<AddOp>(gate(nc, xt, 1, hs), gate(nc, hr, 1, hs)));
  Value recurrent;
  if (r.linearBeforeReset) {
    recurrent = nc.binary<MulOp>(reset, gate(nc, hr, 2, hs));
  } else {
    recurrent = numpyMatmul(nc, nc.binary<MulOp>(reset, s.h),
                            gate(nc, w.recurrenceT, 2, hs));
    if (w.recurrenceBias)
      recurrent =
          nc.binary<AddOp>(recurrent, gate(nc, w.recurrenceBias, 2, hs));
  }
  Value candidate = applyActivation(
      nc, r, acts[1], nc.binary<AddOp>(gate(nc, xt, 2, hs), recurrent));
  Type elt = nc.typeOf(z).getElementType();
  Value keep = nc.binary<SubOp>(nc.scalar(elt, 1), z);
  return {nc.binary<AddOp>(nc.binary<MulOp>(keep, candidate),
                           nc.binary<MulOp>(z, s.h)),
          {}};
}

/// it, ft = f(... + P . Ct-1), ct = g(...), Ct = ft . Ct-1 + it . ct,
/// ot = f(... + Po . Ct), Ht = ot . h(Ct); with input_forget, ft = 1 - it.
CellState lstmCell(NodeContext &nc, const Recurrence &r,
                   ArrayRef<Activation> acts, const DirectionWeights &w,
                   Value xt, CellState s) {
  int64_t hs = r.hidden;
  Value hr = recurrentProjection(nc, w, s.h);
  // Gate k's input before peepholes (ONNX's order: i, o, f, c).
  auto pre = [&](int64_t k) {
    return nc.binary<AddOp>(gate(nc, xt, k, hs), gate(nc, hr, k, hs));
  };
  auto peep = [&](Value in, int64_t p, Value c) {
    return w.peepholes[p]
               ? nc.binary<AddOp>(in, nc.binary<MulOp>(w.peepholes[p], c))
               : in;
  };
  Value i = applyActivation(nc, r, acts[0], peep(pre(0), 0, s.c));
  Type elt = nc.typeOf(i).getElementType();
  Value f = r.inputForget
                ? nc.binary<SubOp>(nc.scalar(elt, 1), i)
                : applyActivation(nc, r, acts[0], peep(pre(2), 2, s.c));
  Value candidate = applyActivation(nc, r, acts[1], pre(3));
  Value c = nc.binary<AddOp>(nc.binary<MulOp>(f, s.c),
                             nc.binary<MulOp>(i, candidate));
  Value o = applyActivation(nc, r, acts[0], peep(pre(1), 1, c));
  return {nc.binary<MulOp>(o, applyActivation(nc, r, acts[2], c)), c};
}

/// Where batch entry b's sequence still runs at step t (t < lens[b]):
/// [B, 1] booleans; null without sequence_lens.
Value stepMask(NodeContext &nc, Value lens, int64_t t) {
  if (!lens)
    return nullptr;
  Value running = nc.compare(
      CompareDirection::LT,
      nc.scalar(nc.typeOf(lens).getElementType(), static_cast<double>(t)),
      lens);
  return nc.reshape(running, {nc.typeOf(lens).getDimSize(0), 1});
}

/// Runs one direction over all steps from `init`: the H of every step (in
/// time order, 0 after a sequence's end) and the final state.
std::pair<SmallVector<Value>, CellState>
runDirection(NodeContext &nc, const Recurrence &r, int64_t d,
             const DirectionWeights &w, CellState state, Value lens) {
  int64_t steps = nc.typeOf(w.inputProjection).getDimSize(0);
  bool backwards = r.reverse || d == 1;
  ArrayRef<Activation> acts = r.activations[d];
  auto cell = r.kind == CellKind::RNN   ? rnnCell
              : r.kind == CellKind::GRU ? gruCell
                                        : lstmCell;
  SmallVector<Value> ys(steps);
  Type elt = nc.typeOf(state.h).getElementType();
  for (int64_t k = 0; k < steps; ++k) {
    int64_t t = backwards ? steps - 1 - k : k;
    CellState next =
        cell(nc, r, acts, w, stepOf(nc, w.inputProjection, 0, t), state);
    if (Value running = stepMask(nc, lens, t)) {
      next.h = select(nc, running, next.h, state.h);
      if (next.c)
        next.c = select(nc, running, next.c, state.c);
      ys[t] = select(nc, running, next.h, nc.scalar(elt, 0));
    } else {
      ys[t] = next.h;
    }
    state = next;
  }
  return {ys, state};
}

/// The node's tensors: X as [S, B, I], its weights, the optional inputs.
struct RecurrentInputs {
  Value x, w, r, b, lens, initialH, initialC, p;
};

/// Checks the shapes of the node's inputs against each other and the
/// attributes; X is made time-first.
FailureOr<RecurrentInputs> readInputs(NodeContext &nc, Recurrence &r) {
  RecurrentInputs in{nc.input(0),
                     nc.input(1),
                     nc.input(2),
                     nc.input(3),
                     nc.input(4),
                     nc.input(5),
                     r.kind == CellKind::LSTM ? nc.input(6) : Value(),
                     r.kind == CellKind::LSTM ? nc.input(7) : Value()};
  if (!in.x || !in.w || !in.r)
    return nc.error("expects inputs X, W and R");
  RankedTensorType xt = nc.typeOf(in.x);
  if (!xt.hasStaticShape() || xt.getRank() != 3 ||
      !isa<FloatType>(xt.getElementType()))
    return nc.error("X must be floats of a static shape [seq_length, "
                    "batch_size, input_size] (batch-first with layout 1)");
  if (r.batchFirst)
    in.x = nc.transpose(in.x, {1, 0, 2});
  ArrayRef<int64_t> x = nc.typeOf(in.x).getShape();
  ArrayRef<int64_t> rs = nc.typeOf(in.r).getShape();
  if (!r.hidden && rs.size() == 3)
    r.hidden = rs[2];
  int64_t gh = r.gates * r.hidden;
  auto expect = [&](Value v, StringRef what,
                    ArrayRef<int64_t> shape) -> LogicalResult {
    if (!v || nc.typeOf(v).getShape() == shape)
      return success();
    std::string want;
    llvm::raw_string_ostream os(want);
    llvm::interleaveComma(shape, os);
    return nc.error(
        what + " must be [" + want + "] for hidden_size " + Twine(r.hidden) +
        " and X of [seq_length, batch_size, "
        "input_size] = [" +
        Twine(x[0]) + ", " + Twine(x[1]) + ", " + Twine(x[2]) + "]");
  };
  int64_t dirs = r.directions, batch = x[1], hs = r.hidden;
  SmallVector<int64_t> state = r.batchFirst
                                   ? SmallVector<int64_t>{batch, dirs, hs}
                                   : SmallVector<int64_t>{dirs, batch, hs};
  if (failed(expect(in.w, "W", {dirs, gh, x[2]})) ||
      failed(expect(in.r, "R", {dirs, gh, hs})) ||
      failed(expect(in.b, "B", {dirs, 2 * gh})) ||
      failed(expect(in.lens, "sequence_lens", {batch})) ||
      failed(expect(in.initialH, "initial_h", state)) ||
      failed(expect(in.initialC, "initial_c", state)) ||
      failed(expect(in.p, "P", {dirs, 3 * hs})))
    return failure();
  if (x[0] < 1 || x[0] > kMaxRecurrentSteps)
    return nc.error("a sequence of " + Twine(x[0]) +
                    " steps is not supported (it is unrolled, over 1 to " +
                    Twine(kMaxRecurrentSteps) + " steps)");
  if (in.lens && !nc.typeOf(in.lens).getElementType().isInteger(32))
    return nc.error("sequence_lens must be int32");
  return in;
}

/// Direction `d`'s weights from the node's inputs.
DirectionWeights directionWeights(NodeContext &nc, const Recurrence &r,
                                  const RecurrentInputs &in, int64_t d) {
  int64_t gh = r.gates * r.hidden;
  DirectionWeights w;
  Value wt = nc.transpose(stepOf(nc, in.w, 0, d), {1, 0});
  w.inputProjection = numpyMatmul(nc, in.x, wt);
  w.recurrenceT = nc.transpose(stepOf(nc, in.r, 0, d), {1, 0});
  if (in.b) {
    Value bias = stepOf(nc, in.b, 0, d);
    w.inputProjection =
        nc.binary<AddOp>(w.inputProjection, gate(nc, bias, 0, gh));
    w.recurrenceBias = gate(nc, bias, 1, gh);
  }
  if (in.p) {
    Value p = stepOf(nc, in.p, 0, d);
    for (int64_t k = 0; k < 3; ++k)
      w.peepholes[k] = gate(nc, p, k, r.hidden);
  }
  return w;
}

/// Direction `d`'s slice of an initial state input ([B, H]), or zeros.
Value initialState(NodeContext &nc, const Recurrence &r, Value given, int64_t d,
                   Type elt, int64_t batch) {
  if (given)
    return stepOf(nc, given, r.batchFirst ? 1 : 0, d);
  auto type = RankedTensorType::get({batch, r.hidden}, elt);
  Attribute zero = FloatAttr::get(elt, 0.0);
  return nc.constant(DenseElementsAttr::get(type, zero));
}

/// RNN, GRU and LSTM (opsets 7 to 22): outputs Y [S, D, B, H] (layout 1:
/// [B, S, D, H]), Y_h and, for LSTM, Y_c [D, B, H] (layout 1: [B, D, H]).
template <CellKind Kind> LogicalResult recurrentOp(NodeContext &nc) {
  FailureOr<Recurrence> r = readRecurrence(nc, Kind);
  if (failed(r))
    return failure();
  FailureOr<RecurrentInputs> in = readInputs(nc, *r);
  if (failed(in))
    return failure();
  RankedTensorType xt = nc.typeOf(in->x);
  Type elt = xt.getElementType();
  int64_t batch = xt.getDimSize(1);
  SmallVector<Value> ys, hs, cs;
  for (int64_t d = 0; d < r->directions; ++d) {
    CellState init{initialState(nc, *r, in->initialH, d, elt, batch),
                   Kind == CellKind::LSTM
                       ? initialState(nc, *r, in->initialC, d, elt, batch)
                       : Value()};
    auto [steps, last] = runDirection(
        nc, *r, d, directionWeights(nc, *r, *in, d), init, in->lens);
    ys.push_back(nc.reshape(stackSteps(nc, steps, 0),
                            {xt.getDimSize(0), 1, batch, r->hidden}));
    hs.push_back(last.h);
    cs.push_back(last.c);
  }
  // Directions meet along axis 1 of Y and axis 0 of the states.
  Value y = ys.size() == 1 ? ys.front()
                           : ConcatOp::create(nc.b, nc.loc,
                                              nc.typeOf(ys.front())
                                                  .clone({xt.getDimSize(0), 2,
                                                          batch, r->hidden}),
                                              ys, nc.b.getI64IntegerAttr(1));
  Value yh = stackSteps(nc, hs, 0);
  Value yc = Kind == CellKind::LSTM ? stackSteps(nc, cs, 0) : Value();
  if (r->batchFirst) {
    y = nc.transpose(y, {2, 0, 1, 3});
    yh = nc.transpose(yh, {1, 0, 2});
    if (yc)
      yc = nc.transpose(yc, {1, 0, 2});
  }
  if (nc.hasOutput(0))
    nc.setOutput(0, y);
  if (nc.hasOutput(1))
    nc.setOutput(1, yh);
  if (yc && nc.hasOutput(2))
    nc.setOutput(2, yc);
  return success();
}

} // namespace

void kiln::onnx_import::registerRecurrentHandlers(HandlerTable &t) {
#define ONNX_RECURRENT_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
