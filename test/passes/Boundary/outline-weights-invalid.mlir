// RUN: kiln-opt %s -kiln-outline-weights -verify-diagnostics

// The entry function must exist ("main" unless the `entry` option says
// otherwise; see outline-weights-entry.mlir).

// expected-error @below {{no entry function named 'main'}}
module {
  func.func @forward() -> tensor<128xf32> {
    %w = arith.constant dense<5.0> : tensor<128xf32>
    return %w : tensor<128xf32>
  }
}
