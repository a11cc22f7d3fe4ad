// RUN: kiln-opt %s -kiln-convert-kiln-to-linalg -split-input-file | FileCheck %s

// kiln.attention_mask with kv_seqlen: inside the same elementwise generic,
// the batch index (dimension 0) reads its length and key j is kept only when
// j < kv_seqlen[b], on top of what the kind allows. No [B, L] mask is built.

// CHECK: #[[ID:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func @causal_kv_seqlen
// CHECK-SAME: (%[[S:[a-z0-9]+]]: tensor<2x3x4x6xf32>, %[[L:[a-z0-9]+]]: tensor<2xi64>)
// CHECK-NOT: xi1>
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[S]] : tensor<2x3x4x6xf32>)
// CHECK: ^bb0(%[[IN:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[I:.+]] = linalg.index 2 : index
// CHECK: %[[J:.+]] = linalg.index 3 : index
// CHECK: %[[P:.+]] = arith.addi %[[I]], %{{.+}} : index
// CHECK: %[[CAUSAL:.+]] = arith.cmpi sle, %[[J]], %[[P]] : index
// CHECK: %[[B:.+]] = linalg.index 0 : index
// CHECK: %[[LEN:.+]] = tensor.extract %[[L]][%[[B]]] : tensor<2xi64>
// CHECK: %[[LENI:.+]] = arith.index_cast %[[LEN]] : i64 to index
// CHECK: %[[VALID:.+]] = arith.cmpi slt, %[[J]], %[[LENI]] : index
// CHECK: %[[OK:.+]] = arith.andi %[[CAUSAL]], %[[VALID]] : i1
// CHECK: %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK: arith.select %[[OK]], %[[IN]], %[[NEGINF]] : f32
// CHECK-NOT: linalg.generic
// CHECK-NOT: kiln.attention_mask
func.func @causal_kv_seqlen(%s: tensor<2x3x4x6xf32>, %l: tensor<2xi64>) -> tensor<2x3x4x6xf32> {
  %0 = kiln.attention_mask %s kv_seqlen %l : tensor<2xi64> {mask_kind = #kiln.mask_kind<causal>, query_offset = 2 : i64} : tensor<2x3x4x6xf32>
  return %0 : tensor<2x3x4x6xf32>
}

// -----

// Kind none with i32 lengths over a rank-3 input.
// CHECK-LABEL: func @none_kv_seqlen_i32
// CHECK-SAME: %[[L:[a-z0-9]+]]: tensor<2xi32>
// CHECK: ^bb0(%[[IN:.+]]: f16, %{{.+}}: f16):
// CHECK: %[[J:.+]] = linalg.index 2 : index
// CHECK: %[[B:.+]] = linalg.index 0 : index
// CHECK: %[[LEN:.+]] = tensor.extract %[[L]][%[[B]]] : tensor<2xi32>
// CHECK: %[[LENI:.+]] = arith.index_cast %[[LEN]] : i32 to index
// CHECK: arith.cmpi slt, %[[J]], %[[LENI]] : index
// CHECK: arith.select %{{.+}}, %[[IN]], %{{.+}} : f16
func.func @none_kv_seqlen_i32(%s: tensor<2x4x6xf16>, %l: tensor<2xi32>) -> tensor<2x4x6xf16> {
  %0 = kiln.attention_mask %s kv_seqlen %l : tensor<2xi32> : tensor<2x4x6xf16>
  return %0 : tensor<2x4x6xf16>
}
