// RUN: kiln-opt %s -split-input-file -kiln-gpu-convert-attention-to-kernels -cse | FileCheck %s
// RUN: not kiln-opt %s -split-input-file -kiln-gpu-convert-attention-to-kernels="decode-max-queries=-1" 2>&1 | FileCheck %s --check-prefix=ERR

// ERR: kiln-gpu-convert-attention-to-kernels: decode-max-queries must be at least 0, found -1

// Causal GQA prefill (8 query heads on 2 KV heads, 100 queries): a grid of
// (4 query blocks, 8 heads, 1 batch) blocks of 128 threads, 4 per query
// row; the inputs are read-only buffers, the output a new buffer. Shared
// memory: the block's queries [32][64 + 1], the key tile [32][64 + 1], the
// value tile [32][64] and the tile's weights [32][32 + 1]. The key-tile
// loop runs from tile 0 to the tile holding the block's last query
// (causal: no tile right of the diagonal is visited); only tiles that
// reach past the block's first query (or the keys' end) are masked. The
// row's max and sum are combined over its 4 threads by shuffles, the
// accumulators are rescaled by exp(m - m'), and only rows below 100 are
// written.
// CHECK-LABEL: func @causal_gqa
// CHECK-NOT: kiln.attention
// CHECK-DAG: %[[Q:.+]] = bufferization.to_buffer %arg0 read_only : tensor<1x8x100x64xf32> to memref<1x8x100x64xf32>
// CHECK-DAG: %[[K:.+]] = bufferization.to_buffer %arg1 read_only
// CHECK-DAG: %[[V:.+]] = bufferization.to_buffer %arg2 read_only
// CHECK-DAG: %[[OUT:.+]] = memref.alloc() : memref<1x8x100x64xf32>
// CHECK: gpu.launch blocks(%[[QB:.+]], %[[H:.+]], %[[B:.+]]) in (%{{.+}} = %c4, %{{.+}} = %c8, %{{.+}} = %c1) threads(%[[T:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %c128, %{{.+}} = %c1, %{{.+}} = %c1)
// CHECK-SAME: workgroup(%[[QS:.+]] : memref<32x65xf32, #gpu.address_space<workgroup>>, %[[KS:.+]] : memref<32x65xf32, #gpu.address_space<workgroup>>, %[[VS:.+]] : memref<32x64xf32, #gpu.address_space<workgroup>>, %[[PS:.+]] : memref<32x33xf32, #gpu.address_space<workgroup>>)
// CHECK:   %[[ROW:.+]] = arith.divui %[[T]], %c4 : index
// CHECK:   %[[QUARTER:.+]] = arith.remui %[[T]], %c4 : index
// CHECK:   %[[KVH:.+]] = arith.divui %[[H]], %c4 : index
// CHECK:   %[[ROW0:.+]] = arith.muli %[[QB]], %c32 : index
// CHECK:   %[[MAXPOS:.+]] = arith.minsi %{{.+}}, %c99 : index
// CHECK:   scf.for %{{.+}} = %[[T]] to %c2048 step %c128 {
// CHECK:     memref.load %[[Q]][%[[B]], %[[H]], %{{.+}}, %{{.+}}] : memref<1x8x100x64xf32>
// CHECK:     memref.store %{{.+}}, %[[QS]]
// CHECK:   %[[RIGHT:.+]] = arith.addi %[[MAXPOS]], %c1 : index
// CHECK:   %[[END:.+]] = arith.minsi %c100, %[[RIGHT]] : index
// CHECK:   %[[FIRST:.+]] = arith.divsi %c0, %c32 : index
// CHECK:   %[[TILES:.+]] = arith.ceildivsi %[[END]], %c32 : index
// CHECK:   %[[RES:.+]]:18 = scf.for %[[IT:.+]] = %[[FIRST]] to %[[TILES]] step %c1 iter_args(%[[M:[^ ]+]] = %cst, %[[L:[^ ]+]] = %cst_0, {{.+}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK:     %[[K0:.+]] = arith.muli %[[IT]], %c32 : index
// CHECK:     gpu.barrier
// CHECK:     scf.for
// CHECK:       memref.load %[[K]][%[[B]], %[[KVH]], %{{.+}}, %{{.+}}] : memref<1x2x100x64xf32>
// CHECK:       memref.store %{{.+}}, %[[KS]]
// CHECK:     scf.for
// CHECK:       memref.load %[[V]][%[[B]], %[[KVH]], %{{.+}}, %{{.+}}] : memref<1x2x100x64xf32>
// CHECK:       memref.store %{{.+}}, %[[VS]]
// CHECK:     gpu.barrier
// CHECK:     %[[TEND:.+]] = arith.addi %[[K0]], %c32 : index
// CHECK:     %[[PASTEND:.+]] = arith.cmpi sgt, %[[TEND]], %c100 : index
// CHECK:     %[[DIAG:.+]] = arith.cmpi sgt, %[[TEND]], %{{.+}} : index
// CHECK:     %[[EDGE:.+]] = arith.ori %[[PASTEND]], %[[DIAG]] : i1
// CHECK:     %[[S:.+]]:8 = scf.for %{{.+}} = %c0 to %c64 step %c1 iter_args({{.+}}) -> (f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK:       memref.load %[[QS]][%[[ROW]], %{{.+}}]
// CHECK:       memref.load %[[KS]][%[[QUARTER]], %{{.+}}]
// CHECK:       math.fma
// CHECK:     %[[S0:.+]] = arith.mulf %[[S]]#0, %cst_{{.+}} : f32
// CHECK:     %[[MASKED:.+]]:8 = scf.if %[[EDGE]] -> (f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK:       arith.cmpi slt, %{{.+}}, %c100 : index
// CHECK:       arith.cmpi sle
// CHECK:       arith.select %{{.+}}, %[[S0]], %cst : f32
// CHECK:     } else {
// CHECK:       scf.yield %[[S0]],
// CHECK:     gpu.shuffle xor %{{.+}}, %c1_i32, %c32_i32 : f32
// CHECK:     gpu.shuffle xor %{{.+}}, %c2_i32, %c32_i32 : f32
// CHECK:     %[[NEWMAX:.+]] = arith.maximumf %[[M]], %{{.+}} : f32
// CHECK:     %[[NONE:.+]] = arith.cmpf oeq, %[[NEWMAX]], %cst : f32
// CHECK:     %[[SHIFT:.+]] = arith.select %[[NONE]], %cst_0, %[[NEWMAX]] : f32
// CHECK:     %[[OLD:.+]] = arith.subf %[[M]], %[[SHIFT]] : f32
// CHECK:     %[[RESCALE:.+]] = math.exp %[[OLD]] : f32
// CHECK:     math.exp
// CHECK:     memref.store %{{.+}}, %[[PS]][%[[ROW]], %[[QUARTER]]]
// CHECK:     gpu.shuffle xor
// CHECK:     gpu.shuffle xor
// CHECK:     %[[LR:.+]] = arith.mulf %[[L]], %[[RESCALE]] : f32
// CHECK:     %[[NEWSUM:.+]] = arith.addf %[[LR]], %{{.+}} : f32
// CHECK:     gpu.barrier
// CHECK:     arith.mulf %{{.+}}, %[[RESCALE]] : f32
// CHECK:     %[[ACC:.+]]:16 = scf.for %[[J:.+]] = %c0 to %c32 step %c1
// CHECK:       %[[P:.+]] = memref.load %[[PS]][%[[ROW]], %[[J]]]
// CHECK:       %[[VAL:.+]] = memref.load %[[VS]][%[[J]], %[[QUARTER]]]
// CHECK:       math.fma %[[P]], %[[VAL]], %{{.+}} : f32
// CHECK:     scf.yield %[[NEWMAX]], %[[NEWSUM]], %[[ACC]]#0,
// CHECK:   arith.cmpf ogt, %[[RES]]#1, %cst_0 : f32
// CHECK:   %[[WRITE:.+]] = arith.cmpi slt, %{{.+}}, %c100 : index
// CHECK:   scf.if %[[WRITE]] {
// CHECK:     memref.store %{{.+}}, %[[OUT]][%[[B]], %[[H]], %{{.+}}, %[[QUARTER]]] : memref<1x8x100x64xf32>
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable : memref<1x8x100x64xf32> to tensor<1x8x100x64xf32>
func.func @causal_gqa(%q: tensor<1x8x100x64xf32>, %k: tensor<1x2x100x64xf32>, %v: tensor<1x2x100x64xf32>) -> tensor<1x8x100x64xf32> {
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.125 : f32, mask_kind = #kiln.mask_kind<causal>} : (tensor<1x8x100x64xf32>, tensor<1x2x100x64xf32>, tensor<1x2x100x64xf32>) -> (tensor<1x8x100x64xf32>, tensor<1x2x100x64xf32>, tensor<1x2x100x64xf32>)
  return %o : tensor<1x8x100x64xf32>
}

// -----

// Sliding window of 64 keys to the left: the loop starts at the tile of
// max(0, first query - 64); a tile is masked when it crosses the last
// query's left edge too.
// CHECK-LABEL: func @window
// CHECK: gpu.launch blocks(%[[QB:[^,]+]],
// CHECK:   %[[MINPOS:.+]] = arith.muli %[[QB]], %c32 : index
// CHECK:   %[[END:.+]] = arith.minsi %c256, %{{.+}} : index
// CHECK:   %[[LEFT:.+]] = arith.subi %[[MINPOS]], %c64 : index
// CHECK:   %[[BEGIN:.+]] = arith.maxsi %c0, %[[LEFT]] : index
// CHECK:   %[[FIRST:.+]] = arith.divsi %[[BEGIN]], %c32 : index
// CHECK:   %[[TILES:.+]] = arith.ceildivsi %[[END]], %c32 : index
// CHECK:   scf.for %{{.+}} = %[[FIRST]] to %[[TILES]] step %c1
// CHECK:     %[[K0:.+]] = arith.muli
// CHECK:     gpu.barrier
// CHECK:     gpu.barrier
// CHECK:     %[[INSIDE:.+]] = arith.subi %{{.+}}, %c64 : index
// CHECK:     arith.cmpi slt, %[[K0]], %[[INSIDE]] : index
// CHECK:     scf.if
// CHECK:       arith.cmpi sge
func.func @window(%q: tensor<1x2x256x32xf32>, %k: tensor<1x2x256x32xf32>, %v: tensor<1x2x256x32xf32>) -> tensor<1x2x256x32xf32> {
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.125 : f32, mask_kind = #kiln.mask_kind<sliding_window>, window_left = 64 : i64, window_right = 0 : i64} : (tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>) -> (tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>)
  return %o : tensor<1x2x256x32xf32>
}

// -----

// Hierarchical (window of 64 plus 4 leading global tokens): the loop
// visits the global keys' tiles first, then the window's tiles from where
// those end; iteration i maps to a tile by a select.
// CHECK-LABEL: func @hierarchical
// CHECK: gpu.launch
// CHECK:   %[[WFIRST:.+]] = arith.divsi %{{.+}}, %c32 : index
// CHECK:   %[[WEND:.+]] = arith.ceildivsi %{{.+}}, %c32 : index
// CHECK:   %[[GCEIL:.+]] = arith.ceildivsi %{{.+}}, %c32 : index
// CHECK-NEXT: %[[ANCHORS:.+]] = arith.minsi %[[GCEIL]], %{{.+}} : index
// CHECK:   %[[GLOBALROW:.+]] = arith.cmpi slt, %{{.+}}, %c4 : index
// CHECK:   %[[START0:.+]] = arith.select %[[GLOBALROW]], %c0, %[[WFIRST]] : index
// CHECK:   %[[START:.+]] = arith.maxsi %[[START0]], %[[ANCHORS]] : index
// CHECK:   %[[COUNT:.+]] = arith.addi %[[ANCHORS]], %{{.+}} : index
// CHECK:   scf.for %[[IT:.+]] = %c0 to %[[COUNT]] step %c1
// CHECK:     %[[INANCHORS:.+]] = arith.cmpi slt, %[[IT]], %[[ANCHORS]] : index
// CHECK:     %[[REL:.+]] = arith.subi %[[IT]], %[[ANCHORS]] : index
// CHECK:     %[[INWINDOW:.+]] = arith.addi %[[REL]], %[[START]] : index
// CHECK:     %[[TILE:.+]] = arith.select %[[INANCHORS]], %[[IT]], %[[INWINDOW]] : index
// CHECK:     arith.muli %[[TILE]], %c32 : index
func.func @hierarchical(%q: tensor<1x2x256x32xf32>, %k: tensor<1x2x256x32xf32>, %v: tensor<1x2x256x32xf32>) -> tensor<1x2x256x32xf32> {
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.125 : f32, mask_kind = #kiln.mask_kind<hierarchical>, window_left = 64 : i64, window_right = 0 : i64, num_global_tokens = 4 : i64} : (tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>) -> (tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>)
  return %o : tensor<1x2x256x32xf32>
}

// -----

// Decode (one query against a cache of 511 + 1 keys, GQA, kv_seqlen,
// window of 128): a grid of (1 query, 8 heads, 2 batches) blocks of 4
// warps. The keys are capped by kv_seqlen[b] and the window's left edge;
// per tile of 16 keys each warp scores 4 keys, its lanes splitting the
// features (reduced by 5 shuffles), and the warps' partial (max, sum,
// acc) are combined through shared memory after the loop. The KV cache
// results stay the concatenations.
// CHECK-LABEL: func @decode
// CHECK-DAG: %[[KC:.+]] = kiln.concat %arg3, %arg1 {axis = 2 : i64}
// CHECK-DAG: %[[K:.+]] = bufferization.to_buffer %[[KC]] read_only : tensor<2x2x512x64xf32> to memref<2x2x512x64xf32>
// CHECK-DAG: %[[LEN:.+]] = bufferization.to_buffer %arg5 read_only : tensor<2xi64> to memref<2xi64>
// CHECK: gpu.launch blocks(%[[QI:.+]], %[[H:.+]], %[[B:.+]]) in (%{{.+}} = %c1, %{{.+}} = %c8, %{{.+}} = %c2) threads(%[[T:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %c128, %{{.+}} = %c1, %{{.+}} = %c1)
// CHECK-SAME: workgroup(%[[MS:.+]] : memref<4xf32, #gpu.address_space<workgroup>>, %[[LS:.+]] : memref<4xf32, #gpu.address_space<workgroup>>, %[[AS:.+]] : memref<4x64xf32, #gpu.address_space<workgroup>>)
// CHECK:   %[[WARP:.+]] = arith.divui %[[T]], %c32 : index
// CHECK:   %[[N:.+]] = memref.load %[[LEN]][%[[B]]] : memref<2xi64>
// CHECK:   %[[NI:.+]] = arith.index_cast %[[N]] : i64 to index
// CHECK:   %[[KEYEND:.+]] = arith.minsi %c512, %[[NI]] : index
// CHECK:   %[[END:.+]] = arith.minsi %[[KEYEND]], %{{.+}} : index
// CHECK:   %[[LEFT:.+]] = arith.subi %{{.+}}, %c128 : index
// CHECK:   %[[BEGIN:.+]] = arith.maxsi %c0, %[[LEFT]] : index
// CHECK:   %[[FIRST:.+]] = arith.divsi %[[BEGIN]], %c16 : index
// CHECK:   %[[TILES:.+]] = arith.ceildivsi %[[END]], %c16 : index
// CHECK:   %[[RES:.+]]:4 = scf.for %{{.+}} = %[[FIRST]] to %[[TILES]] step %c1 iter_args({{.+}}) -> (f32, f32, f32, f32)
// CHECK:     memref.load %[[K]][%[[B]], %{{.+}}, %{{.+}}, %{{.+}}] : memref<2x2x512x64xf32>
// CHECK:     gpu.shuffle xor %{{.+}}, %c16_i32, %c32_i32 : f32
// CHECK:     gpu.shuffle xor %{{.+}}, %c8_i32, %c32_i32 : f32
// CHECK:     gpu.shuffle xor %{{.+}}, %c4_i32, %c32_i32 : f32
// CHECK:     gpu.shuffle xor %{{.+}}, %c2_i32, %c32_i32 : f32
// CHECK:     gpu.shuffle xor %{{.+}}, %c1_i32, %c32_i32 : f32
// CHECK:     scf.if %{{.+}} -> (f32, f32, f32, f32)
// CHECK:     math.exp
// CHECK:   scf.if
// CHECK:     memref.store %[[RES]]#0, %[[MS]][%[[WARP]]]
// CHECK:     memref.store %[[RES]]#1, %[[LS]][%[[WARP]]]
// CHECK:   memref.store %[[RES]]#2, %[[AS]][%[[WARP]], %{{.+}}]
// CHECK:   gpu.barrier
// CHECK:   scf.for %[[D:.+]] = %[[T]] to %c64 step %c128 {
// CHECK:     memref.load %[[MS]][%c3]
// CHECK:     memref.load %[[AS]][%c3, %[[D]]]
// CHECK:     memref.store %{{.+}}, %{{.+}}[%[[B]], %[[H]], %[[QI]], %[[D]]] : memref<2x8x1x64xf32>
func.func @decode(%q: tensor<2x8x1x64xf32>, %k: tensor<2x2x1x64xf32>, %v: tensor<2x2x1x64xf32>, %pk: tensor<2x2x511x64xf32>, %pv: tensor<2x2x511x64xf32>, %len: tensor<2xi64>) -> tensor<2x8x1x64xf32> {
  %o, %k2, %v2 = kiln.attention %q, %k, %v past %pk, %pv kv_seqlen %len {scale = 0.125 : f32, mask_kind = #kiln.mask_kind<sliding_window>, window_left = 128 : i64, window_right = 0 : i64} : (tensor<2x8x1x64xf32>, tensor<2x2x1x64xf32>, tensor<2x2x1x64xf32>, tensor<2x2x511x64xf32>, tensor<2x2x511x64xf32>, tensor<2xi64>) -> (tensor<2x8x1x64xf32>, tensor<2x2x512x64xf32>, tensor<2x2x512x64xf32>)
  return %o : tensor<2x8x1x64xf32>
}

// -----

// Block-sparse, cells of 64 positions (whole tiles of 32 keys and blocks
// of 32 queries), layout [[1, 0], [1, 1]]: the allowed tiles of each layout
// row are constants (row 0: tiles 0, 1; row 1: tiles 0 .. 3), the loop runs
// over the block's row's count, and tiles are masked only at the keys' end.
// CHECK-LABEL: func @block_sparse
// CHECK-DAG: %[[TABLE:.+]] = arith.constant dense<{{\[}}[0, 1, 0, 0], [0, 1, 2, 3]]> : tensor<2x4xi32>
// CHECK-DAG: %[[COUNTS:.+]] = arith.constant dense<[2, 4]> : tensor<2xi32>
// CHECK-DAG: %[[TB:.+]] = bufferization.to_buffer %[[TABLE]] read_only : tensor<2x4xi32> to memref<2x4xi32>
// CHECK-DAG: %[[CB:.+]] = bufferization.to_buffer %[[COUNTS]] read_only : tensor<2xi32> to memref<2xi32>
// CHECK: gpu.launch
// CHECK:   %[[LROW:.+]] = arith.divsi %{{.+}}, %c64 : index
// CHECK:   %[[N:.+]] = memref.load %[[CB]][%[[LROW]]] : memref<2xi32>
// CHECK:   %[[NI:.+]] = arith.index_cast %[[N]] : i32 to index
// CHECK:   scf.for %[[IT:.+]] = %c0 to %[[NI]] step %c1
// CHECK:     %[[T:.+]] = memref.load %[[TB]][%[[LROW]], %[[IT]]] : memref<2x4xi32>
// CHECK:     %[[TI:.+]] = arith.index_cast %[[T]] : i32 to index
// CHECK:     %[[K0:.+]] = arith.muli %[[TI]], %c32 : index
// CHECK:     %[[TEND:.+]] = arith.addi %[[K0]], %c32 : index
// CHECK:     %[[EDGE:.+]] = arith.cmpi sgt, %[[TEND]], %c128 : index
// CHECK:     scf.if %[[EDGE]]
func.func @block_sparse(%q: tensor<1x2x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>) -> tensor<1x2x128x32xf32> {
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.125 : f32, mask_kind = #kiln.mask_kind<block_sparse>, block_size = 64 : i64, block_layout = array<i1: true, false, true, true>} : (tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>) -> (tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>)
  return %o : tensor<1x2x128x32xf32>
}

// -----

// f16 inputs: widened to f32 as they are staged (the math is f32), the
// output rounded back to f16.
// CHECK-LABEL: func @half
// CHECK: gpu.launch
// CHECK:   %[[QH:.+]] = memref.load %{{.+}} : memref<1x2x64x32xf16>
// CHECK:   %[[QF:.+]] = arith.extf %[[QH]] : f16 to f32
// CHECK:   memref.store %[[QF]], %{{.+}} : memref<32x33xf32, #gpu.address_space<workgroup>>
// CHECK:   scf.for
// CHECK:     arith.extf %{{.+}} : f16 to f32
// CHECK:   %[[OUTF:.+]] = arith.truncf %{{.+}} : f32 to f16
// CHECK:   memref.store %[[OUTF]], %{{.+}} : memref<1x2x64x32xf16>
func.func @half(%q: tensor<1x2x64x32xf16>) -> tensor<1x2x64x32xf16> {
  %o, %pk, %pv = kiln.attention %q, %q, %q {scale = 0.125 : f32, mask_kind = #kiln.mask_kind<causal>} : (tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>) -> (tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>)
  return %o : tensor<1x2x64x32xf16>
}

// -----

// What the kernels do not cover keeps the reference lowering (the op is
// left as it is): block_sparse with cells smaller than a tile, a mask
// tensor, the scores result, f64, and head dimensions above 128.
// CHECK-LABEL: func @not_covered
// CHECK-NOT: gpu.launch
// CHECK-COUNT-5: kiln.attention
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @not_covered(%q: tensor<1x1x64x16xf32>, %m: tensor<1x1x64x64xi1>, %h: tensor<1x1x64x16xf64>, %w: tensor<1x1x64x256xf32>) -> (tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x64xf32>, tensor<1x1x64x16xf64>, tensor<1x1x64x256xf32>) {
  %a, %a1, %a2 = kiln.attention %q, %q, %q {scale = 0.25 : f32, mask_kind = #kiln.mask_kind<block_sparse>, block_size = 16 : i64, block_layout = array<i1: true, false, false, false, true, true, false, false, true, true, true, false, true, true, true, true>} : (tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>) -> (tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>)
  %b, %b1, %b2 = kiln.attention %q, %q, %q mask %m {scale = 0.25 : f32} : (tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x64xi1>) -> (tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>)
  %c, %c1, %c2, %s = kiln.attention %q, %q, %q {scale = 0.25 : f32, score_stage = #kiln.score_stage<probs>} : (tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>) -> (tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x64xf32>)
  %d, %d1, %d2 = kiln.attention %h, %h, %h {scale = 0.25 : f32} : (tensor<1x1x64x16xf64>, tensor<1x1x64x16xf64>, tensor<1x1x64x16xf64>) -> (tensor<1x1x64x16xf64>, tensor<1x1x64x16xf64>, tensor<1x1x64x16xf64>)
  %e, %e1, %e2 = kiln.attention %w, %w, %w {scale = 0.25 : f32} : (tensor<1x1x64x256xf32>, tensor<1x1x64x256xf32>, tensor<1x1x64x256xf32>) -> (tensor<1x1x64x256xf32>, tensor<1x1x64x256xf32>, tensor<1x1x64x256xf32>)
  return %a, %b, %s, %d, %e : tensor<1x1x64x16xf32>, tensor<1x1x64x16xf32>, tensor<1x1x64x64xf32>, tensor<1x1x64x16xf64>, tensor<1x1x64x256xf32>
}
