// RUN: kiln-opt %s -kiln-decompose-composite-ops -split-input-file | FileCheck %s

// kiln-decompose-composite-ops rewrites kiln.attention into matmuls over [B, Hkv, G, S, *]
// (the G = Hq / Hkv query heads of a group share one key/value head by
// broadcasting), the positional mask as kiln.attention_mask, and a softmax
// that yields zeros for a query with no key left; kiln.rms_norm becomes
// x * rsqrt(mean(x^2) + eps) * scale.

// MHA, no mask: G = 1. The scores are [B, Hkv, G, S, L] = [2, 4, 1, 8, 6],
// scaled by a rank-0 constant, then reshaped to [B, Hq, S, L]. The present
// key/value are the key/value themselves.
// CHECK-LABEL: func @mha
// CHECK-SAME: (%[[Q:[a-z0-9]+]]: tensor<2x4x8x16xf32>, %[[K:[a-z0-9]+]]: tensor<2x4x6x16xf32>, %[[V:[a-z0-9]+]]: tensor<2x4x6x32xf32>)
// CHECK-DAG: %[[ZERO:.+]] = arith.constant dense<0.000000e+00> : tensor<f32>
// CHECK-DAG: %[[NEGINF:.+]] = arith.constant dense<0xFF800000> : tensor<f32>
// CHECK-DAG: %[[SCALE:.+]] = arith.constant dense<2.500000e-01> : tensor<f32>
// CHECK: %[[QG:.+]] = kiln.reshape %[[Q]] : tensor<2x4x8x16xf32> -> tensor<2x4x1x8x16xf32>
// CHECK: %[[KT:.+]] = kiln.transpose %[[K]] {permutation = array<i64: 0, 1, 3, 2>} : tensor<2x4x6x16xf32> -> tensor<2x4x16x6xf32>
// CHECK: %[[KG:.+]] = kiln.reshape %[[KT]] : tensor<2x4x16x6xf32> -> tensor<2x4x1x16x6xf32>
// CHECK: %[[QK:.+]] = kiln.matmul %[[QG]], %[[KG]] : (tensor<2x4x1x8x16xf32>, tensor<2x4x1x16x6xf32>) -> tensor<2x4x1x8x6xf32>
// CHECK: %[[SC:.+]] = kiln.mul %[[QK]], %[[SCALE]] : (tensor<2x4x1x8x6xf32>, tensor<f32>) -> tensor<2x4x1x8x6xf32>
// CHECK: %[[S:.+]] = kiln.reshape %[[SC]] : tensor<2x4x1x8x6xf32> -> tensor<2x4x8x6xf32>
// CHECK-NOT: kiln.attention_mask
// Safe softmax: a row whose maximum is -inf (nothing left) subtracts 0
// instead, and its probabilities are replaced by 0 where the sum is not > 0.
// CHECK: %[[MAX:.+]] = kiln.reduce_max %[[S]] {axes = array<i64: 3>, keepdims = true} : tensor<2x4x8x6xf32> -> tensor<2x4x8x1xf32>
// CHECK: %[[EMPTY:.+]] = kiln.compare eq, %[[MAX]], %[[NEGINF]] : (tensor<2x4x8x1xf32>, tensor<f32>) -> tensor<2x4x8x1xi1>
// CHECK: %[[SAFEMAX:.+]] = kiln.select %[[EMPTY]], %[[ZERO]], %[[MAX]] : (tensor<2x4x8x1xi1>, tensor<f32>, tensor<2x4x8x1xf32>) -> tensor<2x4x8x1xf32>
// CHECK: %[[SHIFTED:.+]] = kiln.sub %[[S]], %[[SAFEMAX]] : (tensor<2x4x8x6xf32>, tensor<2x4x8x1xf32>) -> tensor<2x4x8x6xf32>
// CHECK: %[[E:.+]] = kiln.exp %[[SHIFTED]] : tensor<2x4x8x6xf32>
// CHECK: %[[SUM:.+]] = kiln.reduce_sum %[[E]] {axes = array<i64: 3>, keepdims = true} : tensor<2x4x8x6xf32> -> tensor<2x4x8x1xf32>
// CHECK: %[[P:.+]] = kiln.div %[[E]], %[[SUM]] : (tensor<2x4x8x6xf32>, tensor<2x4x8x1xf32>) -> tensor<2x4x8x6xf32>
// CHECK: %[[ANY:.+]] = kiln.compare gt, %[[SUM]], %[[ZERO]] : (tensor<2x4x8x1xf32>, tensor<f32>) -> tensor<2x4x8x1xi1>
// CHECK: %[[SAFEP:.+]] = kiln.select %[[ANY]], %[[P]], %[[ZERO]] : (tensor<2x4x8x1xi1>, tensor<2x4x8x6xf32>, tensor<f32>) -> tensor<2x4x8x6xf32>
// CHECK: %[[PG:.+]] = kiln.reshape %[[SAFEP]] : tensor<2x4x8x6xf32> -> tensor<2x4x1x8x6xf32>
// CHECK: %[[VG:.+]] = kiln.reshape %[[V]] : tensor<2x4x6x32xf32> -> tensor<2x4x1x6x32xf32>
// CHECK: %[[PV:.+]] = kiln.matmul %[[PG]], %[[VG]] : (tensor<2x4x1x8x6xf32>, tensor<2x4x1x6x32xf32>) -> tensor<2x4x1x8x32xf32>
// CHECK: %[[O:.+]] = kiln.reshape %[[PV]] : tensor<2x4x1x8x32xf32> -> tensor<2x4x8x32xf32>
// CHECK: return %[[O]], %[[K]], %[[V]] : tensor<2x4x8x32xf32>, tensor<2x4x6x16xf32>, tensor<2x4x6x32xf32>
// CHECK-NOT: kiln.attention
func.func @mha(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x6x16xf32>, %v: tensor<2x4x6x32xf32>)
    -> (tensor<2x4x8x32xf32>, tensor<2x4x6x16xf32>, tensor<2x4x6x32xf32>) {
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32}
      : (tensor<2x4x8x16xf32>, tensor<2x4x6x16xf32>, tensor<2x4x6x32xf32>)
      -> (tensor<2x4x8x32xf32>, tensor<2x4x6x16xf32>, tensor<2x4x6x32xf32>)
  return %o, %pk, %pv : tensor<2x4x8x32xf32>, tensor<2x4x6x16xf32>, tensor<2x4x6x32xf32>
}

// -----

// GQA (8 query heads over 2 KV heads, G = 4): the query becomes
// [1, 2, 4, 4, 16] and the key [1, 2, 1, 16, 4], broadcast over the group
// instead of repeated. softcap: scores = 30 * tanh(scores / 30), after the
// scale and before the reshape to [B, Hq, S, L].
// CHECK-LABEL: func @gqa_softcap
// CHECK-SAME: (%[[Q:[a-z0-9]+]]: tensor<1x8x4x16xf32>, %[[K:[a-z0-9]+]]: tensor<1x2x4x16xf32>, %[[V:[a-z0-9]+]]: tensor<1x2x4x16xf32>)
// CHECK-DAG: %[[CAP:.+]] = arith.constant dense<3.000000e+01> : tensor<f32>
// CHECK-DAG: %[[SCALE:.+]] = arith.constant dense<2.500000e-01> : tensor<f32>
// CHECK: %[[QG:.+]] = kiln.reshape %[[Q]] : tensor<1x8x4x16xf32> -> tensor<1x2x4x4x16xf32>
// CHECK: %[[KT:.+]] = kiln.transpose %[[K]] {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x2x4x16xf32> -> tensor<1x2x16x4xf32>
// CHECK: %[[KG:.+]] = kiln.reshape %[[KT]] : tensor<1x2x16x4xf32> -> tensor<1x2x1x16x4xf32>
// CHECK: %[[QK:.+]] = kiln.matmul %[[QG]], %[[KG]] : (tensor<1x2x4x4x16xf32>, tensor<1x2x1x16x4xf32>) -> tensor<1x2x4x4x4xf32>
// CHECK: %[[SC:.+]] = kiln.mul %[[QK]], %[[SCALE]]
// CHECK: %[[D:.+]] = kiln.div %[[SC]], %[[CAP]] : (tensor<1x2x4x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4x4xf32>
// CHECK: %[[T:.+]] = kiln.tanh %[[D]] : tensor<1x2x4x4x4xf32>
// CHECK: %[[C:.+]] = kiln.mul %[[T]], %[[CAP]] : (tensor<1x2x4x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4x4xf32>
// CHECK: %[[S:.+]] = kiln.reshape %[[C]] : tensor<1x2x4x4x4xf32> -> tensor<1x8x4x4xf32>
// CHECK: kiln.reduce_max %[[S]]
// CHECK: %[[SAFEP:.+]] = kiln.select %{{.+}} : (tensor<1x8x4x1xi1>, tensor<1x8x4x4xf32>, tensor<f32>) -> tensor<1x8x4x4xf32>
// CHECK: %[[PG:.+]] = kiln.reshape %[[SAFEP]] : tensor<1x8x4x4xf32> -> tensor<1x2x4x4x4xf32>
// CHECK: %[[VG:.+]] = kiln.reshape %[[V]] : tensor<1x2x4x16xf32> -> tensor<1x2x1x4x16xf32>
// CHECK: %[[PV:.+]] = kiln.matmul %[[PG]], %[[VG]] : (tensor<1x2x4x4x4xf32>, tensor<1x2x1x4x16xf32>) -> tensor<1x2x4x4x16xf32>
// CHECK: %[[O:.+]] = kiln.reshape %[[PV]] : tensor<1x2x4x4x16xf32> -> tensor<1x8x4x16xf32>
// CHECK: return %[[O]]
func.func @gqa_softcap(%q: tensor<1x8x4x16xf32>, %k: tensor<1x2x4x16xf32>, %v: tensor<1x2x4x16xf32>) -> tensor<1x8x4x16xf32> {
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32, softcap = 30.0 : f32}
      : (tensor<1x8x4x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>)
      -> (tensor<1x8x4x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>)
  return %o : tensor<1x8x4x16xf32>
}

// -----

// Causal decode step with a KV cache of 200 positions: the cache and the new
// key/value are concatenated on the sequence axis (the present outputs), and
// the mask places the single query at position 200 (query_offset = P).
// CHECK-LABEL: func @causal_past
// CHECK-SAME: (%[[Q:[a-z0-9]+]]: tensor<1x8x1x64xf32>, %[[K:[a-z0-9]+]]: tensor<1x2x1x64xf32>, %[[V:[a-z0-9]+]]: tensor<1x2x1x64xf32>, %[[PK:[a-z0-9]+]]: tensor<1x2x200x64xf32>, %[[PV:[a-z0-9]+]]: tensor<1x2x200x64xf32>)
// CHECK: %[[KALL:.+]] = kiln.concat %[[PK]], %[[K]] {axis = 2 : i64} : (tensor<1x2x200x64xf32>, tensor<1x2x1x64xf32>) -> tensor<1x2x201x64xf32>
// CHECK: %[[VALL:.+]] = kiln.concat %[[PV]], %[[V]] {axis = 2 : i64} : (tensor<1x2x200x64xf32>, tensor<1x2x1x64xf32>) -> tensor<1x2x201x64xf32>
// CHECK: %[[QG:.+]] = kiln.reshape %[[Q]] : tensor<1x8x1x64xf32> -> tensor<1x2x4x1x64xf32>
// CHECK: kiln.transpose %[[KALL]] {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x2x201x64xf32> -> tensor<1x2x64x201xf32>
// CHECK: %[[S:.+]] = kiln.reshape %{{.+}} : tensor<1x2x4x1x201xf32> -> tensor<1x8x1x201xf32>
// CHECK: %[[M:.+]] = kiln.attention_mask %[[S]] {mask_kind = #kiln.mask_kind<causal>, query_offset = 200 : i64} : tensor<1x8x1x201xf32>
// CHECK: kiln.reduce_max %[[M]] {axes = array<i64: 3>, keepdims = true}
// CHECK: kiln.reshape %[[VALL]] : tensor<1x2x201x64xf32> -> tensor<1x2x1x201x64xf32>
// CHECK: %[[O:.+]] = kiln.reshape %{{.+}} : tensor<1x2x4x1x64xf32> -> tensor<1x8x1x64xf32>
// CHECK: return %[[O]], %[[KALL]], %[[VALL]]
func.func @causal_past(%q: tensor<1x8x1x64xf32>, %k: tensor<1x2x1x64xf32>, %v: tensor<1x2x1x64xf32>,
                       %past_k: tensor<1x2x200x64xf32>, %past_v: tensor<1x2x200x64xf32>)
    -> (tensor<1x8x1x64xf32>, tensor<1x2x201x64xf32>, tensor<1x2x201x64xf32>) {
  %out, %pk, %pv = kiln.attention %q, %k, %v past %past_k, %past_v
      {scale = 0.125 : f32, mask_kind = #kiln.mask_kind<causal>}
      : (tensor<1x8x1x64xf32>, tensor<1x2x1x64xf32>, tensor<1x2x1x64xf32>,
         tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>)
      -> (tensor<1x8x1x64xf32>, tensor<1x2x201x64xf32>, tensor<1x2x201x64xf32>)
  return %out, %pk, %pv : tensor<1x8x1x64xf32>, tensor<1x2x201x64xf32>, tensor<1x2x201x64xf32>
}

// -----

// The other positional kinds carry their attributes over to
// kiln.attention_mask (query_offset 0 without a cache, so it is elided).
// CHECK-LABEL: func @mask_kinds
// CHECK: kiln.attention_mask %{{.+}} {mask_kind = #kiln.mask_kind<sliding_window>, window_left = 2 : i64, window_right = 1 : i64} : tensor<1x2x4x4xf32>
// CHECK: kiln.attention_mask %{{.+}} {mask_kind = #kiln.mask_kind<hierarchical>, num_global_tokens = 1 : i64, window_left = 1 : i64, window_right = 0 : i64} : tensor<1x2x4x4xf32>
// CHECK: kiln.attention_mask %{{.+}} {block_layout = array<i1: true, false, true, true>, block_size = 2 : i64, mask_kind = #kiln.mask_kind<block_sparse>} : tensor<1x2x4x4xf32>
// CHECK-NOT: kiln.attention {{.+}}:
func.func @mask_kinds(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>)
    -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) {
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 1.0 : f32, mask_kind = #kiln.mask_kind<sliding_window>, window_left = 2 : i64, window_right = 1 : i64}
      : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>)
      -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>)
  %o2, %pk2, %pv2 = kiln.attention %q, %k, %v {scale = 1.0 : f32, mask_kind = #kiln.mask_kind<hierarchical>, num_global_tokens = 1 : i64, window_left = 1 : i64, window_right = 0 : i64}
      : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>)
      -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>)
  %o3, %pk3, %pv3 = kiln.attention %q, %k, %v {scale = 1.0 : f32, mask_kind = #kiln.mask_kind<block_sparse>, block_size = 2 : i64, block_layout = array<i1: true, false, true, true>}
      : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>)
      -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>)
  return %o, %o2, %o3 : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>
}

// -----

// A boolean mask selects between the scores and -inf; a float mask is added
// to the scores. Both broadcast against [B, Hq, S, L] and come before the
// softmax.
// CHECK-LABEL: func @masks
// CHECK-SAME: %[[M:[a-z0-9]+]]: tensor<4x4xi1>, %[[F:[a-z0-9]+]]: tensor<1x1x1x4xf32>
// CHECK-DAG: %[[NEGINF:.+]] = arith.constant dense<0xFF800000> : tensor<f32>
// CHECK: %[[S1:.+]] = kiln.reshape %{{.+}} : tensor<1x2x1x4x4xf32> -> tensor<1x2x4x4xf32>
// CHECK: %[[SEL:.+]] = kiln.select %[[M]], %[[S1]], %[[NEGINF]] : (tensor<4x4xi1>, tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
// CHECK: kiln.reduce_max %[[SEL]]
// CHECK: %[[S2:.+]] = kiln.reshape %{{.+}} : tensor<1x2x1x4x4xf32> -> tensor<1x2x4x4xf32>
// CHECK: %[[ADD:.+]] = kiln.add %[[S2]], %[[F]] : (tensor<1x2x4x4xf32>, tensor<1x1x1x4xf32>) -> tensor<1x2x4x4xf32>
// CHECK: kiln.reduce_max %[[ADD]]
func.func @masks(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %m: tensor<4x4xi1>, %f: tensor<1x1x1x4xf32>)
    -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) {
  %o, %pk, %pv = kiln.attention %q, %k, %v mask %m {scale = 1.0 : f32}
      : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<4x4xi1>)
      -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>)
  %o2, %pk2, %pv2 = kiln.attention %q, %k, %v mask %f {scale = 1.0 : f32}
      : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x1x1x4xf32>)
      -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>)
  return %o, %o2 : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>
}

// -----

// f16: the KV cache is concatenated in f16 (the present outputs stay f16);
// query, keys, values and the float mask are cast to f32, the scores and
// softmax are f32 (the positional mask runs after the scores, with the
// cache length as the offset), and the output is cast back to f16.
// CHECK-LABEL: func @f16
// CHECK-SAME: (%[[Q:[a-z0-9]+]]: tensor<1x4x2x8xf16>, %[[K:[a-z0-9]+]]: tensor<1x2x2x8xf16>, %[[V:[a-z0-9]+]]: tensor<1x2x2x8xf16>, %[[PK:[a-z0-9]+]]: tensor<1x2x3x8xf16>, %[[PV:[a-z0-9]+]]: tensor<1x2x3x8xf16>, %[[M:[a-z0-9]+]]: tensor<1x1x2x5xf16>)
// CHECK-DAG: %[[NEGINF:.+]] = arith.constant dense<0xFF800000> : tensor<f32>
// CHECK-DAG: %[[SCALE:.+]] = arith.constant dense<5.000000e-01> : tensor<f32>
// CHECK: %[[KALL:.+]] = kiln.concat %[[PK]], %[[K]] {axis = 2 : i64} : (tensor<1x2x3x8xf16>, tensor<1x2x2x8xf16>) -> tensor<1x2x5x8xf16>
// CHECK: %[[VALL:.+]] = kiln.concat %[[PV]], %[[V]] {axis = 2 : i64} : (tensor<1x2x3x8xf16>, tensor<1x2x2x8xf16>) -> tensor<1x2x5x8xf16>
// CHECK: %[[Q32:.+]] = kiln.cast %[[Q]] : tensor<1x4x2x8xf16> -> tensor<1x4x2x8xf32>
// CHECK: kiln.reshape %[[Q32]] : tensor<1x4x2x8xf32> -> tensor<1x2x2x2x8xf32>
// CHECK: %[[K32:.+]] = kiln.cast %[[KALL]] : tensor<1x2x5x8xf16> -> tensor<1x2x5x8xf32>
// CHECK: kiln.transpose %[[K32]] {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x2x5x8xf32> -> tensor<1x2x8x5xf32>
// CHECK: kiln.matmul %{{.+}}, %{{.+}} : (tensor<1x2x2x2x8xf32>, tensor<1x2x1x8x5xf32>) -> tensor<1x2x2x2x5xf32>
// CHECK: kiln.mul %{{.+}}, %[[SCALE]] : (tensor<1x2x2x2x5xf32>, tensor<f32>) -> tensor<1x2x2x2x5xf32>
// CHECK: %[[S:.+]] = kiln.reshape %{{.+}} : tensor<1x2x2x2x5xf32> -> tensor<1x4x2x5xf32>
// CHECK: %[[PM:.+]] = kiln.attention_mask %[[S]] {mask_kind = #kiln.mask_kind<sliding_window>, query_offset = 3 : i64, window_left = 2 : i64} : tensor<1x4x2x5xf32>
// CHECK: %[[M32:.+]] = kiln.cast %[[M]] : tensor<1x1x2x5xf16> -> tensor<1x1x2x5xf32>
// CHECK: %[[ADD:.+]] = kiln.add %[[PM]], %[[M32]] : (tensor<1x4x2x5xf32>, tensor<1x1x2x5xf32>) -> tensor<1x4x2x5xf32>
// CHECK: kiln.reduce_max %[[ADD]] {axes = array<i64: 3>, keepdims = true} : tensor<1x4x2x5xf32> -> tensor<1x4x2x1xf32>
// CHECK: kiln.compare eq, %{{.+}}, %[[NEGINF]] : (tensor<1x4x2x1xf32>, tensor<f32>) -> tensor<1x4x2x1xi1>
// CHECK: %[[V32:.+]] = kiln.cast %[[VALL]] : tensor<1x2x5x8xf16> -> tensor<1x2x5x8xf32>
// CHECK: kiln.reshape %[[V32]] : tensor<1x2x5x8xf32> -> tensor<1x2x1x5x8xf32>
// CHECK: %[[O32:.+]] = kiln.reshape %{{.+}} : tensor<1x2x2x2x8xf32> -> tensor<1x4x2x8xf32>
// CHECK: %[[O:.+]] = kiln.cast %[[O32]] : tensor<1x4x2x8xf32> -> tensor<1x4x2x8xf16>
// CHECK: return %[[O]], %[[KALL]], %[[VALL]] : tensor<1x4x2x8xf16>, tensor<1x2x5x8xf16>, tensor<1x2x5x8xf16>
func.func @f16(%q: tensor<1x4x2x8xf16>, %k: tensor<1x2x2x8xf16>, %v: tensor<1x2x2x8xf16>, %pk: tensor<1x2x3x8xf16>, %pv: tensor<1x2x3x8xf16>, %m: tensor<1x1x2x5xf16>)
    -> (tensor<1x4x2x8xf16>, tensor<1x2x5x8xf16>, tensor<1x2x5x8xf16>) {
  %o, %a, %b = kiln.attention %q, %k, %v mask %m past %pk, %pv {scale = 0.5 : f32, mask_kind = #kiln.mask_kind<sliding_window>, window_left = 2 : i64}
      : (tensor<1x4x2x8xf16>, tensor<1x2x2x8xf16>, tensor<1x2x2x8xf16>, tensor<1x1x2x5xf16>, tensor<1x2x3x8xf16>, tensor<1x2x3x8xf16>)
      -> (tensor<1x4x2x8xf16>, tensor<1x2x5x8xf16>, tensor<1x2x5x8xf16>)
  return %o, %a, %b : tensor<1x4x2x8xf16>, tensor<1x2x5x8xf16>, tensor<1x2x5x8xf16>
}

// -----

// bf16 with a boolean mask: the mask is not cast, the scores are f32.
// CHECK-LABEL: func @bf16_bool_mask
// CHECK-SAME: %[[M:[a-z0-9]+]]: tensor<4x4xi1>
// CHECK: kiln.cast %{{.+}} : tensor<1x2x4x8xbf16> -> tensor<1x2x4x8xf32>
// CHECK-NOT: kiln.cast %[[M]]
// CHECK: kiln.select %[[M]], %{{.+}}, %{{.+}} : (tensor<4x4xi1>, tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
// CHECK: %[[O:.+]] = kiln.cast %{{.+}} : tensor<1x2x4x8xf32> -> tensor<1x2x4x8xbf16>
// CHECK: return %[[O]]
func.func @bf16_bool_mask(%q: tensor<1x2x4x8xbf16>, %k: tensor<1x2x4x8xbf16>, %v: tensor<1x2x4x8xbf16>, %m: tensor<4x4xi1>) -> tensor<1x2x4x8xbf16> {
  %o, %pk, %pv = kiln.attention %q, %k, %v mask %m {scale = 1.0 : f32}
      : (tensor<1x2x4x8xbf16>, tensor<1x2x4x8xbf16>, tensor<1x2x4x8xbf16>, tensor<4x4xi1>)
      -> (tensor<1x2x4x8xbf16>, tensor<1x2x4x8xbf16>, tensor<1x2x4x8xbf16>)
  return %o : tensor<1x2x4x8xbf16>
}

// -----

// rms_norm: mean(x^2) is sum * (1/64) (reduce_mean is decomposed too), no
// mean is subtracted and there is no bias.
// CHECK-LABEL: func @rms_norm
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<2x8x64xf32>, %[[G:[a-z0-9]+]]: tensor<64xf32>)
// CHECK-DAG: %[[EPS:.+]] = arith.constant dense<9.99999997E-7> : tensor<f32>
// CHECK-DAG: %[[N:.+]] = arith.constant dense<1.562500e-02> : tensor<f32>
// CHECK: %[[SQ:.+]] = kiln.mul %[[X]], %[[X]] : (tensor<2x8x64xf32>, tensor<2x8x64xf32>) -> tensor<2x8x64xf32>
// CHECK: %[[SUM:.+]] = kiln.reduce_sum %[[SQ]] {axes = array<i64: 2>, keepdims = true} : tensor<2x8x64xf32> -> tensor<2x8x1xf32>
// CHECK: %[[MS:.+]] = kiln.mul %[[SUM]], %[[N]] : (tensor<2x8x1xf32>, tensor<f32>) -> tensor<2x8x1xf32>
// CHECK: %[[ME:.+]] = kiln.add %[[MS]], %[[EPS]] : (tensor<2x8x1xf32>, tensor<f32>) -> tensor<2x8x1xf32>
// CHECK: %[[INV:.+]] = kiln.rsqrt %[[ME]] : tensor<2x8x1xf32>
// CHECK: %[[Y:.+]] = kiln.mul %[[X]], %[[INV]] : (tensor<2x8x64xf32>, tensor<2x8x1xf32>) -> tensor<2x8x64xf32>
// CHECK: %[[R:.+]] = kiln.mul %[[Y]], %[[G]] : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
// CHECK: return %[[R]]
// CHECK-NOT: kiln.rms_norm
// CHECK-NOT: kiln.reduce_mean
func.func @rms_norm(%x: tensor<2x8x64xf32>, %g: tensor<64xf32>) -> tensor<2x8x64xf32> {
  %0 = kiln.rms_norm %x, %g {axis = -1 : i64, epsilon = 1.0e-06 : f32} : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Over the last two axes: the sum runs over both, the count is 8 * 64.
// CHECK-LABEL: func @rms_norm_two_axes
// CHECK-DAG: arith.constant dense<0.001953125> : tensor<f32>
// CHECK: kiln.reduce_sum %{{.+}} {axes = array<i64: 1, 2>, keepdims = true} : tensor<2x8x64xf32> -> tensor<2x1x1xf32>
// CHECK: kiln.rsqrt %{{.+}} : tensor<2x1x1xf32>
// CHECK: kiln.mul %{{.+}}, %{{.+}} : (tensor<2x8x64xf32>, tensor<8x64xf32>) -> tensor<2x8x64xf32>
func.func @rms_norm_two_axes(%x: tensor<2x8x64xf32>, %g: tensor<8x64xf32>) -> tensor<2x8x64xf32> {
  %0 = kiln.rms_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-05 : f32} : (tensor<2x8x64xf32>, tensor<8x64xf32>) -> tensor<2x8x64xf32>
  return %0 : tensor<2x8x64xf32>
}
