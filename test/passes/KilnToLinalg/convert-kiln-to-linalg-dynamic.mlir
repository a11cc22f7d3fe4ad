// RUN: kiln-opt %s -split-input-file -kiln-convert-kiln-to-linalg | FileCheck %s

// Dynamic dimensions: every allocation takes its `?` sizes from tensor.dim of
// the operand that the op's shape rule names (ReifyRankedShapedTypeOpInterface),
// or from the input a generic reads along that loop. Batch x sequence
// (tensor<?x?x...>) checks that dims 0 and 1 are not confused.

// The matmul's rows come from the lhs (dims 0 and 1, not confused), the
// add's from the matmul's result.
// CHECK-LABEL: func.func @matmul_add(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x?x64xf32>
// CHECK: %[[B:.+]] = tensor.dim %[[X]], %c0 : tensor<?x?x64xf32>
// CHECK: %[[S:.+]] = tensor.dim %[[X]], %c1 : tensor<?x?x64xf32>
// CHECK: %[[E:.+]] = tensor.empty(%[[B]], %[[S]]) : tensor<?x?x32xf32>
// CHECK: %[[F:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[E]] : tensor<?x?x32xf32>)
// CHECK: %[[MM:.+]] = linalg.generic {{.+}} ins(%[[X]], %{{.+}} : tensor<?x?x64xf32>, tensor<64x32xf32>) outs(%[[F]] : tensor<?x?x32xf32>)
// CHECK: %[[B2:.+]] = tensor.dim %[[MM]], %{{.+}} : tensor<?x?x32xf32>
// CHECK: %[[S2:.+]] = tensor.dim %[[MM]], %{{.+}} : tensor<?x?x32xf32>
// CHECK: %[[E2:.+]] = tensor.empty(%[[B2]], %[[S2]]) : tensor<?x?x32xf32>
// CHECK: linalg.generic {{.+}} ins(%[[MM]], %{{.+}} : tensor<?x?x32xf32>, tensor<32xf32>) outs(%[[E2]] : tensor<?x?x32xf32>)
func.func @matmul_add(%x: tensor<?x?x64xf32>, %w: tensor<64x32xf32>, %b: tensor<32xf32>) -> tensor<?x?x32xf32> {
  %0 = kiln.matmul %x, %w : (tensor<?x?x64xf32>, tensor<64x32xf32>) -> tensor<?x?x32xf32>
  %1 = kiln.add %0, %b : (tensor<?x?x32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  return %1 : tensor<?x?x32xf32>
}

// -----

// CHECK-LABEL: func.func @reduce_keepdims(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x?x32xf32>
// CHECK: %[[B:.+]] = tensor.dim %[[X]], %c0 : tensor<?x?x32xf32>
// CHECK: %[[S:.+]] = tensor.dim %[[X]], %c1 : tensor<?x?x32xf32>
// CHECK: %[[E:.+]] = tensor.empty(%[[B]], %[[S]]) : tensor<?x?xf32>
// CHECK: %[[R:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: tensor.expand_shape %[[R]] {{\[\[}}0], [1, 2]] output_shape [%{{.+}}, %{{.+}}, 1] : tensor<?x?xf32> into tensor<?x?x1xf32>
func.func @reduce_keepdims(%x: tensor<?x?x32xf32>) -> tensor<?x?x1xf32> {
  %0 = kiln.reduce_max %x {axes = array<i64: 2>, keepdims = true} : tensor<?x?x32xf32> -> tensor<?x?x1xf32>
  return %0 : tensor<?x?x1xf32>
}

// -----

// Result dim 0 is input dim 1 and result dim 2 input dim 0.
// CHECK-LABEL: func.func @transpose(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x?x64xf32>
// CHECK: %[[S:.+]] = tensor.dim %[[X]], %c1
// CHECK: %[[B:.+]] = tensor.dim %[[X]], %c0
// CHECK: %[[E:.+]] = tensor.empty(%[[S]], %[[B]]) : tensor<?x64x?xf32>
// CHECK: linalg.transpose ins(%[[X]] : tensor<?x?x64xf32>) outs(%[[E]] : tensor<?x64x?xf32>) permutation = [1, 2, 0]
func.func @transpose(%x: tensor<?x?x64xf32>) -> tensor<?x64x?xf32> {
  %0 = kiln.transpose %x {permutation = array<i64: 1, 2, 0>} : tensor<?x?x64xf32> -> tensor<?x64x?xf32>
  return %0 : tensor<?x64x?xf32>
}

// -----

// The result's leading dims are the indices'.
// CHECK-LABEL: func.func @embedding(
// CHECK-SAME: %[[T:[a-z0-9]+]]: tensor<1000x64xf32>, %[[IDS:[a-z0-9]+]]: tensor<?x?xi64>
// CHECK: %[[B:.+]] = tensor.dim %[[IDS]], %c0
// CHECK: %[[S:.+]] = tensor.dim %[[IDS]], %c1
// CHECK: %[[E:.+]] = tensor.empty(%[[B]], %[[S]]) : tensor<?x?x64xf32>
// CHECK: linalg.generic {{.+}} ins(%[[IDS]] : tensor<?x?xi64>) outs(%[[E]] : tensor<?x?x64xf32>)
// CHECK: tensor.extract %[[T]]
func.func @embedding(%t: tensor<1000x64xf32>, %ids: tensor<?x?xi64>) -> tensor<?x?x64xf32> {
  %0 = kiln.gather %t, %ids {axis = 0 : i64} : (tensor<1000x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// The result's axis is the sum of the inputs'; the second input lands at
// the first one's size.
// CHECK-LABEL: func.func @concat(
// CHECK-SAME: %[[A:[a-z0-9]+]]: tensor<?x2x?xf32>, %[[B:[a-z0-9]+]]: tensor<?x2x?xf32>
// CHECK: %[[N:.+]] = tensor.dim %[[A]], %{{.+}} : tensor<?x2x?xf32>
// CHECK: %[[LA:.+]] = tensor.dim %[[A]], %{{.+}} : tensor<?x2x?xf32>
// CHECK: %[[LB:.+]] = tensor.dim %[[B]], %{{.+}} : tensor<?x2x?xf32>
// CHECK: %[[L:.+]] = arith.addi %[[LA]], %[[LB]] : index
// CHECK: %[[E:.+]] = tensor.empty(%[[N]], %[[L]]) : tensor<?x2x?xf32>
// CHECK: %[[NA:.+]] = tensor.dim %[[A]], %{{.+}}
// CHECK: %[[KA:.+]] = tensor.dim %[[A]], %{{.+}}
// CHECK: %[[I0:.+]] = tensor.insert_slice %[[A]] into %[[E]][0, 0, 0] [%[[NA]], 2, %[[KA]]] [1, 1, 1]
// CHECK: %[[NB:.+]] = tensor.dim %[[B]], %{{.+}}
// CHECK: %[[KB:.+]] = tensor.dim %[[B]], %{{.+}}
// CHECK: tensor.insert_slice %[[B]] into %[[I0]][0, 0, %[[KA]]] [%[[NB]], 2, %[[KB]]] [1, 1, 1]
func.func @concat(%a: tensor<?x2x?xf32>, %b: tensor<?x2x?xf32>) -> tensor<?x2x?xf32> {
  %0 = kiln.concat %a, %b {axis = 2 : i64} : (tensor<?x2x?xf32>, tensor<?x2x?xf32>) -> tensor<?x2x?xf32>
  return %0 : tensor<?x2x?xf32>
}

// -----

// CHECK-LABEL: func.func @slice(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x?x64xf32>
// CHECK: %[[B:.+]] = tensor.dim %[[X]], %c0 : tensor<?x?x64xf32>
// CHECK: %[[S:.+]] = tensor.dim %[[X]], %c1 : tensor<?x?x64xf32>
// CHECK: tensor.extract_slice %[[X]][0, 0, 32] [%[[B]], %[[S]], 32] [1, 1, 1] : tensor<?x?x64xf32> to tensor<?x?x32xf32>
func.func @slice(%x: tensor<?x?x64xf32>) -> tensor<?x?x32xf32> {
  %0 = kiln.slice %x {starts = array<i64: 0, 0, 32>, steps = array<i64: 1, 1, 1>} : tensor<?x?x64xf32> -> tensor<?x?x32xf32>
  return %0 : tensor<?x?x32xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_heads(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x?x64xf32>
// CHECK: %[[B:.+]] = tensor.dim %[[X]], %{{.+}}
// CHECK: %[[S:.+]] = tensor.dim %[[X]], %{{.+}}
// CHECK: tensor.expand_shape %[[X]] {{\[\[}}0], [1], [2, 3]] output_shape [%[[B]], %[[S]], 4, 16] : tensor<?x?x64xf32> into tensor<?x?x4x16xf32>
func.func @reshape_heads(%x: tensor<?x?x64xf32>) -> tensor<?x?x4x16xf32> {
  %0 = kiln.reshape %x : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  return %0 : tensor<?x?x4x16xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_merge(
// CHECK: tensor.collapse_shape %{{.+}} {{\[\[}}0, 1], [2, 3]] : tensor<?x?x4x16xf32> into tensor<?x64xf32>
func.func @reshape_merge(%x: tensor<?x?x4x16xf32>) -> tensor<?x64xf32> {
  %0 = kiln.reshape %x : tensor<?x?x4x16xf32> -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// -----

// Broadcasting: dim 0 from either operand (the first), dim 2 from the lhs
// (the rhs has a static 1 there).
// CHECK-LABEL: func.func @where_compare_cast(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x1x?xf32>, %[[Y:[a-z0-9]+]]: tensor<?x8x1xf32>
// CHECK: %[[B:.+]] = tensor.dim %[[X]], %c0
// CHECK: %[[N:.+]] = tensor.dim %[[X]], %c2
// CHECK: %[[E:.+]] = tensor.empty(%[[B]], %[[N]]) : tensor<?x8x?xi1>
// CHECK: %[[CMP:.+]] = linalg.generic {{.+}} outs(%[[E]] : tensor<?x8x?xi1>)
// CHECK: tensor.dim %[[CMP]]
// CHECK: tensor.empty({{.+}}) : tensor<?x8x?xf32>
// CHECK: tensor.empty({{.+}}) : tensor<?x8x?xi32>
func.func @where_compare_cast(%x: tensor<?x1x?xf32>, %y: tensor<?x8x1xf32>) -> tensor<?x8x?xi32> {
  %c = kiln.compare lt, %x, %y : (tensor<?x1x?xf32>, tensor<?x8x1xf32>) -> tensor<?x8x?xi1>
  %s = kiln.select %c, %x, %y : (tensor<?x8x?xi1>, tensor<?x1x?xf32>, tensor<?x8x1xf32>) -> tensor<?x8x?xf32>
  %i = kiln.cast %s : tensor<?x8x?xf32> -> tensor<?x8x?xi32>
  return %i : tensor<?x8x?xi32>
}

// -----

// CHECK-LABEL: func.func @top_k(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x8xf32>
// CHECK: tensor.empty(%{{.+}}) : tensor<?x8xi64>
// CHECK: %[[T:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x8xf32>
// CHECK: tensor.empty(%[[T]]) : tensor<?x2xf32>
// CHECK: tensor.empty(%{{.+}}) : tensor<?x2xi64>
func.func @top_k(%x: tensor<?x8xf32>) -> (tensor<?x2xf32>, tensor<?x2xi64>) {
  %v, %i = kiln.top_k %x {axis = 1 : i64, k = 2 : i64} : tensor<?x8xf32> -> (tensor<?x2xf32>, tensor<?x2xi64>)
  return %v, %i : tensor<?x2xf32>, tensor<?x2xi64>
}

// -----

// Positions clamp into a dynamic table: its length comes from tensor.dim.
// CHECK-LABEL: func.func @rope(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x4x?x16xf32>, %[[COS:[a-z0-9]+]]: tensor<?x8xf32>
// CHECK: %[[P:.+]] = tensor.dim %[[COS]], %{{.+}} : tensor<?x8xf32>
// CHECK: %[[B:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x4x?x16xf32>
// CHECK: %[[S:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x4x?x16xf32>
// CHECK: tensor.empty(%[[B]], %[[S]]) : tensor<?x4x?x16xf32>
// CHECK: arith.subi %[[P]], %{{.+}} : index
func.func @rope(%x: tensor<?x4x?x16xf32>, %cos: tensor<?x8xf32>, %pos: tensor<?x?xi64>) -> tensor<?x4x?x16xf32> {
  %0 = kiln.rope %x, %cos, %cos positions %pos : (tensor<?x4x?x16xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x?xi64>) -> tensor<?x4x?x16xf32>
  return %0 : tensor<?x4x?x16xf32>
}

// -----

// The reference lowering loops over a dynamic number of tokens.
// CHECK-LABEL: func.func @moe_experts(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x4xf32>
// CHECK: %[[T:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x4xf32>
// CHECK: tensor.empty(%[[T]]) : tensor<?x4xf32>
// CHECK: %[[T2:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x4xf32>
// CHECK: scf.for %{{.+}} = %{{.+}} to %[[T2]] step
func.func @moe_experts(%x: tensor<?x4xf32>, %e: tensor<?x2xi64>, %w: tensor<?x2xf32>, %g: tensor<2x4x4xf32>, %d: tensor<2x4x4xf32>) -> tensor<?x4xf32> {
  %y = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<relu>} : (tensor<?x4xf32>, tensor<?x2xi64>, tensor<?x2xf32>, tensor<2x4x4xf32>, tensor<2x4x4xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
