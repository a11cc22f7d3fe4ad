// RUN: kiln-opt %s -kiln-flatten-empty-tensors | FileCheck %s

// A 2x0x4 argument and a 0x3 result become tensor<0xf32>; uses of the
// argument read an empty tensor of the original shape instead.
// CHECK-LABEL: func @main
// CHECK-SAME: (%{{.+}}: tensor<0xf32>, %[[B:.+]]: tensor<2x4xf32>) -> (tensor<0xf32>, tensor<2x4xf32>)
// CHECK: %[[E:.+]] = tensor.empty() : tensor<2x0x4xf32>
// CHECK: kiln.reduce_sum %[[E]]
// CHECK: %[[R:.+]] = tensor.empty() : tensor<0xf32>
// CHECK: return %[[R]], %{{.+}} : tensor<0xf32>, tensor<2x4xf32>
func.func @main(%a: tensor<2x0x4xf32>, %b: tensor<2x4xf32>) -> (tensor<0x3xf32>, tensor<2x4xf32>) {
  %s = kiln.reduce_sum %a {axes = array<i64: 1>, keepdims = false} : tensor<2x0x4xf32> -> tensor<2x4xf32>
  %t = kiln.add %s, %b : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %z = arith.constant dense<0.0> : tensor<0x3xf32>
  return %z, %t : tensor<0x3xf32>, tensor<2x4xf32>
}

// Functions other than the entry are left alone.
// CHECK-LABEL: func @other
// CHECK-SAME: tensor<2x0xf32>
func.func @other(%a: tensor<2x0xf32>) -> tensor<2x0xf32> {
  return %a : tensor<2x0xf32>
}
