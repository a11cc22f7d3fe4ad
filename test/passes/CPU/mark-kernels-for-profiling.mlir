// RUN: kiln-opt %s -kiln-cpu-mark-kernels-for-profiling --mlir-print-debuginfo | FileCheck %s

// Each top-level loop nest and copy of the entry is a kernel: numbered in
// order, between calls of the profiler hook, and listed in kiln.kernels
// with the op kinds and nodes of every op inside it and its loop nest.
// Allocations and private functions are not kernels. Without a workspace
// argument there is no memory plan.
// CHECK-NOT: kiln.memory_plan
// CHECK-LABEL: module attributes
// CHECK-SAME: kiln.kernels = [{kinds = ["kiln.rms_norm", "kiln.add"], loop_nest = "scf.for 8", name = "rms_norm+add", nodes = ["norm_0", "residual_1"]},
// CHECK-SAME: {kinds = [], loop_nest = "memref.copy", name = "copy", nodes = []},
// CHECK-SAME: {kinds = ["kiln.matmul"], loop_nest = "scf.parallel 8", name = "matmul", nodes = ["mm_2"]}]
// CHECK: func.func private @kiln_profile(i32, i32)
// CHECK-LABEL: func.func @main
// CHECK: memref.alloc
// CHECK-NEXT: %[[K0:.*]] = arith.constant 0 : i32
// CHECK-NEXT: %[[START:.*]] = arith.constant 0 : i32
// CHECK-NEXT: call @kiln_profile(%[[K0]], %[[START]])
// CHECK-NEXT: scf.for
// CHECK: arith.constant 0 : i32
// CHECK-NEXT: %[[END:.*]] = arith.constant 1 : i32
// CHECK-NEXT: call @kiln_profile({{.*}}, %[[END]])
// CHECK-NEXT: %[[K1:.*]] = arith.constant 1 : i32
// CHECK-NEXT: arith.constant 0 : i32
// CHECK-NEXT: call @kiln_profile(%[[K1]]
// CHECK-NEXT: memref.copy
// CHECK: %[[K2:.*]] = arith.constant 2 : i32
// CHECK: call @kiln_profile(%[[K2]]
// CHECK-NEXT: scf.parallel
// CHECK: call @kiln_profile
// CHECK-NEXT: memref.dealloc
// CHECK-LABEL: func.func private @helper
// CHECK-NOT: kiln_profile
module {
  func.func @main(%a: memref<8xf32>, %b: memref<8xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    %t = memref.alloc() : memref<8xf32>
    scf.for %i = %c0 to %c8 step %c1 {
      %x = memref.load %a[%i] : memref<8xf32> loc(fused<"kiln.rms_norm">["norm_0"])
      %y = arith.addf %x, %x : f32 loc(fused<"kiln.add">["residual_1"])
      memref.store %y, %t[%i] : memref<8xf32>
    }
    memref.copy %t, %b : memref<8xf32> to memref<8xf32>
    scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
      %x = memref.load %b[%i] : memref<8xf32>
      %y = arith.mulf %x, %x : f32 loc(fused<"kiln.matmul">["mm_2"])
      memref.store %y, %b[%i] : memref<8xf32>
    }
    memref.dealloc %t : memref<8xf32>
    return
  }
  func.func private @helper(%a: memref<8xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    %zero = arith.constant 0.0 : f32
    scf.for %i = %c0 to %c8 step %c1 {
      memref.store %zero, %a[%i] : memref<8xf32>
    }
    return
  }
}
