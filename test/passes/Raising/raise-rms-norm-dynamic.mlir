// kiln-raise-rms-norm on a model imported with symbolic dimensions: the
// importer sizes its ops with tensor.dim queries of intermediate values,
// which are uses too. The pass first resolves them to sizes of the
// arguments, so the normalized value keeps its one user (the weight
// product) and nothing keeps the decomposed ops alive.
// RUN: kiln-opt %s --kiln-raise-rms-norm -split-input-file -verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @dynamic_tokens(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x?x8xf32>
// CHECK-NOT: kiln.reduce_mean
// CHECK: %[[SEQ:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x?x8xf32>
// CHECK-NEXT: %[[R:.+]] = kiln.rms_norm %[[X]], %{{.+}} {axis = -1 : i64, epsilon = 9.99999974E-6 : f32} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
// CHECK-NEXT: tensor.empty(%[[SEQ]]) : tensor<?xf32>
// CHECK-NEXT: return %[[R]]
func.func @dynamic_tokens(%x: tensor<?x?x8xf32> {kiln.dim_symbols = ["batch", "seq", ""]}) -> tensor<?x?x8xf32> attributes {kiln.dim_ranges = {batch = array<i64: 1, 4>, seq = array<i64: 1, 64>}} {
  %eps = arith.constant dense<1.0e-5> : tensor<f32>
  %w = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %0 = kiln.mul %x, %x : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  // expected-remark @below {{raised rms_norm (eps 1e-05, axis -1, weight)}}
  %1 = kiln.reduce_mean %0 {axes = array<i64: 2>, keepdims = true} : tensor<?x?x8xf32> -> tensor<?x?x1xf32>
  %2 = kiln.add %1, %eps : (tensor<?x?x1xf32>, tensor<f32>) -> tensor<?x?x1xf32>
  %3 = kiln.rsqrt %2 : tensor<?x?x1xf32>
  %4 = kiln.mul %x, %3 : (tensor<?x?x8xf32>, tensor<?x?x1xf32>) -> tensor<?x?x8xf32>
  // Shape queries of the normalized value, as the importer leaves them:
  // one unused, one sizing a later op.
  %unused = tensor.dim %4, %c0 : tensor<?x?x8xf32>
  %seq = tensor.dim %4, %c1 : tensor<?x?x8xf32>
  %5 = kiln.mul %w, %4 : (tensor<8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %6 = tensor.empty(%seq) : tensor<?xf32>
  return %5 : tensor<?x?x8xf32>
}
