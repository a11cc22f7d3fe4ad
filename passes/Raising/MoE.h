//===- MoE.h - The parts of kiln-raise-moe ----------------------*- C++ -*-===//
//
// Private to passes/Raising: the steps RaiseMoE.cpp runs (see there for the
// pattern), one file per part:
//
//   MoERouter.cpp    the router: scoring, selection bias, DeepSeek's group
//                    mask, and the routing weights (normalize, scale)
//   MoEDispatch.cpp  the weights scattered into a dense [tokens, experts]
//                    matrix, its columns, the sum of the expert products
//   MoEExperts.cpp   one expert's FFN: linear layers with constant weights
//                    around SwiGLU, SiLU, GELU or ReLU
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_RAISING_MOE_H
#define KILN_PASSES_RAISING_MOE_H

#include "kiln/dialects/Kiln/KilnOps.h"

#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "llvm/ADT/SetVector.h"

#include <optional>
#include <string>
#include <vector>

namespace kiln::moe {

//===----------------------------------------------------------------------===//
// Values and constants (RaiseMoE.cpp)
//===----------------------------------------------------------------------===//

/// `v` with casts and reshapes that do not change its type looked through
/// (exporters write `.to(dtype)` and `.view(shape)` that are no-ops here).
mlir::Value skipNoOps(mlir::Value v);

template <typename OpTy> OpTy def(mlir::Value v) {
  return skipNoOps(v).getDefiningOp<OpTy>();
}

/// The constant behind `v` (no-ops skipped), or null.
mlir::ElementsAttr constantOf(mlir::Value v);

inline mlir::RankedTensorType tensorType(mlir::Value v) {
  return llvm::dyn_cast<mlir::RankedTensorType>(v.getType());
}

inline bool hasShape(mlir::Value v, llvm::ArrayRef<int64_t> shape) {
  auto t = tensorType(v);
  return t && t.getShape() == shape;
}

/// An axis attribute as a dimension index of a rank-`rank` tensor.
inline int64_t normAxis(uint64_t axis, int64_t rank) {
  int64_t a = (int64_t)axis;
  return a < 0 ? a + rank : a;
}

/// The row-major bytes of a constant whose elements are whole bytes,
/// without a copy where they lie in memory already (else in `storage`).
std::optional<llvm::ArrayRef<char>>
wholeByteConstant(mlir::ElementsAttr attr, std::vector<char> &storage);

/// The values of a float constant of whole-byte elements as doubles.
std::optional<std::vector<double>> constantFloats(mlir::ElementsAttr attr);

/// The one value of a float constant whose elements are all equal.
std::optional<double> splatFloat(mlir::Value v);

/// A splat constant, possibly broadcast, equal to `want`.
bool isSplatOf(mlir::Value v, double want);

//===----------------------------------------------------------------------===//
// Matching state
//===----------------------------------------------------------------------===//

/// What one match attempt collects: the ops of the pattern (to erase those
/// left unused after the rewrite) and the first reason it failed.
struct Match {
  llvm::SetVector<mlir::Operation *> ops;
  std::string why;

  bool fail(const llvm::Twine &reason) {
    if (why.empty())
      why = reason.str();
    return false;
  }
  void add(mlir::Value v) {
    if (mlir::Operation *op = v.getDefiningOp())
      ops.insert(op);
  }
  /// Adds the ops between `from` and skipNoOps(from).
  void addChain(mlir::Value from);
  /// Adds the ops another attempt collected.
  void merge(const Match &other) {
    ops.insert(other.ops.begin(), other.ops.end());
  }
};

//===----------------------------------------------------------------------===//
// Experts (MoEExperts.cpp)
//===----------------------------------------------------------------------===//

/// A linear layer with a constant weight: `x @ W (+ b)` (W [K, N], as
/// exported from nn.Linear) or `kiln.linear x, W, b` (W [N, K]). `lo`/`n`
/// select a window of its outputs (a half of a fused gate/up projection).
struct Projection {
  mlir::Value input;
  mlir::ElementsAttr weight;
  bool kMajor = false;     // weight is [K, N]
  mlir::ElementsAttr bias; // [N] or [1, N]
  int64_t k = 0, fullN = 0, lo = 0, n = 0;
};

struct Expert {
  mlir::Value input;
  ExpertActivation act = ExpertActivation::SwiGLU;
  Projection gate, down;
  std::optional<Projection> up;
};

/// One expert's FFN ending in `y`; the reason for a miss goes to `m`.
std::optional<Expert> matchExpert(mlir::Value y, Match &m);

/// Rows [lo, lo + n) of a projection's weight in nn.Linear's [N, K] layout,
/// written at `to`; returns the end of what was written.
char *copyWeightRows(const Projection &p, llvm::ArrayRef<char> bytes,
                     size_t size, char *to);

//===----------------------------------------------------------------------===//
// Router (MoERouter.cpp)
//===----------------------------------------------------------------------===//

struct Router {
  mlir::Value logits;
  RouterScoring scoring = RouterScoring::Softmax;
  mlir::Value scores; // softmax/sigmoid(logits); null in the topk-then-softmax form
  mlir::Value selection; // scores + bias (before any group mask)
  mlir::ElementsAttr bias;
  int64_t tokens = 0, experts = 0, k = 0, groups = 1, topGroups = 1;
  GroupScoring groupScoring = GroupScoring::TopTwoSum;
  bool softmaxOfTopK = false; // top-k of the logits, softmax of the k values
  bool normalize = false;
  double eps = 0, scale = 1;
};

/// Matches the router from the anchor's input: scoring, bias and groups.
bool matchRouterInput(TopKOp topk, Router &r, Match &m);

/// Matches the routing weights `w` [T, k] as used by the dispatch back to
/// the router: [scale *] [normalize] (top-k values | gathered scores).
bool matchRouterWeights(mlir::Value w, TopKOp topk, Router &r, Match &m);

//===----------------------------------------------------------------------===//
// Dispatch and combine (MoEDispatch.cpp)
//===----------------------------------------------------------------------===//

/// Finds the dense [T, E] routing matrix built from the chosen experts and
/// returns it; `weights` receives the [T, k] values scattered into it.
mlir::Value matchDispatch(TopKOp topk, const Router &r, mlir::Value &weights,
                          Match &m);

/// Each expert's column [:, e] ([T, 1]) of the dense routing matrix (null
/// for an expert whose column is not taken).
bool matchExpertColumns(mlir::Value dense, const Router &r, Match &m,
                        llvm::SmallVectorImpl<mlir::Value> &columns);

/// The one sum of the expert products (a tree of adds whose leaves are
/// the products, zeros, and `others`: terms that are no expert's, such as
/// a shared expert's output added in the same sum); null when there is
/// none.
mlir::Value matchExpertSum(llvm::ArrayRef<mlir::Value> products, Match &m,
                           llvm::SmallVectorImpl<mlir::Value> &others);

} // namespace kiln::moe

#endif // KILN_PASSES_RAISING_MOE_H
