//===- registry.cpp - The list of backends -------------------------------===//

#include "../lib/backend.h"

namespace kiln::rt {

#define KILN_BACKEND(x) const Backend &x##Backend();
#include "backends.def"
#undef KILN_BACKEND

const std::vector<const Backend *> &allBackends() {
  static const std::vector<const Backend *> backends = {
#define KILN_BACKEND(x) &x##Backend(),
#include "backends.def"
#undef KILN_BACKEND
  };
  return backends;
}

} // namespace kiln::rt
