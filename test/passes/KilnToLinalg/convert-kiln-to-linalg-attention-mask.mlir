// RUN: kiln-opt %s -kiln-convert-kiln-to-linalg -split-input-file | FileCheck %s

// kiln.attention_mask lowers to one elementwise linalg.generic that computes
// whether the pair (query i, key j) is allowed from linalg.index over the last
// two dimensions and selects between the input and -inf. No [queries, keys]
// mask tensor is built.

// causal: j <= p with p = i + query_offset.
// CHECK: #[[ID:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func @causal
// CHECK-SAME: (%[[S:[a-z0-9]+]]: tensor<1x2x4x6xf32>)
// CHECK-NOT: xi1>
// CHECK: %[[INIT:.+]] = tensor.empty() : tensor<1x2x4x6xf32>
// CHECK: %[[R:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[S]] : tensor<1x2x4x6xf32>) outs(%[[INIT]] : tensor<1x2x4x6xf32>)
// CHECK: ^bb0(%[[IN:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[I:.+]] = linalg.index 2 : index
// CHECK: %[[J:.+]] = linalg.index 3 : index
// CHECK: %[[OFF:.+]] = arith.constant 2 : index
// CHECK: %[[P:.+]] = arith.addi %[[I]], %[[OFF]] : index
// CHECK: %[[OK:.+]] = arith.cmpi sle, %[[J]], %[[P]] : index
// CHECK: %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK: %[[SEL:.+]] = arith.select %[[OK]], %[[IN]], %[[NEGINF]] : f32
// CHECK: linalg.yield %[[SEL]] : f32
// CHECK: return %[[R]]
// CHECK-NOT: linalg.generic
// CHECK-NOT: kiln.attention_mask
func.func @causal(%s: tensor<1x2x4x6xf32>) -> tensor<1x2x4x6xf32> {
  %0 = kiln.attention_mask %s {mask_kind = #kiln.mask_kind<causal>, query_offset = 2 : i64} : tensor<1x2x4x6xf32>
  return %0 : tensor<1x2x4x6xf32>
}

// -----

// none: every pair is kept.
// CHECK-LABEL: func @none
// CHECK: linalg.generic
// CHECK: ^bb0(%[[IN:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[TRUE:.+]] = arith.constant true
// CHECK: arith.select %[[TRUE]], %[[IN]], %{{.+}} : f32
// CHECK-NOT: linalg.generic
func.func @none(%s: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %0 = kiln.attention_mask %s : tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

// sliding_window: j <= p + right and j + left >= p; in f16 -inf is 0xFC00.
// CHECK-LABEL: func @sliding_window
// CHECK-NOT: xi1>
// CHECK: linalg.generic
// CHECK: ^bb0(%[[IN:.+]]: f16, %{{.+}}: f16):
// CHECK: %[[I:.+]] = linalg.index 1 : index
// CHECK: %[[J:.+]] = linalg.index 2 : index
// CHECK: %[[P:.+]] = arith.addi %[[I]], %{{.+}} : index
// CHECK: %[[R:.+]] = arith.constant 1 : index
// CHECK: %[[PR:.+]] = arith.addi %[[P]], %[[R]] : index
// CHECK: %[[RIGHT:.+]] = arith.cmpi sle, %[[J]], %[[PR]] : index
// CHECK: %[[OK1:.+]] = arith.andi %{{.+}}, %[[RIGHT]] : i1
// CHECK: %[[L:.+]] = arith.constant 2 : index
// CHECK: %[[JL:.+]] = arith.addi %[[J]], %[[L]] : index
// CHECK: %[[LEFT:.+]] = arith.cmpi sge, %[[JL]], %[[P]] : index
// CHECK: %[[OK:.+]] = arith.andi %[[OK1]], %[[LEFT]] : i1
// CHECK: %[[NEGINF:.+]] = arith.constant 0xFC00 : f16
// CHECK: arith.select %[[OK]], %[[IN]], %[[NEGINF]] : f16
// CHECK-NOT: linalg.generic
func.func @sliding_window(%s: tensor<2x4x6xf16>) -> tensor<2x4x6xf16> {
  %0 = kiln.attention_mask %s {mask_kind = #kiln.mask_kind<sliding_window>, window_left = 2 : i64, window_right = 1 : i64} : tensor<2x4x6xf16>
  return %0 : tensor<2x4x6xf16>
}

// -----

// A window unbounded on the left compares only on the right.
// CHECK-LABEL: func @sliding_window_right_only
// CHECK: linalg.generic
// CHECK: arith.cmpi sle
// CHECK-NOT: arith.cmpi sge
// CHECK: arith.select
func.func @sliding_window_right_only(%s: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %0 = kiln.attention_mask %s {mask_kind = #kiln.mask_kind<sliding_window>, window_right = 0 : i64} : tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

// hierarchical: the window, or a global key or query (position below
// num_global_tokens) as long as j <= p + right.
// CHECK-LABEL: func @hierarchical
// CHECK-NOT: xi1>
// CHECK: linalg.generic
// CHECK: ^bb0(%[[IN:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[I:.+]] = linalg.index 0 : index
// CHECK: %[[J:.+]] = linalg.index 1 : index
// CHECK: %[[P:.+]] = arith.addi %[[I]], %{{.+}} : index
// CHECK: %[[GQ:.+]] = arith.cmpi slt, %[[P]], %{{.+}} : index
// CHECK: %[[GK:.+]] = arith.cmpi slt, %[[J]], %{{.+}} : index
// CHECK: %[[G:.+]] = arith.ori %[[GK]], %[[GQ]] : i1
// CHECK: %[[CAUSALG:.+]] = arith.cmpi sle, %[[J]], %{{.+}} : index
// CHECK: %[[GOK:.+]] = arith.andi %[[G]], %[[CAUSALG]] : i1
// CHECK: arith.cmpi sle, %[[J]], %{{.+}} : index
// CHECK: arith.cmpi sge
// CHECK: %[[WOK:.+]] = arith.andi
// CHECK: %[[OK:.+]] = arith.ori %[[WOK]], %[[GOK]] : i1
// CHECK: %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK: arith.select %[[OK]], %[[IN]], %[[NEGINF]] : f32
// CHECK-NOT: tensor.extract
// CHECK-NOT: linalg.generic
func.func @hierarchical(%s: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %0 = kiln.attention_mask %s {mask_kind = #kiln.mask_kind<hierarchical>, num_global_tokens = 1 : i64, window_left = 1 : i64, window_right = 0 : i64, query_offset = 2 : i64} : tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

// block_sparse: the layout is an i1 constant of N x N = 2 x 2 entries (6
// keys in blocks of 4), read at [p / 4 * 2 + j / 4] with tensor.extract;
// queries past the last block row (p / 4 >= 2) see nothing.
// CHECK-LABEL: func @block_sparse
// CHECK: %[[LAYOUT:.+]] = arith.constant dense<[true, false, true, true]> : tensor<4xi1>
// CHECK: linalg.generic
// CHECK: ^bb0(%[[IN:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[I:.+]] = linalg.index 1 : index
// CHECK: %[[J:.+]] = linalg.index 2 : index
// CHECK: %[[P:.+]] = arith.addi %[[I]], %{{.+}} : index
// CHECK: %[[QB:.+]] = arith.divui %[[P]], %{{.+}} : index
// CHECK: %[[KB:.+]] = arith.divui %[[J]], %{{.+}} : index
// CHECK: %[[INSIDE:.+]] = arith.cmpi slt, %[[QB]], %{{.+}} : index
// CHECK: %[[SAFEQB:.+]] = arith.select %[[INSIDE]], %[[QB]], %{{.+}} : index
// CHECK: %[[ROW:.+]] = arith.muli %[[SAFEQB]], %{{.+}} : index
// CHECK: %[[AT:.+]] = arith.addi %[[ROW]], %[[KB]] : index
// CHECK: %[[BIT:.+]] = tensor.extract %[[LAYOUT]][%[[AT]]] : tensor<4xi1>
// CHECK: %[[OK:.+]] = arith.andi %[[INSIDE]], %[[BIT]] : i1
// CHECK: %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK: arith.select %[[OK]], %[[IN]], %[[NEGINF]] : f32
// CHECK-NOT: linalg.generic
func.func @block_sparse(%s: tensor<1x4x6xf32>) -> tensor<1x4x6xf32> {
  %0 = kiln.attention_mask %s {mask_kind = #kiln.mask_kind<block_sparse>, block_size = 4 : i64, block_layout = array<i1: true, false, true, true>, query_offset = 2 : i64} : tensor<1x4x6xf32>
  return %0 : tensor<1x4x6xf32>
}
