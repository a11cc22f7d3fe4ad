//===- step_io.h - Inputs and outputs of a generation step ------*- C++ -*-===//
//
// What kiln_generation and kiln_batch both do to a generation-step session
// through the public session API: check the step's token and logit types,
// set token ids in the model's token dtype, zero a cache, and read the
// logits of a run.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_STEP_IO_H
#define KILN_RUNTIME_STEP_IO_H

#include "arguments.h"
#include "model.h"

#include <cstdint>
#include <vector>

namespace kiln::rt {

/// The generation section of `model` for an info query: INVALID_ARGUMENT
/// when `model` or the caller's output is NULL, NOT_FOUND when the model is
/// no generation step (or, with `paged`, its cache is not paged).
kiln_status generationOf(const kiln_model *model, const void *out, bool paged,
                         const GenerationInfo *&info);

/// Answers an info query about the generation section: clears `*out`, finds
/// the section (as generationOf), and stores what `describe` makes of it.
template <typename Out, typename Describe>
kiln_status describeGeneration(const kiln_model *model, Out *out, bool paged,
                               Describe describe) {
  clearOutputs(out);
  const GenerationInfo *info = nullptr;
  if (kiln_status status = generationOf(model, out, paged, info))
    return status;
  *out = describe(*info);
  return KILN_STATUS_OK;
}

/// Refuses sampling options outside temperature >= 0, top_p in [0, 1].
kiln_status checkSampling(const kiln_sampling &sampling);

/// Refuses a step whose tokens are not int64 or int32, or whose logits are
/// not float32 (what sampling reads).
kiln_status checkStepTypes(const kiln_model &model, const GenerationInfo &info);

/// The model and generation section that a kiln_generation (`paged`
/// false) or a kiln_batch (`paged` true) runs `session` on: INVALID_ARGUMENT
/// for a NULL `session` or `out` (named `outName`), NOT_FOUND when the model
/// is no generation step or, with `paged`, has no paged cache, UNSUPPORTED
/// when a paged cache is asked for without `paged`, and checkStepTypes'
/// refusals.
struct StepModel {
  const kiln_model *model = nullptr;
  const GenerationInfo *info = nullptr;
};
kiln_status stepModelOf(kiln_session *session, const void *out,
                        const char *outName, bool paged, StepModel &step);

/// Sets input `input` to the int64 `values` (as many as `dims` holds),
/// narrowed to int32 when the model takes int32 tokens.
kiln_status setTokenInput(kiln_session *session, const TensorInfo &input,
                          const int64_t *values,
                          const std::vector<int64_t> &dims);

/// Sets state input `input` to zeros of shape `dims`: positions not yet
/// written are masked out, but 0 x NaN would still poison the sums.
kiln_status setZeroState(kiln_session *session, const TensorInfo &input,
                         const std::vector<int64_t> &dims);

/// The float32 logits [rows, count, vocab] of the last run.
kiln_status readLogits(kiln_session *session, const GenerationInfo &info,
                       int64_t rows, int64_t count, const float *&logits,
                       int64_t &vocab);

} // namespace kiln::rt

#endif // KILN_RUNTIME_STEP_IO_H
