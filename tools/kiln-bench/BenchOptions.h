//===- BenchOptions.h - kiln-bench's command line ---------------*- C++ -*-===//

#ifndef KILN_TOOLS_KILN_BENCH_BENCHOPTIONS_H
#define KILN_TOOLS_KILN_BENCH_BENCHOPTIONS_H

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kiln::bench {

struct BenchOptions {
  std::string model;
  std::string device = "cpu";
  uint32_t threads = 0; // every core
  unsigned warmup = 10;
  unsigned iterations = 0;  // 0: run for `duration` seconds
  double duration = 3.0;    // seconds, when no --iterations
  std::map<std::string, int64_t> dims;              // --dim NAME=N
  std::vector<std::pair<std::string, std::string>> inputs; // --input N=FILE
  uint64_t seed = 0;
  bool json = false;
  bool profile = false;  // --profile, or --trace
  std::string trace;     // --trace FILE: Chrome trace JSON
  unsigned profileTop = 20; // kernel rows --profile prints; 0: all
  bool help = false;
};

/// Parses argv; returns "" or the one-line reason the command line is bad.
std::string parseBenchOptions(int argc, char **argv, BenchOptions &out);

const char *benchHelpText();

} // namespace kiln::bench

#endif // KILN_TOOLS_KILN_BENCH_BENCHOPTIONS_H
