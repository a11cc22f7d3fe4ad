// RUN: kiln-opt %s '-kiln-plan-workspace=alignment=256' | FileCheck %s

// Three 1 KiB buffers: %a and %b are live together, %c only after %a's
// last use, so it takes %a's bytes.
func.func @main(%in: memref<256xf32>, %out: memref<256xf32>) {
  %a = memref.alloc() : memref<256xf32>
  %b = memref.alloc() : memref<256xf32>
  linalg.copy ins(%in : memref<256xf32>) outs(%a : memref<256xf32>)
  linalg.copy ins(%a : memref<256xf32>) outs(%b : memref<256xf32>)
  memref.dealloc %a : memref<256xf32>
  %c = memref.alloc() : memref<16x16xf32>
  %cv = memref.collapse_shape %c [[0, 1]] : memref<16x16xf32> into memref<256xf32>
  linalg.copy ins(%b : memref<256xf32>) outs(%cv : memref<256xf32>)
  linalg.copy ins(%cv : memref<256xf32>) outs(%out : memref<256xf32>)
  return
}

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[WS:[a-z0-9]+]]: memref<2048xi8> {kiln.workspace}) attributes {kiln.workspace_bytes = 2048 : i64}
// CHECK-NOT: memref.alloc
// CHECK: %[[A:[a-z0-9_]+]] = memref.view %[[WS]][%c0][] : memref<2048xi8> to memref<256xf32>
// CHECK: %[[B:[a-z0-9_]+]] = memref.view %[[WS]][%c1024][] : memref<2048xi8> to memref<256xf32>
// CHECK-NOT: memref.dealloc
// CHECK: memref.view %[[WS]][%c0_1][] : memref<2048xi8> to memref<16x16xf32>

// An allocation inside a loop lives as long as the loop (16 bytes, aligned
// to 256); a function without allocations gets an empty workspace.
// CHECK-LABEL: func.func @loop(
// CHECK-SAME: memref<256xi8> {kiln.workspace}) attributes {kiln.workspace_bytes = 256 : i64}
func.func @loop(%n: index, %out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    %t = memref.alloc() : memref<4xf32>
    linalg.copy ins(%out : memref<4xf32>) outs(%t : memref<4xf32>)
    linalg.copy ins(%t : memref<4xf32>) outs(%out : memref<4xf32>)
  }
  return
}

// CHECK-LABEL: func.func @none(
// CHECK-SAME: memref<0xi8> {kiln.workspace}) attributes {kiln.workspace_bytes = 0 : i64}
func.func @none(%out: memref<4xf32>) {
  return
}
