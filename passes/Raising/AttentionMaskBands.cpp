//===- AttentionMaskBands.cpp - Masks of a run-time sequence length -------===//
//
// kiln-raise-attention's mask step when the scores' query or key length is
// only known at run time (a model compiled for a symbolic `seq`). The
// exporter then builds the mask from the sequence length: Range (a
// linalg.generic over linalg.index), Trilu of a tensor.splat of ones,
// compares, Where, Expand (a broadcasting linalg.generic) and reshapes.
// Such a mask cannot be evaluated at compile time, but its value at a
// (query i, key j) pair does not depend on the length: every op computes
// an element from its indices and constants only. This file proves that,
// and computes the value as a function of j - i, symbolically:
//
//  - an integer tensor built from indices is an affine form
//    sum(coefficient[d] * index[d]) + c over its own dimensions;
//  - any other value is a piecewise-constant function of one linear form
//    L = sum(coefficient[d] * index[d]): a list of breakpoints and the
//    value on each piece (Trilu gives one breakpoint on j - i, comparing
//    two affine forms gives one on their difference);
//  - broadcasts and reshapes that add or drop unit dimensions move the
//    coefficients to the result's dimensions; elementwise ops combine
//    functions of the same form piece by piece.
//
// Every term must end as a function of j - i of the scores' last two
// dimensions (or a constant). The pairs it removes are then a union of
// intervals of j - i, and the mask kind follows as for a constant mask:
// one kept interval [-left, right] around the diagonal with no bias is
// causal (left open, right 0), a sliding window, or no mask at all. The
// result holds at every length, which evaluating one length could not
// show. Anything this does not know leaves the terms as the mask operand.
//
// With a KV cache in the graph (keys `concat(past, new)`), Hugging Face's
// mask is `concat(zeros [S, P], causal [S, S])` along the keys: the
// concat is read as its new part, in kiln.attention's frame of queries
// placed after the cache, and the kind is kept only when it also keeps
// every past key (pastConcat, keepsPastKeys).
//
//===----------------------------------------------------------------------===//

#include "Attention.h"
#include "RaisingUtils.h"

#include "kiln/dialects/Kiln/SymbolicDims.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace kiln;
using namespace kiln::attention;
using kiln::raising::scalarConstant;

namespace {

/// A linear form over a tensor's dimensions: one coefficient per dimension.
using Form = SmallVector<int64_t, 4>;

/// A function of L(index) for one linear form L: `values[k]` holds on
/// [breaks[k - 1], breaks[k]) (open at both ends), or a constant when the
/// form is all zeros.
struct Piecewise {
  Form form;
  SmallVector<int64_t> breaks; // ascending
  SmallVector<double> values;  // breaks.size() + 1

  static Piecewise constant(int64_t rank, double v) {
    return {Form(rank, 0), {}, {v}};
  }
  double at(int64_t t) const {
    return values[llvm::upper_bound(breaks, t) - breaks.begin()];
  }
  bool isConstant() const { return llvm::all_of(form, [](int64_t c) {
    return c == 0;
  }); }
};

/// What a value is: an affine form of its indices (integers built from
/// positions), or a piecewise function of one linear form.
struct Symbolic {
  std::optional<std::pair<Form, int64_t>> affine; // (coefficients, constant)
  std::optional<Piecewise> piecewise;
};

bool isZeroForm(const Form &f) {
  return llvm::all_of(f, [](int64_t c) { return c == 0; });
}

Form negated(const Form &f) {
  Form r(f);
  for (int64_t &c : r)
    c = -c;
  return r;
}

/// `p` as a function of -L instead of L.
Piecewise flipped(const Piecewise &p) {
  Piecewise r{negated(p.form), {}, {}};
  // value(t) for -t: a break at b becomes one at -b + 1 (pieces are
  // [b_k, b_{k+1}), so t >= b becomes -t <= -b, i.e. -t < -b + 1).
  for (int64_t b : llvm::reverse(p.breaks))
    r.breaks.push_back(-b + 1);
  r.values.assign(p.values.rbegin(), p.values.rend());
  return r;
}

/// f(values) piece by piece, for functions of one form (up to sign) or
/// constants; nothing when their forms differ. Equal neighbouring pieces
/// are merged, so neighbouring pieces of a result always differ.
std::optional<Piecewise>
combineAll(SmallVector<Piecewise, 3> args,
           function_ref<double(ArrayRef<double>)> f) {
  Form form;
  for (const Piecewise &p : args)
    if (!p.isConstant())
      form = p.form;
  if (form.empty())
    form = args.front().form;
  SmallVector<int64_t> breaks;
  for (Piecewise &p : args) {
    if (p.isConstant())
      p.form = form;
    else if (p.form != form) {
      if (negated(p.form) != form)
        return std::nullopt;
      p = flipped(p);
    }
    llvm::append_range(breaks, p.breaks);
  }
  llvm::sort(breaks);
  breaks.erase(llvm::unique(breaks), breaks.end());
  Piecewise r{form, {}, {}};
  for (size_t k = 0; k <= breaks.size(); ++k) {
    // A point of piece k: the one before its upper break, or the last
    // break for the last piece.
    int64_t t = breaks.empty()            ? 0
                : k < breaks.size() ? breaks[k] - 1
                                    : breaks.back();
    SmallVector<double, 3> at;
    for (const Piecewise &p : args)
      at.push_back(p.at(t));
    double v = f(at);
    if (k > 0 && r.values.back() == v)
      r.breaks.pop_back();
    else
      r.values.push_back(v);
    if (k < breaks.size())
      r.breaks.push_back(breaks[k]);
  }
  return r;
}

std::optional<Piecewise> combine(const Piecewise &a, const Piecewise &b,
                                 function_ref<double(double, double)> f) {
  return combineAll({a, b}, [&](ArrayRef<double> v) { return f(v[0], v[1]); });
}

/// Evaluates values built from positions, memoized.
class BandEvaluator {
public:
  /// `pastKeys` (or null): the past keys `[B, H, P, D]` of an attention
  /// whose keys are `concat(past, new)`; see pastConcat.
  BandEvaluator(func::FuncOp func, Value pastKeys)
      : dims(func), pastKeys(pastKeys) {}
  std::optional<Symbolic> eval(Value v, unsigned depth = 0);
  /// The concats pastConcat read, with the constant of their past part.
  ArrayRef<std::pair<ConcatOp, double>> peeled() const { return peeledConcats; }

private:
  std::optional<Symbolic> pastConcat(ConcatOp concat, RankedTensorType type,
                                     unsigned depth);
  std::optional<Symbolic> evalOp(Operation *op, RankedTensorType type,
                                 unsigned depth);
  std::optional<Symbolic> iota(linalg::GenericOp g);
  std::optional<Symbolic> broadcast(linalg::GenericOp g, unsigned depth);
  std::optional<Symbolic> reshape(Value in, Value result, unsigned depth);
  std::optional<Symbolic> elementwise(Operation *op, RankedTensorType type,
                                      unsigned depth);
  /// Compares reshapes' sizes: `seq` through any number of reshapes.
  SymbolicDims dims;
  Value pastKeys;
  SmallVector<std::pair<ConcatOp, double>> peeledConcats;
  DenseMap<Value, std::optional<Symbolic>> memo;
};

/// The coefficients of `f` (over a tensor of rank `from`) as dimensions of a
/// NumPy-broadcast result of rank `to`, aligned on the right; dimensions of
/// size 1 read index 0, so their coefficients drop.
Form alignForm(const Form &f, ArrayRef<int64_t> shape, int64_t to) {
  Form r(to, 0);
  int64_t off = to - (int64_t)f.size();
  for (size_t d = 0; d < f.size(); ++d)
    if (shape[d] != 1)
      r[off + d] = f[d];
  return r;
}

Symbolic aligned(const Symbolic &s, ArrayRef<int64_t> shape, int64_t to) {
  Symbolic r;
  if (s.affine)
    r.affine = {alignForm(s.affine->first, shape, to), s.affine->second};
  if (s.piecewise) {
    r.piecewise = *s.piecewise;
    r.piecewise->form = alignForm(s.piecewise->form, shape, to);
  }
  return r;
}

/// `s` as a piecewise function (an affine form with no index is a
/// constant); nothing for a true affine form.
std::optional<Piecewise> asPiecewise(const Symbolic &s, int64_t rank) {
  if (s.piecewise)
    return s.piecewise;
  if (s.affine && isZeroForm(s.affine->first))
    return Piecewise::constant(rank, (double)s.affine->second);
  return std::nullopt;
}

/// `s` as an affine form: a constant counts, with no index.
std::optional<std::pair<Form, int64_t>> asAffine(const Symbolic &s,
                                                 int64_t rank) {
  if (s.affine)
    return s.affine;
  if (s.piecewise && s.piecewise->isConstant()) {
    double c = s.piecewise->values[0];
    if (c == std::trunc(c) && std::fabs(c) < 0x1p52)
      return std::make_pair(Form(rank, 0), (int64_t)c);
  }
  return std::nullopt;
}

std::optional<Symbolic> BandEvaluator::eval(Value v, unsigned depth) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || depth > 48)
    return std::nullopt;
  if (auto it = memo.find(v); it != memo.end())
    return it->second;
  std::optional<Symbolic> r;
  if (std::optional<double> c = scalarConstant(v))
    r = Symbolic{std::nullopt, Piecewise::constant(type.getRank(), *c)};
  else if (auto splat = v.getDefiningOp<tensor::SplatOp>()) {
    if (std::optional<double> c = scalarConstant(splat.getInput()))
      r = Symbolic{std::nullopt, Piecewise::constant(type.getRank(), *c)};
  } else if (Operation *op = v.getDefiningOp()) {
    r = evalOp(op, type, depth);
  }
  memo[v] = r;
  return r;
}

/// Range as imported with a run-time length: a generic with no input that
/// yields start + index * step (i64 or index arithmetic on constants).
std::optional<Symbolic> BandEvaluator::iota(linalg::GenericOp g) {
  if (g.getNumDpsInputs() != 0 || g.getNumDpsInits() != 1 ||
      !g.getMatchingIndexingMap(g.getDpsInitOperand(0)).isIdentity())
    return std::nullopt;
  int64_t rank = g.getNumLoops();
  DenseMap<Value, std::pair<Form, int64_t>> forms;
  auto formOf = [&](Value v) -> std::optional<std::pair<Form, int64_t>> {
    if (auto it = forms.find(v); it != forms.end())
      return it->second;
    if (std::optional<double> c = scalarConstant(v))
      return std::make_pair(Form(rank, 0), (int64_t)*c);
    return std::nullopt;
  };
  for (Operation &op : g.getBody()->without_terminator()) {
    std::optional<std::pair<Form, int64_t>> r;
    if (auto index = dyn_cast<linalg::IndexOp>(op)) {
      Form f(rank, 0);
      f[index.getDim()] = 1;
      r = {f, 0};
    } else if (isa<arith::IndexCastOp, arith::ExtSIOp>(op)) {
      r = formOf(op.getOperand(0));
    } else if (isa<arith::AddIOp, arith::SubIOp, arith::MulIOp>(op)) {
      auto a = formOf(op.getOperand(0)), b = formOf(op.getOperand(1));
      if (!a || !b)
        return std::nullopt;
      if (isa<arith::MulIOp>(op)) {
        // One side must be a constant.
        if (!isZeroForm(a->first))
          std::swap(a, b);
        if (!isZeroForm(a->first))
          return std::nullopt;
        for (int64_t &c : b->first)
          c *= a->second;
        r = {b->first, b->second * a->second};
      } else {
        int64_t sign = isa<arith::SubIOp>(op) ? -1 : 1;
        for (auto [x, y] : llvm::zip(a->first, b->first))
          x += sign * y;
        r = {a->first, a->second + sign * b->second};
      }
    } else if (isa<arith::ConstantOp>(op)) {
      continue;
    } else {
      return std::nullopt;
    }
    if (!r)
      return std::nullopt;
    forms[op.getResult(0)] = *r;
  }
  auto yield = cast<linalg::YieldOp>(g.getBody()->getTerminator());
  std::optional<std::pair<Form, int64_t>> out = formOf(yield.getOperand(0));
  if (!out)
    return std::nullopt;
  return Symbolic{out, std::nullopt};
}

/// Expand with a run-time shape: the input's coefficients at the loop
/// dimensions that read them (raising::broadcastInput checked the form).
std::optional<Symbolic> BandEvaluator::broadcast(linalg::GenericOp g,
                                                 unsigned depth) {
  Value in = raising::broadcastInput(g.getResult(0));
  std::optional<Symbolic> s = in ? eval(in, depth + 1) : std::nullopt;
  if (!s)
    return std::nullopt;
  return aligned(*s, cast<RankedTensorType>(in.getType()).getShape(),
                 g.getNumLoops());
}

/// A reshape that only adds or drops unit dimensions: each group of the
/// reassociation holds at most one dimension that is not a static 1.
std::optional<Symbolic> BandEvaluator::reshape(Value in, Value result,
                                               unsigned depth) {
  auto out = cast<RankedTensorType>(result.getType());
  std::optional<Symbolic> s = eval(in, depth + 1);
  auto inType = cast<RankedTensorType>(in.getType());
  if (!s)
    return std::nullopt;
  auto nonUnit = [](ArrayRef<int64_t> shape) {
    SmallVector<int64_t> dims;
    for (auto [d, size] : llvm::enumerate(shape))
      if (size != 1)
        dims.push_back(d);
    return dims;
  };
  SmallVector<int64_t> from = nonUnit(inType.getShape()),
                       to = nonUnit(out.getShape());
  // Pair the dimensions that are not 1 in order, each pair of the same
  // size (compared symbolically: `seq` and `seq`): the element at an
  // index is then the input's element at the same index, the unit
  // dimensions aside, whatever form the reshape has.
  if (from.size() != to.size())
    return std::nullopt;
  for (auto [f, t] : llvm::zip(from, to))
    if (!(dims.sizeOf(in, f) == dims.sizeOf(result, t)))
      return std::nullopt;
  auto move = [&](const Form &form) {
    Form r(out.getRank(), 0);
    for (auto [f, t] : llvm::zip(from, to))
      r[t] = form[f];
    return r;
  };
  Symbolic r;
  if (s->affine)
    r.affine = {move(s->affine->first), s->affine->second};
  if (s->piecewise) {
    r.piecewise = *s->piecewise;
    r.piecewise->form = move(s->piecewise->form);
  }
  return r;
}

/// Ops on elements: arithmetic, compares, selects and logic, with NumPy
/// broadcasting.
std::optional<Symbolic> BandEvaluator::elementwise(Operation *op,
                                                   RankedTensorType type,
                                                   unsigned depth) {
  int64_t rank = type.getRank();
  SmallVector<Symbolic> args;
  for (Value operand : op->getOperands()) {
    std::optional<Symbolic> s = eval(operand, depth + 1);
    if (!s)
      return std::nullopt;
    args.push_back(aligned(
        *s, cast<RankedTensorType>(operand.getType()).getShape(), rank));
  }
  // Integer arithmetic on positions stays affine (iota + 1, iota - k).
  std::optional<std::pair<Form, int64_t>> lhs, rhs;
  bool positions = llvm::any_of(args, [](const Symbolic &s) {
    return s.affine && !isZeroForm(s.affine->first);
  });
  if (positions && isa<AddOp, SubOp, CompareOp>(op)) {
    lhs = asAffine(args[0], rank);
    rhs = asAffine(args[1], rank);
    if (!lhs || !rhs)
      return std::nullopt;
  }
  if (isa<AddOp, SubOp>(op) && lhs) {
    int64_t sign = isa<SubOp>(op) ? -1 : 1;
    Symbolic r{lhs, std::nullopt};
    for (auto [x, y] : llvm::zip(r.affine->first, rhs->first))
      x += sign * y;
    r.affine->second += sign * rhs->second;
    return r;
  }
  if (auto cmp = dyn_cast<CompareOp>(op); cmp && lhs) {
    // lhs - rhs = L + c: the compare holds where L + c <dir> 0.
    Form f = lhs->first;
    for (auto [x, y] : llvm::zip(f, rhs->first))
      x -= y;
    int64_t c = lhs->second - rhs->second;
    Piecewise p{f, {}, {}};
    if (isZeroForm(f)) {
      p.values = {compareHolds(cmp.getDirection(), c < 0 ? -1 : c > 0) ? 1.0
                                                                        : 0.0};
      return Symbolic{std::nullopt, p};
    }
    // t + c is < 0 below -c, 0 at -c, > 0 above: three pieces.
    p.breaks = {-c, -c + 1};
    for (int order : {-1, 0, 1})
      p.values.push_back(compareHolds(cmp.getDirection(), order) ? 1.0 : 0.0);
    return Symbolic{std::nullopt, p};
  }
  SmallVector<Piecewise> pieces;
  for (const Symbolic &s : args) {
    std::optional<Piecewise> p = asPiecewise(s, rank);
    if (!p)
      return std::nullopt;
    pieces.push_back(*p);
  }
  auto binary = [&](function_ref<double(double, double)> f)
      -> std::optional<Symbolic> {
    std::optional<Piecewise> p = combine(pieces[0], pieces[1], f);
    if (!p)
      return std::nullopt;
    return Symbolic{std::nullopt, *p};
  };
  auto unary = [&](function_ref<double(double)> f) -> std::optional<Symbolic> {
    Piecewise p = pieces[0];
    for (double &v : p.values)
      v = f(v);
    return Symbolic{std::nullopt, p};
  };
  return llvm::TypeSwitch<Operation *, std::optional<Symbolic>>(op)
      .Case([&](AddOp) { return binary([](double a, double b) { return a + b; }); })
      .Case([&](SubOp) { return binary([](double a, double b) { return a - b; }); })
      .Case([&](MulOp) { return binary([](double a, double b) { return a * b; }); })
      .Case([&](AndOp) { return binary([](double a, double b) { return (double)(a != 0 && b != 0); }); })
      .Case([&](OrOp) { return binary([](double a, double b) { return (double)(a != 0 || b != 0); }); })
      .Case([&](NotOp) { return unary([](double a) { return (double)(a == 0); }); })
      .Case([&](CompareOp cmp) {
        CompareDirection dir = cmp.getDirection();
        return binary([dir](double a, double b) {
          std::optional<int> order;
          if (!std::isnan(a) && !std::isnan(b))
            order = a < b ? -1 : a > b;
          return compareHolds(dir, order) ? 1.0 : 0.0;
        });
      })
      .Case([&](CastOp cast) {
        bool toBool = getElementTypeOrSelf(cast.getType()).isInteger(1);
        bool toInt = isa<IntegerType>(getElementTypeOrSelf(cast.getType()));
        return unary([=](double a) {
          return toBool ? (double)(a != 0) : toInt ? std::trunc(a) : a;
        });
      })
      .Case([&](SelectOp) -> std::optional<Symbolic> {
        std::optional<Piecewise> v =
            combineAll({pieces[0], pieces[1], pieces[2]},
                       [](ArrayRef<double> x) { return x[0] != 0 ? x[1] : x[2]; });
        if (!v)
          return std::nullopt;
        return Symbolic{std::nullopt, *v};
      })
      .Default([](Operation *) { return std::nullopt; });
}

/// A mask over the keys of an attention with a KV cache, `[.., S, P + T]`,
/// built as Hugging Face builds it: a constant over the P past keys
/// concatenated with a mask over the T new ones along the key axis. It is
/// read as the new part alone, its keys counted from the first new one:
/// that is how kiln.attention places queries after a cache (query i at
/// P + i), so a band of the new part is the attention's band. The past
/// part's constant is recorded for planPositionalBands, which checks that
/// it keeps every past key. The past part must be exactly P wide.
std::optional<Symbolic> BandEvaluator::pastConcat(ConcatOp concat,
                                                  RankedTensorType type,
                                                  unsigned depth) {
  int64_t rank = type.getRank();
  if (!pastKeys || concat.getInputs().size() != 2 ||
      concat.getAxis() != rank - 1)
    return std::nullopt;
  Value past = concat.getInputs()[0], fresh = concat.getInputs()[1];
  if (!(dims.sizeOf(past, rank - 1) == dims.sizeOf(pastKeys, 2)))
    return std::nullopt;
  std::optional<Symbolic> constant = eval(past, depth + 1);
  if (!constant || !constant->piecewise || !constant->piecewise->isConstant())
    return std::nullopt;
  std::optional<Symbolic> s = eval(fresh, depth + 1);
  if (s)
    peeledConcats.push_back({concat, constant->piecewise->values[0]});
  return s;
}

std::optional<Symbolic> BandEvaluator::evalOp(Operation *op,
                                              RankedTensorType type,
                                              unsigned depth) {
  if (auto concat = dyn_cast<ConcatOp>(op))
    return pastConcat(concat, type, depth);
  if (auto trilu = dyn_cast<TriluOp>(op)) {
    // trilu of a constant fill: the fill where j - i >= k (upper) or
    // j - i <= k (lower), 0 elsewhere, over the last two dimensions.
    std::optional<Symbolic> in = eval(trilu.getInput(), depth + 1);
    int64_t rank = type.getRank();
    if (!in || !in->piecewise || !in->piecewise->isConstant() || rank < 2)
      return std::nullopt;
    double fill = in->piecewise->values[0];
    Piecewise p{Form(rank, 0), {}, {}};
    p.form[rank - 2] = -1;
    p.form[rank - 1] = 1;
    int64_t k = trilu.getDiagonal();
    if (trilu.getUpper()) {
      p.breaks = {k};
      p.values = {0, fill};
    } else {
      p.breaks = {k + 1};
      p.values = {fill, 0};
    }
    return Symbolic{std::nullopt, p};
  }
  if (auto g = dyn_cast<linalg::GenericOp>(op)) {
    if (g.getNumDpsInputs() == 0)
      return iota(g);
    return broadcast(g, depth);
  }
  if (isa<BroadcastOp>(op)) {
    Value in = op->getOperand(0);
    std::optional<Symbolic> s = eval(in, depth + 1);
    if (!s)
      return std::nullopt;
    return aligned(*s, cast<RankedTensorType>(in.getType()).getShape(),
                   type.getRank());
  }
  if (raising::reshapeInput(op->getResult(0)))
    return reshape(op->getOperand(0), op->getResult(0), depth);
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
    // Element x of the slice is element offset + x of the source: constant
    // offsets shift the form, unit strides only, no rank change.
    if (!slice.hasUnitStride() ||
        slice.getSourceType().getRank() != type.getRank())
      return std::nullopt;
    std::optional<Symbolic> s = eval(slice.getSource(), depth + 1);
    if (!s)
      return std::nullopt;
    SmallVector<int64_t> offsets;
    for (OpFoldResult o : slice.getMixedOffsets()) {
      std::optional<int64_t> c = getConstantIntValue(o);
      if (!c)
        return std::nullopt;
      offsets.push_back(*c);
    }
    auto shift = [&](const Form &f) {
      int64_t t = 0;
      for (auto [c, o] : llvm::zip(f, offsets))
        t += c * o;
      return t;
    };
    if (s->affine)
      s->affine->second += shift(s->affine->first);
    if (s->piecewise)
      for (int64_t &b : s->piecewise->breaks)
        b -= shift(s->piecewise->form);
    return s;
  }
  if (isa<AddOp, SubOp, MulOp, AndOp, OrOp, NotOp, CompareOp, CastOp,
          SelectOp>(op))
    return elementwise(op, type, depth);
  return std::nullopt;
}

} // namespace

namespace {

/// `v` as a function of d = j - i over its last two dimensions (the
/// scores' query and key axes, broadcast on the right), when it is one:
/// its value depends on nothing else, batch and heads included.
std::optional<Piecewise> onDiagonals(BandEvaluator &evaluator, Value v) {
  int64_t rank = cast<RankedTensorType>(v.getType()).getRank();
  std::optional<Symbolic> s = evaluator.eval(v);
  std::optional<Piecewise> p =
      s ? asPiecewise(*s, rank) : std::optional<Piecewise>();
  if (!p || rank < 2)
    return std::nullopt;
  Form diagonal(rank, 0);
  diagonal[rank - 2] = -1;
  diagonal[rank - 1] = 1;
  if (p->isConstant())
    p->form = diagonal;
  else if (p->form == negated(diagonal))
    p = flipped(*p);
  else if (p->form != diagonal)
    return std::nullopt;
  // Every band shares the form of [.., S, L]'s last two dimensions.
  p->form = {-1, 1};
  return p;
}


/// Whether the bands together are a mask kind; sets it in `plan`.
bool classifyBands(
    ArrayRef<std::pair<const MaskTerm *, Piecewise>> onDiagonals,
    MaskPlan &plan) {
  // Whether each piece of d removes the pair, and the bias it adds.
  std::optional<Piecewise> removed, bias;
  for (const auto &[term, p] : onDiagonals) {
    Piecewise r = p, b = p;
    for (auto [i, x] : llvm::enumerate(p.values)) {
      bool isRemoved = false;
      double add = 0;
      if (std::isnan(x))
        return false;
      switch (term->kind) {
      case MaskTerm::Add:
        if (x == std::numeric_limits<double>::infinity())
          return false;
        isRemoved = x <= kRemovingFill;
        add = isRemoved ? 0 : x;
        break;
      case MaskTerm::Remove:
      case MaskTerm::FillIf:
        isRemoved = x != 0;
        break;
      case MaskTerm::Keep:
      case MaskTerm::FillIfNot:
        isRemoved = x == 0;
        break;
      }
      r.values[i] = isRemoved;
      b.values[i] = add;
    }
    // Combined with a zero constant at first, which merges equal pieces.
    Piecewise none = Piecewise::constant(p.form.size(), 0);
    removed = combine(removed ? *removed : none, r, [](double a, double c) {
      return a + c > 0 ? 1.0 : 0.0;
    });
    bias = combine(bias ? *bias : none, b,
                   [](double a, double c) { return a + c; });
    if (!removed || !bias)
      return false;
  }
  // One kept interval of d that holds the diagonal, unbiased.
  const Piecewise &rm = *removed;
  if (rm.at(0) != 0)
    return false;
  // Unbounded ends of the kept interval.
  constexpr int64_t kBelowAll = std::numeric_limits<int64_t>::min();
  constexpr int64_t kAboveAll = std::numeric_limits<int64_t>::max();
  int64_t lo = kBelowAll, hi = kAboveAll; // kept d in [lo, hi]
  size_t piece = llvm::upper_bound(rm.breaks, 0) - rm.breaks.begin();
  if (piece > 0)
    lo = rm.breaks[piece - 1];
  if (piece < rm.breaks.size())
    hi = rm.breaks[piece] - 1;
  for (size_t k = 0; k < rm.values.size(); ++k)
    if (k != piece && rm.values[k] == 0)
      return false; // a second kept interval (merged pieces differ)
  for (size_t k = 0; k <= bias->breaks.size(); ++k) {
    // Bias on any piece that overlaps [lo, hi] must be 0.
    int64_t from = k ? bias->breaks[k - 1] : kBelowAll;
    int64_t to = k < bias->breaks.size() ? bias->breaks[k] - 1 : kAboveAll;
    if (bias->values[k] != 0 && from <= hi && to >= lo)
      return false;
  }
  plan.setBand(lo == kBelowAll ? std::nullopt : std::optional<int64_t>(-lo),
               hi == kAboveAll ? std::nullopt : std::optional<int64_t>(hi));
  return true;
}

/// Whether a term of `kind` whose value is `x` keeps its pair, unbiased.
bool keepsUnbiased(MaskTerm::Kind kind, double x) {
  switch (kind) {
  case MaskTerm::Add:
  case MaskTerm::Remove:
  case MaskTerm::FillIf:
    return x == 0;
  case MaskTerm::Keep:
  case MaskTerm::FillIfNot:
    return x != 0 && !std::isnan(x);
  }
  return false;
}

/// With a KV cache, the bands were read over the new keys (pastConcat),
/// and the mask kind then decides the past keys too: causal and none keep
/// them all. So the kind stands when it is one of those two, every band
/// that varies was read through a past concat, and each such concat's past
/// part keeps every key without a bias.
bool keepsPastKeys(const BandEvaluator &evaluator,
                   ArrayRef<std::pair<const MaskTerm *, Piecewise>> bands,
                   const MaskPlan &plan) {
  if (plan.kind != MaskKind::Causal && plan.kind != MaskKind::None)
    return false;
  for (const auto &[term, p] : bands) {
    bool overPast = false;
    for (auto [concat, past] : evaluator.peeled()) {
      if (!dependsOn(term->value, concat))
        continue;
      overPast = true;
      if (!keepsUnbiased(term->kind, past))
        return false;
    }
    if (!overPast && !p.breaks.empty())
      return false;
  }
  return true;
}

} // namespace

void kiln::attention::planPositionalBands(ArrayRef<MaskTerm> terms,
                                          MaskPlan &plan, Value pastKeys) {
  if (terms.empty())
    return;
  Value first = terms.front().value;
  auto func = first.getParentRegion()->getParentOfType<func::FuncOp>();
  if (!func) {
    llvm::append_range(plan.operandTerms, terms);
    return;
  }
  BandEvaluator evaluator(func, pastKeys);
  SmallVector<std::pair<const MaskTerm *, Piecewise>> bands;
  for (const MaskTerm &t : terms) {
    if (std::optional<Piecewise> p = onDiagonals(evaluator, t.value))
      bands.push_back({&t, *p});
    else
      plan.operandTerms.push_back(t);
  }
  if (bands.empty())
    return;
  if (!classifyBands(bands, plan) ||
      (pastKeys && !keepsPastKeys(evaluator, bands, plan))) {
    // The terms as they are, over all P + T keys.
    plan.setBand(std::nullopt, std::nullopt);
    for (auto &band : bands)
      plan.operandTerms.push_back(*band.first);
  }
}
