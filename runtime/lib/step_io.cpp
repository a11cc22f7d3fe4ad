//===- step_io.cpp - Inputs and outputs of a generation step -------------===//

#include "step_io.h"

#include "arguments.h"
#include "error.h"
#include "session.h"

#include <cmath>
#include <limits>

namespace kiln::rt {

kiln_status generationOf(const kiln_model *model, const void *out, bool paged,
                         const GenerationInfo *&info) {
  if (kiln_status status = requireArguments({{model, "model"}, {out, "out"}}))
    return status;
  info = &model->generation;
  if (!info->present)
    return fail(KILN_STATUS_NOT_FOUND,
                "the model is not a generation step (compile it with "
                "kiln-compile --generate)");
  if (paged && info->kvBlockSize == 0)
    return fail(KILN_STATUS_NOT_FOUND,
                "the model has no paged KV cache (compile it with "
                "kiln-compile --generate --kv-block-size N)");
  return KILN_STATUS_OK;
}

kiln_status stepModelOf(kiln_session *session, const void *out,
                        const char *outName, bool paged, StepModel &step) {
  if (kiln_status status =
          requireArguments({{session, "session"}, {out, outName}}))
    return status;
  step.model = &modelOf(*session);
  if (kiln_status status = generationOf(step.model, out, paged, step.info))
    return status;
  if (!paged && step.info->kvBlockSize > 0)
    return fail(KILN_STATUS_UNSUPPORTED,
                "the model's KV cache is paged (--kv-block-size); run it "
                "with kiln_batch_*");
  return checkStepTypes(*step.model, *step.info);
}

kiln_status checkSampling(const kiln_sampling &s) {
  if (!(s.temperature >= 0) || !std::isfinite(s.temperature) ||
      !(s.top_p >= 0 && s.top_p <= 1))
    return fail(KILN_STATUS_INVALID_ARGUMENT,
                "sampling needs temperature >= 0 and top_p in [0, 1], got %g "
                "and %g",
                double(s.temperature), double(s.top_p));
  return KILN_STATUS_OK;
}

kiln_status checkStepTypes(const kiln_model &model,
                           const GenerationInfo &info) {
  kiln_dtype tokens = model.metadata.inputs[info.tokensInput].dtype;
  if (tokens != KILN_DTYPE_INT64 && tokens != KILN_DTYPE_INT32)
    return fail(KILN_STATUS_UNSUPPORTED,
                "the tokens input is neither int64 nor int32");
  if (model.metadata.outputs[info.logitsOutput].dtype != KILN_DTYPE_FLOAT32)
    return fail(KILN_STATUS_UNSUPPORTED,
                "sampling reads float32 logits; this model's are another "
                "dtype");
  return KILN_STATUS_OK;
}

kiln_status setTokenInput(kiln_session *session, const TensorInfo &input,
                          const int64_t *values,
                          const std::vector<int64_t> &dims) {
  size_t count = 1;
  for (int64_t d : dims)
    count *= size_t(d);
  if (input.dtype == KILN_DTYPE_INT64)
    return kiln_session_set_input(session, input.name.c_str(), input.dtype,
                                  dims.data(), uint32_t(dims.size()), values,
                                  count * sizeof(int64_t));
  std::vector<int32_t> narrow(count);
  for (size_t i = 0; i < count; ++i) {
    if (values[i] < std::numeric_limits<int32_t>::min() ||
        values[i] > std::numeric_limits<int32_t>::max())
      return fail(KILN_STATUS_INVALID_ARGUMENT,
                  "token %lld does not fit the model's int32 '%s'",
                  (long long)values[i], input.name.c_str());
    narrow[i] = int32_t(values[i]);
  }
  return kiln_session_set_input(session, input.name.c_str(), input.dtype,
                                dims.data(), uint32_t(dims.size()),
                                narrow.data(), count * sizeof(int32_t));
}

kiln_status setZeroState(kiln_session *session, const TensorInfo &input,
                         const std::vector<int64_t> &dims) {
  uint64_t bytes = 0;
  if (!denseByteSize(dims.data(), dims.size(), kiln_dtype_size(input.dtype),
                     bytes))
    return fail(KILN_STATUS_OUT_OF_MEMORY, "state input '%s' is too large",
                input.name.c_str());
  std::vector<uint8_t> zeros(bytes, 0);
  return kiln_session_set_input(session, input.name.c_str(), input.dtype,
                                dims.data(), uint32_t(dims.size()),
                                zeros.data(), zeros.size());
}

kiln_status readLogits(kiln_session *session, const GenerationInfo &info,
                       int64_t rows, int64_t count, const float *&logits,
                       int64_t &vocab) {
  kiln_tensor_desc desc{};
  const void *data = nullptr;
  size_t bytes = 0;
  if (kiln_status status =
          kiln_session_output(session, info.logitsOutput, &desc, &data, &bytes))
    return status;
  if (desc.rank != 3 || desc.dims[0] != rows || desc.dims[1] != count)
    return fail(KILN_STATUS_INTERNAL,
                "the logits have an unexpected shape for %lld sequences of "
                "%lld tokens",
                (long long)rows, (long long)count);
  vocab = desc.dims[2];
  logits = static_cast<const float *>(data);
  return KILN_STATUS_OK;
}

} // namespace kiln::rt
