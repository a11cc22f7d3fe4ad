// RUN: kiln-opt %s -split-input-file -kiln-cpu-vectorize-contractions="rows=2 vector-width=4 k-unroll=2 epilogues=1" | FileCheck %s
// The default (and the CPU pipeline's) is off:
// RUN: kiln-opt %s -split-input-file -kiln-cpu-vectorize-contractions="rows=2 vector-width=4 k-unroll=2" | FileCheck %s --check-prefix=OFF

#lhs = affine_map<(m, nb, k, ni) -> (m, k)>
#rhs = affine_map<(m, nb, k, ni) -> (nb, k, ni)>
#out = affine_map<(m, nb, k, ni) -> (m, nb, ni)>
#id3 = affine_map<(m, nb, ni) -> (m, nb, ni)>
#bias = affine_map<(m, nb, ni) -> (nb, ni)>

// Bias + activation on a packed product, M = 5 (two blocks of 2 rows and a
// last row): the accumulator starts at zero (the fill, fused and folded),
// runs the whole K loop in registers, and the epilogue is applied to the
// loop's result before the block's only store.
// CHECK-LABEL: func @bias_tanh
// CHECK: scf.for %{{.+}} = %c0 to %c4 step %c2
// CHECK:   %[[ACC:.+]] = scf.for %{{.+}} = %c0 to %c6 step %c2 iter_args(%{{.+}} = %cst{{.*}}) -> (vector<2x2x4xf32>)
// CHECK:     vector.contract
// CHECK:   %[[B:.+]] = vector.broadcast %{{.+}} : vector<2x4xf32> to vector<2x2x4xf32>
// CHECK:   %[[S:.+]] = arith.addf %[[ACC]], %[[B]] : vector<2x2x4xf32>
// CHECK:   %[[T:.+]] = math.tanh %[[S]] : vector<2x2x4xf32>
// CHECK:   vector.transfer_write %[[T]]
// CHECK: %[[LAST:.+]] = scf.for %{{.+}} iter_args(%{{.+}}) -> (vector<1x2x4xf32>)
// CHECK: arith.addf %[[LAST]], %{{.+}} : vector<1x2x4xf32>
// CHECK: math.tanh
// CHECK-NOT: linalg.
// CHECK: return
// OFF-LABEL: func @bias_tanh
// OFF: vector.contract
// OFF: linalg.generic
// OFF: math.tanh
func.func @bias_tanh(%x: tensor<5x6xf32>, %w: tensor<2x6x4xf32>, %b: tensor<2x4xf32>) -> tensor<5x2x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<5x2x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<5x2x4xf32>) -> tensor<5x2x4xf32>
  %y = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<5x6xf32>, tensor<2x6x4xf32>) outs(%init : tensor<5x2x4xf32>) {
  ^bb0(%a: f32, %bb: f32, %c: f32):
    %p = arith.mulf %a, %bb : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<5x2x4xf32>
  %z = linalg.generic {indexing_maps = [#id3, #bias, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%y, %b : tensor<5x2x4xf32>, tensor<2x4xf32>) outs(%e : tensor<5x2x4xf32>) {
  ^bb0(%a: f32, %bb: f32, %c: f32):
    %s = arith.addf %a, %bb : f32
    %t = math.tanh %s : f32
    linalg.yield %t : f32
  } -> tensor<5x2x4xf32>
  return %z : tensor<5x2x4xf32>
}

// -----

#lhs = affine_map<(m, nb, k, ni) -> (m, k)>
#rhs = affine_map<(m, nb, k, ni) -> (nb, k, ni)>
#out = affine_map<(m, nb, k, ni) -> (m, nb, ni)>
#id3 = affine_map<(m, nb, ni) -> (m, nb, ni)>
// A residual add read through the [M, N] collapse of a packed product:
// the add is expanded to the product's [M, N / P, P] shape first (the
// residual with it), then fused. N = 12 is one block of two panels and a
// last panel.
// CHECK-LABEL: func @residual_through_collapse
// CHECK: tensor.expand_shape %{{.+}} {{\[}}[0], [1, 2]] output_shape [2, 3, 4] : tensor<2x12xf32> into tensor<2x3x4xf32>
// CHECK: %[[ACC:.+]] = scf.for {{.+}} -> (vector<2x2x4xf32>)
// CHECK:   scf.yield
// CHECK: %[[R:.+]] = vector.transfer_read %{{.+}} : tensor<2x2x4xf32>, vector<2x2x4xf32>
// CHECK: arith.addf %[[R]], %[[ACC]] : vector<2x2x4xf32>
// CHECK: %[[ACC1:.+]] = scf.for {{.+}} -> (vector<2x1x4xf32>)
// CHECK: arith.addf %{{.+}}, %[[ACC1]] : vector<2x1x4xf32>
// CHECK-NOT: linalg.generic
// CHECK: tensor.collapse_shape %{{.+}} {{\[}}[0], [1, 2]] : tensor<2x3x4xf32> into tensor<2x12xf32>
func.func @residual_through_collapse(%x: tensor<2x6xf32>, %w: tensor<3x6x4xf32>, %r: tensor<2x12xf32>) -> tensor<2x12xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x12xf32>
  %ex = tensor.expand_shape %e [[0], [1, 2]] output_shape [2, 3, 4] : tensor<2x12xf32> into tensor<2x3x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%ex : tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %y = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<2x6xf32>, tensor<3x6x4xf32>) outs(%init : tensor<2x3x4xf32>) {
  ^bb0(%a: f32, %bb: f32, %c: f32):
    %p = arith.mulf %a, %bb : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x3x4xf32>
  %flat = tensor.collapse_shape %y [[0], [1, 2]] : tensor<2x3x4xf32> into tensor<2x12xf32>
  %z = linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (m, n)>], iterator_types = ["parallel", "parallel"]}
      ins(%r, %flat : tensor<2x12xf32>, tensor<2x12xf32>) outs(%e : tensor<2x12xf32>) {
  ^bb0(%a: f32, %bb: f32, %c: f32):
    %s = arith.addf %a, %bb : f32
    linalg.yield %s : f32
  } -> tensor<2x12xf32>
  return %z : tensor<2x12xf32>
}

// -----

#lhs = affine_map<(m, nb, k, ni) -> (m, k)>
#rhs = affine_map<(m, nb, k, ni) -> (nb, k, ni)>
#out = affine_map<(m, nb, k, ni) -> (m, nb, ni)>
#id3 = affine_map<(m, nb, ni) -> (m, nb, ni)>
// SwiGLU over two products of the same rows (an expert's gate and up):
// not an epilogue (two accumulator blocks in one tile spill; see the pass).
// Both products keep their stores and the consumer stays a loop nest.
// CHECK-LABEL: func @swiglu_pair
// CHECK: vector.contract
// CHECK: vector.contract
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel", "parallel"]
// CHECK: math.exp
func.func @swiglu_pair(%x: tensor<2x6xf32>, %wg: tensor<2x6x4xf32>, %wu: tensor<2x6x4xf32>) -> tensor<2x2x4xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<2x2x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x2x4xf32>) -> tensor<2x2x4xf32>
  %g = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%x, %wg : tensor<2x6xf32>, tensor<2x6x4xf32>) outs(%init : tensor<2x2x4xf32>) {
  ^bb0(%a: f32, %bb: f32, %c: f32):
    %p = arith.mulf %a, %bb : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x2x4xf32>
  %u = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%x, %wu : tensor<2x6xf32>, tensor<2x6x4xf32>) outs(%init : tensor<2x2x4xf32>) {
  ^bb0(%a: f32, %bb: f32, %c: f32):
    %p = arith.mulf %a, %bb : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x2x4xf32>
  %z = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%g, %u : tensor<2x2x4xf32>, tensor<2x2x4xf32>) outs(%e : tensor<2x2x4xf32>) {
  ^bb0(%a: f32, %bb: f32, %c: f32):
    %n = arith.negf %a : f32
    %ex = math.exp %n : f32
    %d = arith.addf %ex, %one : f32
    %sg = arith.divf %a, %d : f32
    %m = arith.mulf %sg, %bb : f32
    linalg.yield %m : f32
  } -> tensor<2x2x4xf32>
  return %z : tensor<2x2x4xf32>
}

// -----

#lhs = affine_map<(m, nb, k, ni) -> (m, k)>
#rhs = affine_map<(m, nb, k, ni) -> (nb, k, ni)>
#out = affine_map<(m, nb, k, ni) -> (m, nb, ni)>
#id3 = affine_map<(m, nb, ni) -> (m, nb, ni)>
// The product is also returned: it keeps its own store, and the consumer
// is left to the loop lowering (fusing it would compute the product twice).
// CHECK-LABEL: func @product_used_twice
// CHECK: vector.contract
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel", "parallel"]
func.func @product_used_twice(%x: tensor<2x6xf32>, %w: tensor<2x6x4xf32>) -> (tensor<2x2x4xf32>, tensor<2x2x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x2x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x2x4xf32>) -> tensor<2x2x4xf32>
  %y = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<2x6xf32>, tensor<2x6x4xf32>) outs(%init : tensor<2x2x4xf32>) {
  ^bb0(%a: f32, %bb: f32, %c: f32):
    %p = arith.mulf %a, %bb : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x2x4xf32>
  %z = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%y : tensor<2x2x4xf32>) outs(%e : tensor<2x2x4xf32>) {
  ^bb0(%a: f32, %c: f32):
    %t = math.tanh %a : f32
    linalg.yield %t : f32
  } -> tensor<2x2x4xf32>
  return %y, %z : tensor<2x2x4xf32>, tensor<2x2x4xf32>
}

// -----

// Large enough for threads (2^21 multiply-adds): the epilogue's column
// blocks are the scf.forall, its products fused into each thread's share
// and blocked there.
// CHECK-LABEL: func @threads
// CHECK: scf.forall (%{{.+}}) = (0) to (512) step (8) shared_outs(%{{.+}}) -> (tensor<8x512xf32>)
// CHECK:   scf.for %{{.+}} = %c0 to %c8 step %c2
// CHECK:     %[[ACC:.+]] = scf.for {{.+}} -> (vector<2x8xf32>)
// CHECK:       vector.contract
// CHECK:     arith.addf %[[ACC]], %{{.+}} : vector<2x8xf32>
// CHECK:   scf.forall.in_parallel
// CHECK-NOT: linalg.generic
func.func @threads(%x: tensor<8x512xf32>, %w: tensor<512x512xf32>, %r: tensor<8x512xf32>) -> tensor<8x512xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x512xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<8x512xf32>) -> tensor<8x512xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(m, k, n) -> (m, k)>, affine_map<(m, k, n) -> (k, n)>, affine_map<(m, k, n) -> (m, n)>], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<8x512xf32>, tensor<512x512xf32>) outs(%init : tensor<8x512xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x512xf32>
  %z = linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (m, n)>], iterator_types = ["parallel", "parallel"]}
      ins(%y, %r : tensor<8x512xf32>, tensor<8x512xf32>) outs(%e : tensor<8x512xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<8x512xf32>
  return %z : tensor<8x512xf32>
}
