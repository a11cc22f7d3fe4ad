// RUN: kiln-opt %s -kiln-convert-kiln-to-linalg -split-input-file | FileCheck %s
// RUN: kiln-opt %s -split-input-file | kiln-opt -split-input-file | FileCheck %s --check-prefix=ROUNDTRIP

// Each result element reads its index tuple (normalized and clamped), then
// the data element.
// CHECK-LABEL: func @gather_nd
// CHECK-SAME: (%[[D:.+]]: tensor<4x8x16xf32>, %[[I:.+]]: tensor<3x2xi64>)
// CHECK: linalg.generic {{.*}} outs(%{{.+}} : tensor<3x16xf32>)
// CHECK: %[[R:.+]] = linalg.index 0 : index
// CHECK: tensor.extract %[[I]][%[[R]], %{{.+}}] : tensor<3x2xi64>
// CHECK: arith.minsi
// CHECK: tensor.extract %[[I]][%[[R]], %{{.+}}] : tensor<3x2xi64>
// CHECK: arith.minsi
// CHECK: %[[C:.+]] = linalg.index 1 : index
// CHECK: tensor.extract %[[D]][%{{.+}}, %{{.+}}, %[[C]]] : tensor<4x8x16xf32>
// ROUNDTRIP-LABEL: func @gather_nd
// ROUNDTRIP: kiln.gather_nd %{{.+}}, %{{.+}} : (tensor<4x8x16xf32>, tensor<3x2xi64>) -> tensor<3x16xf32>
func.func @gather_nd(%d: tensor<4x8x16xf32>, %i: tensor<3x2xi64>) -> tensor<3x16xf32> {
  %0 = kiln.gather_nd %d, %i : (tensor<4x8x16xf32>, tensor<3x2xi64>) -> tensor<3x16xf32>
  return %0 : tensor<3x16xf32>
}

// -----

// With batch_dims = 1 the batch index is shared by data and indices.
// CHECK-LABEL: func @gather_nd_batch
// CHECK-SAME: (%[[D:.+]]: tensor<2x5x3xf32>, %[[I:.+]]: tensor<2x4x1xi32>)
// CHECK: %[[B:.+]] = linalg.index 0 : index
// CHECK: %[[R:.+]] = linalg.index 1 : index
// CHECK: tensor.extract %[[I]][%[[B]], %[[R]], %{{.+}}] : tensor<2x4x1xi32>
// CHECK: %[[C:.+]] = linalg.index 2 : index
// CHECK: tensor.extract %[[D]][%[[B]], %{{.+}}, %[[C]]] : tensor<2x5x3xf32>
// ROUNDTRIP-LABEL: func @gather_nd_batch
// ROUNDTRIP: kiln.gather_nd %{{.+}}, %{{.+}} {batch_dims = 1 : i64}
func.func @gather_nd_batch(%d: tensor<2x5x3xf32>, %i: tensor<2x4x1xi32>) -> tensor<2x4x3xf32> {
  %0 = kiln.gather_nd %d, %i {batch_dims = 1 : i64} : (tensor<2x5x3xf32>, tensor<2x4x1xi32>) -> tensor<2x4x3xf32>
  return %0 : tensor<2x4x3xf32>
}
