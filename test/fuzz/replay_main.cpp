//===- replay_main.cpp - Replay a fuzz target's corpus without libFuzzer --===//
//
// kiln-fuzz-replay-<target> DIR|FILE...
//
// Linked with a target's LLVMFuzzerTestOneInput in the normal build (normal
// compiler, no sanitizer), so that ctest replays the seed and regression
// corpora on every `make test`: an input that once crashed keeps passing.
// Runs every regular file under each argument (directories recursively, in
// sorted order), prints how many, and fails if there were none; a crash or
// an abort in the target fails the test by itself.
//
//===----------------------------------------------------------------------===//

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace fs = std::filesystem;

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
    return 2;
  }
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    std::error_code error;
    fs::path root(argv[i]);
    if (fs::is_regular_file(root, error)) {
      files.push_back(root);
      continue;
    }
    if (!fs::is_directory(root, error)) {
      std::fprintf(stderr, "%s: '%s' is neither a file nor a directory\n",
                   argv[0], argv[i]);
      return 1;
    }
    for (const auto &entry : fs::recursive_directory_iterator(root))
      if (entry.is_regular_file())
        files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "%s: no inputs to replay\n", argv[0]);
    return 1;
  }
  for (const fs::path &file : files) {
    std::ifstream in(file, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      std::fprintf(stderr, "%s: cannot read '%s'\n", argv[0], file.c_str());
      return 1;
    }
    // libFuzzer never passes a null pointer for an empty input either.
    static const uint8_t empty = 0;
    LLVMFuzzerTestOneInput(bytes.empty() ? &empty : bytes.data(),
                           bytes.size());
  }
  std::printf("replayed %zu inputs\n", files.size());
  return 0;
}
