// RUN: kiln-opt %s -kiln-convert-kiln-to-linalg -split-input-file | FileCheck %s

// A grouped, strided, padded conv: the input is padded with zeros, the
// bias initializes the accumulator, and one generic reads the padded
// input at (n, group * C/group + c, out * stride + k) -- here 2 channels
// per group and 3 filters per group.
// CHECK-DAG: #[[IN:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, (d1 floordiv 3) * 2 + d4, d2 * 2 + d5, d3 * 2 + d6)>
// CHECK-DAG: #[[W:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d4, d5, d6)>
// CHECK-LABEL: func @conv
// CHECK-SAME: (%[[X:.+]]: tensor<1x4x5x5xf32>, %[[F:.+]]: tensor<6x2x3x3xf32>, %[[B:.+]]: tensor<6xf32>)
// CHECK: %[[PAD:.+]] = tensor.pad %[[X]] low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: } : tensor<1x4x5x5xf32> to tensor<1x4x7x7xf32>
// CHECK: %[[INIT:.+]] = linalg.generic {{.*}} ins(%[[B]] : tensor<6xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[IN]], #[[W]], {{.+}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%[[PAD]], %[[F]] : tensor<1x4x7x7xf32>, tensor<6x2x3x3xf32>) outs(%[[INIT]] : tensor<1x6x3x3xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @conv(%x: tensor<1x4x5x5xf32>, %w: tensor<6x2x3x3xf32>, %b: tensor<6xf32>) -> tensor<1x6x3x3xf32> {
  %0 = kiln.conv %x, %w, %b {strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 2 : i64}
      : (tensor<1x4x5x5xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<1x6x3x3xf32>
  return %0 : tensor<1x6x3x3xf32>
}

// -----

// Average pooling with ceil_mode: the overhang of the last windows is
// padded (with zeros, which add nothing), a [2, 2] tensor gives the
// kernel loops their bounds, and the divisors -- how many input elements
// each window covers -- are a constant computed at compile time.
// CHECK-LABEL: func @average
// CHECK: %[[PAD:.+]] = tensor.pad %{{.+}} low[0, 0, 0, 0] high[0, 0, 1, 1]
// CHECK: %[[WINDOW:.+]] = tensor.empty() : tensor<2x2xf32>
// CHECK: %[[SUM:.+]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%[[PAD]], %[[WINDOW]] : tensor<1x2x6x6xf32>, tensor<2x2xf32>)
// CHECK: arith.addf
// CHECK: %[[COUNT:.+]] = arith.constant dense<{{\[}}[4.000000e+00, 4.000000e+00, 2.000000e+00], [4.000000e+00, 4.000000e+00, 2.000000e+00], [2.000000e+00, 2.000000e+00, 1.000000e+00]]> : tensor<3x3xf32>
// CHECK: linalg.generic {{.*}} ins(%[[SUM]], %[[COUNT]] : tensor<1x2x3x3xf32>, tensor<3x3xf32>)
// CHECK: arith.divf
func.func @average(%x: tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32> {
  %0 = kiln.pool %x {kind = #kiln.pool_kind<average>, kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>,
                     dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, ceil_mode = true}
      : tensor<1x2x5x5xf32> -> tensor<1x2x3x3xf32>
  return %0 : tensor<1x2x3x3xf32>
}

// -----

// Max pooling pads with -inf, which never wins, and starts from -inf.
// CHECK-LABEL: func @max
// CHECK: %[[NEG:.+]] = arith.constant 0xFF800000 : f32
// CHECK: tensor.pad %{{.+}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: tensor.yield %[[NEG]] : f32
// CHECK: linalg.fill ins(%{{.+}} : f32)
// CHECK: arith.maximumf
func.func @max(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> {
  %0 = kiln.pool %x {kind = #kiln.pool_kind<max>, kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>,
                     dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>}
      : tensor<1x2x4x4xf32> -> tensor<1x2x2x2xf32>
  return %0 : tensor<1x2x2x2xf32>
}
