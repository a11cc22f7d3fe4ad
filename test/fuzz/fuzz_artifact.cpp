//===- fuzz_artifact.cpp - libFuzzer target: the artifact loader ---------===//
//
// Bytes -> kiln_model_load -> introspection (symbols included), through the
// public C API and the real mmap path: the input is written to a memfd and
// loaded as /proc/self/fd/N. Loading validates the header, section table,
// METADATA (symbol table included), weight table and GPU_CODE and never
// runs host code (that happens at the first session, which this target
// does not create), so every input is safe to run.
//
// A mutated file almost never has a matching checksum, which would stop
// every input at the header. So each input is loaded twice: as it is, and
// with file_size and checksum rewritten to match (when it is long enough to
// have a header), which lets the mutations reach the section table and the
// sections' parsers.
//
//===----------------------------------------------------------------------===//

#include "kiln/artifact_format.h"
#include "kiln/runtime.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace {

int memoryFile() {
  static int fd = memfd_create("kiln-fuzz-artifact", MFD_CLOEXEC);
  if (fd < 0) {
    std::perror("memfd_create");
    std::abort();
  }
  return fd;
}

/// A harness failure (not a finding): stop loudly.
void check(bool ok, const char *what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_artifact: %s\n", what);
    std::abort();
  }
}

void introspect(const kiln_model *model) {
  const char *target = kiln_model_target(model);
  check(target && *target, "a loaded model has no target");
  (void)kiln_model_workspace_bytes(model);
  (void)kiln_model_gpu_workspace_bytes(model);
  for (size_t i = 0, e = kiln_model_num_gpu_images(model); i < e; ++i) {
    const char *arch = nullptr;
    int format = 0;
    uint64_t bytes = 0;
    check(kiln_model_gpu_image(model, i, &arch, &format, &bytes) ==
                  KILN_STATUS_OK &&
              arch,
          "kiln_model_gpu_image failed for an index in range");
    (void)std::strlen(arch);
  }
  // What kiln-inspect reads.
  (void)kiln_model_format_version(model);
  const char *entry = kiln_model_entry_symbol(model);
  check(entry && *entry, "a loaded model has no entry symbol");
  for (uint32_t kind = KILN_SECTION_METADATA; kind <= KILN_SECTION_GPU_CODE;
       ++kind) {
    uint64_t offset = 0, size = 0;
    if (kiln_model_section(model, kind, &offset, &size) == KILN_STATUS_OK)
      check(offset >= KILN_ARTIFACT_HEADER_SIZE,
            "a section overlaps the header");
  }
  for (size_t i = 0, e = kiln_model_num_weights(model); i < e; ++i) {
    kiln_tensor_desc desc;
    uint64_t bytes = 0;
    check(kiln_model_weight(model, i, &desc, &bytes) == KILN_STATUS_OK &&
              desc.name,
          "kiln_model_weight failed for an index in range");
  }
  for (size_t i = 0, e = kiln_model_num_gpu_kernels(model); i < e; ++i) {
    const char *name = nullptr;
    check(kiln_model_gpu_kernel(model, i, &name) == KILN_STATUS_OK && name,
          "kiln_model_gpu_kernel failed for an index in range");
  }
  size_t symbols = kiln_model_num_symbols(model);
  for (size_t i = 0; i < symbols; ++i) {
    const char *name = nullptr;
    int64_t min = -1, max = -1;
    check(kiln_model_symbol(model, i, &name, &min, &max) == KILN_STATUS_OK &&
              name && *name,
          "kiln_model_symbol failed for an index in range");
    check(0 <= min && min <= max && max <= KILN_MAX_SYMBOL_VALUE,
          "a loaded model has a symbol range the loader should reject");
  }
  const char *noName = nullptr;
  check(kiln_model_symbol(model, symbols, &noName, nullptr, nullptr) !=
                KILN_STATUS_OK,
        "a symbol index past the end was accepted");
  for (int side = 0; side < 2; ++side) {
    size_t count =
        side ? kiln_model_num_outputs(model) : kiln_model_num_inputs(model);
    for (size_t i = 0; i < count; ++i) {
      kiln_tensor_desc desc;
      kiln_status status = side ? kiln_model_output(model, i, &desc)
                                : kiln_model_input(model, i, &desc);
      check(status == KILN_STATUS_OK && desc.name, "describe failed");
      uint64_t product = 1;
      for (uint32_t d = 0; d < desc.rank; ++d) {
        product *= uint64_t(desc.dims[d]); // reads every dim
        check(desc.dims[d] >= 0 || uint64_t(-(desc.dims[d] + 1)) < symbols,
              "a loaded model has a dim naming no symbol");
      }
      (void)product;
      size_t found = SIZE_MAX;
      status = side ? kiln_model_find_output(model, desc.name, &found)
                    : kiln_model_find_input(model, desc.name, &found);
      check(status == KILN_STATUS_OK && found == i,
            "find does not return the index of a described name");
    }
    kiln_tensor_desc desc;
    check((side ? kiln_model_output(model, count, &desc)
                : kiln_model_input(model, count, &desc)) != KILN_STATUS_OK,
          "an index past the end was accepted");
  }
  size_t ignored;
  (void)kiln_model_find_input(model, "kiln-fuzz-no-such-name", &ignored);
}

void loadBytes(const uint8_t *data, size_t size) {
  int fd = memoryFile();
  check(ftruncate(fd, 0) == 0, "ftruncate");
  size_t done = 0;
  while (done < size) {
    ssize_t n = pwrite(fd, data + done, size - done, off_t(done));
    check(n > 0, "pwrite");
    done += size_t(n);
  }
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  kiln_model *model = nullptr;
  kiln_status status = kiln_model_load(path.c_str(), &model);
  if (status == KILN_STATUS_OK) {
    check(model != nullptr, "OK without a model");
    introspect(model);
    kiln_model_release(model);
    return;
  }
  check(model == nullptr, "a failed load returned a model");
  const char *message = kiln_last_error();
  check(message && *message, "a failed load left no message");
  check(std::strpbrk(message, "\r\n") == nullptr, "a multi-line message");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  loadBytes(data, size);
  if (size >= KILN_ARTIFACT_HEADER_SIZE) {
    std::vector<uint8_t> fixed(data, data + size);
    kiln_artifact_header header;
    std::memcpy(&header, fixed.data(), sizeof(header));
    header.file_size = size;
    header.checksum = kiln_checksum(fixed.data() + KILN_ARTIFACT_HEADER_SIZE,
                                    size - KILN_ARTIFACT_HEADER_SIZE);
    std::memcpy(fixed.data(), &header, sizeof(header));
    if (std::memcmp(fixed.data(), data, KILN_ARTIFACT_HEADER_SIZE) != 0)
      loadBytes(fixed.data(), size);
  }
  return 0;
}
