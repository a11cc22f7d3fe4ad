//===- DescribeMemoryPlan.h - The workspace plan in kernel terms -*- C++
//-*-===//
//
// kiln-plan-workspace places buffers by the positions of the entry's
// top-level ops; kiln-inspect shows the plan in the terms of the kernel
// table instead: each buffer with the first and last kernel that use it,
// and the most bytes live during one kernel. Both targets record it where
// they number their kernels (kiln-cpu-mark-kernels-for-profiling, the
// CUDA target's launch table) as the module attribute kMemoryPlanAttrName.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_MEMORY_DESCRIBEMEMORYPLAN_H
#define KILN_PASSES_MEMORY_DESCRIBEMEMORYPLAN_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace kiln {

/// The memory plan of `func` (its views of the `kiln.workspace` argument)
/// as the kMemoryPlanAttrName dictionary (kiln/dialects/Kiln/KernelNames.h),
/// each buffer's life in the ids of `kernels` (top-level ops of `func`,
/// numbered from `firstId`): the first and last kernel that use the buffer
/// or anything that may alias it. Null when `func` has no workspace
/// argument.
mlir::DictionaryAttr
describeMemoryPlan(mlir::func::FuncOp func,
                   llvm::ArrayRef<mlir::Operation *> kernels, unsigned firstId);

} // namespace kiln

#endif // KILN_PASSES_MEMORY_DESCRIBEMEMORYPLAN_H
