// RUN: kiln-opt %s -kiln-convert-decoder-to-generation-step="max-seq=16 kv-block-size=2 kv-blocks=16 kv-window-blocks=6" -verify-diagnostics | FileCheck %s
// Without the flag, the windowed pools hold as many sequences' rings as the
// full pool holds sequences (at least 8), at most the full pool's blocks.
// RUN: kiln-opt %s -kiln-convert-decoder-to-generation-step="max-seq=16 kv-block-size=2 kv-blocks=16" | FileCheck %s --check-prefix=DEFAULT
// DEFAULT: kiln.generation = {block_table = "block_table", kv_block_size = 2 : i64, kv_blocks = 16 : i64, logits = "logits", max_seq = 16 : i64, positions = "past_length", tokens = "tokens", window_block_table = "window_block_table", window_blocks = 16 : i64}
// RUN: not kiln-opt %s -kiln-convert-decoder-to-generation-step="max-seq=16 kv-window-blocks=3" 2>&1 | FileCheck %s --check-prefix=NOPAGE
// NOPAGE: --generate: --kv-window-blocks needs --kv-block-size (a paged cache)
// RUN: not kiln-opt %s -kiln-convert-decoder-to-generation-step="max-seq=16 kv-block-size=2 kv-window-blocks=-1" 2>&1 | FileCheck %s --check-prefix=NEG
// NEG: --generate: --kv-window-blocks must be in [0, 2^31], got -1

// A paged cache with a causal layer (0) and a sliding window of 3 keys
// back (layer 1). The causal layer's caches are pools of --kv-blocks read
// through block_table as in -paged.mlir. The windowed layer keeps its
// ring of 3 slots in blocks of 2 of pools of its own (--kv-window-blocks
// 6), found through window_block_table [batch, ceil(3 / 2)]: the step
// gathers the ring (paged_kv_gather, the first 3 of its 4 positions),
// attends over the step's keys and the ring as in -window.mlir, writes
// the ring (circular kv_cache_update) and stores it back into the blocks
// (paged_kv_cache_update at position 0).

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[PAST:[a-z0-9]+]]: tensor<?xi64> {{.*}}kiln.name = "past_length"}
// CHECK-SAME: %[[TABLE:[a-z0-9]+]]: tensor<?x8xi64> {{.*}}kiln.name = "block_table"}
// CHECK-SAME: %[[WTABLE:[a-z0-9]+]]: tensor<?x2xi64> {kiln.dim_symbols = ["batch", ""], kiln.dtype = 7 : i32, kiln.name = "window_block_table"}
// CHECK-SAME: %{{[a-z0-9]+}}: tensor<16x1x2x4xf32> {bufferization.writable = true, kiln.name = "cache.key.0", kiln.state}
// CHECK-SAME: %{{[a-z0-9]+}}: tensor<16x1x2x4xf32> {bufferization.writable = true, kiln.name = "cache.value.0", kiln.state}
// CHECK-SAME: %[[WK:[a-z0-9]+]]: tensor<6x1x2x4xf32> {bufferization.writable = true, kiln.name = "cache.key.1", kiln.state, kiln.window_state}
// CHECK-SAME: %[[WV:[a-z0-9]+]]: tensor<6x1x2x4xf32> {bufferization.writable = true, kiln.name = "cache.value.1", kiln.state, kiln.window_state}
// CHECK-SAME: kiln.generation = {block_table = "block_table", kv_block_size = 2 : i64, kv_blocks = 16 : i64, logits = "logits", max_seq = 16 : i64, positions = "past_length", tokens = "tokens", window_block_table = "window_block_table", window_blocks = 6 : i64}
// CHECK: %[[KVIEW:.+]] = kiln.paged_kv_gather %[[WK]], %[[WTABLE]] : (tensor<6x1x2x4xf32>, tensor<?x2xi64>) -> tensor<?x1x4x4xf32>
// CHECK: %[[KRING:.+]] = tensor.extract_slice %[[KVIEW]][0, 0, 0, 0] [%{{.+}}, 1, 3, 4] [1, 1, 1, 1] : tensor<?x1x4x4xf32> to tensor<?x1x3x4xf32>
// CHECK: %[[VVIEW:.+]] = kiln.paged_kv_gather %[[WV]], %[[WTABLE]]
// CHECK: %[[VRING:.+]] = tensor.extract_slice %[[VVIEW]]
// CHECK: scf.if
// CHECK:   kiln.concat %{{.+}}, %[[KRING]] {axis = 2 : i64} : (tensor<?x1x1x4xf32>, tensor<?x1x3x4xf32>) -> tensor<?x1x4x4xf32>
// CHECK: } else {
// CHECK:   kiln.concat %{{.+}}, %[[KRING]] {axis = 2 : i64}
// CHECK: }
// CHECK: %[[KN:.+]] = kiln.kv_cache_update %[[KRING]], %{{.+}}, %[[PAST]] {axis = 2 : i64, circular = true}
// CHECK: %[[ZERO:.+]] = linalg.generic {{.*}} ins(%[[PAST]] : tensor<?xi64>)
// CHECK: %[[KP:.+]] = kiln.paged_kv_cache_update %[[WK]], %[[KN]], %[[WTABLE]], %[[ZERO]] : (tensor<6x1x2x4xf32>, tensor<?x1x3x4xf32>, tensor<?x2xi64>, tensor<?xi64>) -> tensor<6x1x2x4xf32>
// CHECK: %[[VN:.+]] = kiln.kv_cache_update %[[VRING]], %{{.+}}, %[[PAST]] {axis = 2 : i64, circular = true}
// CHECK: %[[VP:.+]] = kiln.paged_kv_cache_update %[[WV]], %[[VN]], %[[WTABLE]]
// CHECK: return %{{.+}}, %{{.+}}, %{{.+}}, %[[KP]], %[[VP]]
func.func @main(%tok: tensor<?x?xi64> {kiln.dim_symbols = ["batch", "seq"], kiln.name = "tokens"})
    -> (tensor<?x?x8xf32> {kiln.name = "logits"})
    attributes {kiln.dim_ranges = {batch = array<i64: 1, 4>, seq = array<i64: 1, 4096>}} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = arith.constant dense<0.5> : tensor<8x4xf32>
  %head = arith.constant dense<0.25> : tensor<4x8xf32>
  %b = tensor.dim %tok, %c0 : tensor<?x?xi64>
  %s = tensor.dim %tok, %c1 : tensor<?x?xi64>
  %x = kiln.gather %emb, %tok {axis = 0 : i64} : (tensor<8x4xf32>, tensor<?x?xi64>) -> tensor<?x?x4xf32>
  %q = tensor.expand_shape %x [[0, 1], [2], [3]] output_shape [%b, 1, %s, 4] : tensor<?x?x4xf32> into tensor<?x1x?x4xf32>
  %o0, %pk0, %pv0 = kiln.attention %q, %q, %q {mask_kind = #kiln.mask_kind<causal>, scale = 0.5 : f32}
      : (tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>)
      -> (tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>)
  %o1, %pk1, %pv1 = kiln.attention %o0, %o0, %o0 {mask_kind = #kiln.mask_kind<sliding_window>, window_left = 3 : i64, window_right = 0 : i64, scale = 0.5 : f32}
      : (tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>)
      -> (tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>)
  %y = tensor.collapse_shape %o1 [[0, 1], [2], [3]] : tensor<?x1x?x4xf32> into tensor<?x?x4xf32>
  %logits = kiln.matmul %y, %head : (tensor<?x?x4xf32>, tensor<4x8xf32>) -> tensor<?x?x8xf32>
  return %logits : tensor<?x?x8xf32>
}
