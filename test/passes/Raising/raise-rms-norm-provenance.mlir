// RUN: kiln-opt %s --kiln-raise-rms-norm --mlir-print-debuginfo 2>/dev/null | FileCheck %s

// The raised op's location names every node of the subgraph it replaced,
// its own (the node whose result it replaces) first, then the others in
// the model's order (constants excepted): a profile or an error about the
// norm names all six ONNX nodes.
// CHECK-LABEL: func.func @provenance
// CHECK: kiln.rms_norm {{.*}} loc([[NORM:#loc[0-9]*]])
// CHECK: [[SCALE:#loc[0-9]*]] = loc("scale")
// CHECK-NEXT: [[SQ:#loc[0-9]*]] = loc("square")
// CHECK-NEXT: [[MEAN:#loc[0-9]*]] = loc("mean")
// CHECK-NEXT: [[EPS:#loc[0-9]*]] = loc("add_eps")
// CHECK-NEXT: [[RSQRT:#loc[0-9]*]] = loc("rsqrt")
// CHECK-NEXT: [[NORMALIZE:#loc[0-9]*]] = loc("normalize")
// CHECK: [[NORM]] = loc(fused[[[SCALE]], [[SQ]], [[MEAN]], [[EPS]], [[RSQRT]], [[NORMALIZE]]])
func.func @provenance(%x: tensor<2x8xf32>, %w: tensor<8xf32>) -> tensor<2x8xf32> {
  %eps = arith.constant dense<1.0e-5> : tensor<f32> loc("epsilon")
  %0 = kiln.mul %x, %x : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32> loc("square")
  %1 = kiln.reduce_mean %0 {axes = array<i64: 1>, keepdims = true} : tensor<2x8xf32> -> tensor<2x1xf32> loc("mean")
  %2 = kiln.add %1, %eps : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32> loc("add_eps")
  %3 = kiln.rsqrt %2 : tensor<2x1xf32> loc("rsqrt")
  %4 = kiln.mul %x, %3 : (tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32> loc("normalize")
  %5 = kiln.mul %4, %w : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32> loc("scale")
  return %5 : tensor<2x8xf32>
}
