// RUN: kiln-opt %s -split-input-file -kiln-cpu-convert-attention-to-tiled-loops="query-block=4 key-block=4" -cse | FileCheck %s

// A generation step's decode over a paged cache (pools of 10 blocks of 8
// positions, 3 table entries per sequence): the kernel reads each key
// block of 4 through the block table, table[b, first / 8] clamped into the
// pool, at slot first mod 8, so the sequences' contiguous view
// (kiln.paged_kv_gather) is never built.
// CHECK-LABEL: func.func @paged_decode
// CHECK-SAME: (%[[Q:[a-z0-9]+]]: tensor<?x4x1x8xf32>, %[[KP:[a-z0-9]+]]: tensor<10x2x8x8xf32>, %[[VP:[a-z0-9]+]]: tensor<10x2x8x8xf32>, %[[T:[a-z0-9]+]]: tensor<?x3xi64>, %[[LEN:[a-z0-9]+]]: tensor<?xi64>, %[[START:[a-z0-9]+]]: tensor<?xi64>)
// CHECK-NOT: kiln.paged_kv_gather
// CHECK: scf.for
// CHECK:   %[[FIRST:.+]] = arith.muli %{{.+}}, %c4
// CHECK:   %[[COL:.+]] = arith.divui %[[FIRST]], %c8
// CHECK:   %[[SLOT:.+]] = arith.remui %[[FIRST]], %c8
// CHECK:   %[[ID:.+]] = tensor.extract %[[T]][%{{.+}}, %[[COL]]] : tensor<?x3xi64>
// CHECK:   %[[IDX:.+]] = arith.index_cast %[[ID]] : i64 to index
// CHECK:   %[[LOW:.+]] = arith.minsi %[[IDX]], %c9
// CHECK:   %[[BLOCK:.+]] = arith.maxsi %[[LOW]], %c0
// CHECK:   tensor.extract_slice %[[KP]][%[[BLOCK]], %{{.+}}, %[[SLOT]], 0] [1, 1, 4, 8] [1, 1, 1, 1] : tensor<10x2x8x8xf32> to tensor<4x8xf32>
// CHECK:   tensor.extract_slice %[[VP]][%[[BLOCK]], %{{.+}}, %[[SLOT]], 0] [1, 1, 4, 8] [1, 1, 1, 1] : tensor<10x2x8x8xf32> to tensor<4x8xf32>
// CHECK-NOT: kiln.attention
// CHECK-NOT: kiln.paged_kv_gather
func.func @paged_decode(%q: tensor<?x4x1x8xf32>, %kp: tensor<10x2x8x8xf32>, %vp: tensor<10x2x8x8xf32>, %t: tensor<?x3xi64>, %len: tensor<?xi64>, %start: tensor<?xi64>) -> tensor<?x4x1x8xf32> {
  %k = kiln.paged_kv_gather %kp, %t : (tensor<10x2x8x8xf32>, tensor<?x3xi64>) -> tensor<?x2x24x8xf32>
  %v = kiln.paged_kv_gather %vp, %t : (tensor<10x2x8x8xf32>, tensor<?x3xi64>) -> tensor<?x2x24x8xf32>
  %o, %pk, %pv = kiln.attention %q, %k, %v kv_seqlen %len query_start %start {scale = 0.35 : f32, mask_kind = #kiln.mask_kind<causal>} : (tensor<?x4x1x8xf32>, tensor<?x2x24x8xf32>, tensor<?x2x24x8xf32>, tensor<?xi64>, tensor<?xi64>) -> (tensor<?x4x1x8xf32>, tensor<?x2x24x8xf32>, tensor<?x2x24x8xf32>)
  return %o : tensor<?x4x1x8xf32>
}

// -----

// Key blocks of 4 do not fit blocks of 2 positions: the kernel reads the
// contiguous view instead (correct, but the view is built).
// CHECK-LABEL: func.func @paged_small_blocks
// CHECK: %[[K:.+]] = kiln.paged_kv_gather
// CHECK: scf.for
// CHECK: tensor.extract_slice %[[K]]
func.func @paged_small_blocks(%q: tensor<?x4x1x8xf32>, %kp: tensor<10x2x2x8xf32>, %vp: tensor<10x2x2x8xf32>, %t: tensor<?x4xi64>, %len: tensor<?xi64>, %start: tensor<?xi64>) -> tensor<?x4x1x8xf32> {
  %k = kiln.paged_kv_gather %kp, %t : (tensor<10x2x2x8xf32>, tensor<?x4xi64>) -> tensor<?x2x8x8xf32>
  %v = kiln.paged_kv_gather %vp, %t : (tensor<10x2x2x8xf32>, tensor<?x4xi64>) -> tensor<?x2x8x8xf32>
  %o, %pk, %pv = kiln.attention %q, %k, %v kv_seqlen %len query_start %start {scale = 0.35 : f32, mask_kind = #kiln.mask_kind<causal>} : (tensor<?x4x1x8xf32>, tensor<?x2x8x8xf32>, tensor<?x2x8x8xf32>, tensor<?xi64>, tensor<?xi64>) -> (tensor<?x4x1x8xf32>, tensor<?x2x8x8xf32>, tensor<?x2x8x8xf32>)
  return %o : tensor<?x4x1x8xf32>
}
