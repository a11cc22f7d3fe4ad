//===- KernelCodeSize.h - Each kernel's bytes of machine code --*- C++ -*-===//
//
// The CPU target's kernels (kiln-cpu-mark-kernels-for-profiling's loop
// nests) become functions of their own in the host code: the loop nests
// host code generation outlines, the OpenMP bodies of parallel loops. These
// steps follow them there, so that kiln-inspect can say how much machine
// code each kernel is:
//
//  1. tagKernelInstructions, on the translated module: each instruction of
//     the entry between kernel k's two profiler calls gets `kiln.kernel`
//     metadata {k} (it moves with the code into whatever function the code
//     is outlined to).
//  2. tagOutlinedCalls, after the loop nests are extracted: each call of an
//     extracted function gets the kernels of that function's code (the
//     call sites survive mergefunc, which may merge two kernels' copies),
//     and the tags leave every function but the entry (mergefunc would not
//     merge two layers' copies of a nest whose tags differ).
//  3. markKernelFunctions, before optimizing: each function other than the
//     entry gets the attribute "kiln-kernels" = "3,7": the kernels its code
//     or the tagged instructions that reference it belong to.
//  4. addKernelCodeBytes, per object file: each function symbol's size goes
//     to the kernels its function's attribute lists.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_TARGET_HOST_KERNELCODESIZE_H
#define KILN_LIB_TARGET_HOST_KERNELCODESIZE_H

#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/IR/Module.h"

#include <cstdint>
#include <vector>

namespace kiln {

void tagKernelInstructions(llvm::Module &m, llvm::StringRef entryName);

/// `before`: the functions that existed before the extraction. Removes
/// the tags from every function but the entry (mergefunc compares
/// metadata).
void tagOutlinedCalls(llvm::Module &m,
                      const llvm::SmallPtrSetImpl<llvm::Function *> &before,
                      llvm::StringRef entryName);

void markKernelFunctions(llvm::Module &m, llvm::StringRef entryName);

/// Adds the size of each function symbol of `object` (compiled from `m`)
/// to `bytes[k]` for each kernel k its function lists (growing `bytes`).
void addKernelCodeBytes(const llvm::Module &m, llvm::StringRef object,
                        std::vector<uint64_t> &bytes);

} // namespace kiln

#endif // KILN_LIB_TARGET_HOST_KERNELCODESIZE_H
