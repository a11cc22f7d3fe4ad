// RUN: kiln-opt %s -kiln-name-output-dims -split-input-file -verify-diagnostics | FileCheck %s

// Each dynamic output dimension is named after the input symbol it equals,
// seen through the ops' result shapes (here a linalg op's init, a
// transpose and a collapse of a dimension with a static 1), and every
// tensor.dim of a symbolic argument dimension becomes the symbol's one value.

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[X:.+]]: tensor<?x?x8xf32> {kiln.dim_symbols = ["batch", "seq", ""]}
// CHECK-SAME: %[[M:.+]]: tensor<?x1xf32> {kiln.dim_symbols = ["seq", ""]}
// CHECK-SAME: -> (tensor<?x?x8xf32> {kiln.dim_symbols = ["seq", "batch", ""]}, tensor<?xf32> {kiln.dim_symbols = ["seq"]})
// CHECK: %[[SEQ:.+]] = tensor.dim %[[X]], %c1
// CHECK-NOT: tensor.dim %[[M]]
// CHECK: tensor.empty(%[[SEQ]])
func.func @main(%x: tensor<?x?x8xf32> {kiln.dim_symbols = ["batch", "seq", ""]},
                %m: tensor<?x1xf32> {kiln.dim_symbols = ["seq", ""]})
    -> (tensor<?x?x8xf32>, tensor<?xf32>)
    attributes {kiln.dim_ranges = {batch = array<i64: 1, 8>, seq = array<i64: 1, 64>}} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : tensor<?x?x8xf32>
  %s = tensor.dim %m, %c0 : tensor<?x1xf32>
  %e = tensor.empty(%s, %b) : tensor<?x?x8xf32>
  %t = linalg.transpose ins(%x : tensor<?x?x8xf32>) outs(%e : tensor<?x?x8xf32>) permutation = [1, 0, 2]
  %flat = tensor.collapse_shape %m [[0, 1]] : tensor<?x1xf32> into tensor<?xf32>
  %e2 = tensor.empty(%s) : tensor<?xf32>
  %copy = linalg.copy ins(%flat : tensor<?xf32>) outs(%e2 : tensor<?xf32>) -> tensor<?xf32>
  return %t, %copy : tensor<?x?x8xf32>, tensor<?xf32>
}

// -----

// A dimension that is no symbol (here batch * seq) is computed by the run
// and reported by the entry.
// CHECK-LABEL: func.func @main(
// CHECK-SAME: -> (tensor<?xf32> {kiln.dim_symbols = ["flat_dim0"], kiln.name = "flat"})
// CHECK-SAME: kiln.computed_dims = ["flat_dim0"]
func.func @main(%x: tensor<?x?xf32> {kiln.dim_symbols = ["batch", "seq"]})
    -> (tensor<?xf32> {kiln.name = "flat"})
    attributes {kiln.dim_ranges = {batch = array<i64: 1, 8>, seq = array<i64: 1, 64>}} {
  %flat = tensor.collapse_shape %x [[0, 1]] : tensor<?x?xf32> into tensor<?xf32>
  return %flat : tensor<?xf32>
}

// -----

// A function without symbols is left alone.
// CHECK-LABEL: func.func @main(%{{.+}}: tensor<2x3xf32>) -> tensor<2x3xf32>
func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  return %x : tensor<2x3xf32>
}

// -----

// A loop that updates a tensor in place (a scatter's lowering) keeps the
// shape of its initial value.
// CHECK-LABEL: func.func @main(
// CHECK-SAME: -> (tensor<?x4xf32> {kiln.dim_symbols = ["tokens", ""]})
func.func @main(%x: tensor<?x4xf32> {kiln.dim_symbols = ["tokens", ""]}, %v: f32)
    -> tensor<?x4xf32>
    attributes {kiln.dim_ranges = {tokens = array<i64: 1, 8>}} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = tensor.dim %x, %c0 : tensor<?x4xf32>
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %x) -> tensor<?x4xf32> {
    %t = tensor.insert %v into %acc[%i, %c0] : tensor<?x4xf32>
    scf.yield %t : tensor<?x4xf32>
  }
  return %r : tensor<?x4xf32>
}
