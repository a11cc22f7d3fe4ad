//===- batch.cpp - kiln_batch: continuous batching over a paged KV cache --===//
//
// Drives a session of a paged generation artifact (kiln-compile --generate
// --kv-block-size) through the public session API. The pools (the state
// inputs) are set to zeros once and then live in the session's buffers,
// updated in place by every run; each run gets the tokens, each row's
// past length and each row's block table. A request is admitted when the
// free list holds the blocks of its whole length (prompt + max new tokens
// - 1 positions), prefilled alone, then decoded together with every other
// running request, one token per step, and its blocks go back to the free
// list when it finishes.
//
//===----------------------------------------------------------------------===//

#include "api_guard.h"
#include "arguments.h"
#include "block_allocator.h"
#include "error.h"
#include "model.h"
#include "sampling.h"
#include "session.h"
#include "step_io.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <memory>
#include <vector>

using namespace kiln::rt;

namespace {

enum class RequestState { Waiting, Running, Finished, Failed };

struct Request {
  uint64_t id = 0;
  std::vector<int64_t> prompt;
  uint32_t maxNew = 0;
  kiln_sampling sampling{};
  uint64_t randomState = 0;
  std::vector<int64_t> stop;
  std::vector<int64_t> blocks, windowBlocks;
  std::vector<int64_t> generated;
  int64_t length = 0; // positions in the cache
  RequestState state = RequestState::Waiting;

  int64_t positionsNeeded() const {
    return int64_t(prompt.size()) + int64_t(maxNew) - 1;
  }
  bool done() const {
    if (generated.size() >= maxNew)
      return true;
    return !generated.empty() &&
           std::find(stop.begin(), stop.end(), generated.back()) != stop.end();
  }
};

} // namespace

struct kiln_batch {
  kiln_session *session = nullptr;
  const kiln_model *model = nullptr;
  const GenerationInfo *info = nullptr;
  uint32_t maxBatch = 0;
  int64_t columns = 0; // block table entries per sequence
  BlockAllocator blocks{0};
  // The windowed attentions' pools (GenerationInfo::windowBlocks): a
  // request holds at most windowColumns of their blocks.
  BlockAllocator windowBlocks{0};
  uint64_t nextId = 1;
  std::deque<std::unique_ptr<Request>> waiting;
  std::vector<std::unique_ptr<Request>> running;
  std::deque<std::unique_ptr<Request>> finished;
  uint64_t prefills = 0, decodeSteps = 0;

  int64_t blocksFor(int64_t positions) const {
    return (positions + info->kvBlockSize - 1) / info->kvBlockSize;
  }
  /// Blocks of the full pools a request of `positions` holds: none when
  /// every cache is windowed.
  int64_t fullBlocksFor(int64_t positions) const {
    return info->hasFullStates ? blocksFor(positions) : 0;
  }
  /// Blocks of the windowed pools: its rings', at most windowColumns.
  int64_t windowBlocksFor(int64_t positions) const {
    return std::min(blocksFor(positions), info->windowColumns);
  }

  /// Takes a waiting request's blocks of both kinds, or none.
  bool allocate(Request &r) {
    if (!blocks.allocate(fullBlocksFor(r.positionsNeeded()), r.blocks))
      return false;
    if (windowBlocks.allocate(windowBlocksFor(r.positionsNeeded()),
                              r.windowBlocks))
      return true;
    blocks.release(r.blocks);
    r.blocks.clear();
    return false;
  }

  /// The rows of `table` (`width` entries each) for `rows`' `held` blocks;
  /// -1 past them (names no block: never written, read as zeros by the
  /// reference lowering, and masked).
  static std::vector<int64_t> tableOf(const std::vector<Request *> &rows,
                                      int64_t width,
                                      std::vector<int64_t> Request::*held) {
    std::vector<int64_t> table;
    table.reserve(size_t(int64_t(rows.size()) * width));
    for (Request *r : rows) {
      const std::vector<int64_t> &own = r->*held;
      for (int64_t c = 0; c < width; ++c)
        table.push_back(c < int64_t(own.size()) ? own[size_t(c)] : -1);
    }
    return table;
  }

  kiln_status setInt64(size_t index, const std::vector<int64_t> &values,
                       const std::vector<int64_t> &dims) {
    const TensorInfo &input = model->metadata.inputs[index];
    return kiln_session_set_input(
        session, input.name.c_str(), KILN_DTYPE_INT64, dims.data(),
        uint32_t(dims.size()), values.data(), values.size() * sizeof(int64_t));
  }

  /// Runs `rows` (count tokens each, at their own lengths) and samples each
  /// row's next token from its last position.
  kiln_status run(const std::vector<Request *> &rows,
                  const std::vector<int64_t> &tokens, int64_t count) {
    int64_t n = int64_t(rows.size());
    std::vector<int64_t> positions;
    for (Request *r : rows)
      positions.push_back(r->length);
    if (kiln_status status =
            setTokenInput(session, model->metadata.inputs[info->tokensInput],
                          tokens.data(), {n, count}))
      return status;
    if (kiln_status status = setInt64(info->positionsInput, positions, {n}))
      return status;
    if (kiln_status status =
            setInt64(info->blockTableInput,
                     tableOf(rows, columns, &Request::blocks), {n, columns}))
      return status;
    if (info->windowBlocks > 0)
      if (kiln_status status = setInt64(
              info->windowBlockTableInput,
              tableOf(rows, info->windowColumns, &Request::windowBlocks),
              {n, info->windowColumns}))
        return status;
    if (kiln_status status = kiln_session_run(session))
      return status;
    const float *logits = nullptr;
    int64_t vocab = 0;
    if (kiln_status status =
            readLogits(session, *info, n, count, logits, vocab))
      return status;
    for (int64_t b = 0; b < n; ++b) {
      Request &r = *rows[size_t(b)];
      r.length += count;
      r.generated.push_back(sample(logits + (b * count + count - 1) * vocab,
                                   vocab, r.sampling, r.randomState));
    }
    return KILN_STATUS_OK;
  }

  /// Moves the running requests that are done (or `failedToo`, on a
  /// failed run) to `finished`, freeing their blocks; returns how many.
  uint32_t retire(bool failedToo) {
    uint32_t count = 0;
    std::vector<std::unique_ptr<Request>> still;
    for (std::unique_ptr<Request> &r : running) {
      bool failed = failedToo && r->state == RequestState::Failed;
      if (!failed && !r->done()) {
        still.push_back(std::move(r));
        continue;
      }
      if (!failed)
        r->state = RequestState::Finished;
      blocks.release(r->blocks);
      r->blocks.clear();
      windowBlocks.release(r->windowBlocks);
      r->windowBlocks.clear();
      finished.push_back(std::move(r));
      ++count;
    }
    running = std::move(still);
    return count;
  }

  kiln_status step(uint32_t &finishedNow) {
    finishedNow = 0;
    // Admit, oldest first; the first that does not fit waits, and so do
    // the ones behind it (no overtaking, so a long request is not starved).
    std::vector<Request *> admitted;
    while (!waiting.empty() && running.size() < maxBatch) {
      Request &r = *waiting.front();
      if (!allocate(r))
        break;
      r.state = RequestState::Running;
      admitted.push_back(&r);
      running.push_back(std::move(waiting.front()));
      waiting.pop_front();
    }
    // Each admitted prompt alone: its own length, batch 1.
    for (Request *r : admitted) {
      ++prefills;
      if (kiln_status status = run({r}, r->prompt, int64_t(r->prompt.size()))) {
        r->state = RequestState::Failed;
        finishedNow += retire(true);
        return status;
      }
    }
    finishedNow += retire(false);
    if (running.empty())
      return KILN_STATUS_OK;
    // One decode step over every running request.
    std::vector<Request *> rows;
    std::vector<int64_t> tokens;
    for (std::unique_ptr<Request> &r : running) {
      rows.push_back(r.get());
      tokens.push_back(r->generated.back());
    }
    ++decodeSteps;
    if (kiln_status status = run(rows, tokens, 1)) {
      for (Request *r : rows)
        r->state = RequestState::Failed;
      finishedNow += retire(true);
      return status;
    }
    finishedNow += retire(false);
    return KILN_STATUS_OK;
  }
};

extern "C" {

kiln_status kiln_model_paged_info(const kiln_model *model,
                                  kiln_paged_info *out) {
  return describeGeneration(
      model, out, /*paged=*/true, [](const GenerationInfo &g) {
        return kiln_paged_info{g.kvBlockSize,          g.kvBlocks,
                               g.blockTableInput,      g.windowBlocks,
                               g.windowColumns,        g.windowBlockTableInput,
                               g.hasFullStates ? 1 : 0};
      });
}

kiln_status kiln_batch_create(kiln_session *session,
                              const kiln_batch_options *options,
                              kiln_batch **out_batch) {
  return guard([&]() -> kiln_status {
    clearOutputs(out_batch);
    StepModel step;
    if (kiln_status status = stepModelOf(session, out_batch, "out_batch",
                                         /*paged=*/true, step))
      return status;
    const kiln_model &model = *step.model;
    const GenerationInfo &info = *step.info;
    const TensorInfo &tokensInput = model.metadata.inputs[info.tokensInput];
    // The batch the model takes: a static size or its symbol's range.
    int64_t batchDim = tokensInput.dims[0];
    int64_t batchMax = batchDim;
    if (isSymbolic(batchDim)) {
      uint64_t s = symbolIndex(batchDim);
      if (s >= model.metadata.symbols.size())
        return fail(KILN_STATUS_INTERNAL, "the batch names no symbol");
      if (model.metadata.symbols[s].min > 1)
        return fail(KILN_STATUS_UNSUPPORTED,
                    "the model's batch starts at %lld; a prefill runs one "
                    "sequence",
                    (long long)model.metadata.symbols[s].min);
      batchMax = model.metadata.symbols[s].max;
    } else if (batchDim != 1) {
      return fail(KILN_STATUS_UNSUPPORTED,
                  "the model's batch is fixed at %lld; kiln_batch needs a "
                  "dynamic batch (export it with a symbolic one)",
                  (long long)batchDim);
    }
    uint32_t maxBatch = options ? options->max_batch : 0;
    if (maxBatch == 0)
      maxBatch = uint32_t(std::min<int64_t>(
          std::min<int64_t>(batchMax, info.kvBlocks), UINT32_MAX));
    if (int64_t(maxBatch) > batchMax)
      return fail(KILN_STATUS_INVALID_ARGUMENT,
                  "max_batch %u is above the model's batch range (at most "
                  "%lld)",
                  maxBatch, (long long)batchMax);
    auto batch = std::make_unique<kiln_batch>();
    batch->session = session;
    batch->model = &model;
    batch->info = &info;
    batch->maxBatch = maxBatch;
    batch->columns = info.maxSeq / info.kvBlockSize;
    batch->blocks = BlockAllocator(info.hasFullStates ? info.kvBlocks : 0);
    batch->windowBlocks = BlockAllocator(info.windowBlocks);
    for (size_t index : info.stateInputs) {
      const TensorInfo &pool = model.metadata.inputs[index];
      if (kiln_status status = setZeroState(session, pool, pool.dims))
        return status;
    }
    *out_batch = batch.release();
    return KILN_STATUS_OK;
  });
}

void kiln_batch_release(kiln_batch *batch) { delete batch; }

kiln_status kiln_batch_add(kiln_batch *batch, const int64_t *prompt,
                           uint32_t length, uint32_t max_new_tokens,
                           const kiln_sampling *sampling, const int64_t *stop,
                           uint32_t num_stop, uint64_t *out_request) {
  return guard([&]() -> kiln_status {
    clearOutputs(out_request);
    if (kiln_status status = requireArguments({{batch, "batch"},
                                               {prompt, "prompt"},
                                               {stop, "stop", num_stop > 0},
                                               {out_request, "out_request"}}))
      return status;
    if (length == 0 || max_new_tokens == 0)
      return fail(KILN_STATUS_INVALID_ARGUMENT,
                  "a request needs at least one prompt token and one new "
                  "token, got %u and %u",
                  length, max_new_tokens);
    auto r = std::make_unique<Request>();
    r->prompt.assign(prompt, prompt + length);
    r->maxNew = max_new_tokens;
    if (sampling) {
      if (kiln_status status = checkSampling(*sampling))
        return status;
      r->sampling = *sampling;
    }
    r->randomState = r->sampling.seed;
    if (num_stop)
      r->stop.assign(stop, stop + num_stop);
    int64_t positions = r->positionsNeeded();
    if (positions > batch->info->maxSeq)
      return fail(KILN_STATUS_INVALID_ARGUMENT,
                  "a prompt of %u tokens and %u new ones need %lld cache "
                  "positions; a sequence holds %lld (compile with a larger "
                  "--max-seq)",
                  length, max_new_tokens, (long long)positions,
                  (long long)batch->info->maxSeq);
    if (batch->fullBlocksFor(positions) > batch->blocks.total())
      return fail(KILN_STATUS_INVALID_ARGUMENT,
                  "the request needs %lld blocks; the pool has %lld "
                  "(compile with more --kv-blocks)",
                  (long long)batch->fullBlocksFor(positions),
                  (long long)batch->blocks.total());
    if (batch->windowBlocksFor(positions) > batch->windowBlocks.total())
      return fail(KILN_STATUS_INVALID_ARGUMENT,
                  "the request needs %lld blocks of the windowed pools; "
                  "they have %lld (compile with more --kv-window-blocks)",
                  (long long)batch->windowBlocksFor(positions),
                  (long long)batch->windowBlocks.total());
    r->id = batch->nextId++;
    *out_request = r->id;
    batch->waiting.push_back(std::move(r));
    return KILN_STATUS_OK;
  });
}

kiln_status kiln_batch_step(kiln_batch *batch, uint32_t *out_finished) {
  return guard([&]() -> kiln_status {
    if (out_finished)
      *out_finished = 0;
    if (!batch)
      return fail(KILN_STATUS_INVALID_ARGUMENT, "batch is NULL");
    uint32_t finished = 0;
    kiln_status status = batch->step(finished);
    if (out_finished)
      *out_finished = finished;
    return status;
  });
}

kiln_status kiln_batch_take(kiln_batch *batch, uint64_t *out_request,
                            int64_t *out_tokens, size_t capacity,
                            size_t *out_count) {
  return guard([&]() -> kiln_status {
    clearOutputs(out_request, out_count);
    if (kiln_status status =
            requireArguments({{batch, "batch"},
                              {out_request, "out_request"},
                              {out_tokens, "out_tokens", capacity > 0},
                              {out_count, "out_count"}}))
      return status;
    if (batch->finished.empty())
      return fail(KILN_STATUS_NOT_FOUND, "no request has finished");
    Request &r = *batch->finished.front();
    *out_request = r.id;
    *out_count = r.generated.size();
    if (capacity < r.generated.size())
      return fail(KILN_STATUS_INVALID_ARGUMENT,
                  "request %llu has %zu tokens; room for %zu",
                  (unsigned long long)r.id, r.generated.size(), capacity);
    std::copy(r.generated.begin(), r.generated.end(), out_tokens);
    bool failed = r.state == RequestState::Failed;
    uint64_t id = r.id;
    batch->finished.pop_front();
    if (failed)
      return fail(KILN_STATUS_INTERNAL,
                  "request %llu stopped early: a model run failed",
                  (unsigned long long)id);
    return KILN_STATUS_OK;
  });
}

kiln_status kiln_batch_get_stats(const kiln_batch *batch,
                                 kiln_batch_stats *out) {
  clearOutputs(out);
  if (kiln_status status = requireArguments({{batch, "batch"}, {out, "out"}}))
    return status;
  out->waiting = uint32_t(batch->waiting.size());
  out->running = uint32_t(batch->running.size());
  out->finished = uint32_t(batch->finished.size());
  out->free_blocks = batch->blocks.available();
  out->total_blocks = batch->blocks.total();
  out->peak_used_blocks = batch->blocks.peakUsed();
  out->blocks_handed_out = batch->blocks.handedOut();
  out->prefills = batch->prefills;
  out->decode_steps = batch->decodeSteps;
  out->window_free_blocks = batch->windowBlocks.available();
  out->window_total_blocks = batch->windowBlocks.total();
  out->window_peak_used_blocks = batch->windowBlocks.peakUsed();
  out->window_blocks_handed_out = batch->windowBlocks.handedOut();
  return KILN_STATUS_OK;
}

} // extern "C"
