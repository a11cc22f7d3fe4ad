//===- KilnEvaluate.h - Evaluating Kiln ops on constants --------*- C++ -*-===//
//
// Kiln has one constant evaluator, in two drivers that share these rules:
//
//  - the ops' folds (KilnFolds.cpp) evaluate small constants (up to 16K
//    elements) as attributes, exactly (APInt/APFloat), for canonicalize and
//    the importer's shape computations;
//  - BlockEvaluator evaluates a value computed from constants a block at a
//    time, as doubles, without materializing it: a raising pass asks for a
//    few rows of a [S, L] attention mask at once, so a mask's size is not
//    bounded by memory and nothing is interned in the context.
//
// Both index tensors with rowMajorStrides/broadcastSource and decide
// comparisons with compareHolds.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECTS_KILN_KILNEVALUATE_H
#define KILN_DIALECTS_KILN_KILNEVALUATE_H

#include "kiln/dialects/Kiln/KilnOps.h"

#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"

#include <memory>
#include <optional>
#include <vector>

namespace kiln {

/// Row-major strides of `shape`.
llvm::SmallVector<int64_t> rowMajorStrides(llvm::ArrayRef<int64_t> shape);

/// The number of elements of `shape`.
int64_t elementCount(llvm::ArrayRef<int64_t> shape);

/// The flat index into a tensor of shape `in` that NumPy broadcasting reads
/// for the flat index `flat` of the broadcast shape `out`.
int64_t broadcastSource(int64_t flat, llvm::ArrayRef<int64_t> out,
                        llvm::ArrayRef<int64_t> in);

/// Whether `dir` holds for two elements ordered as `order` (-1, 0, 1 for
/// less, equal, greater; nothing for unordered, a NaN).
bool compareHolds(CompareDirection dir, std::optional<int> order);

/// A row-major tensor of values held as doubles (exact for f32, f16, bf16,
/// i1 and integers below 2^53, which is all a mask is built from).
struct EvaluatedTensor {
  llvm::SmallVector<int64_t> shape;
  std::vector<double> values;
};

/// A block of a tensor: [start, start + count) along each dimension.
struct Box {
  llvm::SmallVector<int64_t> start, count;
  static Box whole(llvm::ArrayRef<int64_t> shape);
};

/// `in` broadcast (NumPy, aligned on the right) to `out`.
std::vector<double> broadcastTo(const EvaluatedTensor &in,
                                llvm::ArrayRef<int64_t> out);

/// Evaluates values computed from constants only, with the ops masks are
/// built from (arithmetic, compare, select, logic on i1, signed casts,
/// transpose, slice, trilu, reshape, broadcast, concat), one block at a
/// time. Ops that move data in ways a block cannot follow (concat, reshapes
/// that do more than add or drop unit dimensions) are evaluated whole,
/// within `limit` elements. Memoizes: make a fresh one after erasing ops.
class BlockEvaluator {
public:
  explicit BlockEvaluator(int64_t limit) : limit(limit) {}

  /// Whether `v` is computed from constants only, by ops this knows.
  bool isComputable(mlir::Value v, unsigned depth = 0);

  /// The elements of `v` inside `box`, as a tensor of the box's shape; null
  /// when they cannot be evaluated (call isComputable first).
  std::unique_ptr<EvaluatedTensor> evaluate(mlir::Value v, const Box &box,
                                            unsigned depth = 0);

private:
  using Result = std::unique_ptr<EvaluatedTensor>;
  Result evaluateConstant(mlir::Value v, const Box &box);
  Result evaluateElementwise(mlir::Operation *op, const Box &box,
                             unsigned depth);
  Result evaluateTranspose(TransposeOp op, const Box &box, unsigned depth);
  Result evaluateSlice(SliceOp op, const Box &box, unsigned depth);
  Result evaluateTrilu(TriluOp op, const Box &box, unsigned depth);
  Result evaluateUnitReshape(ReshapeOp op, const Box &box, unsigned depth);
  Result evaluateFromWhole(mlir::Value v, const Box &box, unsigned depth);
  /// The whole of `v` for ops a block cannot follow (memoized).
  const EvaluatedTensor *evaluateWhole(mlir::Value v, unsigned depth);
  Result evaluateWholeConcat(ConcatOp op, unsigned depth);

  int64_t limit;
  llvm::DenseMap<mlir::Value, bool> computable;
  llvm::DenseMap<mlir::Value, std::unique_ptr<EvaluatedTensor>> whole;
};

} // namespace kiln

#endif // KILN_DIALECTS_KILN_KILNEVALUATE_H
