// RUN: kiln-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(func.func(kiln-partition-experts{rank=1 ranks=2}))' | FileCheck %s
// RUN: kiln-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(func.func(kiln-partition-experts{rank=0 ranks=1}))' | FileCheck %s --check-prefix=ONE
// RUN: kiln-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(func.func(kiln-partition-experts{rank=1 ranks=2 group=1}))' | FileCheck %s --check-prefix=GROUP
// With tp in the plan, the experts' sum runs over the ep group (index 1 of
// the module's kiln.collective_groups).
// GROUP: kiln.all_reduce %{{.+}} {group = 1 : i64, ranks = 2 : i64}

// Rank 1 of 2 keeps experts 2 and 3 of 4: its weights are constants of
// those rows only (gate rows 2-3 hold 2.0 and 3.0), the routed expert
// indices 2 and 3 become 0 and 1 and the others -1 (dropped), and the
// ranks' partial sums are added by one all-reduce.

// CHECK-LABEL: func.func @moe
// CHECK: %[[E:.+]] = linalg.generic
// CHECK: arith.cmpi sge
// CHECK: arith.cmpi slt
// CHECK: arith.subi
// CHECK: arith.select
// CHECK: %[[GATE:.+]] = arith.constant dense<{{\[\[\[}}2.000000e+00, 2.000000e+00, 2.000000e+00, 2.000000e+00], [2.000000e+00, 2.000000e+00, 2.000000e+00, 2.000000e+00]], {{\[\[}}3.000000e+00, 3.000000e+00, 3.000000e+00, 3.000000e+00], [3.000000e+00, 3.000000e+00, 3.000000e+00, 3.000000e+00]]]> : tensor<2x2x4xf32>
// CHECK: arith.constant dense<5.000000e-01> : tensor<2x4x2xf32>
// CHECK: arith.constant dense<2.500000e-01> : tensor<2x2x4xf32>
// CHECK: %[[P:.+]] = kiln.moe_experts %arg0, %[[E]], %arg2, %[[GATE]], %{{.+}} up %{{.+}} {activation = #kiln.expert_activation<swiglu>} : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32>, tensor<2x2x4xf32>, tensor<2x4x2xf32>, tensor<2x2x4xf32>) -> tensor<3x4xf32>
// CHECK: %[[S:.+]] = kiln.all_reduce %[[P]] {ranks = 2 : i64} : (tensor<3x4xf32>) -> tensor<3x4xf32>
// CHECK: return %[[S]]

// With one rank nothing changes.
// ONE-LABEL: func.func @moe
// ONE-NOT: kiln.all_reduce
// ONE: kiln.moe_experts %arg0, %arg1, %arg2
func.func @moe(%x: tensor<3x4xf32>, %e: tensor<3x2xi64>, %w: tensor<3x2xf32>) -> tensor<3x4xf32> {
  %gate = arith.constant dense<[[[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]],
                                [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]],
                                [[2.0, 2.0, 2.0, 2.0], [2.0, 2.0, 2.0, 2.0]],
                                [[3.0, 3.0, 3.0, 3.0], [3.0, 3.0, 3.0, 3.0]]]> : tensor<4x2x4xf32>
  %down = arith.constant dense<0.5> : tensor<4x4x2xf32>
  %up = arith.constant dense<0.25> : tensor<4x2x4xf32>
  %0 = kiln.moe_experts %x, %e, %w, %gate, %down up %up {activation = #kiln.expert_activation<swiglu>}
      : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32>, tensor<4x2x4xf32>, tensor<4x4x2xf32>, tensor<4x2x4xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// Weights that are not constants are sliced.
// CHECK-LABEL: func.func @arguments
// CHECK: tensor.extract_slice %arg3[2, 0, 0] [2, 2, 4] [1, 1, 1] : tensor<4x2x4xf32> to tensor<2x2x4xf32>
// CHECK: tensor.extract_slice %arg4[2, 0, 0] [2, 4, 2] [1, 1, 1] : tensor<4x4x2xf32> to tensor<2x4x2xf32>
// CHECK: kiln.all_reduce
func.func @arguments(%x: tensor<3x4xf32>, %e: tensor<3x2xi64>, %w: tensor<3x2xf32>, %gate: tensor<4x2x4xf32>, %down: tensor<4x4x2xf32>) -> tensor<3x4xf32> {
  %0 = kiln.moe_experts %x, %e, %w, %gate, %down {activation = #kiln.expert_activation<gelu>}
      : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32>, tensor<4x2x4xf32>, tensor<4x4x2xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}
