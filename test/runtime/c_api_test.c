/*===- c_api_test.c - The runtime header is C99 and links from C ----------===*\
|*                                                                            *|
|* Compiled as strict C99: proves runtime.h, dtype.h, artifact_format.h and  *|
|* gpu_calls.h need no C++ and that the exported symbols have C linkage.     *|
|* With an artifact path argument it also runs the "add" test model from C.  *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include "kiln/artifact_format.h"
#include "kiln/gpu_calls.h"
#include "kiln/runtime.h"

#include <stdio.h>
#include <string.h>

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__,  \
              __LINE__, #cond, kiln_last_error());                             \
      return 1;                                                                \
    }                                                                          \
  } while (0)

static int runAddModel(const char *path) {
  kiln_model *model = NULL;
  kiln_session *session = NULL;
  const int64_t shape[2] = {2, 3};
  const float a[6] = {1, 2, 3, 4, 5, 6};
  kiln_tensor_desc desc;
  const void *data = NULL;
  size_t bytes = 0;

  CHECK(kiln_model_load(path, &model) == KILN_STATUS_OK);
  CHECK(kiln_model_num_symbols(model) == 0);
  CHECK(kiln_session_create(model, "cpu", &session) == KILN_STATUS_OK);
  CHECK(kiln_session_set_input(session, "a", KILN_DTYPE_FLOAT32, shape, 2, a,
                               sizeof(a)) == KILN_STATUS_OK);
  CHECK(kiln_session_set_input(session, "b", KILN_DTYPE_FLOAT32, shape, 2, a,
                               sizeof(a)) == KILN_STATUS_OK);
  CHECK(kiln_session_run(session) == KILN_STATUS_OK);
  CHECK(kiln_session_output(session, 0, &desc, &data, &bytes) ==
        KILN_STATUS_OK);
  CHECK(bytes == sizeof(a) && ((const float *)data)[5] == 6 + 6 + 600);
  kiln_session_release(session);
  kiln_model_release(model);
  return 0;
}

int main(int argc, char **argv) {
  kiln_model *model = NULL;
  CHECK(kiln_model_load("/nonexistent.kiln", &model) == KILN_STATUS_IO_ERROR);
  CHECK(model == NULL);
  CHECK(strcmp(kiln_status_string(KILN_STATUS_IO_ERROR), "IO_ERROR") == 0);
  CHECK(strstr(kiln_last_error(), "/nonexistent.kiln") != NULL);
  {
    kiln_gpu_calls calls = {KILN_GPU_CALLS_ABI_VERSION, NULL, NULL, NULL};
    const char *arch = "x";
    int format = 1;
    CHECK(calls.abi_version == 1 && KILN_SECTION_GPU_CODE == 4);
    CHECK(kiln_model_num_gpu_images(NULL) == 0);
    CHECK(kiln_model_gpu_workspace_bytes(NULL) == 0);
    CHECK(kiln_model_gpu_image(NULL, 0, &arch, &format, NULL) ==
          KILN_STATUS_INVALID_ARGUMENT);
    CHECK(arch == NULL && format == 0);
  }
  {
    const char *name = "x";
    int64_t min = 1, max = 1;
    CHECK(kiln_model_num_symbols(NULL) == 0);
    CHECK(kiln_model_symbol(NULL, 0, &name, &min, &max) ==
          KILN_STATUS_INVALID_ARGUMENT);
    CHECK(name == NULL && min == 0 && max == 0);
    CHECK(KILN_MAX_SYMBOL_VALUE == (int64_t)1 << 40);
  }
  if (argc > 1)
    return runAddModel(argv[1]);
  return 0;
}
