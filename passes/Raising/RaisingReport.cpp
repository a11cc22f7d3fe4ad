//===- RaisingReport.cpp - Remarks of the raising passes ------------------===//

#include "kiln/passes/Raising/RaisingReport.h"

#include "mlir/IR/Diagnostics.h"

using namespace mlir;

void kiln::reportRaised(Operation *anchor, StringRef pattern,
                        StringRef detail) {
  InFlightDiagnostic d = anchor->emitRemark() << "raised " << pattern;
  if (!detail.empty())
    d << " (" << detail << ")";
}

void kiln::reportLeft(Operation *anchor, StringRef pattern, StringRef why) {
  anchor->emitRemark() << "left " << pattern << ": " << why;
}
