//===- EntryBoundary.h - Retyping the model function's boundary -*- C++ -*-===//
//
// Private to passes/Boundary. The boundary passes change how the entry
// function's arguments and results are laid out and convert them at the
// edge of its body; this is what they share: finding the entry (and
// failing without it), and the walk over its boundary.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_BOUNDARY_ENTRYBOUNDARY_H
#define KILN_PASSES_BOUNDARY_ENTRYBOUNDARY_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace kiln {

/// The function `entryName` of `module`; null after reporting on the
/// module that there is none.
mlir::func::FuncOp findEntry(mlir::ModuleOp module, llvm::StringRef entryName);

/// The runOnOperation of a boundary pass that works on the entry function
/// (its entry-name option): `Derived::runOnEntry(entry)`, the pass failing
/// when there is no such function or that fails. `PassBase` is the pass's
/// generated base class template.
template <typename Derived, template <typename> class PassBase>
struct EntryFunctionPass : PassBase<Derived> {
  using PassBase<Derived>::PassBase;

  void runOnOperation() override {
    mlir::func::FuncOp entry = findEntry(this->getOperation(), this->entryName);
    if (!entry || mlir::failed(static_cast<Derived *>(this)->runOnEntry(entry)))
      this->signalPassFailure();
  }
};

/// Retypes the arguments and results of the function `entryName` in
/// `module` (nothing when it is absent or external), then its type.
/// `argument(i, arg, b)` is called with `b` at the start of the body and
/// returns the argument's new type after rewriting its uses (null: keep it);
/// `result(operand, b)` is called for each operand of each return with `b`
/// before the return and returns the new result type after setting the
/// operand (null: keep it).
void retypeEntryBoundary(
    mlir::ModuleOp module, llvm::StringRef entryName,
    llvm::function_ref<mlir::Type(unsigned, mlir::BlockArgument,
                                  mlir::OpBuilder &)>
        argument,
    llvm::function_ref<mlir::Type(mlir::OpOperand &, mlir::OpBuilder &)>
        result);

} // namespace kiln

#endif // KILN_PASSES_BOUNDARY_ENTRYBOUNDARY_H
