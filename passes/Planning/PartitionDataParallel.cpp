//===- PartitionDataParallel.cpp - One replica's slice of the batch -------===//
//
// The entry function, built for a replica's b sequences, takes and returns
// the whole batch (replicas * b): it slices its replica's rows of each
// argument, runs the body on them, and places its results at those rows of
// zeros; with `gather`, a kiln.all_reduce over the replicas adds them into
// the whole batch's results. Steps: check the batch axis, widen the
// arguments, widen the results.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/Planning/Passes.h"

#include "RankOptions.h"

#include "kiln/dialects/Kiln/KilnOps.h"

namespace kiln {
#define GEN_PASS_DEF_PARTITIONDATAPARALLEL
#include "kiln/passes/Planning/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// `type` with axis 0 of size `rows`.
RankedTensorType withRows(RankedTensorType type, int64_t rows) {
  SmallVector<int64_t> shape(type.getShape());
  shape[0] = rows;
  return type.clone(shape);
}

/// Offsets (row `row`, then zeros), sizes (the type's) and unit strides
/// for a slice of `type`'s rows.
void sliceOf(OpBuilder &b, RankedTensorType type, int64_t row,
             SmallVectorImpl<OpFoldResult> &offsets,
             SmallVectorImpl<OpFoldResult> &sizes,
             SmallVectorImpl<OpFoldResult> &strides) {
  for (int64_t i = 0; i < type.getRank(); ++i) {
    offsets.push_back(b.getIndexAttr(i == 0 ? row : 0));
    sizes.push_back(b.getIndexAttr(type.getDimSize(i)));
    strides.push_back(b.getIndexAttr(1));
  }
}

struct PartitionDataParallelPass
    : public kiln::impl::PartitionDataParallelBase<PartitionDataParallelPass> {
  using PartitionDataParallelBase::PartitionDataParallelBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    int64_t replica = this->replica, replicas = this->replicas;
    if (replicas < 1 || replica < 0 || replica >= replicas) {
      module.emitError("kiln-partition-data-parallel: replica ")
          << replica << " must lie in [0, replicas = " << replicas << ")";
      return signalPassFailure();
    }
    if (replicas == 1)
      return;
    auto fn = module.lookupSymbol<func::FuncOp>(entryName);
    if (!fn || fn.isExternal()) {
      module.emitError("data parallelism partitions the entry function @")
          << entryName << ", and the module has none";
      return signalPassFailure();
    }
    FailureOr<int64_t> rows = replicaBatch(fn);
    if (failed(rows) || failed(checkResults(fn)))
      return signalPassFailure();
    widenArguments(fn, *rows);
    widenResults(fn, *rows);
  }

  /// The replica's batch: axis 0 of every argument and result, static and
  /// the same.
  FailureOr<int64_t> replicaBatch(func::FuncOp fn) {
    int64_t rows = ShapedType::kDynamic;
    auto check = [&](Type type, llvm::StringRef what,
                     unsigned index) -> LogicalResult {
      auto ranked = dyn_cast<RankedTensorType>(type);
      int64_t n = ranked && ranked.getRank() > 0 ? ranked.getDimSize(0)
                                                 : ShapedType::kDynamic;
      if (ShapedType::isDynamic(rows))
        rows = n;
      if (!ShapedType::isDynamic(n) && n == rows)
        return success();
      return fn.emitError("data parallelism splits axis 0 (the batch) of "
                          "every argument and result, which must be static "
                          "and the same; ")
             << what << " " << index << " is " << type
             << (ShapedType::isDynamic(rows)
                     ? std::string()
                     : " where the batch is " + std::to_string(rows));
    };
    FunctionType type = fn.getFunctionType();
    for (auto [i, input] : llvm::enumerate(type.getInputs()))
      if (failed(check(input, "argument", i)))
        return failure();
    for (auto [i, result] : llvm::enumerate(type.getResults()))
      if (failed(check(result, "result", i)))
        return failure();
    if (ShapedType::isDynamic(rows)) {
      fn.emitError("data parallelism splits the batch, and @")
          << fn.getName() << " has no arguments or results";
      return failure();
    }
    return rows;
  }

  /// With `gather`, every result's element type takes the sum.
  LogicalResult checkResults(func::FuncOp fn) {
    if (!gather)
      return success();
    for (auto [i, result] : llvm::enumerate(fn.getResultTypes())) {
      Type element = cast<RankedTensorType>(result).getElementType();
      if (element.isF32() || element.isF64() || element.isInteger(32) ||
          element.isInteger(64))
        continue;
      return fn.emitError("data parallelism gathers the replicas' results "
                          "with a sum of f32, f64, i32 or i64, and result ")
             << i << " is " << result;
    }
    return success();
  }

  /// Each argument takes the whole batch; the body uses its replica's rows.
  void widenArguments(func::FuncOp fn, int64_t rows) {
    Block &entry = fn.getBody().front();
    OpBuilder b = OpBuilder::atBlockBegin(&entry);
    for (BlockArgument arg : entry.getArguments()) {
      auto local = cast<RankedTensorType>(arg.getType());
      arg.setType(withRows(local, rows * replicas));
      SmallVector<OpFoldResult> offsets, sizes, strides;
      sliceOf(b, local, replica * rows, offsets, sizes, strides);
      auto slice = tensor::ExtractSliceOp::create(b, fn.getLoc(), local, arg,
                                                  offsets, sizes, strides);
      arg.replaceAllUsesExcept(slice.getResult(), slice);
    }
  }

  /// Each result is the whole batch's: the replica's rows among zeros,
  /// summed over the replicas with `gather`.
  void widenResults(func::FuncOp fn, int64_t rows) {
    SmallVector<Type> resultTypes;
    fn.walk([&](func::ReturnOp ret) {
      OpBuilder b(ret);
      Location loc = ret.getLoc();
      resultTypes.clear();
      for (OpOperand &operand : ret->getOpOperands()) {
        auto local = cast<RankedTensorType>(operand.get().getType());
        RankedTensorType whole = withRows(local, rows * replicas);
        auto zero = arith::ConstantOp::create(
            b, loc, whole,
            DenseElementsAttr::get(whole,
                                   b.getZeroAttr(local.getElementType())));
        SmallVector<OpFoldResult> offsets, sizes, strides;
        sliceOf(b, local, replica * rows, offsets, sizes, strides);
        Value placed = tensor::InsertSliceOp::create(
            b, loc, operand.get(), zero, offsets, sizes, strides);
        if (gather) {
          auto sum = AllReduceOp::create(b, loc, whole, placed,
                                         b.getI64IntegerAttr(replicas),
                                         /*group=*/IntegerAttr());
          setCollectiveGroup(sum, group);
          placed = sum.getResult();
        }
        operand.set(placed);
        resultTypes.push_back(whole);
      }
    });
    SmallVector<Type> inputs(fn.getBody().front().getArgumentTypes());
    fn.setFunctionType(FunctionType::get(fn.getContext(), inputs, resultTypes));
  }
};

} // namespace
