//===- Serving.cpp - Continuous batching from Python ----------------------===//
//
// Model.serve: many requests through one kiln_batch (the runtime's
// continuous batching over a paged KV cache). Requests join at the decode
// step the caller gives (all at once by default), so a script can replay a
// trace; each one's tokens come back in request order with the batch's
// counters. The loop runs with the GIL released.
//
//===----------------------------------------------------------------------===//

#include "RuntimeSupport.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <optional>

namespace py = pybind11;
using namespace kiln::python;

namespace {

/// Owns a kiln_batch.
struct Batch {
  kiln_batch *batch = nullptr;
  ~Batch() { kiln_batch_release(batch); }
};

/// Adds the requests whose arrival step has come (`order` sorts them by
/// arrival; `next` is the first not yet added) and remembers their ids.
kiln_status addArrived(const ServeRequests &requests,
                       const std::vector<size_t> &order, int64_t step,
                       kiln_batch *batch, size_t &next,
                       std::map<uint64_t, size_t> &byId) {
  for (; next < order.size() && requests.arrivals[order[next]] <= step;
       ++next) {
    size_t i = order[next];
    const std::vector<int64_t> &prompt = requests.prompts[i];
    uint64_t id = 0;
    if (kiln_status status =
            kiln_batch_add(batch, prompt.data(), uint32_t(prompt.size()),
                           requests.maxNewTokens[i], &requests.sampling,
                           requests.stopTokens.data(),
                           uint32_t(requests.stopTokens.size()), &id))
      return status;
    byId[id] = i;
  }
  return KILN_STATUS_OK;
}

/// Takes every finished request's tokens into `tokens`.
kiln_status takeFinished(kiln_batch *batch, size_t capacity,
                         const std::map<uint64_t, size_t> &byId,
                         std::vector<std::vector<int64_t>> &tokens,
                         size_t &taken) {
  std::vector<int64_t> buffer(capacity);
  for (;;) {
    uint64_t id = 0;
    size_t count = 0;
    kiln_status status =
        kiln_batch_take(batch, &id, buffer.data(), capacity, &count);
    if (status == KILN_STATUS_NOT_FOUND)
      return KILN_STATUS_OK;
    if (status != KILN_STATUS_OK)
      return status;
    tokens[byId.at(id)].assign(buffer.begin(), buffer.begin() + count);
    ++taken;
  }
}

py::dict statsDict(const kiln_batch_stats &s) {
  py::dict d;
  d["total_blocks"] = s.total_blocks;
  d["peak_used_blocks"] = s.peak_used_blocks;
  d["blocks_handed_out"] = s.blocks_handed_out;
  d["prefills"] = s.prefills;
  d["decode_steps"] = s.decode_steps;
  d["window_total_blocks"] = s.window_total_blocks;
  d["window_peak_used_blocks"] = s.window_peak_used_blocks;
  d["window_blocks_handed_out"] = s.window_blocks_handed_out;
  return d;
}

} // namespace

py::tuple kiln::python::serve(kiln_model *model, const std::string &device,
                              uint32_t threads, const ServeRequests &requests) {
  size_t n = requests.prompts.size();
  std::vector<std::vector<int64_t>> tokens(n);
  kiln_batch_stats stats{};
  std::optional<RuntimeFailure> failure;
  {
    py::gil_scoped_release release;
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return requests.arrivals[a] < requests.arrivals[b];
    });
    size_t capacity = 1;
    for (uint32_t m : requests.maxNewTokens)
      capacity = std::max<size_t>(capacity, m);
    Session owner;
    Batch server;
    kiln_batch_options options{requests.maxBatch};
    kiln_status status =
        kiln_session_create(model, device.c_str(), &owner.session);
    if (status == KILN_STATUS_OK)
      status = kiln_session_set_threads(owner.session, threads);
    if (status == KILN_STATUS_OK)
      status = kiln_batch_create(owner.session, &options, &server.batch);
    std::map<uint64_t, size_t> byId;
    size_t next = 0, taken = 0;
    for (int64_t step = 0; status == KILN_STATUS_OK && taken < n; ++step) {
      status = addArrived(requests, order, step, server.batch, next, byId);
      if (status == KILN_STATUS_OK)
        status = kiln_batch_get_stats(server.batch, &stats);
      // Nothing to run until the next arrival: jump to it.
      if (status == KILN_STATUS_OK && stats.waiting + stats.running == 0 &&
          next < n) {
        step = requests.arrivals[order[next]] - 1;
        continue;
      }
      if (status == KILN_STATUS_OK)
        status = kiln_batch_step(server.batch, nullptr);
      if (status == KILN_STATUS_OK)
        status = takeFinished(server.batch, capacity, byId, tokens, taken);
    }
    if (status == KILN_STATUS_OK)
      status = kiln_batch_get_stats(server.batch, &stats);
    if (status != KILN_STATUS_OK)
      failure = lastFailure(status);
  }
  if (failure)
    throw *failure;
  py::list arrays;
  for (const std::vector<int64_t> &made : tokens)
    arrays.append(py::array_t<int64_t>(py::ssize_t(made.size()), made.data()));
  return py::make_tuple(arrays, statsDict(stats));
}
