//===- nccl_api.h - The NCCL entry points, loaded with dlopen ---*- C++ -*-===//
//
// The NCCL plugin never links NCCL: libnccl.so.2 (or $KILN_NCCL_LIBRARY, the
// fake of test/runtime/fake_nccl in tests) is dlopen'ed by
// kiln_collectives_nccl_open and these entry points are looked up into a
// table. The few types and constants used are declared here with the values
// of NCCL's nccl.h (stable since NCCL 2.0), so no NCCL header is needed to
// build.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_COLLECTIVES_NCCL_NCCL_API_H
#define KILN_RUNTIME_COLLECTIVES_NCCL_NCCL_API_H

#include <cstddef>

namespace kiln::nccl {

// Types of nccl.h.
struct ncclComm;
using ncclComm_t = ncclComm *;
using ncclResult_t = int;
using ncclDataType_t = int;
using ncclRedOp_t = int;
using cudaStream_t = void *;
constexpr size_t kUniqueIdBytes = 128; // NCCL_UNIQUE_ID_BYTES
struct ncclUniqueId {
  char internal[kUniqueIdBytes];
};

// ncclResult_t.
constexpr ncclResult_t ncclSuccess = 0;
constexpr ncclResult_t ncclInProgress = 7;

// ncclDataType_t, numbered in nccl.h's order.
enum : ncclDataType_t {
  ncclInt8 = 0,
  ncclUint8,
  ncclInt32,
  ncclUint32,
  ncclInt64,
  ncclUint64,
  ncclFloat16,
  ncclFloat32,
  ncclFloat64,
  ncclBfloat16
};

// ncclRedOp_t.
constexpr ncclRedOp_t ncclSum = 0;

// Every entry point the plugin calls: X(name, return type, parameters).
#define KILN_NCCL_FUNCTIONS(X)                                                 \
  X(ncclGetUniqueId, ncclResult_t, (ncclUniqueId * id))                        \
  X(ncclCommInitRank, ncclResult_t,                                            \
    (ncclComm_t * comm, int nranks, ncclUniqueId id, int rank))                \
  X(ncclCommDestroy, ncclResult_t, (ncclComm_t comm))                          \
  X(ncclCommAbort, ncclResult_t, (ncclComm_t comm))                            \
  X(ncclCommGetAsyncError, ncclResult_t,                                       \
    (ncclComm_t comm, ncclResult_t * asyncError))                              \
  X(ncclGetErrorString, const char *, (ncclResult_t result))                   \
  X(ncclGetLastError, const char *, (ncclComm_t comm))                         \
  X(ncclAllReduce, ncclResult_t,                                               \
    (const void *send, void *recv, size_t count, ncclDataType_t type,          \
     ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream))                    \
  X(ncclAllGather, ncclResult_t,                                               \
    (const void *send, void *recv, size_t sendCount, ncclDataType_t type,      \
     ncclComm_t comm, cudaStream_t stream))                                    \
  X(ncclReduceScatter, ncclResult_t,                                           \
    (const void *send, void *recv, size_t recvCount, ncclDataType_t type,      \
     ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream))                    \
  X(ncclBroadcast, ncclResult_t,                                               \
    (const void *send, void *recv, size_t count, ncclDataType_t type,          \
     int root, ncclComm_t comm, cudaStream_t stream))                          \
  X(ncclSend, ncclResult_t,                                                    \
    (const void *send, size_t count, ncclDataType_t type, int peer,            \
     ncclComm_t comm, cudaStream_t stream))                                    \
  X(ncclRecv, ncclResult_t,                                                    \
    (void *recv, size_t count, ncclDataType_t type, int peer,                  \
     ncclComm_t comm, cudaStream_t stream))                                    \
  X(ncclGroupStart, ncclResult_t, ())                                          \
  X(ncclGroupEnd, ncclResult_t, ())

struct Library {
#define KILN_NCCL_MEMBER(name, result, params) result(*name) params = nullptr;
  KILN_NCCL_FUNCTIONS(KILN_NCCL_MEMBER)
#undef KILN_NCCL_MEMBER
};

} // namespace kiln::nccl

#endif // KILN_RUNTIME_COLLECTIVES_NCCL_NCCL_API_H
