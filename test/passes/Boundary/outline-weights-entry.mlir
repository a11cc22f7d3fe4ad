// RUN: kiln-opt %s -kiln-outline-weights="entry=forward" | FileCheck %s

// The `entry` option picks the function whose constants become weights;
// other functions, "main" included, are left alone.

// CHECK-LABEL: func @main
// CHECK: arith.constant dense<1.000000e+00> : tensor<128xf32>
func.func @main() -> tensor<128xf32> {
  %w = arith.constant dense<1.0> : tensor<128xf32>
  return %w : tensor<128xf32>
}

// CHECK-LABEL: func @forward
// CHECK-SAME: (%[[W:.+]]: tensor<128xf32> {bufferization.writable = false, kiln.name = "emb", kiln.weight = dense<5.000000e+00> : tensor<128xf32>})
// CHECK-NEXT: return %[[W]]
func.func @forward() -> tensor<128xf32> {
  %w = arith.constant dense<5.0> : tensor<128xf32> loc("emb")
  return %w : tensor<128xf32>
}
