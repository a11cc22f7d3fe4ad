// RUN: kiln-opt %s -split-input-file -kiln-cpu-convert-depthwise-convs-to-linalg | FileCheck %s

// A padded 3x3 depthwise conv with bias: loops (n, c, kh, kw, oh, ow), the
// kernel reductions outside the output row loops.
// CHECK-DAG: #[[IN:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 + d4, d3 + d5)>
// CHECK-DAG: #[[W:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, 0, d2, d3)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d4, d5)>
// CHECK-LABEL: func @depthwise
// CHECK: %[[P:.+]] = tensor.pad %{{.+}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: %[[INIT:.+]] = linalg.generic {{.+}} ins(%{{.+}} : tensor<4xf32>) outs(%{{.+}} : tensor<1x4x5x5xf32>)
// CHECK: %[[Y:.+]] = linalg.generic {indexing_maps = [#[[IN]], #[[W]], #[[OUT]]], iterator_types = ["parallel", "parallel", "reduction", "reduction", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[P]], %{{.+}} : tensor<1x4x7x7xf32>, tensor<4x1x3x3xf32>) outs(%[[INIT]] : tensor<1x4x5x5xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: return %[[Y]]
func.func @depthwise(%x: tensor<1x4x5x5xf32>, %w: tensor<4x1x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x5x5xf32> {
  %y = kiln.conv %x, %w, %b {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 4 : i64}
      : (tensor<1x4x5x5xf32>, tensor<4x1x3x3xf32>, tensor<4xf32>) -> tensor<1x4x5x5xf32>
  return %y : tensor<1x4x5x5xf32>
}

// -----

// Two filters per channel (channel multiplier 2), stride 2, dilation 2,
// no bias: filter m reads channel m floordiv 2.
// CHECK: #[[IN2:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 floordiv 2, d4 * 2 + d2 * 2, d5 * 2 + d3 * 2)>
// CHECK-LABEL: func @multiplier
// CHECK-NOT: tensor.pad
// CHECK: linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[IN2]], {{.+}}],{{.+}} outs(%{{.+}} : tensor<1x4x2x2xf32>)
func.func @multiplier(%x: tensor<1x2x7x7xf32>, %w: tensor<4x1x3x3xf32>) -> tensor<1x4x2x2xf32> {
  %y = kiln.conv %x, %w {strides = array<i64: 2, 2>, dilations = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, group = 2 : i64}
      : (tensor<1x2x7x7xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x2x2xf32>
  return %y : tensor<1x4x2x2xf32>
}

// -----

// Regular and grouped (two channels per group) convs are not depthwise.
// CHECK-LABEL: func @grouped
// CHECK: kiln.conv
// CHECK-NOT: linalg.generic
func.func @grouped(%x: tensor<1x4x5x5xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x3x3xf32> {
  %y = kiln.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 2 : i64}
      : (tensor<1x4x5x5xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x3x3xf32>
  return %y : tensor<1x4x3x3xf32>
}
