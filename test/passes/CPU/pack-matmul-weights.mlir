// RUN: kiln-opt %s -split-input-file -kiln-cpu-pack-matmul-weights=panel-width=2 | FileCheck %s

#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#rhs_t = affine_map<(m, k, n) -> (n, k)>
#out = affine_map<(m, k, n) -> (m, n)>

// W[K=3, N=4] becomes two panels [2][3][2]: panel 0 holds columns 0-1 of
// every row, panel 1 columns 2-3.
// CHECK-LABEL: func @row_major
// CHECK-DAG: %[[W:.+]] = arith.constant dense<{{\[\[\[}}0.000000e+00, 1.000000e+00], [4.000000e+00, 5.000000e+00], [8.000000e+00, 9.000000e+00]], {{\[\[}}2.000000e+00, 3.000000e+00], [6.000000e+00, 7.000000e+00], [1.000000e+01, 1.100000e+01]]]> : tensor<2x3x2xf32>
// CHECK: %[[INIT:.+]] = tensor.expand_shape %{{.+}} {{\[\[}}0], [1, 2]] output_shape [5, 2, 2] : tensor<5x4xf32> into tensor<5x2x2xf32>
// CHECK: %[[Y:.+]] = linalg.generic {indexing_maps = [#[[A:.+]], #[[B:.+]], #[[C:.+]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%{{.+}}, %[[W]] : tensor<5x3xf32>, tensor<2x3x2xf32>) outs(%[[INIT]] : tensor<5x2x2xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: tensor.collapse_shape %[[Y]] {{\[\[}}0], [1, 2]] : tensor<5x2x2xf32> into tensor<5x4xf32>
func.func @row_major(%x: tensor<5x3xf32>, %init: tensor<5x4xf32>) -> tensor<5x4xf32> {
  %w = arith.constant dense<[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]]> : tensor<3x4xf32>
  %y = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<5x3xf32>, tensor<3x4xf32>) outs(%init : tensor<5x4xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<5x4xf32>
  return %y : tensor<5x4xf32>
}

// -----

#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs_t = affine_map<(m, k, n) -> (n, k)>
#out = affine_map<(m, k, n) -> (m, n)>

// The same weight stored transposed (W[N, K], PyTorch's Linear) packs to
// the same panels.
// CHECK-LABEL: func @transposed
// CHECK: arith.constant dense<{{\[\[\[}}0.000000e+00, 1.000000e+00], [4.000000e+00, 5.000000e+00], [8.000000e+00, 9.000000e+00]], {{\[\[}}2.000000e+00, 3.000000e+00], [6.000000e+00, 7.000000e+00], [1.000000e+01, 1.100000e+01]]]> : tensor<2x3x2xf32>
// CHECK: linalg.generic
// CHECK-SAME: tensor<2x3x2xf32>
func.func @transposed(%x: tensor<5x3xf32>, %init: tensor<5x4xf32>) -> tensor<5x4xf32> {
  %w = arith.constant dense<[[0.0, 4.0, 8.0], [1.0, 5.0, 9.0], [2.0, 6.0, 10.0], [3.0, 7.0, 11.0]]> : tensor<4x3xf32>
  %y = linalg.generic {indexing_maps = [#lhs, #rhs_t, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<5x3xf32>, tensor<4x3xf32>) outs(%init : tensor<5x4xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<5x4xf32>
  return %y : tensor<5x4xf32>
}

// -----

#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#out = affine_map<(m, k, n) -> (m, n)>

// Left alone: N = 3 is not a multiple of the panel width, and a weight
// that another op also reads would have to be stored twice.
// CHECK-LABEL: func @not_packed
// CHECK-NOT: tensor.expand_shape
// CHECK: linalg.generic {{.*}} ins(%{{.+}}, %{{.+}} : tensor<5x3xf32>, tensor<3x3xf32>)
// CHECK: linalg.generic {{.*}} ins(%{{.+}}, %[[SHARED:.+]] : tensor<5x3xf32>, tensor<3x4xf32>)
// CHECK: return
func.func @not_packed(%x: tensor<5x3xf32>, %init3: tensor<5x3xf32>, %init: tensor<5x4xf32>) -> (tensor<5x3xf32>, tensor<5x4xf32>, tensor<3x4xf32>) {
  %w3 = arith.constant dense<1.0> : tensor<3x3xf32>
  %y3 = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w3 : tensor<5x3xf32>, tensor<3x3xf32>) outs(%init3 : tensor<5x3xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<5x3xf32>
  %w = arith.constant dense<2.0> : tensor<3x4xf32>
  %y = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<5x3xf32>, tensor<3x4xf32>) outs(%init : tensor<5x4xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<5x4xf32>
  return %y3, %y, %w : tensor<5x3xf32>, tensor<5x4xf32>, tensor<3x4xf32>
}

// -----

// Dynamic rows (the tokens of a model with symbolic dimensions): the
// weight is packed as with static rows, and the panel product sizes its
// output from the input's rows.
#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#out = affine_map<(m, k, n) -> (m, n)>
// CHECK-LABEL: func.func @dynamic_rows
// CHECK-SAME: (%[[X:.+]]: tensor<?x3xf32>, %[[INIT:.+]]: tensor<?x4xf32>)
// CHECK: %[[P:.+]] = arith.constant dense<{{.+}}> : tensor<2x3x2xf32>
// CHECK: %[[M:.+]] = tensor.dim %[[INIT]], %{{.+}} : tensor<?x4xf32>
// CHECK: %[[E:.+]] = tensor.expand_shape %[[INIT]] {{\[\[}}0], [1, 2]] output_shape [%[[M]], 2, 2] : tensor<?x4xf32> into tensor<?x2x2xf32>
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[X]], %[[P]] : tensor<?x3xf32>, tensor<2x3x2xf32>) outs(%[[E]] : tensor<?x2x2xf32>)
// CHECK: tensor.collapse_shape %{{.+}} {{\[\[}}0], [1, 2]] : tensor<?x2x2xf32> into tensor<?x4xf32>
func.func @dynamic_rows(%x: tensor<?x3xf32>, %init: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %w = arith.constant dense<[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]]> : tensor<3x4xf32>
  %y = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<?x3xf32>, tensor<3x4xf32>) outs(%init : tensor<?x4xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

// A constant reached through a linalg.transpose (ONNX Gemm's transB): the
// transpose is done at compile time, then the weight is packed; where N
// does not fit the panels the transposed constant is read as it is, no
// longer transposed on every run.
#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#out = affine_map<(m, k, n) -> (m, n)>
// CHECK-LABEL: func.func @transposed_constant
// CHECK-NOT: linalg.transpose
// CHECK: %[[P:.+]] = arith.constant dense<{{\[\[\[}}0.000000e+00, 3.000000e+00], [1.000000e+00, 4.000000e+00], [2.000000e+00, 5.000000e+00]], {{\[\[}}6.000000e+00, 9.000000e+00], [7.000000e+00, 1.000000e+01], [8.000000e+00, 1.100000e+01]]]> : tensor<2x3x2xf32>
// CHECK: linalg.generic {{.+}} ins(%{{.+}}, %[[P]] : tensor<5x3xf32>, tensor<2x3x2xf32>)
// CHECK: %[[T:.+]] = arith.constant dense<{{\[\[}}0.000000e+00, 3.000000e+00, 6.000000e+00], [1.000000e+00, 4.000000e+00, 7.000000e+00], [2.000000e+00, 5.000000e+00, 8.000000e+00]]> : tensor<3x3xf32>
// CHECK: linalg.generic {{.+}} ins(%{{.+}}, %[[T]] : tensor<5x3xf32>, tensor<3x3xf32>)
func.func @transposed_constant(%x: tensor<5x3xf32>, %init: tensor<5x4xf32>, %init3: tensor<5x3xf32>) -> (tensor<5x4xf32>, tensor<5x3xf32>) {
  %w = arith.constant dense<[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0], [9.0, 10.0, 11.0]]> : tensor<4x3xf32>
  %e = tensor.empty() : tensor<3x4xf32>
  %wt = linalg.transpose ins(%w : tensor<4x3xf32>) outs(%e : tensor<3x4xf32>) permutation = [1, 0]
  %y = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %wt : tensor<5x3xf32>, tensor<3x4xf32>) outs(%init : tensor<5x4xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<5x4xf32>
  %v = arith.constant dense<[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]> : tensor<3x3xf32>
  %e3 = tensor.empty() : tensor<3x3xf32>
  %vt = linalg.transpose ins(%v : tensor<3x3xf32>) outs(%e3 : tensor<3x3xf32>) permutation = [1, 0]
  %z = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %vt : tensor<5x3xf32>, tensor<3x3xf32>) outs(%init3 : tensor<5x3xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<5x3xf32>
  return %y, %z : tensor<5x4xf32>, tensor<5x3xf32>
}
