//===- BenchInputs.h - The inputs kiln-bench runs a model on ----*- C++ -*-===//

#ifndef KILN_TOOLS_KILN_BENCH_BENCHINPUTS_H
#define KILN_TOOLS_KILN_BENCH_BENCHINPUTS_H

#include "BenchOptions.h"

#include "kiln/runtime.h"
#include "kiln/tensor_io.h"

#include <string>
#include <vector>

namespace kiln::bench {

/// Every input of `model`, in model order: read from --input files, else
/// random at the shapes the symbols' values give (--dim, a file's shape, or
/// the symbol's smallest value, which `notes` then mentions). Returns "" or
/// the one-line reason it cannot.
std::string makeInputs(const BenchOptions &options, const kiln_model *model,
                       std::vector<HostTensor> &inputs,
                       std::vector<std::string> &notes);

} // namespace kiln::bench

#endif // KILN_TOOLS_KILN_BENCH_BENCHINPUTS_H
