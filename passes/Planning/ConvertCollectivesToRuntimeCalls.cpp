//===- ConvertCollectivesToRuntimeCalls.cpp - Collectives as calls --------===//
//
// kiln.all_reduce -> a copy into a fresh buffer, a call of
// kiln_collective_all_reduce(i64 pointer, i64 count, i32 dtype) that sums it
// in place over every rank, and the buffer as the result tensor. The host
// code generator sends the call through the runtime's collective table.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/Planning/Passes.h"

#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/dtype.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/IR/SymbolTable.h"

namespace kiln {
#define GEN_PASS_DEF_CONVERTCOLLECTIVESTORUNTIMECALLS
#include "kiln/passes/Planning/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

constexpr const char *kAllReduce = "kiln_collective_all_reduce";

/// The kiln_dtype code of a summable element type; 0 for any other.
int32_t dtypeCode(Type type) {
  if (type.isF32())
    return KILN_DTYPE_FLOAT32;
  if (type.isF64())
    return KILN_DTYPE_FLOAT64;
  if (type.isSignlessInteger(32))
    return KILN_DTYPE_INT32;
  if (type.isSignlessInteger(64))
    return KILN_DTYPE_INT64;
  return 0;
}

/// The declaration of `name` (i64, i64, i32) -> (), made once.
func::FuncOp declare(ModuleOp module, StringRef name) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto i64 = b.getI64Type();
  auto type = b.getFunctionType({i64, i64, b.getI32Type()}, {});
  auto fn = func::FuncOp::create(b, module.getLoc(), name, type);
  fn.setPrivate();
  return fn;
}

struct ConvertCollectivesToRuntimeCallsPass
    : public kiln::impl::ConvertCollectivesToRuntimeCallsBase<
          ConvertCollectivesToRuntimeCallsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<AllReduceOp> ops;
    module.walk([&](AllReduceOp op) { ops.push_back(op); });
    for (AllReduceOp op : ops)
      if (failed(convert(module, op)))
        return signalPassFailure();
  }

  LogicalResult convert(ModuleOp module, AllReduceOp op) {
    auto type = cast<RankedTensorType>(op.getInput().getType());
    int32_t dtype = dtypeCode(type.getElementType());
    if (!dtype)
      return op.emitOpError("has no runtime collective for element type ")
             << type.getElementType();
    func::FuncOp callee = declare(module, kAllReduce);
    OpBuilder b(op);
    Location loc = op.getLoc();
    int64_t rank = type.getRank();
    auto strided = MemRefType::get(
        type.getShape(), type.getElementType(),
        StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic,
                               SmallVector<int64_t>(rank, ShapedType::kDynamic)));
    auto dense = MemRefType::get(type.getShape(), type.getElementType());
    Value source =
        bufferization::ToBufferOp::create(b, loc, strided, op.getInput());
    SmallVector<Value> dynamicSizes;
    Value count = arith::ConstantIndexOp::create(b, loc, 1);
    for (int64_t d = 0; d < rank; ++d) {
      Value size = tensor::DimOp::create(b, loc, op.getInput(), d);
      if (type.isDynamicDim(d))
        dynamicSizes.push_back(size);
      count = arith::MulIOp::create(b, loc, count, size);
    }
    Value buffer = memref::AllocOp::create(b, loc, dense, dynamicSizes,
                                           b.getI64IntegerAttr(64));
    memref::CopyOp::create(b, loc, source, buffer);
    Value pointer =
        memref::ExtractAlignedPointerAsIndexOp::create(b, loc, b.getIndexType(), buffer);
    Type i64 = b.getI64Type();
    Value args[] = {
        arith::IndexCastOp::create(b, loc, i64, pointer),
        arith::IndexCastOp::create(b, loc, i64, count),
        arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(dtype))};
    func::CallOp::create(b, loc, callee, args);
    auto result = bufferization::ToTensorOp::create(
        b, loc, type, buffer, /*restrict=*/true, /*writable=*/true);
    op.getResult().replaceAllUsesWith(result.getResult());
    op.erase();
    return success();
  }
};

} // namespace
