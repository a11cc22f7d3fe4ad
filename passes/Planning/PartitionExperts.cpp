//===- PartitionExperts.cpp - Expert parallelism for one rank -------------===//
//
// Each kiln.moe_experts keeps its rank's contiguous block of experts (the
// weights sliced at compile time, so no rank stores another's experts), the
// assignments to other ranks' experts become dropped ones, and a
// kiln.all_reduce sums the ranks' shares. Steps per layer: check the expert
// count divides, slice each per-expert operand, remap the expert indices,
// rebuild the op, add the all-reduce.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/Planning/Passes.h"

#include "RankOptions.h"

#include "SliceWeights.h"

#include "kiln/dialects/Kiln/KilnOps.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

namespace kiln {
#define GEN_PASS_DEF_PARTITIONEXPERTS
#include "kiln/passes/Planning/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// experts[t, c] - lo where it lies in [lo, lo + count), else -1.
Value remapExperts(OpBuilder &b, Location loc, Value experts, int64_t lo,
                   int64_t count) {
  auto type = cast<RankedTensorType>(experts.getType());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, experts);
  Value init = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, type, ValueRange{experts}, ValueRange{init},
      ArrayRef<AffineMap>{id, id}, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Type i64 = nb.getI64Type();
        Value e = args[0];
        Value low = arith::ConstantOp::create(nb, nl, nb.getIntegerAttr(i64, lo));
        Value high = arith::ConstantOp::create(
            nb, nl, nb.getIntegerAttr(i64, lo + count));
        Value none = arith::ConstantOp::create(nb, nl, nb.getIntegerAttr(i64, -1));
        Value geLow =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sge, e, low);
        Value ltHigh =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt, e, high);
        Value mine = arith::AndIOp::create(nb, nl, geLow, ltHigh);
        Value local = arith::SubIOp::create(nb, nl, e, low);
        Value result = arith::SelectOp::create(nb, nl, mine, local, none);
        linalg::YieldOp::create(nb, nl, result);
      });
  return generic.getResult(0);
}

struct PartitionExpertsPass
    : public kiln::impl::PartitionExpertsBase<PartitionExpertsPass> {
  using PartitionExpertsBase::PartitionExpertsBase;

  void runOnOperation() override {
    int64_t rank = this->rank, ranks = this->ranks;
    if (failed(checkRankOptions(getOperation(), "kiln-partition-experts", rank,
                                ranks)))
      return signalPassFailure();
    if (ranks == 1)
      return;
    SmallVector<MoEExpertsOp> layers;
    getOperation().walk([&](MoEExpertsOp op) { layers.push_back(op); });
    for (MoEExpertsOp op : layers)
      if (failed(partition(op, rank, ranks)))
        return signalPassFailure();
  }

  LogicalResult partition(MoEExpertsOp op, int64_t rank, int64_t ranks) {
    int64_t experts =
        cast<RankedTensorType>(op.getWGate().getType()).getDimSize(0);
    if (ShapedType::isDynamic(experts) || experts % ranks != 0)
      return op.emitError("expert parallelism over ")
             << ranks << " ranks needs the expert count to be a multiple of "
             << ranks << ", found " << experts << " experts";
    int64_t count = experts / ranks, lo = rank * count;
    OpBuilder b(op);
    Location loc = op.getLoc();
    // Experts [lo, lo + count) of each per-expert operand ([E, ...]).
    std::string suffix = ".rank" + std::to_string(rank);
    auto slice = [&](Value v) {
      return v ? sliceAlong(b, loc, v, 0, lo, count, suffix) : Value();
    };
    Value localExperts = remapExperts(b, loc, op.getExperts(), lo, count);
    // One at a time, so the new ops come in operand order.
    Value gate = slice(op.getWGate());
    Value down = slice(op.getWDown());
    Value up = slice(op.getWUp());
    Value gateBias = slice(op.getBGate());
    Value upBias = slice(op.getBUp());
    Value downBias = slice(op.getBDown());
    auto local = MoEExpertsOp::create(
        b, loc, op.getResult().getType(), op.getInput(), localExperts,
        op.getWeights(), gate, down, up, gateBias, upBias, downBias,
        op.getActivationAttr(), op.getSwigluLimitAttr(),
        op.getSwigluAlphaAttr(), op.getSwigluBetaAttr());
    auto sum =
        AllReduceOp::create(b, loc, local.getResult().getType(),
                            local.getResult(), b.getI64IntegerAttr(ranks),
                            /*group=*/IntegerAttr());
    setCollectiveGroup(sum, group);
    op.getResult().replaceAllUsesWith(sum.getResult());
    op.erase();
    return success();
  }
};

} // namespace
