// RUN: kiln-opt %s -kiln-fuse-elementwise -split-input-file | FileCheck %s

// A collapse of three dimensions only the run knows stays before its
// consumer: folding it by expansion would expand the consumer's init into
// three dynamic sizes, a memref.expand_shape that MLIR 22's
// expand-strided-metadata crashes on (test_affine_grid_3d_expanded).
// CHECK-LABEL: func @collapse_of_dynamic_dims
// CHECK: tensor.collapse_shape {{.*}} {{\[}}[0, 1, 2], [3]]
// CHECK-NOT: tensor.expand_shape
// CHECK: linalg.generic
// CHECK-SAME: ins({{.*}} : tensor<?x4xf32>)
func.func @collapse_of_dynamic_dims(%x: tensor<?x?x?x4xf32>) -> tensor<4x?xf32> {
  %c = tensor.collapse_shape %x [[0, 1, 2], [3]] : tensor<?x?x?x4xf32> into tensor<?x4xf32>
  %c0 = arith.constant 0 : index
  %n = tensor.dim %c, %c0 : tensor<?x4xf32>
  %e = tensor.empty(%n) : tensor<4x?xf32>
  %t = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%c : tensor<?x4xf32>) outs(%e : tensor<4x?xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<4x?xf32>
  return %t : tensor<4x?xf32>
}

// -----

// With one dynamic size per group the collapse still folds into the
// consumer, whose loops expand to the source's shape.
// CHECK-LABEL: func @collapse_of_one_dynamic_dim
// CHECK: linalg.generic
// CHECK-SAME: ins({{.*}} : tensor<?x3x4xf32>)
func.func @collapse_of_one_dynamic_dim(%x: tensor<?x3x4xf32>) -> tensor<4x?xf32> {
  %c = tensor.collapse_shape %x [[0, 1], [2]] : tensor<?x3x4xf32> into tensor<?x4xf32>
  %c0 = arith.constant 0 : index
  %n = tensor.dim %c, %c0 : tensor<?x4xf32>
  %e = tensor.empty(%n) : tensor<4x?xf32>
  %t = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%c : tensor<?x4xf32>) outs(%e : tensor<4x?xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<4x?xf32>
  return %t : tensor<4x?xf32>
}
