/*===- fake_nccl.h - Test controls of the fake NCCL library ---------------===*\
|*                                                                            *|
|* libkiln_fake_nccl.so exports the NCCL entry points the NCCL collectives    *|
|* plugin uses (runtime/collectives/nccl/nccl_api.h), simulated on the host   *|
|* across the ranks mpirun starts, so that the plugin is tested without a    *|
|* GPU. The plugin loads it through KILN_NCCL_LIBRARY=/path/to/it.            *|
|*                                                                            *|
|* Simulation: "device" buffers are host memory. ncclCommInitRank needs MPI   *|
|* initialized (the plugin does it); the ranks meet at the world rank that   *|
|* made the unique id (ncclGetUniqueId writes it into each id it makes, a    *|
|* different one per call), which checks that nranks distinct ranks passed   *|
|* its id, and they make an MPI communicator of their own                   *|
|* (MPI_Comm_create_group): the world, or a group of some of the ranks. Each *|
|* collective or send/recv starts the matching non-blocking MPI operation    *|
|* and returns; kiln_fake_nccl_stream_query stands for cuStreamQuery on the  *|
|* stream: 0 once every operation started has completed, 600               *|
|* (CUDA_ERROR_NOT_READY) while one is pending. Groups only nest. Sums are   *|
|* simulated for the integer and float32/float64 types, not float16 or      *|
|* bfloat16 (ncclInvalidArgument).                                          *|
|*                                                                            *|
|* Configuration, read from the environment at the first call:             *|
|*   KILN_FAKE_NCCL_FAIL   NAME:N[:HOW],... : the Nth call (from 1) of entry *|
|*                         point NAME fails. HOW is a result code (default  *|
|*                         2, ncclSystemError) returned at once, or "async": *|
|*                         the call starts, and the communicator's          *|
|*                         asynchronous error becomes ncclRemoteError (6), as *|
|*                         when a peer's process dies mid-collective        *|
|*   KILN_FAKE_NCCL_FAIL_RANK  only this rank fails (default: every rank)   *|
|*   KILN_FAKE_NCCL_LOG    file prefix: rank R appends one line per call to  *|
|*                         PREFIX.R, "NAME -> RESULT", flushed at once so    *|
|*                         that it survives MPI_Abort; an injected failure   *|
|*                         ends with " (injected)"                           *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef KILN_TEST_RUNTIME_FAKE_NCCL_H
#define KILN_TEST_RUNTIME_FAKE_NCCL_H

#ifdef __cplusplus
extern "C" {
#endif

/* cuStreamQuery's meaning for the simulated stream (every communicator's
 * work): 0 done, 600 still running, 999 an MPI failure. */
int kiln_fake_nccl_stream_query(void *stream);

/* Communicators made and not yet destroyed or aborted. */
int kiln_fake_nccl_live_comms(void);

#ifdef __cplusplus
}
#endif

#endif /* KILN_TEST_RUNTIME_FAKE_NCCL_H */
