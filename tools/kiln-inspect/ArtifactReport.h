//===- ArtifactReport.h - Print what an artifact holds ----------*- C++ -*-===//
//
// The two forms of kiln-inspect's report on a .kiln artifact: text for
// people, one JSON object for scripts, with the same contents.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_INSPECT_ARTIFACTREPORT_H
#define KILN_INSPECT_ARTIFACTREPORT_H

#include "ArtifactInfo.h"

#include "llvm/Support/raw_ostream.h"

namespace kiln::inspect {

/// `listWeights` adds one line (or JSON entry) per weight to the totals.
void printArtifactText(const ArtifactInfo &info, bool listWeights,
                       llvm::raw_ostream &os);
void printArtifactJson(const ArtifactInfo &info, bool listWeights,
                       llvm::raw_ostream &os);

} // namespace kiln::inspect

#endif // KILN_INSPECT_ARTIFACTREPORT_H
