// RUN: kiln-opt %s -split-input-file -kiln-cpu-vectorize-contractions="rows=2 vector-width=4 k-unroll=2" | FileCheck %s

#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#out = affine_map<(m, k, n) -> (m, n)>

// M = 5 is split into 4 rows (two blocks of 2) and a last row; N = 8 is
// one block of two 4-wide vectors; K = 6 runs in steps of 2 with the
// accumulator carried in registers (read before the K loop, written after).
// CHECK-LABEL: func @plain
// CHECK: %[[MAIN:.+]] = scf.for %[[ROW:.+]] = %c0 to %c4 step %c2 iter_args(%[[OUT:.+]] = %{{.+}}) -> (tensor<4x8xf32>)
// CHECK:   %[[ACC0:.+]] = vector.transfer_read %{{.+}} : tensor<2x8xf32>, vector<2x8xf32>
// CHECK:   %[[ACC:.+]] = scf.for %{{.+}} = %c0 to %c6 step %c2 iter_args(%[[A:.+]] = %[[ACC0]]) -> (vector<2x8xf32>)
// CHECK:     %[[L:.+]] = vector.transfer_read {{.+}} : tensor<2x2xf32>, vector<2x2xf32>
// CHECK:     %[[R:.+]] = vector.transfer_read {{.+}} : tensor<2x8xf32>, vector<2x8xf32>
// CHECK:     %[[C:.+]] = vector.contract {{.+}} %[[L]], %[[R]], %[[A]] : vector<2x2xf32>, vector<2x8xf32> into vector<2x8xf32>
// CHECK:     scf.yield %[[C]] : vector<2x8xf32>
// CHECK:   vector.transfer_write %[[ACC]]
// CHECK: tensor.insert_slice %[[MAIN]] into %{{.+}}[0, 0] [4, 8] [1, 1]
// CHECK: scf.for %{{.+}} = %c0 to %c6 step %c2 iter_args(%{{.+}}) -> (vector<1x8xf32>)
// CHECK:   vector.contract {{.+}} : vector<1x2xf32>, vector<2x8xf32> into vector<1x8xf32>
// CHECK: tensor.insert_slice %{{.+}}[4, 0] [1, 8] [1, 1]
// CHECK-NOT: linalg.generic
func.func @plain(%x: tensor<5x6xf32>, %w: tensor<6x8xf32>, %init: tensor<5x8xf32>) -> tensor<5x8xf32> {
  %y = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<5x6xf32>, tensor<6x8xf32>) outs(%init : tensor<5x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<5x8xf32>
  return %y : tensor<5x8xf32>
}

// -----

// A weight packed into panels (kiln-cpu-pack-matmul-weights): blocks of
// two panels, one vector each, side by side.
// CHECK-LABEL: func @packed
// CHECK: scf.for %{{.+}} = %c0 to %c4 step %c2
// CHECK:   scf.for %{{.+}} = %c0 to %c4 step %c2
// CHECK:     scf.for %{{.+}} iter_args(%{{.+}}) -> (vector<2x2x4xf32>)
// CHECK:       vector.contract {{.+}} : vector<2x2xf32>, vector<2x2x4xf32> into vector<2x2x4xf32>
func.func @packed(%x: tensor<4x6xf32>, %w: tensor<4x6x4xf32>, %init: tensor<4x4x4xf32>) -> tensor<4x4x4xf32> {
  %y = linalg.generic {indexing_maps = [affine_map<(m, nb, k, ni) -> (m, k)>, affine_map<(m, nb, k, ni) -> (nb, k, ni)>, affine_map<(m, nb, k, ni) -> (m, nb, ni)>], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<4x6xf32>, tensor<4x6x4xf32>) outs(%init : tensor<4x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x4x4xf32>
  return %y : tensor<4x4x4xf32>
}

// -----

// Left to the loop lowering: the right-hand operand is read across N and
// is an entry argument (a weight: transposing it would cost a copy per
// call), so vectors along N would gather.
// CHECK-LABEL: func @transposed_rhs
// CHECK-NOT: vector.
// CHECK: linalg.generic
func.func @transposed_rhs(%x: tensor<4x6xf32>, %w: tensor<8x6xf32>, %init: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = linalg.generic {indexing_maps = [affine_map<(m, k, n) -> (m, k)>, affine_map<(m, k, n) -> (n, k)>, affine_map<(m, k, n) -> (m, n)>], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<4x6xf32>, tensor<8x6xf32>) outs(%init : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Large enough (2^21 multiply-adds) to use threads: the column blocks are
// an scf.forall, each thread's share blocked as above.
// CHECK-LABEL: func @threads
// CHECK: scf.forall (%[[COL:.+]]) = (0) to (512) step (8) shared_outs(%{{.+}} = %{{.+}}) -> (tensor<8x512xf32>)
// CHECK:   scf.for %{{.+}} = %c0 to %c8 step %c2
// CHECK:     scf.for %{{.+}} iter_args(%{{.+}}) -> (vector<2x8xf32>)
// CHECK:       vector.contract
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice %{{.+}} into %{{.+}}[0, %[[COL]]] [8, 8] [1, 1]
func.func @threads(%x: tensor<8x512xf32>, %w: tensor<512x512xf32>, %init: tensor<8x512xf32>) -> tensor<8x512xf32> {
  %y = linalg.generic {indexing_maps = [affine_map<(m, k, n) -> (m, k)>, affine_map<(m, k, n) -> (k, n)>, affine_map<(m, k, n) -> (m, n)>], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<8x512xf32>, tensor<512x512xf32>) outs(%init : tensor<8x512xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x512xf32>
  return %y : tensor<8x512xf32>
}

// -----

// A computed right-hand operand read across N (attention's K^T) is
// transposed first, N innermost, then blocked like any other.
// CHECK-LABEL: func @transposed_activation
// CHECK: %[[T:.+]] = linalg.transpose ins(%{{.+}} : tensor<8x6xf32>) outs(%{{.+}} : tensor<6x8xf32>) permutation = [1, 0]
// CHECK: vector.transfer_read %{{.+}} : tensor<2x8xf32>, vector<2x8xf32>
// CHECK: vector.contract
func.func @transposed_activation(%x: tensor<4x6xf32>, %k: tensor<8x6xf32>, %init: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %two = arith.constant 2.0 : f32
  %empty = tensor.empty() : tensor<8x6xf32>
  %scaled = linalg.generic {indexing_maps = [affine_map<(n, k) -> (n, k)>, affine_map<(n, k) -> (n, k)>], iterator_types = ["parallel", "parallel"]}
      ins(%k : tensor<8x6xf32>) outs(%empty : tensor<8x6xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %two : f32
    linalg.yield %m : f32
  } -> tensor<8x6xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(m, k, n) -> (m, k)>, affine_map<(m, k, n) -> (n, k)>, affine_map<(m, k, n) -> (m, n)>], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %scaled : tensor<4x6xf32>, tensor<8x6xf32>) outs(%init : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Dynamic rows (tokens of a model with symbolic dimensions): a loop over
// blocks of `rows` rows up to the largest multiple, then a loop over the
// remaining rows one at a time; each iteration is a static block that is
// vectorized as with static rows.
#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#out = affine_map<(m, k, n) -> (m, n)>
// CHECK-LABEL: func.func @dynamic_rows
// CHECK-SAME: (%[[X:.+]]: tensor<?x6xf32>, %[[W:.+]]: tensor<6x8xf32>, %[[INIT:.+]]: tensor<?x8xf32>)
// CHECK-DAG: %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.+]] = arith.constant 1 : index
// CHECK-DAG: %[[C2:.+]] = arith.constant 2 : index
// CHECK: %[[M:.+]] = tensor.dim %[[X]], %[[C0]] : tensor<?x6xf32>
// CHECK: %[[TAIL:.+]] = arith.remui %[[M]], %[[C2]] : index
// CHECK: %[[FULL:.+]] = arith.subi %[[M]], %[[TAIL]] : index
// CHECK: %[[BLOCKS:.+]] = scf.for %[[I:.+]] = %[[C0]] to %[[FULL]] step %[[C2]] iter_args(%[[ACC:.+]] = %[[INIT]])
// CHECK: tensor.extract_slice %[[X]][%[[I]], 0] [2, 6] [1, 1] : tensor<?x6xf32> to tensor<2x6xf32>
// CHECK: vector.contract {{.+}} : vector<2x2xf32>, vector<2x8xf32> into vector<2x8xf32>
// CHECK: tensor.insert_slice %{{.+}} into %[[ACC]][%[[I]], 0] [2, 8] [1, 1] : tensor<2x8xf32> into tensor<?x8xf32>
// CHECK: %[[ALL:.+]] = scf.for %[[J:.+]] = %[[FULL]] to %[[M]] step %[[C1]] iter_args(%[[ACC1:.+]] = %[[BLOCKS]])
// CHECK: tensor.extract_slice %[[X]][%[[J]], 0] [1, 6] [1, 1] : tensor<?x6xf32> to tensor<1x6xf32>
// CHECK: vector.contract {{.+}} : vector<1x2xf32>, vector<2x8xf32> into vector<1x8xf32>
// CHECK: tensor.insert_slice %{{.+}} into %[[ACC1]][%[[J]], 0] [1, 8] [1, 1] : tensor<1x8xf32> into tensor<?x8xf32>
// CHECK: return %[[ALL]]
func.func @dynamic_rows(%x: tensor<?x6xf32>, %w: tensor<6x8xf32>, %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %y = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<?x6xf32>, tensor<6x8xf32>) outs(%init : tensor<?x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
