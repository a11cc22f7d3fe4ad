// RUN: kiln-opt %s -kiln-convert-kiln-to-linalg -split-input-file | FileCheck %s

// Lowering of the data-dependent indexing ops. top_k, gather_elements and
// one_hot become linalg.generic ops; the scatters become scf.for nests over
// the updates that carry the result tensor through iter_args and write it
// with tensor.insert under an scf.if that skips out-of-range indices.

// top_k: a first generic counts, for every element, the elements along the
// axis that beat it (a reduction over the extra loop d2, ties broken by the
// lower index); a second generic with two outputs picks, for output slot r,
// the element whose rank is r and its index.
// CHECK-DAG: #[[SELF:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[OTHER:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func @top_k
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<4x8xf32>)
// CHECK: %[[RZERO:.+]] = linalg.fill ins(%{{.+}} : i64) outs(%{{.+}} : tensor<4x8xi64>) -> tensor<4x8xi64>
// CHECK: %[[RANKS:.+]] = linalg.generic {indexing_maps = [#[[SELF]], #[[OTHER]], #[[SELF]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]], %[[X]] : tensor<4x8xf32>, tensor<4x8xf32>) outs(%[[RZERO]] : tensor<4x8xi64>)
// CHECK: ^bb0(%[[MINE:.+]]: f32, %[[THEIRS:.+]]: f32, %[[ACC:.+]]: i64):
// CHECK: %[[I:.+]] = linalg.index 1 : index
// CHECK: %[[J:.+]] = linalg.index 2 : index
// CHECK: %[[GT:.+]] = arith.cmpf ogt, %[[THEIRS]], %[[MINE]] : f32
// CHECK: %[[EQ:.+]] = arith.cmpf oeq, %[[THEIRS]], %[[MINE]] : f32
// CHECK: %[[EARLIER:.+]] = arith.cmpi ult, %[[J]], %[[I]] : index
// CHECK: %[[TIE:.+]] = arith.andi %[[EQ]], %[[EARLIER]] : i1
// CHECK: %[[BEATS:.+]] = arith.ori %[[GT]], %[[TIE]] : i1
// CHECK: %[[ONE:.+]] = arith.extui %[[BEATS]] : i1 to i64
// CHECK: %[[NEXT:.+]] = arith.addi %[[ACC]], %[[ONE]] : i64
// CHECK: linalg.yield %[[NEXT]] : i64
// CHECK: } -> tensor<4x8xi64>
// CHECK: %[[VINIT:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<4x3xf32>) -> tensor<4x3xf32>
// CHECK: %[[IINIT:.+]] = linalg.fill ins(%{{.+}} : i64) outs(%{{.+}} : tensor<4x3xi64>) -> tensor<4x3xi64>
// CHECK: %[[PICK:.+]]:2 = linalg.generic {indexing_maps = [#[[OTHER]], #[[OTHER]], #[[SELF]], #[[SELF]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]], %[[RANKS]] : tensor<4x8xf32>, tensor<4x8xi64>) outs(%[[VINIT]], %[[IINIT]] : tensor<4x3xf32>, tensor<4x3xi64>)
// CHECK: ^bb0(%[[V:.+]]: f32, %[[RANK:.+]]: i64, %[[VOUT:.+]]: f32, %[[IOUT:.+]]: i64):
// CHECK: %[[SLOTX:.+]] = linalg.index 1 : index
// CHECK: %[[SLOT:.+]] = arith.index_cast %[[SLOTX]] : index to i64
// CHECK: %[[POSX:.+]] = linalg.index 2 : index
// CHECK: %[[POS:.+]] = arith.index_cast %[[POSX]] : index to i64
// CHECK: %[[MATCH:.+]] = arith.cmpi eq, %[[RANK]], %[[SLOT]] : i64
// CHECK: %[[SV:.+]] = arith.select %[[MATCH]], %[[V]], %[[VOUT]] : f32
// CHECK: %[[SI:.+]] = arith.select %[[MATCH]], %[[POS]], %[[IOUT]] : i64
// CHECK: linalg.yield %[[SV]], %[[SI]] : f32, i64
// CHECK: } -> (tensor<4x3xf32>, tensor<4x3xi64>)
// CHECK: return %[[PICK]]#0, %[[PICK]]#1
// CHECK-NOT: kiln.top_k
func.func @top_k(%x: tensor<4x8xf32>) -> (tensor<4x3xf32>, tensor<4x3xi64>) {
  %v, %i = kiln.top_k %x {axis = 1 : i64, k = 3 : i64} : tensor<4x8xf32> -> (tensor<4x3xf32>, tensor<4x3xi64>)
  return %v, %i : tensor<4x3xf32>, tensor<4x3xi64>
}

// -----

// top_k along axis 0 of integers, smallest first: the comparison is a signed
// "less than" and the extra loop replaces d0.
// CHECK-DAG: #[[SELF:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[OTHER:.+]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-LABEL: func @top_k_smallest
// CHECK: linalg.generic {indexing_maps = [#[[SELF]], #[[OTHER]], #[[SELF]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.+}}, %{{.+}} : tensor<5x2xi32>, tensor<5x2xi32>) outs(%{{.+}} : tensor<5x2xi64>)
// CHECK: ^bb0(%[[MINE:.+]]: i32, %[[THEIRS:.+]]: i32, %{{.+}}: i64):
// CHECK: %[[I:.+]] = linalg.index 0 : index
// CHECK: %[[J:.+]] = linalg.index 2 : index
// CHECK: arith.cmpi slt, %[[THEIRS]], %[[MINE]] : i32
// CHECK: arith.cmpi eq, %[[THEIRS]], %[[MINE]] : i32
// CHECK: arith.cmpi ult, %[[J]], %[[I]] : index
// CHECK: linalg.generic {indexing_maps = [#[[OTHER]], #[[OTHER]], #[[SELF]], #[[SELF]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.+}}, %{{.+}} : tensor<5x2xi32>, tensor<5x2xi64>) outs(%{{.+}}, %{{.+}} : tensor<2x2xi32>, tensor<2x2xi64>)
// CHECK: linalg.index 0 : index
// CHECK: arith.select %{{.+}}, %{{.+}}, %{{.+}} : i32
// CHECK: arith.select %{{.+}}, %{{.+}}, %{{.+}} : i64
// CHECK-NOT: arith.cmpf
// CHECK-NOT: kiln.top_k
func.func @top_k_smallest(%x: tensor<5x2xi32>) -> (tensor<2x2xi32>, tensor<2x2xi64>) {
  %v, %i = kiln.top_k %x {axis = 0 : i64, k = 2 : i64, largest = false} : tensor<5x2xi32> -> (tensor<2x2xi32>, tensor<2x2xi64>)
  return %v, %i : tensor<2x2xi32>, tensor<2x2xi64>
}

// -----

// top_k of floats, smallest first, compares with olt.
// CHECK-LABEL: func @top_k_smallest_float
// CHECK: arith.cmpf olt
// CHECK: arith.cmpf oeq
// CHECK-NOT: arith.cmpf ogt
func.func @top_k_smallest_float(%x: tensor<6xf16>) -> (tensor<1xf16>, tensor<1xi64>) {
  %v, %i = kiln.top_k %x {axis = 0 : i64, k = 1 : i64, largest = false} : tensor<6xf16> -> (tensor<1xf16>, tensor<1xi64>)
  return %v, %i : tensor<1xf16>, tensor<1xi64>
}

// -----

// gather_elements: one elementwise generic over the indices; the index is
// made non-negative (adding the axis length 8), clamped to [0, 7] and read
// with tensor.extract at (d0, index).
// CHECK: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @gather_elements
// CHECK-SAME: (%[[D:[a-z0-9]+]]: tensor<4x8xf32>, %[[IDX:[a-z0-9]+]]: tensor<4x2xi64>)
// CHECK: %[[INIT:.+]] = tensor.empty() : tensor<4x2xf32>
// CHECK: %[[R:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[IDX]] : tensor<4x2xi64>) outs(%[[INIT]] : tensor<4x2xf32>)
// CHECK: ^bb0(%[[IN:.+]]: i64, %{{.+}}: f32):
// CHECK: %[[RAW:.+]] = arith.index_cast %[[IN]] : i64 to index
// CHECK: %[[C0:.+]] = arith.constant 0 : index
// CHECK: %[[C8:.+]] = arith.constant 8 : index
// CHECK: %[[NEG:.+]] = arith.cmpi slt, %[[RAW]], %[[C0]] : index
// CHECK: %[[WRAP:.+]] = arith.addi %[[RAW]], %[[C8]] : index
// CHECK: %[[NORM:.+]] = arith.select %[[NEG]], %[[WRAP]], %[[RAW]] : index
// CHECK: %[[LO:.+]] = arith.maxsi %[[NORM]], %{{.+}} : index
// CHECK: %[[C7:.+]] = arith.constant 7 : index
// CHECK: %[[CL:.+]] = arith.minsi %[[LO]], %[[C7]] : index
// CHECK: %[[ROW:.+]] = linalg.index 0 : index
// CHECK: %[[E:.+]] = tensor.extract %[[D]][%[[ROW]], %[[CL]]] : tensor<4x8xf32>
// CHECK: linalg.yield %[[E]] : f32
// CHECK: return %[[R]]
// CHECK-NOT: kiln.gather_elements
func.func @gather_elements(%d: tensor<4x8xf32>, %i: tensor<4x2xi64>) -> tensor<4x2xf32> {
  %0 = kiln.gather_elements %d, %i {axis = 1 : i64} : (tensor<4x8xf32>, tensor<4x2xi64>) -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

// gather_elements along axis 0 with i32 indices reads at (index, d1).
// CHECK-LABEL: func @gather_elements_axis0
// CHECK-SAME: (%[[D:[a-z0-9]+]]: tensor<4x8xi16>, %[[IDX:[a-z0-9]+]]: tensor<2x8xi32>)
// CHECK: linalg.generic {{.+}} ins(%[[IDX]] : tensor<2x8xi32>) outs(%{{.+}} : tensor<2x8xi16>)
// CHECK: ^bb0(%[[IN:.+]]: i32, %{{.+}}: i16):
// CHECK: arith.index_cast %[[IN]] : i32 to index
// CHECK: %[[C4:.+]] = arith.constant 4 : index
// CHECK: arith.addi %{{.+}}, %[[C4]] : index
// CHECK: %[[C3:.+]] = arith.constant 3 : index
// CHECK: %[[CL:.+]] = arith.minsi %{{.+}}, %[[C3]] : index
// CHECK: %[[COL:.+]] = linalg.index 1 : index
// CHECK: tensor.extract %[[D]][%[[CL]], %[[COL]]] : tensor<4x8xi16>
func.func @gather_elements_axis0(%d: tensor<4x8xi16>, %i: tensor<2x8xi32>) -> tensor<2x8xi16> {
  %0 = kiln.gather_elements %d, %i {axis = 0 : i64} : (tensor<4x8xi16>, tensor<2x8xi32>) -> tensor<2x8xi16>
  return %0 : tensor<2x8xi16>
}

// -----

// one_hot: one generic over the result; the indices are read without the
// depth dimension (axis 1 here), the index is made non-negative (adding the
// depth 5), checked to lie in [0, 5), compared with linalg.index 1 and the
// on/off values selected.
// CHECK-DAG: #[[IDX_MAP:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func @one_hot
// CHECK-SAME: (%[[IDX:[a-z0-9]+]]: tensor<2x3xi64>)
// CHECK: %[[INIT:.+]] = tensor.empty() : tensor<2x5x3xf32>
// CHECK: %[[R:.+]] = linalg.generic {indexing_maps = [#[[IDX_MAP]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[IDX]] : tensor<2x3xi64>) outs(%[[INIT]] : tensor<2x5x3xf32>)
// CHECK: ^bb0(%[[IN:.+]]: i64, %{{.+}}: f32):
// CHECK: %[[RAW:.+]] = arith.index_cast %[[IN]] : i64 to index
// CHECK: %[[C0:.+]] = arith.constant 0 : index
// CHECK: %[[C5:.+]] = arith.constant 5 : index
// CHECK: %[[NEG:.+]] = arith.cmpi slt, %[[RAW]], %[[C0]] : index
// CHECK: %[[WRAP:.+]] = arith.addi %[[RAW]], %[[C5]] : index
// CHECK: %[[NORM:.+]] = arith.select %[[NEG]], %[[WRAP]], %[[RAW]] : index
// CHECK-DAG: %[[BELOW:.+]] = arith.cmpi slt, %[[NORM]], %[[C5]] : index
// CHECK-DAG: %[[ABOVE:.+]] = arith.cmpi sge, %[[NORM]], %[[C0]] : index
// CHECK: %[[IN_RANGE:.+]] = arith.andi %[[ABOVE]], %[[BELOW]] : i1
// CHECK: %[[DEPTH:.+]] = linalg.index 1 : index
// CHECK: %[[SAME:.+]] = arith.cmpi eq, %[[NORM]], %[[DEPTH]] : index
// CHECK: %[[HIT:.+]] = arith.andi %[[IN_RANGE]], %[[SAME]] : i1
// CHECK-DAG: %[[ON:.+]] = arith.constant 2.500000e+00 : f32
// CHECK-DAG: %[[OFF:.+]] = arith.constant -1.000000e+00 : f32
// CHECK: %[[V:.+]] = arith.select %[[HIT]], %[[ON]], %[[OFF]] : f32
// CHECK: linalg.yield %[[V]] : f32
// CHECK: return %[[R]]
// CHECK-NOT: kiln.one_hot
func.func @one_hot(%i: tensor<2x3xi64>) -> tensor<2x5x3xf32> {
  %0 = kiln.one_hot %i {axis = 1 : i64, depth = 5 : i64, off_value = -1.0 : f64, on_value = 2.5 : f64} : tensor<2x3xi64> -> tensor<2x5x3xf32>
  return %0 : tensor<2x5x3xf32>
}

// -----

// one_hot with the depth first (axis 0), i32 indices and an integer result.
// CHECK-DAG: #[[IDX_MAP:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @one_hot_first
// CHECK: linalg.generic {indexing_maps = [#[[IDX_MAP]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%{{.+}} : tensor<3xi32>) outs(%{{.+}} : tensor<4x3xi64>)
// CHECK: arith.index_cast %{{.+}} : i32 to index
// CHECK: %[[DEPTH:.+]] = linalg.index 0 : index
// CHECK: arith.cmpi eq, %{{.+}}, %[[DEPTH]] : index
// CHECK-DAG: %[[ON:.+]] = arith.constant 7 : i64
// CHECK-DAG: %[[OFF:.+]] = arith.constant 0 : i64
// CHECK: arith.select %{{.+}}, %[[ON]], %[[OFF]] : i64
func.func @one_hot_first(%i: tensor<3xi32>) -> tensor<4x3xi64> {
  %0 = kiln.one_hot %i {axis = 0 : i64, depth = 4 : i64, off_value = 0.0 : f64, on_value = 7.0 : f64} : tensor<3xi32> -> tensor<4x3xi64>
  return %0 : tensor<4x3xi64>
}

// -----

// one_hot with the depth last.
// CHECK-DAG: #[[IDX_MAP:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func @one_hot_last
// CHECK: linalg.generic {indexing_maps = [#[[IDX_MAP]], #{{.+}}], iterator_types = ["parallel", "parallel"]} ins(%{{.+}} : tensor<16xi64>) outs(%{{.+}} : tensor<16x8xf16>)
// CHECK: linalg.index 1 : index
func.func @one_hot_last(%i: tensor<16xi64>) -> tensor<16x8xf16> {
  %0 = kiln.one_hot %i {axis = 1 : i64, depth = 8 : i64, off_value = 0.0 : f64, on_value = 1.0 : f64} : tensor<16xi64> -> tensor<16x8xf16>
  return %0 : tensor<16x8xf16>
}

// -----

// scatter_elements with add: two nested loops over the updates [3, 4] carry
// the data. The index, read at (i, j), is made non-negative (adding 8) and
// clamped; when it lands in [0, 8) the element at (index, j) is read,
// added to and written back.
// CHECK-LABEL: func @scatter_elements_add
// CHECK-SAME: (%[[D:[a-z0-9]+]]: tensor<8x4xf32>, %[[IDX:[a-z0-9]+]]: tensor<3x4xi64>, %[[U:[a-z0-9]+]]: tensor<3x4xf32>)
// CHECK-NOT: linalg.generic
// CHECK-DAG: %[[C3:.+]] = arith.constant 3 : index
// CHECK-DAG: %[[C4:.+]] = arith.constant 4 : index
// CHECK: %[[R:.+]] = scf.for %[[I:.+]] = %{{.+}} to %[[C3]] step %{{.+}} iter_args(%[[ACC0:.+]] = %[[D]]) -> (tensor<8x4xf32>) {
// CHECK: %[[INNER:.+]] = scf.for %[[J:.+]] = %{{.+}} to %[[C4]] step %{{.+}} iter_args(%[[ACC:.+]] = %[[ACC0]]) -> (tensor<8x4xf32>) {
// CHECK: %[[RAWI:.+]] = tensor.extract %[[IDX]][%[[I]], %[[J]]] : tensor<3x4xi64>
// CHECK: %[[RAW:.+]] = arith.index_cast %[[RAWI]] : i64 to index
// CHECK: %[[C0:.+]] = arith.constant 0 : index
// CHECK: %[[C8:.+]] = arith.constant 8 : index
// CHECK: %[[NEG:.+]] = arith.cmpi slt, %[[RAW]], %[[C0]] : index
// CHECK: %[[WRAP:.+]] = arith.addi %[[RAW]], %[[C8]] : index
// CHECK: %[[NORM:.+]] = arith.select %[[NEG]], %[[WRAP]], %[[RAW]] : index
// CHECK-DAG: %[[BELOW:.+]] = arith.cmpi slt, %[[NORM]], %[[C8]] : index
// CHECK-DAG: %[[ABOVE:.+]] = arith.cmpi sge, %[[NORM]], %[[C0]] : index
// CHECK: %[[VALID:.+]] = arith.andi %[[ABOVE]], %[[BELOW]] : i1
// CHECK: %[[LO:.+]] = arith.maxsi %[[NORM]], %{{.+}} : index
// CHECK: %[[ROW:.+]] = arith.minsi %[[LO]], %{{.+}} : index
// CHECK: %[[UPD:.+]] = tensor.extract %[[U]][%[[I]], %[[J]]] : tensor<3x4xf32>
// CHECK: %[[NEXT:.+]] = scf.if %[[VALID]] -> (tensor<8x4xf32>) {
// CHECK: %[[CUR:.+]] = tensor.extract %[[ACC]][%[[ROW]], %[[J]]] : tensor<8x4xf32>
// CHECK: %[[SUM:.+]] = arith.addf %[[CUR]], %[[UPD]] : f32
// CHECK: %[[INS:.+]] = tensor.insert %[[SUM]] into %[[ACC]][%[[ROW]], %[[J]]] : tensor<8x4xf32>
// CHECK: scf.yield %[[INS]] : tensor<8x4xf32>
// CHECK: } else {
// CHECK: scf.yield %[[ACC]] : tensor<8x4xf32>
// CHECK: }
// CHECK: scf.yield %[[NEXT]] : tensor<8x4xf32>
// CHECK: }
// CHECK: scf.yield %[[INNER]] : tensor<8x4xf32>
// CHECK: }
// CHECK: return %[[R]]
// CHECK-NOT: kiln.scatter_elements
func.func @scatter_elements_add(%d: tensor<8x4xf32>, %i: tensor<3x4xi64>, %u: tensor<3x4xf32>) -> tensor<8x4xf32> {
  %0 = kiln.scatter_elements %d, %i, %u {axis = 0 : i64, reduction = #kiln.scatter_reduction<add>} : (tensor<8x4xf32>, tensor<3x4xi64>, tensor<3x4xf32>) -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

// With no reduction the update is written as it is; along axis 1 the index
// replaces the column.
// CHECK-LABEL: func @scatter_elements_none
// CHECK-SAME: (%[[D:[a-z0-9]+]]: tensor<8x4xi32>, %[[IDX:[a-z0-9]+]]: tensor<8x2xi32>, %[[U:[a-z0-9]+]]: tensor<8x2xi32>)
// CHECK: scf.for %[[I:.+]] = {{.+}} iter_args({{.+}} = %[[D]]) -> (tensor<8x4xi32>) {
// CHECK: scf.for %[[J:.+]] = {{.+}} iter_args(%[[ACC:.+]] = %{{.+}}) -> (tensor<8x4xi32>) {
// CHECK: tensor.extract %[[IDX]][%[[I]], %[[J]]] : tensor<8x2xi32>
// CHECK: arith.index_cast %{{.+}} : i32 to index
// CHECK: %[[COL:.+]] = arith.minsi
// CHECK: %[[UPD:.+]] = tensor.extract %[[U]][%[[I]], %[[J]]] : tensor<8x2xi32>
// CHECK: scf.if %{{.+}} -> (tensor<8x4xi32>) {
// CHECK: tensor.extract %[[ACC]][%[[I]], %[[COL]]] : tensor<8x4xi32>
// CHECK-NEXT: %[[INS:.+]] = tensor.insert %[[UPD]] into %[[ACC]][%[[I]], %[[COL]]] : tensor<8x4xi32>
// CHECK-NEXT: scf.yield %[[INS]] : tensor<8x4xi32>
func.func @scatter_elements_none(%d: tensor<8x4xi32>, %i: tensor<8x2xi32>, %u: tensor<8x2xi32>) -> tensor<8x4xi32> {
  %0 = kiln.scatter_elements %d, %i, %u {axis = 1 : i64} : (tensor<8x4xi32>, tensor<8x2xi32>, tensor<8x2xi32>) -> tensor<8x4xi32>
  return %0 : tensor<8x4xi32>
}

// -----

// The combining op of each reduction, for floats and for integers.
// CHECK-LABEL: func @scatter_elements_reductions
// CHECK: scf.if
// CHECK: arith.mulf %{{.+}}, %{{.+}} : f32
// CHECK: scf.if
// CHECK: arith.maximumf %{{.+}}, %{{.+}} : f32
// CHECK: scf.if
// CHECK: arith.minimumf %{{.+}}, %{{.+}} : f32
// CHECK: scf.if
// CHECK: arith.addi %{{.+}}, %{{.+}} : i32
// CHECK: scf.if
// CHECK: arith.muli %{{.+}}, %{{.+}} : i32
// CHECK: scf.if
// CHECK: arith.maxsi %{{.+}}, %{{.+}} : i32
// CHECK: scf.if
// CHECK: arith.minsi %{{.+}}, %{{.+}} : i32
func.func @scatter_elements_reductions(%d: tensor<4xf32>, %i: tensor<2xi64>, %u: tensor<2xf32>,
                                       %di: tensor<4xi32>, %ui: tensor<2xi32>)
    -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xi32>, tensor<4xi32>, tensor<4xi32>, tensor<4xi32>) {
  %0 = kiln.scatter_elements %d, %i, %u {axis = 0 : i64, reduction = #kiln.scatter_reduction<mul>} : (tensor<4xf32>, tensor<2xi64>, tensor<2xf32>) -> tensor<4xf32>
  %1 = kiln.scatter_elements %d, %i, %u {axis = 0 : i64, reduction = #kiln.scatter_reduction<max>} : (tensor<4xf32>, tensor<2xi64>, tensor<2xf32>) -> tensor<4xf32>
  %2 = kiln.scatter_elements %d, %i, %u {axis = 0 : i64, reduction = #kiln.scatter_reduction<min>} : (tensor<4xf32>, tensor<2xi64>, tensor<2xf32>) -> tensor<4xf32>
  %3 = kiln.scatter_elements %di, %i, %ui {axis = 0 : i64, reduction = #kiln.scatter_reduction<add>} : (tensor<4xi32>, tensor<2xi64>, tensor<2xi32>) -> tensor<4xi32>
  %4 = kiln.scatter_elements %di, %i, %ui {axis = 0 : i64, reduction = #kiln.scatter_reduction<mul>} : (tensor<4xi32>, tensor<2xi64>, tensor<2xi32>) -> tensor<4xi32>
  %5 = kiln.scatter_elements %di, %i, %ui {axis = 0 : i64, reduction = #kiln.scatter_reduction<max>} : (tensor<4xi32>, tensor<2xi64>, tensor<2xi32>) -> tensor<4xi32>
  %6 = kiln.scatter_elements %di, %i, %ui {axis = 0 : i64, reduction = #kiln.scatter_reduction<min>} : (tensor<4xi32>, tensor<2xi64>, tensor<2xi32>) -> tensor<4xi32>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xi32>, tensor<4xi32>, tensor<4xi32>, tensor<4xi32>
}

// -----

// scatter_nd with max over rows: loops over the updates [2, 4]; the one-entry
// tuple indices[i, 0] picks the row (made non-negative with 8, checked and
// clamped), the column is the loop's j, and integers combine with maxsi.
// CHECK-LABEL: func @scatter_nd_max
// CHECK-SAME: (%[[D:[a-z0-9]+]]: tensor<8x4xi32>, %[[IDX:[a-z0-9]+]]: tensor<2x1xi64>, %[[U:[a-z0-9]+]]: tensor<2x4xi32>)
// CHECK-NOT: linalg.generic
// CHECK-DAG: %[[C2:.+]] = arith.constant 2 : index
// CHECK-DAG: %[[C4:.+]] = arith.constant 4 : index
// CHECK: %[[R:.+]] = scf.for %[[I:.+]] = %{{.+}} to %[[C2]] step %{{.+}} iter_args(%[[ACC0:.+]] = %[[D]]) -> (tensor<8x4xi32>) {
// CHECK: %[[INNER:.+]] = scf.for %[[J:.+]] = %{{.+}} to %[[C4]] step %{{.+}} iter_args(%[[ACC:.+]] = %[[ACC0]]) -> (tensor<8x4xi32>) {
// CHECK: %[[TRUE:.+]] = arith.constant true
// CHECK: %[[K0:.+]] = arith.constant 0 : index
// CHECK: %[[RAWI:.+]] = tensor.extract %[[IDX]][%[[I]], %[[K0]]] : tensor<2x1xi64>
// CHECK: %[[RAW:.+]] = arith.index_cast %[[RAWI]] : i64 to index
// CHECK: %[[C8:.+]] = arith.constant 8 : index
// CHECK: arith.addi %[[RAW]], %[[C8]] : index
// CHECK: %[[IN_RANGE:.+]] = arith.andi %{{.+}}, %{{.+}} : i1
// CHECK: %[[VALID:.+]] = arith.andi %[[TRUE]], %[[IN_RANGE]] : i1
// CHECK: %[[ROW:.+]] = arith.minsi %{{.+}}, %{{.+}} : index
// CHECK: %[[UPD:.+]] = tensor.extract %[[U]][%[[I]], %[[J]]] : tensor<2x4xi32>
// CHECK: %[[NEXT:.+]] = scf.if %[[VALID]] -> (tensor<8x4xi32>) {
// CHECK: %[[CUR:.+]] = tensor.extract %[[ACC]][%[[ROW]], %[[J]]] : tensor<8x4xi32>
// CHECK: %[[MAX:.+]] = arith.maxsi %[[CUR]], %[[UPD]] : i32
// CHECK: %[[INS:.+]] = tensor.insert %[[MAX]] into %[[ACC]][%[[ROW]], %[[J]]] : tensor<8x4xi32>
// CHECK: scf.yield %[[INS]] : tensor<8x4xi32>
// CHECK: } else {
// CHECK: scf.yield %[[ACC]] : tensor<8x4xi32>
// CHECK: }
// CHECK: scf.yield %[[NEXT]] : tensor<8x4xi32>
// CHECK: }
// CHECK: scf.yield %[[INNER]] : tensor<8x4xi32>
// CHECK: }
// CHECK: return %[[R]]
// CHECK-NOT: kiln.scatter_nd
func.func @scatter_nd_max(%d: tensor<8x4xi32>, %i: tensor<2x1xi64>, %u: tensor<2x4xi32>) -> tensor<8x4xi32> {
  %0 = kiln.scatter_nd %d, %i, %u {reduction = #kiln.scatter_reduction<max>} : (tensor<8x4xi32>, tensor<2x1xi64>, tensor<2x4xi32>) -> tensor<8x4xi32>
  return %0 : tensor<8x4xi32>
}

// -----

// scatter_nd with add and two-entry tuples (single elements): one loop over
// the 3 tuples; each entry is checked against its own dimension (8, then 4)
// and both checks must pass.
// CHECK-LABEL: func @scatter_nd_add_elements
// CHECK-SAME: (%[[D:[a-z0-9]+]]: tensor<8x4xf32>, %[[IDX:[a-z0-9]+]]: tensor<3x2xi32>, %[[U:[a-z0-9]+]]: tensor<3xf32>)
// CHECK: %[[C3:.+]] = arith.constant 3 : index
// CHECK: scf.for %[[I:.+]] = %{{.+}} to %[[C3]] step %{{.+}} iter_args(%[[ACC:.+]] = %[[D]]) -> (tensor<8x4xf32>) {
// CHECK-NOT: scf.for
// CHECK: %[[K0:.+]] = arith.constant 0 : index
// CHECK: tensor.extract %[[IDX]][%[[I]], %[[K0]]] : tensor<3x2xi32>
// CHECK: %[[C8:.+]] = arith.constant 8 : index
// CHECK: %[[OK0:.+]] = arith.andi %{{.+}}, %{{.+}} : i1
// CHECK: %[[V0:.+]] = arith.andi %{{.+}}, %[[OK0]] : i1
// CHECK: %[[ROW:.+]] = arith.minsi %{{.+}}, %{{.+}} : index
// CHECK: %[[K1:.+]] = arith.constant 1 : index
// CHECK: tensor.extract %[[IDX]][%[[I]], %[[K1]]] : tensor<3x2xi32>
// CHECK: %[[C4:.+]] = arith.constant 4 : index
// CHECK: %[[OK1:.+]] = arith.andi %{{.+}}, %{{.+}} : i1
// CHECK: %[[VALID:.+]] = arith.andi %[[V0]], %[[OK1]] : i1
// CHECK: %[[COL:.+]] = arith.minsi %{{.+}}, %{{.+}} : index
// CHECK: %[[UPD:.+]] = tensor.extract %[[U]][%[[I]]] : tensor<3xf32>
// CHECK: scf.if %[[VALID]] -> (tensor<8x4xf32>) {
// CHECK: %[[CUR:.+]] = tensor.extract %[[ACC]][%[[ROW]], %[[COL]]] : tensor<8x4xf32>
// CHECK: %[[SUM:.+]] = arith.addf %[[CUR]], %[[UPD]] : f32
// CHECK: tensor.insert %[[SUM]] into %[[ACC]][%[[ROW]], %[[COL]]] : tensor<8x4xf32>
func.func @scatter_nd_add_elements(%d: tensor<8x4xf32>, %i: tensor<3x2xi32>, %u: tensor<3xf32>) -> tensor<8x4xf32> {
  %0 = kiln.scatter_nd %d, %i, %u {reduction = #kiln.scatter_reduction<add>} : (tensor<8x4xf32>, tensor<3x2xi32>, tensor<3xf32>) -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

// A single full-rank tuple with a scalar update needs no loop at all.
// CHECK-LABEL: func @scatter_nd_scalar
// CHECK-SAME: (%[[D:[a-z0-9]+]]: tensor<8x4xf32>, %[[IDX:[a-z0-9]+]]: tensor<2xi64>, %[[U:[a-z0-9]+]]: tensor<f32>)
// CHECK-NOT: scf.for
// CHECK: %[[UPD:.+]] = tensor.extract %[[U]][] : tensor<f32>
// CHECK: %[[R:.+]] = scf.if %{{.+}} -> (tensor<8x4xf32>) {
// CHECK: %[[INS:.+]] = tensor.insert %[[UPD]] into %[[D]][%{{.+}}, %{{.+}}] : tensor<8x4xf32>
// CHECK: scf.yield %[[INS]] : tensor<8x4xf32>
// CHECK: } else {
// CHECK: scf.yield %[[D]] : tensor<8x4xf32>
// CHECK: }
// CHECK: return %[[R]]
func.func @scatter_nd_scalar(%d: tensor<8x4xf32>, %i: tensor<2xi64>, %u: tensor<f32>) -> tensor<8x4xf32> {
  %0 = kiln.scatter_nd %d, %i, %u : (tensor<8x4xf32>, tensor<2xi64>, tensor<f32>) -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

// The other reductions of scatter_nd, on floats.
// CHECK-LABEL: func @scatter_nd_reductions
// CHECK: scf.if
// CHECK: arith.mulf %{{.+}}, %{{.+}} : f32
// CHECK: scf.if
// CHECK: arith.minimumf %{{.+}}, %{{.+}} : f32
func.func @scatter_nd_reductions(%d: tensor<8xf32>, %i: tensor<2x1xi64>, %u: tensor<2xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %0 = kiln.scatter_nd %d, %i, %u {reduction = #kiln.scatter_reduction<mul>} : (tensor<8xf32>, tensor<2x1xi64>, tensor<2xf32>) -> tensor<8xf32>
  %1 = kiln.scatter_nd %d, %i, %u {reduction = #kiln.scatter_reduction<min>} : (tensor<8xf32>, tensor<2x1xi64>, tensor<2xf32>) -> tensor<8xf32>
  return %0, %1 : tensor<8xf32>, tensor<8xf32>
}
