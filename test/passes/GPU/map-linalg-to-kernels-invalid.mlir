// RUN: kiln-opt %s -split-input-file -kiln-gpu-map-linalg-to-kernels -verify-diagnostics

// The host schedule cannot use what a kernel read from device memory.
func.func @host_use(%n: memref<index>) -> index {
  %k = memref.load %n[] : memref<index>
  // expected-error @below {{uses a value computed from device memory on the host; the CUDA target's host code only launches kernels}}
  return %k : index
}

// -----

// A kernel writes the scalar between the load and its use: moving the load
// would read the new value, so it stays where it is, and the host cannot
// hand it to the kernel.
func.func @written_between(%s: memref<f32>, %y: memref<4xf32>) {
  %v = memref.load %s[] : memref<f32>
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%s : memref<f32>)
  // expected-error @below {{uses a value computed from device memory on the host; the CUDA target's host code only launches kernels}}
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>], iterator_types = ["parallel"]}
      outs(%y : memref<4xf32>) {
  ^bb0(%o: f32):
    linalg.yield %v : f32
  }
  return
}
