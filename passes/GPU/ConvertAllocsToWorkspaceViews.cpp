//===- ConvertAllocsToWorkspaceViews.cpp - Buffers as workspace views -----===//
//
// The CUDA target's host code never allocates. Every memref.alloc of a
// public function becomes a memref.view of one workspace argument, at an
// offset planned here: live ranges are measured in positions of the
// function body's top-level operations, and buffers whose ranges do not
// overlap share bytes (first fit).
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/GPU/Passes.h"

#include "mlir/Interfaces/DataLayoutInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace kiln {
#define GEN_PASS_DEF_CONVERTALLOCSTOWORKSPACEVIEWS
#include "kiln/passes/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Offsets are multiples of this (what cudaMalloc guarantees for the base).
constexpr int64_t kWorkspaceAlignment = 256;

int64_t alignUp(int64_t v) {
  return (v + kWorkspaceAlignment - 1) / kWorkspaceAlignment *
         kWorkspaceAlignment;
}

struct Buffer {
  memref::AllocOp alloc;
  int64_t bytes = 0;
  int64_t start = 0, end = 0; // top-level positions, inclusive
  int64_t offset = 0;
};

struct ConvertAllocsToWorkspaceViewsPass
    : kiln::impl::ConvertAllocsToWorkspaceViewsBase<
          ConvertAllocsToWorkspaceViewsPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (func.isPublic() && !func.isExternal() &&
          failed(convert(func)))
        return signalPassFailure();
  }

  LogicalResult convert(func::FuncOp func) {
    if (!func.getBody().hasOneBlock())
      return func.emitError("expects a single-block body (run it after "
                            "bufferization, before lowering to cf)");
    Block &body = func.getBody().front();
    llvm::DenseMap<Operation *, int64_t> position;
    int64_t last = 0;
    for (Operation &op : body)
      position[&op] = last++;
    auto topLevel = [&](Operation *op) {
      return position.lookup(body.findAncestorOpInBlock(*op));
    };

    DataLayout layout = DataLayout::closest(func);
    SmallVector<Buffer> buffers;
    SmallVector<memref::DeallocOp> deallocs;
    WalkResult walk = func.walk([&](Operation *op) {
      if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        deallocs.push_back(dealloc);
        return WalkResult::advance();
      }
      auto alloc = dyn_cast<memref::AllocOp>(op);
      if (!alloc)
        return WalkResult::advance();
      MemRefType type = alloc.getType();
      if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
          type.getMemorySpace()) {
        alloc.emitOpError("needs a static shape, the identity layout and the "
                          "default memory space to become a workspace view, "
                          "found ")
            << type;
        return WalkResult::interrupt();
      }
      Buffer buffer;
      buffer.alloc = alloc;
      buffer.bytes = type.getNumElements() *
                     std::max<int64_t>(
                         1, layout.getTypeSize(type.getElementType()));
      buffer.start = topLevel(alloc);
      buffer.end = liveEnd(alloc, topLevel, last);
      buffers.push_back(buffer);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();

    int64_t total = plan(buffers);
    auto wsType =
        MemRefType::get({total}, IntegerType::get(func.getContext(), 8));
    unsigned index = func.getNumArguments();
    Builder b(func.getContext());
    if (failed(func.insertArgument(
            index, wsType, b.getDictionaryAttr(b.getNamedAttr(
                               "kiln.workspace", b.getUnitAttr())),
            func.getLoc())))
      return failure();
    Value workspace = func.getArgument(index);
    func->setAttr("kiln.workspace_bytes", b.getI64IntegerAttr(total));

    for (memref::DeallocOp dealloc : deallocs)
      dealloc.erase();
    for (Buffer &buffer : buffers) {
      OpBuilder builder(buffer.alloc);
      Location loc = buffer.alloc.getLoc();
      Value offset =
          arith::ConstantIndexOp::create(builder, loc, buffer.offset);
      Value view = memref::ViewOp::create(builder, loc, buffer.alloc.getType(),
                                          workspace, offset, ValueRange{});
      buffer.alloc.replaceAllUsesWith(view);
      buffer.alloc.erase();
    }
    return success();
  }

  /// The last top-level position where `alloc` or a view of it is used;
  /// `last` when an alias escapes into something that is not a view.
  static int64_t liveEnd(memref::AllocOp alloc,
                         llvm::function_ref<int64_t(Operation *)> topLevel,
                         int64_t last) {
    int64_t end = topLevel(alloc);
    SmallVector<Value> aliases = {alloc.getResult()};
    while (!aliases.empty()) {
      Value v = aliases.pop_back_val();
      for (OpOperand &use : v.getUses()) {
        Operation *user = use.getOwner();
        if (isa<memref::DeallocOp>(user))
          continue;
        end = std::max(end, topLevel(user));
        if (auto view = dyn_cast<ViewLikeOpInterface>(user)) {
          if (view.getViewSource() == v) {
            aliases.push_back(user->getResult(0));
            continue;
          }
        }
        // Anything else that hands out a memref (a select, a loop's
        // iter_args, a yield) may keep the buffer alive past what this
        // walk sees.
        if (llvm::any_of(user->getResultTypes(), llvm::IsaPred<MemRefType>) ||
            user->hasTrait<OpTrait::IsTerminator>())
          return last;
      }
    }
    return end;
  }

  /// First fit in order of allocation: each buffer takes the lowest aligned
  /// offset that no buffer live at the same time occupies. Returns the
  /// workspace size.
  static int64_t plan(MutableArrayRef<Buffer> buffers) {
    int64_t total = 0;
    for (size_t i = 0; i < buffers.size(); ++i) {
      Buffer &buffer = buffers[i];
      SmallVector<std::pair<int64_t, int64_t>> busy; // [begin, end)
      for (size_t j = 0; j < i; ++j)
        if (buffers[j].start <= buffer.end && buffer.start <= buffers[j].end)
          busy.push_back({buffers[j].offset,
                          buffers[j].offset + buffers[j].bytes});
      llvm::sort(busy);
      int64_t offset = 0;
      for (auto [begin, end] : busy) {
        if (offset + buffer.bytes <= begin)
          break;
        offset = std::max(offset, alignUp(end));
      }
      buffer.offset = offset;
      total = std::max(total, alignUp(offset + buffer.bytes));
    }
    return total;
  }
};

} // namespace
