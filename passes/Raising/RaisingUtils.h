//===- RaisingUtils.h - Helpers of the raising passes -----------*- C++ -*-===//
//
// Private to passes/Raising: what the raising passes share. Exported graphs spell constants as `arith.constant` splats (0.5,
// 1.4142135, the epsilon) and weights or tables as dense or dense_resource
// constants; a raising pass compares the former by value and reads the
// latter byte for byte.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_RAISINGUTILS_H
#define KILN_PASSES_RAISINGUTILS_H

#include "kiln/dialects/Kiln/SymbolicDims.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseSet.h"

#include <optional>
#include <string>
#include <vector>

namespace kiln::raising {

/// The value of `v` when it is a float constant whose elements are all
/// equal (a splat of any shape, or a `tensor.splat` of a constant), or
/// nothing.
std::optional<double> splatFloat(mlir::Value v);

/// Gives `raised` its own location, then those of every node of the
/// subgraph that `root` ends (kiln::matchedSubgraphLoc): call it before
/// root's uses are replaced. Every raised op so names all the nodes it stands for.
void takeProvenance(mlir::Operation *raised, mlir::Operation *root);

/// The constant a `tensor.splat` fills `v` with (integers signed, i1 as 0
/// or 1), or nothing. ConstantOfShape and zeros of a run-time shape import
/// that way, where a static shape gives a splat constant.
/// The value of a constant scalar or splat (booleans as 0/1).
std::optional<double> scalarConstant(mlir::Value v);
std::optional<double> splatFillValue(mlir::Value v);

/// Whether the constant `got`, stored in `elementType`, stands for the exact
/// value `want`: equal within a relative tolerance suited to the type
/// (1e-6 for f32 and f64, a few ulps for 16-bit floats). Zero matches only
/// magnitudes below that tolerance.
bool isNear(double got, double want, mlir::Type elementType);

/// The relative tolerance isNear uses for `elementType`.
double tolerance(mlir::Type elementType);

/// The row-major bytes of a float constant (dense or dense_resource) of a
/// type with whole-byte elements, splats expanded; nothing otherwise.
std::optional<std::vector<char>> constantBytes(mlir::Value v);
/// The same bytes read where they lie when they can be (kiln::constantBytes
/// with `storage`), for whole weights.
std::optional<llvm::ArrayRef<char>> constantBytes(mlir::Value v,
                                                  std::vector<char> &storage);

/// A constant of `type` holding `bytes`: inline up to 256 elements (so
/// folding can read it), a dense_resource blob named `name` above, as the
/// importer does.
mlir::Value createConstant(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::RankedTensorType type,
                           llvm::ArrayRef<char> bytes, llvm::StringRef name);

/// The one user of `v`, when it has exactly one.
inline mlir::Operation *soleUser(mlir::Value v) {
  return v.hasOneUse() ? *v.getUsers().begin() : nullptr;
}

/// Erases every op of `roots` that has no use left and no side effect, and
/// then whatever such ops alone kept alive. Raising passes call it after
/// they replaced the results of the subgraphs they raised. When `erased` is
/// given, every erased op is added to it (a pass that collected anchors
/// before rewriting skips those).
void eraseDeadOps(llvm::ArrayRef<mlir::Operation *> roots,
                  llvm::DenseSet<mlir::Operation *> *erased = nullptr);

/// The input of a reshape in any form the importer writes one: kiln.reshape
/// (static shapes), tensor.expand_shape / collapse_shape (a Reshape with
/// run-time sizes whose dimensions group), tensor.reshape (one whose
/// dimensions do not). Null when `v` is not a reshape's result.
mlir::Value reshapeInput(mlir::Value v);

/// The input of a broadcast in any form the importer writes one:
/// kiln.broadcast (static shapes), or the linalg.generic an Expand with
/// run-time sizes imports as (one input, read at the output's indices with
/// 0 along the stretched dimensions, yielded unchanged). Null otherwise.
mlir::Value broadcastInput(mlir::Value v);

/// Whether `v` holds 0, 1, ..., n - 1 along its one dimension that is not
/// 1: Range(0, n, 1) as imported with a run-time n (a linalg.generic
/// yielding its index), through reshapes that add unit dimensions.
bool isIota(mlir::Value v);

/// Whether `size` (a slice's) is the whole of dimension `d` of `tensor`:
/// the same static size, or for a dynamic one the same product of the
/// function's symbols (`seq` however it was computed).
bool isWholeDim(SymbolicDims &dims, mlir::OpFoldResult size,
                mlir::Value tensor, int64_t d);

/// Rewrites every `tensor.dim` under `root` into sizes of the function's
/// arguments (through the ops' reified result shapes) and erases those left
/// unused. The importer of a model with dynamic dimensions sizes its ops
/// with `tensor.dim`s of intermediate values, and those count as uses: a
/// value read once by an op and queried for its size would fail every
/// "one user" check of a pattern, and the query would keep the decomposed
/// subgraph alive after it was raised. Static IR has no `tensor.dim` and
/// is left untouched. Raising passes call it first.
void resolveShapeQueries(mlir::Operation *root);

/// How remarks print a shape: [2, 3, 4] (verifiers print kiln::shapeString's
/// [2,3,4]).
std::string remarkShape(llvm::ArrayRef<int64_t> shape);

/// `x` as %g prints it (1e-06, 2.5, -inf), for remarks.
std::string formatNumber(double x);

/// The shape of `v` as a broadcast operand of a rank-`rank` result reads
/// it: right-aligned, padded with leading 1s. Empty when `v` has more
/// dimensions than `rank` and the extra ones are not all 1.
llvm::SmallVector<int64_t> alignedShape(mlir::Value v, int64_t rank);

} // namespace kiln::raising

#endif // KILN_PASSES_RAISINGUTILS_H
