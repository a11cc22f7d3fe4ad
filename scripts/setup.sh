#!/usr/bin/env bash
# Installs what Kiln needs from Debian packages. Quick when all is present:
# it asks dpkg first and only calls apt-get for what is missing.
set -euo pipefail

PACKAGES=(
  cmake ninja-build ccache g++
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools lld-22
  libonnx-dev libprotobuf-dev protobuf-compiler
  libgtest-dev
  python3-onnx python3-numpy
  # PyTorch 1.13 exports the raising tests' and example models, and
  # computes references in some e2e checks.
  python3-torch
  # torchvision's resnet18, mobilenet_v3_small and squeezenet1_1 (e2e-cnn).
  python3-torchvision
  # The Python module (python-bindings/) and its tests.
  pybind11-dev python3-pytest
  # LLVM's OpenMP runtime: the CPU target's parallel loops (scf.parallel ->
  # omp) call it; artifacts link it, the runtime does not.
  libomp-22-dev
  # `make fuzz` (libFuzzer, ASan, UBSan) and the sanitizer builds.
  clang-22 libclang-rt-22-dev
  # Open MPI: mpirun starts the ranks of a partitioned model
  # (kiln-compile --devices N), and runtime/collectives/mpi's plugin links
  # libmpi (the runtime dlopens it; the tests run mpirun -np 2 and 4).
  openmpi-bin libopenmpi-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
