// kiln-fuse-elementwise's rule for dequantizing ("widening") producers: one
// fuses into a matmul read through a projection only when the projected
// loops have one iteration (a one-row product, as in decoding), reaching
// through the weight's transpose; with more rows the dequantized weight is
// materialized once. Input: kiln.qlinear lowered by kiln-decompose-composite-ops and
// kiln-convert-kiln-to-linalg.
// RUN: kiln-opt %s --pass-pipeline='builtin.module(func.func(kiln-decompose-composite-ops,kiln-convert-kiln-to-linalg,kiln-fuse-elementwise))' | FileCheck %s

// One row: the matmul reads the i4 weight and its scales itself.
// CHECK-LABEL: func.func @one_row
// CHECK-SAME: (%[[X:.+]]: tensor<1x64xf32>, %[[W:.+]]: tensor<8x64xi4>, %[[S:.+]]: tensor<8x2xf32>)
// CHECK-NOT: linalg.transpose
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]{{.*}} ins(%[[X]], %[[W]], %[[S]] : tensor<1x64xf32>, tensor<8x64xi4>, tensor<8x2xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @one_row(%x: tensor<1x64xf32>, %w: tensor<8x64xi4>, %s: tensor<8x2xf32>) -> tensor<1x8xf32> {
  %y = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 32>} : (tensor<1x64xf32>, tensor<8x64xi4>, tensor<8x2xf32>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// Four rows: the weight is dequantized (and transposed) once into floats,
// and the matmul reads that copy.
// CHECK-LABEL: func.func @four_rows
// CHECK-SAME: (%[[X:.+]]: tensor<4x64xf32>, %[[W:.+]]: tensor<8x64xi4>, %[[S:.+]]: tensor<8x2xf32>)
// CHECK: %[[WF:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]{{.*}} ins(%[[W]], %[[S]] : tensor<8x64xi4>, tensor<8x2xf32>) outs(%{{.+}} : tensor<64x8xf32>)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]{{.*}} ins(%[[X]], %[[WF]] : tensor<4x64xf32>, tensor<64x8xf32>)
func.func @four_rows(%x: tensor<4x64xf32>, %w: tensor<8x64xi4>, %s: tensor<8x2xf32>) -> tensor<4x8xf32> {
  %y = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 32>} : (tensor<4x64xf32>, tensor<8x64xi4>, tensor<8x2xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
