// RUN: kiln-opt %s -kiln-convert-kiln-to-linalg -split-input-file | FileCheck %s

// A paged cache update lowers to one loop over batch x seq carrying the
// pool: position s of sequence b (p = positions[b] + s) reads its block id
// from the table at column p / 4 and inserts a [1, H, n, D] slice at slot
// p mod 4 of that block, where n is 1, or 0 when p is outside the table's
// 3 x 4 positions or the id is outside the pool's 10 blocks (clamped to 0
// so the slice stays in bounds).
// CHECK-LABEL: func @paged_update
// CHECK-SAME: (%[[POOL:[a-z0-9]+]]: tensor<10x2x4x8xf32>, %[[U:[a-z0-9]+]]: tensor<?x2x?x8xf32>, %[[T:[a-z0-9]+]]: tensor<?x3xi64>, %[[P:[a-z0-9]+]]: tensor<?xi64>)
// CHECK: %[[R:.+]] = scf.for %[[I:[a-z0-9]+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[ACC:[a-z0-9]+]] = %[[POOL]]) -> (tensor<10x2x4x8xf32>) {
// CHECK:   %[[B:.+]] = arith.divui %[[I]]
// CHECK:   %[[S:.+]] = arith.remui %[[I]]
// CHECK:   tensor.extract %[[P]][%[[B]]] : tensor<?xi64>
// CHECK:   %[[COL:.+]] = arith.divui %{{.+}}, %c4
// CHECK:   %[[SLOT:.+]] = arith.remui %{{.+}}, %c4
// CHECK:   %[[ID:.+]] = tensor.extract %[[T]][%[[B]], %[[COL]]] : tensor<?x3xi64>
// CHECK:   %[[VALID:.+]] = arith.andi
// CHECK:   %[[N:.+]] = arith.select %{{.+}}, %c1{{.*}}, %c0{{.*}} : index
// CHECK:   %[[PIECE:.+]] = tensor.extract_slice %[[U]][%[[B]], 0, %[[S]], 0] [1, 2, %[[N]], 8] [1, 1, 1, 1]
// CHECK:   %[[NEXT:.+]] = tensor.insert_slice %[[PIECE]] into %[[ACC]][%{{.+}}, 0, %[[SLOT]], 0] [1, 2, %[[N]], 8] [1, 1, 1, 1]
// CHECK:   scf.yield %[[NEXT]]
// CHECK: return %[[R]]
func.func @paged_update(%pool: tensor<10x2x4x8xf32>, %u: tensor<?x2x?x8xf32>, %t: tensor<?x3xi64>, %p: tensor<?xi64>) -> tensor<10x2x4x8xf32> {
  %0 = kiln.paged_kv_cache_update %pool, %u, %t, %p : (tensor<10x2x4x8xf32>, tensor<?x2x?x8xf32>, tensor<?x3xi64>, tensor<?xi64>) -> tensor<10x2x4x8xf32>
  return %0 : tensor<10x2x4x8xf32>
}

// -----

// The view is one elementwise generic over [B, H, 3 * 4, D]: element
// (b, h, j, d) reads table[b, j / 4] and, when that names a pool block,
// pool[id, h, j mod 4, d]; zero otherwise.
// CHECK-LABEL: func @paged_gather
// CHECK-SAME: (%[[POOL:[a-z0-9]+]]: tensor<10x2x4x8xf32>, %[[T:[a-z0-9]+]]: tensor<?x3xi64>)
// CHECK: %[[B:.+]] = tensor.dim %[[T]], %c0
// CHECK: %[[INIT:.+]] = tensor.empty(%[[B]]) : tensor<?x2x12x8xf32>
// CHECK: %[[R:.+]] = linalg.generic {{.*}} outs(%[[INIT]] : tensor<?x2x12x8xf32>)
// CHECK:   %[[BI:.+]] = linalg.index 0
// CHECK:   %[[J:.+]] = linalg.index 2
// CHECK:   %[[COL:.+]] = arith.divui %[[J]], %c4
// CHECK:   %[[SLOT:.+]] = arith.remui %[[J]], %c4
// CHECK:   tensor.extract %[[T]][%[[BI]], %[[COL]]] : tensor<?x3xi64>
// CHECK:   %[[X:.+]] = tensor.extract %[[POOL]][%{{.+}}, %{{.+}}, %[[SLOT]], %{{.+}}] : tensor<10x2x4x8xf32>
// CHECK:   %[[Y:.+]] = arith.select %{{.+}}, %[[X]], %{{.+}} : f32
// CHECK:   linalg.yield %[[Y]]
// CHECK: return %[[R]]
func.func @paged_gather(%pool: tensor<10x2x4x8xf32>, %t: tensor<?x3xi64>) -> tensor<?x2x12x8xf32> {
  %0 = kiln.paged_kv_gather %pool, %t : (tensor<10x2x4x8xf32>, tensor<?x3xi64>) -> tensor<?x2x12x8xf32>
  return %0 : tensor<?x2x12x8xf32>
}
