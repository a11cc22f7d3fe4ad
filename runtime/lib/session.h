//===- session.h - What other parts of the runtime read of a session -*- C++ -*-===//

#ifndef KILN_RUNTIME_LIB_SESSION_H
#define KILN_RUNTIME_LIB_SESSION_H

#include "kiln/runtime.h"

namespace kiln::rt {

/// The model a session runs (the session holds a reference to it).
const kiln_model &modelOf(const kiln_session &session);

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_SESSION_H
