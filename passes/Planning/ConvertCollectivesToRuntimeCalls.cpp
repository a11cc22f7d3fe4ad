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

#include "RankOptions.h"

#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/dialects/Kiln/KilnPipelineOps.h"
#include "kiln/dtype.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
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
constexpr const char *kGroupAllReduce = "kiln_collective_group_all_reduce";
/// The module attribute that lists, for this rank, the color of each
/// group its collectives run over (kiln/collectives.h's group_split).
constexpr const char *kGroupsAttr = "kiln.collective_groups";
/// The exported globals the runtime reads and fills at load: the groups'
/// count and colors, and their handles.
constexpr const char *kGroupCount = "kiln_collective_group_count";
constexpr const char *kGroupColors = "kiln_collective_group_colors";
constexpr const char *kGroupHandles = "kiln_collective_groups";

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
/// i32 peer for point to point, or a leading i64 group handle for a
/// group's collective, made once.
func::FuncOp declare(ModuleOp module, StringRef name, bool withPeer,
                     bool withGroup = false) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto i64 = b.getI64Type(), i32 = b.getI32Type();
  SmallVector<Type> inputs = {i64, i64, i32};
  if (withPeer)
    inputs.push_back(i32);
  if (withGroup)
    inputs.insert(inputs.begin(), i64);
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

/// An exported memref.global `name` of `count` elements of `element`,
/// holding `values` (constant) or zeros (for the runtime to fill).
void exportGlobal(OpBuilder &b, Location loc, StringRef name, Type element,
                  ArrayRef<int64_t> values, int64_t count, bool constant) {
  auto type = MemRefType::get({count}, element);
  auto tensorType = RankedTensorType::get({count}, element);
  SmallVector<Attribute> elements;
  for (int64_t i = 0; i < count; ++i)
    elements.push_back(
        IntegerAttr::get(element, values.empty() ? 0 : values[i]));
  memref::GlobalOp::create(b, loc, name, b.getStringAttr("public"), type,
                           DenseElementsAttr::get(tensorType, elements),
                           constant, /*alignment=*/b.getI64IntegerAttr(8));
}

/// The module's groups (its kiln.collective_groups) as exported globals:
/// their count and colors, which the runtime splits the world by at load
/// (every rank's module lists its groups in the same order), and their
/// handles, which it fills in. Returns the handles' global, or null when
/// the module has no groups.
memref::GlobalOp exportGroups(ModuleOp module) {
  auto colors = module->getAttrOfType<DenseI64ArrayAttr>(kGroupsAttr);
  if (!colors || colors.empty())
    return nullptr;
  if (auto existing = module.lookupSymbol<memref::GlobalOp>(kGroupHandles))
    return existing;
  OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
  int64_t count = colors.size();
  Location loc = module.getLoc();
  exportGlobal(b, loc, kGroupCount, b.getI32Type(), {count}, 1, true);
  exportGlobal(b, loc, kGroupColors, b.getI32Type(), colors.asArrayRef(), count,
               true);
  exportGlobal(b, loc, kGroupHandles, b.getI64Type(), {}, count, false);
  return module.lookupSymbol<memref::GlobalOp>(kGroupHandles);
}

/// The handle of group `group`, as the runtime filled it in (an i64).
FailureOr<Value> groupHandle(ModuleOp module, OpBuilder &b, Operation *op,
                             int64_t group) {
  memref::GlobalOp handles = exportGroups(module);
  if (!handles || group >= handles.getType().getDimSize(0))
    return op->emitOpError("sums over group ")
           << group << ", which the module's " << kGroupsAttr
           << " does not list";
  Location loc = op->getLoc();
  Value all = memref::GetGlobalOp::create(b, loc, handles.getType(),
                                          handles.getSymName());
  Value index = arith::ConstantIndexOp::create(b, loc, group);
  return memref::LoadOp::create(b, loc, all, ValueRange{index}).getResult();
}

/// Replaces `op` by a call of `callee` on a buffer: a copy of `input` when
/// the op sends or reduces one, else a fresh buffer the call fills; then
/// the buffer is the op's result, if it has one. `peer` is the other rank
/// of a point-to-point op; `group` the group a collective runs over.
LogicalResult convertToCall(ModuleOp module, Operation *op, StringRef callee,
                            Value input, std::optional<int64_t> peer,
                            std::optional<int64_t> group = std::nullopt) {
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
  if (group) {
    FailureOr<Value> handle = groupHandle(module, b, op, *group);
    if (failed(handle))
      return failure();
    args.insert(args.begin(), *handle);
  }
  func::CallOp::create(
      b, loc, declare(module, callee, peer.has_value(), group.has_value()),
      args);
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
    // Every group the module lists, used here or not: the runtime's
    // group_split is collective over every rank, so a rank that sums over
    // none of its groups (a data-parallel replica's rank other than the
    // one that gathers the results) still takes part in making each.
    exportGroups(module);
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (isa<AllReduceOp, SendOp, RecvOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      LogicalResult converted =
          TypeSwitch<Operation *, LogicalResult>(op)
              .Case([&](AllReduceOp op) {
                if (IntegerAttr group = collectiveGroup(op))
                  return convertToCall(module, op, kGroupAllReduce,
                                       op.getInput(), std::nullopt,
                                       group.getInt());
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
