//===- generated_tokens.h - The tokens a generation produced ----*- C++ -*-===//
//
// Header-only C++ over the C API's generation loop, shared by kiln-run
// --generate and the Python module's Model.generate: which token each
// sequence holds at each step, and when a stop token ends it. Not part of
// the installed C API.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_GENERATED_TOKENS_H
#define KILN_GENERATED_TOKENS_H

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace kiln {

/// The tokens a batch of sequences generates, row-major [batch, steps]:
/// once a sequence has produced a stop token, its row repeats that token.
class GeneratedTokens {
public:
  GeneratedTokens(int64_t batch, int64_t steps)
      : batch_(batch), steps_(steps), tokens_(size_t(batch * steps)),
        stopped_(size_t(batch), false) {}

  /// Records step `i`, `next` holding each sequence's new token; true when
  /// every sequence has stopped (produced one of `stops`).
  template <typename Stops>
  bool record(int64_t i, const std::vector<int64_t> &next, const Stops &stops) {
    bool all = true;
    for (int64_t b = 0; b < batch_; ++b) {
      int64_t token = stopped_[b] ? tokens_[b * steps_ + i - 1] : next[b];
      tokens_[b * steps_ + i] = token;
      if (std::find(stops.begin(), stops.end(), token) != stops.end())
        stopped_[b] = true;
      all = all && stopped_[b];
    }
    return all;
  }

  /// Steps `from` to the last, not generated because every sequence had
  /// stopped: each row repeats its stop token.
  void repeatLastFrom(int64_t from) {
    for (int64_t i = from; i < steps_; ++i)
      for (int64_t b = 0; b < batch_; ++b)
        tokens_[b * steps_ + i] = tokens_[b * steps_ + i - 1];
  }

  const std::vector<int64_t> &tokens() const { return tokens_; }

private:
  int64_t batch_, steps_;
  std::vector<int64_t> tokens_;
  std::vector<bool> stopped_;
};

} // namespace kiln

#endif // KILN_GENERATED_TOKENS_H
