//===- plugin_support.h - What the collectives plugins share ----*- C++ -*-===//
//
// The MPI and NCCL plugins (kiln/collectives.h) count in different
// integers (MPI in int, NCCL in size_t) and wait on different things, but
// convert element counts to bytes and pace their polling the same way.
// Header-only: each plugin is a shared object of its own.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_COLLECTIVES_PLUGIN_SUPPORT_H
#define KILN_RUNTIME_COLLECTIVES_PLUGIN_SUPPORT_H

#include "kiln/collectives.h"
#include "kiln/dtype.h"
#include "kiln/runtime.h"

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <limits>
#include <sched.h>
#include <vector>

namespace kiln::collectives {

/// `count` elements of `dtype` in bytes, as an `Int`; false when the dtype
/// is not whole-byte or the bytes, times `times` (a whole of several such
/// parts), do not fit an `Int`.
template <typename Int>
bool asBytes(uint64_t count, uint32_t dtype, Int &bytes, uint64_t times = 1) {
  uint64_t size = kiln_dtype_size(int(dtype));
  uint64_t most = uint64_t(std::numeric_limits<Int>::max());
  if (size == 0 || times == 0 || count > most / size / times)
    return false;
  bytes = Int(count * size);
  return true;
}

/// An all-to-all-v's per-peer counts and offsets for `peers` ranks, given
/// in elements of `dtype`, in bytes; false when one does not fit an `Int`.
template <typename Int> struct PeerBytes {
  std::vector<Int> sendCounts, sendOffsets, recvCounts, recvOffsets;

  bool read(int peers, const uint64_t *sc, const uint64_t *so,
            const uint64_t *rc, const uint64_t *ro, uint32_t dtype) {
    for (std::vector<Int> *v :
         {&sendCounts, &sendOffsets, &recvCounts, &recvOffsets})
      v->assign(size_t(peers), 0);
    for (int p = 0; p < peers; ++p)
      if (!asBytes(sc[p], dtype, sendCounts[p]) ||
          !asBytes(so[p], dtype, sendOffsets[p]) ||
          !asBytes(rc[p], dtype, recvCounts[p]) ||
          !asBytes(ro[p], dtype, recvOffsets[p]))
        return false;
    return true;
  }
};

/// A plugin's all_to_allv entry, given its table (for the world size) and
/// its exchange of `Int` byte counts: converts the per-peer element counts
/// and offsets to bytes first, so both plugins check them the same way.
template <typename Int, const kiln_collective_calls &Table,
          int32_t (*Exchange)(const void *, const PeerBytes<Int> &, void *)>
int32_t allToAllvInBytes(const void *send, const uint64_t *sendCounts,
                         const uint64_t *sendOffsets, void *recv,
                         const uint64_t *recvCounts,
                         const uint64_t *recvOffsets, uint32_t dtype) {
  PeerBytes<Int> bytes;
  if (!bytes.read(Table.size, sendCounts, sendOffsets, recvCounts, recvOffsets,
                  dtype))
    return KILN_STATUS_INVALID_ARGUMENT;
  return Exchange(send, bytes, recv);
}

/// A printf-style message as one line of at most 511 bytes, for the
/// messages a plugin prints as it ends every rank.
struct FormattedLine {
  char text[512];
  FormattedLine(const char *fmt, va_list args) {
    vsnprintf(text, sizeof(text), fmt, args);
  }
};

/// Seconds on the monotonic clock, for timeouts.
inline double monotonicSeconds() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return double(now.tv_sec) + double(now.tv_nsec) * 1e-9;
}

/// Between two polls: spins briefly, then yields the core for 50 us at a
/// time, since ranks may outnumber the cores.
inline void pauseBetweenPolls(unsigned &polls) {
  if (++polls < 2000) {
    sched_yield();
  } else {
    timespec pause = {0, 50 * 1000};
    nanosleep(&pause, nullptr);
  }
}

/// group_rank of a plugin whose groups (`Group`, its kiln_collective_group)
/// hold their `rank` and `size`.
template <typename Group>
int32_t groupRank(const Group *group, int32_t *rank, int32_t *size) {
  if (!group || !rank || !size)
    return KILN_STATUS_INVALID_ARGUMENT;
  *rank = group->rank;
  *size = group->size;
  return 0;
}

/// The world's entries of a plugin whose group entries take its `Group`:
/// each calls the group entry F on `World`, so the two never differ.
template <typename Group, Group &World> struct OverWorld {
  template <int32_t (*F)(Group *, void *, uint64_t, uint32_t)>
  static int32_t inPlace(void *buffer, uint64_t count, uint32_t dtype) {
    return F(&World, buffer, count, dtype);
  }
  template <int32_t (*F)(Group *, const void *, void *, uint64_t, uint32_t)>
  static int32_t sendRecv(const void *send, void *recv, uint64_t count,
                          uint32_t dtype) {
    return F(&World, send, recv, count, dtype);
  }
  template <int32_t (*F)(Group *, void *, uint64_t, uint32_t, int32_t)>
  static int32_t rooted(void *buffer, uint64_t count, uint32_t dtype,
                        int32_t root) {
    return F(&World, buffer, count, dtype, root);
  }
  template <int32_t (*F)(Group *)> static int32_t alone() { return F(&World); }
};

/// A plugin's entry points, in the table's order.
struct Entries {
  decltype(kiln_collective_calls::all_reduce) allReduce;
  decltype(kiln_collective_calls::all_gather) allGather;
  decltype(kiln_collective_calls::reduce_scatter) reduceScatter;
  decltype(kiln_collective_calls::all_to_all) allToAll;
  decltype(kiln_collective_calls::all_to_allv) allToAllv;
  decltype(kiln_collective_calls::send) send;
  decltype(kiln_collective_calls::recv) recv;
  decltype(kiln_collective_calls::broadcast) broadcast;
  decltype(kiln_collective_calls::barrier) barrier;
};

/// A plugin's group entry points (ABI 2), in the table's order.
struct GroupEntries {
  decltype(kiln_collective_calls::group_split) split;
  decltype(kiln_collective_calls::group_rank) rank;
  decltype(kiln_collective_calls::group_all_reduce) allReduce;
  decltype(kiln_collective_calls::group_all_gather) allGather;
  decltype(kiln_collective_calls::group_reduce_scatter) reduceScatter;
  decltype(kiln_collective_calls::group_all_to_all) allToAll;
  decltype(kiln_collective_calls::group_broadcast) broadcast;
  decltype(kiln_collective_calls::group_barrier) barrier;
};

/// Sets `table`'s ABI version and entry points (its rank and size are the
/// plugin's to set).
inline void setEntries(kiln_collective_calls &table, const Entries &e,
                       const GroupEntries &g) {
  table.abi_version = KILN_COLLECTIVES_ABI_VERSION;
  table.all_reduce = e.allReduce;
  table.all_gather = e.allGather;
  table.reduce_scatter = e.reduceScatter;
  table.all_to_all = e.allToAll;
  table.all_to_allv = e.allToAllv;
  table.send = e.send;
  table.recv = e.recv;
  table.broadcast = e.broadcast;
  table.barrier = e.barrier;
  table.group_split = g.split;
  table.group_rank = g.rank;
  table.group_all_reduce = g.allReduce;
  table.group_all_gather = g.allGather;
  table.group_reduce_scatter = g.reduceScatter;
  table.group_all_to_all = g.allToAll;
  table.group_broadcast = g.broadcast;
  table.group_barrier = g.barrier;
}

} // namespace kiln::collectives

#endif // KILN_RUNTIME_COLLECTIVES_PLUGIN_SUPPORT_H
