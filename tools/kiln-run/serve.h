//===- serve.h - kiln-run --serve-trace -------------------------*- C++ -*-===//

#ifndef KILN_RUN_SERVE_H
#define KILN_RUN_SERVE_H

#include "options.h"

#include "kiln/runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::run {

/// One request of a trace: when it arrives (seconds after the start), how
/// many tokens it may generate, and its prompt.
struct TraceRequest {
  double arrival = 0;
  uint32_t maxNew = 0;
  std::vector<int64_t> prompt;
};

/// Parses a trace: one request per line, "ARRIVAL MAX_NEW TOKEN...", with
/// '#' comments and blank lines skipped. Returns "" or the error, naming
/// the line.
std::string parseTrace(const std::string &text,
                       std::vector<TraceRequest> &out);

/// Replays options.serveTrace through a kiln_batch over `session`: each
/// request is added at its arrival time, steps run while any is waiting
/// or running, and each request's latency is its finish minus its
/// arrival. Writes DIR/serve.json with --output-dir (per request: id,
/// prompt length, tokens, latency) and appends the summary lines (tokens/s
/// and latency percentiles) to `lines`. Returns "" or the one-line error.
std::string runServeTrace(const Options &options, kiln_model *model,
                          kiln_session *session,
                          std::vector<std::string> &lines);

} // namespace kiln::run

#endif // KILN_RUN_SERVE_H
