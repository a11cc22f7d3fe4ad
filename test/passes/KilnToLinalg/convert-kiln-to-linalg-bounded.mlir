// RUN: kiln-opt %s -kiln-convert-kiln-to-linalg -canonicalize -split-input-file | FileCheck %s

// Lowering of the ops of data-dependent size: scf.for nests that carry a
// zero-filled buffer of the bound and a running count, appending results
// with tensor.insert; the count is the op's last result.

// nonzero: a loop nest over the input in row-major order; a nonzero
// element (unordered compare, so NaN counts) writes its coordinates into
// column `count` and bumps it.
// CHECK-LABEL: func @nonzero
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<2x3xf32>)
// CHECK: %[[Z:.+]] = linalg.fill ins(%{{.+}} : i64) outs(%{{.+}} : tensor<2x6xi64>)
// CHECK: %[[R:.+]]:2 = scf.for %[[I:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%{{.+}} = %[[Z]], %{{.+}} = %{{.+}}) -> (tensor<2x6xi64>, index)
// CHECK: scf.for %[[J:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[C:.+]] = %{{.+}}, %[[N:.+]] = %{{.+}}) -> (tensor<2x6xi64>, index)
// CHECK: %[[E:.+]] = tensor.extract %[[X]][%[[I]], %[[J]]] : tensor<2x3xf32>
// CHECK: %[[NZ:.+]] = arith.cmpf une, %[[E]], %{{.+}} : f32
// CHECK: scf.if %[[NZ]] -> (tensor<2x6xi64>, index)
// CHECK: %[[I64:.+]] = arith.index_cast %[[I]] : index to i64
// CHECK: %[[C1:.+]] = tensor.insert %[[I64]] into %[[C]][%{{.+}}, %[[N]]]
// CHECK: %[[J64:.+]] = arith.index_cast %[[J]] : index to i64
// CHECK: %[[C2:.+]] = tensor.insert %[[J64]] into %[[C1]][%{{.+}}, %[[N]]]
// CHECK: %[[NEXT:.+]] = arith.addi %[[N]], %{{.+}} : index
// CHECK: scf.yield %[[C2]], %[[NEXT]]
// CHECK: } else {
// CHECK: return %[[R]]#0, %[[R]]#1 : tensor<2x6xi64>, index
func.func @nonzero(%x: tensor<2x3xf32>) -> (tensor<2x6xi64>, index) {
  %c, %k = kiln.nonzero %x : tensor<2x3xf32> -> tensor<2x6xi64>
  return %c, %k : tensor<2x6xi64>, index
}

// -----

// unique: a first loop finds each item's distinct item among those found so
// far (comparing items element by element: -1, 0, 1), a second ranks the
// distinct items (sorted), and tensor.generate gathers the distinct values
// and renumbers the inverse indices.
// CHECK-LABEL: func @unique
// CHECK: %[[FOUND:.+]]:4 = scf.for {{.+}} -> (tensor<5xi64>, tensor<5xi64>, tensor<5xi64>, index)
// CHECK: scf.for {{.+}} -> (index)
// CHECK: scf.for {{.+}} -> (i32)
// CHECK: arith.cmpf olt
// CHECK: arith.cmpf ogt
// CHECK: %[[SORTED:.+]]:3 = scf.for %{{.+}} = %{{.+}} to %[[FOUND]]#3 {{.+}} -> (tensor<5xi64>, tensor<5xi64>, tensor<5xi64>)
// CHECK: %[[INV:.+]] = tensor.generate
// CHECK: %[[VALUES:.+]] = tensor.generate
// CHECK: return %[[VALUES]], %[[SORTED]]#0, %[[INV]], %[[SORTED]]#1, %[[FOUND]]#3
func.func @unique(%x: tensor<1x5x2xf32>) -> (tensor<1x5x2xf32>, tensor<5xi64>, tensor<5xi64>, tensor<5xi64>, index) {
  %y, %i, %v, %n, %k = kiln.unique %x : tensor<1x5x2xf32> -> (tensor<1x5x2xf32>, tensor<5xi64>, tensor<5xi64>, tensor<5xi64>)
  return %y, %i, %v, %n, %k : tensor<1x5x2xf32>, tensor<5xi64>, tensor<5xi64>, tensor<5xi64>, index
}

// -----

// unique without sorting: no ranking loop.
// CHECK-LABEL: func @unique_unsorted
// CHECK: %[[FOUND:.+]]:4 = scf.for
// CHECK-NOT: scf.for %{{.+}} = %{{.+}} to %[[FOUND]]#3
// CHECK: return %{{.+}}, %[[FOUND]]#0, %[[FOUND]]#2, %[[FOUND]]#1, %[[FOUND]]#3
func.func @unique_unsorted(%x: tensor<1x5x2xf32>) -> (tensor<1x5x2xf32>, tensor<5xi64>, tensor<5xi64>, tensor<5xi64>, index) {
  %y, %i, %v, %n, %k = kiln.unique %x {sorted = false} : tensor<1x5x2xf32> -> (tensor<1x5x2xf32>, tensor<5xi64>, tensor<5xi64>, tensor<5xi64>)
  return %y, %i, %v, %n, %k : tensor<1x5x2xf32>, tensor<5xi64>, tensor<5xi64>, tensor<5xi64>, index
}

// -----

// non_max_suppression: per batch and class, n steps each pick the next
// candidate by a scan (score above the threshold, after the previous one in
// descending-score order), test it against the boxes selected so far for
// the class (rows [start, count) of the buffer) and append [b, c, box].
// CHECK-LABEL: func @nms
// CHECK-SAME: (%[[B:[a-z0-9]+]]: tensor<1x4x4xf32>, %[[S:[a-z0-9]+]]: tensor<1x2x4xf32>, %[[MAX:[a-z0-9]+]]: index, %[[IOU:[a-z0-9]+]]: f32, %[[THR:[a-z0-9]+]]: f32)
// CHECK: %[[Z:.+]] = linalg.fill ins(%{{.+}} : i64) outs(%{{.+}} : tensor<8x3xi64>)
// CHECK: %[[R:.+]]:2 = scf.for {{.+}} iter_args(%{{.+}} = %[[Z]], %{{.+}} = %{{.+}}) -> (tensor<8x3xi64>, index)
// (the loop over the one batch folds away; this one is over the classes)
// CHECK: scf.for {{.+}} -> (tensor<8x3xi64>, index, f32, index)
// CHECK: scf.for {{.+}} -> (i1, f32, index)
// CHECK: arith.cmpf ogt, %{{.+}}, %[[THR]] : f32
// CHECK: arith.cmpi slt, %{{.+}}, %[[MAX]] : index
// CHECK: scf.for {{.+}} -> (i1)
// CHECK: arith.cmpf ogt, %{{.+}}, %[[IOU]] : f32
// CHECK: scf.if %{{.+}} -> (tensor<8x3xi64>, index)
// CHECK: tensor.insert
// CHECK: return %[[R]]#0, %[[R]]#1 : tensor<8x3xi64>, index
func.func @nms(%b: tensor<1x4x4xf32>, %s: tensor<1x2x4xf32>, %max: index, %iou: f32, %thr: f32) -> (tensor<8x3xi64>, index) {
  %sel, %k = kiln.non_max_suppression %b, %s, %max, %iou, %thr : tensor<1x4x4xf32>, tensor<1x2x4xf32> -> tensor<8x3xi64>
  return %sel, %k : tensor<8x3xi64>, index
}
