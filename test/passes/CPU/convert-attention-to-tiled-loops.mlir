// RUN: kiln-opt %s -split-input-file -kiln-cpu-convert-attention-to-tiled-loops="query-block=4 key-block=4" -cse | FileCheck %s

// Causal, 1024 queries in blocks of 4 (big enough to be threaded): each
// block's key loop stops at the block holding its last query, and only
// blocks that reach past its first query (the diagonal) are masked. Scores
// are vectors over the 4 query rows: a broadcast key element (read from
// the key block's slice at constant indices) times a transposed query
// feature per FMA. The sweeps over the features are loops, unrolled by 2
// here (the head has 2 features): the transposed queries and the output
// accumulators are per-block [features x rows] tensors. exp is expanded
// into a polynomial.
// CHECK-LABEL: func @causal
// CHECK-NOT: kiln.attention
// CHECK: %[[OUT:.+]] = scf.forall (%{{.+}}) in (256) shared_outs(%[[SHARED:.+]] = %{{.+}}) -> (tensor<1x1x1024x2xf32>)
// CHECK:   %[[Q0:.+]] = arith.muli %{{.+}}, %c4 : index
// CHECK:   %[[ROW:.+]] = arith.addi %{{.+}}, %[[Q0]] : index
// CHECK:   %[[QEND:.+]] = arith.addi %[[Q0]], %c4 : index
// CHECK:   %[[OUTROWS:.+]] = tensor.extract_slice %[[SHARED]][%{{.+}}, %c0, %[[ROW]], 0] [1, 1, 4, 2] [1, 1, 1, 1]
// CHECK:   %[[QT:.+]] = scf.for %[[D:.+]] = %c0 to %c2 step %c2 iter_args(%[[QTI:.+]] = %{{.+}}) -> (tensor<2x4xf32>)
// CHECK:     %[[QCOL:.+]] = vector.transfer_read %arg0[%{{.+}}, %c0, %[[ROW]], %[[D]]], %{{.+}} {permutation_map = #[[COLUMN:.+]]} : tensor<1x1x1024x2xf32>, vector<4xf32>
// CHECK:     vector.transfer_write %[[QCOL]], %[[QTI]][%[[D]], %c0] {in_bounds = [true]} : vector<4xf32>, tensor<2x4xf32>
// CHECK:   %[[KEND:.+]] = arith.minsi %[[QEND]], %c1024 : index
// CHECK:   %[[KBEND:.+]] = arith.ceildivsi %[[KEND]], %c4 : index
// CHECK:   %[[ZEROS:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<2x4xf32>)
// CHECK:   %[[RES:.+]]:3 = scf.for %[[KB:.+]] = %c0 to %[[KBEND]] step %c1 iter_args(%{{.+}}, %{{.+}}, %{{.+}} = %[[ZEROS]]) -> (vector<4xf32>, vector<4xf32>, tensor<2x4xf32>)
// CHECK:     %[[K0:.+]] = arith.muli %[[KB]], %c4 : index
// CHECK:     %[[KT:.+]] = tensor.extract_slice %arg1[%{{.+}}, %c0, %[[K0]], 0] [1, 1, 4, 2] [1, 1, 1, 1] : tensor<1x1x1024x2xf32> to tensor<4x2xf32>
// CHECK:     scf.for %[[F:.+]] = %c0 to %c2 step %c2 iter_args({{.+}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// CHECK:       %[[QF:.+]] = vector.transfer_read %[[QT]][%[[F]], %c0]
// CHECK:       %[[KEY:.+]] = tensor.extract %[[KT]][%c0, %[[F]]] : tensor<4x2xf32>
// CHECK:       %[[KB0:.+]] = vector.broadcast %[[KEY]] : f32 to vector<4xf32>
// CHECK:       vector.fma %[[KB0]], %[[QF]], %{{.+}} : vector<4xf32>
// CHECK:     %[[K1:.+]] = arith.addi %[[K0]], %c4 : index
// CHECK:     %[[DIAG:.+]] = arith.addi %[[Q0]], %c1 : index
// CHECK:     %[[CROSS:.+]] = arith.cmpi sgt, %[[K1]], %[[DIAG]] : index
// CHECK:     %[[EDGE:.+]] = arith.ori %{{.+}}, %[[CROSS]] : i1
// CHECK:     %[[S:.+]]:4 = scf.if %[[EDGE]] -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// CHECK:       arith.cmpi sle, %{{.+}}, %{{.+}} : vector<4xi32>
// CHECK:       arith.select %{{.+}}, %{{.+}}, %{{.+}} : vector<4xi1>, vector<4xf32>
// CHECK:     } else {
// CHECK-NEXT:  scf.yield
// CHECK:     %[[VT:.+]] = tensor.extract_slice %arg2[%{{.+}}, %c0, %[[K0]], 0] [1, 1, 4, 2]
// CHECK:     arith.maxnumf %[[S]]#0, %[[S]]#1 : vector<4xf32>
// CHECK-NOT: math.exp
// CHECK:     scf.for %[[G:.+]] = %c0 to %c2 step %c2 iter_args(%[[ACC:.+]] = %{{.+}}) -> (tensor<2x4xf32>)
// CHECK:       vector.transfer_read %[[ACC]][%[[G]], %c0]
// CHECK:       tensor.extract %[[VT]][%c0, %[[G]]] : tensor<4x2xf32>
// CHECK:       vector.fma
// CHECK:       vector.transfer_write %{{.+}}, %[[ACC]][%[[G]], %c0]
// CHECK:     scf.yield
// CHECK:   arith.cmpf ogt, %[[RES]]#1
// CHECK:   %[[INV:.+]] = arith.select %{{.+}}, %{{.+}}, %{{.+}} : vector<4xi1>, vector<4xf32>
// CHECK:   %[[W:.+]] = scf.for %[[E:.+]] = %c0 to %c2 step %c2 iter_args(%[[ROWS:.+]] = %[[OUTROWS]]) -> (tensor<1x1x4x2xf32>)
// CHECK:     %[[A:.+]] = vector.transfer_read %[[RES]]#2[%[[E]], %c0]
// CHECK:     %[[SCALED:.+]] = arith.mulf %[[A]], %[[INV]] : vector<4xf32>
// CHECK:     vector.transfer_write %[[SCALED]], %[[ROWS]][%c0, %c0, %c0, %[[E]]] {in_bounds = [true], permutation_map = #[[COLUMN]]}
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice %[[W]] into %[[SHARED]][%{{.+}}, %c0, %[[ROW]], 0] [1, 1, 4, 2]
// CHECK: return %[[OUT]]
func.func @causal(%q: tensor<1x1x1024x2xf32>, %k: tensor<1x1x1024x2xf32>, %v: tensor<1x1x1024x2xf32>) -> tensor<1x1x1024x2xf32> {
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.5 : f32, mask_kind = #kiln.mask_kind<causal>} : (tensor<1x1x1024x2xf32>, tensor<1x1x1024x2xf32>, tensor<1x1x1024x2xf32>) -> (tensor<1x1x1024x2xf32>, tensor<1x1x1024x2xf32>, tensor<1x1x1024x2xf32>)
  return %o : tensor<1x1x1024x2xf32>
}

// -----

// Decoding with GQA (4 query heads on 2 KV heads), a cache of 9, a window
// of 5 keys to the left and kv_seqlen: the presents are the
// concatenations, both query heads of a KV head share one block of 2
// lanes (the [2 heads x 1 query] rows of the reshaped query; a decoding
// block is no wider than its rows), and the key loop
// starts at block 1: keys 0 to 3 are left of the window of position 9. It
// ends at min(kv_seqlen, 10) keys. Small: one thread (scf.for). The
// softcap's tanh is a polynomial too.
// CHECK-LABEL: func @window_decode
// CHECK-DAG: %[[PK:.+]] = kiln.concat %arg3, %arg1 {axis = 2 : i64}
// CHECK-DAG: %[[PV:.+]] = kiln.concat %arg4, %arg2 {axis = 2 : i64}
// CHECK: %[[Q:.+]] = tensor.expand_shape %{{.+}} output_shape [1, 2, 2, 8] : tensor<32xf32> into tensor<1x2x2x8xf32>
// CHECK: %[[OUT:.+]] = scf.for %{{.+}} = %c0 to %c2 step %c1 iter_args(%{{.+}}) -> (tensor<1x2x2x8xf32>)
// CHECK:   %[[KVH:.+]] = arith.remui
// CHECK:   %[[B:.+]] = arith.divui
// CHECK:   vector.transfer_read %[[Q]][%[[B]], %[[KVH]], %c0, %{{.+}}]
// CHECK:   %[[LEN:.+]] = tensor.extract %arg5[%[[B]]] : tensor<1xi64>
// CHECK:   %[[LENI:.+]] = arith.index_cast %[[LEN]] : i64 to index
// CHECK:   %[[KEND:.+]] = arith.minsi %[[LENI]], %c10 : index
// CHECK:   %[[END:.+]] = arith.minsi %[[KEND]], %c10 : index
// CHECK:   %[[KBEND:.+]] = arith.ceildivsi %[[END]], %c4 : index
// CHECK:   scf.for %[[KB:.+]] = %c1 to %[[KBEND]] step %c1
// CHECK:     %[[K0:.+]] = arith.muli %[[KB]], %c4 : index
// The last block would run past the 10 keys: it is read from key 6 instead,
// and masks the keys before its nominal start (8), which block 1 took.
// CHECK:     %[[START:.+]] = arith.minsi %[[K0]], %c6 : index
// CHECK:     tensor.extract_slice %[[PK]][%[[B]], %[[KVH]], %[[START]], 0] [1, 1, 4, 8] [1, 1, 1, 1] : tensor<1x2x10x8xf32> to tensor<4x8xf32>
// CHECK-NOT: math.tanh
// CHECK:     scf.if
// CHECK:       %[[KEY:.+]] = arith.addi %[[START]], %c1 : index
// CHECK:       %[[VALID:.+]] = arith.cmpi slt, %[[KEY]], %{{.+}} : index
// CHECK:       %[[TAKEN:.+]] = arith.cmpi sge, %[[KEY]], %[[K0]] : index
// CHECK:       arith.andi %[[VALID]], %[[TAKEN]] : i1
// CHECK:     tensor.extract_slice %[[PV]][%[[B]], %[[KVH]], %[[START]], 0] [1, 1, 4, 8]
// CHECK:   vector.transfer_write %{{.+}}, %{{.+}}[%c0, %c0, %c0, %{{.+}}] {{.+}} : vector<2xf32>, tensor<1x1x2x8xf32>
// CHECK:   tensor.insert_slice
// CHECK: %[[O:.+]] = tensor.collapse_shape %[[OUT]]
// CHECK: %[[O4:.+]] = tensor.expand_shape %[[O]] {{.+}} into tensor<1x4x1x8xf32>
// CHECK: return %[[O4]], %[[PK]], %[[PV]]
func.func @window_decode(%q: tensor<1x4x1x8xf32>, %k: tensor<1x2x1x8xf32>, %v: tensor<1x2x1x8xf32>, %pk: tensor<1x2x9x8xf32>, %pv: tensor<1x2x9x8xf32>, %len: tensor<1xi64>) -> (tensor<1x4x1x8xf32>, tensor<1x2x10x8xf32>, tensor<1x2x10x8xf32>) {
  %o, %k2, %v2 = kiln.attention %q, %k, %v past %pk, %pv kv_seqlen %len {scale = 0.35 : f32, softcap = 30.0 : f32, mask_kind = #kiln.mask_kind<sliding_window>, window_left = 5 : i64, window_right = 0 : i64} : (tensor<1x4x1x8xf32>, tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1xi64>) -> (tensor<1x4x1x8xf32>, tensor<1x2x10x8xf32>, tensor<1x2x10x8xf32>)
  return %o, %k2, %v2 : tensor<1x4x1x8xf32>, tensor<1x2x10x8xf32>, tensor<1x2x10x8xf32>
}

// -----

// Sliding window on both sides, 6 queries (a partial last block): the key
// loop starts at the block of the first row's left edge, and the rows
// written are min(4, 6 - first).
// CHECK-LABEL: func @window_both_sides
// CHECK: scf.for %{{.+}} = %c0 to %c2 step %c1
// CHECK:   %[[Q0:.+]] = arith.muli %{{.+}}, %c4 : index
// CHECK:   %[[LEFT:.+]] = arith.subi %c6, %[[Q0]] : index
// CHECK:   %[[COUNT:.+]] = arith.minsi %[[LEFT]], %c4 : index
// CHECK:   %[[ROWS:.+]] = tensor.extract_slice %{{.+}} [1, 1, %[[COUNT]], 3] [1, 1, 1, 1] : tensor<1x1x6x3xf32> to tensor<1x1x?x3xf32>
// CHECK:   %[[FIRSTK:.+]] = arith.subi %[[Q0]], %c2 : index
// CHECK:   %[[LO:.+]] = arith.maxsi %[[FIRSTK]], %c0 : index
// CHECK:   %[[KB0:.+]] = arith.divsi %[[LO]], %c4 : index
// CHECK:   scf.for %{{.+}} = %[[KB0]] to %{{.+}} step %c1
// CHECK:     scf.if
// CHECK:       arith.cmpi sle
// CHECK:       arith.cmpi sge
// CHECK:   scf.for {{.+}} iter_args(%{{.+}} = %[[ROWS]]) -> (tensor<1x1x?x3xf32>)
// CHECK:     vector.transfer_write %{{.+}} {permutation_map = #{{.+}}} : vector<4xf32>, tensor<1x1x?x3xf32>
func.func @window_both_sides(%q: tensor<1x1x6x4xf32>, %k: tensor<1x1x6x4xf32>, %v: tensor<1x1x6x3xf32>) -> tensor<1x1x6x3xf32> {
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.5 : f32, mask_kind = #kiln.mask_kind<sliding_window>, window_left = 2 : i64, window_right = 1 : i64} : (tensor<1x1x6x4xf32>, tensor<1x1x6x4xf32>, tensor<1x1x6x3xf32>) -> (tensor<1x1x6x3xf32>, tensor<1x1x6x4xf32>, tensor<1x1x6x3xf32>)
  return %o : tensor<1x1x6x3xf32>
}

// -----

// Hierarchical, a causal window of 2 plus 4 global tokens, 16 queries in
// blocks of 4: the key loop runs over the global keys' blocks (as many as
// cover min(4, the right bound)), then over the window's blocks from where
// those end; a block holding a global query (position < 4) starts its
// window at 0. Edge blocks allow a pair in the window, or one whose key or
// query is global.
// CHECK-LABEL: func @hierarchical
// CHECK: %[[ROWPOS:.+]] = arith.addi %{{.+}}, %{{.+}} : vector<4xi32>
// CHECK: %[[FIRST:.+]] = arith.divsi %{{.+}}, %c4 : index
// CHECK: %[[END:.+]] = arith.ceildivsi %{{.+}}, %c4 : index
// CHECK: %[[GLOBALBLOCKS:.+]] = arith.ceildivsi %{{.+}}, %c4 : index
// CHECK: %[[ANCHORS:.+]] = arith.minsi %[[GLOBALBLOCKS]], %{{.+}} : index
// CHECK: %[[GROW:.+]] = arith.cmpi slt, %{{.+}}, %c4 : index
// CHECK: %[[WFIRST:.+]] = arith.select %[[GROW]], %c0, %[[FIRST]] : index
// CHECK: %[[WSTART:.+]] = arith.maxsi %[[WFIRST]], %[[ANCHORS]] : index
// CHECK: %[[WLEN:.+]] = arith.subi %[[END]], %[[WSTART]] : index
// CHECK: %[[WLEN0:.+]] = arith.maxsi %[[WLEN]], %c0 : index
// CHECK: %[[COUNT:.+]] = arith.addi %[[ANCHORS]], %[[WLEN0]] : index
// CHECK: scf.for %[[IT:.+]] = %c0 to %[[COUNT]] step %c1
// CHECK:   %[[INANCHORS:.+]] = arith.cmpi slt, %[[IT]], %[[ANCHORS]] : index
// CHECK:   %[[OFF:.+]] = arith.subi %[[IT]], %[[ANCHORS]] : index
// CHECK:   %[[INWINDOW:.+]] = arith.addi %[[OFF]], %[[WSTART]] : index
// CHECK:   %[[KB:.+]] = arith.select %[[INANCHORS]], %[[IT]], %[[INWINDOW]] : index
// CHECK:   arith.muli %[[KB]], %c4 : index
// CHECK:   scf.if
// CHECK:     %[[GLOBALROWS:.+]] = arith.cmpi slt, %[[ROWPOS]], %{{.+}} : vector<4xi32>
// CHECK:     %[[INLEFT:.+]] = arith.cmpi sge, %{{.+}}, %{{.+}} : vector<4xi32>
// CHECK:     %[[GLOBALKEY:.+]] = vector.broadcast %{{.+}} : i1 to vector<4xi1>
// CHECK:     %[[GLOBAL:.+]] = arith.ori %[[GLOBALKEY]], %[[GLOBALROWS]] : vector<4xi1>
// CHECK:     %[[ALLOWED:.+]] = arith.ori %[[INLEFT]], %[[GLOBAL]] : vector<4xi1>
// CHECK:     arith.select %[[ALLOWED]], %{{.+}}, %{{.+}} : vector<4xi1>, vector<4xf32>
func.func @hierarchical(%q: tensor<1x1x16x4xf32>, %k: tensor<1x1x16x4xf32>, %v: tensor<1x1x16x4xf32>) -> tensor<1x1x16x4xf32> {
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.5 : f32, mask_kind = #kiln.mask_kind<hierarchical>, window_left = 2 : i64, window_right = 0 : i64, num_global_tokens = 4 : i64} : (tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32>) -> (tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32>)
  return %o : tensor<1x1x16x4xf32>
}

// -----

// Block-sparse, cells of 8 positions (2 query blocks, 2 key blocks each)
// in the layout [[1, 0], [1, 1]]: the key loop of a query block visits the
// key blocks its layout row allows, read from a table built at compile
// time (row 0: blocks 0 and 1; row 1: blocks 0 to 3). Whole cells are
// allowed, so only blocks past the keys' end would be masked.
// CHECK-LABEL: func @block_sparse
// CHECK-DAG: %[[COUNTS:.+]] = arith.constant dense<[2, 4]> : tensor<2xi32>
// CHECK-DAG: %[[TABLE:.+]] = arith.constant dense<{{\[}}[0, 1, 0, 0], [0, 1, 2, 3]]> : tensor<2x4xi32>
// CHECK: %[[ROW:.+]] = arith.divsi %{{.+}}, %c8 : index
// CHECK: %[[N:.+]] = tensor.extract %[[COUNTS]][%[[ROW]]] : tensor<2xi32>
// CHECK: %[[NI:.+]] = arith.index_cast %[[N]] : i32 to index
// CHECK: scf.for %[[IT:.+]] = %c0 to %[[NI]] step %c1
// CHECK:   %[[KB:.+]] = tensor.extract %[[TABLE]][%[[ROW]], %[[IT]]] : tensor<2x4xi32>
// CHECK:   %[[KBI:.+]] = arith.index_cast %[[KB]] : i32 to index
// CHECK:   arith.muli %[[KBI]], %c4 : index
// CHECK-NOT: arith.cmpi sle
func.func @block_sparse(%q: tensor<1x1x16x4xf32>, %k: tensor<1x1x16x4xf32>, %v: tensor<1x1x16x4xf32>) -> tensor<1x1x16x4xf32> {
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.5 : f32, mask_kind = #kiln.mask_kind<block_sparse>, block_size = 8 : i64, block_layout = array<i1: true, false, true, true>} : (tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32>) -> (tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32>)
  return %o : tensor<1x1x16x4xf32>
}

// -----

// Left to the reference lowering: a mask tensor, the scores result,
// hierarchical global tokens given as positions, a block-sparse layout
// whose cells are smaller than a key block, and 16-bit floats.
// CHECK-LABEL: func @left_alone
// CHECK-NOT: scf.for
// CHECK-COUNT-5: kiln.attention
// CHECK-NOT: scf.for
func.func @left_alone(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %m: tensor<4x4xi1>, %h: tensor<1x2x4x8xf16>, %g: tensor<1xi64>) -> (tensor<1x2x4x8xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf16>) {
  %o0, %k0, %v0 = kiln.attention %q, %k, %v mask %m {scale = 0.5 : f32, mask_kind = #kiln.mask_kind<causal>} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<4x4xi1>) -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>)
  %o1, %k1, %v1, %s1 = kiln.attention %q, %k, %v {scale = 0.5 : f32, score_stage = #kiln.score_stage<probs>} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x4xf32>)
  %o2, %k2, %v2 = kiln.attention %q, %k, %v global %g {scale = 0.5 : f32, mask_kind = #kiln.mask_kind<hierarchical>, window_left = 1 : i64, window_right = 0 : i64} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1xi64>) -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>)
  %o3, %k3, %v3 = kiln.attention %q, %k, %v {scale = 0.5 : f32, mask_kind = #kiln.mask_kind<block_sparse>, block_size = 2 : i64, block_layout = array<i1: true, false, true, true>} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>)
  %o4, %k4, %v4 = kiln.attention %h, %h, %h {scale = 0.5 : f32, mask_kind = #kiln.mask_kind<causal>} : (tensor<1x2x4x8xf16>, tensor<1x2x4x8xf16>, tensor<1x2x4x8xf16>) -> (tensor<1x2x4x8xf16>, tensor<1x2x4x8xf16>, tensor<1x2x4x8xf16>)
  return %o0, %s1, %o2, %o3, %o4 : tensor<1x2x4x8xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf16>
}

// -----

// Dynamic batch and sequence: the kernel is planned from static sizes, so
// the op keeps the reference lowering.
// CHECK-LABEL: func.func @dynamic_sequence
// CHECK: kiln.attention
// CHECK-NOT: scf.for
func.func @dynamic_sequence(%q: tensor<?x1x?x2xf32>, %k: tensor<?x1x?x2xf32>, %v: tensor<?x1x?x2xf32>) -> tensor<?x1x?x2xf32> {
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.5 : f32, mask_kind = #kiln.mask_kind<causal>} : (tensor<?x1x?x2xf32>, tensor<?x1x?x2xf32>, tensor<?x1x?x2xf32>) -> (tensor<?x1x?x2xf32>, tensor<?x1x?x2xf32>, tensor<?x1x?x2xf32>)
  return %o : tensor<?x1x?x2xf32>
}

// -----

// A generation step's decode: a dynamic batch, one query per sequence over
// a 12-position cache, each sequence at its own position (query_start).
// The blocks are batch x kv heads, counted at run time; the rows'
// positions start at query_start[b], and kv_seqlen[b] ends the key loop.
// CHECK-LABEL: func.func @generation_decode
// CHECK-SAME: (%[[Q:[a-z0-9]+]]: tensor<?x4x1x8xf32>, %[[K:[a-z0-9]+]]: tensor<?x2x12x8xf32>, %[[V:[a-z0-9]+]]: tensor<?x2x12x8xf32>, %[[LEN:[a-z0-9]+]]: tensor<?xi64>, %[[START:[a-z0-9]+]]: tensor<?xi64>)
// CHECK: %[[N:.+]] = tensor.dim %[[Q]], %c0 : tensor<?x4x1x8xf32>
// CHECK: %[[QR:.+]] = tensor.expand_shape %{{.+}} output_shape [%[[N]], 2, 2, 8]
// CHECK: %[[B:.+]] = tensor.dim %[[QR]], %c0
// CHECK: %[[INIT:.+]] = tensor.empty(%[[B]]) : tensor<?x2x2x8xf32>
// CHECK: %[[BLOCKS:.+]] = arith.muli %[[B]], %c2 : index
// CHECK: scf.for %{{.+}} = %c0 to %[[BLOCKS]] step %c1 iter_args(%{{.+}} = %[[INIT]]) -> (tensor<?x2x2x8xf32>)
// CHECK:   %[[BATCH:.+]] = arith.divui
// CHECK:   %[[P:.+]] = tensor.extract %[[START]][%[[BATCH]]] : tensor<?xi64>
// CHECK:   arith.index_cast %[[P]] : i64 to index
// CHECK:   tensor.extract %[[LEN]][%[[BATCH]]] : tensor<?xi64>
// CHECK-NOT: kiln.attention
func.func @generation_decode(%q: tensor<?x4x1x8xf32>, %k: tensor<?x2x12x8xf32>, %v: tensor<?x2x12x8xf32>, %len: tensor<?xi64>, %start: tensor<?xi64>) -> tensor<?x4x1x8xf32> {
  %o, %pk, %pv = kiln.attention %q, %k, %v kv_seqlen %len query_start %start {scale = 0.35 : f32, mask_kind = #kiln.mask_kind<causal>} : (tensor<?x4x1x8xf32>, tensor<?x2x12x8xf32>, tensor<?x2x12x8xf32>, tensor<?xi64>, tensor<?xi64>) -> (tensor<?x4x1x8xf32>, tensor<?x2x12x8xf32>, tensor<?x2x12x8xf32>)
  return %o : tensor<?x4x1x8xf32>
}
