//===- memory_limit_test.cpp - The runtime's cap on tensor storage --------===//
//
// kiln_set_memory_limit caps the bytes of tensor storage the runtime holds
// at once (kiln/runtime.h, "Memory limit"): past it, the allocation that
// would pass it is OUT_OF_MEMORY with a message naming the limit, and the
// same work succeeds once the limit allows it or other sessions are gone.
//
//===----------------------------------------------------------------------===//

#include "test_support.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace kiln::test;

namespace {

class MemoryLimitTest : public ::testing::Test {
protected:
  void SetUp() override { saved_ = kiln_memory_limit(); }
  void TearDown() override {
    kiln_session_release(session);
    kiln_model_release(model);
    kiln_set_memory_limit(saved_);
  }
  uint64_t saved_ = 0;
  kiln_model *model = nullptr;
  kiln_session *session = nullptr;
};

TEST_F(MemoryLimitTest, DefaultIsThePhysicalMemory) {
  // Set by $KILN_MEMORY_LIMIT in the environment, or the machine's RAM:
  // either way a limit, and a sane one (more than a megabyte).
  EXPECT_GT(saved_, uint64_t(1) << 20);
}

TEST_F(MemoryLimitTest, SymbolicInputPastTheLimitIsAStatus) {
  ASSERT_EQ(loadBytes(buildArtifact(dynamicModel(addHostCode())), &model),
            KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_create(model, "cpu", &session), KILN_STATUS_OK);
  // Room for what the session holds now plus a little: a [8,16] input
  // (512 bytes) does not fit.
  kiln_set_memory_limit(256);
  std::vector<float> a(8 * 16, 1.0f);
  const int64_t dims[] = {8, 16};
  kiln_status status = kiln_session_set_input(
      session, "a", KILN_DTYPE_FLOAT32, dims, 2, a.data(), a.size() * 4);
  EXPECT_EQ(status, KILN_STATUS_OUT_OF_MEMORY);
  std::string message = kiln_last_error();
  EXPECT_NE(message.find("out of memory allocating 512 bytes for input 'a' "
                         "(over the runtime's memory limit of 256 bytes: "),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("raise it with KILN_MEMORY_LIMIT or "
                         "kiln_set_memory_limit)"),
            std::string::npos)
      << message;
  // Raised, the same input fits and the model runs.
  kiln_set_memory_limit(uint64_t(1) << 30);
  EXPECT_EQ(kiln_session_set_input(session, "a", KILN_DTYPE_FLOAT32, dims, 2,
                                   a.data(), a.size() * 4),
            KILN_STATUS_OK)
      << kiln_last_error();
}

TEST_F(MemoryLimitTest, SessionsShareTheLimitAndGiveItBack) {
  ASSERT_EQ(loadBytes(buildArtifact(workspaceModel(addHostCode())), &model),
            KILN_STATUS_OK);
  // A session of the workspace model holds 4,416 bytes: the 4,096-byte
  // workspace and four small tensors, each rounded up to a 64-byte
  // multiple past its size (4,160 + 4 x 64). Room for one, not two.
  kiln_set_memory_limit(2 * 4416 - 1);
  ASSERT_EQ(kiln_session_create(model, "cpu", &session), KILN_STATUS_OK)
      << kiln_last_error();
  kiln_session *second = nullptr;
  EXPECT_EQ(kiln_session_create(model, "cpu", &second),
            KILN_STATUS_OUT_OF_MEMORY);
  EXPECT_EQ(second, nullptr);
  EXPECT_NE(std::string(kiln_last_error())
                .find("(over the runtime's memory limit of 8.6 KiB: "),
            std::string::npos)
      << kiln_last_error();
  // Released sessions give their bytes back.
  kiln_session_release(session);
  session = nullptr;
  ASSERT_EQ(kiln_session_create(model, "cpu", &second), KILN_STATUS_OK)
      << kiln_last_error();
  kiln_session_release(second);
}

TEST_F(MemoryLimitTest, ZeroMeansNoLimit) {
  kiln_set_memory_limit(0);
  EXPECT_EQ(kiln_memory_limit(), 0u);
  ASSERT_EQ(loadBytes(buildArtifact(addModel(addHostCode())), &model),
            KILN_STATUS_OK);
  EXPECT_EQ(kiln_session_create(model, "cpu", &session), KILN_STATUS_OK);
}

} // namespace
