// RUN: kiln-opt %s -kiln-convert-kiln-to-linalg -split-input-file | FileCheck %s

// kiln.rope lowers to one elementwise linalg.generic over the input. Each
// element finds its pair index and its partner feature from linalg.index 3,
// reads the partner from the input and cos/sin from the caches with
// tensor.extract, and selects c*x1 - s*x2 (first of the pair) or
// s*x1 + c*x2 (second). Features past rotary_dim pass through.

// Half rotation over all 8 features, caches [S, 4]: pair k is features
// (k, k + 4); the caches are read at (s, pair).
// CHECK: #[[ID:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func @half
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<1x2x3x8xf32>, %[[C:[a-z0-9]+]]: tensor<3x4xf32>, %[[S:[a-z0-9]+]]: tensor<3x4xf32>)
// CHECK: %[[INIT:.+]] = tensor.empty() : tensor<1x2x3x8xf32>
// CHECK: %[[R:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[X]] : tensor<1x2x3x8xf32>) outs(%[[INIT]] : tensor<1x2x3x8xf32>)
// CHECK: ^bb0(%[[IN:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[B:.+]] = linalg.index 0 : index
// CHECK: %[[H:.+]] = linalg.index 1 : index
// CHECK: %[[SEQ:.+]] = linalg.index 2 : index
// CHECK: %[[D:.+]] = linalg.index 3 : index
// CHECK: %[[C8:.+]] = arith.constant 8 : index
// CHECK: %[[ROT:.+]] = arith.cmpi ult, %[[D]], %[[C8]] : index
// CHECK: %[[DR:.+]] = arith.select %[[ROT]], %[[D]], %{{.+}} : index
// CHECK: %[[FIRST:.+]] = arith.cmpi ult, %[[DR]], %{{.+}} : index
// CHECK: %[[DOWN:.+]] = arith.subi %[[DR]], %{{.+}} : index
// CHECK: %[[PAIR:.+]] = arith.select %[[FIRST]], %[[DR]], %[[DOWN]] : index
// CHECK-DAG: %[[DOWN2:.+]] = arith.subi %[[DR]], %{{.+}} : index
// CHECK-DAG: %[[UP:.+]] = arith.addi %[[DR]], %{{.+}} : index
// CHECK: %[[PARTNER:.+]] = arith.select %[[FIRST]], %[[UP]], %[[DOWN2]] : index
// CHECK-NOT: linalg.index
// CHECK: %[[COS:.+]] = tensor.extract %[[C]][%[[SEQ]], %[[PAIR]]] : tensor<3x4xf32>
// CHECK: %[[SIN:.+]] = tensor.extract %[[S]][%[[SEQ]], %[[PAIR]]] : tensor<3x4xf32>
// CHECK: %[[OTHER:.+]] = tensor.extract %[[X]][%[[B]], %[[H]], %[[SEQ]], %[[PARTNER]]] : tensor<1x2x3x8xf32>
// CHECK: %[[CX:.+]] = arith.mulf %[[COS]], %[[IN]] : f32
// CHECK: %[[SX:.+]] = arith.mulf %[[SIN]], %[[OTHER]] : f32
// CHECK-DAG: %[[SECOND:.+]] = arith.addf %[[SX]], %[[CX]] : f32
// CHECK-DAG: %[[FIRSTV:.+]] = arith.subf %[[CX]], %[[SX]] : f32
// CHECK: %[[ROTATED:.+]] = arith.select %[[FIRST]], %[[FIRSTV]], %[[SECOND]] : f32
// CHECK: %[[OUT:.+]] = arith.select %[[ROT]], %[[ROTATED]], %[[IN]] : f32
// CHECK: linalg.yield %[[OUT]] : f32
// CHECK: return %[[R]]
// CHECK-NOT: linalg.generic
// CHECK-NOT: kiln.rope
func.func @half(%x: tensor<1x2x3x8xf32>, %c: tensor<3x4xf32>, %s: tensor<3x4xf32>) -> tensor<1x2x3x8xf32> {
  %0 = kiln.rope %x, %c, %s : (tensor<1x2x3x8xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<1x2x3x8xf32>
  return %0 : tensor<1x2x3x8xf32>
}

// -----

// The half is rotary_dim / 2 = 2 with rotary_dim = 4: features 4..7 pass
// through.
// CHECK-LABEL: func @half_partial
// CHECK: linalg.generic
// CHECK: %[[D:.+]] = linalg.index 3 : index
// CHECK: %[[C4:.+]] = arith.constant 4 : index
// CHECK: %[[ROT:.+]] = arith.cmpi ult, %[[D]], %[[C4]] : index
// CHECK: %[[DR:.+]] = arith.select %[[ROT]], %[[D]], %{{.+}} : index
// CHECK: %[[C2:.+]] = arith.constant 2 : index
// CHECK: %[[FIRST:.+]] = arith.cmpi ult, %[[DR]], %[[C2]] : index
// CHECK: tensor.extract %{{.+}}[%{{.+}}, %{{.+}}] : tensor<3x2xf32>
// CHECK: tensor.extract %{{.+}}[%{{.+}}, %{{.+}}] : tensor<3x2xf32>
// CHECK: tensor.extract %{{.+}}[%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}] : tensor<1x2x3x8xf32>
// CHECK: arith.select %[[ROT]], %{{.+}}, %{{.+}} : f32
// CHECK-NOT: linalg.generic
func.func @half_partial(%x: tensor<1x2x3x8xf32>, %c: tensor<3x2xf32>, %s: tensor<3x2xf32>) -> tensor<1x2x3x8xf32> {
  %0 = kiln.rope %x, %c, %s {rotary_dim = 4 : i64} : (tensor<1x2x3x8xf32>, tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<1x2x3x8xf32>
  return %0 : tensor<1x2x3x8xf32>
}

// -----

// Interleaved over rotary_dim = 4 with caches [B, S, 2]: pair k is features
// (2k, 2k + 1), so the pair index is d / 2, the first of a pair is the even
// feature and the partner is d + 1 or d - 1; the caches are read at
// (b, s, pair).
// CHECK-LABEL: func @interleaved
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<2x2x3x8xf16>, %[[C:[a-z0-9]+]]: tensor<2x3x2xf16>, %[[S:[a-z0-9]+]]: tensor<2x3x2xf16>)
// CHECK: linalg.generic {{.+}} ins(%[[X]] : tensor<2x2x3x8xf16>)
// CHECK: ^bb0(%[[IN:.+]]: f16, %{{.+}}: f16):
// CHECK: %[[B:.+]] = linalg.index 0 : index
// CHECK: %[[H:.+]] = linalg.index 1 : index
// CHECK: %[[SEQ:.+]] = linalg.index 2 : index
// CHECK: %[[D:.+]] = linalg.index 3 : index
// CHECK: %[[C4:.+]] = arith.constant 4 : index
// CHECK: %[[ROT:.+]] = arith.cmpi ult, %[[D]], %[[C4]] : index
// CHECK: %[[DR:.+]] = arith.select %[[ROT]], %[[D]], %{{.+}} : index
// CHECK: %[[PAIR:.+]] = arith.divui %[[DR]], %{{.+}} : index
// CHECK: %[[ODD:.+]] = arith.remui %[[DR]], %{{.+}} : index
// CHECK: %[[FIRST:.+]] = arith.cmpi eq, %[[ODD]], %{{.+}} : index
// CHECK-DAG: %[[DOWN:.+]] = arith.subi %[[DR]], %{{.+}} : index
// CHECK-DAG: %[[UP:.+]] = arith.addi %[[DR]], %{{.+}} : index
// CHECK: %[[PARTNER:.+]] = arith.select %[[FIRST]], %[[UP]], %[[DOWN]] : index
// CHECK: %[[COS:.+]] = tensor.extract %[[C]][%[[B]], %[[SEQ]], %[[PAIR]]] : tensor<2x3x2xf16>
// CHECK: %[[SIN:.+]] = tensor.extract %[[S]][%[[B]], %[[SEQ]], %[[PAIR]]] : tensor<2x3x2xf16>
// CHECK: %[[OTHER:.+]] = tensor.extract %[[X]][%[[B]], %[[H]], %[[SEQ]], %[[PARTNER]]] : tensor<2x2x3x8xf16>
// CHECK: %[[CX:.+]] = arith.mulf %[[COS]], %[[IN]] : f16
// CHECK: %[[SX:.+]] = arith.mulf %[[SIN]], %[[OTHER]] : f16
// CHECK-DAG: %[[SECOND:.+]] = arith.addf %[[SX]], %[[CX]] : f16
// CHECK-DAG: %[[FIRSTV:.+]] = arith.subf %[[CX]], %[[SX]] : f16
// CHECK: %[[ROTATED:.+]] = arith.select %[[FIRST]], %[[FIRSTV]], %[[SECOND]] : f16
// CHECK: arith.select %[[ROT]], %[[ROTATED]], %[[IN]] : f16
// CHECK-NOT: linalg.generic
func.func @interleaved(%x: tensor<2x2x3x8xf16>, %c: tensor<2x3x2xf16>, %s: tensor<2x3x2xf16>) -> tensor<2x2x3x8xf16> {
  %0 = kiln.rope %x, %c, %s {interleaved = true, rotary_dim = 4 : i64} : (tensor<2x2x3x8xf16>, tensor<2x3x2xf16>, tensor<2x3x2xf16>) -> tensor<2x2x3x8xf16>
  return %0 : tensor<2x2x3x8xf16>
}

// -----

// With positions, the position is read first, at (b, s), and the caches
// are tables read at (position, pair).
// CHECK-LABEL: func @positions
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<1x2x3x8xf32>, %[[C:[a-z0-9]+]]: tensor<16x4xf32>, %[[S:[a-z0-9]+]]: tensor<16x4xf32>, %[[P:[a-z0-9]+]]: tensor<1x3xi64>)
// CHECK: linalg.generic {{.+}} ins(%[[X]] : tensor<1x2x3x8xf32>)
// CHECK: ^bb0(%[[IN:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[B:.+]] = linalg.index 0 : index
// CHECK: %[[H:.+]] = linalg.index 1 : index
// CHECK: %[[SEQ:.+]] = linalg.index 2 : index
// CHECK: %[[D:.+]] = linalg.index 3 : index
// CHECK: %[[ROT:.+]] = arith.cmpi ult, %[[D]], %{{.+}} : index
// CHECK: %[[DR:.+]] = arith.select %[[ROT]], %[[D]], %{{.+}} : index
// CHECK: %[[FIRST:.+]] = arith.cmpi ult, %[[DR]], %{{.+}} : index
// CHECK: %[[PAIR:.+]] = arith.select %[[FIRST]], %{{.+}}, %{{.+}} : index
// CHECK: %[[PARTNER:.+]] = arith.select %[[FIRST]], %{{.+}}, %{{.+}} : index
// CHECK-NOT: tensor.extract
// CHECK: %[[POS:.+]] = tensor.extract %[[P]][%[[B]], %[[SEQ]]] : tensor<1x3xi64>
// CHECK: %[[POSR:.+]] = arith.index_cast %[[POS]] : i64 to index
// A position past the 16-entry table clamps into it.
// CHECK: %[[POSL:.+]] = arith.maxsi %[[POSR]], %{{.+}} : index
// CHECK: %[[POSI:.+]] = arith.minsi %[[POSL]], %{{.+}} : index
// CHECK: %[[COS:.+]] = tensor.extract %[[C]][%[[POSI]], %[[PAIR]]] : tensor<16x4xf32>
// CHECK: %[[SIN:.+]] = tensor.extract %[[S]][%[[POSI]], %[[PAIR]]] : tensor<16x4xf32>
// CHECK: %[[OTHER:.+]] = tensor.extract %[[X]][%[[B]], %[[H]], %[[SEQ]], %[[PARTNER]]] : tensor<1x2x3x8xf32>
// CHECK: arith.mulf %[[COS]], %[[IN]] : f32
// CHECK: arith.mulf %[[SIN]], %[[OTHER]] : f32
// CHECK-NOT: linalg.generic
func.func @positions(%x: tensor<1x2x3x8xf32>, %c: tensor<16x4xf32>, %s: tensor<16x4xf32>, %p: tensor<1x3xi64>) -> tensor<1x2x3x8xf32> {
  %0 = kiln.rope %x, %c, %s positions %p : (tensor<1x2x3x8xf32>, tensor<16x4xf32>, tensor<16x4xf32>, tensor<1x3xi64>) -> tensor<1x2x3x8xf32>
  return %0 : tensor<1x2x3x8xf32>
}

// -----

// Interleaved with i32 positions.
// CHECK-LABEL: func @positions_interleaved
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<2x1x3x4xf32>, %[[C:[a-z0-9]+]]: tensor<8x2xf32>, %[[S:[a-z0-9]+]]: tensor<8x2xf32>, %[[P:[a-z0-9]+]]: tensor<2x3xi32>)
// CHECK: %[[B:.+]] = linalg.index 0 : index
// CHECK: %[[SEQ:.+]] = linalg.index 2 : index
// CHECK: %[[PAIR:.+]] = arith.divui
// CHECK: %[[POS:.+]] = tensor.extract %[[P]][%[[B]], %[[SEQ]]] : tensor<2x3xi32>
// CHECK: %[[POSR:.+]] = arith.index_cast %[[POS]] : i32 to index
// CHECK: %[[POSL:.+]] = arith.maxsi %[[POSR]]
// CHECK: %[[POSI:.+]] = arith.minsi %[[POSL]]
// CHECK: tensor.extract %[[C]][%[[POSI]], %[[PAIR]]] : tensor<8x2xf32>
// CHECK: tensor.extract %[[S]][%[[POSI]], %[[PAIR]]] : tensor<8x2xf32>
func.func @positions_interleaved(%x: tensor<2x1x3x4xf32>, %c: tensor<8x2xf32>, %s: tensor<8x2xf32>, %p: tensor<2x3xi32>) -> tensor<2x1x3x4xf32> {
  %0 = kiln.rope %x, %c, %s positions %p {interleaved = true} : (tensor<2x1x3x4xf32>, tensor<8x2xf32>, tensor<8x2xf32>, tensor<2x3xi32>) -> tensor<2x1x3x4xf32>
  return %0 : tensor<2x1x3x4xf32>
}
