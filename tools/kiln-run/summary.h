//===- summary.h - One-line description of an output tensor -----*- C++ -*-===//

#ifndef KILN_RUN_SUMMARY_H
#define KILN_RUN_SUMMARY_H

#include "kiln/runtime.h"

#include <string>
#include <vector>

namespace kiln::run {

/// "NAME: DTYPE[SHAPE] min=.. max=.. mean=.. values=[..]" -- enough to eyeball
/// a result without opening the .npy file.
std::string summarize(const kiln_tensor_desc &desc, const void *data,
                      size_t bytes);

/// "float32[2,3]". A symbolic dim of a model's signature, -(k+1), is
/// shown as `symbolNames[k]`: "int64[batch,seq]".
std::string typeString(const kiln_tensor_desc &desc,
                       const std::vector<std::string> &symbolNames = {});

} // namespace kiln::run

#endif // KILN_RUN_SUMMARY_H
