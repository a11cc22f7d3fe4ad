//===- arguments.h - The pointer checks of the C entry points ---*- C++ -*-===//
//
// Every entry point of the C API begins the same way: zero the outputs it
// was given, so that a failed call leaves nothing stale behind, then refuse
// a NULL it needs with "<parameter> is NULL".
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIB_ARGUMENTS_H
#define KILN_RUNTIME_LIB_ARGUMENTS_H

#include "error.h"

#include <initializer_list>

namespace kiln::rt {

/// A pointer parameter and its name; `needed` false when a NULL is fine
/// (an array whose count is zero).
struct Required {
  const void *pointer;
  const char *name;
  bool needed = true;
};

/// INVALID_ARGUMENT "<name> is NULL" for the first needed pointer that is
/// NULL, in the order given (the order of the parameters).
inline kiln_status requireArguments(std::initializer_list<Required> required) {
  for (const Required &r : required)
    if (r.needed && !r.pointer)
      return fail(KILN_STATUS_INVALID_ARGUMENT, "%s is NULL", r.name);
  return KILN_STATUS_OK;
}

/// Zeroes each output that was given (value-initialized: 0, NULL, {}).
template <typename... T> void clearOutputs(T *...outs) {
  ((outs ? void(*outs = T{}) : void()), ...);
}

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_ARGUMENTS_H
