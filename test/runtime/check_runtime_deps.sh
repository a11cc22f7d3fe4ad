#!/usr/bin/env bash
# Fails if libkiln_runtime.so links anything beyond libc, libdl, pthread and
# the C++/gcc support libraries: a compiled model must run without LLVM,
# MLIR, protobuf, MPI, or a link-time CUDA dependency (the CUDA driver is
# loaded with dlopen, and so is the MPI collectives plugin). CUDA and NCCL are also checked by name, and no CUDA driver or
# runtime symbol may be left for the dynamic linker to resolve.
set -euo pipefail
lib="$1"
allowed='^(libc\.so|libdl\.so|libpthread\.so|libm\.so|libstdc\+\+\.so|libgcc_s\.so|ld-linux)'
forbidden='^(libcuda\.so|libcudart\.so|libnccl\.so|libnvrtc\.so|libLLVM|libMLIR|libprotobuf|libmpi|libopen-rte|libopen-pal)'
status=0
while read -r needed; do
  if [[ "$needed" =~ $forbidden ]]; then
    echo "libkiln_runtime links a forbidden library: $needed"
    status=1
  elif ! [[ "$needed" =~ $allowed ]]; then
    echo "libkiln_runtime links a library outside the allowed set: $needed"
    status=1
  fi
done < <(objdump -p "$lib" | awk '/NEEDED/ {print $2}')
# Undefined dynamic symbols named like the driver (cuInit), the runtime API
# (cudaMalloc) or NCCL (ncclCommInitRank) mean a link-time dependency.
undefined=$(nm -D --undefined-only "$lib" | awk '{print $NF}' |
  grep -E '^(cu[A-Z]|cuda[A-Z]|nccl[A-Z]|MPI_|ompi_)' || true)
if [ -n "$undefined" ]; then
  echo "libkiln_runtime expects CUDA or MPI symbols from the dynamic linker:" $undefined
  status=1
fi
exit $status
