//===- cuda_backend_fixture.h - The fake driver's fixture -------*- C++ -*-===//
//
// What the CUDA backend's tests share (cuda_backend_test.cpp,
// cuda_profile_test.cpp): the fake driver's controls (fake_cuda/), a
// fixture that points the runtime at it, reads its log and checks that
// nothing the runtime acquired is left alive.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TEST_RUNTIME_CUDA_BACKEND_FIXTURE_H
#define KILN_TEST_RUNTIME_CUDA_BACKEND_FIXTURE_H

#include "fake_cuda/fake_cuda.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace kiln::test {

inline const int64_t kShape[] = {2, 3};
inline const float kA[] = {1, 2, 3, 4, 5, 6};
inline const float kB[] = {10, 20, 30, 40, 50, 60};
inline const float kW[] = {100, 200, 300, 400, 500, 600};

inline const Bytes &cudaHostCode() {
  static const Bytes code = readFile(KILN_TEST_CUDA_HOST_CODE);
  return code;
}

/// The fake driver's controls, from the same library the runtime loads.
struct FakeCuda {
  void (*reset)();
  int (*liveAllocations)();
  int (*liveModules)();
  int (*liveStreams)();
  int (*liveGraphs)();
  int (*liveContextRetains)();
  int (*liveEvents)();
  int (*contextDepth)();

  static const FakeCuda &get() {
    static const FakeCuda fake = [] {
      void *handle = dlopen(KILN_TEST_FAKE_CUDA, RTLD_NOW | RTLD_LOCAL);
      if (!handle) {
        std::fprintf(stderr, "cannot load the fake driver: %s\n", dlerror());
        std::abort();
      }
      auto symbol = [&](const char *name) {
        void *address = dlsym(handle, name);
        if (!address) {
          std::fprintf(stderr, "fake driver lacks %s\n", name);
          std::abort();
        }
        return address;
      };
      FakeCuda f;
      f.reset = reinterpret_cast<void (*)()>(symbol("kiln_fake_cuda_reset"));
#define KILN_FAKE_COUNTER(member, name)                                        \
  f.member = reinterpret_cast<int (*)()>(symbol(name));
      KILN_FAKE_COUNTER(liveAllocations, "kiln_fake_cuda_live_allocations")
      KILN_FAKE_COUNTER(liveModules, "kiln_fake_cuda_live_modules")
      KILN_FAKE_COUNTER(liveStreams, "kiln_fake_cuda_live_streams")
      KILN_FAKE_COUNTER(liveGraphs, "kiln_fake_cuda_live_graphs")
      KILN_FAKE_COUNTER(liveContextRetains,
                        "kiln_fake_cuda_live_context_retains")
      KILN_FAKE_COUNTER(liveEvents, "kiln_fake_cuda_live_events")
      KILN_FAKE_COUNTER(contextDepth, "kiln_fake_cuda_context_depth")
#undef KILN_FAKE_COUNTER
      return f;
    }();
    return fake;
  }
};

/// One line of the fake's log: "NAME k=v... -> RESULT [k=v...]".
struct LogLine {
  std::string name;
  std::map<std::string, std::string> args, outs;
  int result = 0;
  bool injected = false;
  std::string text;
};

class CudaBackendTest : public ::testing::Test {
protected:
  void SetUp() override {
    const char *dir = std::getenv("TMPDIR");
    logPath_ =
        std::string(dir && *dir ? dir : "/tmp") + "/kiln-fake-cuda-XXXXXX.log";
    int fd = mkstemps(logPath_.data(), 4);
    ASSERT_GE(fd, 0);
    close(fd);
    setenv("KILN_CUDA_DRIVER", KILN_TEST_FAKE_CUDA, 1);
    setenv("KILN_FAKE_CUDA_LOG", logPath_.c_str(), 1);
    unsetenv("KILN_FAKE_CUDA_FAIL");
    unsetenv("KILN_FAKE_CUDA_CC");
    unsetenv("KILN_FAKE_CUDA_DEVICES");
    fake().reset();
  }

  void TearDown() override {
    kiln_session_release(session);
    kiln_model_release(model);
    unlink(logPath_.c_str());
  }

  static const FakeCuda &fake() { return FakeCuda::get(); }

  /// Sets fake driver configuration and resets it (clearing the log).
  void configure(const char *variable, const char *value) {
    setenv(variable, value, 1);
    fake().reset();
    std::ofstream(logPath_, std::ios::trunc);
  }

  void load(const ModelSpec &spec) {
    ASSERT_EQ(loadBytes(buildArtifact(spec), &model), KILN_STATUS_OK)
        << kiln_last_error();
  }

  kiln_status create(const char *device = "cuda:0") {
    return kiln_session_create(model, device, &session);
  }

  kiln_status setInputs(const float *a = kA, const float *b = kB) {
    if (kiln_status status = kiln_session_set_input(
            session, "a", KILN_DTYPE_FLOAT32, kShape, 2, a, 6 * sizeof(float)))
      return status;
    return kiln_session_set_input(session, "b", KILN_DTYPE_FLOAT32, kShape, 2,
                                  b, 6 * sizeof(float));
  }

  /// Output `index` as bytes, or nothing if it is unavailable.
  Bytes output(size_t index) {
    kiln_tensor_desc desc;
    const void *data;
    size_t bytes;
    if (kiln_session_output(session, index, &desc, &data, &bytes))
      return {};
    const auto *begin = static_cast<const uint8_t *>(data);
    return Bytes(begin, begin + bytes);
  }

  /// Checks the add model's three outputs for inputs a and b.
  void expectAddOutputs(const float *a, const float *b) {
    Bytes sum = output(0), copy = output(1), sevens = output(2);
    ASSERT_EQ(sum.size(), 24u);
    ASSERT_EQ(copy.size(), 24u);
    const float *sums = reinterpret_cast<const float *>(sum.data());
    const float *copies = reinterpret_cast<const float *>(copy.data());
    for (int i = 0; i < 6; ++i) {
      EXPECT_EQ(sums[i], a[i] + b[i] + kW[i]) << i;
      EXPECT_EQ(copies[i], a[i]) << i;
    }
    EXPECT_EQ(sevens, (Bytes{7, 7, 7, 7}));
  }

  std::vector<LogLine> log() const {
    std::vector<LogLine> lines;
    std::ifstream in(logPath_);
    for (std::string text; std::getline(in, text);) {
      LogLine line;
      line.text = text;
      std::istringstream words(text);
      words >> line.name;
      bool after = false;
      for (std::string word; words >> word;) {
        if (word == "->") {
          words >> line.result;
          after = true;
        } else if (word == "(injected)") {
          line.injected = true;
        } else if (size_t eq = word.find('='); eq != std::string::npos) {
          (after ? line.outs : line.args)[word.substr(0, eq)] =
              word.substr(eq + 1);
        }
      }
      lines.push_back(line);
    }
    return lines;
  }

  /// The names of the logged calls, without the error-name lookups.
  std::vector<std::string> calls() const {
    std::vector<std::string> names;
    for (const LogLine &line : log())
      if (line.name.compare(0, 10, "cuGetError") != 0)
        names.push_back(line.name);
    return names;
  }

  std::string logText() const {
    std::string text;
    for (const LogLine &line : log())
      text += "  " + line.text + "\n";
    return text;
  }

  /// Whatever happened, nothing the runtime acquired is still alive, by the
  /// fake's counts and by the log: every allocation, module, stream, graph,
  /// event and retained context that a call created was destroyed by a
  /// later, successful call, and no context is left current. `except` lists
  /// the kinds ("allocation,module,stream,graph,event,context,current")
  /// that may be left because the test made the call that releases them
  /// fail.
  void expectNothingLeaked(const std::string &exceptList = "") {
    auto except = [&](const std::string &kind) {
      return ("," + exceptList + ",").find("," + kind + ",") !=
             std::string::npos;
    };
    if (!except("allocation"))
      EXPECT_EQ(fake().liveAllocations(), 0);
    if (!except("module"))
      EXPECT_EQ(fake().liveModules(), 0);
    if (!except("stream"))
      EXPECT_EQ(fake().liveStreams(), 0);
    if (!except("graph"))
      EXPECT_EQ(fake().liveGraphs(), 0);
    if (!except("context"))
      EXPECT_EQ(fake().liveContextRetains(), 0);
    if (!except("current"))
      EXPECT_EQ(fake().contextDepth(), 0);
    if (!except("event"))
      EXPECT_EQ(fake().liveEvents(), 0);

    struct Pair {
      const char *kind, *create, *handle, *destroy, *key;
    };
    const Pair pairs[] = {
        {"allocation", "cuMemAlloc_v2", "ptr", "cuMemFree_v2", "ptr"},
        {"module", "cuModuleLoadDataEx", "module", "cuModuleUnload", "module"},
        {"stream", "cuStreamCreate", "stream", "cuStreamDestroy_v2", "stream"},
        {"graph", "cuStreamEndCapture", "graph", "cuGraphDestroy", "graph"},
        {"graph", "cuGraphInstantiateWithFlags", "exec", "cuGraphExecDestroy",
         "exec"},
        {"event", "cuEventCreate", "event", "cuEventDestroy_v2", "event"}};
    std::vector<LogLine> lines = log();
    for (const Pair &pair : pairs) {
      if (except(pair.kind))
        continue;
      std::multiset<std::string> live;
      for (const LogLine &line : lines) {
        if (line.result != 0)
          continue;
        if (line.name == pair.create && line.outs.count(pair.handle))
          live.insert(line.outs.at(pair.handle));
        if (line.name == pair.destroy && line.args.count(pair.key)) {
          auto found = live.find(line.args.at(pair.key));
          EXPECT_NE(found, live.end())
              << pair.destroy << " of an unknown handle\n"
              << logText();
          if (found != live.end())
            live.erase(found);
        }
      }
      EXPECT_TRUE(live.empty()) << pair.kind << " leaked:\n" << logText();
    }
    if (!except("context")) {
      long retains = 0;
      for (const LogLine &line : lines) {
        if (line.result == 0 && line.name == "cuDevicePrimaryCtxRetain")
          ++retains;
        if (line.result == 0 && line.name == "cuDevicePrimaryCtxRelease_v2")
          --retains;
      }
      EXPECT_EQ(retains, 0) << logText();
    }
  }

  std::string lastError() const { return kiln_last_error(); }

  /// The end of a failure test: releases the session (if any), checks
  /// that the injected call really was made and failed, and that nothing
  /// but `leaks` (expectNothingLeaked's list) is left alive.
  void releaseAfterInjecting(const std::string &leaks) {
    kiln_session_release(session);
    session = nullptr;
    bool injected = false;
    for (const LogLine &line : log())
      injected |= line.injected;
    EXPECT_TRUE(injected) << logText();
    expectNothingLeaked(leaks);
  }

  std::string logPath_;
  kiln_model *model = nullptr;
  kiln_session *session = nullptr;
};

/// A parameterized test's name from its KILN_FAKE_CUDA_FAIL value
/// ("cuMemAlloc_v2:1" -> "cuMemAlloc_v2_1").
inline std::string injectionTestName(std::string fail) {
  for (char &c : fail)
    if (!std::isalnum(static_cast<unsigned char>(c)))
      c = '_';
  return fail;
}

inline bool contains(const std::string &text, const std::string &fragment) {
  return text.find(fragment) != std::string::npos;
}

} // namespace kiln::test

#endif // KILN_TEST_RUNTIME_CUDA_BACKEND_FIXTURE_H
