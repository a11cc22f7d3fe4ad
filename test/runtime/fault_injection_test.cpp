//===- fault_injection_test.cpp - Allocation failures end in a status ----===//
//
// kiln_testing_fail_allocations (kiln/runtime_testing.h) makes the Nth
// tensor-storage allocation from now fail as if memory ran out. For every
// N until a whole cycle of work gets through, the failure must come back as
// OUT_OF_MEMORY with a message, leave nothing behind (LeakSanitizer checks
// that in `make test-asan`), and the same work must succeed right after.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime_testing.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace kiln::test;

namespace {

/// The first failure of a cycle, or OK.
struct Outcome {
  kiln_status status = KILN_STATUS_OK;
  std::string message;
};

#define KILN_STEP(call)                                                        \
  if (kiln_status status = (call))                                             \
    return Outcome{status, kiln_last_error()};

/// The workspace model: its session allocates the planned workspace.
Outcome workspaceCycle(kiln_model *model) {
  kiln_session *session = nullptr;
  Outcome outcome = [&]() -> Outcome {
    KILN_STEP(kiln_session_create(model, "cpu", &session));
    const int64_t dims[] = {4};
    const float x[] = {1, 2, 3, 4};
    KILN_STEP(kiln_session_set_input(session, "x", KILN_DTYPE_FLOAT32, dims,
                                     1, x, sizeof(x)));
    KILN_STEP(kiln_session_run(session));
    return {};
  }();
  kiln_session_release(session);
  return outcome;
}

/// The dynamic model: inputs sized when set, outputs when a run binds the
/// symbols; two shapes, the second larger, so buffers grow.
Outcome dynamicCycle(kiln_model *model) {
  kiln_session *session = nullptr;
  Outcome outcome = [&]() -> Outcome {
    KILN_STEP(kiln_session_create(model, "cpu", &session));
    for (int64_t seq : {2, 9}) {
      std::vector<float> a(size_t(3 * seq), 1.0f), b(size_t(seq), 2.0f);
      const int64_t aDims[] = {3, seq}, bDims[] = {1, seq};
      KILN_STEP(kiln_session_set_input(session, "a", KILN_DTYPE_FLOAT32,
                                       aDims, 2, a.data(),
                                       a.size() * sizeof(float)));
      KILN_STEP(kiln_session_set_input(session, "b", KILN_DTYPE_FLOAT32,
                                       bDims, 2, b.data(),
                                       b.size() * sizeof(float)));
      KILN_STEP(kiln_session_run(session));
      kiln_tensor_desc desc;
      const void *data;
      size_t bytes;
      KILN_STEP(kiln_session_output(session, 0, &desc, &data, &bytes));
      if (static_cast<const float *>(data)[0] != 103.0f)
        return {KILN_STATUS_INTERNAL, "wrong result"};
    }
    return {};
  }();
  kiln_session_release(session);
  return outcome;
}

/// The toy generation step: caches set by the generation, a prefill and
/// a step.
Outcome generationCycle(kiln_model *model) {
  kiln_session *session = nullptr;
  kiln_generation *generation = nullptr;
  Outcome outcome = [&]() -> Outcome {
    KILN_STEP(kiln_session_create(model, "cpu", &session));
    KILN_STEP(kiln_generation_create(session, 1, nullptr, &generation));
    int64_t prompt[] = {3, 4}, next = 0;
    KILN_STEP(kiln_generation_prefill(generation, prompt, 2, &next));
    KILN_STEP(kiln_generation_step(generation, &next, &next));
    return {};
  }();
  kiln_generation_release(generation);
  kiln_session_release(session);
  return outcome;
}

#undef KILN_STEP

Outcome wholeCycle(kiln_model *workspace, kiln_model *dynamic,
                   kiln_model *generation) {
  Outcome outcome = workspaceCycle(workspace);
  if (outcome.status == KILN_STATUS_OK)
    outcome = dynamicCycle(dynamic);
  if (outcome.status == KILN_STATUS_OK)
    outcome = generationCycle(generation);
  return outcome;
}

TEST(FaultInjectionTest, EveryAllocationFailureIsAStatus) {
  kiln_model *workspace = nullptr, *dynamic = nullptr, *generation = nullptr;
  ASSERT_EQ(loadBytes(buildArtifact(workspaceModel(addHostCode())), &workspace),
            KILN_STATUS_OK);
  ASSERT_EQ(loadBytes(buildArtifact(dynamicModel(addHostCode())), &dynamic),
            KILN_STATUS_OK);
  ASSERT_EQ(loadBytes(buildGenerationArtifact(
                          generationStepModel(addHostCode()), GenerationSpec{}),
                      &generation),
            KILN_STATUS_OK);
  ASSERT_EQ(wholeCycle(workspace, dynamic, generation).status, KILN_STATUS_OK);

  int failuresSeen = 0;
  for (int64_t after = 0; after < 200; ++after) {
    kiln_testing_fail_allocations(after);
    Outcome outcome = wholeCycle(workspace, dynamic, generation);
    kiln_testing_fail_allocations(-1);
    if (outcome.status == KILN_STATUS_OK)
      break; // every allocation of the cycle got through
    ++failuresSeen;
    EXPECT_EQ(outcome.status, KILN_STATUS_OUT_OF_MEMORY)
        << "after " << after << ": " << outcome.message;
    EXPECT_NE(outcome.message.find("out of memory"), std::string::npos)
        << "after " << after << ": " << outcome.message;
    // The process goes on: the same work succeeds at once.
    Outcome again = wholeCycle(workspace, dynamic, generation);
    EXPECT_EQ(again.status, KILN_STATUS_OK)
        << "after " << after << ": " << again.message;
  }
  // The cycle makes a dozen or so allocations; each was made to fail once.
  EXPECT_GE(failuresSeen, 8);
  kiln_model_release(workspace);
  kiln_model_release(dynamic);
  kiln_model_release(generation);
}

TEST(FaultInjectionTest, OffMeansOff) {
  kiln_testing_fail_allocations(0);
  kiln_testing_fail_allocations(-1);
  kiln_model *model = nullptr;
  ASSERT_EQ(loadBytes(buildArtifact(workspaceModel(addHostCode())), &model),
            KILN_STATUS_OK);
  EXPECT_EQ(workspaceCycle(model).status, KILN_STATUS_OK);
  kiln_model_release(model);
}

} // namespace
