#!/usr/bin/env bash
# Fails if libkiln_runtime.so links anything beyond libc, libdl, pthread and
# the C++/gcc support libraries: a compiled model must run without LLVM,
# MLIR, protobuf, or a link-time CUDA dependency (the CUDA driver is loaded
# with dlopen).
set -euo pipefail
lib="$1"
allowed='^(libc\.so|libdl\.so|libpthread\.so|libm\.so|libstdc\+\+\.so|libgcc_s\.so|ld-linux)'
status=0
while read -r needed; do
  if ! [[ "$needed" =~ $allowed ]]; then
    echo "libkiln_runtime links a forbidden library: $needed"
    status=1
  fi
done < <(objdump -p "$lib" | awk '/NEEDED/ {print $2}')
exit $status
