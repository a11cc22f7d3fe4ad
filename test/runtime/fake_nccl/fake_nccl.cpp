//===- fake_nccl.cpp - NCCL simulated on the host over MPI ----------------===//
//
// See fake_nccl.h for what is simulated and how it is configured. The
// entry points have NCCL's C signatures with ints for its enums and an
// opaque Comm for ncclComm_t. Every operation is MPI's non-blocking form
// on the communicator's own duplicate of MPI_COMM_WORLD; the simulated
// stream is the list of requests not yet seen complete.
//
//===----------------------------------------------------------------------===//

#include "fake_nccl.h"

#include <mpi.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

#define FAKE_API extern "C" __attribute__((visibility("default")))

namespace {

// nccl.h's values.
constexpr int ncclSuccess = 0;
constexpr int ncclSystemError = 2;
constexpr int ncclInvalidArgument = 4;
constexpr int ncclInvalidUsage = 5;
constexpr int ncclRemoteError = 6;
constexpr int kCudaNotReady = 600;
constexpr int kCudaUnknown = 999;

struct UniqueId {
  char internal[128];
};

struct Comm {
  MPI_Comm mpi = MPI_COMM_NULL;
  int asyncError = ncclSuccess;
};

struct Failure {
  int code = ncclSystemError;
  bool async = false;
};

struct State {
  std::map<std::string, std::map<long, Failure>> failures;
  int failRank = -1; // every rank
  std::string logPrefix;
  FILE *log = nullptr;
  std::map<std::string, long> calls;
  std::vector<MPI_Request> pending; // the simulated stream
  int liveComms = 0;
  int groupDepth = 0;
  std::string lastError;
};

/// This process's rank in the MPI world: MPI's when it is initialized,
/// else mpirun's environment, else 0.
int worldRank() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  int rank = 0;
  if (initialized && !finalized) {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
  }
  const char *env = std::getenv("OMPI_COMM_WORLD_RANK");
  return env ? std::atoi(env) : 0;
}

/// Reads KILN_FAKE_NCCL_FAIL: NAME:N[:CODE|async],...
void parseFailures(State &s, const std::string &spec) {
  for (size_t start = 0; start < spec.size();) {
    size_t comma = spec.find(',', start);
    std::string item = spec.substr(start, comma - start);
    start = comma == std::string::npos ? spec.size() : comma + 1;
    size_t colon = item.find(':');
    if (colon == std::string::npos)
      continue;
    std::string rest = item.substr(colon + 1);
    size_t colon2 = rest.find(':');
    Failure failure;
    if (colon2 != std::string::npos) {
      std::string how = rest.substr(colon2 + 1);
      failure.async = how == "async";
      if (!failure.async)
        failure.code = std::atoi(how.c_str());
    }
    s.failures[item.substr(0, colon)][std::atol(rest.c_str())] = failure;
  }
}

State &state() {
  static State *s = [] {
    auto *created = new State; // never freed: used until the process ends
    if (const char *fail = std::getenv("KILN_FAKE_NCCL_FAIL"))
      parseFailures(*created, fail);
    const char *rank = std::getenv("KILN_FAKE_NCCL_FAIL_RANK");
    if (rank && *rank)
      created->failRank = std::atoi(rank);
    if (const char *log = std::getenv("KILN_FAKE_NCCL_LOG"))
      created->logPrefix = log;
    return created;
  }();
  return *s;
}

/// One entry-point call: counts it, decides on an injected failure and
/// logs one line with its result.
class Call {
public:
  explicit Call(const char *name) : name(name) {
    State &s = state();
    long nth = ++s.calls[name];
    auto entry = s.failures.find(name);
    if (entry == s.failures.end() ||
        (s.failRank >= 0 && s.failRank != worldRank()))
      return;
    auto failure = entry->second.find(nth);
    if (failure == entry->second.end())
      return;
    injected = true;
    how = failure->second;
    s.lastError = "injected failure of " + std::string(name) + " call " +
                  std::to_string(nth);
  }

  /// An injected failure returned at once (not an asynchronous one).
  bool failsNow() const { return injected && !how.async; }
  int failNow() { return done(how.code); }

  /// Ends the call with `result`, recording `error` as NCCL's last error.
  int done(int result, const char *error = nullptr) {
    State &s = state();
    if (error)
      s.lastError = error;
    if (!s.logPrefix.empty()) {
      if (!s.log) {
        std::string path = s.logPrefix + "." + std::to_string(worldRank());
        s.log = std::fopen(path.c_str(), "a");
      }
      if (s.log) {
        std::fprintf(s.log, "%s -> %d%s\n", name, result,
                     injected ? " (injected)" : "");
        std::fflush(s.log);
      }
    }
    return result;
  }

  /// Ends a call that started MPI operation `request` (`rc` its result):
  /// the request joins the stream, and an injected asynchronous failure
  /// becomes the communicator's error.
  int started(int rc, MPI_Request request, Comm *comm) {
    if (rc != MPI_SUCCESS)
      return done(ncclSystemError, "the MPI operation could not start");
    state().pending.push_back(request);
    if (injected && how.async)
      comm->asyncError = ncclRemoteError;
    return done(ncclSuccess);
  }

private:
  const char *name;
  bool injected = false;
  Failure how;
};

size_t typeSize(int type) {
  switch (type) {
  case 0: case 1: return 1;           // int8, uint8
  case 2: case 3: case 7: return 4;   // int32, uint32, float32
  case 4: case 5: case 8: return 8;   // int64, uint64, float64
  case 6: case 9: return 2;           // float16, bfloat16
  default: return 0;
  }
}

/// MPI's type for a sum over NCCL type `type`; MPI_DATATYPE_NULL for the
/// ones not simulated (float16, bfloat16) or unknown.
MPI_Datatype sumType(int type) {
  switch (type) {
  case 0: return MPI_INT8_T;
  case 1: return MPI_UINT8_T;
  case 2: return MPI_INT32_T;
  case 3: return MPI_UINT32_T;
  case 4: return MPI_INT64_T;
  case 5: return MPI_UINT64_T;
  case 7: return MPI_FLOAT;
  case 8: return MPI_DOUBLE;
  default: return MPI_DATATYPE_NULL;
  }
}

/// `count` elements of `type` as an int count of bytes; false if it does
/// not fit.
bool asBytes(size_t count, int type, int &bytes) {
  size_t size = typeSize(type);
  if (size == 0 || count > size_t(INT_MAX) / size)
    return false;
  bytes = int(count * size);
  return true;
}

/// Why `comm` cannot be used, or nullptr.
const char *unusable(Comm *comm) {
  return comm ? nullptr : "comm is NULL";
}

} // namespace

//===----------------------------------------------------------------------===//
// Communicators
//===----------------------------------------------------------------------===//

FAKE_API int ncclGetUniqueId(UniqueId *id) {
  Call call("ncclGetUniqueId");
  if (call.failsNow())
    return call.failNow();
  if (!id)
    return call.done(ncclInvalidArgument, "uniqueId is NULL");
  static unsigned made = 0;
  std::memset(id, 0, sizeof(*id));
  // The maker's world rank leads: ncclCommInitRank meets there.
  std::snprintf(id->internal, sizeof(id->internal),
                "kiln-fake-nccl rank=%d pid=%d time=%ld n=%u", worldRank(),
                int(getpid()), long(time(nullptr)), ++made);
  return call.done(ncclSuccess);
}

namespace {

/// What each rank of a communicator being made tells the id's maker.
struct Joining {
  int rank = -1;  // the rank it asked for
  int world = -1; // its world rank
  UniqueId id;
};

/// The maker's answer: whether the ranks agree, and the world rank of each
/// communicator rank.
struct Members {
  int ok = 0;
  std::vector<int> world;
};

constexpr int kJoinTag = 4242;

/// At the id's maker: gathers the other nranks - 1 joining ranks' requests,
/// checks they are distinct ranks of [0, nranks) holding its id, and sends
/// every one the members in rank order.
Members collectMembers(const Joining &mine, int nranks) {
  Members m;
  m.world.assign(size_t(nranks), -1);
  std::vector<Joining> all = {mine};
  for (int i = 1; i < nranks; ++i) {
    Joining j;
    MPI_Recv(&j, int(sizeof(j)), MPI_BYTE, MPI_ANY_SOURCE, kJoinTag,
             MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    all.push_back(j);
  }
  m.ok = 1;
  for (const Joining &j : all) {
    bool fits = j.rank >= 0 && j.rank < nranks && m.world[j.rank] < 0 &&
                std::memcmp(&j.id, &mine.id, sizeof(mine.id)) == 0;
    if (fits)
      m.world[j.rank] = j.world;
    m.ok = m.ok && fits;
  }
  for (const Joining &j : all)
    if (j.world != mine.world)
      MPI_Send(m.world.data(), nranks, MPI_INT, j.world, m.ok ? kJoinTag : 0,
               MPI_COMM_WORLD);
  return m;
}

/// Any rank other than the maker: sends its request, receives the members.
Members joinMaker(const Joining &mine, int maker, int nranks) {
  Members m;
  m.world.assign(size_t(nranks), -1);
  MPI_Send(&mine, int(sizeof(mine)), MPI_BYTE, maker, kJoinTag, MPI_COMM_WORLD);
  MPI_Status status;
  MPI_Recv(m.world.data(), nranks, MPI_INT, maker, MPI_ANY_TAG, MPI_COMM_WORLD,
           &status);
  m.ok = status.MPI_TAG == kJoinTag;
  return m;
}

} // namespace

/// Meets the other ranks at the id's maker (its world rank is in the id),
/// which checks that nranks ranks, each a different one, passed its id,
/// then makes an MPI communicator of those world ranks alone
/// (MPI_Comm_create_group), as NCCL's own rendezvous does for a
/// communicator over some of the processes.
FAKE_API int ncclCommInitRank(Comm **out, int nranks, UniqueId id, int rank) {
  Call call("ncclCommInitRank");
  if (out)
    *out = nullptr;
  if (call.failsNow())
    return call.failNow();
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized)
    return call.done(ncclInvalidUsage,
                     "the fake NCCL needs MPI initialized (run under mpirun)");
  int worldSize = 0, maker = -1;
  MPI_Comm_size(MPI_COMM_WORLD, &worldSize);
  if (!out || nranks < 1 || nranks > worldSize ||
      std::sscanf(id.internal, "kiln-fake-nccl rank=%d", &maker) != 1 ||
      maker < 0 || maker >= worldSize)
    return call.done(ncclInvalidArgument,
                     "nranks or the unique id disagrees with the MPI world");
  Joining mine;
  mine.rank = rank;
  mine.world = worldRank();
  mine.id = id;
  Members members = mine.world == maker ? collectMembers(mine, nranks)
                                        : joinMaker(mine, maker, nranks);
  if (!members.ok)
    return call.done(ncclInvalidArgument,
                     "the ranks passed different unique ids or ranks");
  MPI_Group worldGroup, group;
  MPI_Comm_group(MPI_COMM_WORLD, &worldGroup);
  MPI_Group_incl(worldGroup, nranks, members.world.data(), &group);
  auto *comm = new Comm;
  MPI_Comm_create_group(MPI_COMM_WORLD, group, kJoinTag, &comm->mpi);
  MPI_Group_free(&group);
  MPI_Group_free(&worldGroup);
  MPI_Comm_set_errhandler(comm->mpi, MPI_ERRORS_RETURN);
  ++state().liveComms;
  *out = comm;
  return call.done(ncclSuccess);
}

FAKE_API int ncclCommDestroy(Comm *comm) {
  Call call("ncclCommDestroy");
  if (call.failsNow())
    return call.failNow();
  if (const char *why = unusable(comm))
    return call.done(ncclInvalidArgument, why);
  MPI_Comm_free(&comm->mpi);
  delete comm;
  --state().liveComms;
  return call.done(ncclSuccess);
}

/// Forgets the communicator's pending work (MPI cannot cancel a collective:
/// its requests and communicator are left to the process's end, which the
/// plugin's MPI_Abort brings at once).
FAKE_API int ncclCommAbort(Comm *comm) {
  Call call("ncclCommAbort");
  if (const char *why = unusable(comm))
    return call.done(ncclInvalidArgument, why);
  state().pending.clear();
  delete comm;
  --state().liveComms;
  return call.done(ncclSuccess);
}

FAKE_API int ncclCommGetAsyncError(Comm *comm, int *asyncError) {
  if (!comm || !asyncError)
    return ncclInvalidArgument;
  *asyncError = comm->asyncError;
  return ncclSuccess;
}

FAKE_API const char *ncclGetErrorString(int result) {
  switch (result) {
  case 0: return "no error";
  case 1: return "unhandled cuda error";
  case 2: return "unhandled system error";
  case 3: return "internal error";
  case 4: return "invalid argument";
  case 5: return "invalid usage";
  case 6: return "remote process exited or there was a network error";
  case 7: return "NCCL operation in progress";
  default: return "unknown result code";
  }
}

FAKE_API const char *ncclGetLastError(Comm *) {
  return state().lastError.c_str();
}

//===----------------------------------------------------------------------===//
// Collectives and point to point
//===----------------------------------------------------------------------===//

FAKE_API int ncclAllReduce(const void *send, void *recv, size_t count,
                           int type, int op, Comm *comm, void *) {
  Call call("ncclAllReduce");
  if (call.failsNow())
    return call.failNow();
  MPI_Datatype mpiType = sumType(type);
  if (unusable(comm) || op != 0 || mpiType == MPI_DATATYPE_NULL ||
      count > size_t(INT_MAX))
    return call.done(ncclInvalidArgument, "all-reduce argument not simulated");
  MPI_Request request;
  int rc = MPI_Iallreduce(send == recv ? MPI_IN_PLACE : send, recv, int(count),
                          mpiType, MPI_SUM, comm->mpi, &request);
  return call.started(rc, request, comm);
}

FAKE_API int ncclAllGather(const void *send, void *recv, size_t count,
                           int type, Comm *comm, void *) {
  Call call("ncclAllGather");
  if (call.failsNow())
    return call.failNow();
  int bytes;
  if (unusable(comm) || !asBytes(count, type, bytes))
    return call.done(ncclInvalidArgument, "all-gather argument not simulated");
  MPI_Request request;
  int rc = MPI_Iallgather(send, bytes, MPI_BYTE, recv, bytes, MPI_BYTE,
                          comm->mpi, &request);
  return call.started(rc, request, comm);
}

FAKE_API int ncclReduceScatter(const void *send, void *recv, size_t count,
                               int type, int op, Comm *comm, void *) {
  Call call("ncclReduceScatter");
  if (call.failsNow())
    return call.failNow();
  MPI_Datatype mpiType = sumType(type);
  if (unusable(comm) || op != 0 || mpiType == MPI_DATATYPE_NULL ||
      count > size_t(INT_MAX))
    return call.done(ncclInvalidArgument,
                     "reduce-scatter argument not simulated");
  MPI_Request request;
  int rc = MPI_Ireduce_scatter_block(send, recv, int(count), mpiType, MPI_SUM,
                                     comm->mpi, &request);
  return call.started(rc, request, comm);
}

FAKE_API int ncclBroadcast(const void *send, void *recv, size_t count,
                           int type, int root, Comm *comm, void *) {
  Call call("ncclBroadcast");
  if (call.failsNow())
    return call.failNow();
  int bytes;
  if (unusable(comm) || !asBytes(count, type, bytes))
    return call.done(ncclInvalidArgument, "broadcast argument not simulated");
  int rank = 0;
  MPI_Comm_rank(comm->mpi, &rank);
  if (rank == root && send != recv)
    std::memcpy(recv, send, size_t(bytes));
  MPI_Request request;
  int rc = MPI_Ibcast(recv, bytes, MPI_BYTE, root, comm->mpi, &request);
  return call.started(rc, request, comm);
}

FAKE_API int ncclSend(const void *send, size_t count, int type, int peer,
                      Comm *comm, void *) {
  Call call("ncclSend");
  if (call.failsNow())
    return call.failNow();
  int bytes;
  if (unusable(comm) || !asBytes(count, type, bytes))
    return call.done(ncclInvalidArgument, "send argument not simulated");
  MPI_Request request;
  int rc = MPI_Isend(send, bytes, MPI_BYTE, peer, 0, comm->mpi, &request);
  return call.started(rc, request, comm);
}

FAKE_API int ncclRecv(void *recv, size_t count, int type, int peer,
                      Comm *comm, void *) {
  Call call("ncclRecv");
  if (call.failsNow())
    return call.failNow();
  int bytes;
  if (unusable(comm) || !asBytes(count, type, bytes))
    return call.done(ncclInvalidArgument, "recv argument not simulated");
  MPI_Request request;
  int rc = MPI_Irecv(recv, bytes, MPI_BYTE, peer, 0, comm->mpi, &request);
  return call.started(rc, request, comm);
}

/// Operations start at once (MPI's non-blocking calls may all be in flight
/// together), so a group only has to nest.
FAKE_API int ncclGroupStart() {
  Call call("ncclGroupStart");
  if (call.failsNow())
    return call.failNow();
  ++state().groupDepth;
  return call.done(ncclSuccess);
}

FAKE_API int ncclGroupEnd() {
  Call call("ncclGroupEnd");
  if (call.failsNow()) {
    --state().groupDepth;
    return call.failNow();
  }
  if (state().groupDepth == 0)
    return call.done(ncclInvalidUsage, "ncclGroupEnd without ncclGroupStart");
  --state().groupDepth;
  return call.done(ncclSuccess);
}

//===----------------------------------------------------------------------===//
// Test controls
//===----------------------------------------------------------------------===//

FAKE_API int kiln_fake_nccl_stream_query(void *) {
  State &s = state();
  if (s.pending.empty())
    return 0;
  int done = 0;
  if (MPI_Testall(int(s.pending.size()), s.pending.data(), &done,
                  MPI_STATUSES_IGNORE) != MPI_SUCCESS)
    return kCudaUnknown;
  if (!done)
    return kCudaNotReady;
  s.pending.clear();
  return 0;
}

FAKE_API int kiln_fake_nccl_live_comms(void) { return state().liveComms; }
