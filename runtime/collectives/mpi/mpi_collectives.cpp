//===- mpi_collectives.cpp - The collectives table over Open MPI ----------===//
//
// libkiln_collectives_mpi.so: the one place that links MPI. The runtime
// dlopens it for a partitioned model (kiln/collectives.h). Each collective
// is MPI's non-blocking form, polled until it completes or the timeout
// passes; a failure or a timeout writes one line and ends every rank with
// MPI_Abort, so a dead or hung rank never leaves the others waiting.
//
//===----------------------------------------------------------------------===//

#include "kiln/collectives.h"
#include "kiln/dtype.h"
#include "kiln/runtime.h"

#include "../mpi_world.h"
#include "../plugin_support.h"

#include <mpi.h>

#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <sched.h>
#include <unistd.h>
#include <vector>

#define KILN_PLUGIN_API extern "C" __attribute__((visibility("default")))

using namespace kiln::collectives;

/// A communicator of the world or of a group split from it.
struct kiln_collective_group {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0, size = 1;
};

namespace {

using Group = kiln_collective_group;

/// The world (the plugin's duplicate of MPI_COMM_WORLD) and the groups
/// split from it, freed at close.
Group world;
std::vector<std::unique_ptr<Group>> groups;
double timeoutSeconds = KILN_COLLECTIVES_DEFAULT_TIMEOUT;
bool ownsMpi = false;
kiln_collective_calls table;

[[noreturn]] void endEveryRank(int code, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  FormattedLine line(fmt, args);
  va_end(args);
  fprintf(stderr, "kiln: rank %d: %s\n", table.rank, line.text);
  fflush(stderr);
  MPI_Abort(world.comm == MPI_COMM_NULL ? MPI_COMM_WORLD : world.comm, code);
  _exit(code); // MPI_Abort does not return; in case it does
}

/// Waits for `request`, ending every rank on an MPI error or the timeout.
void wait(MPI_Request &request, const char *what) {
  double start = monotonicSeconds();
  unsigned polls = 0;
  for (;;) {
    int done = 0;
    int rc = MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) {
      char text[MPI_MAX_ERROR_STRING];
      int length = 0;
      MPI_Error_string(rc, text, &length);
      endEveryRank(3, "%s failed: %s (has another rank died?); ending every "
                      "rank", what, text);
    }
    if (done)
      return;
    if (monotonicSeconds() - start > timeoutSeconds)
      endEveryRank(4,
                   "%s did not complete within %g s (--collective-timeout): "
                   "another rank died, hangs, or does not call it; ending "
                   "every rank",
                   what, timeoutSeconds);
    pauseBetweenPolls(polls);
  }
}

/// Waits for the non-blocking call `what` that returned `started`; one
/// that could not start ends every rank, as a failed wait does.
int32_t finish(int started, MPI_Request &request, const char *what) {
  if (started != MPI_SUCCESS)
    endEveryRank(3, "%s could not start; ending every rank", what);
  wait(request, what);
  return 0;
}

/// MPI's type for a sum over `dtype`; MPI_DATATYPE_NULL when it has none.
MPI_Datatype sumType(uint32_t dtype) {
  switch (dtype) {
  case KILN_DTYPE_FLOAT32: return MPI_FLOAT;
  case KILN_DTYPE_FLOAT64: return MPI_DOUBLE;
  case KILN_DTYPE_INT32: return MPI_INT32_T;
  case KILN_DTYPE_INT64: return MPI_INT64_T;
  default: return MPI_DATATYPE_NULL;
  }
}

bool fitsInt(uint64_t count) { return count <= uint64_t(INT_MAX); }

/// The sums the table offers: in place over every rank's buffer, or
/// summed blocks scattered one to each rank.
enum class Sum { AllReduce, ReduceScatter };

/// A sum over the ranks of `g` of `count` elements of `dtype` (per rank's
/// block for reduce-scatter): refuses what MPI cannot sum or count in an
/// int, else starts it and waits for it.
int32_t sum(Group *g, Sum kind, const void *send, void *recv, uint64_t count,
            uint32_t dtype) {
  MPI_Datatype type = sumType(dtype);
  if (!g || type == MPI_DATATYPE_NULL || !fitsInt(count))
    return KILN_STATUS_INVALID_ARGUMENT;
  MPI_Request request;
  bool all = kind == Sum::AllReduce;
  int started = all ? MPI_Iallreduce(MPI_IN_PLACE, recv, int(count), type,
                                     MPI_SUM, g->comm, &request)
                    : MPI_Ireduce_scatter_block(send, recv, int(count), type,
                                                MPI_SUM, g->comm, &request);
  return finish(started, request, all ? "all-reduce" : "reduce-scatter");
}

/// A move of `count` elements of `dtype` as bytes: refuses a dtype that is
/// not whole bytes, a size past an int, or `valid` false, else starts it by
/// `start(bytes, request)` and waits for it.
template <typename Start>
int32_t move(const char *what, uint64_t count, uint32_t dtype, bool valid,
             Start start) {
  int bytes;
  if (!valid || !asBytes(count, dtype, bytes))
    return KILN_STATUS_INVALID_ARGUMENT;
  MPI_Request request;
  return finish(start(bytes, request), request, what);
}

int32_t groupAllReduce(Group *g, void *buffer, uint64_t count, uint32_t dtype) {
  return sum(g, Sum::AllReduce, nullptr, buffer, count, dtype);
}

int32_t groupReduceScatter(Group *g, const void *send, void *recv,
                           uint64_t count, uint32_t dtype) {
  return sum(g, Sum::ReduceScatter, send, recv, count, dtype);
}

int32_t groupAllGather(Group *g, const void *send, void *recv, uint64_t count,
                       uint32_t dtype) {
  // Every rank's share lands in `recv`: the whole must fit an int too.
  int share;
  bool valid =
      g && fitsInt(count) && asBytes(count, dtype, share, uint64_t(g->size));
  return move("all-gather", count, dtype, valid,
              [&](int bytes, MPI_Request &request) {
                return MPI_Iallgather(send, bytes, MPI_BYTE, recv, bytes,
                                      MPI_BYTE, g->comm, &request);
              });
}

int32_t groupAllToAll(Group *g, const void *send, void *recv, uint64_t count,
                      uint32_t dtype) {
  return move("all-to-all", count, dtype, g != nullptr,
              [&](int bytes, MPI_Request &request) {
                return MPI_Ialltoall(send, bytes, MPI_BYTE, recv, bytes,
                                     MPI_BYTE, g->comm, &request);
              });
}

bool isRank(const Group *g, int32_t rank) {
  return g && rank >= 0 && rank < g->size;
}

int32_t groupBroadcast(Group *g, void *buffer, uint64_t count, uint32_t dtype,
                       int32_t root) {
  return move("broadcast", count, dtype, isRank(g, root),
              [&](int bytes, MPI_Request &request) {
                return MPI_Ibcast(buffer, bytes, MPI_BYTE, root, g->comm,
                                  &request);
              });
}

int32_t groupBarrier(Group *g) {
  if (!g)
    return KILN_STATUS_INVALID_ARGUMENT;
  MPI_Request request;
  return finish(MPI_Ibarrier(g->comm, &request), request, "barrier");
}

/// MPI_Comm_split of the world; the group is kept until close.
int32_t groupSplit(int32_t color, int32_t key, Group **out) {
  if (!out)
    return KILN_STATUS_INVALID_ARGUMENT;
  *out = nullptr;
  MPI_Comm split = MPI_COMM_NULL;
  if (MPI_Comm_split(world.comm, color < 0 ? MPI_UNDEFINED : color, key,
                     &split) != MPI_SUCCESS)
    endEveryRank(3, "MPI_Comm_split failed (has another rank died?); ending "
                    "every rank");
  if (split == MPI_COMM_NULL)
    return 0;
  MPI_Comm_set_errhandler(split, MPI_ERRORS_RETURN);
  auto group = std::make_unique<Group>();
  group->comm = split;
  MPI_Comm_rank(split, &group->rank);
  MPI_Comm_size(split, &group->size);
  *out = group.get();
  groups.push_back(std::move(group));
  return 0;
}

/// all-to-all-v with counts and offsets already in bytes.
int32_t exchangeBytes(const void *send, const PeerBytes<int> &b, void *recv) {
  MPI_Request request;
  return finish(MPI_Ialltoallv(send, b.sendCounts.data(), b.sendOffsets.data(),
                               MPI_BYTE, recv, b.recvCounts.data(),
                               b.recvOffsets.data(), MPI_BYTE, world.comm,
                               &request),
                request, "all-to-all-v");
}

int32_t sendTo(const void *buffer, uint64_t count, uint32_t dtype,
               int32_t peer) {
  return move("send", count, dtype, isRank(&world, peer),
              [&](int bytes, MPI_Request &request) {
                return MPI_Isend(buffer, bytes, MPI_BYTE, peer, 0, world.comm,
                                 &request);
              });
}

int32_t receiveFrom(void *buffer, uint64_t count, uint32_t dtype,
                    int32_t peer) {
  return move("receive", count, dtype, isRank(&world, peer),
              [&](int bytes, MPI_Request &request) {
                return MPI_Irecv(buffer, bytes, MPI_BYTE, peer, 0, world.comm,
                                 &request);
              });
}

} // namespace

KILN_PLUGIN_API int32_t kiln_collectives_mpi_open(
    double timeout, const kiln_collective_calls **out, char *error,
    size_t errorSize) {
  if (world.comm != MPI_COMM_NULL) {
    *out = &table;
    return 0;
  }
  if (const char *failed = joinMpiWorld(world.comm, ownsMpi)) {
    snprintf(error, errorSize, "%s failed", failed);
    return 1;
  }
  MPI_Comm_rank(world.comm, &world.rank);
  MPI_Comm_size(world.comm, &world.size);
  timeoutSeconds = timeout > 0 ? timeout : KILN_COLLECTIVES_DEFAULT_TIMEOUT;
  table.rank = world.rank;
  table.size = world.size;
  using World = OverWorld<Group, world>;
  setEntries(table,
             {World::inPlace<groupAllReduce>, World::sendRecv<groupAllGather>,
              World::sendRecv<groupReduceScatter>,
              World::sendRecv<groupAllToAll>,
              allToAllvInBytes<int, table, exchangeBytes>, sendTo, receiveFrom,
              World::rooted<groupBroadcast>, World::alone<groupBarrier>},
             {groupSplit, groupRank<Group>, groupAllReduce, groupAllGather,
              groupReduceScatter, groupAllToAll, groupBroadcast, groupBarrier});
  *out = &table;
  return 0;
}

KILN_PLUGIN_API void kiln_collectives_mpi_abort(const char *message,
                                                int32_t exitCode) {
  endEveryRank(exitCode ? exitCode : 1, "%s", message);
}

KILN_PLUGIN_API void kiln_collectives_mpi_close() {
  for (std::unique_ptr<Group> &group : groups)
    MPI_Comm_free(&group->comm);
  groups.clear();
  leaveMpiWorld(world.comm, ownsMpi);
}
