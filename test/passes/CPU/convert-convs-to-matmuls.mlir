// RUN: kiln-opt %s -split-input-file -kiln-cpu-convert-convs-to-matmuls | FileCheck %s

// A padded, strided 3x3 conv: im2col over the padded input (rows are the
// 2x2 output positions, columns (c, kh, kw)), the weight transposed at
// compile time to [C*KH*KW, M], the bias added, back to NCHW.
// CHECK: #[[IN:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 * 2 + d4, d2 * 2 + d5)>
// CHECK-LABEL: func @strided
// CHECK: %[[P:.+]] = tensor.pad %{{.+}} low[0, 0, 1, 1] high[0, 0, 0, 0]
// CHECK: tensor<1x2x4x4xf32> to tensor<1x2x5x5xf32>
// CHECK: %[[COLS:.+]] = linalg.generic {indexing_maps = [#[[IN]], #{{.+}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%[[P]] : tensor<1x2x5x5xf32>) outs(%{{.+}} : tensor<1x2x2x2x3x3xf32>)
// CHECK: %[[ROWS:.+]] = tensor.collapse_shape %[[COLS]] {{\[\[}}0, 1, 2], [3, 4, 5]] : tensor<1x2x2x2x3x3xf32> into tensor<4x18xf32>
// CHECK: %[[W:.+]] = arith.constant dense<{{\[\[}}0.000000e+00, 1.800000e+01], [1.000000e+00, 1.900000e+01], [2.000000e+00, 2.000000e+01]{{.*}}> : tensor<18x2xf32>
// CHECK: %[[MM:.+]] = kiln.matmul %[[ROWS]], %[[W]] : (tensor<4x18xf32>, tensor<18x2xf32>) -> tensor<4x2xf32>
// CHECK: %[[B:.+]] = kiln.add %[[MM]], %{{.+}} : (tensor<4x2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
// CHECK: %[[NHWC:.+]] = kiln.reshape %[[B]] : tensor<4x2xf32> -> tensor<1x2x2x2xf32>
// CHECK: %[[Y:.+]] = kiln.transpose %[[NHWC]] {permutation = array<i64: 0, 3, 1, 2>} : tensor<1x2x2x2xf32> -> tensor<1x2x2x2xf32>
// CHECK: return %[[Y]]
func.func @strided(%x: tensor<1x2x4x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x2x2xf32> {
  %w = arith.constant dense<[[[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
                              [[9.0, 10.0, 11.0], [12.0, 13.0, 14.0], [15.0, 16.0, 17.0]]],
                             [[[18.0, 19.0, 20.0], [21.0, 22.0, 23.0], [24.0, 25.0, 26.0]],
                              [[27.0, 28.0, 29.0], [30.0, 31.0, 32.0], [33.0, 34.0, 35.0]]]]> : tensor<2x2x3x3xf32>
  %y = kiln.conv %x, %w, %b {strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 1 : i64}
      : (tensor<1x2x4x4xf32>, tensor<2x2x3x3xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}

// -----

// A 1-D conv with dilation and a weight given at run time: the weight is
// reshaped and transposed by Kiln ops; no bias, no padding.
// CHECK: #[[IN1:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d1 + d3 * 2)>
// CHECK-LABEL: func @dilated_runtime_weight
// CHECK-NOT: tensor.pad
// CHECK: linalg.generic {indexing_maps = [#[[IN1]], #{{.+}}]{{.*}} outs(%{{.+}} : tensor<2x4x3x2xf32>)
// CHECK: %[[FLAT:.+]] = kiln.reshape %{{.+}} : tensor<5x3x2xf32> -> tensor<5x6xf32>
// CHECK: %[[WT:.+]] = kiln.transpose %[[FLAT]] {permutation = array<i64: 1, 0>} : tensor<5x6xf32> -> tensor<6x5xf32>
// CHECK: kiln.matmul %{{.+}}, %[[WT]] : (tensor<8x6xf32>, tensor<6x5xf32>) -> tensor<8x5xf32>
// CHECK-NOT: kiln.add
// CHECK: kiln.transpose %{{.+}} {permutation = array<i64: 0, 2, 1>} : tensor<2x4x5xf32> -> tensor<2x5x4xf32>
func.func @dilated_runtime_weight(%x: tensor<2x3x6xf32>, %w: tensor<5x3x2xf32>) -> tensor<2x5x4xf32> {
  %y = kiln.conv %x, %w {strides = array<i64: 1>, dilations = array<i64: 2>, pads = array<i64: 0, 0>, group = 1 : i64}
      : (tensor<2x3x6xf32>, tensor<5x3x2xf32>) -> tensor<2x5x4xf32>
  return %y : tensor<2x5x4xf32>
}

// -----

// Grouped and integer convs keep the reference lowering.
// CHECK-LABEL: func @grouped
// CHECK: kiln.conv
// CHECK-NOT: kiln.matmul
func.func @grouped(%x: tensor<1x4x5x5xf32>, %w: tensor<4x1x3x3xf32>) -> tensor<1x4x3x3xf32> {
  %y = kiln.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 4 : i64}
      : (tensor<1x4x5x5xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x3x3xf32>
  return %y : tensor<1x4x3x3xf32>
}

// CHECK-LABEL: func @integer
// CHECK: kiln.conv
// CHECK-NOT: kiln.matmul
func.func @integer(%x: tensor<1x2x3x3xi32>, %w: tensor<2x2x1x1xi32>) -> tensor<1x2x3x3xi32> {
  %y = kiln.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64}
      : (tensor<1x2x3x3xi32>, tensor<2x2x1x1xi32>) -> tensor<1x2x3x3xi32>
  return %y : tensor<1x2x3x3xi32>
}
