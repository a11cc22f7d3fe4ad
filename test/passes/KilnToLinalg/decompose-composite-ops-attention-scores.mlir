// RUN: kiln-opt %s -kiln-decompose-composite-ops -split-input-file | FileCheck %s

// kiln-decompose-composite-ops and kiln.attention's kv_seqlen operand and scores result:
// kv_seqlen joins the positional mask (kiln.attention_mask), and the scores
// result is the intermediate [B, Hq, S, L] value its score_stage names.

// scaled: the scores right after the scale, reshaped from [B, Hkv, G, S, L]
// to [B, Hq, S, L] before the softcap.
// CHECK-LABEL: func @scaled
// CHECK-DAG: %[[SCALE:.+]] = arith.constant dense<5.000000e-01> : tensor<f32>
// CHECK: %[[QK:.+]] = kiln.matmul %{{.+}}, %{{.+}} : (tensor<1x2x2x2x8xf32>, tensor<1x2x1x8x3xf32>) -> tensor<1x2x2x2x3xf32>
// CHECK: %[[SC:.+]] = kiln.mul %[[QK]], %[[SCALE]] : (tensor<1x2x2x2x3xf32>, tensor<f32>) -> tensor<1x2x2x2x3xf32>
// CHECK: %[[S:.+]] = kiln.reshape %[[SC]] : tensor<1x2x2x2x3xf32> -> tensor<1x4x2x3xf32>
// CHECK: return %{{.+}}, %[[S]] :
func.func @scaled(%q: tensor<1x4x2x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>, %m: tensor<2x3xi1>)
    -> (tensor<1x4x2x8xf32>, tensor<1x4x2x3xf32>) {
  %o, %pk, %pv, %s = kiln.attention %q, %k, %v mask %m {scale = 0.5 : f32, softcap = 4.0 : f32, score_stage = #kiln.score_stage<scaled>}
      : (tensor<1x4x2x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<2x3xi1>)
      -> (tensor<1x4x2x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x4x2x3xf32>)
  return %o, %s : tensor<1x4x2x8xf32>, tensor<1x4x2x3xf32>
}

// -----

// softcapped: after cap * tanh(scores / cap), before the mask; the same
// value feeds the rest of the attention.
// CHECK-LABEL: func @softcapped
// CHECK-DAG: %[[CAP:.+]] = arith.constant dense<4.000000e+00> : tensor<f32>
// CHECK: %[[T:.+]] = kiln.tanh %{{.+}} : tensor<1x2x2x2x3xf32>
// CHECK: %[[C:.+]] = kiln.mul %[[T]], %[[CAP]] : (tensor<1x2x2x2x3xf32>, tensor<f32>) -> tensor<1x2x2x2x3xf32>
// CHECK: %[[S:.+]] = kiln.reshape %[[C]] : tensor<1x2x2x2x3xf32> -> tensor<1x4x2x3xf32>
// CHECK: kiln.select %{{.+}}, %[[S]], %{{.+}} : (tensor<2x3xi1>, tensor<1x4x2x3xf32>, tensor<f32>) -> tensor<1x4x2x3xf32>
// CHECK: return %{{.+}}, %[[S]] :
func.func @softcapped(%q: tensor<1x4x2x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>, %m: tensor<2x3xi1>)
    -> (tensor<1x4x2x8xf32>, tensor<1x4x2x3xf32>) {
  %o, %pk, %pv, %s = kiln.attention %q, %k, %v mask %m {scale = 0.5 : f32, softcap = 4.0 : f32, score_stage = #kiln.score_stage<softcapped>}
      : (tensor<1x4x2x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<2x3xi1>)
      -> (tensor<1x4x2x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x4x2x3xf32>)
  return %o, %s : tensor<1x4x2x8xf32>, tensor<1x4x2x3xf32>
}

// -----

// masked: after the mask kind, kv_seqlen (both in one kiln.attention_mask,
// query_offset = P) and the float mask; this is what the softmax reads.
// CHECK-LABEL: func @masked_kv_seqlen
// CHECK-SAME: %[[F:[a-z0-9]+]]: tensor<1x1x2x5xf32>, %[[L:[a-z0-9]+]]: tensor<2xi64>
// CHECK: %[[S0:.+]] = kiln.reshape %{{.+}} : tensor<2x2x2x2x5xf32> -> tensor<2x4x2x5xf32>
// CHECK: %[[PM:.+]] = kiln.attention_mask %[[S0]] kv_seqlen %[[L]] : tensor<2xi64> {mask_kind = #kiln.mask_kind<causal>, query_offset = 3 : i64} : tensor<2x4x2x5xf32>
// CHECK: %[[S:.+]] = kiln.add %[[PM]], %[[F]] : (tensor<2x4x2x5xf32>, tensor<1x1x2x5xf32>) -> tensor<2x4x2x5xf32>
// CHECK: kiln.reduce_max %[[S]] {axes = array<i64: 3>, keepdims = true}
// CHECK: return %{{.+}}, %[[S]] :
func.func @masked_kv_seqlen(%q: tensor<2x4x2x8xf32>, %k: tensor<2x2x2x8xf32>, %v: tensor<2x2x2x8xf32>,
                            %pk: tensor<2x2x3x8xf32>, %pv: tensor<2x2x3x8xf32>, %f: tensor<1x1x2x5xf32>, %l: tensor<2xi64>)
    -> (tensor<2x4x2x8xf32>, tensor<2x4x2x5xf32>) {
  %o, %a, %b, %s = kiln.attention %q, %k, %v mask %f past %pk, %pv kv_seqlen %l
      {scale = 0.5 : f32, mask_kind = #kiln.mask_kind<causal>, score_stage = #kiln.score_stage<masked>}
      : (tensor<2x4x2x8xf32>, tensor<2x2x2x8xf32>, tensor<2x2x2x8xf32>, tensor<1x1x2x5xf32>, tensor<2x2x3x8xf32>, tensor<2x2x3x8xf32>, tensor<2xi64>)
      -> (tensor<2x4x2x8xf32>, tensor<2x2x5x8xf32>, tensor<2x2x5x8xf32>, tensor<2x4x2x5xf32>)
  return %o, %s : tensor<2x4x2x8xf32>, tensor<2x4x2x5xf32>
}

// -----

// kv_seqlen alone still goes through kiln.attention_mask (kind none).
// CHECK-LABEL: func @kv_seqlen_only
// CHECK-SAME: %[[L:[a-z0-9]+]]: tensor<2xi32>
// CHECK: kiln.attention_mask %{{.+}} kv_seqlen %[[L]] : tensor<2xi32> : tensor<2x2x1x6xf32>
func.func @kv_seqlen_only(%q: tensor<2x2x1x8xf32>, %k: tensor<2x2x6x8xf32>, %v: tensor<2x2x6x8xf32>, %l: tensor<2xi32>)
    -> tensor<2x2x1x8xf32> {
  %o, %a, %b = kiln.attention %q, %k, %v kv_seqlen %l {scale = 0.5 : f32}
      : (tensor<2x2x1x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2xi32>)
      -> (tensor<2x2x1x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>)
  return %o : tensor<2x2x1x8xf32>
}

// -----

// probs: the safe softmax (zero rows where nothing is left), the same value
// the output matmul reads. In f16 the scores are computed in f32 and the
// result is cast back like the output.
// CHECK-LABEL: func @probs_f16
// CHECK: %[[P:.+]] = kiln.select %{{.+}}, %{{.+}}, %{{.+}} : (tensor<1x2x2x1xi1>, tensor<1x2x2x3xf32>, tensor<f32>) -> tensor<1x2x2x3xf32>
// CHECK: %[[PG:.+]] = kiln.reshape %[[P]] : tensor<1x2x2x3xf32> -> tensor<1x2x1x2x3xf32>
// CHECK: %[[O:.+]] = kiln.cast %{{.+}} : tensor<1x2x2x8xf32> -> tensor<1x2x2x8xf16>
// CHECK: %[[S:.+]] = kiln.cast %[[P]] : tensor<1x2x2x3xf32> -> tensor<1x2x2x3xf16>
// CHECK: return %[[O]], %[[S]] :
func.func @probs_f16(%q: tensor<1x2x2x8xf16>, %k: tensor<1x2x3x8xf16>, %v: tensor<1x2x3x8xf16>)
    -> (tensor<1x2x2x8xf16>, tensor<1x2x2x3xf16>) {
  %o, %pk, %pv, %s = kiln.attention %q, %k, %v {scale = 0.5 : f32, score_stage = #kiln.score_stage<probs>}
      : (tensor<1x2x2x8xf16>, tensor<1x2x3x8xf16>, tensor<1x2x3x8xf16>)
      -> (tensor<1x2x2x8xf16>, tensor<1x2x3x8xf16>, tensor<1x2x3x8xf16>, tensor<1x2x2x3xf16>)
  return %o, %s : tensor<1x2x2x8xf16>, tensor<1x2x2x3xf16>
}
