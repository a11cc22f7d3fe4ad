//===- SymbolicDims.h - Dimensions as products of symbols -------*- C++ -*-===//
//
// A model compiled for symbolic input dimensions (ONNX dim_params such as
// `batch` and `seq`) computes every other dynamic size from them: a Reshape
// to [batch * seq, -1], a Concat of two sequences, a mask of [seq, seq].
// The importer needs to know such sizes symbolically (is Reshape's -1 the
// static 64, or seq?), and the entry's boundary needs to know which symbol
// each output dimension is. Both ask this file.
//
// A size is a monomial: a constant factor times a product of atoms. An atom
// is an index value the analysis cannot see through; the symbolic
// dimensions of the entry's arguments are atoms, one per symbol name, so a
// size equal to `seq` anywhere in the function evaluates to the same
// monomial. Sizes are read through tensor.dim (of arguments, of ops that
// reify their result shapes), arith's index arithmetic and casts.
//
// The entry function records its symbols as the importer wrote them:
// `kiln.dim_ranges = {batch = array<i64: 1, 64>, ...}` on the function and
// `kiln.dim_symbols = ["batch", "", ...]` on each argument (and result)
// with a dynamic dimension.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECTS_KILN_SYMBOLICDIMS_H
#define KILN_DIALECTS_KILN_SYMBOLICDIMS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

#include <optional>
#include <string>

namespace kiln {

/// Attribute names of the symbolic-dimension records.
constexpr llvm::StringLiteral kDimRangesAttr = "kiln.dim_ranges";
constexpr llvm::StringLiteral kDimSymbolsAttr = "kiln.dim_symbols";
/// The output dimensions only a run knows (a NonZero's count, a Reshape to
/// a shape the input data gives), named in kiln.dim_symbols like symbols;
/// the entry reports their values (kiln-name-output-dims records them).
constexpr llvm::StringLiteral kComputedDimsAttr = "kiln.computed_dims";

/// coefficient * product(atoms), atoms in the order found, with repeats.
struct SymbolicSize {
  int64_t coefficient = 1;
  llvm::SmallVector<mlir::Value, 2> atoms;

  static SymbolicSize constant(int64_t c) { return {c, {}}; }
  bool isConstant() const { return atoms.empty(); }
  bool operator==(const SymbolicSize &o) const;
  SymbolicSize operator*(const SymbolicSize &o) const;
  /// The exact quotient, if `o` divides this monomial.
  std::optional<SymbolicSize> dividedBy(const SymbolicSize &o) const;
};

/// Evaluates sizes in one function. Symbol atoms are the `tensor.dim`s of
/// the first argument dimension carrying each symbol, created at the
/// function's start on first use.
class SymbolicDims {
public:
  explicit SymbolicDims(mlir::func::FuncOp func);

  /// Size `dim` of the ranked tensor `tensor`.
  SymbolicSize sizeOf(mlir::Value tensor, int64_t dim);
  /// The size an index or integer value holds.
  SymbolicSize evaluate(mlir::Value value);
  /// The symbol whose atom `size` is, when it is exactly one symbol.
  std::optional<std::string> symbolOf(const SymbolicSize &size) const;
  /// Whether `size` cannot be negative: a non-negative factor times sizes
  /// of tensors (no opaque arithmetic).
  bool isNonNegative(const SymbolicSize &size) const;
  /// Builds `size` as an index value at the builder's insertion point.
  mlir::Value materialize(mlir::OpBuilder &b, mlir::Location loc,
                          const SymbolicSize &size);
  /// The index value of `symbol` (its atom); null for an unknown name.
  mlir::Value symbolValue(llvm::StringRef symbol);

private:
  SymbolicSize sizeOfDynamic(mlir::Value tensor, int64_t dim);
  SymbolicSize sizeOfArgument(mlir::BlockArgument arg, int64_t dim);
  SymbolicSize atom(mlir::Value v);
  /// An affine expression of sizes, when it is a monomial.
  std::optional<SymbolicSize> evaluateAffine(mlir::AffineExpr expr,
                                             mlir::ValueRange operands,
                                             unsigned numDims);

  mlir::func::FuncOp func;
  /// The argument dimension that defines each symbol, in argument order.
  llvm::StringMap<std::pair<unsigned, int64_t>> symbolSource;
  llvm::StringMap<mlir::Value> symbolAtoms;
  llvm::DenseMap<mlir::Value, std::string> atomSymbols;
  llvm::DenseMap<mlir::Value, SymbolicSize> cache;
  llvm::DenseMap<std::pair<mlir::Value, int64_t>, SymbolicSize> sizes;
};

/// The symbol names of a function argument's or result's dimensions, ""
/// where static or unnamed; empty when it has none recorded.
llvm::SmallVector<std::string> dimSymbols(mlir::DictionaryAttr attrs);

} // namespace kiln

#endif // KILN_DIALECTS_KILN_SYMBOLICDIMS_H
