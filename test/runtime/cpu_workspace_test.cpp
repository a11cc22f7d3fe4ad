//===- cpu_workspace_test.cpp - The CPU target's per-session workspace ----===//
//
// The entry of a "cpu-" target gets one more pointer after its outputs: the
// workspace where the compiler placed the intermediates (METADATA's
// workspace_bytes). A session allocates it once and passes the same bytes
// to every run; every session has its own.
//
//===----------------------------------------------------------------------===//

#include "test_support.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

using namespace kiln::test;

namespace {

const int64_t kShape[] = {4};
const float kX[] = {1, 2, 3, 4};

struct Outputs {
  int64_t runs = 0;
  uint64_t address = 0;
  int32_t ok = 0;
};

/// Runs `session` once (input x set) and reads its three outputs.
::testing::AssertionResult runOnce(kiln_session *session, Outputs &out) {
  if (kiln_session_set_input(session, "x", KILN_DTYPE_FLOAT32, kShape, 1, kX,
                             sizeof(kX)) != KILN_STATUS_OK ||
      kiln_session_run(session) != KILN_STATUS_OK)
    return ::testing::AssertionFailure() << kiln_last_error();
  kiln_tensor_desc desc;
  const void *data;
  size_t bytes;
  if (kiln_session_output(session, 0, &desc, &data, &bytes) != KILN_STATUS_OK)
    return ::testing::AssertionFailure() << kiln_last_error();
  out.runs = *static_cast<const int64_t *>(data);
  kiln_session_output(session, 1, &desc, &data, &bytes);
  out.address = *static_cast<const uint64_t *>(data);
  kiln_session_output(session, 2, &desc, &data, &bytes);
  out.ok = *static_cast<const int32_t *>(data);
  return ::testing::AssertionSuccess();
}

class CpuWorkspaceTest : public ::testing::Test {
protected:
  void TearDown() override {
    for (kiln_session *session : sessions)
      kiln_session_release(session);
    kiln_model_release(model);
  }
  void load(const ModelSpec &spec) {
    ASSERT_EQ(loadBytes(buildArtifact(spec), &model), KILN_STATUS_OK)
        << kiln_last_error();
  }
  kiln_session *newSession() {
    kiln_session *session = nullptr;
    EXPECT_EQ(kiln_session_create(model, "cpu", &session), KILN_STATUS_OK)
        << kiln_last_error();
    if (session)
      sessions.push_back(session);
    return session;
  }

  kiln_model *model = nullptr;
  std::vector<kiln_session *> sessions;
};

TEST_F(CpuWorkspaceTest, SizeIsReadFromTheMetadata) {
  load(workspaceModel(addHostCode()));
  EXPECT_EQ(kiln_model_workspace_bytes(model), 4096u);
  EXPECT_EQ(kiln_model_workspace_bytes(nullptr), 0u);
  EXPECT_EQ(kiln_model_gpu_workspace_bytes(model), 0u);
}

TEST_F(CpuWorkspaceTest, AllocatedOnceAndReusedByEveryRun) {
  load(workspaceModel(addHostCode()));
  kiln_session *session = newSession();
  ASSERT_NE(session, nullptr);
  Outputs first;
  ASSERT_TRUE(runOnce(session, first));
  EXPECT_EQ(first.ok, 1) << "workspace not 64-byte aligned or too small";
  EXPECT_EQ(first.runs, 1); // the workspace starts zeroed
  for (int64_t run = 2; run <= 5; ++run) {
    Outputs next;
    ASSERT_TRUE(runOnce(session, next));
    // The same bytes: same address, and the counter the entry keeps there
    // survived the previous runs.
    EXPECT_EQ(next.address, first.address) << "run " << run;
    EXPECT_EQ(next.runs, run);
    EXPECT_EQ(next.ok, 1);
  }
}

TEST_F(CpuWorkspaceTest, SessionsHaveTheirOwnWorkspace) {
  load(workspaceModel(addHostCode()));
  kiln_session *a = newSession();
  kiln_session *b = newSession();
  ASSERT_TRUE(a && b);
  Outputs outA, outB;
  ASSERT_TRUE(runOnce(a, outA));
  ASSERT_TRUE(runOnce(a, outA));
  ASSERT_TRUE(runOnce(b, outB));
  EXPECT_NE(outA.address, outB.address);
  EXPECT_EQ(outA.runs, 2);
  EXPECT_EQ(outB.runs, 1);
}

TEST_F(CpuWorkspaceTest, ConcurrentSessionsDoNotShareScratch) {
  load(workspaceModel(addHostCode()));
  constexpr int kThreads = 4, kRuns = 200;
  std::vector<kiln_session *> mine;
  for (int t = 0; t < kThreads; ++t) {
    mine.push_back(newSession());
    ASSERT_NE(mine.back(), nullptr);
  }
  std::vector<Outputs> last(kThreads);
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRuns; ++i)
        if (!runOnce(mine[t], last[t]))
          ++failures[t];
    });
  for (std::thread &thread : threads)
    thread.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failures[t], 0) << "thread " << t;
    // A shared workspace would lose or double-count increments.
    EXPECT_EQ(last[t].runs, kRuns) << "thread " << t;
  }
}

TEST_F(CpuWorkspaceTest, EmptyWorkspaceStillRuns) {
  // workspace_bytes 0: the entry still gets a valid pointer last (the add
  // model's entry ignores it).
  ModelSpec spec = addModel(addHostCode());
  spec.workspaceBytes = 0;
  load(spec);
  EXPECT_EQ(kiln_model_workspace_bytes(model), 0u);
  EXPECT_NE(newSession(), nullptr);
}

TEST_F(CpuWorkspaceTest, SizeNoAddressSpaceHoldsIsCorrupt) {
  ModelSpec spec = workspaceModel(addHostCode());
  spec.workspaceBytes = uint64_t(1) << 63;
  EXPECT_EQ(loadBytes(buildArtifact(spec), &model),
            KILN_STATUS_CORRUPT_ARTIFACT);
  EXPECT_EQ(model, nullptr);
  EXPECT_NE(std::string(kiln_last_error()).find("workspace_bytes"),
            std::string::npos)
      << kiln_last_error();
}

TEST_F(CpuWorkspaceTest, WorkspaceOfAnotherTargetIsCorrupt) {
  ModelSpec spec = workspaceModel(addHostCode());
  spec.target = "tpu-v5";
  EXPECT_EQ(loadBytes(buildArtifact(spec), &model),
            KILN_STATUS_CORRUPT_ARTIFACT);
  EXPECT_NE(std::string(kiln_last_error())
                .find("only \"cpu-\" targets have a host workspace"),
            std::string::npos)
      << kiln_last_error();
}

TEST_F(CpuWorkspaceTest, AllocationFailureIsAStatus) {
  // Valid in the file, but more than this machine can give: the session
  // fails cleanly, the model stays usable.
  ModelSpec spec = workspaceModel(addHostCode());
  spec.workspaceBytes = uint64_t(1) << 62;
  load(spec);
  kiln_session *session = nullptr;
  EXPECT_EQ(kiln_session_create(model, "cpu", &session),
            KILN_STATUS_OUT_OF_MEMORY);
  EXPECT_EQ(session, nullptr);
  // More than the machine has, so the runtime's memory limit (the physical
  // memory by default) refuses it before malloc is asked.
  std::string message = kiln_last_error();
  EXPECT_EQ(message.rfind("out of memory allocating the 4611686018427387904-"
                          "byte workspace the model's code needs for its "
                          "intermediates (over the runtime's memory limit of ",
                          0),
            0u)
      << message;
}

} // namespace
