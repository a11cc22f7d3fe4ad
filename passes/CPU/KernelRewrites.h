//===- KernelRewrites.h - What the CPU kernel passes share -------*- C++
//-*-===//
//
// The passes that replace an op by a kernel of their own (grouped MoE
// experts, quantized linears, integer matmuls, tiled attention, blocked
// contractions) check their block sizes, collect the ops (or the matches)
// they rewrite, read the constants they repack, decide threading by one
// rule and finish the rewrite (reshape, replace, drop the constants they
// repacked) the same way.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_CPU_KERNELREWRITES_H
#define KILN_PASSES_CPU_KERNELREWRITES_H

#include "kiln/dialects/Kiln/KilnConstants.h"
#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace kiln {

/// Below this many multiply-adds (about a millisecond of one core's work)
/// a kernel runs on one thread: forking and joining the OpenMP team
/// costs tens of microseconds, which made the example decoders (hidden 64)
/// three times slower on two threads than on one.
constexpr int64_t kMinParallelMacs = int64_t(1) << 21;

/// A kernel's block sizes (rows, panel width, key block, ...) are counts of
/// at least 1; otherwise `root` reports "<names> must be at least 1".
inline mlir::LogicalResult checkBlockSizes(mlir::Operation *root,
                                           llvm::StringRef names,
                                           llvm::ArrayRef<int64_t> sizes) {
  if (llvm::all_of(sizes, [](int64_t size) { return size >= 1; }))
    return mlir::success();
  return root->emitError() << names << " must be at least 1";
}

/// Every `OpT` under `root`, collected before a rewrite replaces any.
template <typename OpT>
llvm::SmallVector<OpT> collectOps(mlir::Operation *root) {
  llvm::SmallVector<OpT> ops;
  root->walk([&](OpT op) { ops.push_back(op); });
  return ops;
}

/// Rewrites every `OpT` under `root` (collected first) by
/// `rewrite(rewriter, op)`; an op it declines (failure) stays as it was.
template <typename OpT, typename RewriteFn>
void rewriteEachOp(mlir::Operation *root, RewriteFn rewrite) {
  mlir::IRRewriter rewriter(root->getContext());
  for (OpT op : collectOps<OpT>(root))
    (void)rewrite(rewriter, op);
}

/// The same after checking the kernel's block sizes (checkBlockSizes):
/// fails, rewriting nothing, when one is below 1.
template <typename OpT, typename RewriteFn>
mlir::LogicalResult
rewriteEachOp(mlir::Operation *root, llvm::StringRef sizeNames,
              llvm::ArrayRef<int64_t> sizes, RewriteFn rewrite) {
  if (mlir::failed(checkBlockSizes(root, sizeNames, sizes)))
    return mlir::failure();
  rewriteEachOp<OpT>(root, rewrite);
  return mlir::success();
}

/// What `match` (OpT -> std::optional<Match>) makes of every `OpT` under
/// `root`, the ops it declines left out; collected before a rewrite
/// replaces any.
template <typename OpT, typename MatchFn>
auto collectMatches(mlir::Operation *root, MatchFn match) {
  using Match = typename std::invoke_result_t<MatchFn, OpT>::value_type;
  std::vector<Match> matches;
  root->walk([&](OpT op) {
    if (std::optional<Match> m = match(op))
      matches.push_back(std::move(*m));
  });
  return matches;
}

/// The elements of `v` when an arith.constant defines it, else null (also
/// for a null `v`): the weights a kernel repacks at compile time.
inline mlir::ElementsAttr constantElements(mlir::Value v) {
  auto constant = v ? v.getDefiningOp<mlir::arith::ConstantOp>() : nullptr;
  return constant ? llvm::dyn_cast<mlir::ElementsAttr>(constant.getValue())
                  : nullptr;
}

/// An arith.constant of `shape` x `elt` holding the repacked `bytes`
/// (makeConstantAttr names its blob `name`).
inline mlir::Value makeConstant(mlir::OpBuilder &b, mlir::Location loc,
                                llvm::ArrayRef<int64_t> shape, mlir::Type elt,
                                llvm::ArrayRef<char> bytes,
                                llvm::StringRef name) {
  auto type = mlir::RankedTensorType::get(shape, elt);
  return mlir::arith::ConstantOp::create(
      b, loc, llvm::cast<mlir::TypedAttr>(makeConstantAttr(type, bytes, name)));
}

/// Replaces `op` by `replacements`, then erases the producers of `inputs`
/// (the weights the kernel repacked into constants of its own) that nothing
/// reads any more; inputs that are null or block arguments are skipped.
inline void replaceOpAndEraseUnusedInputs(mlir::RewriterBase &rewriter,
                                          mlir::Operation *op,
                                          mlir::ValueRange replacements,
                                          llvm::ArrayRef<mlir::Value> inputs) {
  llvm::SmallPtrSet<mlir::Operation *, 4> producers;
  for (mlir::Value v : inputs)
    if (mlir::Operation *def = v ? v.getDefiningOp() : nullptr)
      producers.insert(def);
  rewriter.replaceOp(op, replacements);
  for (mlir::Operation *def : producers)
    if (def->use_empty())
      rewriter.eraseOp(def);
}

/// The last step of a kernel rewrite: `kernelResult` reshaped to `op`'s
/// (single) result type where it differs, replaces `op`, and the
/// producers of `repackedInputs` that nothing else reads are erased
/// (replaceOpAndEraseUnusedInputs).
inline mlir::LogicalResult
finishKernelRewrite(mlir::RewriterBase &rewriter, mlir::Operation *op,
                    mlir::Value kernelResult,
                    llvm::ArrayRef<mlir::Value> repackedInputs) {
  auto resultType =
      llvm::cast<mlir::RankedTensorType>(op->getResult(0).getType());
  mlir::Value result =
      reshapeTensor(rewriter, op->getLoc(), kernelResult, resultType);
  replaceOpAndEraseUnusedInputs(rewriter, op, result, repackedInputs);
  return mlir::success();
}

} // namespace kiln

#endif // KILN_PASSES_CPU_KERNELREWRITES_H
