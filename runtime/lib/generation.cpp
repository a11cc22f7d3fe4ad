//===- generation.cpp - kiln_generation: prefill, step, sample -----------===//
//
// A generation drives a session of a generation-step artifact through the
// public session API: it sets the tokens and positions of each step, keeps
// the caches (state inputs the entry updates in place) as the session's own
// input buffers, and samples the next token from the logits of each
// sequence's last position.
//
//===----------------------------------------------------------------------===//

#include "api_guard.h"
#include "arguments.h"
#include "error.h"
#include "model.h"
#include "sampling.h"
#include "session.h"
#include "step_io.h"

#include <algorithm>
#include <vector>

using namespace kiln::rt;

struct kiln_generation {
  kiln_session *session = nullptr;
  const kiln_model *model = nullptr;
  const GenerationInfo *info = nullptr;
  uint32_t batch = 0;
  kiln_sampling sampling{};
  uint64_t randomState = 0;
  int64_t length = 0; // positions in each sequence's cache
  bool prefilled = false;
};

namespace {

/// Sets every cache to zeros at this batch size.
kiln_status clearCaches(kiln_generation &g) {
  for (size_t index : g.info->stateInputs) {
    const TensorInfo &input = g.model->metadata.inputs[index];
    std::vector<int64_t> dims = input.dims;
    for (int64_t &d : dims)
      if (isSymbolic(d))
        d = g.batch; // the batch symbol: the only one a cache has
    if (kiln_status status = setZeroState(g.session, input, dims))
      return status;
  }
  return KILN_STATUS_OK;
}

/// Runs `tokens` [batch, count] at the current length, advances it and
/// samples each sequence's next token from its last position's logits.
kiln_status advance(kiln_generation &g, const int64_t *tokens, int64_t count,
                    int64_t *next) {
  if (g.length + count > g.info->maxSeq)
    return fail(KILN_STATUS_INVALID_ARGUMENT,
                "the KV cache holds %lld positions per sequence; %lld more "
                "after %lld do not fit (compile with a larger --max-seq)",
                (long long)g.info->maxSeq, (long long)count,
                (long long)g.length);
  std::vector<int64_t> tokenDims = {int64_t(g.batch), count};
  if (kiln_status status = setTokenInput(
          g.session, g.model->metadata.inputs[g.info->tokensInput], tokens,
          tokenDims))
    return status;
  std::vector<int64_t> positions(g.batch, g.length);
  const TensorInfo &positionsInput =
      g.model->metadata.inputs[g.info->positionsInput];
  int64_t batchDims[1] = {int64_t(g.batch)};
  if (kiln_status status = kiln_session_set_input(
          g.session, positionsInput.name.c_str(), KILN_DTYPE_INT64, batchDims,
          1, positions.data(), positions.size() * sizeof(int64_t)))
    return status;
  if (kiln_status status = kiln_session_run(g.session)) {
    g.prefilled = false; // the caches may hold a partial update
    return status;
  }
  g.length += count;
  const float *logits = nullptr;
  int64_t vocab = 0;
  if (kiln_status status =
          readLogits(g.session, *g.info, g.batch, count, logits, vocab))
    return status;
  for (uint32_t b = 0; b < g.batch; ++b)
    next[b] = sample(logits + (int64_t(b) * count + count - 1) * vocab, vocab,
                     g.sampling, g.randomState);
  return KILN_STATUS_OK;
}

} // namespace

extern "C" {

kiln_status kiln_model_generation_info(const kiln_model *model,
                                       kiln_generation_info *out) {
  return describeGeneration(
      model, out, /*paged=*/false, [](const GenerationInfo &g) {
        return kiln_generation_info{g.maxSeq, g.tokensInput, g.positionsInput,
                                    g.logitsOutput, g.stateInputs.size()};
      });
}

kiln_status kiln_model_state_input(const kiln_model *model, size_t index,
                                   size_t *out_input_index) {
  if (kiln_status status = requireArguments(
          {{model, "model"}, {out_input_index, "out_input_index"}}))
    return status;
  if (index >= model->generation.stateInputs.size())
    return fail(KILN_STATUS_INVALID_ARGUMENT,
                "state input %zu does not exist (the model has %zu)", index,
                model->generation.stateInputs.size());
  *out_input_index = model->generation.stateInputs[index];
  return KILN_STATUS_OK;
}

kiln_status kiln_generation_create(kiln_session *session, uint32_t batch,
                                   const kiln_sampling *sampling,
                                   kiln_generation **out_generation) {
  return guard([&]() -> kiln_status {
    clearOutputs(out_generation);
    if (batch == 0)
      return fail(KILN_STATUS_INVALID_ARGUMENT, "batch must be at least 1");
    StepModel step;
    if (kiln_status status = stepModelOf(
            session, out_generation, "out_generation", /*paged=*/false, step))
      return status;
    const kiln_model &model = *step.model;
    const GenerationInfo &info = *step.info;
    kiln_sampling chosen{};
    if (sampling) {
      if (kiln_status status = checkSampling(*sampling))
        return status;
      chosen = *sampling;
    }
    auto *g = new kiln_generation;
    g->session = session;
    g->model = &model;
    g->info = &info;
    g->batch = batch;
    g->sampling = chosen;
    g->randomState = chosen.seed;
    *out_generation = g;
    return KILN_STATUS_OK;
  });
}

void kiln_generation_release(kiln_generation *generation) { delete generation; }

kiln_status kiln_generation_prefill(kiln_generation *generation,
                                    const int64_t *tokens, uint32_t length,
                                    int64_t *out_next) {
  return guard([&]() -> kiln_status {
    if (kiln_status status = requireArguments({{generation, "generation"},
                                               {tokens, "tokens"},
                                               {out_next, "out_next"}}))
      return status;
    kiln_generation &g = *generation;
    if (length == 0)
      return fail(KILN_STATUS_INVALID_ARGUMENT,
                  "a prompt needs at least one token");
    g.prefilled = false;
    g.length = 0;
    g.randomState = g.sampling.seed;
    if (kiln_status status = clearCaches(g))
      return status;
    if (kiln_status status = advance(g, tokens, length, out_next))
      return status;
    g.prefilled = true;
    return KILN_STATUS_OK;
  });
}

kiln_status kiln_generation_step(kiln_generation *generation,
                                 const int64_t *tokens, int64_t *out_next) {
  return guard([&]() -> kiln_status {
    if (kiln_status status = requireArguments({{generation, "generation"},
                                               {tokens, "tokens"},
                                               {out_next, "out_next"}}))
      return status;
    if (!generation->prefilled)
      return fail(KILN_STATUS_INVALID_ARGUMENT,
                  "a generation step needs a prefill first");
    return advance(*generation, tokens, 1, out_next);
  });
}

int64_t kiln_generation_length(const kiln_generation *generation) {
  return generation ? generation->length : 0;
}

} // extern "C"
