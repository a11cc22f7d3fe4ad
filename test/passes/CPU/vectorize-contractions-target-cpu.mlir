// RUN: kiln-opt %s -split-input-file -kiln-cpu-vectorize-contractions="vector-width=4 k-unroll=2 parallel=0" | FileCheck %s

// Without `rows`, the register block follows the module's
// kiln.cpu_features: AVX-512 (avx512f) gets 8 rows x 2 vectors, a CPU
// with 16 vector registers (recorded without avx512f) 6 rows x 1 vector,
// or up to 3 rows x 2 vectors when the product has no more rows.

#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#out = affine_map<(m, k, n) -> (m, n)>

// CHECK-LABEL: func @avx512
// CHECK: scf.for %{{.+}} = %c0 to %c16 step %c8 iter_args
// CHECK:   scf.for %{{.+}} iter_args(%{{.+}}) -> (vector<8x8xf32>)
// CHECK:     vector.contract {{.+}} into vector<8x8xf32>
module attributes {kiln.cpu_features = ["avx512f"]} {
func.func @avx512(%x: tensor<16x6xf32>, %w: tensor<6x8xf32>, %init: tensor<16x8xf32>) -> tensor<16x8xf32> {
  %y = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<16x6xf32>, tensor<6x8xf32>) outs(%init : tensor<16x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<16x8xf32>
  return %y : tensor<16x8xf32>
}
}

// -----

#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#out = affine_map<(m, k, n) -> (m, n)>

// 16 rows: blocks of 6 rows and one vector (12 rows, then the last 4).
// CHECK-LABEL: func @avx2
// CHECK: scf.for %{{.+}} = %c0 to %c8 step %c4
// CHECK:   scf.for %{{.+}} = %c0 to %c12 step %c6
// CHECK:     scf.for %{{.+}} iter_args(%{{.+}}) -> (vector<6x4xf32>)
// CHECK:       vector.contract {{.+}} into vector<6x4xf32>
// CHECK: vector.contract {{.+}} into vector<4x4xf32>
// CHECK-NOT: vector<8x8xf32>
module attributes {kiln.cpu_features = []} {
func.func @avx2(%x: tensor<16x6xf32>, %w: tensor<6x8xf32>, %init: tensor<16x8xf32>) -> tensor<16x8xf32> {
  %y = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<16x6xf32>, tensor<6x8xf32>) outs(%init : tensor<16x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<16x8xf32>
  return %y : tensor<16x8xf32>
}
}

// -----

#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#out = affine_map<(m, k, n) -> (m, n)>

// One row (decoding): two vectors side by side even with 16 registers.
// CHECK-LABEL: func @avx2_one_row
// CHECK: scf.for %{{.+}} iter_args(%{{.+}}) -> (vector<1x8xf32>)
module attributes {kiln.cpu_features = ["avx512vnni"]} {
func.func @avx2_one_row(%x: tensor<1x6xf32>, %w: tensor<6x8xf32>, %init: tensor<1x8xf32>) -> tensor<1x8xf32> {
  %y = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<1x6xf32>, tensor<6x8xf32>) outs(%init : tensor<1x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}
}
