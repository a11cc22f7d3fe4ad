// RUN: kiln-opt %s -kiln-convert-decoder-to-generation-step="max-seq=16 kv-block-size=4 kv-blocks=10" -verify-diagnostics | FileCheck %s
// The block size must divide the positions per sequence; --kv-blocks needs it.
// RUN: not kiln-opt %s -kiln-convert-decoder-to-generation-step="max-seq=16 kv-block-size=5" 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: --generate: --kv-block-size 5 must divide the cache's positions per sequence 16 (--max-seq)
// RUN: not kiln-opt %s -kiln-convert-decoder-to-generation-step="max-seq=16 kv-blocks=3" 2>&1 | FileCheck %s --check-prefix=NOPAGE
// NOPAGE: --generate: --kv-blocks needs --kv-block-size (a paged cache)

// The decoder of convert-decoder-to-generation-step.mlir with a paged
// cache: each cache is one pool of 10 blocks of 4 positions shared by the
// batch, and one more input, block_table [batch, 16 / 4], names each
// sequence's blocks. The step writes through the table
// (kiln.paged_kv_cache_update) and the attention reads the sequences' view
// of the updated pool (kiln.paged_kv_gather); the pools come back as
// state results, and kiln.generation records the paging.

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[TOK:[a-z0-9]+]]: tensor<?x?xi64> {kiln.dim_symbols = ["batch", "seq"], kiln.name = "tokens"}
// CHECK-SAME: %[[PAST:[a-z0-9]+]]: tensor<?xi64> {kiln.dim_symbols = ["batch"], kiln.dtype = 7 : i32, kiln.name = "past_length"}
// CHECK-SAME: %[[TABLE:[a-z0-9]+]]: tensor<?x4xi64> {kiln.dim_symbols = ["batch", ""], kiln.dtype = 7 : i32, kiln.name = "block_table"}
// CHECK-SAME: %[[KC:[a-z0-9]+]]: tensor<10x1x4x4xf32> {bufferization.writable = true, kiln.name = "cache.key.0", kiln.state}
// CHECK-SAME: %[[VC:[a-z0-9]+]]: tensor<10x1x4x4xf32> {bufferization.writable = true, kiln.name = "cache.value.0", kiln.state}
// CHECK-SAME: -> (tensor<?x?x8xf32> {kiln.name = "logits"}, tensor<10x1x4x4xf32> {kiln.state_of = "cache.key.0"}, tensor<10x1x4x4xf32> {kiln.state_of = "cache.value.0"})
// CHECK-SAME: kiln.generation = {block_table = "block_table", kv_block_size = 4 : i64, kv_blocks = 10 : i64, logits = "logits", max_seq = 16 : i64, positions = "past_length", tokens = "tokens"}
// CHECK-DAG: %[[VP:.+]] = kiln.paged_kv_cache_update %[[VC]], %{{.+}}, %[[TABLE]], %[[PAST]] : (tensor<10x1x4x4xf32>, tensor<?x1x?x4xf32>, tensor<?x4xi64>, tensor<?xi64>) -> tensor<10x1x4x4xf32>
// CHECK-DAG: %[[KP:.+]] = kiln.paged_kv_cache_update %[[KC]], %{{.+}}, %[[TABLE]], %[[PAST]]
// Each branch reads its own view, so the decode kernel's can go.
// CHECK: scf.if
// CHECK:   %[[K1:.+]] = kiln.paged_kv_gather %[[KP]], %[[TABLE]] : (tensor<10x1x4x4xf32>, tensor<?x4xi64>) -> tensor<?x1x16x4xf32>
// CHECK:   %[[V1:.+]] = kiln.paged_kv_gather %[[VP]], %[[TABLE]]
// CHECK:   kiln.attention %{{.+}}, %[[K1]], %[[V1]] kv_seqlen %{{.+}} query_start %[[PAST]]
// CHECK: } else {
// CHECK:   %[[K2:.+]] = kiln.paged_kv_gather %[[KP]], %[[TABLE]]
// CHECK:   %[[V2:.+]] = kiln.paged_kv_gather %[[VP]], %[[TABLE]]
// CHECK:   kiln.attention %{{.+}}, %[[K2]], %[[V2]] kv_seqlen %{{.+}} query_start %[[PAST]]
// CHECK: return %{{.+}}, %[[KP]], %[[VP]]
func.func @main(%tok: tensor<?x?xi64> {kiln.dim_symbols = ["batch", "seq"], kiln.name = "tokens"})
    -> (tensor<?x?x8xf32> {kiln.name = "logits"})
    attributes {kiln.dim_ranges = {batch = array<i64: 1, 4>, seq = array<i64: 1, 4096>}} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = arith.constant dense<0.5> : tensor<8x4xf32>
  %cos_table = arith.constant dense<1.0> : tensor<32x2xf32>
  %sin_table = arith.constant dense<0.0> : tensor<32x2xf32>
  %head = arith.constant dense<0.25> : tensor<4x8xf32>
  %b = tensor.dim %tok, %c0 : tensor<?x?xi64>
  %s = tensor.dim %tok, %c1 : tensor<?x?xi64>
  %x = kiln.gather %emb, %tok {axis = 0 : i64} : (tensor<8x4xf32>, tensor<?x?xi64>) -> tensor<?x?x4xf32>
  %q = tensor.expand_shape %x [[0, 1], [2], [3]] output_shape [%b, 1, %s, 4] : tensor<?x?x4xf32> into tensor<?x1x?x4xf32>
  %cos = tensor.extract_slice %cos_table[0, 0] [%s, 2] [1, 1] : tensor<32x2xf32> to tensor<?x2xf32>
  %sin = tensor.extract_slice %sin_table[0, 0] [%s, 2] [1, 1] : tensor<32x2xf32> to tensor<?x2xf32>
  %r = kiln.rope %q, %cos, %sin : (tensor<?x1x?x4xf32>, tensor<?x2xf32>, tensor<?x2xf32>) -> tensor<?x1x?x4xf32>
  %o, %pk, %pv = kiln.attention %r, %r, %q {mask_kind = #kiln.mask_kind<causal>, scale = 0.5 : f32}
      : (tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>)
      -> (tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>)
  %y = tensor.collapse_shape %o [[0, 1], [2], [3]] : tensor<?x1x?x4xf32> into tensor<?x?x4xf32>
  %logits = kiln.matmul %y, %head : (tensor<?x?x4xf32>, tensor<4x8xf32>) -> tensor<?x?x8xf32>
  return %logits : tensor<?x?x8xf32>
}
