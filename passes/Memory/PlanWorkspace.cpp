//===- PlanWorkspace.cpp - Intermediate buffers as workspace views --------===//
//
// Compiled code does not allocate its intermediates on every call. Every
// planned memref.alloc of a public function becomes a memref.view of one
// workspace argument, at an offset planned here: live ranges are measured
// in positions of the function body's top-level operations, and buffers
// whose ranges do not overlap share bytes (first fit). Both targets run it,
// CUDA with 256-byte alignment, the CPU with 64. Allocations inside
// parallel loops (an scf.forall body runs on several threads at once) stay
// allocations.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/Memory/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace kiln {
#define GEN_PASS_DEF_PLANWORKSPACE
#include "kiln/passes/Memory/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct Buffer {
  memref::AllocOp alloc;
  int64_t bytes = 0;
  int64_t start = 0, end = 0; // top-level positions, inclusive
  int64_t offset = 0;
};

struct PlanWorkspacePass
    : kiln::impl::PlanWorkspaceBase<PlanWorkspacePass> {
  using PlanWorkspaceBase::PlanWorkspaceBase;

  void runOnOperation() override {
    if (alignment < 1 || !llvm::isPowerOf2_64(alignment)) {
      getOperation().emitError("kiln-plan-workspace: alignment must be a "
                               "power of two, found ")
          << alignment;
      return signalPassFailure();
    }
    ModuleOp module = getOperation();
    for (auto func : module.getOps<func::FuncOp>()) {
      if (!func.isPublic() || func.isExternal())
        continue;
      // A new argument would break the calls.
      if (!SymbolTable::symbolKnownUseEmpty(func, module)) {
        func.emitError("is called inside the module, so it cannot take a "
                       "workspace argument (only entry functions, which "
                       "nothing calls, may be public)");
        return signalPassFailure();
      }
      if (failed(convert(func)))
        return signalPassFailure();
    }
  }

  int64_t alignUp(int64_t v) const {
    return (v + alignment - 1) / alignment * alignment;
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
    WalkResult walk = func.walk([&](memref::AllocOp alloc) {
      bool nested = alloc->getBlock() != &body;
      // Inside a parallel loop, each thread needs its own buffer.
      if (nested && !onlySequentialAncestors(alloc, func))
        return WalkResult::advance();
      MemRefType type = alloc.getType();
      if (!type.hasStaticShape() && keepDynamic)
        return WalkResult::advance();
      if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
          type.getMemorySpace()) {
        alloc.emitOpError("needs a static shape, the identity layout and the "
                          "default memory space to become a workspace view, "
                          "found ")
            << type;
        return WalkResult::interrupt();
      }
      Lifetime life = lifetime(alloc, topLevel);
      // A buffer allocated in a loop body gets the same bytes on every
      // iteration: only correct when nothing of it leaves the iteration.
      if (nested && life.leavesBlock)
        return WalkResult::advance();
      Buffer buffer;
      buffer.alloc = alloc;
      buffer.bytes = type.getNumElements() *
                     std::max<int64_t>(
                         1, layout.getTypeSize(type.getElementType()));
      buffer.start = topLevel(alloc);
      buffer.end = life.leavesBlock ? last : life.end;
      buffers.push_back(buffer);
      deallocs.append(life.deallocs);
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

  /// Whether every op between `alloc` and the function body runs its
  /// regions one at a time (scf.for, scf.while, scf.if, ...): then one
  /// buffer serves every execution of the allocation. Anything else (an
  /// scf.forall or scf.parallel body, an OpenMP region, an unknown op) may
  /// run several at once.
  static bool onlySequentialAncestors(Operation *alloc, func::FuncOp func) {
    for (Operation *op = alloc->getParentOp(); op && op != func;
         op = op->getParentOp())
      if (!isa<scf::ForOp, scf::WhileOp, scf::IfOp, scf::IndexSwitchOp,
               scf::ExecuteRegionOp>(op))
        return false;
    return true;
  }

  struct Lifetime {
    /// The last top-level position where the buffer or an alias is used.
    int64_t end = 0;
    /// An alias reaches the terminator of the allocation's block (a
    /// return, a loop's yield) or something this walk cannot follow (a raw
    /// pointer): the buffer may be live after the block.
    bool leavesBlock = false;
    SmallVector<memref::DeallocOp> deallocs;
  };

  /// Follows the buffer through every value that may alias it: the memref
  /// results of its users (views, casts, loops it is an iter_arg of) and
  /// the memref results of the op a nested terminator yields it to. Over-
  /// approximating aliases only makes lives longer.
  static Lifetime lifetime(memref::AllocOp alloc,
                           llvm::function_ref<int64_t(Operation *)> topLevel) {
    Lifetime life;
    life.end = topLevel(alloc);
    Block *home = alloc->getBlock();
    llvm::SmallPtrSet<Value, 8> seen;
    SmallVector<Value> aliases = {alloc.getResult()};
    auto addAliases = [&](Operation *op) {
      for (Value result : op->getResults())
        if (isa<MemRefType>(result.getType()) && seen.insert(result).second)
          aliases.push_back(result);
    };
    seen.insert(alloc.getResult());
    while (!aliases.empty()) {
      Value v = aliases.pop_back_val();
      for (OpOperand &use : v.getUses()) {
        Operation *user = use.getOwner();
        if (auto dealloc = dyn_cast<memref::DeallocOp>(user)) {
          life.deallocs.push_back(dealloc);
          continue;
        }
        life.end = std::max(life.end, topLevel(user));
        if (user->hasTrait<OpTrait::IsTerminator>()) {
          if (user->getBlock() == home) {
            life.leavesBlock = true;
            continue;
          }
          addAliases(user->getParentOp());
          continue;
        }
        // The address as an integer, or a value of another type system:
        // uses of those cannot be followed.
        if (isa<memref::ExtractAlignedPointerAsIndexOp,
                UnrealizedConversionCastOp>(user) ||
            llvm::any_of(user->getResultTypes(),
                         llvm::IsaPred<TensorType>)) {
          life.leavesBlock = true;
          continue;
        }
        addAliases(user);
      }
    }
    return life;
  }

  /// First fit in order of allocation: each buffer takes the lowest aligned
  /// offset that no buffer live at the same time occupies. Returns the
  /// workspace size.
  int64_t plan(MutableArrayRef<Buffer> buffers) const {
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
