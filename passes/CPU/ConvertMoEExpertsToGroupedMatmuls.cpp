//===- ConvertMoEExpertsToGroupedMatmuls.cpp - MoE as grouped GEMMs -------===//
//
// The reference lowering of kiln.moe_experts runs each routed (token,
// choice) through its expert as matrix-vector products: every assignment
// streams the expert's whole weights, which is right for one token and
// far from it for a prompt. Here each expert instead gathers the tokens
// routed to it and runs them through its FFN in blocks of `rows` tokens,
// as matrix products over weights packed into column panels at compile
// time (PanelPacking.h), which kiln-cpu-vectorize-contractions turns into
// register-blocked, threaded code:
//
//   for e in experts:
//     slots = the (token, choice) pairs routed to e, in token order; n of them
//     for each block of `rows` slots:
//       X = the block's token rows (rows past n read as zero)
//       A = act(X Wg[e]^T + bg[e], X Wu[e]^T + bu[e])
//       O = A Wd[e]^T + bd[e]
//       y[token] += weight(token, choice) * O[row], for the block's slots
//
// Only experts whose weights are constants (packed once, here) and whose
// F and H are multiples of the panel width are converted; the others keep
// the reference lowering.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/CPU/Passes.h"

#include "KernelRewrites.h"
#include "PanelPacking.h"

#include "kiln/dialects/Kiln/KilnConstants.h"
#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"

namespace kiln {
#define GEN_PASS_DEF_CONVERTMOEEXPERTSTOGROUPEDMATMULS
#include "kiln/passes/CPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// One expert weight tensor [E, N, K] (PyTorch's layout: each expert's
/// matrix maps K inputs to N outputs) as a constant of panels
/// [E, N / P, K, P], or a null value when it is not a packable constant.
Value packExpertWeights(RewriterBase &rewriter, Value weights,
                        int64_t panelWidth) {
  ElementsAttr attr = constantElements(weights);
  if (!attr || !isa<FloatType>(attr.getElementType()))
    return {};
  auto type = cast<RankedTensorType>(weights.getType());
  int64_t experts = type.getDimSize(0), n = type.getDimSize(1),
          k = type.getDimSize(2);
  std::optional<AsmResourceBlob> packed = packColumnPanels(
      attr, {experts, k, n, /*transposed=*/true}, panelWidth);
  if (!packed)
    return {};
  auto packedType = RankedTensorType::get(
      {experts, n / panelWidth, k, panelWidth}, attr.getElementType());
  return arith::ConstantOp::create(
      rewriter, weights.getLoc(),
      cast<TypedAttr>(makeConstantAttr(packedType, std::move(*packed), "expert_panels")));
}

/// Expert `e`'s panels [N / P, K, P] out of [E, N / P, K, P].
Value expertPanels(OpBuilder &b, Location loc, Value packed, Value e) {
  auto type = cast<RankedTensorType>(packed.getType());
  auto sliceType = RankedTensorType::get(type.getShape().drop_front(),
                                         type.getElementType());
  SmallVector<OpFoldResult> offsets(4, b.getIndexAttr(0));
  offsets[0] = e;
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1)};
  for (int64_t d : sliceType.getShape())
    sizes.push_back(b.getIndexAttr(d));
  return tensor::ExtractSliceOp::create(b, loc, sliceType, packed, offsets,
                                        sizes,
                                        SmallVector<OpFoldResult>(4, b.getIndexAttr(1)));
}

/// What one expert's block computation reads.
struct GroupedExperts {
  MoEExpertsOp op;
  Value input, experts, routeWeights;
  Value gate, up, down;             // packed panels
  Value gateBias, upBias, downBias; // [E, F] / [E, H] or null
  int64_t rows, choices;
};

/// [rows, H]: the input rows of slots base .. base + rows - 1 (zero past n).
Value gatherBlock(OpBuilder &b, Location loc, const GroupedExperts &g,
                  Value slots, Value base, Value n) {
  auto inputType = cast<RankedTensorType>(g.input.getType());
  Type elt = inputType.getElementType();
  auto blockType = RankedTensorType::get({g.rows, inputType.getDimSize(1)}, elt);
  Value empty = tensor::EmptyOp::create(b, loc, blockType.getShape(), elt);
  AffineMap identity = b.getMultiDimIdentityMap(2);
  return linalg::GenericOp::create(
             b, loc, TypeRange{blockType}, ValueRange{}, ValueRange{empty},
             ArrayRef<AffineMap>{identity},
             SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location l, ValueRange) {
               Value row = linalg::IndexOp::create(nb, l, 0);
               Value col = linalg::IndexOp::create(nb, l, 1);
               Value slot = arith::AddIOp::create(nb, l, base, row);
               Value valid = arith::CmpIOp::create(
                   nb, l, arith::CmpIPredicate::ult, slot, n);
               Value zeroIndex = arith::ConstantIndexOp::create(nb, l, 0);
               Value safe =
                   arith::SelectOp::create(nb, l, valid, slot, zeroIndex);
               Value pair = tensor::ExtractOp::create(nb, l, slots, safe);
               Value choices =
                   arith::ConstantIndexOp::create(nb, l, g.choices);
               Value token = arith::DivUIOp::create(nb, l, pair, choices);
               Value x = tensor::ExtractOp::create(nb, l, g.input,
                                                   ValueRange{token, col});
               Value zero = scalarConstant(nb, l, elt, 0);
               linalg::YieldOp::create(
                   nb, l,
                   ValueRange{arith::SelectOp::create(nb, l, valid, x, zero)});
             })
      .getResult(0);
}

/// y[token] += routing weight * out[row] for each slot of the block.
Value scatterAddBlock(OpBuilder &b, Location loc, const GroupedExperts &g,
                      Value y, Value out, Value slots, Value base, Value n) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value left = arith::SubIOp::create(b, loc, n, base);
  Value count = arith::MinUIOp::create(
      b, loc, left, arith::ConstantIndexOp::create(b, loc, g.rows));
  auto loop = scf::ForOp::create(
      b, loc, zero, count, one, ValueRange{y},
      [&](OpBuilder &lb, Location l, Value row, ValueRange iter) {
        Value acc = iter[0];
        Value slot = arith::AddIOp::create(lb, l, base, row);
        Value pair = tensor::ExtractOp::create(lb, l, slots, slot);
        Value choices = arith::ConstantIndexOp::create(lb, l, g.choices);
        Value token = arith::DivUIOp::create(lb, l, pair, choices);
        Value choice = arith::RemUIOp::create(lb, l, pair, choices);
        Value weight = tensor::ExtractOp::create(lb, l, g.routeWeights,
                                                 ValueRange{token, choice});
        Value current = extractRow(lb, l, acc, token);
        Value next = buildElementwise(
            lb, l, cast<RankedTensorType>(current.getType()),
            ValueRange{current, extractRow(lb, l, out, row)},
            [&](OpBuilder &nb, Location nl, ValueRange s) -> Value {
              return arith::AddFOp::create(
                  nb, nl, s[0], arith::MulFOp::create(nb, nl, weight, s[1]));
            });
        auto accType = cast<RankedTensorType>(acc.getType());
        Value updated = tensor::InsertSliceOp::create(
            lb, l, next, acc, SmallVector<OpFoldResult>{token, lb.getIndexAttr(0)},
            SmallVector<OpFoldResult>{lb.getIndexAttr(1),
                                      lb.getIndexAttr(accType.getDimSize(1))},
            SmallVector<OpFoldResult>(2, lb.getIndexAttr(1)));
        scf::YieldOp::create(lb, l, updated);
      });
  return loop.getResult(0);
}

/// One block of expert `e`'s tokens through its FFN, added into `y`.
Value expertBlock(OpBuilder &b, Location loc, const GroupedExperts &g,
                  Value e, Value y, Value slots, Value base, Value n) {
  Type elt = cast<RankedTensorType>(y.getType()).getElementType();
  auto zeros = [&](Value panels) {
    auto t = cast<RankedTensorType>(panels.getType());
    auto type = RankedTensorType::get(
        {g.rows, t.getDimSize(0) * t.getDimSize(2)}, elt);
    return filledTensor(b, loc, type, scalarConstant(b, loc, elt, 0));
  };
  auto project = [&](Value x, Value packed, Value bias) {
    Value panels = expertPanels(b, loc, packed, e);
    return addExpertBias(
        b, loc, buildPanelMatmul(b, loc, x, panels, zeros(panels)), bias, e);
  };
  Value x = gatherBlock(b, loc, g, slots, base, n);
  SmallVector<Value> projections = {project(x, g.gate, g.gateBias)};
  if (g.up)
    projections.push_back(project(x, g.up, g.upBias));
  Value activated = buildExpertActivation(b, loc, g.op, projections);
  Value out = project(activated, g.down, g.downBias);
  return scatterAddBlock(b, loc, g, y, out, slots, base, n);
}

/// The slots routed to expert `e` (their indices token * choices + choice,
/// in order, at the front of a [T * choices] tensor) and how many.
std::pair<Value, Value> routedSlots(OpBuilder &b, Location loc,
                                    const GroupedExperts &g, Value e) {
  auto expertsType = cast<RankedTensorType>(g.experts.getType());
  // T * choices slots; T is known at run time only with symbolic sizes.
  OpFoldResult pairs =
      expertsType.isDynamicDim(0)
          ? OpFoldResult(arith::MulIOp::create(
                b, loc, tensor::DimOp::create(b, loc, g.experts, 0),
                arith::ConstantIndexOp::create(b, loc, g.choices)))
          : OpFoldResult(b.getIndexAttr(expertsType.getDimSize(0) * g.choices));
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value slots = fillTensor(
      b, loc, tensor::EmptyOp::create(b, loc, pairs, b.getIndexType()), zero);
  Value expert = arith::IndexCastOp::create(b, loc, expertsType.getElementType(), e);
  auto loop = scf::ForOp::create(
      b, loc, zero, getValueOrCreateConstantIndexOp(b, loc, pairs), one,
      ValueRange{slots, zero},
      [&](OpBuilder &lb, Location l, Value pair, ValueRange iter) {
        Value choices = arith::ConstantIndexOp::create(lb, l, g.choices);
        Value token = arith::DivUIOp::create(lb, l, pair, choices);
        Value choice = arith::RemUIOp::create(lb, l, pair, choices);
        Value routed = tensor::ExtractOp::create(lb, l, g.experts,
                                                 ValueRange{token, choice});
        Value hit = arith::CmpIOp::create(lb, l, arith::CmpIPredicate::eq,
                                          routed, expert);
        // Written unconditionally: the count only moves on a hit, and it
        // never passes `pair`, so the slot is always in bounds.
        Value written = tensor::InsertOp::create(lb, l, pair, iter[0],
                                                 ValueRange{iter[1]});
        Value next = arith::AddIOp::create(
            lb, l, iter[1], arith::SelectOp::create(lb, l, hit, one, zero));
        scf::YieldOp::create(lb, l, ValueRange{written, next});
      });
  return {loop.getResult(0), loop.getResult(1)};
}

LogicalResult groupExperts(RewriterBase &rewriter, MoEExpertsOp op,
                           int64_t rows, int64_t panelWidth) {
  RankedTensorType type = op.getType();
  int64_t hidden = type.getDimSize(1);
  int64_t ffn = op.getWGate().getType().getDimSize(1);
  // The token count may be dynamic (symbolic batch and sequence sizes):
  // only the result and the slot list are sized by it; blocks are `rows`
  // tokens whatever it is.
  if (!isa<FloatType>(type.getElementType()) || type.isDynamicDim(1) ||
      op.getExperts().getType().isDynamicDim(1) || hidden % panelWidth != 0 ||
      ffn % panelWidth != 0)
    return failure();
  rewriter.setInsertionPoint(op);
  GroupedExperts g;
  g.op = op;
  g.input = op.getInput();
  g.experts = op.getExperts();
  g.routeWeights = op.getWeights();
  g.gateBias = op.getBGate();
  g.upBias = op.getBUp();
  g.downBias = op.getBDown();
  g.rows = rows;
  g.choices = op.getExperts().getType().getDimSize(1);
  g.gate = packExpertWeights(rewriter, op.getWGate(), panelWidth);
  g.down = packExpertWeights(rewriter, op.getWDown(), panelWidth);
  if (op.getWUp())
    g.up = packExpertWeights(rewriter, op.getWUp(), panelWidth);
  if (!g.gate || !g.down || (op.getWUp() && !g.up)) {
    for (Value packed : {g.gate, g.up, g.down})
      if (packed)
        rewriter.eraseOp(packed.getDefiningOp());
    return failure();
  }

  Location loc = op.getLoc();
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  int64_t experts = op.getWGate().getType().getDimSize(0);
  // [T, H] zeros, T from the input when it is dynamic (moe_experts reifies
  // its result shape, so this does not fail).
  FailureOr<Value> result = emptyTensorFor(rewriter, loc, op, 0);
  if (failed(result))
    return op.emitError("cannot size the grouped experts' result");
  Value y = fillTensor(rewriter, loc, *result,
                       scalarConstant(rewriter, loc, type.getElementType(), 0));
  auto perExpert = scf::ForOp::create(
      rewriter, loc, zero, arith::ConstantIndexOp::create(rewriter, loc, experts),
      one, ValueRange{y},
      [&](OpBuilder &b, Location l, Value e, ValueRange iter) {
        auto [slots, n] = routedSlots(b, l, g, e);
        Value blocks = arith::CeilDivUIOp::create(
            b, l, n, arith::ConstantIndexOp::create(b, l, rows));
        auto perBlock = scf::ForOp::create(
            b, l, zero, blocks, one, ValueRange{iter[0]},
            [&](OpBuilder &bb, Location bl, Value block, ValueRange acc) {
              Value base = arith::MulIOp::create(
                  bb, bl, block, arith::ConstantIndexOp::create(bb, bl, rows));
              scf::YieldOp::create(
                  bb, bl, expertBlock(bb, bl, g, e, acc[0], slots, base, n));
            });
        scf::YieldOp::create(b, l, perBlock.getResult(0));
      });
  // The float weights are dead once packed (unless something else reads
  // them, then they stay).
  return finishKernelRewrite(rewriter, op, perExpert.getResult(0),
                             {op.getWGate(), op.getWUp(), op.getWDown()});
}

struct ConvertMoEExpertsToGroupedMatmulsPass
    : kiln::impl::ConvertMoEExpertsToGroupedMatmulsBase<
          ConvertMoEExpertsToGroupedMatmulsPass> {
  using Base::Base;

  void runOnOperation() override {
    auto group = [&](RewriterBase &rewriter, MoEExpertsOp op) {
      return groupExperts(rewriter, op, rows, panelWidth);
    };
    if (failed(rewriteEachOp<MoEExpertsOp>(
            getOperation(), "rows and panel-width", {rows, panelWidth}, group)))
      signalPassFailure();
  }
};

} // namespace
