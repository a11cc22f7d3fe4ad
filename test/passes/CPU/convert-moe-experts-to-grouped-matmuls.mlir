// RUN: kiln-opt %s -split-input-file -kiln-cpu-convert-moe-experts-to-grouped-matmuls="rows=2 panel-width=2" -cse | FileCheck %s

// Constant SwiGLU experts: the weights become panels [E, N/2, K, 2] (gate
// and up [2, 2, 4, 2] from [E=2, F=4, H=4]; down [2, 2, 4, 2] from
// [2, H=4, F=4]); each expert collects its (token, choice) slots, then runs
// blocks of 2 tokens through three panel products and adds each output row
// into its token's row.
// CHECK-LABEL: func @swiglu_experts
// CHECK-NOT: kiln.moe_experts
// CHECK-DAG: %[[GATE:.+]] = arith.constant dense<{{.+}}> : tensor<2x2x4x2xf32>
// CHECK: scf.for %[[E:.+]] = %c0 to %c2 step %c1 iter_args(%[[Y:.+]] = %{{.+}}) -> (tensor<3x4xf32>)
// CHECK:   %[[SLOTS:.+]]:2 = scf.for %[[PAIR:.+]] = %c0 to %c6 step %c1 iter_args(%{{.+}} = %{{.+}}, %{{.+}} = %c0) -> (tensor<6xindex>, index)
// CHECK:     tensor.extract %{{.+}}[%{{.+}}, %{{.+}}] : tensor<3x2xi64>
// CHECK:     arith.cmpi eq
// CHECK:     tensor.insert %[[PAIR]]
// CHECK:   %[[BLOCKS:.+]] = arith.ceildivui %[[SLOTS]]#1, %c2
// CHECK:   scf.for %{{.+}} = %c0 to %[[BLOCKS]] step %c1
// CHECK:     linalg.generic {{.+}} outs(%{{.+}} : tensor<2x4xf32>)
// CHECK:       linalg.index 0
// CHECK:       tensor.extract %{{.+}} : tensor<3x4xf32>
// CHECK:     tensor.extract_slice %[[GATE]][%[[E]], 0, 0, 0] [1, 2, 4, 2] [1, 1, 1, 1] : tensor<2x2x4x2xf32> to tensor<2x4x2xf32>
// CHECK:     linalg.generic {{.+}}iterator_types = ["parallel", "parallel", "reduction", "parallel"]{{.+}} outs(%{{.+}} : tensor<2x2x2xf32>)
// CHECK:     linalg.generic {{.+}}iterator_types = ["parallel", "parallel", "reduction", "parallel"]
// CHECK:     math.exp
// CHECK:     linalg.generic {{.+}}iterator_types = ["parallel", "parallel", "reduction", "parallel"]
// CHECK:     arith.minui
// CHECK:     scf.for
// CHECK:       tensor.insert_slice
func.func @swiglu_experts(%x: tensor<3x4xf32>, %e: tensor<3x2xi64>, %w: tensor<3x2xf32>) -> tensor<3x4xf32> {
  %g = arith.constant dense<0.5> : tensor<2x4x4xf32>
  %d = arith.constant dense<0.25> : tensor<2x4x4xf32>
  %u = arith.constant dense<2.0> : tensor<2x4x4xf32>
  %y = kiln.moe_experts %x, %e, %w, %g, %d up %u {activation = #kiln.expert_activation<swiglu>} : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32>, tensor<2x4x4xf32>, tensor<2x4x4xf32>, tensor<2x4x4xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// -----

// Weights that are not constants (nothing to pack at compile time), or
// whose F is not a multiple of the panel width, keep the reference
// lowering.
// CHECK-LABEL: func @left_alone
// CHECK: kiln.moe_experts
// CHECK: kiln.moe_experts
func.func @left_alone(%x: tensor<3x4xf32>, %e: tensor<3x2xi64>, %w: tensor<3x2xf32>, %g: tensor<2x4x4xf32>, %d: tensor<2x4x4xf32>) -> (tensor<3x4xf32>, tensor<3x4xf32>) {
  %y = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<gelu>} : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32>, tensor<2x4x4xf32>, tensor<2x4x4xf32>) -> tensor<3x4xf32>
  %g3 = arith.constant dense<0.5> : tensor<2x3x4xf32>
  %d3 = arith.constant dense<0.25> : tensor<2x4x3xf32>
  %y3 = kiln.moe_experts %x, %e, %w, %g3, %d3 {activation = #kiln.expert_activation<relu>} : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32>, tensor<2x3x4xf32>, tensor<2x4x3xf32>) -> tensor<3x4xf32>
  return %y, %y3 : tensor<3x4xf32>, tensor<3x4xf32>
}

// -----

// A dynamic token count (symbolic batch and sequence sizes): the result
// and the slot list are sized at run time, T * choices slots; the blocks
// are still static [rows, H] products over the packed panels.
// CHECK-LABEL: func.func @dynamic_tokens
// CHECK-SAME: (%[[X:.+]]: tensor<?x4xf32>, %[[E:.+]]: tensor<?x2xi64>, %[[W:.+]]: tensor<?x2xf32>)
// CHECK-NOT: kiln.moe_experts
// CHECK: %[[T:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x4xf32>
// CHECK: %[[Y0:.+]] = tensor.empty(%[[T]]) : tensor<?x4xf32>
// CHECK: linalg.fill {{.+}} outs(%[[Y0]] : tensor<?x4xf32>)
// CHECK: scf.for
// CHECK: %[[TE:.+]] = tensor.dim %[[E]], %{{.+}} : tensor<?x2xi64>
// CHECK: %[[PAIRS:.+]] = arith.muli %[[TE]], %{{.+}} : index
// CHECK: tensor.empty(%[[PAIRS]]) : tensor<?xindex>
// CHECK: scf.for %{{.+}} = %{{.+}} to %[[PAIRS]]
// CHECK: linalg.generic {{.+}} outs(%{{.+}} : tensor<2x4xf32>)
// CHECK-NOT: kiln.moe_experts
func.func @dynamic_tokens(%x: tensor<?x4xf32>, %e: tensor<?x2xi64>, %w: tensor<?x2xf32>) -> tensor<?x4xf32> {
  %g = arith.constant dense<0.5> : tensor<2x4x4xf32>
  %d = arith.constant dense<0.25> : tensor<2x4x4xf32>
  %u = arith.constant dense<2.0> : tensor<2x4x4xf32>
  %y = kiln.moe_experts %x, %e, %w, %g, %d up %u {activation = #kiln.expert_activation<swiglu>} : (tensor<?x4xf32>, tensor<?x2xi64>, tensor<?x2xf32>, tensor<2x4x4xf32>, tensor<2x4x4xf32>, tensor<2x4x4xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
