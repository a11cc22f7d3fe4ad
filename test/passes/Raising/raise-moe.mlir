// RUN: kiln-opt %s --pass-pipeline='builtin.module(func.func(kiln-raise-moe))' --split-input-file 2>%t.remarks | FileCheck %s
// RUN: FileCheck %s --input-file=%t.remarks --check-prefix=REMARK
// kiln-raise-moe on hand-written IR, for the forms torch exports only after
// other raising passes: experts as kiln.swiglu of one fused [H, 2F]
// projection (kiln-raise-activations' output). The stacked weights show
// the layout: gate = the first F outputs, up = the last F, both transposed
// to nn.Linear's [F, H]; down [H, F].

// CHECK-LABEL: func.func @swiglu_fused
// CHECK-SAME: (%[[X:.+]]: tensor<4x4xf32>)
// CHECK-DAG: %[[GATE:.+]] = arith.constant dense<{{\[\[\[}}0.000000e+00, 4.000000e+00, 8.000000e+00, 1.200000e+01], [1.000000e+00, 5.000000e+00, 9.000000e+00, 1.300000e+01]], {{\[\[}}1.600000e+01, 2.000000e+01, 2.400000e+01, 2.800000e+01], [1.700000e+01, 2.100000e+01, 2.500000e+01, 2.900000e+01]]]> : tensor<2x2x4xf32>
// CHECK-DAG: %[[UP:.+]] = arith.constant dense<{{\[\[\[}}2.000000e+00, 6.000000e+00, 1.000000e+01, 1.400000e+01], [3.000000e+00, 7.000000e+00, 1.100000e+01, 1.500000e+01]], {{\[\[}}1.800000e+01, 2.200000e+01, 2.600000e+01, 3.000000e+01], [1.900000e+01, 2.300000e+01, 2.700000e+01, 3.100000e+01]]]> : tensor<2x2x4xf32>
// CHECK-DAG: %[[DOWN:.+]] = arith.constant dense<{{\[\[\[}}1.000000e+00, 0.000000e+00], [0.000000e+00, 1.000000e+00], [1.000000e+00, 0.000000e+00], [0.000000e+00, 1.000000e+00]], {{\[\[}}2.000000e+00, 0.000000e+00], [0.000000e+00, 2.000000e+00], [2.000000e+00, 0.000000e+00], [0.000000e+00, 2.000000e+00]]]> : tensor<2x4x2xf32>
// CHECK: %[[W:.+]], %[[E:.+]], %{{.+}} = kiln.moe_route %{{.+}} {k = 1 : i64}
// CHECK: %[[Y:.+]] = kiln.moe_experts %[[X]], %[[E]], %[[W]], %[[GATE]], %[[DOWN]] up %[[UP]] {activation = #kiln.expert_activation<swiglu>}
// CHECK-NEXT: return %[[Y]]
// REMARK: remark: raised moe (softmax router, top-1 of 2 experts; 2 swiglu experts 4->2->4)
func.func @swiglu_fused(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %wr = arith.constant dense<[[1.0, -1.0], [0.5, 0.25], [-2.0, 1.0], [0.0, 3.0]]> : tensor<4x2xf32>
  %logits = kiln.matmul %x, %wr : (tensor<4x4xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  %p = kiln.softmax %logits {axis = 1 : i64} : tensor<4x2xf32>
  %v, %i = kiln.top_k %p {axis = 1 : i64, k = 1 : i64} : tensor<4x2xf32> -> (tensor<4x1xf32>, tensor<4x1xi64>)
  %z = arith.constant dense<0.0> : tensor<4x2xf32>
  %d = kiln.scatter_elements %z, %i, %v {axis = 1 : i64} : (tensor<4x2xf32>, tensor<4x1xi64>, tensor<4x1xf32>) -> tensor<4x2xf32>
  %g0 = arith.constant dense<[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0], [12.0, 13.0, 14.0, 15.0]]> : tensor<4x4xf32>
  %h0 = kiln.matmul %x, %g0 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %s0 = kiln.swiglu %h0 : tensor<4x4xf32> -> tensor<4x2xf32>
  %d0 = arith.constant dense<[[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]]> : tensor<2x4xf32>
  %y0 = kiln.matmul %s0, %d0 : (tensor<4x2xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %c0 = kiln.slice %d {starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : tensor<4x2xf32> -> tensor<4x1xf32>
  %m0 = kiln.mul %y0, %c0 : (tensor<4x4xf32>, tensor<4x1xf32>) -> tensor<4x4xf32>
  %g1 = arith.constant dense<[[16.0, 17.0, 18.0, 19.0], [20.0, 21.0, 22.0, 23.0], [24.0, 25.0, 26.0, 27.0], [28.0, 29.0, 30.0, 31.0]]> : tensor<4x4xf32>
  %h1 = kiln.matmul %x, %g1 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %s1 = kiln.swiglu %h1 : tensor<4x4xf32> -> tensor<4x2xf32>
  %d1 = arith.constant dense<[[2.0, 0.0, 2.0, 0.0], [0.0, 2.0, 0.0, 2.0]]> : tensor<2x4xf32>
  %y1 = kiln.matmul %s1, %d1 : (tensor<4x2xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %c1 = kiln.slice %d {starts = array<i64: 0, 1>, steps = array<i64: 1, 1>} : tensor<4x2xf32> -> tensor<4x1xf32>
  %m1 = kiln.mul %c1, %y1 : (tensor<4x1xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %sum = kiln.add %m0, %m1 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  return %sum : tensor<4x4xf32>
}

// -----

// One expert's output is also returned on its own: the sum cannot be
// replaced without keeping that expert, so the block is left.
// CHECK-LABEL: func.func @expert_used_elsewhere
// CHECK: kiln.top_k
// CHECK-NOT: kiln.moe_route
// REMARK: remark: left moe: expert 0's routing column does not scale one expert output
func.func @expert_used_elsewhere(%x: tensor<4x4xf32>) -> (tensor<4x4xf32>, tensor<4x1xf32>) {
  %wr = arith.constant dense<[[1.0, -1.0], [0.5, 0.25], [-2.0, 1.0], [0.0, 3.0]]> : tensor<4x2xf32>
  %logits = kiln.matmul %x, %wr : (tensor<4x4xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  %p = kiln.softmax %logits {axis = 1 : i64} : tensor<4x2xf32>
  %v, %i = kiln.top_k %p {axis = 1 : i64, k = 1 : i64} : tensor<4x2xf32> -> (tensor<4x1xf32>, tensor<4x1xi64>)
  %z = arith.constant dense<0.0> : tensor<4x2xf32>
  %d = kiln.scatter_elements %z, %i, %v {axis = 1 : i64} : (tensor<4x2xf32>, tensor<4x1xi64>, tensor<4x1xf32>) -> tensor<4x2xf32>
  %g = arith.constant dense<1.0> : tensor<4x2xf32>
  %u = arith.constant dense<2.0> : tensor<4x2xf32>
  %dn = arith.constant dense<0.5> : tensor<2x4xf32>
  %a0 = kiln.matmul %x, %g : (tensor<4x4xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  %b0 = kiln.matmul %x, %u : (tensor<4x4xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  %s0 = kiln.silu %a0 : tensor<4x2xf32>
  %t0 = kiln.mul %s0, %b0 : (tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  %y0 = kiln.matmul %t0, %dn : (tensor<4x2xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %c0 = kiln.slice %d {starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : tensor<4x2xf32> -> tensor<4x1xf32>
  %m0 = kiln.mul %y0, %c0 : (tensor<4x4xf32>, tensor<4x1xf32>) -> tensor<4x4xf32>
  %a1 = kiln.matmul %x, %g : (tensor<4x4xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  %b1 = kiln.matmul %x, %u : (tensor<4x4xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  %s1 = kiln.silu %a1 : tensor<4x2xf32>
  %t1 = kiln.mul %s1, %b1 : (tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  %y1 = kiln.matmul %t1, %dn : (tensor<4x2xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %c1 = kiln.slice %d {starts = array<i64: 0, 1>, steps = array<i64: 1, 1>} : tensor<4x2xf32> -> tensor<4x1xf32>
  %m1 = kiln.mul %y1, %c1 : (tensor<4x4xf32>, tensor<4x1xf32>) -> tensor<4x4xf32>
  %sum = kiln.add %m0, %m1 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  return %sum, %c0 : tensor<4x4xf32>, tensor<4x1xf32>
}
