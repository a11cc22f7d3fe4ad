//===- KernelDescription.cpp - A kernel's loop nest in one line -----------===//

#include "KernelDescription.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;

namespace {

/// "64" for a loop of constant bounds, "?" otherwise.
std::string tripCount(Value lower, Value upper, Value step) {
  std::optional<int64_t> lb = getConstantIntValue(lower),
                         ub = getConstantIntValue(upper),
                         st = getConstantIntValue(step);
  if (!lb || !ub || !st || *st <= 0)
    return "?";
  return std::to_string(*ub > *lb ? (*ub - *lb + *st - 1) / *st : 0);
}

/// One level of a loop nest: the loop and its trip counts.
std::string describeLevel(Operation *op) {
  if (auto loop = dyn_cast<scf::ForOp>(op))
    return "scf.for " + tripCount(loop.getLowerBound(), loop.getUpperBound(),
                                  loop.getStep());
  if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
    SmallVector<std::string> counts;
    for (auto [lb, ub, st] :
         llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep()))
      counts.push_back(tripCount(lb, ub, st));
    return "scf.parallel " + llvm::join(counts, "x");
  }
  if (auto call = dyn_cast<func::CallOp>(op))
    return "call @" + call.getCallee().str();
  return op->getName().getStringRef().str();
}

/// The ops with regions directly inside `op`'s regions.
SmallVector<Operation *> innerNests(Operation *op) {
  SmallVector<Operation *> inner;
  for (Region &region : op->getRegions())
    for (Block &block : region)
      for (Operation &nested : block)
        if (nested.getNumRegions() > 0)
          inner.push_back(&nested);
  return inner;
}

} // namespace

std::string kiln::describeLoopNest(Operation *kernel) {
  SmallVector<std::string> levels;
  Operation *op = kernel;
  for (unsigned depth = 0; op && depth < 8; ++depth) {
    levels.push_back(describeLevel(op));
    SmallVector<Operation *> inner = innerNests(op);
    if (inner.size() > 1)
      levels.push_back(std::to_string(inner.size()) + " nests");
    op = inner.size() == 1 ? inner.front() : nullptr;
  }
  return llvm::join(levels, " / ");
}
