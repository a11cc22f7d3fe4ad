// RUN: kiln-opt %s -kiln-outline-weights -split-input-file | FileCheck %s
// RUN: kiln-opt %s -kiln-outline-weights="min-elements=4" -split-input-file | FileCheck %s --check-prefix=MIN4

// Constants of the entry function with more than `min-elements` (default 64)
// elements become leading arguments that carry their value in `kiln.weight`
// and the importer's name in `kiln.name`.

// CHECK-LABEL: func @main
// CHECK-SAME: (%[[W:.+]]: tensor<16x16xf32> {bufferization.writable = false, kiln.name = "fc.weight", kiln.weight = dense<1.000000e+00> : tensor<16x16xf32>},
// CHECK-SAME: %[[X:.+]]: tensor<4x16xf32>) -> tensor<4x16xf32>
// CHECK-NOT: dense<1.000000e+00> : tensor<16x16xf32>
// CHECK: %[[B:.+]] = arith.constant dense<2.000000e+00> : tensor<16xf32>
// CHECK: %[[P:.+]] = kiln.matmul %[[X]], %[[W]]
// CHECK: kiln.add %[[P]], %[[B]]

// With min-elements=4 the 16-element bias is a weight too. It has no name
// location, so it is named by its position.
// MIN4-LABEL: func @main
// MIN4-SAME: (%[[W:.+]]: tensor<16x16xf32> {bufferization.writable = false, kiln.name = "fc.weight", kiln.weight = dense<1.000000e+00> : tensor<16x16xf32>},
// MIN4-SAME: %[[B:.+]]: tensor<16xf32> {bufferization.writable = false, kiln.name = "weight1", kiln.weight = dense<2.000000e+00> : tensor<16xf32>},
// MIN4-SAME: %[[X:.+]]: tensor<4x16xf32>) -> tensor<4x16xf32>
// MIN4-NOT: arith.constant
// MIN4: %[[P:.+]] = kiln.matmul %[[X]], %[[W]]
// MIN4: kiln.add %[[P]], %[[B]]
func.func @main(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %w = arith.constant dense<1.0> : tensor<16x16xf32> loc("fc.weight")
  %b = arith.constant dense<2.0> : tensor<16xf32>
  %0 = kiln.matmul %x, %w : (tensor<4x16xf32>, tensor<16x16xf32>) -> tensor<4x16xf32>
  %1 = kiln.add %0, %b : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  return %1 : tensor<4x16xf32>
}

// -----

// The threshold is "more than": exactly min-elements stays a constant.
// Scalars and other functions are never touched.
// CHECK-LABEL: func @main
// CHECK-SAME: (%[[W0:.+]]: tensor<65xf32> {bufferization.writable = false, kiln.name = "weight0", kiln.weight = dense<3.000000e+00> : tensor<65xf32>},
// CHECK-SAME: %[[W1:.+]]: tensor<2x40xi64> {bufferization.writable = false, kiln.name = "ids", kiln.weight = dense<7> : tensor<2x40xi64>})
// CHECK-DAG: arith.constant dense<4.000000e+00> : tensor<64xf32>
// CHECK-DAG: arith.constant 1.000000e+00 : f32
// CHECK-LABEL: func @helper
// CHECK: arith.constant dense<5.000000e+00> : tensor<128xf32>

// MIN4-LABEL: func @main
// MIN4-SAME: (%{{.+}}: tensor<65xf32> {bufferization.writable = false, kiln.name = "weight0", {{[^}]+}}},
// MIN4-SAME: %{{.+}}: tensor<64xf32> {bufferization.writable = false, kiln.name = "weight1", {{[^}]+}}},
// MIN4-SAME: %{{.+}}: tensor<2x40xi64> {bufferization.writable = false, kiln.name = "ids", {{[^}]+}}})
// MIN4: arith.constant 1.000000e+00 : f32
// MIN4-LABEL: func @helper
// MIN4: arith.constant dense<5.000000e+00> : tensor<128xf32>
func.func @main() -> (tensor<65xf32>, tensor<64xf32>, tensor<2x40xi64>, f32) {
  %a = arith.constant dense<3.0> : tensor<65xf32>
  %b = arith.constant dense<4.0> : tensor<64xf32>
  %c = arith.constant dense<7> : tensor<2x40xi64> loc("ids")
  %s = arith.constant 1.0 : f32
  return %a, %b, %c, %s : tensor<65xf32>, tensor<64xf32>, tensor<2x40xi64>, f32
}
func.func @helper() -> tensor<128xf32> {
  %w = arith.constant dense<5.0> : tensor<128xf32>
  return %w : tensor<128xf32>
}
