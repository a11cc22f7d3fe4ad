// RUN: kiln-opt %s -split-input-file -kiln-decompose-composite-ops -verify-diagnostics

// The mask's query offset is the cache length, an attribute.
func.func @dynamic_cache_causal(%q: tensor<1x2x1x4xf32>, %k: tensor<1x2x1x4xf32>, %v: tensor<1x2x1x4xf32>, %pk: tensor<1x2x?x4xf32>, %pv: tensor<1x2x?x4xf32>) -> tensor<1x2x1x4xf32> {
  // expected-error @+1 {{'kiln.attention' op has a dynamic KV cache length and a positional mask, which its decomposition does not support yet: the mask's query offset must be static}}
  %o, %k2, %v2 = kiln.attention %q, %k, %v past %pk, %pv {scale = 0.5 : f32, mask_kind = #kiln.mask_kind<causal>} : (tensor<1x2x1x4xf32>, tensor<1x2x1x4xf32>, tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> (tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>)
  return %o : tensor<1x2x1x4xf32>
}

// -----

func.func @capacity_dynamic_tokens(%logits: tensor<?x4xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{'kiln.moe_route' op has a capacity and a dynamic token count, which its decomposition does not support yet}}
  %w, %e, %n = kiln.moe_route %logits {k = 2 : i64, capacity = 3 : i64} : (tensor<?x4xf32>) -> (tensor<?x2xf32>, tensor<?x2xi64>, tensor<4xi64>)
  return %w : tensor<?x2xf32>
}
