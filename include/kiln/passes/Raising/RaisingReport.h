//===- RaisingReport.h - How raising passes say what they did --*- C++ -*-===//
//
// Raising passes rewrite decomposed subgraphs (what exporters emit) into
// Kiln's semantic ops. Each one reports every subgraph it raised, and every
// candidate it looked at but left as it was, with the reason, as an MLIR
// remark on the anchoring op. `kiln-compile --report-raising` prints them;
// lit tests check them with FileCheck on stderr.
//
//   remark: raised rms_norm (eps 1e-06, weight)
//   remark: left attention: the mask is not a function of positions
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_RAISINGREPORT_H
#define KILN_PASSES_RAISINGREPORT_H

#include "mlir/IR/Operation.h"

namespace kiln {

/// Reports that the subgraph anchored at `anchor` became a `pattern` op.
void reportRaised(mlir::Operation *anchor, llvm::StringRef pattern,
                  llvm::StringRef detail = "");

/// Reports that `anchor` looked like the start of a `pattern` subgraph but
/// was left as it was, because of `why`.
void reportLeft(mlir::Operation *anchor, llvm::StringRef pattern,
                llvm::StringRef why);

} // namespace kiln

#endif // KILN_PASSES_RAISINGREPORT_H
