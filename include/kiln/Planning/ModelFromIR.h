//===- ModelFromIR.h - A model summary from raised Kiln IR ------*- C++ -*-===//
//
// Reads the planner's ModelSummary off a raised entry function: each
// kiln.attention starts a decoder layer (with the projections that feed it
// and the norm before them); its Q/K/V projections and output projection
// are the weighted kiln.matmul / kiln.linear / kiln.qlinear ops traced
// through reshapes, transposes and RoPE; kiln.moe_route's logits come from
// the router, kiln.moe_experts holds the routed experts, and the layer's
// other weighted ops are its dense FFN (or shared experts in a MoE layer).
// A kiln.gather from a constant table is the embedding; the last weighted
// op producing vocabulary-sized rows is the LM head.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PLANNING_MODELFROMIR_H
#define KILN_PLANNING_MODELFROMIR_H

#include "kiln/Planning/ModelSummary.h"

#include "mlir/IR/BuiltinOps.h"

namespace kiln::planning {

/// Summarizes the function `entry` of `module`; fails with a message when
/// it has no kiln.attention (nothing to plan layers by).
llvm::Expected<ModelSummary> summarizeKilnModule(mlir::ModuleOp module,
                                                 llvm::StringRef entry,
                                                 llvm::StringRef name);

} // namespace kiln::planning

#endif // KILN_PLANNING_MODELFROMIR_H
