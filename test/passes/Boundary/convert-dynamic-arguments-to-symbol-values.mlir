// RUN: kiln-opt %s -kiln-convert-dynamic-arguments-to-symbol-values -split-input-file | FileCheck %s

// Dynamic memref arguments become addresses (rank-0 memrefs) rebuilt with
// the sizes of their symbols, read once from the trailing symbol-values
// argument (symbol k = k-th entry of kiln.dim_ranges: batch 0, seq 1), with
// dense row-major strides.

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[X:[^:]+]]: memref<f32> {kiln.dim_symbols = ["seq", "", "batch"]}
// CHECK-SAME: %[[W:[^:]+]]: memref<4xf32>
// CHECK-SAME: %[[Y:[^:]+]]: memref<f32> {kiln.dim_symbols = ["batch"]}
// CHECK-SAME: %[[WS:[^:]+]]: memref<64xi8> {kiln.workspace}
// CHECK-SAME: %[[S:[^:]+]]: memref<2xi64> {kiln.symbol_values})
// CHECK-DAG: %[[B64:.+]] = memref.load %[[S]][%c0]
// CHECK-DAG: %[[S64:.+]] = memref.load %[[S]][%c1]
// CHECK-DAG: %[[B:.+]] = arith.index_cast %[[B64]] : i64 to index
// CHECK-DAG: %[[SQ:.+]] = arith.index_cast %[[S64]] : i64 to index
// CHECK: %[[STRIDE:.+]] = arith.muli %[[B]], %c4
// CHECK: memref.reinterpret_cast %[[X]] to offset: [0], sizes: [%[[SQ]], 4, %[[B]]], strides: [%[[STRIDE]], %[[B]], 1] : memref<f32> to memref<?x4x?xf32>
// CHECK: memref.reinterpret_cast %[[Y]] to offset: [0], sizes: [%[[B]]], strides: [1] : memref<f32> to memref<?xf32>
func.func @main(%x: memref<?x4x?xf32> {kiln.dim_symbols = ["seq", "", "batch"]},
                %w: memref<4xf32>,
                %y: memref<?xf32> {kiln.dim_symbols = ["batch"]},
                %ws: memref<64xi8> {kiln.workspace})
    attributes {kiln.dim_ranges = {batch = array<i64: 1, 8>, seq = array<i64: 1, 64>}} {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %v = memref.load %x[%c0, %c0, %c0] : memref<?x4x?xf32>
  memref.store %v, %y[%c0] : memref<?xf32>
  return
}

// -----

// A function without symbols keeps its signature.
// CHECK-LABEL: func.func @main(%{{.+}}: memref<2xf32>)
// CHECK-NOT: kiln.symbol_values
func.func @main(%x: memref<2xf32>) {
  return
}

// -----

// An output with a dimension only the run knows (kiln.computed_dims): its
// one writer stores the dim in the computed symbol's slot (1, after the
// input symbol), and writes the data only when it fits the capacity in
// slot 2; otherwise it sets the status (slot 3), which starts at 0.

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[X:[^:]+]]: memref<f32> {kiln.dim_symbols = ["n"]}
// CHECK-SAME: %[[Y:[^:]+]]: memref<f32> {kiln.dim_symbols = ["Y_dim0"]}
// CHECK-SAME: %[[S:[^:]+]]: memref<4xi64> {kiln.symbol_values})
// CHECK: memref.store %{{.+}}, %[[S]][%c3]
// CHECK: %[[DIM:.+]] = arith.divui
// CHECK: %[[SRC:.+]] = memref.alloc(%[[DIM]])
// CHECK: memref.store %{{.+}}, %[[S]][%c1]
// CHECK: %[[CAP64:.+]] = memref.load %[[S]][%c2]
// CHECK: %[[CAP:.+]] = arith.index_cast %[[CAP64]]
// CHECK: %[[FITS:.+]] = arith.cmpi ule, %[[DIM]], %[[CAP]]
// CHECK: scf.if %[[FITS]] {
// CHECK:   %[[VIEW:.+]] = memref.reinterpret_cast %[[Y]] to offset: [0], sizes: [%[[DIM]]], strides: [1]
// CHECK:   memref.copy %[[SRC]], %[[VIEW]]
// CHECK: } else {
// CHECK:   memref.store %{{.+}}, %[[S]][%c3{{.*}}]
func.func @main(%x: memref<?xf32> {kiln.dim_symbols = ["n"]},
                %y: memref<?xf32> {kiln.dim_symbols = ["Y_dim0"]})
    attributes {kiln.dim_ranges = {n = array<i64: 1, 8>},
                kiln.computed_dims = ["Y_dim0"]} {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?xf32>
  %half = arith.divui %n, %n : index
  %src = memref.alloc(%half) : memref<?xf32>
  memref.copy %src, %y : memref<?xf32> to memref<?xf32>
  return
}
