//===- collectives.h - The MPI plugin behind kiln_collectives_* -*- C++ -*-===//
//
// The runtime never links MPI: kiln_collectives_init dlopens the plugin
// (runtime/collectives/mpi) and keeps its table for the process.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIB_COLLECTIVES_H
#define KILN_RUNTIME_LIB_COLLECTIVES_H

#include "kiln/collectives.h"

namespace kiln::rt {

/// The plugin's table once kiln_collectives_init has succeeded; else null.
const kiln_collective_calls *activeCollectives();

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_COLLECTIVES_H
