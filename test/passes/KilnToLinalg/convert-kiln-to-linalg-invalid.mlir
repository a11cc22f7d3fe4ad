// RUN: kiln-opt %s -kiln-convert-kiln-to-linalg -split-input-file -verify-diagnostics

// Composite ops must be decomposed (kiln-decompose-composite-ops) before the lowering; a
// leftover one is reported, not silently kept.

func.func @softmax_not_decomposed(%x: tensor<2x16xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{failed to legalize operation 'kiln.softmax' that was explicitly marked illegal}}
  %0 = kiln.softmax %x {axis = -1 : i64} : tensor<2x16xf32>
  return %0 : tensor<2x16xf32>
}

// -----

func.func @reduce_mean_not_decomposed(%x: tensor<2x16xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{failed to legalize operation 'kiln.reduce_mean' that was explicitly marked illegal}}
  %0 = kiln.reduce_mean %x {axes = array<i64: 1>} : tensor<2x16xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @linear_not_decomposed(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{failed to legalize operation 'kiln.linear' that was explicitly marked illegal}}
  %0 = kiln.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
