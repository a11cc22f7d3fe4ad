//===- QuantizationCheck.h - Quantized vs float model on inputs -*- C++ -*-===//
//
// `kiln-compile --quantize=F --quantize-check-input NAME=FILE ...` compiles
// the float model too, runs both artifacts through the runtime API on the
// given inputs and prints how far each output of the quantized model is
// from the float one.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_COMPILE_QUANTIZATIONCHECK_H
#define KILN_TOOLS_KILN_COMPILE_QUANTIZATIONCHECK_H

#include "kiln/tensor_io.h"

#include <string>
#include <utility>
#include <vector>

namespace kiln {

/// Runs `floatArtifact` and `quantizedArtifact` on `inputs` (name, tensor)
/// and prints, per output, the relative L2 error, the largest absolute
/// error and, for outputs whose last dimension holds scores, how often the
/// arg-max agrees. Returns "" or the reason it could not compare.
std::string reportQuantizationError(
    const std::string &floatArtifact, const std::string &quantizedArtifact,
    const std::vector<std::pair<std::string, HostTensor>> &inputs);

} // namespace kiln

#endif // KILN_TOOLS_KILN_COMPILE_QUANTIZATIONCHECK_H
