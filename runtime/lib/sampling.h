//===- sampling.h - Choosing the next token from logits ---------*- C++ -*-===//
//
// Shared by kiln_generation and kiln_batch: greedy decoding and
// temperature / top-k / top-p sampling from one position's logits.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SAMPLING_H
#define KILN_RUNTIME_SAMPLING_H

#include "kiln/runtime.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

namespace kiln::rt {

/// splitmix64: a small, fast generator whose stream a seed fixes.
inline uint64_t nextRandom(uint64_t &state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// Uniform in [0, 1).
inline double uniform(uint64_t &state) {
  return double(nextRandom(state) >> 11) * (1.0 / 9007199254740992.0);
}

/// The first largest logit: greedy decoding, as torch.argmax picks.
inline int64_t argmax(const float *logits, int64_t vocab) {
  int64_t best = 0;
  for (int64_t v = 1; v < vocab; ++v)
    if (logits[v] > logits[best])
      best = v;
  return best;
}

/// Draws a token after temperature, top-k and top-p (nucleus) filtering.
inline int64_t sample(const float *logits, int64_t vocab, const kiln_sampling &s,
               uint64_t &state) {
  if (s.temperature <= 0)
    return argmax(logits, vocab);
  std::vector<int64_t> order(vocab);
  std::iota(order.begin(), order.end(), 0);
  // Most likely first; ties by index, so the order is deterministic.
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return logits[a] > logits[b];
  });
  int64_t keep = vocab;
  if (s.top_k > 0)
    keep = std::min<int64_t>(keep, s.top_k);
  double top = logits[order[0]] / double(s.temperature);
  std::vector<double> weights(keep);
  double total = 0;
  for (int64_t i = 0; i < keep; ++i) {
    weights[i] = std::exp(logits[order[i]] / double(s.temperature) - top);
    total += weights[i];
  }
  if (s.top_p > 0 && s.top_p < 1) {
    double mass = 0;
    int64_t nucleus = 0;
    while (nucleus < keep && mass < s.top_p * total)
      mass += weights[nucleus++];
    keep = std::max<int64_t>(nucleus, 1);
    total = mass > 0 ? mass : weights[0];
  }
  double draw = uniform(state) * total;
  for (int64_t i = 0; i < keep; ++i) {
    draw -= weights[i];
    if (draw < 0)
      return order[i];
  }
  return order[keep - 1];
}

} // namespace kiln::rt

#endif // KILN_RUNTIME_SAMPLING_H
