//===- ModelReport.h - What Kiln makes of an ONNX model ---------*- C++ -*-===//
//
// kiln-inspect on a .onnx / .onnxtxt file: the compiler's own check
// (kiln::checkModel, what `kiln-compile --check` runs) on the model, and
// its report as text or one JSON object. This is the part of the tool that
// links the compiler.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_INSPECT_MODELREPORT_H
#define KILN_INSPECT_MODELREPORT_H

#include "kiln/Driver/CompileDriver.h"

#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace kiln::inspect {

/// One diagnostic of the check: an unsupported node (or input, or
/// initializer), or a warning about nodes it could not check.
struct Finding {
  std::string node; // the ONNX node it names, "" for the model as a whole
  std::string message;
};

struct ModelReport {
  std::string path;
  ModelCheck check;
  std::vector<Finding> problems;
  std::vector<Finding> warnings;
};

/// Imports `path`, verifies it and runs the raising pipeline, generating no
/// code. A model with unsupported nodes is still a report (they are its
/// `problems`); returns an error message only when the file cannot be read
/// as an ONNX model at all.
std::string inspectModel(const std::string &path, ModelReport &out);

void printModelText(const ModelReport &report, llvm::raw_ostream &os);
void printModelJson(const ModelReport &report, llvm::raw_ostream &os);

} // namespace kiln::inspect

#endif // KILN_INSPECT_MODELREPORT_H
