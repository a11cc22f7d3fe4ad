//===- concurrency_test.cpp - The runtime from many threads at once -------===//
//
// What runtime.h promises about threads: a kiln_model is immutable and
// shared by sessions on many threads, a session (and a generation) is used
// by one thread at a time, kiln_last_error() is per thread, and models and
// sessions may be created and released in any order from any thread. Each
// test runs real work on several threads at once and checks every result,
// so that `make test-tsan` (ThreadSanitizer) sees the shared paths race or
// not, and `make test-asan` (LeakSanitizer) that nothing leaks. No timing.
//
// KILN_CONCURRENCY_ARTIFACT=path adds a model the compiler wrote (e.g. the
// Mixtral example) to the one-model-many-threads test: scripts/test-tsan.sh
// sets it when a normal build's kiln-compile is there.
//
//===----------------------------------------------------------------------===//

#include "test_support.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace kiln::test;

namespace {

constexpr int kThreads = 4;

/// Runs `body(thread)` on kThreads threads at once and joins them.
template <typename Body> void onThreads(Body body) {
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back(body, t);
  for (std::thread &thread : threads)
    thread.join();
}

/// Runs the "add" model on `session` with inputs made from `seed` and
/// checks the outputs; reports failure instead of asserting, since gtest
/// assertions are not for worker threads.
bool runAdd(kiln_session *session, float seed) {
  const int64_t shape[] = {2, 3};
  float a[6], b[6];
  for (int i = 0; i < 6; ++i) {
    a[i] = seed + float(i);
    b[i] = seed * 2;
  }
  bool ok =
      kiln_session_set_input(session, "a", KILN_DTYPE_FLOAT32, shape, 2, a,
                             sizeof(a)) == KILN_STATUS_OK &&
      kiln_session_set_input(session, "b", KILN_DTYPE_FLOAT32, shape, 2, b,
                             sizeof(b)) == KILN_STATUS_OK &&
      kiln_session_run(session) == KILN_STATUS_OK;
  kiln_tensor_desc desc;
  const void *data = nullptr;
  size_t bytes = 0;
  ok = ok && kiln_session_output(session, 0, &desc, &data, &bytes) ==
                 KILN_STATUS_OK;
  const float weights[] = {100, 200, 300, 400, 500, 600}; // addModel's w
  for (int i = 0; ok && i < 6; ++i)
    ok = static_cast<const float *>(data)[i] == a[i] + b[i] + weights[i];
  return ok;
}

/// runAdd on a session of its own.
bool runAddOnce(kiln_model *model, float seed) {
  kiln_session *session = nullptr;
  if (kiln_session_create(model, "cpu", &session) != KILN_STATUS_OK)
    return false;
  bool ok = runAdd(session, seed);
  kiln_session_release(session);
  return ok;
}

TEST(ConcurrencyTest, OneModelRunFromManyThreads) {
  kiln_model *model = nullptr;
  ASSERT_EQ(loadBytes(buildArtifact(addModel(addHostCode())), &model),
            KILN_STATUS_OK)
      << kiln_last_error();
  std::atomic<int> failures{0};
  onThreads([&](int t) {
    for (int i = 0; i < 200; ++i)
      if (!runAddOnce(model, float(t * 1000 + i)))
        ++failures;
  });
  EXPECT_EQ(failures.load(), 0);
  kiln_model_release(model);
}

TEST(ConcurrencyTest, EachThreadSeesItsOwnLastError) {
  kiln_model *model = nullptr;
  ASSERT_EQ(loadBytes(buildArtifact(addModel(addHostCode())), &model),
            KILN_STATUS_OK);
  std::atomic<int> failures{0};
  onThreads([&](int t) {
    std::string name = "missing_" + std::to_string(t);
    for (int i = 0; i < 100; ++i) {
      size_t index;
      if (kiln_model_find_input(model, name.c_str(), &index) !=
          KILN_STATUS_NOT_FOUND)
        ++failures;
      // Another thread failing at the same time must not change ours.
      if (std::string(kiln_last_error()).find("'" + name + "'") ==
          std::string::npos)
        ++failures;
    }
  });
  EXPECT_EQ(failures.load(), 0);
  kiln_model_release(model);
}

TEST(ConcurrencyTest, ModelsLoadedAndReleasedInALoop) {
  const Bytes artifact = buildArtifact(addModel(addHostCode()));
  std::atomic<int> failures{0};
  onThreads([&](int t) {
    for (int i = 0; i < 25; ++i) {
      kiln_model *model = nullptr;
      if (loadBytes(artifact, &model) != KILN_STATUS_OK) {
        ++failures;
        continue;
      }
      // Half the time the model goes first: its session keeps it alive.
      kiln_session *session = nullptr;
      if (kiln_session_create(model, "cpu", &session) != KILN_STATUS_OK) {
        ++failures;
        kiln_model_release(model);
        continue;
      }
      if (i % 2)
        kiln_model_release(model);
      if (!runAdd(session, float(t + i)))
        ++failures;
      kiln_session_release(session);
      if (i % 2 == 0)
        kiln_model_release(model);
    }
  });
  EXPECT_EQ(failures.load(), 0);
}

TEST(ConcurrencyTest, RunTimeShapesShareTheBufferCache) {
  // The dynamic model sizes its buffers per run, through the buffer cache
  // every session shares.
  kiln_model *model = nullptr;
  ASSERT_EQ(loadBytes(buildArtifact(dynamicModel(addHostCode())), &model),
            KILN_STATUS_OK)
      << kiln_last_error();
  std::atomic<int> failures{0};
  onThreads([&](int t) {
    kiln_session *session = nullptr;
    if (kiln_session_create(model, "cpu", &session) != KILN_STATUS_OK) {
      ++failures;
      return;
    }
    for (int i = 0; i < 100; ++i) {
      int64_t batch = 1 + (t + i) % 8, seq = 1 + (t * 3 + i) % 16;
      std::vector<float> a(static_cast<size_t>(batch * seq));
      std::vector<float> b(static_cast<size_t>(seq));
      for (size_t k = 0; k < a.size(); ++k)
        a[k] = float(k + t);
      for (size_t k = 0; k < b.size(); ++k)
        b[k] = float(k * 10);
      const int64_t aDims[] = {batch, seq}, bDims[] = {1, seq};
      bool ok = kiln_session_set_input(session, "a", KILN_DTYPE_FLOAT32,
                                       aDims, 2, a.data(),
                                       a.size() * sizeof(float)) == 0 &&
                kiln_session_set_input(session, "b", KILN_DTYPE_FLOAT32,
                                       bDims, 2, b.data(),
                                       b.size() * sizeof(float)) == 0 &&
                kiln_session_run(session) == 0;
      kiln_tensor_desc desc;
      const void *data = nullptr;
      size_t bytes = 0;
      ok = ok && kiln_session_output(session, 0, &desc, &data, &bytes) == 0 &&
           bytes == a.size() * sizeof(float);
      for (int64_t r = 0; ok && r < batch; ++r)
        for (int64_t c = 0; ok && c < seq; ++c)
          ok = static_cast<const float *>(data)[r * seq + c] ==
               a[size_t(r * seq + c)] + b[size_t(c)] + 100;
      if (!ok)
        ++failures;
    }
    kiln_session_release(session);
  });
  EXPECT_EQ(failures.load(), 0);
  kiln_model_release(model);
}

/// Greedy decoding of the toy generation step (test_host_code.c): each
/// token is (the sum of every token so far, prompt included, + 1) mod 16.
std::vector<int64_t> expectedTokens(std::vector<int64_t> prompt, int steps) {
  std::vector<int64_t> made;
  for (int i = 0; i < steps; ++i) {
    int64_t sum = 0;
    for (int64_t token : prompt)
      sum += token;
    made.push_back((sum + 1) % 16);
    prompt.push_back(made.back());
  }
  return made;
}

TEST(ConcurrencyTest, GenerationSessionsInParallel) {
  kiln_model *model = nullptr;
  ASSERT_EQ(loadBytes(buildGenerationArtifact(generationStepModel(addHostCode()),
                                              GenerationSpec{}),
                      &model),
            KILN_STATUS_OK)
      << kiln_last_error();
  std::atomic<int> failures{0};
  onThreads([&](int t) {
    for (int round = 0; round < 20; ++round) {
      kiln_session *session = nullptr;
      kiln_generation *generation = nullptr;
      if (kiln_session_create(model, "cpu", &session) != KILN_STATUS_OK ||
          kiln_generation_create(session, 2, nullptr, &generation) !=
              KILN_STATUS_OK) {
        ++failures;
        kiln_session_release(session);
        continue;
      }
      // Two sequences of three prompt tokens each, then five steps: the
      // cache's eight positions.
      std::vector<int64_t> prompts = {t, round % 5, 3, 7, t + 1, round % 3};
      std::vector<int64_t> next(2);
      std::vector<std::vector<int64_t>> made(2);
      bool ok = kiln_generation_prefill(generation, prompts.data(), 3,
                                        next.data()) == KILN_STATUS_OK;
      for (int step = 0; ok && step < 5; ++step) {
        for (int b = 0; b < 2; ++b)
          made[size_t(b)].push_back(next[size_t(b)]);
        if (step < 4)
          ok = kiln_generation_step(generation, next.data(), next.data()) ==
               KILN_STATUS_OK;
      }
      for (int b = 0; ok && b < 2; ++b)
        ok = made[size_t(b)] ==
             expectedTokens({prompts.begin() + 3 * b,
                             prompts.begin() + 3 * b + 3},
                            5);
      if (!ok)
        ++failures;
      kiln_generation_release(generation);
      kiln_session_release(session);
    }
  });
  EXPECT_EQ(failures.load(), 0);
  kiln_model_release(model);
}

TEST(ConcurrencyTest, CompiledModelFromManyThreads) {
  const char *path = std::getenv("KILN_CONCURRENCY_ARTIFACT");
  if (!path || !*path)
    GTEST_SKIP() << "KILN_CONCURRENCY_ARTIFACT is not set";
  kiln_model *model = nullptr;
  ASSERT_EQ(kiln_model_load(path, &model), KILN_STATUS_OK) << kiln_last_error();
  // Inputs of zeros (any values do); every thread's outputs must equal
  // those of one run alone, byte for byte.
  auto runOnce = [&](Bytes &out) {
    kiln_session *session = nullptr;
    if (kiln_session_create(model, "cpu", &session) != KILN_STATUS_OK)
      return false;
    kiln_session_set_threads(session, 1);
    bool ok = true;
    for (size_t i = 0; ok && i < kiln_model_num_inputs(model); ++i) {
      kiln_tensor_desc desc;
      kiln_model_input(model, i, &desc);
      std::vector<int64_t> dims(desc.dims, desc.dims + desc.rank);
      size_t count = 1;
      for (int64_t &d : dims) {
        if (d < 0)
          d = 1; // a symbolic dim: its symbol's smallest sensible value
        count *= size_t(d);
      }
      std::vector<uint8_t> zeros(count * kiln_dtype_size(desc.dtype), 0);
      ok = kiln_session_set_input(session, desc.name, desc.dtype, dims.data(),
                                  desc.rank, zeros.data(), zeros.size()) == 0;
    }
    ok = ok && kiln_session_run(session) == KILN_STATUS_OK;
    out.clear();
    for (size_t i = 0; ok && i < kiln_model_num_outputs(model); ++i) {
      kiln_tensor_desc desc;
      const void *data;
      size_t bytes;
      ok = kiln_session_output(session, i, &desc, &data, &bytes) == 0;
      if (ok)
        out.insert(out.end(), static_cast<const uint8_t *>(data),
                   static_cast<const uint8_t *>(data) + bytes);
    }
    kiln_session_release(session);
    return ok;
  };
  Bytes reference;
  ASSERT_TRUE(runOnce(reference)) << kiln_last_error();
  std::atomic<int> failures{0};
  onThreads([&](int) {
    Bytes out;
    for (int i = 0; i < 5; ++i)
      if (!runOnce(out) || out != reference)
        ++failures;
  });
  EXPECT_EQ(failures.load(), 0);
  kiln_model_release(model);
}

} // namespace
