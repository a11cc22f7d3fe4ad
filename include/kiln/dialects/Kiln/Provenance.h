//===- Provenance.h - Which ONNX nodes an op came from ----------*- C++ -*-===//
//
// The importer gives each op a NameLoc naming its ONNX node. Passes keep
// that provenance as MLIR locations: a raised op's location fuses the
// locations of every node it replaced, a fused loop nest's those of both
// loop nests, and before the lowering every Kiln op's location is wrapped
// in a FusedLoc whose metadata is the op's kind ("kiln.rms_norm"), so that
// the loops it becomes still say what they compute. These helpers read the
// names and kinds back, for diagnostics and the artifact's kernel table.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECTS_KILN_PROVENANCE_H
#define KILN_DIALECTS_KILN_PROVENANCE_H

#include "mlir/IR/Location.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace mlir {
class Operation;
} // namespace mlir

namespace kiln {

/// The model nodes and op kinds a location names, each once, in the order
/// they first occur.
struct Provenance {
  llvm::SetVector<llvm::StringRef> nodes;
  llvm::SetVector<llvm::StringRef> kinds;

  /// Adds what `loc` names.
  void add(mlir::Location loc);
};

/// `loc` tagged with the kind of the op it belongs to: a FusedLoc whose
/// metadata is `kind` (a tagged location is returned as it is).
mlir::Location tagWithOpKind(mlir::Location loc, llvm::StringRef kind);

/// One location holding both `a` and `b` (unknown ones dropped).
mlir::Location fuseProvenance(mlir::Location a, mlir::Location b);

/// The location of an op that replaces `root` and every op of root's block
/// that only fed `root` (directly or through others that did), constants
/// excepted: the subgraph a raising pattern matched. Call it after the
/// replacement's ops are built, before `root` is replaced, so that values
/// the replacement still reads count as live.
mlir::Location matchedSubgraphLoc(mlir::Operation *root);

/// "node 'a'" or "nodes 'a', 'b', 'c'" for the nodes `loc` names ("" when
/// none); at most `limit` names, then ", ... (N in all)".
std::string describeNodes(mlir::Location loc, unsigned limit = 4);

} // namespace kiln

#endif // KILN_DIALECTS_KILN_PROVENANCE_H
