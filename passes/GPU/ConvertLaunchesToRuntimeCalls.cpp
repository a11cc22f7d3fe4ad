//===- ConvertLaunchesToRuntimeCalls.cpp - launch_func -> calls->launch ---===//
//
// MLIR 22.1 leaves gpu.launch_func in the LLVM dialect after gpu-to-llvm
// and has mlir-translate emit mgpu* runtime calls for it. Kiln's host code
// calls the runtime through the table it is given instead (no libcuda, no
// mgpu* symbols): this pass replaces every launch by an indirect call of
// calls->launch and adds the exported entry point.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/GPU/Passes.h"

namespace kiln {
#define GEN_PASS_DEF_CONVERTLAUNCHESTORUNTIMECALLS
#include "kiln/passes/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Field positions of kiln_gpu_calls {u32 abi_version; launch; memcpy_d2d;
/// memset_d8}.
enum CallsField : int32_t { kAbiVersion = 0, kLaunch = 1 };

struct ConvertLaunchesToRuntimeCallsPass
    : kiln::impl::ConvertLaunchesToRuntimeCallsBase<
          ConvertLaunchesToRuntimeCallsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    LLVM::LLVMFuncOp model = findModel(module);
    if (!model)
      return signalPassFailure();
    // The buffers precede the workspace argument.
    unsigned numBuffers = model.getNumArguments() - 1;
    RuntimeArguments runtime = addRuntimeArguments(model);
    Block *fail = addFailureBlock(model);
    FailureOr<SmallVector<gpu::LaunchFuncOp>> launches =
        collectLaunches(module, model);
    if (failed(launches))
      return signalPassFailure();

    SmallVector<Attribute> kernelNames;
    llvm::StringMap<unsigned> kernelIndex;
    for (gpu::LaunchFuncOp launch : *launches) {
      StringRef name = launch.getKernelName().getValue();
      auto [it, inserted] =
          kernelIndex.try_emplace(name, (unsigned)kernelNames.size());
      if (inserted)
        kernelNames.push_back(StringAttr::get(&getContext(), name));
      replaceLaunch(launch, it->second, runtime, fail);
    }
    module->setAttr("kiln.gpu_kernels",
                    ArrayAttr::get(&getContext(), kernelNames));
    if (fail->hasNoPredecessors())
      fail->erase();

    if (failed(addEntryWrapper(module, model, numBuffers)))
      return signalPassFailure();
  }

  /// The model function @entryName, checked to be what gpu-to-llvm and
  /// kiln-plan-workspace leave: defined, returning
  /// nothing, its last argument the workspace. Null after an error.
  LLVM::LLVMFuncOp findModel(ModuleOp module) {
    auto model = module.lookupSymbol<LLVM::LLVMFuncOp>(entryName);
    if (!model || model.isExternal()) {
      module.emitError("no LLVM-dialect function @")
          << entryName << " (run after gpu-to-llvm)";
      return nullptr;
    }
    if (!isa<LLVM::LLVMVoidType>(model.getFunctionType().getReturnType())) {
      model.emitOpError("must return nothing (results are out-parameters)");
      return nullptr;
    }
    // The workspace argument (kiln-plan-workspace) comes last; the buffers
    // precede it.
    unsigned numArgs = model.getNumArguments();
    if (numArgs == 0 || !model.getArgAttr(numArgs - 1, "kiln.workspace")) {
      model.emitOpError("expects a last argument tagged kiln.workspace "
                        "(run kiln-plan-workspace)");
      return nullptr;
    }
    return model;
  }

  /// The arguments the runtime passes the model after the workspace.
  struct RuntimeArguments {
    Value calls;      // const kiln_gpu_calls *
    Value runtimeCtx; // the context the calls take first
  };

  /// The model becomes (buffers..., workspace, calls, ctx) -> i32, every
  /// return returning 0.
  RuntimeArguments addRuntimeArguments(LLVM::LLVMFuncOp model) {
    MLIRContext *ctx = &getContext();
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    Type i32 = IntegerType::get(ctx, 32);
    Location loc = model.getLoc();
    unsigned numArgs = model.getNumArguments();
    SmallVector<Type> params(model.getFunctionType().getParams());
    params.append({ptr, ptr});
    model.setFunctionType(LLVM::LLVMFunctionType::get(i32, params));
    model.getBody().front().addArguments({ptr, ptr}, {loc, loc});
    if (ArrayAttr argAttrs = model.getArgAttrsAttr()) {
      SmallVector<Attribute> attrs(argAttrs.begin(), argAttrs.end());
      attrs.append(2, DictionaryAttr::get(ctx));
      model.setArgAttrsAttr(ArrayAttr::get(ctx, attrs));
    }

    OpBuilder b(ctx);
    SmallVector<LLVM::ReturnOp> returns;
    model.walk([&](LLVM::ReturnOp r) { returns.push_back(r); });
    for (LLVM::ReturnOp r : returns) {
      b.setInsertionPoint(r);
      Value zero = LLVM::ConstantOp::create(b, r.getLoc(), i32, 0);
      LLVM::ReturnOp::create(b, r.getLoc(), zero);
      r.erase();
    }
    return {model.getArgument(numArgs), model.getArgument(numArgs + 1)};
  }

  /// One block of the model that returns the first failing status, its
  /// block argument.
  Block *addFailureBlock(LLVM::LLVMFuncOp model) {
    Block *fail = new Block();
    model.getBody().push_back(fail);
    Value failStatus =
        fail->addArgument(IntegerType::get(&getContext(), 32), model.getLoc());
    OpBuilder b = OpBuilder::atBlockEnd(fail);
    LLVM::ReturnOp::create(b, model.getLoc(), failStatus);
    return fail;
  }

  /// Every launch in the module, checked to be a synchronous launch without
  /// clusters in the model. Failure after an error.
  FailureOr<SmallVector<gpu::LaunchFuncOp>>
  collectLaunches(ModuleOp module, LLVM::LLVMFuncOp model) {
    SmallVector<gpu::LaunchFuncOp> launches;
    WalkResult walk = module.walk([&](gpu::LaunchFuncOp launch) {
      if (launch->getParentOfType<LLVM::LLVMFuncOp>() != model) {
        launch.emitOpError("must be in @") << entryName;
        return WalkResult::interrupt();
      }
      if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty() ||
          launch.hasClusterSize()) {
        launch.emitOpError("async launches and clusters are not supported");
        return WalkResult::interrupt();
      }
      launches.push_back(launch);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();
    return launches;
  }

  /// Replaces `launch` by `status = calls->launch(ctx, kernelIndex, grid,
  /// block, smem, params)` and a branch to `fail` when the status is not 0.
  void replaceLaunch(gpu::LaunchFuncOp launch, unsigned kernelIndex,
                     const RuntimeArguments &runtime, Block *fail) {
    MLIRContext *ctx = &getContext();
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    Type i32 = IntegerType::get(ctx, 32);
    auto callsType = LLVM::LLVMStructType::getLiteral(ctx, {i32, ptr, ptr, ptr});
    auto launchType = LLVM::LLVMFunctionType::get(
        i32, {ptr, i32, i32, i32, i32, i32, i32, i32, i32, ptr});
    Location l = launch.getLoc();
    OpBuilder b(ctx);

    // The argument slots and the params array live in the entry block.
    auto model = launch->getParentOfType<LLVM::LLVMFuncOp>();
    b.setInsertionPointToStart(&model.getBody().front());
    Value one = LLVM::ConstantOp::create(b, l, b.getI64Type(), 1);
    unsigned n = launch.getKernelOperands().size();
    auto arrayType = LLVM::LLVMArrayType::get(ptr, std::max(n, 1u));
    Value array = LLVM::AllocaOp::create(b, l, ptr, arrayType, one, 8);
    SmallVector<Value> slots;
    for (Value arg : launch.getKernelOperands())
      slots.push_back(LLVM::AllocaOp::create(b, l, ptr, arg.getType(), one, 8));

    b.setInsertionPoint(launch);
    for (auto [i, arg] : llvm::enumerate(launch.getKernelOperands())) {
      LLVM::StoreOp::create(b, l, arg, slots[i]);
      Value slotAddr =
          LLVM::GEPOp::create(b, l, ptr, arrayType, array,
                              ArrayRef<LLVM::GEPArg>{0, (int32_t)i});
      LLVM::StoreOp::create(b, l, slots[i], slotAddr);
    }
    auto toI32 = [&](Value v) -> Value {
      unsigned width = v.getType().getIntOrFloatBitWidth();
      if (width > 32)
        return LLVM::TruncOp::create(b, l, i32, v);
      if (width < 32)
        return LLVM::ZExtOp::create(b, l, i32, v);
      return v;
    };
    gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
    gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
    Value smem = launch.getDynamicSharedMemorySize()
                     ? toI32(launch.getDynamicSharedMemorySize())
                     : LLVM::ConstantOp::create(b, l, i32, 0).getResult();
    Value index = LLVM::ConstantOp::create(b, l, i32, kernelIndex);
    Value fieldAddr =
        LLVM::GEPOp::create(b, l, ptr, callsType, runtime.calls,
                            ArrayRef<LLVM::GEPArg>{0, (int32_t)kLaunch});
    Value fn = LLVM::LoadOp::create(b, l, ptr, fieldAddr);
    auto call = LLVM::CallOp::create(
        b, l, launchType,
        ValueRange{fn, runtime.runtimeCtx, index, toI32(grid.x), toI32(grid.y),
                   toI32(grid.z), toI32(block.x), toI32(block.y),
                   toI32(block.z), smem, array});
    Value status = call.getResult();
    Value zero = LLVM::ConstantOp::create(b, l, i32, 0);
    Value failed =
        LLVM::ICmpOp::create(b, l, LLVM::ICmpPredicate::ne, status, zero);
    Block *before = launch->getBlock();
    Block *after = before->splitBlock(launch->getNextNode());
    b.setInsertionPointToEnd(before);
    LLVM::CondBrOp::create(b, l, failed, fail, ValueRange{status}, after,
                           ValueRange{});
    launch.erase();
  }

  /// int32_t ENTRY(void **buffers, void *workspace, const kiln_gpu_calls *,
  /// void *ctx), calling `model` with buffers[0..numBuffers).
  LogicalResult addEntryWrapper(ModuleOp module, LLVM::LLVMFuncOp model,
                                unsigned numBuffers) {
    MLIRContext *ctx = &getContext();
    if (module.lookupSymbol(entrySymbol))
      return module.emitError("the module already has a symbol @")
             << entrySymbol;
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    Type i32 = IntegerType::get(ctx, 32);
    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    Location loc = model.getLoc();
    auto wrapper = LLVM::LLVMFuncOp::create(
        b, loc, entrySymbol,
        LLVM::LLVMFunctionType::get(i32, {ptr, ptr, ptr, ptr}));
    Block *body = wrapper.addEntryBlock(b);
    b.setInsertionPointToStart(body);
    SmallVector<Value> args;
    for (unsigned i = 0; i < numBuffers; ++i) {
      Value slot = LLVM::GEPOp::create(b, loc, ptr, ptr, body->getArgument(0),
                                       ArrayRef<LLVM::GEPArg>{(int32_t)i});
      args.push_back(LLVM::LoadOp::create(b, loc, ptr, slot));
    }
    args.append({body->getArgument(1), body->getArgument(2),
                 body->getArgument(3)});
    auto call = LLVM::CallOp::create(b, loc, model, args);
    LLVM::ReturnOp::create(b, loc, call.getResult());
    return success();
  }
};

} // namespace
