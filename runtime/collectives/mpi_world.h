//===- mpi_world.h - Joining and leaving MPI, for the plugins ---*- C++ -*-===//
//
// Both collectives plugins talk over MPI: the MPI plugin for every
// collective, the NCCL plugin to start processes and share NCCL's unique
// id. Each joins MPI the same way (initializing it only when the host
// program has not, so that a host that uses MPI itself keeps owning it)
// and works on its own duplicate of the world, so that its messages never
// match the host's. Header-only, like plugin_support.h.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_COLLECTIVES_MPI_WORLD_H
#define KILN_RUNTIME_COLLECTIVES_MPI_WORLD_H

#include <mpi.h>

namespace kiln::collectives {

/// Initializes MPI unless it is (setting `ownsMpi`) and duplicates its
/// world into `comm`, with errors returned rather than fatal. Returns null,
/// or the name of the MPI call that failed (then `comm` is null).
inline const char *joinMpiWorld(MPI_Comm &comm, bool &ownsMpi) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) !=
        MPI_SUCCESS)
      return "MPI_Init_thread";
    ownsMpi = true;
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  if (MPI_Comm_dup(MPI_COMM_WORLD, &comm) != MPI_SUCCESS) {
    comm = MPI_COMM_NULL;
    return "MPI_Comm_dup";
  }
  MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  return nullptr;
}

/// Frees `comm` and finalizes MPI when this plugin initialized it.
inline void leaveMpiWorld(MPI_Comm &comm, bool ownsMpi) {
  if (comm == MPI_COMM_NULL)
    return;
  MPI_Comm_free(&comm);
  comm = MPI_COMM_NULL;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (ownsMpi && !finalized)
    MPI_Finalize();
}

} // namespace kiln::collectives

#endif // KILN_RUNTIME_COLLECTIVES_MPI_WORLD_H
