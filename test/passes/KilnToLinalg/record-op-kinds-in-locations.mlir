// RUN: kiln-opt %s -kiln-record-op-kinds-in-locations --mlir-print-debuginfo | FileCheck %s

// Each Kiln op's location is wrapped in a FusedLoc whose metadata is its
// kind; a location that already names several nodes keeps them all, and
// other dialects' ops (the weights' arith.constant, which
// kiln-outline-weights names weights after) keep theirs. Running it twice
// changes nothing more.
// CHECK-LABEL: func @tagged
// CHECK: arith.constant {{.*}} loc([[W:#loc[0-9]*]])
// CHECK: kiln.add {{.*}} loc([[ADD:#loc[0-9]*]])
// CHECK: kiln.mul {{.*}} loc([[MUL:#loc[0-9]*]])
// CHECK-DAG: [[W]] = loc("weight")
// CHECK-DAG: [[ADD]] = loc(fused<"kiln.add">[{{#loc[0-9]*}}])
// CHECK-DAG: [[TWO:#loc[0-9]*]] = loc(fused[{{#loc[0-9]*}}, {{#loc[0-9]*}}])
// CHECK-DAG: [[MUL]] = loc(fused<"kiln.mul">[[[TWO]]])
func.func @tagged(%a: tensor<4xf32>) -> tensor<4xf32> {
  %w = arith.constant dense<1.0> : tensor<4xf32> loc("weight")
  %0 = kiln.add %a, %w : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32> loc("add_0")
  %1 = kiln.mul %0, %0 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32> loc(fused["mul_1", "scale_2"])
  return %1 : tensor<4xf32>
}

// RUN: kiln-opt %s -kiln-record-op-kinds-in-locations -kiln-record-op-kinds-in-locations --mlir-print-debuginfo | FileCheck %s --check-prefix=TWICE
// TWICE-NOT: fused<"kiln.add">[{{.*}}fused<"kiln.add">
