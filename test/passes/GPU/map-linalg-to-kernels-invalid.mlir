// RUN: kiln-opt %s -kiln-gpu-map-linalg-to-kernels -verify-diagnostics

// The host schedule cannot use what a kernel read from device memory.
func.func @host_use(%n: memref<index>) -> index {
  %k = memref.load %n[] : memref<index>
  // expected-error @below {{uses a value computed from device memory on the host; the CUDA target's host code only launches kernels}}
  return %k : index
}
