// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | kiln-opt | FileCheck %s

// Round trip of kiln.moe_experts' biases, the activations added for
// onnxruntime's MoE (silu, gelu_tanh, identity) and the SwiGLU parameters,
// in the custom and the generic form (the generic form carries the operand
// segment sizes of the optional operands).

// CHECK-LABEL: func @swiglu_biases_limit
// CHECK: kiln.moe_experts %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} up %{{.+}} gate_bias %{{.+}} up_bias %{{.+}} down_bias %{{.+}} {activation = #kiln.expert_activation<swiglu>, swiglu_alpha = 1.702000e+00 : f32, swiglu_beta = 1.000000e+00 : f32, swiglu_limit = 7.000000e+00 : f32} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>, tensor<8x16x6xf32>, tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x6xf32>) -> tensor<4x6xf32>
func.func @swiglu_biases_limit(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>, %u: tensor<8x16x6xf32>, %bg: tensor<8x16xf32>, %bu: tensor<8x16xf32>, %bd: tensor<8x6xf32>) -> tensor<4x6xf32> {
  %0 = kiln.moe_experts %x, %e, %w, %g, %d up %u gate_bias %bg up_bias %bu down_bias %bd {activation = #kiln.expert_activation<swiglu>, swiglu_alpha = 1.702 : f32, swiglu_beta = 1.0 : f32, swiglu_limit = 7.0 : f32} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>, tensor<8x16x6xf32>, tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x6xf32>) -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// Only the down bias; the new activations.
// CHECK-LABEL: func @activations
// CHECK: kiln.moe_experts %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} down_bias %{{.+}} {activation = #kiln.expert_activation<silu>}
// CHECK: kiln.moe_experts %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} gate_bias %{{.+}} {activation = #kiln.expert_activation<gelu_tanh>}
// CHECK: kiln.moe_experts %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {activation = #kiln.expert_activation<identity>}
func.func @activations(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>, %bg: tensor<8x16xf32>, %bd: tensor<8x6xf32>) -> (tensor<4x6xf32>, tensor<4x6xf32>, tensor<4x6xf32>) {
  %0 = kiln.moe_experts %x, %e, %w, %g, %d down_bias %bd {activation = #kiln.expert_activation<silu>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>, tensor<8x6xf32>) -> tensor<4x6xf32>
  %1 = kiln.moe_experts %x, %e, %w, %g, %d gate_bias %bg {activation = #kiln.expert_activation<gelu_tanh>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>, tensor<8x16xf32>) -> tensor<4x6xf32>
  %2 = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<identity>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>) -> tensor<4x6xf32>
  return %0, %1, %2 : tensor<4x6xf32>, tensor<4x6xf32>, tensor<4x6xf32>
}
