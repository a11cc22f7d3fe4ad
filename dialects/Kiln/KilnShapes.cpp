//===- KilnShapes.cpp - Result dimensions of Kiln ops from their operands ---===//
//
// The shared reification rules (KilnShapes.h) and, for each op that is not
// covered by its ODS class, the one line that picks its rule. Rules are
// asked only for the dimensions a result type leaves dynamic.
//
//===----------------------------------------------------------------------===//

#include "kiln/dialects/Kiln/KilnShapes.h"

#include "kiln/dialects/Kiln/KilnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace kiln;

//===----------------------------------------------------------------------===//
// Sizes
//===----------------------------------------------------------------------===//

OpFoldResult kiln::dimOf(OpBuilder &b, Location loc, Value tensor,
                         int64_t dim) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (!type.isDynamicDim(dim))
    return b.getIndexAttr(type.getDimSize(dim));
  return tensor::DimOp::create(b, loc, tensor, dim).getResult();
}

/// `x op y` on index sizes: `x` itself where `y` is the operation's right
/// identity (and `y` where `x` is its left identity), folded with `fold`
/// when both are constants, an `OpTy` otherwise.
template <typename OpTy>
static OpFoldResult combineSizes(OpBuilder &b, Location loc, OpFoldResult x,
                                 OpFoldResult y,
                                 int64_t (*fold)(int64_t, int64_t),
                                 int64_t identity, bool commutes) {
  if (commutes && isConstantIntValue(x, identity))
    return y;
  if (isConstantIntValue(y, identity))
    return x;
  std::optional<int64_t> cx = getConstantIntValue(x),
                         cy = getConstantIntValue(y);
  if (cx && cy)
    return b.getIndexAttr(fold(*cx, *cy));
  return OpTy::create(b, loc, getValueOrCreateConstantIndexOp(b, loc, x),
                      getValueOrCreateConstantIndexOp(b, loc, y))
      .getResult();
}

OpFoldResult kiln::addSizes(OpBuilder &b, Location loc, OpFoldResult x,
                            OpFoldResult y) {
  return combineSizes<arith::AddIOp>(
      b, loc, x, y, [](int64_t p, int64_t q) { return p + q; },
      /*identity=*/0, /*commutes=*/true);
}

OpFoldResult kiln::mulSizes(OpBuilder &b, Location loc, OpFoldResult x,
                            OpFoldResult y) {
  return combineSizes<arith::MulIOp>(
      b, loc, x, y, [](int64_t p, int64_t q) { return p * q; },
      /*identity=*/1, /*commutes=*/true);
}

OpFoldResult kiln::divSizes(OpBuilder &b, Location loc, OpFoldResult x,
                            OpFoldResult y) {
  // Sizes are non-negative, so the unsigned division is exact C division.
  return combineSizes<arith::DivUIOp>(
      b, loc, x, y, [](int64_t p, int64_t q) { return q ? p / q : 0; },
      /*identity=*/1, /*commutes=*/false);
}

//===----------------------------------------------------------------------===//
// Shared rules
//===----------------------------------------------------------------------===//

LogicalResult kiln::reifyShapes(Operation *op,
                                ReifiedRankedShapedTypeDims &shapes,
                                DynamicDimRule rule) {
  Builder b(op->getContext());
  shapes.clear();
  for (auto [i, result] : llvm::enumerate(op->getResults())) {
    auto type = cast<RankedTensorType>(result.getType());
    SmallVector<OpFoldResult> sizes;
    for (int64_t d = 0; d < type.getRank(); ++d) {
      if (!type.isDynamicDim(d)) {
        sizes.push_back(b.getIndexAttr(type.getDimSize(d)));
        continue;
      }
      OpFoldResult size = rule(i, d);
      if (!size)
        return failure();
      sizes.push_back(size);
    }
    shapes.push_back(std::move(sizes));
  }
  return success();
}

LogicalResult kiln::reifyAsOperand(Operation *op, OpBuilder &b,
                                   ReifiedRankedShapedTypeDims &shapes,
                                   unsigned operand) {
  Value source = op->getOperand(operand);
  return reifyShapes(op, shapes, [&](unsigned, int64_t d) {
    return dimOf(b, op->getLoc(), source, d);
  });
}

/// The broadcast size of dimension `dim` of a rank-`rank` shape made from
/// `operands` with their last `trailing` dimensions left out (a matmul's
/// batch dimensions, which exclude the matrix dimensions).
static OpFoldResult broadcastDimExcluding(OpBuilder &b, Location loc,
                                          ValueRange operands, int64_t rank,
                                          int64_t dim, int64_t trailing) {
  for (Value v : operands) {
    auto type = cast<RankedTensorType>(v.getType());
    int64_t aligned = dim - (rank - (type.getRank() - trailing));
    if (aligned >= 0 && type.isDynamicDim(aligned))
      return dimOf(b, loc, v, aligned);
  }
  // No dynamic operand dimension: the size is the largest static one.
  int64_t size = 1;
  bool any = false;
  for (Value v : operands) {
    auto type = cast<RankedTensorType>(v.getType());
    int64_t aligned = dim - (rank - (type.getRank() - trailing));
    if (aligned >= 0) {
      size = std::max(size, type.getDimSize(aligned));
      any = true;
    }
  }
  return any ? OpFoldResult(b.getIndexAttr(size)) : OpFoldResult();
}

OpFoldResult kiln::broadcastDim(OpBuilder &b, Location loc,
                                ValueRange operands, int64_t rank,
                                int64_t dim) {
  return broadcastDimExcluding(b, loc, operands, rank, dim, /*trailing=*/0);
}

LogicalResult kiln::reifyBroadcast(Operation *op, OpBuilder &b,
                                   ReifiedRankedShapedTypeDims &shapes) {
  int64_t rank = cast<RankedTensorType>(op->getResult(0).getType()).getRank();
  return reifyShapes(op, shapes, [&](unsigned, int64_t d) {
    return broadcastDim(b, op->getLoc(), op->getOperands(), rank, d);
  });
}

LogicalResult kiln::reifyReduction(Operation *op, OpBuilder &b,
                                   ReifiedRankedShapedTypeDims &shapes,
                                   Value input, ArrayRef<int64_t> axes,
                                   bool keepDims) {
  // The input dimension each result dimension comes from.
  SmallVector<int64_t> source;
  for (int64_t d = 0, e = cast<RankedTensorType>(input.getType()).getRank();
       d < e; ++d)
    if (keepDims || !llvm::is_contained(axes, d))
      source.push_back(d);
  return reifyShapes(op, shapes, [&](unsigned, int64_t d) -> OpFoldResult {
    if (llvm::is_contained(axes, source[d]))
      return {}; // a kept reduced dimension is 1, never dynamic
    return dimOf(b, op->getLoc(), input, source[d]);
  });
}

//===----------------------------------------------------------------------===//
// Ops not covered by their ODS class
//===----------------------------------------------------------------------===//

#define KILN_SAME_SHAPE_AS(OpTy, operand)                                      \
  LogicalResult OpTy::reifyResultShapes(OpBuilder &b,                          \
                                        ReifiedRankedShapedTypeDims &shapes) { \
    return reifyAsOperand(*this, b, shapes, operand);                          \
  }

// Results shaped like their first operand: elementwise ops outside the
// unary class, normalizations, positional ops, scatters, (de)quantization
// and the MoE experts (tokens by hidden, like their input).
KILN_SAME_SHAPE_AS(LeakyReluOp, 0)
KILN_SAME_SHAPE_AS(GeluOp, 0)
KILN_SAME_SHAPE_AS(CastOp, 0)
KILN_SAME_SHAPE_AS(TriluOp, 0)
KILN_SAME_SHAPE_AS(LayerNormOp, 0)
KILN_SAME_SHAPE_AS(RmsNormOp, 0)
KILN_SAME_SHAPE_AS(RopeOp, 0)
KILN_SAME_SHAPE_AS(AttentionMaskOp, 0)
KILN_SAME_SHAPE_AS(KVCacheUpdateOp, 0)
KILN_SAME_SHAPE_AS(PagedKVCacheUpdateOp, 0)
KILN_SAME_SHAPE_AS(ScatterElementsOp, 0)
KILN_SAME_SHAPE_AS(ScatterNDOp, 0)
KILN_SAME_SHAPE_AS(DequantizeOp, 0)
KILN_SAME_SHAPE_AS(QuantizeOp, 0)
KILN_SAME_SHAPE_AS(MoEExpertsOp, 0)
// The result has the indices' shape.
KILN_SAME_SHAPE_AS(GatherElementsOp, 1)
#undef KILN_SAME_SHAPE_AS

/// [batch, kv_heads, columns * block_size, head_size] from the block
/// table and the pool.
LogicalResult PagedKVGatherOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &s) {
  Location loc = getLoc();
  return reifyShapes(*this, s, [&](unsigned, int64_t d) -> OpFoldResult {
    switch (d) {
    case 0:
      return dimOf(b, loc, getBlockTable(), 0);
    case 2:
      return mulSizes(b, loc, dimOf(b, loc, getBlockTable(), 1),
                      dimOf(b, loc, getPool(), 2));
    default:
      return dimOf(b, loc, getPool(), d);
    }
  });
}

LogicalResult CompareOp::reifyResultShapes(OpBuilder &b,
                                           ReifiedRankedShapedTypeDims &s) {
  return reifyBroadcast(*this, b, s);
}

LogicalResult SelectOp::reifyResultShapes(OpBuilder &b,
                                          ReifiedRankedShapedTypeDims &s) {
  return reifyBroadcast(*this, b, s);
}

/// [batch..., M, N]: M from lhs, N from rhs, batch dimensions broadcast.
LogicalResult MatmulOp::reifyResultShapes(OpBuilder &b,
                                          ReifiedRankedShapedTypeDims &s) {
  int64_t rank = getType().getRank();
  Value lhs = getLhs(), rhs = getRhs();
  int64_t lhsRank = getLhs().getType().getRank();
  int64_t rhsRank = getRhs().getType().getRank();
  return reifyShapes(*this, s, [&](unsigned, int64_t d) -> OpFoldResult {
    if (d == rank - 2)
      return dimOf(b, getLoc(), lhs, lhsRank - 2);
    if (d == rank - 1)
      return dimOf(b, getLoc(), rhs, rhsRank - 1);
    return broadcastDimExcluding(b, getLoc(), {lhs, rhs}, rank - 2, d,
                                 /*trailing=*/2);
  });
}

/// The input's shape with its last dimension (K) replaced by the weight's
/// rows (N): kiln.linear and kiln.qlinear.
static LogicalResult reifyLinear(Operation *op, OpBuilder &b,
                                 ReifiedRankedShapedTypeDims &s, Value input,
                                 Value weight) {
  int64_t rank = cast<RankedTensorType>(input.getType()).getRank();
  return reifyShapes(op, s, [&](unsigned, int64_t d) {
    return d == rank - 1 ? dimOf(b, op->getLoc(), weight, 0)
                         : dimOf(b, op->getLoc(), input, d);
  });
}

LogicalResult LinearOp::reifyResultShapes(OpBuilder &b,
                                          ReifiedRankedShapedTypeDims &s) {
  return reifyLinear(*this, b, s, getInput(), getWeight());
}

LogicalResult QLinearOp::reifyResultShapes(OpBuilder &b,
                                           ReifiedRankedShapedTypeDims &s) {
  return reifyLinear(*this, b, s, getInput(), getWeight());
}

LogicalResult TransposeOp::reifyResultShapes(OpBuilder &b,
                                             ReifiedRankedShapedTypeDims &s) {
  ArrayRef<int64_t> perm = getPermutation();
  return reifyShapes(*this, s, [&](unsigned, int64_t d) {
    return dimOf(b, getLoc(), getInput(), perm[d]);
  });
}

/// A reshape's dynamic sizes follow from its input when the shapes pair up
/// as one collapse or one expand with at most one dynamic size per expanded
/// group (a group's size divided by its static sizes), or when the result
/// has a single dynamic dimension (the element count divided by the rest,
/// ONNX Reshape's -1). Otherwise the sizes are not the operand's to give.
LogicalResult ReshapeOp::reifyResultShapes(OpBuilder &b,
                                           ReifiedRankedShapedTypeDims &s) {
  Location loc = getLoc();
  Value input = getInput();
  RankedTensorType inType = getInput().getType(), outType = getType();
  auto product = [&](ArrayRef<int64_t> dims) {
    OpFoldResult p = b.getIndexAttr(1);
    for (int64_t d : dims)
      p = mulSizes(b, loc, p, dimOf(b, loc, input, d));
    return p;
  };
  // The static sizes of result dimensions `dims` other than `skip`.
  auto staticProduct = [&](ArrayRef<int64_t> dims, int64_t skip) {
    int64_t p = 1;
    for (int64_t d : dims)
      if (d != skip)
        p *= outType.getDimSize(d);
    return p;
  };
  std::optional<SmallVector<ReassociationIndices>> groups;
  if (inType.getRank() != outType.getRank())
    groups = getReassociationIndicesForReshape(inType, outType);
  bool collapsing = inType.getRank() > outType.getRank();
  int64_t dynamicCount = outType.getNumDynamicDims();
  SmallVector<int64_t> allInputDims =
      llvm::to_vector(llvm::seq<int64_t>(0, inType.getRank()));
  SmallVector<int64_t> allOutputDims =
      llvm::to_vector(llvm::seq<int64_t>(0, outType.getRank()));
  return reifyShapes(*this, s, [&](unsigned, int64_t d) -> OpFoldResult {
    if (groups) {
      if (collapsing)
        return product((*groups)[d]);
      for (auto [i, group] : llvm::enumerate(*groups)) {
        if (!llvm::is_contained(group, d))
          continue;
        if (llvm::count_if(group, [&](int64_t r) {
              return outType.isDynamicDim(r);
            }) != 1)
          break;
        return divSizes(b, loc, dimOf(b, loc, input, i),
                        b.getIndexAttr(staticProduct(group, d)));
      }
    }
    if (dynamicCount != 1)
      return {};
    return divSizes(b, loc, product(allInputDims),
                    b.getIndexAttr(staticProduct(allOutputDims, d)));
  });
}

/// A dynamic result dimension of a broadcast is the input's aligned one;
/// a size the input stretches (a 1, or a missing leading dimension) is not
/// an operand's and cannot be reified.
LogicalResult BroadcastOp::reifyResultShapes(OpBuilder &b,
                                             ReifiedRankedShapedTypeDims &s) {
  RankedTensorType inType = getInput().getType();
  int64_t offset = getType().getRank() - inType.getRank();
  return reifyShapes(*this, s, [&](unsigned, int64_t d) -> OpFoldResult {
    int64_t aligned = d - offset;
    if (aligned < 0 || inType.getDimSize(aligned) == 1)
      return {};
    return dimOf(b, getLoc(), getInput(), aligned);
  });
}

/// The sum of the inputs along the axis; elsewhere any input's size.
LogicalResult ConcatOp::reifyResultShapes(OpBuilder &b,
                                          ReifiedRankedShapedTypeDims &s) {
  int64_t axis = getAxis();
  return reifyShapes(*this, s, [&](unsigned, int64_t d) -> OpFoldResult {
    if (d != axis)
      return broadcastDim(b, getLoc(), getInputs(), getType().getRank(), d);
    OpFoldResult sum = b.getIndexAttr(0);
    for (Value in : getInputs())
      sum = addSizes(b, getLoc(), sum, dimOf(b, getLoc(), in, axis));
    return sum;
  });
}

/// kiln.slice has no `ends`: the result type says how many elements each
/// axis takes. A dynamic result size is therefore known only along an axis
/// the slice leaves whole (start 0, step 1), where it is the input's.
LogicalResult SliceOp::reifyResultShapes(OpBuilder &b,
                                         ReifiedRankedShapedTypeDims &s) {
  ArrayRef<int64_t> starts = getStarts(), steps = getSteps();
  return reifyShapes(*this, s, [&](unsigned, int64_t d) -> OpFoldResult {
    if (starts[d] != 0 || steps[d] != 1)
      return {};
    return dimOf(b, getLoc(), getInput(), d);
  });
}

/// data[:axis] + indices + data[axis+1:].
LogicalResult GatherOp::reifyResultShapes(OpBuilder &b,
                                          ReifiedRankedShapedTypeDims &s) {
  int64_t axis = getAxis(), idxRank = getIndices().getType().getRank();
  return reifyShapes(*this, s, [&](unsigned, int64_t d) {
    if (d < axis)
      return dimOf(b, getLoc(), getData(), d);
    if (d < axis + idxRank)
      return dimOf(b, getLoc(), getIndices(), d - axis);
    return dimOf(b, getLoc(), getData(), d - idxRank + 1);
  });
}

/// [B..., I..., D[b + q:]...]: the indices' leading dimensions, then the
/// data's dimensions past the addressed ones.
LogicalResult GatherNDOp::reifyResultShapes(OpBuilder &b,
                                            ReifiedRankedShapedTypeDims &s) {
  RankedTensorType idxType = getIndices().getType();
  int64_t leading = idxType.getRank() - 1;
  int64_t q = idxType.getDimSize(leading);
  if (ShapedType::isDynamic(q))
    return failure();
  int64_t firstData = getBatchDims() + q;
  return reifyShapes(*this, s, [&](unsigned, int64_t d) {
    if (d < leading)
      return dimOf(b, getLoc(), getIndices(), d);
    return dimOf(b, getLoc(), getData(), firstData + d - leading);
  });
}

/// The input's shape with the axis of size k (always static).
LogicalResult TopKOp::reifyResultShapes(OpBuilder &b,
                                        ReifiedRankedShapedTypeDims &s) {
  return reifyAsOperand(*this, b, s);
}

/// The indices' shape with the depth (static) inserted at the axis.
LogicalResult OneHotOp::reifyResultShapes(OpBuilder &b,
                                          ReifiedRankedShapedTypeDims &s) {
  int64_t axis = getAxis();
  return reifyShapes(*this, s, [&](unsigned, int64_t d) {
    return dimOf(b, getLoc(), getIndices(), d < axis ? d : d - 1);
  });
}

/// output [B, Hq, S, Dv] from the query and the value; present keys and
/// values [B, Hkv, P + T, D] from the cache and the new ones; scores
/// [B, Hq, S, P + T].
LogicalResult AttentionOp::reifyResultShapes(OpBuilder &b,
                                             ReifiedRankedShapedTypeDims &s) {
  Location loc = getLoc();
  auto keys = [&](Value fresh, Value past) {
    OpFoldResult n = dimOf(b, loc, fresh, 2);
    return past ? addSizes(b, loc, dimOf(b, loc, past, 2), n) : n;
  };
  return reifyShapes(*this, s, [&](unsigned result, int64_t d) {
    switch (result) {
    case 0: // output
      return d < 3 ? dimOf(b, loc, getQuery(), d)
                   : dimOf(b, loc, getValue(), 3);
    case 1: // present_key
      return d == 2 ? keys(getKey(), getPastKey()) : dimOf(b, loc, getKey(), d);
    case 2: // present_value
      return d == 2 ? keys(getValue(), getPastValue())
                    : dimOf(b, loc, getValue(), d);
    default: // scores
      return d < 3 ? dimOf(b, loc, getQuery(), d)
                   : keys(getKey(), getPastKey());
    }
  });
}

/// The input's shape with the last dimension halved.
LogicalResult SwiGLUOp::reifyResultShapes(OpBuilder &b,
                                          ReifiedRankedShapedTypeDims &s) {
  int64_t last = getType().getRank() - 1;
  return reifyShapes(*this, s, [&](unsigned, int64_t d) {
    OpFoldResult size = dimOf(b, getLoc(), getInput(), d);
    return d == last ? divSizes(b, getLoc(), size, b.getIndexAttr(2)) : size;
  });
}

/// weights and experts [T, k] (k static), counts [E].
LogicalResult MoERouteOp::reifyResultShapes(OpBuilder &b,
                                            ReifiedRankedShapedTypeDims &s) {
  return reifyShapes(*this, s, [&](unsigned result, int64_t d) {
    return dimOf(b, getLoc(), getLogits(), result == 2 ? 1 : d);
  });
}

/// [N, M, spatial...]: the batch from the input, the filters from the
/// weight. Dynamic spatial sizes are not supported yet.
LogicalResult ConvOp::reifyResultShapes(OpBuilder &b,
                                        ReifiedRankedShapedTypeDims &s) {
  return reifyShapes(*this, s, [&](unsigned, int64_t d) -> OpFoldResult {
    if (d == 0)
      return dimOf(b, getLoc(), getInput(), 0);
    if (d == 1)
      return dimOf(b, getLoc(), getWeight(), 0);
    return {};
  });
}

/// [N, C, spatial...] from the input; dynamic spatial sizes are not
/// supported yet.
LogicalResult PoolOp::reifyResultShapes(OpBuilder &b,
                                        ReifiedRankedShapedTypeDims &s) {
  return reifyShapes(*this, s, [&](unsigned, int64_t d) -> OpFoldResult {
    if (d < 2)
      return dimOf(b, getLoc(), getInput(), d);
    return {};
  });
}
