//===- session.h - What other parts of the runtime read of a session -*- C++ -*-===//

#ifndef KILN_RUNTIME_LIB_SESSION_H
#define KILN_RUNTIME_LIB_SESSION_H

#include "kiln/runtime.h"

#include "profile.h"

namespace kiln::rt {

/// The model a session runs (the session holds a reference to it).
const kiln_model &modelOf(const kiln_session &session);
kiln_model &modelOf(kiln_session &session);

/// The session's profile (kiln_session_enable_profile).
SessionProfile &profileOf(kiln_session &session);

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_SESSION_H
