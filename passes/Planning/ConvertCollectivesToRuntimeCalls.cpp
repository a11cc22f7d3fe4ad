//===- ConvertCollectivesToRuntimeCalls.cpp - Collectives as calls --------===//
//
// kiln.all_reduce -> a copy into a fresh buffer, a call of
// kiln_collective_all_reduce(i64 pointer, i64 count, i32 dtype) that sums it
// in place over every rank, and the buffer as the result tensor. kiln.send
// -> a copy and kiln_collective_send(pointer, count, dtype, i32 peer);
// kiln.recv -> a fresh buffer that kiln_collective_recv(pointer, count,
// dtype, peer) fills, as the result tensor. The host code generator sends
// the calls through the runtime's collective table.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/Planning/Passes.h"

#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/dialects/Kiln/KilnPipelineOps.h"
#include "kiln/dtype.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/TypeSwitch.h"

namespace kiln {
#define GEN_PASS_DEF_CONVERTCOLLECTIVESTORUNTIMECALLS
#include "kiln/passes/Planning/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

constexpr const char *kAllReduce = "kiln_collective_all_reduce";
constexpr const char *kSend = "kiln_collective_send";
constexpr const char *kRecv = "kiln_collective_recv";

/// The kiln_dtype code of an element type that collectives move; 0 for
/// any other. Only float32, float64, int32 and int64 can be summed.
int32_t dtypeCode(Type type) {
  if (type.isF32())
    return KILN_DTYPE_FLOAT32;
  if (type.isF64())
    return KILN_DTYPE_FLOAT64;
  if (type.isF16())
    return KILN_DTYPE_FLOAT16;
  if (type.isBF16())
    return KILN_DTYPE_BFLOAT16;
  if (type.isSignlessInteger(8))
    return KILN_DTYPE_INT8;
  if (type.isSignlessInteger(32))
    return KILN_DTYPE_INT32;
  if (type.isSignlessInteger(64))
    return KILN_DTYPE_INT64;
  return 0;
}

/// The declaration of `name` (i64 pointer, i64 count, i32 dtype), with an
/// i32 peer for point to point, made once.
func::FuncOp declare(ModuleOp module, StringRef name, bool withPeer) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto i64 = b.getI64Type(), i32 = b.getI32Type();
  SmallVector<Type> inputs = {i64, i64, i32};
  if (withPeer)
    inputs.push_back(i32);
  auto fn = func::FuncOp::create(b, module.getLoc(), name,
                                 b.getFunctionType(inputs, {}));
  fn.setPrivate();
  return fn;
}

/// A fresh 64-byte aligned buffer of `type`'s shape; dynamic sizes are
/// taken from `like` (a tensor of that type).
Value allocate(OpBuilder &b, Location loc, RankedTensorType type, Value like) {
  SmallVector<Value> dynamicSizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, like, d));
  auto dense = MemRefType::get(type.getShape(), type.getElementType());
  return memref::AllocOp::create(b, loc, dense, dynamicSizes,
                                 b.getI64IntegerAttr(64));
}

/// A fresh buffer holding a copy of `tensor`, in row-major order.
Value copyToBuffer(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  auto strided = MemRefType::get(
      type.getShape(), type.getElementType(),
      StridedLayoutAttr::get(
          b.getContext(), ShapedType::kDynamic,
          SmallVector<int64_t>(type.getRank(), ShapedType::kDynamic)));
  Value source = bufferization::ToBufferOp::create(b, loc, strided, tensor);
  Value buffer = allocate(b, loc, type, tensor);
  memref::CopyOp::create(b, loc, source, buffer);
  return buffer;
}

/// The call's leading arguments for `buffer`: its aligned address and
/// element count as i64, and the dtype code.
SmallVector<Value> bufferArguments(OpBuilder &b, Location loc, Value buffer,
                                   int32_t dtype) {
  auto type = cast<MemRefType>(buffer.getType());
  Type i64 = b.getI64Type();
  int64_t known = 1;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (!type.isDynamicDim(d))
      known *= type.getDimSize(d);
  Value count = arith::ConstantIndexOp::create(b, loc, known);
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      count = arith::MulIOp::create(b, loc, count,
                                    memref::DimOp::create(b, loc, buffer, d));
  Value pointer = memref::ExtractAlignedPointerAsIndexOp::create(
      b, loc, b.getIndexType(), buffer);
  return {arith::IndexCastOp::create(b, loc, i64, pointer),
          arith::IndexCastOp::create(b, loc, i64, count),
          arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(dtype))};
}

/// Replaces `op` by a call of `callee` on a buffer: a copy of `input` when
/// the op sends or reduces one, else a fresh buffer the call fills; then
/// the buffer is the op's result, if it has one. `peer` is the other rank
/// of a point-to-point op.
LogicalResult convertToCall(ModuleOp module, Operation *op, StringRef callee,
                            Value input, std::optional<int64_t> peer) {
  Type type = input ? input.getType() : op->getResult(0).getType();
  Type element = cast<ShapedType>(type).getElementType();
  int32_t dtype = dtypeCode(element);
  if (!dtype)
    return op->emitOpError("has no runtime collective for element type ")
           << element;
  OpBuilder b(op);
  Location loc = op->getLoc();
  Value buffer = input
                     ? copyToBuffer(b, loc, input)
                     : allocate(b, loc, cast<RankedTensorType>(type), Value());
  SmallVector<Value> args = bufferArguments(b, loc, buffer, dtype);
  if (peer)
    args.push_back(
        arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(*peer)));
  func::CallOp::create(b, loc, declare(module, callee, peer.has_value()), args);
  if (op->getNumResults() == 1) {
    auto result = bufferization::ToTensorOp::create(
        b, loc, op->getResult(0).getType(), buffer, /*restrict=*/true,
        /*writable=*/true);
    op->getResult(0).replaceAllUsesWith(result.getResult());
  }
  op->erase();
  return success();
}

struct ConvertCollectivesToRuntimeCallsPass
    : public kiln::impl::ConvertCollectivesToRuntimeCallsBase<
          ConvertCollectivesToRuntimeCallsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (isa<AllReduceOp, SendOp, RecvOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      LogicalResult converted =
          TypeSwitch<Operation *, LogicalResult>(op)
              .Case([&](AllReduceOp op) {
                return convertToCall(module, op, kAllReduce, op.getInput(),
                                     std::nullopt);
              })
              .Case([&](SendOp op) {
                return convertToCall(module, op, kSend, op.getInput(),
                                     op.getPeer());
              })
              .Case([&](RecvOp op) {
                return convertToCall(module, op, kRecv, Value(), op.getPeer());
              })
              .Default([](Operation *) { return failure(); });
      if (failed(converted))
        return signalPassFailure();
    }
  }
};

} // namespace
