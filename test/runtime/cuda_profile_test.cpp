//===- cuda_profile_test.cpp - CUDA sessions that profile, faked ----------===//
//
// kiln_session_enable_profile on a CUDA session: CUDA events around each
// launch, the profile's per-kernel events (kernel N is the run's Nth
// launch, row N of the artifact's kernel table), runs without the CUDA
// graph while profiling, and every event call failing with a clear status
// and nothing left alive. The fake driver's clock (fake_cuda.h) makes each
// timed launch last exactly 11 us, 12 us after the one before it.
//
//===----------------------------------------------------------------------===//

#include "cuda_backend_fixture.h"

#include <algorithm>

using namespace kiln::test;

namespace {

class CudaProfileTest : public CudaBackendTest {
protected:
  /// cuda-add with its kernel table: two launches of kiln_test_add.
  void loadProfiled() {
    ModelSpec spec = cudaAddModel(cudaHostCode());
    addCudaAddKernelTable(spec);
    load(spec);
  }

  std::vector<kiln_profile_event> events() {
    const kiln_profile_event *data = nullptr;
    size_t count = 0;
    uint64_t dropped = 0;
    EXPECT_EQ(kiln_session_profile_get(session, &data, &count, &dropped),
              KILN_STATUS_OK)
        << lastError();
    EXPECT_EQ(dropped, 0u);
    return std::vector<kiln_profile_event>(data, data + count);
  }

  /// The calls made since `from` (an earlier calls().size()).
  std::vector<std::string> callsSince(size_t from) const {
    std::vector<std::string> all = calls();
    return std::vector<std::string>(all.begin() + long(from), all.end());
  }
};

size_t count(const std::vector<std::string> &names, const char *name) {
  return size_t(std::count(names.begin(), names.end(), name));
}

TEST_F(CudaProfileTest, TheKernelTableAndLaunchesLoad) {
  loadProfiled();
  ASSERT_EQ(kiln_model_num_kernels(model), 2u);
  kiln_kernel_info info;
  ASSERT_EQ(kiln_model_kernel(model, 1, &info), KILN_STATUS_OK);
  EXPECT_STREQ(info.name, "add");
  ASSERT_EQ(info.num_nodes, 1u);
  EXPECT_STREQ(info.nodes[0], "add_b");
  kiln_kernel_launch launch;
  ASSERT_EQ(kiln_model_kernel_launch(model, 1, &launch), KILN_STATUS_OK);
  EXPECT_EQ(launch.gpu_kernel, 0u);
  EXPECT_EQ(launch.grid[0] * launch.grid[1] * launch.grid[2], 1u);
  EXPECT_EQ(launch.block[0], 64u);
  EXPECT_EQ(launch.shared_bytes, 0u);
  EXPECT_EQ(kiln_model_kernel_launch(model, 2, &launch),
            KILN_STATUS_INVALID_ARGUMENT);
}

TEST_F(CudaProfileTest, BrokenLaunchesAreRefusedAtLoad) {
  struct Case {
    std::vector<LaunchSpec> launches;
    uint32_t magic;
    bool withKernels;
    const char *message;
  };
  LaunchSpec launch, otherKernel;
  otherKernel.gpuKernel = 1;
  const Case cases[] = {
      {{launch, launch}, 0x12345678u, true,
       "corrupt LAUNCHES section: magic is 0x12345678"},
      {{launch}, KILN_LAUNCHES_MAGIC, true,
       "corrupt LAUNCHES section: 1 launches, but KERNELS has 2 rows"},
      {{launch, launch}, KILN_LAUNCHES_MAGIC, false,
       "corrupt LAUNCHES section: 2 launches, but KERNELS has 0 rows"},
      {{launch, otherKernel}, KILN_LAUNCHES_MAGIC, true,
       "corrupt LAUNCHES section: launch 1 names GPU kernel 1, but GPU_CODE "
       "has 1"},
  };
  for (const Case &c : cases) {
    ModelSpec spec = cudaAddModel(cudaHostCode());
    addCudaAddKernelTable(spec);
    if (!c.withKernels)
      spec.kernels.reset();
    spec.launches = encodeLaunches(c.launches, c.magic);
    kiln_model *broken = nullptr;
    EXPECT_EQ(loadBytes(buildArtifact(spec), &broken),
              KILN_STATUS_CORRUPT_ARTIFACT);
    EXPECT_TRUE(contains(lastError(), c.message)) << lastError();
    kiln_model_release(broken);
  }
  // Bytes after the last launch.
  ModelSpec spec = cudaAddModel(cudaHostCode());
  addCudaAddKernelTable(spec);
  spec.launches->push_back(0);
  kiln_model *broken = nullptr;
  EXPECT_EQ(loadBytes(buildArtifact(spec), &broken),
            KILN_STATUS_CORRUPT_ARTIFACT);
  EXPECT_TRUE(contains(lastError(), "65 bytes for 2 launches of 32 bytes"))
      << lastError();
  kiln_model_release(broken);
}

TEST_F(CudaProfileTest, EventsAroundEachLaunchAndNoGraph) {
  loadProfiled();
  ASSERT_EQ(create(), KILN_STATUS_OK) << lastError();
  ASSERT_EQ(kiln_session_enable_profile(session, 100), KILN_STATUS_OK);
  ASSERT_EQ(setInputs(), KILN_STATUS_OK);
  size_t before = calls().size();
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
  expectAddOutputs(kA, kB);
  // Run 1: the reference event, then an event before and after each
  // launch (created on first use), and after the stream's synchronization
  // the elapsed times from the reference to each of the four.
  EXPECT_EQ(
      callsSince(before),
      (std::vector<std::string>{"cuCtxPushCurrent_v2",  "cuMemcpyHtoDAsync_v2",
                                "cuMemcpyHtoDAsync_v2", "cuEventCreate",
                                "cuEventRecord",        "cuEventCreate",
                                "cuEventRecord",        "cuLaunchKernel",
                                "cuEventCreate",        "cuEventRecord",
                                "cuEventCreate",        "cuEventRecord",
                                "cuLaunchKernel",       "cuEventCreate",
                                "cuEventRecord",        "cuMemcpyDtoDAsync_v2",
                                "cuMemsetD8Async",      "cuMemcpyDtoHAsync_v2",
                                "cuMemcpyDtoHAsync_v2", "cuMemcpyDtoHAsync_v2",
                                "cuStreamSynchronize",  "cuEventSynchronize",
                                "cuEventElapsedTime",   "cuEventElapsedTime",
                                "cuEventElapsedTime",   "cuEventElapsedTime",
                                "cuCtxPopCurrent_v2"}))
      << logText();

  // Runs 2 and 3 reuse the events and still launch directly: no graph is
  // captured or replayed while the session profiles.
  before = calls().size();
  for (int run = 2; run <= 3; ++run) {
    ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
    expectAddOutputs(kA, kB);
  }
  std::vector<std::string> later = callsSince(before);
  EXPECT_EQ(count(later, "cuEventCreate"), 0u) << logText();
  EXPECT_EQ(count(later, "cuEventRecord"), 10u);
  EXPECT_EQ(count(later, "cuLaunchKernel"), 4u);
  EXPECT_EQ(count(later, "cuStreamBeginCapture_v2"), 0u);
  EXPECT_EQ(count(later, "cuGraphLaunch"), 0u);

  // Per run: kernel 0, kernel 1, then the run; each launch 11 us long and
  // 12 us after the one before, by the fake's clock.
  std::vector<kiln_profile_event> got = events();
  ASSERT_EQ(got.size(), 9u);
  for (uint32_t run = 0; run < 3; ++run) {
    const kiln_profile_event *e = &got[run * 3];
    EXPECT_EQ(e[0].kernel, 0u);
    EXPECT_EQ(e[1].kernel, 1u);
    EXPECT_EQ(e[2].kernel, KILN_PROFILE_RUN);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(e[i].run, run);
      EXPECT_LE(e[i].start_ns, e[i].end_ns);
    }
    EXPECT_EQ(e[0].end_ns - e[0].start_ns, 11000u);
    EXPECT_EQ(e[1].end_ns - e[1].start_ns, 11000u);
    EXPECT_EQ(e[1].start_ns - e[0].start_ns, 12000u);
    // The reference is placed where it was enqueued, inside the run.
    EXPECT_GE(e[0].start_ns, e[2].start_ns);
  }

  // Profiling off: the next run captures the graph, the one after replays
  // it; on again: direct launches with the same events.
  ASSERT_EQ(kiln_session_enable_profile(session, 0), KILN_STATUS_OK);
  before = calls().size();
  for (int run = 0; run < 2; ++run)
    ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
  later = callsSince(before);
  EXPECT_EQ(count(later, "cuStreamBeginCapture_v2"), 1u) << logText();
  EXPECT_EQ(count(later, "cuGraphLaunch"), 2u);
  EXPECT_EQ(count(later, "cuEventRecord"), 0u);
  ASSERT_EQ(kiln_session_enable_profile(session, 100), KILN_STATUS_OK);
  before = calls().size();
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
  expectAddOutputs(kA, kB);
  later = callsSince(before);
  EXPECT_EQ(count(later, "cuGraphLaunch"), 0u) << logText();
  EXPECT_EQ(count(later, "cuEventRecord"), 5u);
  EXPECT_EQ(events().size(), 3u);

  // Release destroys the five events.
  before = calls().size();
  kiln_session_release(session);
  session = nullptr;
  EXPECT_EQ(count(callsSince(before), "cuEventDestroy_v2"), 5u) << logText();
  expectNothingLeaked();
}

TEST_F(CudaProfileTest, WithoutAKernelTableRunsOnlyAndTheGraphStays) {
  load(cudaAddModel(cudaHostCode()));
  ASSERT_EQ(create(), KILN_STATUS_OK) << lastError();
  ASSERT_EQ(kiln_session_enable_profile(session, 100), KILN_STATUS_OK);
  ASSERT_EQ(setInputs(), KILN_STATUS_OK);
  for (int run = 0; run < 3; ++run)
    ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
  std::vector<kiln_profile_event> got = events();
  ASSERT_EQ(got.size(), 3u);
  for (const kiln_profile_event &e : got)
    EXPECT_EQ(e.kernel, KILN_PROFILE_RUN);
  std::vector<std::string> names = calls();
  EXPECT_EQ(count(names, "cuEventCreate"), 0u);
  EXPECT_EQ(count(names, "cuGraphLaunch"), 2u);
  kiln_session_release(session);
  session = nullptr;
  expectNothingLeaked();
}

//===--- Every event call failing -----------------------------------------===//

/// KILN_FAKE_CUDA_FAIL, the status of the failed profiled run (OK: the
/// failure is at release, which cannot report) and a fragment of its
/// message; `leaks` as in expectNothingLeaked.
struct EventInjection {
  const char *fail;
  kiln_status status;
  const char *message;
  const char *leaks = "";
};

std::ostream &operator<<(std::ostream &out, const EventInjection &injection) {
  return out << injection.fail;
}

class CudaProfileFailureTest
    : public CudaProfileTest,
      public ::testing::WithParamInterface<EventInjection> {};

TEST_P(CudaProfileFailureTest, FailsCleanly) {
  const EventInjection &injection = GetParam();
  loadProfiled();
  configure("KILN_FAKE_CUDA_FAIL", injection.fail);
  ASSERT_EQ(create(), KILN_STATUS_OK) << lastError();
  ASSERT_EQ(kiln_session_enable_profile(session, 100), KILN_STATUS_OK);
  ASSERT_EQ(setInputs(), KILN_STATUS_OK);
  kiln_status status = kiln_session_run(session);
  EXPECT_EQ(status, injection.status)
      << kiln_status_string(status) << ": " << lastError();
  if (status != KILN_STATUS_OK) {
    EXPECT_TRUE(contains(lastError(), injection.message))
        << "message: " << lastError() << "\n"
        << logText();
    EXPECT_EQ(lastError().compare(0, 14, "device 'cuda:0"), 0) << lastError();
    EXPECT_TRUE(output(0).empty());
    EXPECT_EQ(fake().contextDepth(), 0);
  } else {
    expectAddOutputs(kA, kB);
  }
  releaseAfterInjecting(injection.leaks);
}

INSTANTIATE_TEST_SUITE_P(
    EventCalls, CudaProfileFailureTest,
    ::testing::Values(
        // The run's reference event.
        EventInjection{"cuEventCreate:1", KILN_STATUS_OUT_OF_MEMORY,
                       "timing the run's kernels: cuEventCreate returned "
                       "CUDA_ERROR_OUT_OF_MEMORY (out of memory)"},
        EventInjection{"cuEventRecord:1", KILN_STATUS_DEVICE_ERROR,
                       "timing the run's kernels: cuEventRecord returned "
                       "CUDA_ERROR_INVALID_HANDLE"},
        // Around the launches: before the first, after it, after the second.
        EventInjection{"cuEventCreate:2", KILN_STATUS_OUT_OF_MEMORY,
                       "timing launch 0 (kernel 'kiln_test_add'): "
                       "cuEventCreate returned CUDA_ERROR_OUT_OF_MEMORY"},
        EventInjection{"cuEventRecord:3", KILN_STATUS_DEVICE_ERROR,
                       "timing launch 0 (kernel 'kiln_test_add'): "
                       "cuEventRecord returned CUDA_ERROR_INVALID_HANDLE"},
        EventInjection{"cuEventCreate:5", KILN_STATUS_OUT_OF_MEMORY,
                       "timing launch 1 (kernel 'kiln_test_add'): "
                       "cuEventCreate returned"},
        // Reading the times back.
        EventInjection{"cuEventSynchronize:1", KILN_STATUS_DEVICE_ERROR,
                       "reading the kernels' times: cuEventSynchronize "
                       "returned CUDA_ERROR_LAUNCH_FAILED"},
        EventInjection{"cuEventElapsedTime:1", KILN_STATUS_DEVICE_ERROR,
                       "reading the kernels' times: cuEventElapsedTime "
                       "returned CUDA_ERROR_NOT_READY (device not ready)"},
        EventInjection{"cuEventElapsedTime:4", KILN_STATUS_DEVICE_ERROR,
                       "reading the kernels' times: cuEventElapsedTime"},
        // Release cannot report; the other events are still destroyed.
        EventInjection{"cuEventDestroy_v2:1", KILN_STATUS_OK, "", "event"}),
    [](const ::testing::TestParamInfo<EventInjection> &info) {
      return injectionTestName(info.param.fail);
    });

} // namespace
