// RUN: kiln-opt %s -kiln-gpu-merge-kernel-modules | FileCheck %s

// Two outlined modules whose kernels and globals clash by name become one
// gpu.module; the second's symbols are renamed, its uses and the launch
// follow.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: func.func @main(%[[A:.+]]: memref<4xf32>)
// CHECK: gpu.launch_func @kiln_kernels::@k blocks
// CHECK: gpu.launch_func @kiln_kernels::@k_0 blocks
// CHECK: gpu.module @kiln_kernels {
// CHECK: memref.global "private" constant @table
// CHECK: gpu.func @k(
// CHECK: memref.get_global @table
// CHECK: memref.global "private" constant @table_0
// CHECK: gpu.func @k_0(
// CHECK: memref.get_global @table_0
// CHECK-NOT: gpu.module
module attributes {gpu.container_module} {
  func.func @main(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @m1::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    gpu.launch_func @m2::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    return
  }
  gpu.module @m1 {
    memref.global "private" constant @table : memref<4xf32> = dense<1.0>
    gpu.func @k(%a: memref<4xf32>) kernel {
      %t = memref.get_global @table : memref<4xf32>
      gpu.return
    }
  }
  gpu.module @m2 {
    memref.global "private" constant @table : memref<4xf32> = dense<2.0>
    gpu.func @k(%a: memref<4xf32>) kernel {
      %t = memref.get_global @table : memref<4xf32>
      gpu.return
    }
  }
}
