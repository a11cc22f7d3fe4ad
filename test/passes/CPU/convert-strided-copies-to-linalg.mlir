// RUN: kiln-opt %s -kiln-convert-strided-copies-to-linalg | FileCheck %s

// A copy out of a strided view becomes linalg.copy (plain loops later).
// CHECK-LABEL: func @strided_source
// CHECK-NOT: memref.copy
// CHECK: linalg.copy ins(%{{.+}} : memref<2x2xf32, strided<[4, 1], offset: 1>>) outs(%{{.+}} : memref<2x2xf32>)
func.func @strided_source(%src: memref<2x4xf32>, %dst: memref<2x2xf32>) {
  %v = memref.subview %src[0, 1] [2, 2] [1, 1] : memref<2x4xf32> to memref<2x2xf32, strided<[4, 1], offset: 1>>
  memref.copy %v, %dst : memref<2x2xf32, strided<[4, 1], offset: 1>> to memref<2x2xf32>
  return
}

// A copy between contiguous buffers stays: it becomes llvm.memcpy.
// CHECK-LABEL: func @contiguous
// CHECK: memref.copy
// CHECK-NOT: linalg.copy
func.func @contiguous(%src: memref<2x4xf32>, %dst: memref<2x4xf32>) {
  memref.copy %src, %dst : memref<2x4xf32> to memref<2x4xf32>
  return
}

// A contiguous row of a larger buffer also stays a memref.copy.
// CHECK-LABEL: func @contiguous_row
// CHECK: memref.copy
func.func @contiguous_row(%src: memref<4x8xf32>, %dst: memref<1x8xf32>) {
  %v = memref.subview %src[2, 0] [1, 8] [1, 1] : memref<4x8xf32> to memref<1x8xf32, strided<[8, 1], offset: 16>>
  memref.copy %v, %dst : memref<1x8xf32, strided<[8, 1], offset: 16>> to memref<1x8xf32>
  return
}
