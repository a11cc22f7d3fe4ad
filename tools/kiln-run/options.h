//===- options.h - kiln-run's command line ----------------------*- C++ -*-===//

#ifndef KILN_RUN_OPTIONS_H
#define KILN_RUN_OPTIONS_H

#include <string>
#include <utility>
#include <vector>

namespace kiln::run {

struct Options {
  std::string model;
  /// (name, file) in command-line order.
  std::vector<std::pair<std::string, std::string>> inputs;
  std::string outputDir; // empty: print summaries only, write no files
  std::string device = "cpu";
  unsigned repeat = 1;
  unsigned threads = 0; // 0: every core
  bool repeatGiven = false;
  bool quiet = false;
  bool printSignature = false;
  bool help = false;
  /// --generate N: tokens to generate (0: a plain run).
  unsigned generate = 0;
  float temperature = 0;
  unsigned topK = 0;
  float topP = 0;
  unsigned long long seed = 0;
  std::vector<long long> stopTokens;
  /// --serve-trace FILE: replay a trace of requests through a kiln_batch.
  std::string serveTrace;
  unsigned maxBatch = 0; // --max-batch (0: the batch's default)
  /// --dump NODE[,NODE...] / --dump-all: which of the values kiln-compile
  /// --dump kept to write and print (node or value names); without either,
  /// all of them.
  std::vector<std::string> dumpNodes;
  bool dumpAll = false;
  /// --collective-timeout S: how long a partitioned model's collectives
  /// wait for the other ranks (0: the runtime's default, 300 s).
  float collectiveTimeout = 0;
};

/// Parses argv; returns "" or a one-line usage error.
std::string parseOptions(int argc, char **argv, Options &out);

/// The text --help prints.
const char *helpText();

} // namespace kiln::run

#endif // KILN_RUN_OPTIONS_H
