// RUN: kiln-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(kiln-partition-pipeline{rank=0 ranks=3})'
// RUN: not kiln-opt %s -split-input-file -pass-pipeline='builtin.module(kiln-partition-pipeline{rank=0 ranks=2 layers=2,2})' 2>&1 | FileCheck %s --check-prefix=LAYERS
// RUN: not kiln-opt %s -split-input-file -pass-pipeline='builtin.module(kiln-partition-pipeline{rank=0 ranks=2 layers=3,0})' 2>&1 | FileCheck %s --check-prefix=EMPTY

// More stages than decoder layers.
// expected-error @+2 {{pipeline parallelism over 3 stages needs at least 3 decoder layers, found 2}}
// LAYERS: error: the stages' layers (2 stages, 4 layers) must be one count per stage (2) adding up to the model's 2 decoder layers
func.func @two_layers(%x: tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32> {
  %o0, %k0, %v0 = kiln.attention %x, %x, %x {scale = 0.25 : f32} : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>)
  %h1 = arith.addf %x, %o0 : tensor<1x2x8x16xf32>
  %o1, %k1, %v1 = kiln.attention %h1, %h1, %h1 {scale = 0.25 : f32} : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>)
  %h2 = arith.addf %h1, %o1 : tensor<1x2x8x16xf32>
  return %h2 : tensor<1x2x8x16xf32>
}

// -----

// A tensor of dynamic shape where two stages meet.
// EMPTY: error: every pipeline stage needs at least one layer, found layers = 0
func.func @dynamic(%x: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o0, %k0, %v0 = kiln.attention %x, %x, %x {scale = 0.25 : f32} : (tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>) -> (tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>)
  // expected-error @+1 {{pipeline parallelism needs static shapes where stages meet; 'tensor<1x2x?x16xf32>' crosses into stage 1}}
  %h1 = arith.addf %x, %o0 : tensor<1x2x?x16xf32>
  %o1, %k1, %v1 = kiln.attention %h1, %h1, %h1 {scale = 0.25 : f32} : (tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>) -> (tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>)
  %h2 = arith.addf %h1, %o1 : tensor<1x2x?x16xf32>
  %o2, %k2, %v2 = kiln.attention %h2, %h2, %h2 {scale = 0.25 : f32} : (tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>) -> (tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>)
  %h3 = arith.addf %h2, %o2 : tensor<1x2x?x16xf32>
  return %h3 : tensor<1x2x?x16xf32>
}

// -----

// No decoder layer to split.
// expected-error @+2 {{pipeline parallelism splits decoder layers (one per kiln.attention), and the model has none}}
// LAYERS: error: pipeline parallelism splits decoder layers (one per kiln.attention), and the model has none
module {
  func.func @mlp(%x: tensor<4xf32>) -> tensor<4xf32> {
    %y = arith.addf %x, %x : tensor<4xf32>
    return %y : tensor<4xf32>
  }
}
