//===- KernelCodeSize.cpp - Each kernel's bytes of machine code -----------===//

#include "KernelCodeSize.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/Metadata.h"
#include "llvm/Object/ELFObjectFile.h"
#include "llvm/Object/ObjectFile.h"

#include <set>

using namespace llvm;

namespace {

constexpr StringLiteral kKernelMetadata = "kiln.kernel";
constexpr StringLiteral kKernelsAttr = "kiln-kernels";

/// The kernels an instruction's metadata names.
void kernelsOf(const Instruction &inst, std::set<uint32_t> &out) {
  MDNode *node = inst.getMetadata(kKernelMetadata);
  if (!node)
    return;
  for (const MDOperand &op : node->operands())
    if (auto *c = mdconst::dyn_extract_or_null<ConstantInt>(op.get()))
      out.insert(uint32_t(c->getZExtValue()));
}

void setKernels(Instruction &inst, const std::set<uint32_t> &kernels) {
  LLVMContext &ctx = inst.getContext();
  SmallVector<Metadata *> ops;
  for (uint32_t k : kernels)
    ops.push_back(
        ConstantAsMetadata::get(ConstantInt::get(Type::getInt32Ty(ctx), k)));
  inst.setMetadata(kKernelMetadata, MDNode::get(ctx, ops));
}

/// The functions `inst` references directly (a call's callee, a function
/// passed as an argument, e.g. an OpenMP body to __kmpc_fork_call).
SmallVector<Function *> referencedFunctions(Instruction &inst) {
  SmallVector<Function *> out;
  for (Value *op : inst.operands())
    if (auto *f = dyn_cast<Function>(op->stripPointerCasts()))
      if (!f->isDeclaration())
        out.push_back(f);
  return out;
}

} // namespace

void kiln::tagKernelInstructions(Module &m, StringRef entryName) {
  Function *entry = m.getFunction(entryName);
  Function *profile = m.getFunction("kiln_profile");
  if (!entry || entry->isDeclaration() || !profile)
    return;
  // The translation keeps MLIR's block order, which is program order for
  // the entry's straight-line sequence of loop nests.
  std::optional<uint32_t> current;
  for (Instruction &inst : instructions(*entry)) {
    auto *call = dyn_cast<CallInst>(&inst);
    if (call && call->getCalledFunction() == profile) {
      auto *kernel = dyn_cast<ConstantInt>(call->getArgOperand(0));
      auto *phase = dyn_cast<ConstantInt>(call->getArgOperand(1));
      if (kernel && phase)
        current = phase->isZero()
                      ? std::optional<uint32_t>(kernel->getZExtValue())
                      : std::nullopt;
      continue;
    }
    if (current)
      setKernels(inst, {*current});
  }
}

void kiln::tagOutlinedCalls(Module &m,
                            const SmallPtrSetImpl<Function *> &before,
                            StringRef entryName) {
  // The kernels of each extracted function, from its code's tags.
  SmallVector<std::pair<Function *, std::set<uint32_t>>> extracted;
  for (Function &f : m) {
    if (before.contains(&f) || f.isDeclaration())
      continue;
    std::set<uint32_t> kernels;
    for (Instruction &inst : instructions(f))
      kernelsOf(inst, kernels);
    if (!kernels.empty())
      extracted.push_back({&f, std::move(kernels)});
  }
  for (auto &[f, kernels] : extracted)
    for (User *user : f->users())
      if (auto *call = dyn_cast<CallBase>(user)) {
        std::set<uint32_t> merged = kernels;
        kernelsOf(*call, merged);
        setKernels(*call, merged);
      }
  // mergefunc compares instructions' metadata: the same nest of two layers
  // must still merge, so only the entry (which nothing merges with) keeps
  // its tags; the other functions get their kernels back from its calls.
  for (Function &f : m)
    if (f.getName() != entryName)
      for (Instruction &inst : instructions(f))
        inst.setMetadata(kKernelMetadata, nullptr);
}

void kiln::markKernelFunctions(Module &m, StringRef entryName) {
  // Kernels of each function: its own instructions', then, to a fixed
  // point, those of every tagged instruction or kernel function that
  // references it. The entry (every kernel's caller) keeps none.
  DenseMap<Function *, std::set<uint32_t>> kernels;
  for (Function &f : m)
    if (!f.isDeclaration() && f.getName() != entryName)
      for (Instruction &inst : instructions(f))
        kernelsOf(inst, kernels[&f]);
  for (bool changed = true; changed;) {
    changed = false;
    for (Function &f : m) {
      if (f.isDeclaration())
        continue;
      // A copy: inserting callees below may move the map's sets.
      std::set<uint32_t> own;
      if (f.getName() != entryName)
        own = kernels[&f];
      for (Instruction &inst : instructions(f)) {
        std::set<uint32_t> from = own;
        kernelsOf(inst, from);
        if (from.empty())
          continue;
        for (Function *callee : referencedFunctions(inst)) {
          if (callee->getName() == entryName)
            continue;
          std::set<uint32_t> &to = kernels[callee];
          size_t size = to.size();
          to.insert(from.begin(), from.end());
          changed |= to.size() != size;
        }
      }
    }
  }
  for (auto &[f, ids] : kernels)
    if (!ids.empty())
      f->addFnAttr(
          kKernelsAttr,
          join(map_range(ids, [](uint32_t k) { return utostr(k); }), ","));
}

void kiln::addKernelCodeBytes(const Module &m, StringRef object,
                              std::vector<uint64_t> &bytes) {
  Expected<std::unique_ptr<object::ObjectFile>> file =
      object::ObjectFile::createObjectFile(MemoryBufferRef(object, "kernel"));
  if (!file) {
    consumeError(file.takeError());
    return;
  }
  auto *elf = dyn_cast<object::ELFObjectFileBase>(file->get());
  if (!elf)
    return;
  for (object::ELFSymbolRef symbol : elf->symbols()) {
    Expected<StringRef> name = symbol.getName();
    if (!name) {
      consumeError(name.takeError());
      continue;
    }
    if (symbol.getELFType() != ELF::STT_FUNC)
      continue;
    const Function *f = m.getFunction(*name);
    if (!f || f->isDeclaration() || !f->hasFnAttribute(kKernelsAttr))
      continue;
    SmallVector<StringRef> ids;
    f->getFnAttribute(kKernelsAttr).getValueAsString().split(ids, ',');
    for (StringRef id : ids) {
      unsigned k = 0;
      if (id.getAsInteger(10, k))
        continue;
      if (bytes.size() <= k)
        bytes.resize(k + 1, 0);
      bytes[k] += symbol.getSize();
    }
  }
}
