// RUN: kiln-opt %s '-kiln-plan-workspace=alignment=64' | FileCheck %s
// RUN: kiln-opt %s '-kiln-plan-workspace=alignment=64' -buffer-deallocation-pipeline | FileCheck %s --check-prefix=DEALLOC

// The CPU target's shape: the entry's top-level buffers become views of
// the workspace (64-byte aligned offsets), an allocation inside an
// scf.forall body (one per OpenMP thread) stays an allocation.
//
// %a (1 KiB) and %b (1 KiB) are live at the same time, so they do not
// share bytes; %c (100 floats = 400 bytes, rounded to 448) is allocated
// after %a's last use, so it takes %a's offset; %d overlaps %b and %c.
func.func @main(%in: memref<256xf32>, %out: memref<256xf32>) {
  %c16 = arith.constant 16 : index
  %a = memref.alloc() {alignment = 64 : i64} : memref<256xf32>
  %b = memref.alloc() {alignment = 64 : i64} : memref<256xf32>
  linalg.copy ins(%in : memref<256xf32>) outs(%a : memref<256xf32>)
  linalg.copy ins(%a : memref<256xf32>) outs(%b : memref<256xf32>)
  %c = memref.alloc() {alignment = 64 : i64} : memref<100xf32>
  %d = memref.alloc() {alignment = 64 : i64} : memref<4x4xf32>
  %bs = memref.subview %b[0] [100] [1] : memref<256xf32> to memref<100xf32, strided<[1]>>
  linalg.copy ins(%bs : memref<100xf32, strided<[1]>>) outs(%c : memref<100xf32>)
  %ds = memref.collapse_shape %d [[0, 1]] : memref<4x4xf32> into memref<16xf32>
  %bs2 = memref.subview %b[0] [16] [1] : memref<256xf32> to memref<16xf32, strided<[1]>>
  linalg.copy ins(%bs2 : memref<16xf32, strided<[1]>>) outs(%ds : memref<16xf32>)
  %os = memref.subview %out[0] [100] [1] : memref<256xf32> to memref<100xf32, strided<[1]>>
  linalg.copy ins(%c : memref<100xf32>) outs(%os : memref<100xf32, strided<[1]>>)
  %os2 = memref.subview %out[100] [16] [1] : memref<256xf32> to memref<16xf32, strided<[1], offset: 100>>
  linalg.copy ins(%ds : memref<16xf32>) outs(%os2 : memref<16xf32, strided<[1], offset: 100>>)
  scf.forall (%i) in (4) {
    %t = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
    %o = arith.muli %i, %c16 : index
    %src = memref.subview %in[%o] [16] [1] : memref<256xf32> to memref<16xf32, strided<[1], offset: ?>>
    linalg.copy ins(%src : memref<16xf32, strided<[1], offset: ?>>) outs(%t : memref<16xf32>)
    %dst = memref.subview %out[%o] [16] [1] : memref<256xf32> to memref<16xf32, strided<[1], offset: ?>>
    linalg.copy ins(%t : memref<16xf32>) outs(%dst : memref<16xf32, strided<[1], offset: ?>>)
  }
  return
}

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[WS:[a-z0-9]+]]: memref<2048xi8> {kiln.workspace}) attributes {kiln.workspace_bytes = 2048 : i64}
// CHECK: %[[OA:.+]] = arith.constant 0 : index
// CHECK-NEXT: memref.view %[[WS]][%[[OA]]][] : memref<2048xi8> to memref<256xf32>
// CHECK: %[[OB:.+]] = arith.constant 1024 : index
// CHECK-NEXT: memref.view %[[WS]][%[[OB]]][] : memref<2048xi8> to memref<256xf32>
// CHECK: %[[OC:.+]] = arith.constant 0 : index
// CHECK-NEXT: memref.view %[[WS]][%[[OC]]][] : memref<2048xi8> to memref<100xf32>
// CHECK: %[[OD:.+]] = arith.constant 448 : index
// CHECK-NEXT: memref.view %[[WS]][%[[OD]]][] : memref<2048xi8> to memref<4x4xf32>
// CHECK: scf.forall
// CHECK-NEXT: memref.alloc() {alignment = 64 : i64} : memref<16xf32>
// CHECK-NOT: memref.view
// CHECK: return

// After the deallocation pipeline, the views are never freed; the
// per-thread buffer is, inside the loop body.
// DEALLOC-LABEL: func.func @main(
// DEALLOC-NOT: memref.dealloc
// DEALLOC: scf.forall
// DEALLOC: %[[T:.+]] = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
// DEALLOC: memref.dealloc %[[T]] : memref<16xf32>
// DEALLOC-NEXT: }
// DEALLOC-NOT: memref.dealloc
// DEALLOC: return

// A buffer allocated in a sequential loop whose iterations do not hand it
// on (%t) gets the same bytes on every iteration, for the whole loop. One
// that is yielded to the next iteration (%n) stays an allocation. A
// top-level buffer threaded through a loop as an iter_arg (%init) lives as
// long as the loop's result (%r, read by the last copy), so %last may not
// take its bytes; it takes %t's, dead after the first loop.
// CHECK-LABEL: func.func @loops(
// CHECK-SAME: %[[WS:[a-z0-9]+]]: memref<128xi8> {kiln.workspace}) attributes {kiln.workspace_bytes = 128 : i64}
// CHECK: arith.constant 4 : index
// CHECK-NEXT: %[[OI:.+]] = arith.constant 0 : index
// CHECK-NEXT: %[[INIT:.+]] = memref.view %[[WS]][%[[OI]]][] : memref<128xi8> to memref<16xf32>
// CHECK: scf.for
// CHECK: %[[OT:.+]] = arith.constant 64 : index
// CHECK-NEXT: memref.view %[[WS]][%[[OT]]][] : memref<128xi8> to memref<16xf32>
// CHECK: scf.for
// CHECK-NEXT: memref.alloc() : memref<16xf32>
// CHECK: %[[OL:.+]] = arith.constant 64 : index
// CHECK-NEXT: memref.view %[[WS]][%[[OL]]][] : memref<128xi8> to memref<16xf32>
func.func @loops(%in: memref<16xf32>, %out: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %init = memref.alloc() : memref<16xf32>
  linalg.copy ins(%in : memref<16xf32>) outs(%init : memref<16xf32>)
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %init) -> (memref<16xf32>) {
    %t = memref.alloc() : memref<16xf32>
    linalg.copy ins(%acc : memref<16xf32>) outs(%t : memref<16xf32>)
    linalg.copy ins(%t : memref<16xf32>) outs(%acc : memref<16xf32>)
    scf.yield %acc : memref<16xf32>
  }
  %s = scf.for %i = %c0 to %c4 step %c1 iter_args(%prev = %in) -> (memref<16xf32>) {
    %n = memref.alloc() : memref<16xf32>
    linalg.copy ins(%prev : memref<16xf32>) outs(%n : memref<16xf32>)
    scf.yield %n : memref<16xf32>
  }
  %last = memref.alloc() : memref<16xf32>
  linalg.copy ins(%s : memref<16xf32>) outs(%last : memref<16xf32>)
  linalg.copy ins(%r : memref<16xf32>) outs(%out : memref<16xf32>)
  return
}
