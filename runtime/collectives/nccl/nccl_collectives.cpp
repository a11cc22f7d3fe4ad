//===- nccl_collectives.cpp - The collectives table over NCCL -------------===//
//
// libkiln_collectives_nccl.so: the collectives of a partitioned model whose
// tensors live on GPUs (kiln/collectives.h). NCCL is loaded with dlopen
// (nccl_api.h), never linked; MPI, which the plugin links as the MPI plugin
// does, starts the ranks' processes, carries the NCCL unique id from rank 0
// to the others, and implements the barrier.
//
// Each call enqueues its NCCL work on the stream it was opened with, then
// polls until it has completed: ncclCommGetAsyncError for an error NCCL
// found (a peer gone, a network failure), the stream (cuStreamQuery's
// meaning, through kiln_collectives_gpu::stream_query) for completion. A
// failure, or a wait past the timeout, aborts the communicator
// (ncclCommAbort, which releases it and stops its kernels), writes one line
// and ends every rank with MPI_Abort, so no rank waits forever.
//
//===----------------------------------------------------------------------===//

#include "nccl_api.h"

#include "../mpi_world.h"
#include "../plugin_support.h"

#include "kiln/collectives.h"
#include "kiln/dtype.h"
#include "kiln/runtime.h"

#include <mpi.h>

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <dlfcn.h>
#include <memory>
#include <sched.h>
#include <string>
#include <unistd.h>
#include <vector>

#define KILN_PLUGIN_API extern "C" __attribute__((visibility("default")))

using namespace kiln::collectives;
using namespace kiln::nccl;

/// A communicator of the world or of a group split from it: NCCL's, and
/// MPI's for its barrier and for sharing its unique id.
struct kiln_collective_group {
  MPI_Comm mpi = MPI_COMM_NULL;
  ncclComm_t comm = nullptr;
  int rank = 0, size = 1;
};

namespace {

using Group = kiln_collective_group;

Library nccl;
bool ncclLoaded = false;
/// The world, and the groups split from it (destroyed at close).
Group world;
std::vector<std::unique_ptr<Group>> groups;
kiln_collectives_gpu gpu;
double timeoutSeconds = KILN_COLLECTIVES_DEFAULT_TIMEOUT;
bool ownsMpi = false;
kiln_collective_calls table;

//===----------------------------------------------------------------------===//
// Messages and the end of every rank
//===----------------------------------------------------------------------===//

/// " (NCCL's last error for `c`)", or "" when NCCL has none.
std::string lastError(ncclComm_t c) {
  const char *text = nccl.ncclGetLastError ? nccl.ncclGetLastError(c) : "";
  return text && *text ? std::string(" (") + text + ")" : "";
}

const char *resultText(ncclResult_t result) {
  const char *text = nccl.ncclGetErrorString(result);
  return text ? text : "unknown NCCL result";
}

/// The world and every group, whose communicators an end aborts.
std::vector<Group *> allGroups() {
  std::vector<Group *> all = {&world};
  for (std::unique_ptr<Group> &g : groups)
    all.push_back(g.get());
  return all;
}

[[noreturn]] void endEveryRank(int code, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  FormattedLine line(fmt, args);
  va_end(args);
  // Abort the communicator first: it releases the communicator and stops
  // kernels that wait for a peer, which MPI_Abort alone would leave behind.
  bool aborted = false;
  for (Group *g : allGroups())
    if (g->comm) {
      nccl.ncclCommAbort(g->comm);
      g->comm = nullptr;
      aborted = true;
    }
  fprintf(stderr, "kiln: rank %d: %s; %sending every rank\n", table.rank,
          line.text, aborted ? "aborted the NCCL communicator, " : "");
  fflush(stderr);
  // Before MPI started (NCCL would not load) there is no one else to end:
  // every rank fails the same way.
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized)
    MPI_Abort(world.mpi == MPI_COMM_NULL ? MPI_COMM_WORLD : world.mpi, code);
  _exit(code); // MPI_Abort does not return; in case it does
}

/// Writes a one-line reason to `error` and returns 1 (open's failure).
int32_t refuse(char *error, size_t errorSize, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(error, errorSize, fmt, args);
  va_end(args);
  return 1;
}

//===----------------------------------------------------------------------===//
// Waiting, against the timeout
//===----------------------------------------------------------------------===//

[[noreturn]] void timedOut(const char *what) {
  endEveryRank(4,
               "%s did not complete within %g s (--collective-timeout): "
               "another rank died, hangs, or does not call it",
               what, timeoutSeconds);
}

/// Waits for the NCCL work `what` that `entry` enqueued on `comm`, returning
/// `started`: ends every rank when it could not start, when NCCL reports an
/// asynchronous error or the stream a failure, or past the timeout.
int32_t complete(ncclComm_t comm, const char *what, const char *entry,
                 ncclResult_t started) {
  if (started != ncclSuccess && started != ncclInProgress)
    endEveryRank(3, "%s failed: %s returned '%s'%s", what, entry,
                 resultText(started), lastError(comm).c_str());
  double start = monotonicSeconds();
  unsigned polls = 0;
  for (;;) {
    ncclResult_t state = ncclSuccess;
    ncclResult_t polled = nccl.ncclCommGetAsyncError(comm, &state);
    if (polled != ncclSuccess)
      endEveryRank(3, "%s failed: ncclCommGetAsyncError returned '%s'", what,
                   resultText(polled));
    if (state != ncclSuccess && state != ncclInProgress)
      endEveryRank(3, "%s failed: NCCL reports '%s'%s (has another rank "
                      "died?)",
                   what, resultText(state), lastError(comm).c_str());
    if (state == ncclSuccess) {
      int32_t stream = gpu.stream_query(gpu.stream);
      if (stream == 0)
        return 0;
      if (stream != KILN_COLLECTIVES_STREAM_BUSY)
        endEveryRank(3, "%s failed: its stream reports CUDA error %d", what,
                     stream);
    }
    if (monotonicSeconds() - start > timeoutSeconds)
      timedOut(what);
    pauseBetweenPolls(polls);
  }
}

/// Waits for the MPI request `what`, against the same timeout.
void waitMpi(MPI_Request &request, const char *what) {
  double start = monotonicSeconds();
  unsigned polls = 0;
  for (;;) {
    int done = 0;
    if (MPI_Test(&request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
      endEveryRank(3, "%s failed in MPI (has another rank died?)", what);
    if (done)
      return;
    if (monotonicSeconds() - start > timeoutSeconds)
      timedOut(what);
    pauseBetweenPolls(polls);
  }
}

//===----------------------------------------------------------------------===//
// Dtypes
//===----------------------------------------------------------------------===//

/// NCCL's type for a sum over `dtype`; -1 when it has none.
ncclDataType_t sumType(uint32_t dtype) {
  switch (dtype) {
  case KILN_DTYPE_FLOAT16: return ncclFloat16;
  case KILN_DTYPE_BFLOAT16: return ncclBfloat16;
  case KILN_DTYPE_FLOAT32: return ncclFloat32;
  case KILN_DTYPE_FLOAT64: return ncclFloat64;
  case KILN_DTYPE_INT8: return ncclInt8;
  case KILN_DTYPE_UINT8: return ncclUint8;
  case KILN_DTYPE_INT32: return ncclInt32;
  case KILN_DTYPE_UINT32: return ncclUint32;
  case KILN_DTYPE_INT64: return ncclInt64;
  case KILN_DTYPE_UINT64: return ncclUint64;
  default: return -1;
  }
}

bool isRank(const Group *g, int32_t rank) {
  return g && rank >= 0 && rank < g->size;
}

char *at(void *base, size_t offset) { return static_cast<char *>(base) + offset; }
const char *at(const void *base, size_t offset) {
  return static_cast<const char *>(base) + offset;
}

//===----------------------------------------------------------------------===//
// The table: each collective over a group (the world's entries pass it)
//===----------------------------------------------------------------------===//

int32_t groupAllReduce(Group *g, void *buffer, uint64_t count, uint32_t dtype) {
  ncclDataType_t type = sumType(dtype);
  if (!g || type < 0)
    return KILN_STATUS_INVALID_ARGUMENT;
  return complete(g->comm, "all-reduce", "ncclAllReduce",
                  nccl.ncclAllReduce(buffer, buffer, count, type, ncclSum,
                                     g->comm, gpu.stream));
}

int32_t groupAllGather(Group *g, const void *send, void *recv, uint64_t count,
                       uint32_t dtype) {
  size_t bytes, whole;
  if (!g || !asBytes(count, dtype, bytes) ||
      !asBytes(count, dtype, whole, uint64_t(g->size)))
    return KILN_STATUS_INVALID_ARGUMENT;
  return complete(
      g->comm, "all-gather", "ncclAllGather",
      nccl.ncclAllGather(send, recv, bytes, ncclUint8, g->comm, gpu.stream));
}

int32_t groupReduceScatter(Group *g, const void *send, void *recv,
                           uint64_t count, uint32_t dtype) {
  ncclDataType_t type = sumType(dtype);
  size_t whole;
  if (!g || type < 0 || !asBytes(count, dtype, whole, uint64_t(g->size)))
    return KILN_STATUS_INVALID_ARGUMENT;
  return complete(g->comm, "reduce-scatter", "ncclReduceScatter",
                  nccl.ncclReduceScatter(send, recv, count, type, ncclSum,
                                         g->comm, gpu.stream));
}

/// One exchange with every peer of `g` as a group of ncclSend/ncclRecv:
/// block p of send (sendBytes[p] at sendOffsets[p]) to rank p, block p of
/// recv from rank p.
int32_t exchange(Group *g, const char *what, const void *send,
                 const std::vector<size_t> &sendBytes,
                 const std::vector<size_t> &sendOffsets, void *recv,
                 const std::vector<size_t> &recvBytes,
                 const std::vector<size_t> &recvOffsets) {
  ncclResult_t started = nccl.ncclGroupStart();
  if (started != ncclSuccess)
    return complete(g->comm, what, "ncclGroupStart", started);
  const char *failed = nullptr;
  ncclResult_t failure = ncclSuccess;
  for (int p = 0; p < g->size && !failed; ++p) {
    ncclResult_t rc = nccl.ncclSend(at(send, sendOffsets[p]), sendBytes[p],
                                    ncclUint8, p, g->comm, gpu.stream);
    if (rc != ncclSuccess) {
      failed = "ncclSend", failure = rc;
      break;
    }
    rc = nccl.ncclRecv(at(recv, recvOffsets[p]), recvBytes[p], ncclUint8, p,
                       g->comm, gpu.stream);
    if (rc != ncclSuccess)
      failed = "ncclRecv", failure = rc;
  }
  // The group is closed even after a failure: NCCL frees what it holds.
  ncclResult_t ended = nccl.ncclGroupEnd();
  if (failed)
    return complete(g->comm, what, failed, failure);
  return complete(g->comm, what, "ncclGroupEnd", ended);
}

int32_t groupAllToAll(Group *g, const void *send, void *recv, uint64_t count,
                      uint32_t dtype) {
  size_t bytes, whole;
  if (!g || !asBytes(count, dtype, bytes) ||
      !asBytes(count, dtype, whole, uint64_t(g->size)))
    return KILN_STATUS_INVALID_ARGUMENT;
  std::vector<size_t> sizes(g->size, bytes), offsets(g->size);
  for (int p = 0; p < g->size; ++p)
    offsets[p] = size_t(p) * bytes;
  return exchange(g, "all-to-all", send, sizes, offsets, recv, sizes, offsets);
}

int32_t groupBroadcast(Group *g, void *buffer, uint64_t count, uint32_t dtype,
                       int32_t root) {
  size_t bytes;
  if (!isRank(g, root) || !asBytes(count, dtype, bytes))
    return KILN_STATUS_INVALID_ARGUMENT;
  return complete(g->comm, "broadcast", "ncclBroadcast",
                  nccl.ncclBroadcast(buffer, buffer, bytes, ncclUint8, root,
                                     g->comm, gpu.stream));
}

/// Every call before it has completed on the stream (each call waits), so
/// a barrier of the processes is a barrier of the GPU work.
int32_t groupBarrier(Group *g) {
  if (!g)
    return KILN_STATUS_INVALID_ARGUMENT;
  MPI_Request request;
  if (MPI_Ibarrier(g->mpi, &request) != MPI_SUCCESS)
    endEveryRank(3, "barrier could not start");
  waitMpi(request, "barrier");
  return 0;
}

/// all-to-all-v over the world with counts and offsets already in bytes.
int32_t exchangeBytes(const void *send, const PeerBytes<size_t> &b,
                      void *recv) {
  return exchange(&world, "all-to-all-v", send, b.sendCounts, b.sendOffsets,
                  recv, b.recvCounts, b.recvOffsets);
}

/// Sends `count` elements of `dtype` to world rank `peer`, or receives
/// them from it.
int32_t pointToPoint(bool sending, void *buffer, uint64_t count, uint32_t dtype,
                     int32_t peer) {
  size_t bytes;
  if (!isRank(&world, peer) || !asBytes(count, dtype, bytes))
    return KILN_STATUS_INVALID_ARGUMENT;
  if (sending)
    return complete(
        world.comm, "send", "ncclSend",
        nccl.ncclSend(buffer, bytes, ncclUint8, peer, world.comm, gpu.stream));
  return complete(
      world.comm, "receive", "ncclRecv",
      nccl.ncclRecv(buffer, bytes, ncclUint8, peer, world.comm, gpu.stream));
}

int32_t sendTo(const void *buffer, uint64_t count, uint32_t dtype,
               int32_t peer) {
  // ncclSend only reads the buffer.
  return pointToPoint(true, const_cast<void *>(buffer), count, dtype, peer);
}

int32_t receiveFrom(void *buffer, uint64_t count, uint32_t dtype,
                    int32_t peer) {
  return pointToPoint(false, buffer, count, dtype, peer);
}

//===----------------------------------------------------------------------===//
// Opening: NCCL, MPI, the unique id, the communicator
//===----------------------------------------------------------------------===//

/// dlopens NCCL ($KILN_NCCL_LIBRARY, else libnccl.so.2) and looks up every
/// entry point. Loaded once for the process (NCCL is never unloaded); a
/// failed load is not remembered.
bool loadNccl(char *error, size_t errorSize) {
  if (ncclLoaded)
    return true;
  const char *path = std::getenv("KILN_NCCL_LIBRARY");
  if (!path || !*path)
    path = "libnccl.so.2";
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *reason = dlerror();
    refuse(error, errorSize,
           "cannot load NCCL (%s): %s; install NCCL (libnccl2) or set "
           "KILN_NCCL_LIBRARY",
           path, reason ? reason : "dlopen failed");
    return false;
  }
  Library loaded;
#define KILN_NCCL_LOOKUP(name, result, params)                                 \
  loaded.name = reinterpret_cast<result(*) params>(dlsym(handle, #name));     \
  if (!loaded.name) {                                                          \
    refuse(error, errorSize, "%s has no %s: not NCCL 2, or too old a one",    \
           path, #name);                                                       \
    dlclose(handle);                                                           \
    return false;                                                              \
  }
  KILN_NCCL_FUNCTIONS(KILN_NCCL_LOOKUP)
#undef KILN_NCCL_LOOKUP
  nccl = loaded;
  ncclLoaded = true;
  return true;
}

/// Initializes MPI when no one has and duplicates its world for the
/// plugin's own messages (the unique id, the barrier).
bool startMpi(char *error, size_t errorSize) {
  if (world.mpi != MPI_COMM_NULL)
    return true;
  if (const char *failed = joinMpiWorld(world.mpi, ownsMpi)) {
    refuse(error, errorSize, "%s failed", failed);
    return false;
  }
  MPI_Comm_rank(world.mpi, &world.rank);
  MPI_Comm_size(world.mpi, &world.size);
  table.rank = world.rank;
  table.size = world.size;
  return true;
}

/// Rank 0 of `g` makes the NCCL unique id and broadcasts it over the
/// group's MPI communicator with its result, so that when it fails every
/// rank of the group fails, none waits in ncclCommInitRank for it.
bool shareUniqueId(const Group &g, ncclUniqueId &id, char *error,
                   size_t errorSize) {
  struct {
    int32_t result;
    ncclUniqueId id;
  } message = {};
  if (g.rank == 0)
    message.result = nccl.ncclGetUniqueId(&message.id);
  MPI_Request request;
  if (MPI_Ibcast(&message, int(sizeof(message)), MPI_BYTE, 0, g.mpi,
                 &request) != MPI_SUCCESS) {
    refuse(error, errorSize, "cannot broadcast the NCCL unique id over MPI");
    return false;
  }
  waitMpi(request, "the NCCL unique id's broadcast");
  if (message.result != ncclSuccess) {
    if (g.rank == 0)
      refuse(error, errorSize, "ncclGetUniqueId failed: %s%s",
             resultText(message.result), lastError(nullptr).c_str());
    else
      refuse(error, errorSize,
             "rank 0 could not make the NCCL unique id (ncclGetUniqueId: %s)",
             resultText(message.result));
    return false;
  }
  id = message.id;
  return true;
}

/// Makes the NCCL communicator of `g`, whose MPI communicator, rank and
/// size are set: the unique id shared over MPI, then ncclCommInitRank.
bool initNcclComm(Group &g, char *error, size_t errorSize) {
  ncclUniqueId id;
  if (!shareUniqueId(g, id, error, errorSize))
    return false;
  ncclComm_t created = nullptr;
  ncclResult_t rc = nccl.ncclCommInitRank(&created, g.size, id, g.rank);
  if (rc != ncclSuccess) {
    std::string detail = lastError(created);
    if (created)
      nccl.ncclCommAbort(created);
    refuse(error, errorSize, "ncclCommInitRank failed on rank %d of %d: %s%s",
           g.rank, g.size, resultText(rc), detail.c_str());
    return false;
  }
  g.comm = created;
  return true;
}

/// MPI_Comm_split of the world, then a communicator of NCCL's own for the
/// group (ncclCommInitRank with the unique id shared over the group's MPI
/// communicator: no NCCL call spans the whole world). A failure ends every
/// rank: the other groups' ranks have gone on.
int32_t groupSplit(int32_t color, int32_t key, Group **out) {
  if (!out)
    return KILN_STATUS_INVALID_ARGUMENT;
  *out = nullptr;
  auto group = std::make_unique<Group>();
  if (MPI_Comm_split(world.mpi, color < 0 ? MPI_UNDEFINED : color, key,
                     &group->mpi) != MPI_SUCCESS)
    endEveryRank(3, "MPI_Comm_split failed (has another rank died?)");
  if (group->mpi == MPI_COMM_NULL)
    return 0;
  MPI_Comm_set_errhandler(group->mpi, MPI_ERRORS_RETURN);
  MPI_Comm_rank(group->mpi, &group->rank);
  MPI_Comm_size(group->mpi, &group->size);
  char error[256] = "";
  bool made = initNcclComm(*group, error, sizeof(error));
  // Kept even when it failed, so that the end frees its MPI communicator.
  Group *g = group.get();
  groups.push_back(std::move(group));
  if (!made)
    endEveryRank(3, "cannot make a group's communicator: %s", error);
  *out = g;
  return 0;
}

void fillTable() {
  using World = OverWorld<Group, world>;
  setEntries(
      table,
      {World::inPlace<groupAllReduce>, World::sendRecv<groupAllGather>,
       World::sendRecv<groupReduceScatter>, World::sendRecv<groupAllToAll>,
       allToAllvInBytes<size_t, table, exchangeBytes>, sendTo, receiveFrom,
       World::rooted<groupBroadcast>, World::alone<groupBarrier>},
      {groupSplit, groupRank<Group>, groupAllReduce, groupAllGather,
       groupReduceScatter, groupAllToAll, groupBroadcast, groupBarrier});
}

} // namespace

KILN_PLUGIN_API int32_t kiln_collectives_nccl_open(
    double timeout, const kiln_collectives_gpu *device,
    const kiln_collective_calls **out, char *error, size_t errorSize) {
  if (world.comm) {
    *out = &table;
    return 0;
  }
  if (!device || !device->stream_query)
    return refuse(error, errorSize,
                  "no way to wait for the stream: "
                  "kiln_collectives_gpu.stream_query is NULL");
  if (!loadNccl(error, errorSize) || !startMpi(error, errorSize))
    return 1;
  gpu = *device;
  timeoutSeconds = timeout > 0 ? timeout : KILN_COLLECTIVES_DEFAULT_TIMEOUT;
  if (!initNcclComm(world, error, errorSize))
    return 1;
  fillTable();
  *out = &table;
  return 0;
}

KILN_PLUGIN_API void kiln_collectives_nccl_abort(const char *message,
                                                 int32_t exitCode) {
  endEveryRank(exitCode ? exitCode : 1, "%s", message);
}

KILN_PLUGIN_API void kiln_collectives_nccl_close() {
  for (std::unique_ptr<Group> &g : groups) {
    if (g->comm)
      nccl.ncclCommDestroy(g->comm);
    if (g->mpi != MPI_COMM_NULL)
      MPI_Comm_free(&g->mpi);
  }
  groups.clear();
  if (world.comm)
    nccl.ncclCommDestroy(world.comm);
  world.comm = nullptr;
  leaveMpiWorld(world.mpi, ownsMpi);
}
