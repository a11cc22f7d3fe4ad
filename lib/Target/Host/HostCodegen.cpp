//===- HostCodegen.cpp - LLVM dialect to a host shared object -------------===//
//
// MLIR's LLVM dialect -> LLVM IR -> optimized object file -> ld.lld ->
// position-independent shared object. The model function keeps its
// bare-pointer signature; a small exported wrapper unpacks the runtime's
// buffer array so that the runtime can call any model through one C type.
// Every other symbol is made internal so models never clash with the
// process that loads them. A module with many loop nests is optimized and
// compiled as partitions on threads (SplitModule), one object file each.
//
//===----------------------------------------------------------------------===//

#include "kiln/Target/HostCodegen.h"

#include "KernelCodeSize.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/Threading.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/Transforms/Utils/BasicBlockUtils.h"
#include "llvm/Transforms/Utils/SplitModule.h"

#include <mutex>

using namespace kiln;

/// An error with `message`, for the steps below; emitHostCode turns it into
/// a diagnostic on the module.
static llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string kiln::hostTargetName() {
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  return "cpu-" + triple.getArchName().str();
}

/// The allocator hooks the runtime fills in (kiln/artifact_format.h).
static constexpr const char *kAllocatorSymbol = "kiln_allocator";

/// The pointer to the runtime's collective table (kiln/collectives.h).
static constexpr const char *kCollectivesSymbol = "kiln_collectives";

/// The groups of ranks a rank's collectives run over, which
/// kiln-convert-collectives-to-runtime-calls exports: their count and
/// colors, which the runtime splits the world by at load, and the handles
/// it fills in (kiln/collectives.h's group_split).
static constexpr llvm::StringLiteral kCollectiveGroupSymbols[] = {
    "kiln_collective_group_count", "kiln_collective_group_colors",
    "kiln_collective_groups"};

/// The profiler hook the runtime sets while it profiles (kiln/artifact_format.h).
static constexpr const char *kProfilerSymbol = "kiln_profiler";

/// Gives every definition in `m` but `keep`, the allocator hooks, the
/// collective table and the profiler hook internal linkage, so that only
/// those are exported.
static void internalizeAllBut(llvm::Module &m, const llvm::Function *keep) {
  for (llvm::Function &f : m)
    if (!f.isDeclaration() && &f != keep)
      f.setLinkage(llvm::GlobalValue::InternalLinkage);
  for (llvm::GlobalVariable &g : m.globals())
    if (!g.isDeclaration() && g.getName() != kAllocatorSymbol &&
        g.getName() != kCollectivesSymbol && g.getName() != kProfilerSymbol &&
        !llvm::is_contained(kCollectiveGroupSymbols, g.getName()))
      g.setLinkage(llvm::GlobalValue::InternalLinkage);
}

/// Sends the calls `kiln_profile(i32 kernel, i32 phase)` that
/// kiln-cpu-mark-kernels-for-profiling put around each kernel through the
/// exported `kiln_profiler` pointer: a load and a branch in place of each
/// call (not a function of its own, which the module's partitioning could
/// leave out of line), nothing more while it is null (nobody profiles);
/// the runtime sets it to its recorder.
static void routeProfileCallsThroughHook(llvm::Module &m) {
  llvm::Function *callee = m.getFunction("kiln_profile");
  if (!callee)
    return;
  llvm::LLVMContext &ctx = m.getContext();
  auto *ptrTy = llvm::PointerType::get(ctx, 0);
  llvm::GlobalVariable *hook = nullptr;
  for (llvm::User *user : llvm::make_early_inc_range(callee->users())) {
    auto *call = llvm::dyn_cast<llvm::CallInst>(user);
    if (!call)
      continue;
    if (!hook)
      hook = new llvm::GlobalVariable(
          m, ptrTy, /*isConstant=*/false, llvm::GlobalValue::ExternalLinkage,
          llvm::ConstantPointerNull::get(ptrTy), kProfilerSymbol);
    llvm::IRBuilder<> b(call);
    llvm::Value *target = b.CreateLoad(ptrTy, hook);
    llvm::Instruction *then = llvm::SplitBlockAndInsertIfThen(
        b.CreateIsNotNull(target), call, /*Unreachable=*/false);
    b.SetInsertPoint(then);
    b.CreateCall(callee->getFunctionType(), target,
                 {call->getArgOperand(0), call->getArgOperand(1)});
    call->eraseFromParent();
  }
  if (callee->use_empty())
    callee->eraseFromParent();
}

/// Sends the calls of `kiln_collective_<name>([i64 group,] i64 pointer, i64
/// count, i32 dtype[, i32 peer])` that
/// kiln-convert-collectives-to-runtime-calls made through the exported
/// `kiln_collectives` pointer, which the runtime points at its MPI plugin's
/// table (kiln_collective_calls of kiln/collectives.h) before the first run;
/// the runtime refuses to run such code without one.
static void routeCollectivesThroughTable(llvm::Module &m) {
  // kiln_collective_calls: abi_version, rank, size, then 17 function
  // pointers; `slot` counts from the first (all_reduce). `pointers`: the
  // leading i64 arguments that are pointers (a group's handle, then the
  // buffer).
  struct Member {
    const char *name;
    unsigned slot;
    unsigned pointers;
  };
  static const Member members[] = {{"all_reduce", 0, 1},
                                   {"send", 5, 1},
                                   {"recv", 6, 1},
                                   {"group_all_reduce", 11, 2}};
  constexpr unsigned kSlots = 17;
  llvm::LLVMContext &ctx = m.getContext();
  llvm::Type *ptrTy = llvm::PointerType::get(ctx, 0);
  llvm::Type *i32 = llvm::Type::getInt32Ty(ctx);
  auto *tableTy = llvm::StructType::get(
      ctx, {i32, i32, i32, llvm::ArrayType::get(ptrTy, kSlots)});
  llvm::GlobalVariable *table = nullptr;
  for (const Member &member : members) {
    llvm::Function *callee =
        m.getFunction(std::string("kiln_collective_") + member.name);
    if (!callee || callee->use_empty())
      continue;
    if (!table)
      table = new llvm::GlobalVariable(
          m, ptrTy, /*isConstant=*/false, llvm::GlobalValue::ExternalLinkage,
          llvm::ConstantPointerNull::get(llvm::cast<llvm::PointerType>(ptrTy)),
          kCollectivesSymbol);
    auto *fn = llvm::Function::Create(
        callee->getFunctionType(), llvm::GlobalValue::InternalLinkage,
        std::string("kiln.collective.") + member.name, m);
    callee->replaceAllUsesWith(fn);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
    llvm::Value *calls = b.CreateLoad(ptrTy, table);
    llvm::Value *slot = b.CreateInBoundsGEP(
        tableTy, calls,
        {b.getInt32(0), b.getInt32(3), b.getInt32(member.slot)});
    llvm::Value *target = b.CreateLoad(ptrTy, slot);
    // The table's form: the pointers as pointers, the rest as they are.
    llvm::SmallVector<llvm::Type *> params;
    llvm::SmallVector<llvm::Value *> args;
    for (llvm::Argument &arg : fn->args()) {
      bool pointer = arg.getArgNo() < member.pointers;
      params.push_back(pointer ? ptrTy : arg.getType());
      args.push_back(pointer ? b.CreateIntToPtr(&arg, ptrTy) : &arg);
    }
    auto *targetTy = llvm::FunctionType::get(i32, params, false);
    b.CreateCall(targetTy, target, args);
    b.CreateRetVoid();
    callee->eraseFromParent();
  }
}

/// Sends the model's malloc and free calls through the exported
/// `kiln_allocator` hooks, which the runtime points at its buffer cache
/// (buffers of run-time size are allocated on every run; malloc would map
/// and unmap the large ones each time). Null hooks fall back to malloc and
/// free, so the object still runs anywhere.
static void routeAllocationsThroughHooks(llvm::Module &m) {
  // Declared by the memref lowering whether used or not.
  auto used = [&](llvm::StringRef name) -> llvm::Function * {
    llvm::Function *f = m.getFunction(name);
    return f && !f->use_empty() ? f : nullptr;
  };
  llvm::Function *mallocFn = used("malloc");
  llvm::Function *freeFn = used("free");
  if (!mallocFn && !freeFn)
    return;
  llvm::LLVMContext &ctx = m.getContext();
  llvm::Type *ptrTy = llvm::PointerType::get(ctx, 0);
  auto *hooksTy = llvm::StructType::get(ctx, {ptrTy, ptrTy});
  auto *hooks = new llvm::GlobalVariable(
      m, hooksTy, /*isConstant=*/false, llvm::GlobalValue::ExternalLinkage,
      llvm::ConstantAggregateZero::get(hooksTy), kAllocatorSymbol);
  // Calls `original` unless hook `index` is set, then the hook instead.
  auto redirect = [&](llvm::Function *original, unsigned index,
                      llvm::StringRef name) {
    if (!original)
      return;
    auto *fn = llvm::Function::Create(original->getFunctionType(),
                                      llvm::GlobalValue::InternalLinkage, name,
                                      m);
    original->replaceAllUsesWith(fn);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
    llvm::Value *hook =
        b.CreateLoad(ptrTy, b.CreateStructGEP(hooksTy, hooks, index));
    auto *viaHook = llvm::BasicBlock::Create(ctx, "hook", fn);
    auto *viaLibc = llvm::BasicBlock::Create(ctx, "libc", fn);
    b.CreateCondBr(b.CreateIsNull(hook), viaLibc, viaHook);
    llvm::SmallVector<llvm::Value *> args;
    for (llvm::Argument &arg : fn->args())
      args.push_back(&arg);
    bool returnsValue = !fn->getReturnType()->isVoidTy();
    for (auto [block, callee] :
         {std::pair<llvm::BasicBlock *, llvm::Value *>{viaHook, hook},
          {viaLibc, original}}) {
      b.SetInsertPoint(block);
      llvm::CallInst *call =
          b.CreateCall(original->getFunctionType(), callee, args);
      if (returnsValue)
        b.CreateRet(call);
      else
        b.CreateRetVoid();
    }
  };
  redirect(mallocFn, 0, "kiln.allocate");
  redirect(freeFn, 1, "kiln.release");
}

/// Adds `void SYMBOL(ptr buffers)` calling the model with buffers[i] as its
/// i-th argument.
static llvm::Error addEntryWrapper(llvm::Module &m,
                                   const HostCodegenOptions &opts) {
  if (!opts.addEntryWrapper) {
    llvm::Function *entry = m.getFunction(opts.entrySymbol);
    if (!entry || entry->isDeclaration()) {
      return fail("the module defines no '" + opts.entrySymbol + "'");
    }
    internalizeAllBut(m, entry);
    return llvm::Error::success();
  }
  llvm::Function *model = m.getFunction(opts.entryName);
  if (!model || model->isDeclaration()) {
    return fail("the module has no function '" + opts.entryName + "'");
  }
  llvm::LLVMContext &ctx = m.getContext();
  llvm::Type *ptrTy = llvm::PointerType::get(ctx, 0);
  for (llvm::Type *t : model->getFunctionType()->params())
    if (!t->isPointerTy()) {
      return fail("the model function takes a non-pointer argument; it must "
                  "be lowered with bare-pointer memrefs and static shapes");
    }
  auto *wrapperTy =
      llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrTy}, false);
  auto *wrapper = llvm::Function::Create(
      wrapperTy, llvm::GlobalValue::ExternalLinkage, opts.entrySymbol, m);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", wrapper));
  llvm::SmallVector<llvm::Value *> args;
  for (unsigned i = 0; i < model->arg_size(); ++i) {
    llvm::Value *slot = b.CreateConstInBoundsGEP1_64(ptrTy, wrapper->getArg(0), i);
    args.push_back(b.CreateLoad(ptrTy, slot));
  }
  b.CreateCall(model, args);
  b.CreateRetVoid();
  internalizeAllBut(m, wrapper);
  return llvm::Error::success();
}

static llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const HostCodegenOptions &opts) {
  static bool initialized = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)initialized;
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return fail(error);
  std::string cpu = opts.cpu, features;
  if (cpu != "native") {
    std::unique_ptr<llvm::MCSubtargetInfo> sti(
        target->createMCSubtargetInfo(triple, "", ""));
    if (!sti || !sti->isCPUStringValid(cpu)) {
      return fail("unknown CPU '" + cpu + "' for " + triple.str() +
                  " (use 'native' or an LLVM CPU name such as x86-64-v3)");
    }
  }
  if (cpu == "native") {
    cpu = llvm::sys::getHostCPUName().str();
    llvm::SubtargetFeatures f;
    for (auto &feature : llvm::sys::getHostCPUFeatures())
      f.AddFeature(feature.first(), feature.second);
    features = f.getString();
  }
  llvm::CodeGenOptLevel level = opts.optLevel >= 3   ? llvm::CodeGenOptLevel::Aggressive
                                : opts.optLevel == 2 ? llvm::CodeGenOptLevel::Default
                                : opts.optLevel == 1 ? llvm::CodeGenOptLevel::Less
                                                     : llvm::CodeGenOptLevel::None;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpu, features, llvm::TargetOptions(), llvm::Reloc::PIC_,
      std::nullopt, level));
  if (!tm)
    return fail("LLVM cannot create a target machine for " + triple.str() +
                " with CPU '" + cpu + "'");
  return std::move(tm);
}

llvm::Expected<std::vector<std::string>>
kiln::cpuFeaturesOf(const std::string &cpu,
                    llvm::ArrayRef<llvm::StringRef> features) {
  HostCodegenOptions opts;
  opts.cpu = cpu;
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> tm =
      createTargetMachine(opts);
  if (!tm)
    return tm.takeError();
  const llvm::MCSubtargetInfo *sti = (*tm)->getMCSubtargetInfo();
  std::vector<std::string> enabled;
  for (llvm::StringRef feature : features)
    if (sti->checkFeatures(("+" + feature).str()))
      enabled.push_back(feature.str());
  return enabled;
}

/// Every top-level loop nest of the entry as a function of its own, and
/// the nests that came out identical (the same layer's kernels at every
/// depth of the model: only their buffers differ, and those are arguments)
/// as one function. The generated code is one huge function otherwise,
/// whose optimization and instruction selection dominated compile time,
/// with every layer's copy of a kernel compiled again.
/// The extracted functions stay out of line: a call per loop nest costs
/// nothing next to the nest, and inlining them back would undo the saving.
static void outlineLoopNests(llvm::Module &m, llvm::StringRef entryName,
                             llvm::PassBuilder &pb,
                             llvm::ModuleAnalysisManager &mam) {
  llvm::SmallPtrSet<llvm::Function *, 32> before;
  for (llvm::Function &f : m)
    before.insert(&f);
  llvm::ModulePassManager extract, merge;
  // The cleanups first, so that nests which differ only in how MLIR's
  // lowering spelled their buffer descriptors become identical.
  llvm::cantFail(pb.parsePassPipeline(
      extract,
      "function(sroa,early-cse,instcombine<no-verify-fixpoint>,simplifycfg,"
      "loop-simplify),"
      "loop-extract"));
  llvm::cantFail(pb.parsePassPipeline(merge, "mergefunc"));
  extract.run(m, mam);
  // Before merging, the calls learn which kernels they run (for
  // kiln-inspect's code sizes; KernelCodeSize.h).
  kiln::tagOutlinedCalls(m, before, entryName);
  merge.run(m, mam);
  for (llvm::Function &f : m)
    if (!before.contains(&f) && !f.isDeclaration())
      f.addFnAttr(llvm::Attribute::NoInline);
}

/// Runs `run` with a PassBuilder for `tm` whose analysis managers are
/// registered and cross-wired, as every new-pass-manager pipeline needs.
static void withPassBuilder(
    llvm::TargetMachine &tm,
    llvm::function_ref<void(llvm::PassBuilder &, llvm::ModuleAnalysisManager &)>
        run) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  run(pb, mam);
}

/// LLVM's default pipeline at `optLevel` (nothing at 0).
static void optimize(llvm::Module &m, llvm::TargetMachine &tm,
                     unsigned optLevel) {
  if (optLevel == 0)
    return;
  llvm::OptimizationLevel level = optLevel >= 3   ? llvm::OptimizationLevel::O3
                                  : optLevel == 2 ? llvm::OptimizationLevel::O2
                                                  : llvm::OptimizationLevel::O1;
  withPassBuilder(tm, [&](llvm::PassBuilder &pb,
                          llvm::ModuleAnalysisManager &mam) {
    pb.buildPerModuleDefaultPipeline(level).run(m, mam);
  });
}

static llvm::Error emitObject(llvm::Module &m, llvm::TargetMachine &tm,
                              llvm::SmallString<0> &object) {
  llvm::raw_svector_ostream os(object);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr,
                             llvm::CodeGenFileType::ObjectFile))
    return fail("LLVM cannot emit object files for this target");
  pm.run(m);
  return llvm::Error::success();
}

/// How many partitions to compile `m` in: `jobs`, or one per hardware
/// thread (at most 4) when it is 0, when it has a few functions per
/// partition to share out.
static unsigned partitionCount(const llvm::Module &m, unsigned jobs) {
  unsigned threads =
      jobs ? jobs
           : std::min(4u, llvm::heavyweight_hardware_concurrency()
                              .compute_thread_count());
  unsigned functions = 0;
  for (const llvm::Function &f : m)
    functions += !f.isDeclaration();
  return functions >= 4 * threads ? threads : 1;
}

/// `m` (loop nests outlined) optimized and compiled into object files:
/// one, or one per partition, each partition optimized and compiled on
/// its own thread in its own LLVMContext (a context is not thread-safe;
/// partitions cross over as bitcode). The outlined nests are noinline,
/// so the partitions lose no optimization the whole module would have.
static llvm::Error compileToObjects(llvm::Module &m, llvm::TargetMachine &tm,
                                    const HostCodegenOptions &opts,
                                    std::vector<llvm::SmallString<0>> &objects,
                                    std::vector<uint64_t> &kernelBytes) {
  unsigned parts = partitionCount(m, opts.jobs);
  if (parts <= 1) {
    optimize(m, tm, opts.optLevel);
    llvm::Error error = emitObject(m, tm, objects.emplace_back());
    if (!error)
      kiln::addKernelCodeBytes(m, objects.back().str(), kernelBytes);
    return error;
  }
  std::vector<llvm::SmallString<0>> bitcode;
  llvm::SplitModule(m, parts, [&](std::unique_ptr<llvm::Module> part) {
    llvm::raw_svector_ostream os(bitcode.emplace_back());
    llvm::WriteBitcodeToFile(*part, os);
  });
  objects.resize(bitcode.size());
  std::mutex errorsLock;
  std::string errors;
  llvm::DefaultThreadPool pool(llvm::hardware_concurrency(parts));
  for (size_t i = 0; i < bitcode.size(); ++i) {
    pool.async([&, i] {
      auto report = [&](llvm::Error error) {
        std::lock_guard<std::mutex> guard(errorsLock);
        errors += (errors.empty() ? "" : "; ") +
                  llvm::toString(std::move(error));
      };
      llvm::LLVMContext ctx;
      llvm::Expected<std::unique_ptr<llvm::Module>> part =
          llvm::parseBitcodeFile(
              llvm::MemoryBufferRef(bitcode[i].str(), "partition"), ctx);
      if (!part)
        return report(part.takeError());
      llvm::Expected<std::unique_ptr<llvm::TargetMachine>> partTm =
          createTargetMachine(opts);
      if (!partTm)
        return report(partTm.takeError());
      optimize(**part, **partTm, opts.optLevel);
      if (llvm::Error error = emitObject(**part, **partTm, objects[i]))
        return report(std::move(error));
      std::lock_guard<std::mutex> guard(errorsLock);
      kiln::addKernelCodeBytes(**part, objects[i].str(), kernelBytes);
    });
  }
  pool.wait();
  if (!errors.empty())
    return fail("compiling the host code's partitions: " + errors);
  return llvm::Error::success();
}

/// Links `objects` into a shared object with ld.lld, through temporary
/// files that are removed whatever happens.
static llvm::Error link(const std::vector<llvm::SmallString<0>> &objects,
                        const HostCodegenOptions &opts,
                        std::string &sharedObject) {
  std::string linker = opts.linker;
  if (linker.empty())
    if (const char *env = std::getenv("KILN_LLD"))
      linker = env;
  if (linker.empty())
    linker = KILN_DEFAULT_LLD;
  if (!llvm::sys::fs::can_execute(linker)) {
    return fail("the linker '" + linker +
                "' is missing (install lld-22, or set KILN_LLD)");
  }
  std::vector<llvm::SmallString<128>> objPaths(objects.size());
  std::vector<std::unique_ptr<llvm::FileRemover>> removeObjs;
  for (size_t i = 0; i < objects.size(); ++i) {
    int fd;
    if (auto ec =
            llvm::sys::fs::createTemporaryFile("kiln", "o", fd, objPaths[i]))
      return fail("cannot create a temporary file: " + ec.message());
    removeObjs.push_back(std::make_unique<llvm::FileRemover>(objPaths[i]));
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << objects[i];
  }
  llvm::SmallString<128> soPath;
  if (auto ec = llvm::sys::fs::createTemporaryFile("kiln", "so", soPath)) {
    return fail("cannot create a temporary file: " + ec.message());
  }
  llvm::FileRemover removeSo(soPath);
  // libomp only becomes a dependency of code with parallel loops
  // (--as-needed); the RUNPATH finds LLVM's copy, which is not on the
  // loader's default path.
  llvm::SmallVector<llvm::StringRef> args = {
      linker, "-shared", "--no-undefined-version", "-z", "noexecstack",
      "--as-needed", "-o", soPath};
  for (const llvm::SmallString<128> &path : objPaths)
    args.push_back(path);
  // Only the members the objects call are pulled in (e.g. __truncsfbf2).
  if (llvm::StringRef(KILN_COMPILER_RT_BUILTINS).size() &&
      llvm::sys::fs::exists(KILN_COMPILER_RT_BUILTINS))
    args.push_back(KILN_COMPILER_RT_BUILTINS);
  args.append({"-lm", "-lc", "-L" KILN_OPENMP_LIBDIR, "-rpath",
               KILN_OPENMP_LIBDIR, "-lomp", "-L/usr/lib/x86_64-linux-gnu",
               "-L/lib/x86_64-linux-gnu"});
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(linker, args, std::nullopt, {}, 0, 0,
                                     &message);
  if (rc != 0) {
    return fail("linking with ld.lld failed" +
                (message.empty() ? std::string() : ": " + message));
  }
  auto buffer = llvm::MemoryBuffer::getFile(soPath, /*IsText=*/false);
  if (!buffer) {
    return fail("cannot read the linked shared object: " +
                buffer.getError().message());
  }
  sharedObject = (*buffer)->getBuffer().str();
  return llvm::Error::success();
}

namespace {
/// Takes the non-LLVM attributes (kiln.weight, kiln.name, ...) off the
/// arguments of the module's LLVM functions for its lifetime. MLIR's
/// translation warns once per such attribute, and each warning prints the
/// whole function into its diagnostic: with a weight argument per layer
/// that cost seconds on a 4-layer decoder, for warnings nobody sees.
class ForeignArgumentAttrsHidden {
public:
  explicit ForeignArgumentAttrsHidden(mlir::ModuleOp module) {
    module.walk([&](mlir::LLVM::LLVMFuncOp func) {
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i) {
        mlir::DictionaryAttr attrs = func.getArgAttrDict(i);
        if (!attrs)
          continue;
        llvm::SmallVector<mlir::NamedAttribute> kept;
        for (mlir::NamedAttribute attr : attrs)
          if (attr.getName().strref().starts_with("llvm."))
            kept.push_back(attr);
        if (kept.size() == attrs.size())
          continue;
        saved.push_back({func, i, attrs});
        func.setArgAttrs(i, kept);
      }
    });
  }
  ~ForeignArgumentAttrsHidden() {
    for (auto &[func, index, attrs] : saved)
      func.setArgAttrs(index, attrs);
  }

private:
  struct Saved {
    mlir::LLVM::LLVMFuncOp func;
    unsigned index;
    mlir::DictionaryAttr attrs;
  };
  llvm::SmallVector<Saved> saved;
};
} // namespace

mlir::LogicalResult kiln::emitHostCode(mlir::ModuleOp module,
                                       const HostCodegenOptions &opts,
                                       llvm::raw_ostream *irOut,
                                       std::string &sharedObject,
                                       std::vector<uint64_t> *kernelCodeBytes) {
  auto report = [&](llvm::Error error) {
    return mlir::emitError(module.getLoc()) << llvm::toString(std::move(error));
  };
  llvm::LLVMContext ctx;
  std::unique_ptr<llvm::Module> m;
  {
    ForeignArgumentAttrsHidden hidden(module);
    m = mlir::translateModuleToLLVMIR(module, ctx);
  }
  if (!m)
    return report(fail("translation to LLVM IR failed"));
  kiln::tagKernelInstructions(*m, opts.entryName);
  routeAllocationsThroughHooks(*m);
  routeCollectivesThroughTable(*m);
  routeProfileCallsThroughHook(*m);
  if (llvm::Error error = addEntryWrapper(*m, opts))
    return report(std::move(error));
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> tm =
      createTargetMachine(opts);
  if (!tm)
    return report(tm.takeError());
  m->setTargetTriple((*tm)->getTargetTriple());
  m->setDataLayout((*tm)->createDataLayout());
  if (llvm::verifyModule(*m, &llvm::errs()))
    return report(fail("the generated LLVM IR does not verify"));
  if (opts.optLevel > 0)
    withPassBuilder(
        **tm, [&](llvm::PassBuilder &pb, llvm::ModuleAnalysisManager &mam) {
          outlineLoopNests(*m, opts.entryName, pb, mam);
        });
  if (irOut) {
    optimize(*m, **tm, opts.optLevel);
    m->print(*irOut, nullptr);
    return mlir::success();
  }
  kiln::markKernelFunctions(*m, opts.entryName);
  std::vector<llvm::SmallString<0>> objects;
  std::vector<uint64_t> kernelBytes;
  if (llvm::Error error =
          compileToObjects(*m, **tm, opts, objects, kernelBytes))
    return report(std::move(error));
  if (kernelCodeBytes)
    *kernelCodeBytes = std::move(kernelBytes);
  if (llvm::Error error = link(objects, opts, sharedObject))
    return report(std::move(error));
  return mlir::success();
}
