//===- SparseMoEDispatch.h - HF Mixtral's sparse loop to dense --*- C++ -*-===//
//
// Raising on the ONNX graph, before import (library KilnRaisingONNX, linked
// by the importer). Hugging Face's MixtralSparseMoeBlock dispatches each
// expert's tokens with torch.where(expert_mask[e]), which exports NonZero:
// an output whose shape depends on the routing, which Kiln (static shapes)
// cannot compile. rewriteSparseMoEDispatch recognizes, before the graph is
// imported node by node, each per-expert chain rooted at such a NonZero and
// rewrites it into the equivalent dense form (every token through expert e,
// scaled by its dense routing weight, 0 for tokens not routed to e), which
// kiln-raise-moe raises to kiln.moe_route + kiln.moe_experts.
//
// It is raising, and lives with the raising passes; it runs on the ONNX
// graph before import only because Kiln has no dynamic shapes yet, so
// NonZero cannot be imported. Once dynamic shapes exist it becomes an MLIR
// pattern in kiln-raise-moe (or a pass before it) on imported kiln ops.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_RAISING_ONNX_SPARSEMOEDISPATCH_H
#define KILN_PASSES_RAISING_ONNX_SPARSEMOEDISPATCH_H

#include "onnx/onnx_pb.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::raising {

/// What the rewrite of one NonZero assumed about shapes that the ONNX graph
/// does not state; the importer checks it on the imported types and fails
/// with `nonZero`'s name when it does not hold.
struct SparseDispatchCheck {
  /// The rewritten NonZero node's name as the importer names it.
  std::string nonZero;
  std::string tokens;  // x, [T, hidden]
  std::string indices; // the top-k indices, [T, K]
  std::string scores;  // the top-k's input, [T, experts]
  std::string weights; // the routing weights, [T, K]
  std::string product; // expert(x) * weight (dense), [T, accCols]
  /// A value whose first row's shape the scatter was expanded to, or "".
  std::string expandLike;
  int64_t hidden = 0;  // the gathered tokens' row length
  int64_t experts = 0; // OneHot's depth
  int64_t accRows = 0, accCols = 0;
  int accType = 0; // ONNX element type of the accumulator
};

/// Rewrites, in place, every NonZero of `graph` that starts HF Mixtral's
/// sparse dispatch into the dense form; any other NonZero is left as it was.
/// Returns the shape checks the importer must make.
std::vector<SparseDispatchCheck>
rewriteSparseMoEDispatch(onnx::GraphProto &graph);

} // namespace kiln::raising

#endif // KILN_PASSES_RAISING_ONNX_SPARSEMOEDISPATCH_H
