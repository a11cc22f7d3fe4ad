// RUN: kiln-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(func.func(kiln-partition-experts{rank=1 ranks=2}))'

// Expert parallelism needs the ranks to divide every layer's experts.
func.func @indivisible(%x: tensor<3x4xf32>, %e: tensor<3x2xi64>, %w: tensor<3x2xf32>, %gate: tensor<3x2x4xf32>, %down: tensor<3x4x2xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{expert parallelism over 2 ranks needs the expert count to be a multiple of 2, found 3 experts}}
  %0 = kiln.moe_experts %x, %e, %w, %gate, %down {activation = #kiln.expert_activation<gelu>}
      : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32>, tensor<3x2x4xf32>, tensor<3x4x2xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}
