// RUN: kiln-opt %s -kiln-convert-kiln-to-linalg -split-input-file | FileCheck %s

// kiln.moe_experts lowers to an scf.for nest over (token, choice) that
// carries the output. An assignment with expert >= 0 (scf.if) slices that
// expert's weights at a dynamic offset, runs the token row through its FFN as
// matrix-vector linalg.generic ops (parallel rows, reduction over columns),
// and inserts row + weight * FFN(x) back into the carried output; a dropped
// assignment (expert -1) yields the output unchanged.
// A circular kiln.kv_cache_update lowers to one elementwise linalg.generic
// over the cache that reads the batch entry's position and, where an
// update lands, the update element; a linear one to slices inserted per
// batch entry.

// SwiGLU experts: gate and up matvecs, silu(gate) * up, the down matvec.
// CHECK-DAG: #[[MAT:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[COL:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[ROW:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func @moe_experts_swiglu
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<4x6xf32>, %[[E:[a-z0-9]+]]: tensor<4x2xi64>, %[[W:[a-z0-9]+]]: tensor<4x2xf32>, %[[G:[a-z0-9]+]]: tensor<8x16x6xf32>, %[[D:[a-z0-9]+]]: tensor<8x6x16xf32>, %[[U:[a-z0-9]+]]: tensor<8x16x6xf32>)
// CHECK: %[[Y0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<4x6xf32>) -> tensor<4x6xf32>
// CHECK-DAG: %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.+]] = arith.constant 1 : index
// CHECK-DAG: %[[C4:.+]] = arith.constant 4 : index
// CHECK-DAG: %[[C2:.+]] = arith.constant 2 : index
// CHECK: %[[OUT:.+]] = scf.for %[[T:[a-z0-9]+]] = %{{.+}} to %[[C4]] step %{{.+}} iter_args(%[[ACC0:[a-z0-9]+]] = %[[Y0]]) -> (tensor<4x6xf32>) {
// CHECK: %[[INNER:.+]] = scf.for %[[C:[a-z0-9]+]] = %{{.+}} to %[[C2]] step %{{.+}} iter_args(%[[ACC:[a-z0-9]+]] = %[[ACC0]]) -> (tensor<4x6xf32>) {
// CHECK: %[[EX:.+]] = tensor.extract %[[E]][%[[T]], %[[C]]] : tensor<4x2xi64>
// CHECK: %[[ZERO64:.+]] = arith.constant 0 : i64
// CHECK: %[[ROUTED:.+]] = arith.cmpi sge, %[[EX]], %[[ZERO64]] : i64
// CHECK: %[[IF:.+]] = scf.if %[[ROUTED]] -> (tensor<4x6xf32>) {
// CHECK: %[[EI:.+]] = arith.index_cast %[[EX]] : i64 to index
// CHECK: %[[WT:.+]] = tensor.extract %[[W]][%[[T]], %[[C]]] : tensor<4x2xf32>
// CHECK: %[[XT:.+]] = tensor.extract_slice %[[X]][%[[T]], 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<6xf32>
// CHECK: %[[GE:.+]] = tensor.extract_slice %[[G]][%[[EI]], 0, 0] [1, 16, 6] [1, 1, 1] : tensor<8x16x6xf32> to tensor<16x6xf32>
// CHECK: %[[H0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<16xf32>) -> tensor<16xf32>
// CHECK: %[[H:.+]] = linalg.generic {indexing_maps = [#[[MAT]], #[[COL]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[GE]], %[[XT]] : tensor<16x6xf32>, tensor<6xf32>) outs(%[[H0]] : tensor<16xf32>)
// CHECK: ^bb0(%[[M:.+]]: f32, %[[V:.+]]: f32, %[[SUM:.+]]: f32):
// CHECK: %[[P:.+]] = arith.mulf %[[M]], %[[V]] : f32
// CHECK: %[[NS:.+]] = arith.addf %[[SUM]], %[[P]] : f32
// CHECK: linalg.yield %[[NS]] : f32
// CHECK: } -> tensor<16xf32>
// CHECK: %[[UE:.+]] = tensor.extract_slice %[[U]][%[[EI]], 0, 0] [1, 16, 6] [1, 1, 1] : tensor<8x16x6xf32> to tensor<16x6xf32>
// CHECK: %[[UP:.+]] = linalg.generic {indexing_maps = [#[[MAT]], #[[COL]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[UE]], %[[XT]] : tensor<16x6xf32>, tensor<6xf32>) outs(%{{.+}} : tensor<16xf32>)
// CHECK: } -> tensor<16xf32>
// CHECK: %[[A:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[ID]], #[[ID]]], iterator_types = ["parallel"]} ins(%[[H]], %[[UP]] : tensor<16xf32>, tensor<16xf32>) outs(%{{.+}} : tensor<16xf32>)
// CHECK: ^bb0(%[[HG:.+]]: f32, %[[HU:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[NEG:.+]] = arith.negf %[[HG]] : f32
// CHECK: %[[EXP:.+]] = math.exp %[[NEG]] : f32
// CHECK: %[[DEN:.+]] = arith.addf %[[ONE]], %[[EXP]] : f32
// CHECK: %[[SIG:.+]] = arith.divf %[[ONE]], %[[DEN]] : f32
// CHECK: %[[SILU:.+]] = arith.mulf %[[HG]], %[[SIG]] : f32
// CHECK: %[[ACT:.+]] = arith.mulf %[[SILU]], %[[HU]] : f32
// CHECK: linalg.yield %[[ACT]] : f32
// CHECK: } -> tensor<16xf32>
// CHECK: %[[DE:.+]] = tensor.extract_slice %[[D]][%[[EI]], 0, 0] [1, 6, 16] [1, 1, 1] : tensor<8x6x16xf32> to tensor<6x16xf32>
// CHECK: %[[O:.+]] = linalg.generic {indexing_maps = [#[[MAT]], #[[COL]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[DE]], %[[A]] : tensor<6x16xf32>, tensor<16xf32>) outs(%{{.+}} : tensor<6xf32>)
// CHECK: } -> tensor<6xf32>
// CHECK: %[[CUR:.+]] = tensor.extract_slice %[[ACC]][%[[T]], 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<6xf32>
// CHECK: %[[NEXT:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[ID]], #[[ID]]], iterator_types = ["parallel"]} ins(%[[CUR]], %[[O]] : tensor<6xf32>, tensor<6xf32>) outs(%{{.+}} : tensor<6xf32>)
// CHECK: ^bb0(%[[OLD:.+]]: f32, %[[F:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[WF:.+]] = arith.mulf %[[WT]], %[[F]] : f32
// CHECK: %[[NEW:.+]] = arith.addf %[[OLD]], %[[WF]] : f32
// CHECK: linalg.yield %[[NEW]] : f32
// CHECK: } -> tensor<6xf32>
// CHECK: %[[INS:.+]] = tensor.insert_slice %[[NEXT]] into %[[ACC]][%[[T]], 0] [1, 6] [1, 1] : tensor<6xf32> into tensor<4x6xf32>
// CHECK: scf.yield %[[INS]] : tensor<4x6xf32>
// CHECK: } else {
// CHECK: scf.yield %[[ACC]] : tensor<4x6xf32>
// CHECK: }
// CHECK: scf.yield %[[IF]] : tensor<4x6xf32>
// CHECK: }
// CHECK: scf.yield %[[INNER]] : tensor<4x6xf32>
// CHECK: }
// CHECK: return %[[OUT]] : tensor<4x6xf32>
// CHECK-NOT: kiln.moe_experts
func.func @moe_experts_swiglu(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>,
                              %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>, %u: tensor<8x16x6xf32>) -> tensor<4x6xf32> {
  %0 = kiln.moe_experts %x, %e, %w, %g, %d up %u {activation = #kiln.expert_activation<swiglu>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>, tensor<8x16x6xf32>) -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

// ReLU experts: no up projection; the activation is maximumf with 0 over the
// gate matvec alone.
// CHECK-DAG: #[[MAT:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[COL:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[ROW:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func @moe_experts_relu
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<3x4xf16>, %[[E:[a-z0-9]+]]: tensor<3x1xi64>, %[[W:[a-z0-9]+]]: tensor<3x1xf16>, %[[G:[a-z0-9]+]]: tensor<2x8x4xf16>, %[[D:[a-z0-9]+]]: tensor<2x4x8xf16>)
// CHECK: scf.for %[[T:[a-z0-9]+]] = {{.+}} iter_args(%{{.+}} = %{{.+}}) -> (tensor<3x4xf16>) {
// CHECK: scf.for %[[C:[a-z0-9]+]] = {{.+}} iter_args(%[[ACC:[a-z0-9]+]] = %{{.+}}) -> (tensor<3x4xf16>) {
// CHECK: %[[EX:.+]] = tensor.extract %[[E]][%[[T]], %[[C]]] : tensor<3x1xi64>
// CHECK: %[[ROUTED:.+]] = arith.cmpi sge, %[[EX]], %{{.+}} : i64
// CHECK: scf.if %[[ROUTED]] -> (tensor<3x4xf16>) {
// CHECK: %[[EI:.+]] = arith.index_cast %[[EX]] : i64 to index
// CHECK: %[[XT:.+]] = tensor.extract_slice %[[X]][%[[T]], 0] [1, 4] [1, 1] : tensor<3x4xf16> to tensor<4xf16>
// CHECK: %[[GE:.+]] = tensor.extract_slice %[[G]][%[[EI]], 0, 0] [1, 8, 4] [1, 1, 1] : tensor<2x8x4xf16> to tensor<8x4xf16>
// CHECK: %[[H:.+]] = linalg.generic {indexing_maps = [#[[MAT]], #[[COL]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[GE]], %[[XT]] : tensor<8x4xf16>, tensor<4xf16>) outs(%{{.+}} : tensor<8xf16>)
// CHECK: } -> tensor<8xf16>
// CHECK-NOT: tensor.extract_slice %{{.+}}[%[[EI]], 0, 0] [1, 8, 4]
// CHECK: %[[A:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[ID]]], iterator_types = ["parallel"]} ins(%[[H]] : tensor<8xf16>) outs(%{{.+}} : tensor<8xf16>)
// CHECK: ^bb0(%[[HG:.+]]: f16, %{{.+}}: f16):
// CHECK: %[[Z:.+]] = arith.constant 0.000000e+00 : f16
// CHECK: %[[R:.+]] = arith.maximumf %[[HG]], %[[Z]] : f16
// CHECK: linalg.yield %[[R]] : f16
// CHECK: } -> tensor<8xf16>
// CHECK: %[[DE:.+]] = tensor.extract_slice %[[D]][%[[EI]], 0, 0] [1, 4, 8] [1, 1, 1] : tensor<2x4x8xf16> to tensor<4x8xf16>
// CHECK: %[[O:.+]] = linalg.generic {indexing_maps = [#[[MAT]], #[[COL]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[DE]], %[[A]] : tensor<4x8xf16>, tensor<8xf16>) outs(%{{.+}} : tensor<4xf16>)
// CHECK: %[[CUR:.+]] = tensor.extract_slice %[[ACC]][%[[T]], 0] [1, 4] [1, 1] : tensor<3x4xf16> to tensor<4xf16>
// CHECK: %[[NEXT:.+]] = linalg.generic {{.+}} ins(%[[CUR]], %[[O]] : tensor<4xf16>, tensor<4xf16>)
// CHECK: tensor.insert_slice %[[NEXT]] into %[[ACC]][%[[T]], 0] [1, 4] [1, 1] : tensor<4xf16> into tensor<3x4xf16>
// CHECK: } else {
// CHECK: scf.yield %[[ACC]] : tensor<3x4xf16>
// CHECK-NOT: kiln.moe_experts
func.func @moe_experts_relu(%x: tensor<3x4xf16>, %e: tensor<3x1xi64>, %w: tensor<3x1xf16>,
                            %g: tensor<2x8x4xf16>, %d: tensor<2x4x8xf16>) -> tensor<3x4xf16> {
  %0 = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<relu>} : (tensor<3x4xf16>, tensor<3x1xi64>, tensor<3x1xf16>, tensor<2x8x4xf16>, tensor<2x4x8xf16>) -> tensor<3x4xf16>
  return %0 : tensor<3x4xf16>
}

// -----

// GELU experts (exact): x * 0.5 * (1 + erf(x / sqrt(2))) over the gate
// matvec, no up projection.
// CHECK-LABEL: func @moe_experts_gelu
// CHECK: scf.if
// CHECK: %[[H:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%{{.+}}, %{{.+}} : tensor<16x6xf32>, tensor<6xf32>) outs(%{{.+}} : tensor<16xf32>)
// CHECK-NOT: tensor<16x6xf32>
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel"]} ins(%[[H]] : tensor<16xf32>) outs(%{{.+}} : tensor<16xf32>)
// CHECK: math.erf
// CHECK: } -> tensor<16xf32>
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%{{.+}}, %{{.+}} : tensor<6x16xf32>, tensor<16xf32>) outs(%{{.+}} : tensor<6xf32>)
func.func @moe_experts_gelu(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>,
                            %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>) -> tensor<4x6xf32> {
  %0 = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<gelu>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>) -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

// Linear kv_cache_update of a [B, H, M, D] = [2, 4, 16, 8] cache with
// T = 3 new positions along axis 2: a loop over the batch carrying the
// cache inserts, for entry b, the update positions that land in the cache,
// [lo, hi) = [max(p, 0), min(p + 3, 16)), read from update position lo - p.
// CHECK-LABEL: func @kv_cache_update_linear
// CHECK-SAME: (%[[CACHE:[a-z0-9]+]]: tensor<2x4x16x8xf32>, %[[UPD:[a-z0-9]+]]: tensor<2x4x3x8xf32>, %[[POS:[a-z0-9]+]]: tensor<2xi64>)
// CHECK: %[[R:.+]] = scf.for %[[B:[a-z0-9]+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[ACC:[a-z0-9]+]] = %[[CACHE]]) -> (tensor<2x4x16x8xf32>) {
// CHECK: %[[P64:.+]] = tensor.extract %[[POS]][%[[B]]] : tensor<2xi64>
// CHECK: %[[P:.+]] = arith.index_cast %[[P64]] : i64 to index
// CHECK: %[[LO:.+]] = arith.maxsi %[[P]], %{{.+}} : index
// CHECK: %[[END:.+]] = arith.addi %[[P]], %{{.+}} : index
// CHECK: %[[HI:.+]] = arith.minsi %[[END]], %{{.+}} : index
// CHECK: %[[N:.+]] = arith.subi %[[HI]], %[[LO]] : index
// CHECK: %[[COUNT:.+]] = arith.maxsi %[[N]], %{{.+}} : index
// CHECK: %[[AT:.+]] = arith.minsi %[[LO]], %{{.+}} : index
// CHECK: %[[SKIP:.+]] = arith.subi %[[AT]], %[[P]] : index
// CHECK: %[[FROM0:.+]] = arith.maxsi %[[SKIP]], %{{.+}} : index
// CHECK: %[[FROM:.+]] = arith.minsi %[[FROM0]], %{{.+}} : index
// CHECK: %[[PIECE:.+]] = tensor.extract_slice %[[UPD]][%[[B]], 0, %[[FROM]], 0] [1, 4, %[[COUNT]], 8] [1, 1, 1, 1] : tensor<2x4x3x8xf32> to tensor<1x4x?x8xf32>
// CHECK: %[[NEXT:.+]] = tensor.insert_slice %[[PIECE]] into %[[ACC]][%[[B]], 0, %[[AT]], 0] [1, 4, %[[COUNT]], 8] [1, 1, 1, 1] : tensor<1x4x?x8xf32> into tensor<2x4x16x8xf32>
// CHECK: scf.yield %[[NEXT]] : tensor<2x4x16x8xf32>
// CHECK: return %[[R]] : tensor<2x4x16x8xf32>
// CHECK-NOT: kiln.kv_cache_update
func.func @kv_cache_update_linear(%c: tensor<2x4x16x8xf32>, %u: tensor<2x4x3x8xf32>, %p: tensor<2xi64>) -> tensor<2x4x16x8xf32> {
  %0 = kiln.kv_cache_update %c, %u, %p {axis = 2 : i64} : (tensor<2x4x16x8xf32>, tensor<2x4x3x8xf32>, tensor<2xi64>) -> tensor<2x4x16x8xf32>
  return %0 : tensor<2x4x16x8xf32>
}

// -----

// Circular kv_cache_update of a [2, 4, 8] cache (M = 4) with T = 3 along
// axis 1: slot j holds the update's latest position congruent to it,
// p = last - ((last - j) rem 4 + 4) rem 4 with last = positions[b] + 3 - 1,
// which is update position s = p - positions[b] when s >= 0 (and p >= 0).
// CHECK: #[[ID3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func @kv_cache_update_circular
// CHECK-SAME: (%[[CACHE:[a-z0-9]+]]: tensor<2x4x8xi32>, %[[UPD:[a-z0-9]+]]: tensor<2x3x8xi32>, %[[POS:[a-z0-9]+]]: tensor<2xi64>)
// CHECK: %[[R:.+]] = linalg.generic {indexing_maps = [#[[ID3]], #[[ID3]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[CACHE]] : tensor<2x4x8xi32>) outs(%{{.+}} : tensor<2x4x8xi32>)
// CHECK: ^bb0(%[[OLD:.+]]: i32, %{{.+}}: i32):
// CHECK: %[[B:.+]] = linalg.index 0 : index
// CHECK: %[[J:.+]] = linalg.index 1 : index
// CHECK: %[[P64:.+]] = tensor.extract %[[POS]][%[[B]]] : tensor<2xi64>
// CHECK: %[[P:.+]] = arith.index_cast %[[P64]] : i64 to index
// CHECK: %[[END:.+]] = arith.addi %[[P]], %{{.+}} : index
// CHECK: %[[LAST:.+]] = arith.subi %[[END]], %{{.+}} : index
// CHECK: %[[M:.+]] = arith.constant 4 : index
// CHECK: %[[D:.+]] = arith.subi %[[LAST]], %[[J]] : index
// CHECK: %[[R1:.+]] = arith.remsi %[[D]], %[[M]] : index
// CHECK: %[[R2:.+]] = arith.addi %[[R1]], %[[M]] : index
// CHECK: %[[BACK:.+]] = arith.remsi %[[R2]], %[[M]] : index
// CHECK: %[[AT:.+]] = arith.subi %[[LAST]], %[[BACK]] : index
// CHECK: %[[S:.+]] = arith.subi %[[AT]], %[[P]] : index
// CHECK-NOT: arith.divsi
// CHECK-DAG: %[[NONNEG:.+]] = arith.cmpi sge, %[[AT]], %{{.+}} : index
// CHECK-DAG: %[[ABOVE:.+]] = arith.cmpi sge, %[[S]], %{{.+}} : index
// CHECK: %[[HIT:.+]] = arith.andi %[[ABOVE]], %[[NONNEG]] : i1
// CHECK: %[[SAFE:.+]] = arith.select %[[HIT]], %[[S]], %{{.+}} : index
// CHECK: %[[I0:.+]] = linalg.index 0 : index
// CHECK: %[[I2:.+]] = linalg.index 2 : index
// CHECK: %[[NEW:.+]] = tensor.extract %[[UPD]][%[[I0]], %[[SAFE]], %[[I2]]] : tensor<2x3x8xi32>
// CHECK: %[[V:.+]] = arith.select %[[HIT]], %[[NEW]], %[[OLD]] : i32
// CHECK: linalg.yield %[[V]] : i32
// CHECK: return %[[R]] : tensor<2x4x8xi32>
// CHECK-NOT: kiln.kv_cache_update
func.func @kv_cache_update_circular(%c: tensor<2x4x8xi32>, %u: tensor<2x3x8xi32>, %p: tensor<2xi64>) -> tensor<2x4x8xi32> {
  %0 = kiln.kv_cache_update %c, %u, %p {axis = 1 : i64, circular = true} : (tensor<2x4x8xi32>, tensor<2x3x8xi32>, tensor<2xi64>) -> tensor<2x4x8xi32>
  return %0 : tensor<2x4x8xi32>
}
