// RUN: kiln-opt %s -split-input-file -verify-diagnostics

// Verifier messages of kiln.moe_experts' biases and SwiGLU parameters
// (dialects/Kiln/KilnMoEOps.cpp); the other messages are in invalid.mlir.

func.func @gate_bias_shape(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>, %b: tensor<8x6xf32>) {
  // expected-error @+1 {{'kiln.moe_experts' op b_gate must be [8,16] of the input's element type, got 'tensor<8x6xf32>'}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d gate_bias %b {activation = #kiln.expert_activation<relu>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>, tensor<8x6xf32>) -> tensor<4x6xf32>
  return
}

// -----

func.func @down_bias_shape(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>, %b: tensor<8x16xf32>) {
  // expected-error @+1 {{'kiln.moe_experts' op b_down must be [8,6] of the input's element type, got 'tensor<8x16xf32>'}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d down_bias %b {activation = #kiln.expert_activation<relu>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>, tensor<8x16xf32>) -> tensor<4x6xf32>
  return
}

// -----

func.func @down_bias_type(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>, %b: tensor<8x6xf16>) {
  // expected-error @+1 {{'kiln.moe_experts' op b_down must be [8,6] of the input's element type, got 'tensor<8x6xf16>'}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d down_bias %b {activation = #kiln.expert_activation<relu>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>, tensor<8x6xf16>) -> tensor<4x6xf32>
  return
}

// -----

func.func @up_bias_shape(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>, %u: tensor<8x16x6xf32>, %b: tensor<7x16xf32>) {
  // expected-error @+1 {{'kiln.moe_experts' op b_up must be [8,16] of the input's element type, got 'tensor<7x16xf32>'}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d up %u up_bias %b {activation = #kiln.expert_activation<swiglu>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>, tensor<8x16x6xf32>, tensor<7x16xf32>) -> tensor<4x6xf32>
  return
}

// -----

func.func @up_bias_not_swiglu(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>, %b: tensor<8x16xf32>) {
  // expected-error @+1 {{'kiln.moe_experts' op b_up is only used by SwiGLU experts}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d up_bias %b {activation = #kiln.expert_activation<silu>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>, tensor<8x16xf32>) -> tensor<4x6xf32>
  return
}

// -----

func.func @swiglu_params_not_swiglu(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>) {
  // expected-error @+1 {{'kiln.moe_experts' op swiglu_alpha, swiglu_beta and swiglu_limit are only used by SwiGLU experts}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<gelu>, swiglu_alpha = 1.702 : f32} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>) -> tensor<4x6xf32>
  return
}

// -----

func.func @swiglu_limit_not_swiglu(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>) {
  // expected-error @+1 {{'kiln.moe_experts' op swiglu_alpha, swiglu_beta and swiglu_limit are only used by SwiGLU experts}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<identity>, swiglu_limit = 7.0 : f32} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>) -> tensor<4x6xf32>
  return
}

// -----

func.func @swiglu_limit_zero(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>, %u: tensor<8x16x6xf32>) {
  // expected-error @+1 {{'kiln.moe_experts' op swiglu_limit must be positive}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d up %u {activation = #kiln.expert_activation<swiglu>, swiglu_limit = 0.0 : f32} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>, tensor<8x16x6xf32>) -> tensor<4x6xf32>
  return
}
