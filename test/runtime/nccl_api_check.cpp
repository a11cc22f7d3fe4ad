//===- nccl_api_check.cpp - nccl_api.h against NCCL's own nccl.h ----------===//
//
// The NCCL plugin declares the NCCL types, constants and entry points it
// uses itself (runtime/collectives/nccl/nccl_api.h), to build without NCCL.
// Where nccl.h is on the machine (the CUDA toolkit's), this file compiles
// against both and fails the build if a constant, the unique id's size, or
// an entry point's shape (its return and parameters: count, sizes, and which
// are pointers) differs from NCCL's.
//
//===----------------------------------------------------------------------===//

#include "nccl_api.h"

#include <nccl.h>

#include <array>
#include <cstddef>
#include <type_traits>

namespace {

namespace ours = kiln::nccl;

/// A type's shape as the C calling convention sees it.
struct Shape {
  size_t size;
  bool pointer;
  constexpr bool operator==(const Shape &other) const {
    return size == other.size && pointer == other.pointer;
  }
};

template <typename T> constexpr Shape shapeOf() {
  if constexpr (std::is_void_v<T>)
    return {0, false};
  else
    return {sizeof(T), std::is_pointer_v<T>};
}

template <typename> struct Signature;
template <typename R, typename... A> struct Signature<R(A...)> {
  static constexpr Shape result = shapeOf<R>();
  static constexpr std::array<Shape, sizeof...(A)> params = {shapeOf<A>()...};
};

template <typename Ours, typename Theirs> constexpr bool sameShape() {
  using O = Signature<Ours>;
  using T = Signature<Theirs>;
  if (!(O::result == T::result) || O::params.size() != T::params.size())
    return false;
  for (size_t i = 0; i < O::params.size(); ++i)
    if (!(O::params[i] == T::params[i]))
      return false;
  return true;
}

#define KILN_CHECK_ENTRY(name, result, params)                                 \
  static_assert(                                                               \
      sameShape<std::remove_pointer_t<decltype(ours::Library::name)>,          \
                decltype(::name)>(),                                           \
      #name " in nccl_api.h differs from nccl.h");
KILN_NCCL_FUNCTIONS(KILN_CHECK_ENTRY)
#undef KILN_CHECK_ENTRY

static_assert(sizeof(ours::ncclUniqueId) == sizeof(::ncclUniqueId));
static_assert(ours::kUniqueIdBytes == NCCL_UNIQUE_ID_BYTES);
static_assert(ours::ncclSuccess == ::ncclSuccess);
static_assert(ours::ncclInProgress == ::ncclInProgress);
static_assert(ours::ncclSum == ::ncclSum);
static_assert(ours::ncclInt8 == ::ncclInt8);
static_assert(ours::ncclUint8 == ::ncclUint8);
static_assert(ours::ncclInt32 == ::ncclInt32);
static_assert(ours::ncclUint32 == ::ncclUint32);
static_assert(ours::ncclInt64 == ::ncclInt64);
static_assert(ours::ncclUint64 == ::ncclUint64);
static_assert(ours::ncclFloat16 == ::ncclFloat16);
static_assert(ours::ncclFloat32 == ::ncclFloat32);
static_assert(ours::ncclFloat64 == ::ncclFloat64);
static_assert(ours::ncclBfloat16 == ::ncclBfloat16);
static_assert(sizeof(ours::ncclResult_t) == sizeof(::ncclResult_t));
static_assert(sizeof(ours::ncclDataType_t) == sizeof(::ncclDataType_t));

} // namespace
