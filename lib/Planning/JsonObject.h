//===- JsonObject.h - The top-level object of a JSON file -------*- C++ -*-===//
//
// Private to lib/Planning: machine files and Hugging Face configs are both
// one JSON object, read with the same errors.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_PLANNING_JSONOBJECT_H
#define KILN_LIB_PLANNING_JSONOBJECT_H

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

namespace kiln::planning {

/// The object that `json` holds, or "<origin>: not JSON: ..." /
/// "<origin>: expected a JSON object".
inline llvm::Expected<llvm::json::Object>
parseJsonObject(llvm::StringRef json, llvm::StringRef origin) {
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(json);
  if (!parsed)
    return llvm::createStringError(
        origin.str() + ": not JSON: " + llvm::toString(parsed.takeError()));
  llvm::json::Object *root = parsed->getAsObject();
  if (!root)
    return llvm::createStringError(origin.str() + ": expected a JSON object");
  return std::move(*root);
}

} // namespace kiln::planning

#endif // KILN_LIB_PLANNING_JSONOBJECT_H
