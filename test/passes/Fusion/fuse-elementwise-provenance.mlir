// RUN: kiln-opt %s -kiln-fuse-elementwise --mlir-print-debuginfo | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>

// The fused loop nest names every node it computes: the producer's tagged
// location and the consumer's, op kinds included.
// CHECK-LABEL: func @chain
// CHECK: linalg.generic
// CHECK: arith.addf
// CHECK: arith.maximumf
// CHECK: } -> tensor<4x8xf32> loc([[FUSED:#loc[0-9]*]])
// CHECK-NOT: linalg.generic
// CHECK-DAG: [[ADD:#loc[0-9]*]] = loc("add_0")
// CHECK-DAG: [[RELU:#loc[0-9]*]] = loc("relu_1")
// CHECK-DAG: [[TADD:#loc[0-9]*]] = loc(fused<"kiln.add">[[[ADD]]])
// CHECK-DAG: [[TRELU:#loc[0-9]*]] = loc(fused<"kiln.relu">[[[RELU]]])
// CHECK-DAG: [[FUSED]] = loc(fused[[[TADD]], [[TRELU]]])
func.func @chain(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %0 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32> loc(fused<"kiln.add">["add_0"])
  %1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%0 : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = arith.maximumf %x, %zero : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32> loc(fused<"kiln.relu">["relu_1"])
  return %1 : tensor<4x8xf32>
}
