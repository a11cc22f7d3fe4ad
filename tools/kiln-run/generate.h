//===- generate.h - kiln-run --generate -------------------------*- C++ -*-===//

#ifndef KILN_RUN_GENERATE_H
#define KILN_RUN_GENERATE_H

#include "options.h"
#include "output_writer.h"

#include "kiln/runtime.h"

#include <string>
#include <vector>

namespace kiln::run {

/// Decodes options.generate tokens after the prompt given as the model's
/// tokens input, through a kiln_generation over `session`. Adds
/// "generated" to `writer` (when not null) and appends the lines to print
/// (the tokens, the prefill's and the decode's speed) to `lines`. Returns
/// "" or the one-line error.
std::string runGeneration(const Options &options, kiln_model *model,
                          kiln_session *session, OutputWriter *writer,
                          std::vector<std::string> &lines);

} // namespace kiln::run

#endif // KILN_RUN_GENERATE_H
