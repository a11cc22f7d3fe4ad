// RUN: kiln-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(func.func(kiln-partition-tensor-parallel{rank=1 ranks=2}))'
// RUN: not kiln-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(kiln-partition-tensor-parallel{rank=2 ranks=2}))' 2>&1 | FileCheck %s --check-prefix=RANK
// RANK: error: kiln-partition-tensor-parallel: rank 2 must lie in [0, ranks = 2)

// The ranks must divide the query heads.
func.func @heads(%q: tensor<1x3x4x2xf32>, %k: tensor<1x3x4x2xf32>) -> tensor<1x3x4x2xf32> {
  // expected-error @+1 {{tensor parallelism over 2 ranks needs the query heads to be a multiple of 2, found 3}}
  %o, %pk, %pv = kiln.attention %q, %k, %k {scale = 0.5 : f32} : (tensor<1x3x4x2xf32>, tensor<1x3x4x2xf32>, tensor<1x3x4x2xf32>) -> (tensor<1x3x4x2xf32>, tensor<1x3x4x2xf32>, tensor<1x3x4x2xf32>)
  return %o : tensor<1x3x4x2xf32>
}

// -----

// The KV heads and the ranks must divide one another.
func.func @kv_heads(%q: tensor<1x6x4x2xf32>, %k: tensor<1x3x4x2xf32>) -> tensor<1x6x4x2xf32> {
  // expected-error @+1 {{tensor parallelism over 2 ranks needs the 3 KV heads and the ranks to divide one another}}
  %o, %pk, %pv = kiln.attention %q, %k, %k {scale = 0.5 : f32} : (tensor<1x6x4x2xf32>, tensor<1x3x4x2xf32>, tensor<1x3x4x2xf32>) -> (tensor<1x6x4x2xf32>, tensor<1x3x4x2xf32>, tensor<1x3x4x2xf32>)
  return %o : tensor<1x6x4x2xf32>
}

// -----

// The query must come from a projection with a constant weight.
func.func @argument(%q: tensor<1x2x4x2xf32>, %k: tensor<1x2x4x2xf32>) -> tensor<1x2x4x2xf32> {
  // expected-error @+1 {{tensor parallelism needs the attention's query to come from a kiln.linear or kiln.matmul with a constant 2-D weight, through reshapes, transposes, casts and RoPE}}
  %o, %pk, %pv = kiln.attention %q, %k, %k {scale = 0.5 : f32} : (tensor<1x2x4x2xf32>, tensor<1x2x4x2xf32>, tensor<1x2x4x2xf32>) -> (tensor<1x2x4x2xf32>, tensor<1x2x4x2xf32>, tensor<1x2x4x2xf32>)
  return %o : tensor<1x2x4x2xf32>
}

// -----

// A KV cache is not split yet.
func.func @cache(%q: tensor<1x2x1x2xf32>, %k: tensor<1x2x1x2xf32>, %p: tensor<1x2x4x2xf32>) -> tensor<1x2x1x2xf32> {
  // expected-error @+1 {{tensor parallelism does not split attention with a KV cache (past keys) yet}}
  %o, %pk, %pv = kiln.attention %q, %k, %k past %p, %p {scale = 0.5 : f32} : (tensor<1x2x1x2xf32>, tensor<1x2x1x2xf32>, tensor<1x2x1x2xf32>, tensor<1x2x4x2xf32>, tensor<1x2x4x2xf32>) -> (tensor<1x2x1x2xf32>, tensor<1x2x5x2xf32>, tensor<1x2x5x2xf32>)
  return %o : tensor<1x2x1x2xf32>
}

// -----

// Present keys that are used would hold the rank's heads only.
func.func @present(%q: tensor<1x2x4x2xf32>, %k: tensor<1x2x4x2xf32>) -> tensor<1x2x4x2xf32> {
  // expected-error @+1 {{tensor parallelism does not split attention whose present keys or values are used}}
  %o, %pk, %pv = kiln.attention %q, %k, %k {scale = 0.5 : f32} : (tensor<1x2x4x2xf32>, tensor<1x2x4x2xf32>, tensor<1x2x4x2xf32>) -> (tensor<1x2x4x2xf32>, tensor<1x2x4x2xf32>, tensor<1x2x4x2xf32>)
  return %pk : tensor<1x2x4x2xf32>
}

// -----

// A projection value with another user cannot be split for attention.
func.func @shared(%x: tensor<1x4x4xf32>) -> tensor<1x4x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x4xf32>
  %q = kiln.linear %x, %w : (tensor<1x4x4xf32>, tensor<4x4xf32>) -> tensor<1x4x4xf32>
  %q4 = kiln.reshape %q : tensor<1x4x4xf32> -> tensor<1x4x2x2xf32>
  %qt = kiln.transpose %q4 {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x4x2x2xf32> -> tensor<1x2x4x2xf32>
  // expected-error @+1 {{tensor parallelism needs the attention's query computed for it alone; a value on its way from the projection has other users}}
  %o, %pk, %pv = kiln.attention %qt, %qt, %qt {scale = 0.5 : f32} : (tensor<1x2x4x2xf32>, tensor<1x2x4x2xf32>, tensor<1x2x4x2xf32>) -> (tensor<1x2x4x2xf32>, tensor<1x2x4x2xf32>, tensor<1x2x4x2xf32>)
  %ot = kiln.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x2x4x2xf32> -> tensor<1x4x2x2xf32>
  %o3 = kiln.reshape %ot : tensor<1x4x2x2xf32> -> tensor<1x4x4xf32>
  %y = kiln.linear %o3, %w : (tensor<1x4x4xf32>, tensor<4x4xf32>) -> tensor<1x4x4xf32>
  return %y : tensor<1x4x4xf32>
}

// -----

// The ranks must divide every expert's intermediate size.
func.func @experts(%x: tensor<3x4xf32>, %e: tensor<3x2xi64>, %w: tensor<3x2xf32>, %gate: tensor<2x3x4xf32>, %down: tensor<2x4x3xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{tensor parallelism over 2 ranks needs the experts' intermediate size to be a multiple of 2, found 3}}
  %0 = kiln.moe_experts %x, %e, %w, %gate, %down {activation = #kiln.expert_activation<gelu>}
      : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32>, tensor<2x3x4xf32>, tensor<2x4x3xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// kiln.all_reduce sums f32 and f64 only.
func.func @bf16(%x: tensor<3x4xbf16>, %e: tensor<3x2xi64>, %w: tensor<3x2xbf16>, %gate: tensor<2x2x4xbf16>, %down: tensor<2x4x2xbf16>) -> tensor<3x4xbf16> {
  // expected-error @+1 {{tensor parallelism sums the ranks' partial results with kiln.all_reduce, which takes f32 or f64; found 'bf16'}}
  %0 = kiln.moe_experts %x, %e, %w, %gate, %down {activation = #kiln.expert_activation<gelu>}
      : (tensor<3x4xbf16>, tensor<3x2xi64>, tensor<3x2xbf16>, tensor<2x2x4xbf16>, tensor<2x4x2xbf16>) -> tensor<3x4xbf16>
  return %0 : tensor<3x4xbf16>
}
