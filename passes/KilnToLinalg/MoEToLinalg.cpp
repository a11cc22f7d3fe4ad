//===- MoEToLinalg.cpp - kiln.moe_experts to loops over routed tokens
//-------===//
//
// The reference lowering computes only what is routed: an scf.for nest over
// (token, choice) carries the output; for each assignment that survived
// routing it slices the chosen expert's weights and runs the token through
// that expert's FFN as matrix-vector products. Experts that receive no token
// cost nothing. Batching an expert's tokens into one matmul is the job of
// the optimized kernels that come later.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "kiln/dialects/Kiln/KilnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace kiln;

namespace {

/// `m` [rows, cols] times `v` [cols] -> [rows].
Value matvec(OpBuilder &b, Location loc, Value m, Value v) {
  auto mt = cast<RankedTensorType>(m.getType());
  MLIRContext *ctx = b.getContext();
  auto outType = RankedTensorType::get({mt.getDimSize(0)}, mt.getElementType());
  Value init = filledTensor(b, loc, outType,
                            scalarConstant(b, loc, mt.getElementType(), 0));
  AffineExpr r = getAffineDimExpr(0, ctx), c = getAffineDimExpr(1, ctx);
  SmallVector<AffineMap> maps = {AffineMap::get(2, 0, {r, c}, ctx),
                                 AffineMap::get(2, 0, {c}, ctx),
                                 AffineMap::get(2, 0, {r}, ctx)};
  return linalg::GenericOp::create(
             b, loc, outType, ValueRange{m, v}, init, maps,
             {utils::IteratorType::parallel, utils::IteratorType::reduction},
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value p = arith::MulFOp::create(nb, l, args[0], args[1]);
               linalg::YieldOp::create(
                   nb, l, ValueRange{arith::AddFOp::create(nb, l, args[2], p)});
             })
      .getResult(0);
}

/// Expert `e`'s matrix from `[E, R, C]` weights, as `[R, C]`.
Value expertMatrix(OpBuilder &b, Location loc, Value weights, Value e) {
  auto t = cast<RankedTensorType>(weights.getType());
  auto slice = RankedTensorType::get({t.getDimSize(1), t.getDimSize(2)},
                                     t.getElementType());
  SmallVector<OpFoldResult> offsets = {e, b.getIndexAttr(0), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1),
                                     b.getIndexAttr(t.getDimSize(1)),
                                     b.getIndexAttr(t.getDimSize(2))};
  SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, slice, weights, offsets, sizes,
                                        strides);
}

SmallVector<Value> lowerMoEExperts(MoEExpertsOp op,
                                   MoEExpertsOp::Adaptor adaptor,
                                   ConversionPatternRewriter &rewriter) {
  Location loc = op.getLoc();
  RankedTensorType type = op.getType();
  Type elt = type.getElementType();
  int64_t k = op.getExperts().getType().getDimSize(1);
  Value x = adaptor.getInput(), experts = adaptor.getExperts(),
        weights = adaptor.getWeights(), gate = adaptor.getWGate(),
        down = adaptor.getWDown(), up = adaptor.getWUp(),
        gateBias = adaptor.getBGate(), upBias = adaptor.getBUp(),
        downBias = adaptor.getBDown();
  Value zero = scalarConstant(rewriter, loc, elt, 0);
  Value y = fillTensor(rewriter, loc, emptyLike(rewriter, loc, x, elt), zero);
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, v);
  };
  // The token count may be dynamic (the batch times the sequence).
  auto tokens = [&] {
    return getValueOrCreateConstantIndexOp(rewriter, loc,
                                           dimOf(rewriter, loc, x, 0));
  };
  scf::LoopNest nest = scf::buildLoopNest(
      rewriter, loc, ValueRange{idx(0), idx(0)},
      ValueRange{tokens(), idx(k)}, ValueRange{idx(1), idx(1)},
      ValueRange{y},
      [&](OpBuilder &b, Location l, ValueRange ivs, ValueRange iter) {
        Value t = ivs[0], c = ivs[1], acc = iter[0];
        Value e = tensor::ExtractOp::create(b, l, experts, ValueRange{t, c});
        Value routed = arith::CmpIOp::create(
            b, l, arith::CmpIPredicate::sge, e,
            arith::ConstantIntOp::create(b, l, b.getI64Type(), 0));
        auto ifOp = scf::IfOp::create(
            b, l, routed,
            [&](OpBuilder &tb, Location tl) {
              Value ei =
                  arith::IndexCastOp::create(tb, tl, tb.getIndexType(), e);
              Value w =
                  tensor::ExtractOp::create(tb, tl, weights, ValueRange{t, c});
              Value xt = extractRow(tb, tl, x, t);
              Value h = addExpertBias(
                  tb, tl, matvec(tb, tl, expertMatrix(tb, tl, gate, ei), xt),
                  gateBias, ei);
              Value u =
                  up ? addExpertBias(
                           tb, tl,
                           matvec(tb, tl, expertMatrix(tb, tl, up, ei), xt),
                           upBias, ei)
                     : Value();
              SmallVector<Value> hs = {h};
              if (u)
                hs.push_back(u);
              Value a = buildExpertActivation(tb, tl, op, hs);
              Value o = addExpertBias(
                  tb, tl, matvec(tb, tl, expertMatrix(tb, tl, down, ei), a),
                  downBias, ei);
              Value current = extractRow(tb, tl, acc, t);
              Value next = buildElementwise(
                  tb, tl, cast<RankedTensorType>(current.getType()),
                  ValueRange{current, o},
                  [&](OpBuilder &nb, Location nl, ValueRange s) -> Value {
                    return arith::AddFOp::create(
                        nb, nl, s[0], arith::MulFOp::create(nb, nl, w, s[1]));
                  });
              auto accType = cast<RankedTensorType>(acc.getType());
              Value updated = tensor::InsertSliceOp::create(
                  tb, tl, next, acc,
                  SmallVector<OpFoldResult>{t, tb.getIndexAttr(0)},
                  SmallVector<OpFoldResult>{
                      tb.getIndexAttr(1),
                      tb.getIndexAttr(accType.getDimSize(1))},
                  SmallVector<OpFoldResult>(2, tb.getIndexAttr(1)));
              scf::YieldOp::create(tb, tl, updated);
            },
            [&](OpBuilder &eb, Location el) {
              scf::YieldOp::create(eb, el, acc);
            });
        return scf::ValueVector{ifOp.getResult(0)};
      });
  return {nest.results.empty() ? y : nest.results[0]};
}

} // namespace

Value kiln::buildExpertActivation(OpBuilder &b, Location loc, MoEExpertsOp op,
                                  ValueRange projections) {
  Type elt = op.getType().getElementType();
  ExpertActivation act = op.getActivation();
  std::optional<float> limit;
  if (auto l = op.getSwigluLimit())
    limit = l->convertToFloat();
  float alpha = op.getSwigluAlpha().convertToFloat();
  float beta = op.getSwigluBeta().convertToFloat();
  return buildElementwise(
      b, loc, cast<RankedTensorType>(projections[0].getType()), projections,
      [&](OpBuilder &nb, Location nl, ValueRange s) -> Value {
        auto cst = [&](float v) { return scalarConstant(nb, nl, elt, v); };
        switch (act) {
        case ExpertActivation::SwiGLU: {
          // G * sigmoid(alpha * G) * (L + beta), with G and L clamped by the
          // limit; the defaults skip the arithmetic that does nothing.
          Value g = s[0], l = s[1];
          if (limit) {
            g = arith::MinimumFOp::create(nb, nl, g, cst(*limit));
            l = arith::MaximumFOp::create(
                nb, nl, arith::MinimumFOp::create(nb, nl, l, cst(*limit)),
                cst(-*limit));
          }
          Value z =
              alpha == 1.0f ? g : arith::MulFOp::create(nb, nl, g, cst(alpha));
          if (beta != 0.0f)
            l = arith::AddFOp::create(nb, nl, l, cst(beta));
          return arith::MulFOp::create(
              nb, nl, arith::MulFOp::create(nb, nl, g, buildSigmoid(nb, nl, z)),
              l);
        }
        case ExpertActivation::GELU:
          return buildGelu(nb, nl, s[0], GeluApproximation::None);
        case ExpertActivation::GELUTanh:
          return buildGelu(nb, nl, s[0], GeluApproximation::Tanh);
        case ExpertActivation::ReLU:
          return arith::MaximumFOp::create(nb, nl, s[0], cst(0));
        case ExpertActivation::SiLU:
          return arith::MulFOp::create(nb, nl, s[0], buildSigmoid(nb, nl, s[0]));
        case ExpertActivation::Identity:
          return s[0];
        }
        llvm_unreachable("unknown activation");
      });
}

Value kiln::extractRow(OpBuilder &b, Location loc, Value matrix,
                       OpFoldResult index) {
  auto type = cast<RankedTensorType>(matrix.getType());
  auto rowType =
      RankedTensorType::get({type.getDimSize(1)}, type.getElementType());
  return tensor::ExtractSliceOp::create(
      b, loc, rowType, matrix,
      SmallVector<OpFoldResult>{index, b.getIndexAttr(0)},
      SmallVector<OpFoldResult>{b.getIndexAttr(1),
                                b.getIndexAttr(type.getDimSize(1))},
      SmallVector<OpFoldResult>(2, b.getIndexAttr(1)));
}

Value kiln::addExpertBias(OpBuilder &b, Location loc, Value matrix, Value bias,
                          Value e) {
  if (!bias)
    return matrix;
  return buildElementwise(b, loc, cast<RankedTensorType>(matrix.getType()),
                          ValueRange{matrix, extractRow(b, loc, bias, e)},
                          [](OpBuilder &nb, Location l, ValueRange s) -> Value {
                            return arith::AddFOp::create(nb, l, s[0], s[1]);
                          });
}

void kiln::populateMoELoweringPatterns(RewritePatternSet &patterns) {
  addLowerings(patterns, lowerMoEExperts);
}
