//===- RaiseRope.cpp - The kiln-raise-rope pass ---------------------------===//
//
// Raises rotary position embeddings as Hugging Face-style code writes them
// and torch.onnx.export spells them to kiln.rope:
//
//   half rotation (LLaMA, Mistral, Mixtral, GPT-NeoX):
//     rotate_half(x) = Concat(Neg(x[..., h:]), x[..., :h])
//     y = x * cos + rotate_half(x) * sin
//   (Concat(x[..., h:], Neg(x[..., :h])) is the rotation the other way:
//   kiln.rope with sin negated, exactly)
//   interleaved (GPT-J):
//     rotate_every_two(x) = Reshape(Concat(Unsqueeze(Neg(x[..., 1::2])),
//                                          Unsqueeze(x[..., ::2])))
//     y = x * cos + rotate_every_two(x) * sin
//   partial rotation (GPT-NeoX's rotary_pct, Phi):
//     Concat(rope(x[..., :r]), x[..., r:])
//
// The cos/sin operands are [D]-wide per position, each angle written
// twice (at k and k + D/2, or at 2k and 2k + 1); kiln.rope takes the D/2
// distinct ones. The pass proves the repetition before it keeps half:
// for constant tables by comparing the two copies bit for bit, for
// computed ones by structure (cos(Concat(f, f)) is Concat(cos f, cos f)).
// Tables gathered by position ids (`cos[position_ids]`, or GPT-J's
// `sin, cos = split(table[position_ids])`) become kiln.rope's [P, D/2]
// table with `positions`; negative ids are wrapped as ONNX
// Gather wraps them (kiln.rope itself clamps). With a run-time sequence,
// so does a table's leading rows sliced at run time and gathered by
// run-time ids (`cos_cached[:past + seq][position_ids]`, a decoder exported
// with its KV cache): the whole table, the ids wrapped by the slice's
// rows. Otherwise the caches are [S, D/2] or [B, S, D/2].
//
// The anchor is the rotate_half / rotate_every_two concat. Inputs are
// [B, H, S, D] (cos/sin broadcast over H), [B, S, D] (viewed as one head)
// or GPT-J's [B, S, H, D] (transposed to [B, H, S, D] around the
// kiln.rope: the rotation itself stays one op for later kernels).
//
//===----------------------------------------------------------------------===//

#include "RaisingUtils.h"

#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/passes/Raising/Passes.h"
#include "kiln/passes/Raising/RaisingReport.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstring>

namespace kiln {
#define GEN_PASS_DEF_RAISEROPE
#include "kiln/passes/Raising/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::raising;

namespace {


RankedTensorType tensorType(Value v) {
  return cast<RankedTensorType>(v.getType());
}

/// A slice along the last dimension only: its source and the last
/// dimension's start, step and count.
struct LastDimSlice {
  Value source;
  int64_t start = 0, step = 1, count = 0;
};

std::optional<LastDimSlice> lastDimSlice(Value v, SymbolicDims &dims) {
  if (auto slice = v.getDefiningOp<tensor::ExtractSliceOp>()) {
    // The form a Slice of a tensor with run-time sizes imports as: every
    // dimension but the last taken whole.
    Value in = slice.getSource();
    int64_t rank = slice.getSourceType().getRank();
    if (rank == 0 || slice.getResultType().getRank() != rank)
      return std::nullopt;
    SmallVector<OpFoldResult> offsets = slice.getMixedOffsets(),
                              sizes = slice.getMixedSizes(),
                              strides = slice.getMixedStrides();
    for (int64_t d = 0; d + 1 < rank; ++d)
      if (!isConstantIntValue(offsets[d], 0) ||
          !isConstantIntValue(strides[d], 1) ||
          !isWholeDim(dims, sizes[d], in, d))
        return std::nullopt;
    std::optional<int64_t> start = getConstantIntValue(offsets.back()),
                           step = getConstantIntValue(strides.back()),
                           count = getConstantIntValue(sizes.back());
    if (!start || !step || !count)
      return std::nullopt;
    return LastDimSlice{in, *start, *step, *count};
  }
  auto slice = v.getDefiningOp<SliceOp>();
  if (!slice)
    return std::nullopt;
  RankedTensorType in = tensorType(slice.getInput()), out = slice.getType();
  int64_t rank = in.getRank();
  if (rank == 0)
    return std::nullopt;
  for (int64_t d = 0; d + 1 < rank; ++d)
    if (slice.getStarts()[d] != 0 || slice.getSteps()[d] != 1 ||
        in.getDimSize(d) != out.getDimSize(d))
      return std::nullopt;
  return LastDimSlice{slice.getInput(), slice.getStarts()[rank - 1],
                      slice.getSteps()[rank - 1], out.getDimSize(rank - 1)};
}

/// The shape without its size-1 dimensions.
SmallVector<int64_t> nonUnit(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> r;
  for (int64_t d : shape)
    if (d != 1)
      r.push_back(d);
  return r;
}

/// What the rotation reads and how: `rotated` is rotate_half(input) or
/// rotate_every_two(input).
struct Rotation {
  Value input, rotated;
  bool interleaved = false;
  /// Concat(x2, -x1) instead of Concat(-x2, x1): the rotation the other
  /// way, which is kiln.rope with sin negated.
  bool reversed = false;
};

/// cos/sin as kiln.rope takes them.
struct Cache {
  Value table;
  /// With a [P, D/2] table: the gather's ids, [vb, S] in some shape.
  Value ids;
  int64_t idsBatch = 0;
  /// The rows a negative id wraps by, when they are fewer than the table's
  /// (a table sliced at run time and read whole, see rowsByPositions).
  Value wrapRows;
};

struct RaiseRopePass : kiln::impl::RaiseRopeBase<RaiseRopePass> {
  SmallVector<Operation *> dead;
  /// Halved constant tables and wrapped position ids, shared by the q and
  /// k rotations.
  llvm::DenseMap<std::tuple<Operation *, unsigned, Type>, Value>
      halvedConstants;
  llvm::DenseMap<std::pair<Value, int64_t>, Value> wrappedPositions;
  /// Ops built while resolving one anchor, erased if it is left.
  SmallVector<Operation *> built;
  /// "cos" or "sin": which operand resolve() is working on, for remarks.
  std::string table;
  /// Sizes of the function being raised, compared symbolically.
  std::optional<SymbolicDims> dims;

  std::optional<LastDimSlice> lastDimSlice(Value v) {
    return ::lastDimSlice(v, *dims);
  }

  void runOnOperation() override {
    raising::resolveShapeQueries(getOperation());
    dims.emplace(getOperation());
    SmallVector<ConcatOp> concats;
    getOperation().walk([&](ConcatOp op) { concats.push_back(op); });
    for (ConcatOp c : concats)
      if (!c->use_empty())
        raise(c);
    eraseDeadOps(dead);
    // The size queries the symbolic comparisons made and did not keep.
    raising::resolveShapeQueries(getOperation());
  }

  /// rotate_half: Concat(Neg(A[..., h:2h]), A[..., :h]) on the last axis.
  /// Sets `why` when the concat looks like one but its slices are wrong.
  std::optional<Rotation> matchRotateHalf(ConcatOp c, std::string &why) {
    int64_t rank = c.getType().getRank();
    if (c.getInputs().size() != 2 || c.getAxis() != rank - 1)
      return std::nullopt;
    // Concat(-x2, x1), or Concat(x2, -x1) (reversed).
    Value in0 = c.getInputs()[0], in1 = c.getInputs()[1];
    bool reversed = !in0.getDefiningOp<NegOp>();
    auto neg = (reversed ? in1 : in0).getDefiningOp<NegOp>();
    if (!neg)
      return std::nullopt;
    std::optional<LastDimSlice> second =
        lastDimSlice(reversed ? in0 : neg.getInput());
    std::optional<LastDimSlice> first =
        lastDimSlice(reversed ? neg.getInput() : in1);
    if (!second || !first || second->source != first->source)
      return std::nullopt;
    int64_t d = tensorType(first->source).getShape().back(), h = d / 2;
    if (d % 2 || first->start != 0 || first->step != 1 || first->count != h ||
        second->start != h || second->step != 1 || second->count != h) {
      why = "rotate_half's slices are not the two halves of the last "
            "dimension";
      return std::nullopt;
    }
    return Rotation{first->source, c.getResult(), false, reversed};
  }

  /// rotate_every_two: Reshape(Concat(Reshape(Neg(A[..., 1::2])),
  /// Reshape(A[..., ::2]))) with the concat on a new trailing unit axis.
  std::optional<Rotation> matchRotateEveryTwo(ConcatOp c,
                                                     std::string &why) {
    int64_t rank = c.getType().getRank();
    if (c.getInputs().size() != 2 || c.getAxis() != rank - 1 ||
        c.getType().getShape().back() != 2)
      return std::nullopt;
    auto unsqueezed = [&](Value v) -> Value {
      auto r = v.getDefiningOp<ReshapeOp>();
      if (!r || tensorType(r.getInput()).getRank() != rank - 1 ||
          r.getType().getShape().back() != 1 ||
          r.getType().getShape().drop_back() !=
              tensorType(r.getInput()).getShape())
        return {};
      return r.getInput();
    };
    Value oddNeg = unsqueezed(c.getInputs()[0]);
    Value even = unsqueezed(c.getInputs()[1]);
    auto neg = oddNeg ? oddNeg.getDefiningOp<NegOp>() : NegOp();
    if (!neg || !even)
      return std::nullopt;
    std::optional<LastDimSlice> odd = lastDimSlice(neg.getInput());
    std::optional<LastDimSlice> ev = lastDimSlice(even);
    if (!odd || !ev || odd->source != ev->source)
      return std::nullopt;
    RankedTensorType at = tensorType(ev->source);
    auto flatten = dyn_cast_or_null<ReshapeOp>(soleUser(c.getResult()));
    int64_t d = at.getShape().back(), h = d / 2;
    if (!flatten || flatten.getType() != at || d % 2 || ev->start != 0 ||
        ev->step != 2 || ev->count != h || odd->start != 1 || odd->step != 2 ||
        odd->count != h) {
      why = "the even/odd slices are not interleaved pairs of the last "
            "dimension";
      return std::nullopt;
    }
    return Rotation{ev->source, flatten.getResult(), true};
  }

  void raise(ConcatOp anchor) {
    std::string why;
    std::optional<Rotation> rot = matchRotateHalf(anchor, why);
    if (!rot && why.empty())
      rot = matchRotateEveryTwo(anchor, why);
    if (!rot) {
      if (!why.empty())
        reportLeft(anchor, "rope", why);
      return;
    }
    built.clear();
    if (failed(raise(anchor, *rot, why))) {
      for (Operation *op : llvm::reverse(built))
        op->erase();
      built.clear();
      reportLeft(anchor, "rope", why);
    }
  }

  LogicalResult raise(ConcatOp anchor, const Rotation &rot, std::string &why) {
    Value a = rot.input;
    RankedTensorType at = tensorType(a);
    // x * cos + rotate(x) * sin, any operand order.
    auto other = [](Operation *op, Value v) -> Value {
      if (!op || op->getNumOperands() != 2)
        return {};
      if (op->getOperand(0) == v)
        return op->getOperand(1);
      if (op->getOperand(1) == v)
        return op->getOperand(0);
      return {};
    };
    why = "rotate(x) is not combined as x * cos + rotate(x) * sin";
    Operation *m2 = soleUser(rot.rotated);
    Value sinV = isa_and_nonnull<MulOp>(m2) ? other(m2, rot.rotated) : Value();
    if (!sinV || m2->getResult(0).getType() != at)
      return failure();
    Operation *sum = soleUser(m2->getResult(0));
    Value m1v =
        isa_and_nonnull<AddOp>(sum) ? other(sum, m2->getResult(0)) : Value();
    auto m1 = m1v ? m1v.getDefiningOp<MulOp>() : MulOp();
    if (!m1 || !m1v.hasOneUse() || m1.getType() != at ||
        sum->getResult(0).getType() != at)
      return failure();
    Value cosV = other(m1, a);
    if (!cosV)
      return failure();

    // [B, H, S, R] or [B, S, R] (one head).
    int64_t rank = at.getRank();
    if (rank != 3 && rank != 4) {
      why = "the rotated tensor has rank " + std::to_string(rank) +
            ", not [batch, heads, seq, dim] or [batch, seq, dim]";
      return failure();
    }
    int64_t r = at.getShape().back();

    // The partial form: a = x[..., :r], and the sum is concatenated with
    // x[..., r:].
    Value x = a;
    int64_t rotaryDim = 0;
    Operation *replaced = sum;
    if (std::optional<LastDimSlice> s = lastDimSlice(a))
      if (s->start == 0 && s->step == 1)
        if (auto pass = dyn_cast_or_null<ConcatOp>(soleUser(sum->getResult(0))))
          if (pass.getInputs().size() == 2 && pass.getAxis() == rank - 1 &&
              pass.getInputs()[0] == sum->getResult(0))
            if (std::optional<LastDimSlice> rest =
                    lastDimSlice(pass.getInputs()[1]))
              if (rest->source == s->source && rest->start == r &&
                  rest->step == 1 &&
                  r + rest->count == tensorType(s->source).getShape().back()) {
                x = s->source;
                rotaryDim = r;
                replaced = pass;
              }

    // [B, H, S, D] (cos/sin broadcast over axis 1), or GPT-J's [B, S, H, D]
    // (over axis 2), or [B, S, D].
    int64_t seqAxis = rank - 2;
    if (rank == 4 && tableShape(cosV, at, seqAxis).empty() &&
        !tableShape(cosV, at, 1).empty())
      seqAxis = 1;
    bool seqFirst = rank == 4 && seqAxis == 1;

    OpBuilder b(replaced);
    Location loc = replaced->getLoc();
    FailureOr<Cache> cos =
        resolve(cosV, "cos", b, loc, a, seqAxis, rot.interleaved, why);
    if (failed(cos))
      return failure();
    FailureOr<Cache> sin =
        resolve(sinV, "sin", b, loc, a, seqAxis, rot.interleaved, why);
    if (failed(sin))
      return failure();
    if (cos->ids != sin->ids || cos->table.getType() != sin->table.getType()) {
      why = "cos and sin are not looked up the same way";
      return failure();
    }

    RankedTensorType xt = tensorType(x);
    Value in = x;
    SmallVector<int64_t> swap = {0, 2, 1, 3};
    if (rank == 3) {
      SmallVector<int64_t> shape(xt.getShape());
      shape.insert(shape.begin() + 1, 1);
      in = ReshapeOp::create(b, loc, xt.clone(shape), x);
    } else if (seqFirst) {
      SmallVector<int64_t> shape = {xt.getDimSize(0), xt.getDimSize(2),
                                    xt.getDimSize(1), xt.getDimSize(3)};
      in = TransposeOp::create(b, loc, xt.clone(shape), x,
                               b.getDenseI64ArrayAttr(swap));
    }
    Value positions;
    if (cos->ids && cos->wrapRows)
      positions = wrapNegativeBy(
          positionsFor(cos->ids, cos->idsBatch, xt.getDimSize(0),
                       at.getDimSize(seqAxis), b, loc),
          cos->wrapRows, b, loc);
    else if (cos->ids)
      positions =
          wrapNegative(positionsFor(cos->ids, cos->idsBatch, xt.getDimSize(0),
                                    at.getDimSize(seqAxis), b, loc),
                       tensorType(cos->table).getDimSize(0));
    Value sinTable = sin->table;
    if (rot.reversed)
      sinTable = NegOp::create(b, loc, sinTable);
    Value rope = RopeOp::create(b, loc, in.getType(), in, cos->table, sinTable,
                               positions, b.getBoolAttr(rot.interleaved),
                               b.getI64IntegerAttr(rotaryDim));
    Value out = rope;
    if (rank == 3)
      out = ReshapeOp::create(b, loc, xt, out);
    else if (seqFirst)
      out = TransposeOp::create(b, loc, xt, out, b.getDenseI64ArrayAttr(swap));
    takeProvenance(rope.getDefiningOp(), replaced);
    replaced->getResult(0).replaceAllUsesWith(out);
    dead.push_back(replaced);
    // Some of what was built may have been superseded (see half()).
    dead.append(built.begin(), built.end());
    built.clear();

    std::string detail = rot.interleaved ? "interleaved" : "half rotation";
    if (rot.reversed)
      detail += " the other way (sin negated)";
    if (seqFirst)
      detail += " on [batch, seq, heads, dim]";
    int64_t d = xt.getShape().back();
    detail +=
        rotaryDim
            ? llvm::formatv(", first {0} of {1} features", rotaryDim, d).str()
            : llvm::formatv(", all {0} features", d).str();
    ArrayRef<int64_t> ts = tensorType(cos->table).getShape();
    detail += positions
                  ? ", " + remarkShape(ts) + " tables indexed by positions"
                  : ", cos/sin " + remarkShape(ts);
    reportRaised(anchor, "rope", detail);
    return success();
  }

  /// select(p < 0, p + size, p): ONNX Gather's reading of negative ids.
  /// Not built for constant ids that are all non-negative; built once per
  /// ids, right after them, for all the rotations that read them.
  Value wrapNegative(Value p, int64_t size) {
    DenseIntElementsAttr ids;
    if (matchPattern(p, m_Constant(&ids)) &&
        llvm::all_of(ids.getValues<APInt>(),
                     [](const APInt &v) { return !v.isNegative(); }))
      return p;
    Value &known = wrappedPositions[{p, size}];
    if (known)
      return known;
    OpBuilder b(&getContext());
    if (Operation *def = p.getDefiningOp())
      b.setInsertionPointAfter(def);
    else
      b.setInsertionPointToStart(p.getParentBlock());
    Location loc = p.getLoc();
    RankedTensorType pt = tensorType(p);
    Type elt = pt.getElementType();
    auto scalar = [&](int64_t v) -> Value {
      auto st = RankedTensorType::get({}, elt);
      return arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(st, b.getIntegerAttr(elt, v)));
    };
    Value negative = CompareOp::create(b, loc, pt.clone(b.getI1Type()),
                                       CompareDirection::LT, p, scalar(0));
    Value shifted = AddOp::create(b, loc, pt, p, scalar(size));
    known = SelectOp::create(b, loc, pt, negative, shifted, p);
    return known;
  }

  /// select(p < 0, p + rows, p) for a run-time `rows` (index), at `b`.
  Value wrapNegativeBy(Value p, Value rows, OpBuilder &b, Location loc) {
    RankedTensorType pt = tensorType(p);
    Type elt = pt.getElementType();
    auto scalarType = RankedTensorType::get({}, elt);
    Value zero = build<arith::ConstantOp>(
        b, loc, DenseElementsAttr::get(scalarType, b.getIntegerAttr(elt, 0)));
    Value n = build<tensor::FromElementsOp>(
        b, loc, scalarType,
        ValueRange{build<arith::IndexCastOp>(b, loc, elt, rows)});
    Value negative = build<CompareOp>(b, loc, pt.clone(b.getI1Type()),
                                      CompareDirection::LT, p, zero);
    Value shifted = build<AddOp>(b, loc, pt, p, n);
    return build<SelectOp>(b, loc, pt, negative, shifted, p);
  }

  /// How the cos (or sin) operand `v` broadcasts against the rotated `at`
  /// whose sequence axis is `seqAxis` (the heads axis, if any, is the other
  /// of 1 and 2): [vb, 1, S, R] with vb 1 or B, or empty when it does not.
  static SmallVector<int64_t> tableShape(Value v, RankedTensorType at,
                                         int64_t seqAxis) {
    int64_t rank = at.getRank();
    SmallVector<int64_t> al = alignedShape(v, rank);
    if (al.empty())
      return {};
    SmallVector<int64_t> vs = {al[0], 1, al[seqAxis], al.back()};
    if (rank == 4)
      vs[1] = al[seqAxis == 1 ? 2 : 1];
    int64_t batch = at.getDimSize(0);
    if (vs[3] != at.getShape().back() || vs[2] != at.getDimSize(seqAxis) ||
        vs[1] != 1 || (vs[0] != 1 && vs[0] != batch))
      return {};
    return vs;
  }

  /// Turns the cos (or sin) operand `v`, which broadcasts against the
  /// rotated `[B, H, S, R]` / `[B, S, R]` tensor, into kiln.rope's cache.
  FailureOr<Cache> resolve(Value v, StringRef name, OpBuilder &b, Location loc,
                           Value rotated, int64_t seqAxis, bool interleaved,
                           std::string &why) {
    RankedTensorType at = tensorType(rotated);
    int64_t batch = at.getDimSize(0), seq = at.getDimSize(seqAxis);
    int64_t r = at.getShape().back();
    SmallVector<int64_t> vs = tableShape(v, at, seqAxis);
    if (vs.empty()) {
      why = (name + " " + remarkShape(tensorType(v).getShape()) +
             " is not a [batch or 1, 1, seq, dim] table")
                .str();
      return failure();
    }
    int64_t vb = vs[0];
    Type elt = at.getElementType();
    table = name.str();

    // Gathered by position ids: the table itself and the ids.
    Value w = v;
    while (auto reshape = w.getDefiningOp<ReshapeOp>()) {
      RankedTensorType in = tensorType(reshape.getInput());
      if (nonUnit(in.getShape()) != nonUnit(tensorType(w).getShape()) ||
          in.getShape().back() != r)
        break;
      w = reshape.getInput();
    }
    if (auto gather = w.getDefiningOp<GatherOp>()) {
      std::string rowsWhy;
      if (Value rows = leadingRows(gather, rotated, seqAxis, interleaved, b,
                                   loc, rowsWhy))
        return Cache{rows, Value()};
      if (!rowsWhy.empty()) {
        why = rowsWhy;
        return failure();
      }
      if (ShapedType::isDynamic(seq) && vb == 1 &&
          gather.getData().getType().getShape().back() == r)
        if (std::optional<Cache> rows =
                rowsByPositions(gather, rotated, seqAxis, interleaved, b, loc))
          return *rows;
      if (!ShapedType::isDynamic(seq) && gatherByPositions(gather, vb, seq) &&
          gather.getData().getType().getShape().back() == r) {
        Value table = half(gather.getData(), interleaved, b, loc, why);
        if (!table)
          return failure();
        return Cache{table, gather.getIndices(), vb};
      }
    }

    // Otherwise the values themselves, per sequence position (`w` has the
    // same elements as `v`, without unit-dimension reshapes).
    SmallVector<int64_t> shape = {seq, r / 2};
    if (vb != 1)
      shape.insert(shape.begin(), batch);
    auto tt = RankedTensorType::get(shape, elt);
    if (matchPattern(w, m_Constant())) {
      Value table = halfConstant(w, interleaved, tt, loc, why);
      if (!table)
        return failure();
      return Cache{table, Value()};
    }
    Value table = half(w, interleaved, b, loc, why);
    if (!table)
      return failure();

    // A half that is a window of rows gathered by position ids (GPT-J's
    // `sin, cos = split(table[position_ids])`): that window of the table,
    // indexed by the ids.
    Value core = table;
    while (auto reshape = core.getDefiningOp<ReshapeOp>())
      core = reshape.getInput();
    if (std::optional<LastDimSlice> window = lastDimSlice(core))
      if (auto gather = window->source.getDefiningOp<GatherOp>())
        if (gatherByPositions(gather, vb, seq) && window->step == 1 &&
            window->count == r / 2) {
          Value rows = columns(gather.getData(), window->start, r / 2, b, loc);
          if (rows)
            return Cache{rows, gather.getIndices(), vb};
        }

    if (table.getType() != tt)
      table = build<ReshapeOp>(b, loc, tt, table);
    return Cache{table, Value()};
  }

  /// The slice when `gather` reads rows (axis 0) of a slice of a constant
  /// [P, D] table that keeps its leading rows (sliced at run time) and all
  /// of its columns; null otherwise.
  tensor::ExtractSliceOp tableRowsSlice(GatherOp gather) {
    auto slice = gather.getData().getDefiningOp<tensor::ExtractSliceOp>();
    if (!slice || gather.getAxis() != 0 || !slice.hasUnitStride() ||
        slice.getSourceType().getRank() != 2 ||
        !slice.getSourceType().hasStaticShape() ||
        !matchPattern(slice.getSource(), m_Constant()) ||
        !llvm::all_of(
            slice.getMixedOffsets(),
            [](OpFoldResult o) { return isConstantIntValue(o, 0); }) ||
        !isWholeDim(*dims, slice.getMixedSizes()[1], slice.getSource(), 1))
      return {};
    return slice;
  }

  /// cos_cached[:seq][arange(seq)] as exported with a run-time `seq`: a
  /// gather of the leading rows of a constant [P, D] table (a Slice,
  /// clamped to P) by the positions 0 .. S - 1 of the rotated tensor `at`.
  /// Those are the table's first S rows: the halved table's, sliced at run
  /// time (an S above P is outside the graph's own contract: its Gather
  /// would read past the slice). Null when `gather` is not that form
  /// (with `why` when it is, but the table does not halve).
  Value leadingRows(GatherOp gather, Value rotated, int64_t seqAxis,
                    bool interleaved, OpBuilder &b, Location loc,
                    std::string &why) {
    tensor::ExtractSliceOp slice = tableRowsSlice(gather);
    if (!slice || !isIota(gather.getIndices()))
      return {};
    // As many positions as the rotated tensor has along its sequence.
    Value ids = gather.getIndices();
    ArrayRef<int64_t> idsShape = tensorType(ids).getShape();
    int64_t idsDim =
        llvm::find_if(idsShape, [](int64_t d) { return d != 1; }) -
        idsShape.begin();
    if (idsDim == (int64_t)idsShape.size() ||
        !(dims->sizeOf(ids, idsDim) == dims->sizeOf(rotated, seqAxis)))
      return {};
    RankedTensorType source = slice.getSourceType();
    int64_t half = source.getDimSize(1) / 2;
    Value table = halfConstant(
        slice.getSource(), interleaved,
        source.clone({source.getDimSize(0), half}), loc, why);
    if (!table)
      return {};
    Value seq = build<tensor::DimOp>(b, loc, rotated, seqAxis);
    return build<tensor::ExtractSliceOp>(
        b, loc, table,
        SmallVector<OpFoldResult>(2, b.getIndexAttr(0)),
        SmallVector<OpFoldResult>{seq, b.getIndexAttr(half)},
        SmallVector<OpFoldResult>(2, b.getIndexAttr(1)));
  }

  /// cos_cached[:past + seq][position_ids] as exported with a KV cache
  /// (Hugging Face's decoders with past_key_values): the leading rows of a
  /// constant [P, D] table, sliced at run time, gathered by run-time
  /// position ids [1, S] (S the rotated tensor's sequence). kiln.rope reads
  /// the whole halved table by those ids: the rows the slice keeps are the
  /// table's own, and a negative id wraps by the slice's rows as the
  /// Gather's would.
  std::optional<Cache> rowsByPositions(GatherOp gather, Value rotated,
                                       int64_t seqAxis, bool interleaved,
                                       OpBuilder &b, Location loc) {
    tensor::ExtractSliceOp slice = tableRowsSlice(gather);
    if (!slice)
      return std::nullopt;
    Value ids = gather.getIndices();
    ArrayRef<int64_t> idsShape = tensorType(ids).getShape();
    SmallVector<int64_t> idsDims;
    for (auto [d, size] : llvm::enumerate(idsShape))
      if (size != 1)
        idsDims.push_back(d);
    if (idsDims.size() != 1 ||
        !(dims->sizeOf(ids, idsDims[0]) == dims->sizeOf(rotated, seqAxis)))
      return std::nullopt;
    RankedTensorType source = slice.getSourceType();
    std::string why;
    Value table = halfConstant(
        slice.getSource(), interleaved,
        source.clone({source.getDimSize(0), source.getDimSize(1) / 2}), loc,
        why);
    if (!table)
      return std::nullopt;
    Value rows = build<tensor::DimOp>(b, loc, slice.getResult(), int64_t(0));
    return Cache{table, ids, 1, rows};
  }

  /// Whether `gather` reads rows of a [P, D] table by [vb, S] position ids.
  static bool gatherByPositions(GatherOp gather, int64_t vb, int64_t seq) {
    RankedTensorType dt = gather.getData().getType();
    RankedTensorType it = gather.getIndices().getType();
    return gather.getAxis() == 0 && dt.getRank() == 2 &&
           it.getNumElements() == vb * seq &&
           nonUnit(it.getShape()) == nonUnit({vb, seq});
  }

  /// Gather ids holding [vb, S] positions as kiln.rope's [B, S] positions.
  Value positionsFor(Value ids, int64_t vb, int64_t batch, int64_t seq,
                     OpBuilder &b, Location loc) {
    RankedTensorType it = tensorType(ids);
    if (it.getShape() != ArrayRef<int64_t>{vb, seq})
      ids = build<ReshapeOp>(b, loc, it.clone({vb, seq}), ids);
    if (vb != batch)
      ids = build<BroadcastOp>(b, loc, it.clone({batch, seq}), ids);
    return ids;
  }

  /// Columns [start, start + count) of the [P, D] `table`: a new constant
  /// when it is one, a slice otherwise.
  Value columns(Value table, int64_t start, int64_t count, OpBuilder &b,
                Location loc) {
    RankedTensorType tt = tensorType(table);
    int64_t rows = tt.getDimSize(0), width = tt.getDimSize(1);
    auto type = tt.clone({rows, count});
    if (matchPattern(table, m_Constant())) {
      std::optional<std::vector<char>> bytes = constantBytes(table);
      if (!bytes)
        return {};
      size_t w = tt.getElementTypeBitWidth() / 8;
      std::vector<char> out(rows * count * w);
      for (int64_t i = 0; i < rows; ++i)
        std::memcpy(out.data() + i * count * w,
                    bytes->data() + (i * width + start) * w, count * w);
      Block &entry = getOperation().getBody().front();
      OpBuilder top(&entry, entry.begin());
      Value c = createConstant(top, loc, type, out, "rope_table");
      built.push_back(c.getDefiningOp());
      return c;
    }
    return build<SliceOp>(b, loc, type, table,
                          b.getDenseI64ArrayAttr({0, start}),
                          b.getDenseI64ArrayAttr({1, 1}));
  }

  template <typename OpTy, typename... Args>
  Value build(OpBuilder &b, Location loc, Args &&...args) {
    auto op = OpTy::create(b, loc, std::forward<Args>(args)...);
    built.push_back(op);
    return op->getResult(0);
  }

  /// An op of `like`'s kind (without its attributes) on `operands`, of
  /// type `type`.
  Value buildLike(Operation *like, ValueRange operands, Type type, OpBuilder &b,
                  Location loc) {
    OperationState state(loc, like->getName());
    state.addOperands(operands);
    state.addTypes(type);
    Operation *op = b.create(state);
    built.push_back(op);
    return op->getResult(0);
  }

  /// `v` ([..., R], each angle twice) with one copy of each angle
  /// ([..., R/2]): entries k (or 2k when interleaved). Null, with `why`,
  /// when the repetition cannot be shown.
  Value half(Value v, bool il, OpBuilder &b, Location loc, std::string &why,
             int depth = 0) {
    RankedTensorType t = tensorType(v);
    int64_t rank = t.getRank();
    auto fail = [&](const std::string &reason) -> Value {
      why = reason;
      return {};
    };
    if (rank == 0 || t.getShape().back() % 2 || depth > 12)
      return fail("the " + table +
                  " values do not pair up along the last "
                  "axis");
    SmallVector<int64_t> hs(t.getShape());
    hs.back() /= 2;
    RankedTensorType ht = t.clone(hs);
    Operation *def = v.getDefiningOp();
    auto sub = [&](Value in) { return half(in, il, b, loc, why, depth + 1); };

    if (matchPattern(v, m_Constant()))
      return halfConstant(v, il, ht, loc, why);
    if (!def)
      return fail("the " + table +
                  " values come from an input of the "
                  "graph: their repetition cannot be checked");
    if (isa<CosOp, SinOp, NegOp, CastOp>(def)) {
      Value in = sub(def->getOperand(0));
      if (!in)
        return {};
      if (isa<CastOp>(def))
        return build<CastOp>(b, loc, ht, in);
      return buildLike(def, in, ht, b, loc);
    }
    if (auto concat = dyn_cast<ConcatOp>(def)) {
      if (!il && concat.getInputs().size() == 2 &&
          concat.getAxis() == rank - 1 &&
          concat.getInputs()[0] == concat.getInputs()[1])
        return concat.getInputs()[0];
      // Interleaved pairs never straddle pieces of even width: the half is
      // the concat of the pieces' halves. torch's repeat_interleave exports
      // one piece per angle, each a unit slice of the same tensor.
      if (il && concat.getAxis() == rank - 1 &&
          llvm::all_of(concat.getInputs(), [](Value in) {
            return tensorType(in).getShape().back() % 2 == 0;
          })) {
        SmallVector<Value> halves;
        for (Value in : concat.getInputs()) {
          Value h = sub(in);
          if (!h)
            return {};
          halves.push_back(h);
        }
        if (Value whole = rejoin(halves, ht, b))
          return whole;
        return build<ConcatOp>(b, loc, ht, halves, concat.getAxisAttr());
      }
    }
    if (auto reshape = dyn_cast<ReshapeOp>(def)) {
      RankedTensorType in = tensorType(reshape.getInput());
      if (in.getShape().back() == t.getShape().back()) {
        Value h = sub(reshape.getInput());
        return h ? build<ReshapeOp>(b, loc, ht, h) : Value();
      }
      // GPT-J's duplicate_interleave: [..., R/2, 1] repeated to
      // [..., R/2, 2] (Concat or Expand), then flattened.
      if (il && in.getShape().back() == 2 && in.getRank() >= 2 &&
          in.getShape()[in.getRank() - 2] * 2 == t.getShape().back()) {
        Value once;
        if (auto c = reshape.getInput().getDefiningOp<ConcatOp>())
          if (c.getInputs().size() == 2 && c.getAxis() == in.getRank() - 1 &&
              c.getInputs()[0] == c.getInputs()[1])
            once = c.getInputs()[0];
        if (auto bc = reshape.getInput().getDefiningOp<BroadcastOp>())
          if (tensorType(bc.getInput()).getShape().back() == 1)
            once = bc.getInput();
        if (once)
          return build<ReshapeOp>(b, loc, ht, once);
      }
    }
    if (auto gather = dyn_cast<GatherOp>(def))
      if (gather.getAxis() != gather.getData().getType().getRank() - 1) {
        Value h = sub(gather.getData());
        return h ? build<GatherOp>(b, loc, ht, h, gather.getIndices(),
                                   gather.getAxisAttr())
                 : Value();
      }
    if (auto slice = dyn_cast<SliceOp>(def))
      if (slice.getStarts().back() == 0 && slice.getSteps().back() == 1 &&
          tensorType(slice.getInput()).getShape().back() ==
              t.getShape().back()) {
        Value h = sub(slice.getInput());
        return h ? build<SliceOp>(b, loc, ht, h, slice.getStartsAttr(),
                                  slice.getStepsAttr())
                 : Value();
      }
    if (auto tr = dyn_cast<TransposeOp>(def))
      if (tr.getPermutation().back() == rank - 1) {
        Value h = sub(tr.getInput());
        return h ? build<TransposeOp>(b, loc, ht, h, tr.getPermutationAttr())
                 : Value();
      }
    if (auto bc = dyn_cast<BroadcastOp>(def)) {
      RankedTensorType in = tensorType(bc.getInput());
      if (in.getRank() > 0 && in.getShape().back() == t.getShape().back()) {
        Value h = sub(bc.getInput());
        return h ? build<BroadcastOp>(b, loc, ht, h) : Value();
      }
      // One value stretched along the last axis: every pair is equal.
      if (in.getRank() > 0 && in.getShape().back() == 1)
        return in == ht ? bc.getInput()
                        : build<BroadcastOp>(b, loc, ht, bc.getInput());
    }
    // Elementwise arithmetic (e.g. HF's `cos * attention_scaling`): operands
    // constant along the last axis stay, the others are halved.
    if (isa<AddOp, SubOp, MulOp, DivOp>(def)) {
      SmallVector<Value> operands;
      for (Value operand : def->getOperands()) {
        RankedTensorType ot = tensorType(operand);
        if (ot.getRank() == 0 || ot.getShape().back() == 1) {
          operands.push_back(operand);
          continue;
        }
        Value h = sub(operand);
        if (!h)
          return {};
        operands.push_back(h);
      }
      return buildLike(def, operands, ht, b, loc);
    }
    return fail(
        llvm::formatv("cannot show that the {0} values repeat each angle "
                      "(they come from kiln.{1})",
                      table, def->getName().stripDialect())
            .str());
  }

  /// The source `t` when `pieces` are (reshapes of) consecutive slices
  /// t[..., 0:1], t[..., 1:2], ... covering t's last axis (what
  /// repeat_interleave's export leaves once each pair is halved), as `ht`;
  /// null otherwise.
  Value rejoin(ArrayRef<Value> pieces, RankedTensorType ht, OpBuilder &b) {
    Value source;
    int64_t next = 0;
    for (Value p : pieces) {
      // Reshapes keep the element order, so any chain of them will do.
      while (auto reshape = p.getDefiningOp<ReshapeOp>())
        p = reshape.getInput();
      std::optional<LastDimSlice> s = lastDimSlice(p);
      if (!s || s->step != 1 || s->start != next ||
          (source && s->source != source))
        return {};
      source = s->source;
      next += s->count;
    }
    RankedTensorType st = tensorType(source);
    if (next != st.getShape().back() ||
        st.getNumElements() != ht.getNumElements() ||
        nonUnit(st.getShape()) != nonUnit(ht.getShape()))
      return {};
    if (st == ht)
      return source;
    return build<ReshapeOp>(b, source.getLoc(), ht, source);
  }

  /// A constant table's first copy of each angle, after checking bit for bit
  /// that the second copy equals it, as a constant of type `ht` (the same
  /// elements, maybe without unit dimensions).
  Value halfConstant(Value v, bool il, RankedTensorType ht, Location loc,
                     std::string &why) {
    auto key = std::make_tuple(v.getDefiningOp(), (unsigned)il, Type(ht));
    if (Value known = halvedConstants.lookup(key))
      return known;
    std::optional<std::vector<char>> bytes = constantBytes(v);
    if (!bytes) {
      why = "the " + table + " table is a constant of an unsupported type";
      return {};
    }
    RankedTensorType t = tensorType(v);
    size_t width = t.getElementTypeBitWidth() / 8;
    int64_t row = t.getShape().back(), h = row / 2;
    int64_t rows = t.getNumElements() / row;
    std::vector<char> out(rows * h * width);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t k = 0; k < h; ++k) {
        const char *base = bytes->data() + i * row * width;
        const char *first = base + (il ? 2 * k : k) * width;
        const char *second = base + (il ? 2 * k + 1 : k + h) * width;
        if (std::memcmp(first, second, width)) {
          why = "the " + table + " table's " +
                (il ? "even and odd entries differ" : "two halves differ");
          return {};
        }
        std::memcpy(out.data() + (i * h + k) * width, first, width);
      }
    // At the top of the function, so q and k rotations anywhere share it.
    Block &entry = getOperation().getBody().front();
    OpBuilder top(&entry, entry.begin());
    Value c = createConstant(top, loc, ht, out, "rope_table");
    halvedConstants[key] = c;
    dead.push_back(c.getDefiningOp()); // in case no rotation keeps it
    return c;
  }
};

} // namespace
