//===- OldOpsets.h - Which operators opsets 1 to 6 share with 7 -*- C++ -*-===//
//
// Private to lib/ONNX. The handlers implement operators as of opsets 7 to
// 27. A model of an older opset imports when each of its operators is
// defined there as at opset 7 (its definition in force at opset 7 dates
// from the model's opset or earlier): Not of opset 1 is Not of opset 7,
// while Add of opset 6 still had its `broadcast` attribute.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_ONNX_OLDOPSETS_H
#define KILN_LIB_ONNX_OLDOPSETS_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>

namespace kiln::onnx_import {

/// The first opset of the definition that operator `opType` (default ONNX
/// domain) has at opset 7; 7 when it changed at 7 or is not known here.
int64_t opsetSevenDefinitionSince(llvm::StringRef opType);

} // namespace kiln::onnx_import

#endif // KILN_LIB_ONNX_OLDOPSETS_H
