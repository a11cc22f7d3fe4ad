// RUN: kiln-opt %s -kiln-cpu-mark-kernels-for-profiling | FileCheck %s

// The workspace's views (kiln-plan-workspace's plan) in kernel terms: each
// buffer with its nodes, type, offset, bytes and the first and last kernel
// that use it or an alias (the subview); the peak is the most bytes live
// during one kernel (kernel 1 reads t and writes u: 256). A loop nest is
// the loops from the kernel inward while each level holds one; a level
// with several says how many.
// CHECK-LABEL: module attributes
// CHECK-SAME: kiln.kernels = [{kinds = [], loop_nest = "scf.parallel 4x2 / scf.for 8", name = "parallel", nodes = ["exp_0"]},
// CHECK-SAME: {kinds = [], loop_nest = "scf.for 4 / 2 nests", name = "for", nodes = ["neg_1"]},
// CHECK-SAME: {kinds = [], loop_nest = "memref.copy", name = "copy", nodes = []}]
// CHECK-SAME: kiln.memory_plan = {buffers = [
// CHECK-SAME: {bytes = 128 : i64, first = 0 : i64, last = 1 : i64, nodes = "exp_0", offset = 0 : i64, type = "4x8xf32"},
// CHECK-SAME: {bytes = 128 : i64, first = 1 : i64, last = 2 : i64, nodes = "neg_1", offset = 128 : i64, type = "4x8xf32"}],
// CHECK-SAME: peak_bytes = 256 : i64, workspace_bytes = 256 : i64}
module {
  func.func @main(%a: memref<4x8xf32>, %out: memref<4x8xf32>,
                  %ws: memref<256xi8> {kiln.workspace})
      attributes {kiln.workspace_bytes = 256 : i64} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c4 = arith.constant 4 : index
    %c8 = arith.constant 8 : index
    %c128 = arith.constant 128 : index
    %t = memref.view %ws[%c0][] : memref<256xi8> to memref<4x8xf32> loc("exp_0")
    %u = memref.view %ws[%c128][] : memref<256xi8> to memref<4x8xf32> loc("neg_1")
    scf.parallel (%i, %k) = (%c0, %c0) to (%c4, %c2) step (%c1, %c1) {
      scf.for %j = %c0 to %c8 step %c1 {
        %x = memref.load %a[%i, %j] : memref<4x8xf32>
        %y = math.exp %x : f32 loc("exp_0")
        memref.store %y, %t[%i, %j] : memref<4x8xf32>
      }
    }
    %row = memref.subview %t[0, 0] [1, 8] [1, 1] : memref<4x8xf32> to memref<8xf32, strided<[1]>>
    scf.for %i = %c0 to %c4 step %c1 {
      scf.for %j = %c0 to %c8 step %c1 {
        %x = memref.load %row[%j] : memref<8xf32, strided<[1]>>
        %y = arith.negf %x : f32 loc("neg_1")
        memref.store %y, %u[%i, %j] : memref<4x8xf32>
      }
      scf.for %j = %c0 to %c8 step %c1 {
        %x = memref.load %u[%i, %j] : memref<4x8xf32>
        memref.store %x, %u[%i, %j] : memref<4x8xf32>
      }
    }
    memref.copy %u, %out : memref<4x8xf32> to memref<4x8xf32>
    return
  }
}
