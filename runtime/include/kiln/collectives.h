/*===- kiln/collectives.h - Collectives between the ranks of a plan -------===*\
|*                                                                            *|
|* A model partitioned for N ranks (kiln-compile --devices N) runs as N       *|
|* processes, one per rank (`mpirun -np N kiln-run model.kiln ...`). Each     *|
|* rank's HOST_CODE exchanges tensors with the others only through this       *|
|* table: it exports a pointer KILN_COLLECTIVES_SYMBOL                        *|
|* (`const kiln_collective_calls *kiln_collectives`) that the runtime points  *|
|* at the table of its collectives plugin (runtime/collectives/mpi/,          *|
|* libkiln_collectives_mpi.so, which links Open MPI; the runtime dlopens it   *|
|* and never links MPI itself). For GPU buffers, runtime/collectives/nccl/    *|
|* fills the same table over NCCL (below).                                    *|
|*                                                                            *|
|* Every rank calls the same collectives in the same order with the same     *|
|* counts. Buffers are host memory (device memory for the NCCL plugin);     *|
|* `dtype` is a kiln_dtype (kiln/dtype.h): any whole-byte dtype moves, sums   *|
|* are defined for float32, float64, int32 and int64 (and more over NCCL).   *|
|* Counts are in elements.                                                    *|
|*                                                                            *|
|* Failure: a call returns 0, or KILN_STATUS_INVALID_ARGUMENT for arguments   *|
|* it cannot take (an unknown dtype, a peer outside the world). A failure of  *|
|* the exchange itself (a peer died, or did not arrive within the timeout)    *|
|* does not return: the plugin writes one line to stderr, "kiln: rank R:      *|
|* <what>", and ends every rank of the run (MPI_Abort), so no rank waits      *|
|* forever for one that will never come.                                      *|
|*                                                                            *|
|* ABI: later versions only append members and raise abi_version.             *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef KILN_COLLECTIVES_H
#define KILN_COLLECTIVES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_COLLECTIVES_ABI_VERSION 2u
/* The pointer a HOST_CODE object that calls collectives exports. */
#define KILN_COLLECTIVES_SYMBOL "kiln_collectives"
/* How long a collective waits for the other ranks by default (seconds). */
#define KILN_COLLECTIVES_DEFAULT_TIMEOUT 300.0

/* A communicator over a group of the ranks (ABI 2), opaque: each plugin
 * defines its own. */
typedef struct kiln_collective_group kiln_collective_group;

typedef struct kiln_collective_calls {
  uint32_t abi_version; /* KILN_COLLECTIVES_ABI_VERSION */
  int32_t rank;         /* this process's rank, in [0, size) */
  int32_t size;         /* the number of ranks (the MPI world) */

  /* Sums `count` elements of `buffer` over every rank, in place. */
  int32_t (*all_reduce)(void *buffer, uint64_t count, uint32_t dtype);
  /* recv (size * count elements) = every rank's `count` elements of send,
   * in rank order. */
  int32_t (*all_gather)(const void *send, void *recv, uint64_t count,
                        uint32_t dtype);
  /* Sums send (size * count elements) over every rank; rank r receives
   * block r of the sum (`count` elements) in recv. */
  int32_t (*reduce_scatter)(const void *send, void *recv, uint64_t count,
                            uint32_t dtype);
  /* Block p of send (`count` elements) goes to rank p; block p of recv
   * comes from rank p. */
  int32_t (*all_to_all)(const void *send, void *recv, uint64_t count,
                        uint32_t dtype);
  /* As all_to_all with per-peer counts and offsets (elements), the form
   * expert dispatch needs: send_counts[p] elements from send +
   * send_offsets[p] go to rank p, recv_counts[p] from rank p land at recv +
   * recv_offsets[p]. */
  int32_t (*all_to_allv)(const void *send, const uint64_t *send_counts,
                         const uint64_t *send_offsets, void *recv,
                         const uint64_t *recv_counts,
                         const uint64_t *recv_offsets, uint32_t dtype);
  /* Point to point, between pipeline stages: `count` elements to / from
   * rank `peer`, matched in call order. */
  int32_t (*send)(const void *buffer, uint64_t count, uint32_t dtype,
                  int32_t peer);
  int32_t (*recv)(void *buffer, uint64_t count, uint32_t dtype, int32_t peer);
  /* `count` elements of root's buffer into every rank's buffer. */
  int32_t (*broadcast)(void *buffer, uint64_t count, uint32_t dtype,
                       int32_t root);
  /* Returns once every rank has called it. */
  int32_t (*barrier)(void);

  /* ABI 2: collectives over a group of the ranks, for plans that combine
   * splits (a tensor-parallel group inside each pipeline stage, replicas
   * of a data-parallel plan). */

  /* Collective over every rank of the world, as MPI_Comm_split: the ranks
   * that pass the same `color` (>= 0) form one group, numbered by `key`
   * (ties by world rank). *group is its handle, valid until the plugin
   * closes; a rank passing a negative color joins no group (*group =
   * NULL). Every rank makes its groups in the same order. */
  int32_t (*group_split)(int32_t color, int32_t key,
                         kiln_collective_group **group);
  /* This rank's number in `group` and the group's size. */
  int32_t (*group_rank)(const kiln_collective_group *group, int32_t *rank,
                        int32_t *size);
  /* The collectives above, over the ranks of `group` only, ranks and
   * blocks numbered as in the group; every rank of the group calls them
   * in the same order. A NULL group is refused
   * (KILN_STATUS_INVALID_ARGUMENT). */
  int32_t (*group_all_reduce)(kiln_collective_group *group, void *buffer,
                              uint64_t count, uint32_t dtype);
  int32_t (*group_all_gather)(kiln_collective_group *group, const void *send,
                              void *recv, uint64_t count, uint32_t dtype);
  int32_t (*group_reduce_scatter)(kiln_collective_group *group,
                                  const void *send, void *recv, uint64_t count,
                                  uint32_t dtype);
  int32_t (*group_all_to_all)(kiln_collective_group *group, const void *send,
                              void *recv, uint64_t count, uint32_t dtype);
  int32_t (*group_broadcast)(kiln_collective_group *group, void *buffer,
                             uint64_t count, uint32_t dtype, int32_t root);
  int32_t (*group_barrier)(kiln_collective_group *group);
} kiln_collective_calls;

/* The plugin's entry points (runtime/collectives/mpi), which the runtime
 * finds with dlsym. open initializes MPI (MPI_Init_thread) and returns the
 * table; `timeout_seconds` > 0 bounds each collective's wait. On failure it
 * returns non-zero and writes a one-line reason to `error`. abort writes
 * "kiln: rank R: <message>" to stderr and ends every rank with
 * `exit_code`; close finalizes MPI. */
typedef int32_t (*kiln_collectives_open_fn)(double timeout_seconds,
                                            const kiln_collective_calls **out,
                                            char *error, size_t error_size);
typedef void (*kiln_collectives_abort_fn)(const char *message,
                                          int32_t exit_code);
typedef void (*kiln_collectives_close_fn)(void);
#define KILN_COLLECTIVES_OPEN_SYMBOL "kiln_collectives_mpi_open"
#define KILN_COLLECTIVES_ABORT_SYMBOL "kiln_collectives_mpi_abort"
#define KILN_COLLECTIVES_CLOSE_SYMBOL "kiln_collectives_mpi_close"
/* The plugin's file name; the runtime looks beside libkiln_runtime.so
 * first, then on the loader's path. KILN_COLLECTIVES_PLUGIN overrides. */
#define KILN_COLLECTIVES_MPI_LIBRARY "libkiln_collectives_mpi.so"

/* The NCCL plugin (runtime/collectives/nccl, libkiln_collectives_nccl.so)
 * fills the same table for GPU buffers: every pointer is device memory of
 * the device whose context is current when open is called, each call is
 * enqueued on `stream` and returns once it has completed there, so the
 * calls keep the table's blocking meaning. It loads NCCL with dlopen
 * ($KILN_NCCL_LIBRARY, else "libnccl.so.2"; nothing links NCCL), makes the
 * NCCL unique id on rank 0 and broadcasts it over MPI, which it links as
 * the MPI plugin does. Sums are defined for float16, bfloat16, float32,
 * float64, int8, uint8, int32, uint32, int64 and uint64; moves take any
 * whole-byte dtype, as above. barrier is an MPI barrier (the calls before
 * it have completed on the stream). A failure or a wait past the timeout
 * (NCCL's asynchronous error polled with ncclCommGetAsyncError, the stream
 * with `stream_query`) aborts the communicator (ncclCommAbort), writes one
 * line and ends every rank, as above. Its open fails as the MPI plugin's
 * does (non-zero, a one-line reason; a later open may succeed); abort and
 * close have the MPI plugin's types. Nothing in the runtime opens it yet:
 * kiln_collectives_init loads the MPI plugin. */
typedef struct kiln_collectives_gpu {
  /* The CUstream the collectives are enqueued on (NULL: the default
   * stream). */
  void *stream;
  /* Whether the work enqueued on `stream` has completed, with the meaning
   * of the driver's cuStreamQuery, which can be passed as is: 0 done, 600
   * (CUDA_ERROR_NOT_READY) still running, anything else a failure. */
  int32_t (*stream_query)(void *stream);
} kiln_collectives_gpu;
typedef int32_t (*kiln_collectives_nccl_open_fn)(
    double timeout_seconds, const kiln_collectives_gpu *gpu,
    const kiln_collective_calls **out, char *error, size_t error_size);
#define KILN_COLLECTIVES_NCCL_OPEN_SYMBOL "kiln_collectives_nccl_open"
#define KILN_COLLECTIVES_NCCL_ABORT_SYMBOL "kiln_collectives_nccl_abort"
#define KILN_COLLECTIVES_NCCL_CLOSE_SYMBOL "kiln_collectives_nccl_close"
#define KILN_COLLECTIVES_NCCL_LIBRARY "libkiln_collectives_nccl.so"
/* cuStreamQuery's "still running". */
#define KILN_COLLECTIVES_STREAM_BUSY 600

#ifdef __cplusplus
}
#endif

#endif /* KILN_COLLECTIVES_H */
