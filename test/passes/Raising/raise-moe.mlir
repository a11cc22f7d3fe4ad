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

// -----

// DeepSeek-style routing without groups: sigmoid scores, a selection bias
// added only for the choice, the unbiased scores gathered, renormalized and
// scaled; the weights spread over [tokens, experts] as
// sum(one_hot(idx) * w); ReLU experts.
// CHECK-LABEL: func.func @sigmoid_bias_one_hot
// CHECK: kiln.moe_route %{{.+}} bias %{{.+}} {k = 2 : i64, normalize = true, routed_scale = 2.500000e+00 : f32, scoring = #kiln.router_scoring<sigmoid>}
// CHECK: kiln.moe_experts {{.+}} {activation = #kiln.expert_activation<relu>}
// CHECK-NOT: kiln.one_hot
// REMARK: remark: raised moe (sigmoid router, top-2 of 4 experts, selection bias, normalized, scale 2.5; 4 relu experts 2->3->2)
func.func @sigmoid_bias_one_hot(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %wr = arith.constant dense<[[1.0, -1.0, 0.5, 0.0], [0.25, 2.0, -0.5, 1.0]]> : tensor<2x4xf32>
  %logits = kiln.matmul %x, %wr : (tensor<2x2xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %s = kiln.sigmoid %logits : tensor<2x4xf32>
  %bias = arith.constant dense<[0.1, 0.0, -0.1, 0.2]> : tensor<4xf32>
  %sel = kiln.add %s, %bias : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %v, %i = kiln.top_k %sel {axis = 1 : i64, k = 2 : i64} : tensor<2x4xf32> -> (tensor<2x2xf32>, tensor<2x2xi64>)
  %w = kiln.gather_elements %s, %i {axis = 1 : i64} : (tensor<2x4xf32>, tensor<2x2xi64>) -> tensor<2x2xf32>
  %sum = kiln.reduce_sum %w {axes = array<i64: 1>, keepdims = true} : tensor<2x2xf32> -> tensor<2x1xf32>
  %wn = kiln.div %w, %sum : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %k = arith.constant dense<2.5> : tensor<f32>
  %ws = kiln.mul %wn, %k : (tensor<2x2xf32>, tensor<f32>) -> tensor<2x2xf32>
  %oh = kiln.one_hot %i {axis = 2 : i64, depth = 4 : i64, off_value = 0.000000e+00 : f64, on_value = 1.000000e+00 : f64} : tensor<2x2xi64> -> tensor<2x2x4xi64>
  %ohf = kiln.cast %oh : tensor<2x2x4xi64> -> tensor<2x2x4xf32>
  %wu = kiln.reshape %ws : tensor<2x2xf32> -> tensor<2x2x1xf32>
  %spread = kiln.mul %ohf, %wu : (tensor<2x2x4xf32>, tensor<2x2x1xf32>) -> tensor<2x2x4xf32>
  %dense = kiln.reduce_sum %spread {axes = array<i64: 1>} : tensor<2x2x4xf32> -> tensor<2x4xf32>
  %a0 = arith.constant dense<[[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]> : tensor<2x3xf32>
  %b0 = arith.constant dense<[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]> : tensor<3x2xf32>
  %h0 = kiln.matmul %x, %a0 : (tensor<2x2xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %r0 = kiln.relu %h0 : tensor<2x3xf32>
  %y0 = kiln.matmul %r0, %b0 : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %c0 = kiln.slice %dense {starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : tensor<2x4xf32> -> tensor<2x1xf32>
  %m0 = kiln.mul %y0, %c0 : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %a1 = arith.constant dense<[[2.0, 0.0, 1.0], [0.0, 2.0, 1.0]]> : tensor<2x3xf32>
  %b1 = arith.constant dense<[[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]]> : tensor<3x2xf32>
  %h1 = kiln.matmul %x, %a1 : (tensor<2x2xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %r1 = kiln.relu %h1 : tensor<2x3xf32>
  %y1 = kiln.matmul %r1, %b1 : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %c1 = kiln.slice %dense {starts = array<i64: 0, 1>, steps = array<i64: 1, 1>} : tensor<2x4xf32> -> tensor<2x1xf32>
  %m1 = kiln.mul %y1, %c1 : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %a2 = arith.constant dense<[[3.0, 0.0, 1.0], [0.0, 3.0, 1.0]]> : tensor<2x3xf32>
  %b2 = arith.constant dense<[[3.0, 0.0], [0.0, 3.0], [1.0, 1.0]]> : tensor<3x2xf32>
  %h2 = kiln.matmul %x, %a2 : (tensor<2x2xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %r2 = kiln.relu %h2 : tensor<2x3xf32>
  %y2 = kiln.matmul %r2, %b2 : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %c2 = kiln.slice %dense {starts = array<i64: 0, 2>, steps = array<i64: 1, 1>} : tensor<2x4xf32> -> tensor<2x1xf32>
  %m2 = kiln.mul %y2, %c2 : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %a3 = arith.constant dense<[[4.0, 0.0, 1.0], [0.0, 4.0, 1.0]]> : tensor<2x3xf32>
  %b3 = arith.constant dense<[[4.0, 0.0], [0.0, 4.0], [1.0, 1.0]]> : tensor<3x2xf32>
  %h3 = kiln.matmul %x, %a3 : (tensor<2x2xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %r3 = kiln.relu %h3 : tensor<2x3xf32>
  %y3 = kiln.matmul %r3, %b3 : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %c3 = kiln.slice %dense {starts = array<i64: 0, 3>, steps = array<i64: 1, 1>} : tensor<2x4xf32> -> tensor<2x1xf32>
  %m3 = kiln.mul %y3, %c3 : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %s01 = kiln.add %m0, %m1 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %s23 = kiln.add %m2, %m3 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %out = kiln.add %s01, %s23 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %out : tensor<2x2xf32>
}

// -----

// The routing weights as HF Mixtral's one-hot form: one_hot(top-k
// indices) * top-k values, summed over the k choices, gives the dense
// [T, E] weights; each expert is silu(x @ gate) * (x @ up) @ down.
// CHECK-LABEL: func.func @onehot_swiglu
// CHECK-SAME: (%[[X:.+]]: tensor<4x4xf32>)
// CHECK-DAG: %[[GATE:.+]] = arith.constant dense<{{\[\[\[}}0.000000e+00, 2.000000e+00, 4.000000e+00, 6.000000e+00], [1.000000e+00, 3.000000e+00, 5.000000e+00, 7.000000e+00]], {{.+}}> : tensor<2x2x4xf32>
// CHECK-DAG: %[[UP:.+]] = arith.constant dense<{{\[\[\[}}8.000000e+00, 1.000000e+01, 1.200000e+01, 1.400000e+01], [9.000000e+00, 1.100000e+01, 1.300000e+01, 1.500000e+01]], {{.+}}> : tensor<2x2x4xf32>
// CHECK-DAG: %[[DOWN:.+]] = arith.constant dense<{{.+}}> : tensor<2x4x2xf32>
// CHECK: %[[W:.+]], %[[E:.+]], %{{.+}} = kiln.moe_route %{{.+}} {k = 1 : i64}
// CHECK: %[[Y:.+]] = kiln.moe_experts %[[X]], %[[E]], %[[W]], %[[GATE]], %[[DOWN]] up %[[UP]] {activation = #kiln.expert_activation<swiglu>}
// CHECK-NEXT: return %[[Y]]
// REMARK: remark: raised moe (softmax router, top-1 of 2 experts; 2 swiglu experts 4->2->4)
func.func @onehot_swiglu(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %wr = arith.constant dense<[[1.0, -1.0], [0.5, 0.25], [-2.0, 1.0], [0.0, 3.0]]> : tensor<4x2xf32>
  %logits = kiln.matmul %x, %wr : (tensor<4x4xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  %p = kiln.softmax %logits {axis = 1 : i64} : tensor<4x2xf32>
  %v, %i = kiln.top_k %p {axis = 1 : i64, k = 1 : i64} : tensor<4x2xf32> -> (tensor<4x1xf32>, tensor<4x1xi64>)
  %hot = kiln.one_hot %i {axis = 2 : i64, depth = 2 : i64, off_value = 0.0 : f64, on_value = 1.0 : f64} : tensor<4x1xi64> -> tensor<4x1x2xi64>
  %vk = kiln.reshape %v : tensor<4x1xf32> -> tensor<4x1x1xf32>
  %hotf = kiln.cast %hot : tensor<4x1x2xi64> -> tensor<4x1x2xf32>
  %wk = kiln.mul %hotf, %vk : (tensor<4x1x2xf32>, tensor<4x1x1xf32>) -> tensor<4x1x2xf32>
  %d = kiln.reduce_sum %wk {axes = array<i64: 1>} : tensor<4x1x2xf32> -> tensor<4x2xf32>
  %g0 = arith.constant dense<[[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0]]> : tensor<4x2xf32>
  %u0 = arith.constant dense<[[8.0, 9.0], [10.0, 11.0], [12.0, 13.0], [14.0, 15.0]]> : tensor<4x2xf32>
  %d0 = arith.constant dense<[[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]]> : tensor<2x4xf32>
  %h0 = kiln.matmul %x, %g0 : (tensor<4x4xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  %a0 = kiln.silu %h0 : tensor<4x2xf32>
  %l0 = kiln.matmul %x, %u0 : (tensor<4x4xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  %s0 = kiln.mul %a0, %l0 : (tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  %y0 = kiln.matmul %s0, %d0 : (tensor<4x2xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %c0 = kiln.slice %d {starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : tensor<4x2xf32> -> tensor<4x1xf32>
  %m0 = kiln.mul %y0, %c0 : (tensor<4x4xf32>, tensor<4x1xf32>) -> tensor<4x4xf32>
  %g1 = arith.constant dense<[[16.0, 17.0], [18.0, 19.0], [20.0, 21.0], [22.0, 23.0]]> : tensor<4x2xf32>
  %u1 = arith.constant dense<[[24.0, 25.0], [26.0, 27.0], [28.0, 29.0], [30.0, 31.0]]> : tensor<4x2xf32>
  %d1 = arith.constant dense<[[2.0, 0.0, 2.0, 0.0], [0.0, 2.0, 0.0, 2.0]]> : tensor<2x4xf32>
  %h1 = kiln.matmul %x, %g1 : (tensor<4x4xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  %a1 = kiln.silu %h1 : tensor<4x2xf32>
  %l1 = kiln.matmul %x, %u1 : (tensor<4x4xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  %s1 = kiln.mul %a1, %l1 : (tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  %y1 = kiln.matmul %s1, %d1 : (tensor<4x2xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %c1 = kiln.slice %d {starts = array<i64: 0, 1>, steps = array<i64: 1, 1>} : tensor<4x2xf32> -> tensor<4x1xf32>
  %m1 = kiln.mul %y1, %c1 : (tensor<4x4xf32>, tensor<4x1xf32>) -> tensor<4x4xf32>
  %sum = kiln.add %m0, %m1 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  return %sum : tensor<4x4xf32>
}

// -----

// DeepSeek-V3's grouped routing: sigmoid scores; a selection-only bias;
// the 4 experts in 2 groups, each group scored by the sum of its two best
// selection scores; the best group kept and the other group's experts
// filled with 0 (masked_fill(~mask, 0), exported as cast, not, select);
// top-2 of what is left; the weights gathered from the unbiased scores,
// divided by their sum + 1e-20 and times 2.5. A shared expert on the
// un-flattened tokens is added after the routed sum: it stays as ordinary
// ops.
// CHECK-LABEL: func.func @grouped_routing_shared_expert
// CHECK-SAME: (%[[X3:.+]]: tensor<1x2x2xf32>)
// CHECK: %[[X:.+]] = kiln.reshape %[[X3]]
// CHECK: %[[LOGITS:.+]] = kiln.matmul %[[X]]
// CHECK-NOT: kiln.{{sigmoid|top_k|reduce_sum|select|not|cast|gather_elements|scatter_elements|div}}
// CHECK: %[[W:.+]], %[[E:.+]], %{{.+}} = kiln.moe_route %[[LOGITS]] bias %{{.+}} {k = 2 : i64, normalize = true, num_groups = 2 : i64, routed_scale = 2.500000e+00 : f32, scoring = #kiln.router_scoring<sigmoid>}
// CHECK-NEXT: %[[Y:.+]] = kiln.moe_experts %[[X]], %[[E]], %[[W]], {{.+}} {activation = #kiln.expert_activation<relu>}
// CHECK-NOT: kiln.{{slice|scatter_elements|top_k}}
// CHECK: %[[ROUTED:.+]] = kiln.reshape %[[Y]] : tensor<2x2xf32> -> tensor<1x2x2xf32>
// CHECK: %[[SH:.+]] = kiln.matmul %[[X3]]
// CHECK: %[[SR:.+]] = kiln.relu %[[SH]]
// CHECK: %[[SHARED:.+]] = kiln.matmul %[[SR]]
// CHECK: %[[OUT:.+]] = kiln.add %[[ROUTED]], %[[SHARED]]
// CHECK-NEXT: return %[[OUT]]
// REMARK: remark: raised moe (sigmoid router, top-2 of 4 experts, selection bias, 2 groups keep 1, normalized (epsilon 1e-20 dropped), scale 2.5; 4 relu experts 2->3->2)
func.func @grouped_routing_shared_expert(%x3: tensor<1x2x2xf32>) -> tensor<1x2x2xf32> {
  %x = kiln.reshape %x3 : tensor<1x2x2xf32> -> tensor<2x2xf32>
  %wr = arith.constant dense<[[1.0, -1.0, 0.5, 0.0], [0.25, 2.0, -0.5, 1.0]]> : tensor<2x4xf32>
  %logits = kiln.matmul %x, %wr : (tensor<2x2xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %s = kiln.sigmoid %logits : tensor<2x4xf32>
  %bias = arith.constant dense<[[0.1, 0.0, 0.05, 0.2]]> : tensor<1x4xf32>
  %sel = kiln.add %s, %bias : (tensor<2x4xf32>, tensor<1x4xf32>) -> tensor<2x4xf32>
  %g = kiln.reshape %sel : tensor<2x4xf32> -> tensor<2x2x2xf32>
  %gv, %gi = kiln.top_k %g {axis = 2 : i64, k = 2 : i64} : tensor<2x2x2xf32> -> (tensor<2x2x2xf32>, tensor<2x2x2xi64>)
  %gs = kiln.reduce_sum %gv {axes = array<i64: 2>} : tensor<2x2x2xf32> -> tensor<2x2xf32>
  %tv, %ti = kiln.top_k %gs {axis = 1 : i64, k = 1 : i64} : tensor<2x2xf32> -> (tensor<2x1xf32>, tensor<2x1xi64>)
  %gz = arith.constant dense<0.0> : tensor<2x2xf32>
  %ones = arith.constant dense<1.0> : tensor<2x1xf32>
  %gm = kiln.scatter_elements %gz, %ti, %ones {axis = 1 : i64} : (tensor<2x2xf32>, tensor<2x1xi64>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %gm3 = kiln.reshape %gm : tensor<2x2xf32> -> tensor<2x2x1xf32>
  %gmb = kiln.broadcast %gm3 : tensor<2x2x1xf32> -> tensor<2x2x2xf32>
  %em = kiln.reshape %gmb : tensor<2x2x2xf32> -> tensor<2x4xf32>
  %keep = kiln.cast %em : tensor<2x4xf32> -> tensor<2x4xi1>
  %drop = kiln.not %keep : tensor<2x4xi1>
  %fill = arith.constant dense<0.0> : tensor<f32>
  %masked = kiln.select %drop, %fill, %sel : (tensor<2x4xi1>, tensor<f32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %v, %i = kiln.top_k %masked {axis = 1 : i64, k = 2 : i64} : tensor<2x4xf32> -> (tensor<2x2xf32>, tensor<2x2xi64>)
  %w = kiln.gather_elements %s, %i {axis = 1 : i64} : (tensor<2x4xf32>, tensor<2x2xi64>) -> tensor<2x2xf32>
  %sum = kiln.reduce_sum %w {axes = array<i64: 1>, keepdims = true} : tensor<2x2xf32> -> tensor<2x1xf32>
  %eps = arith.constant dense<1.0e-20> : tensor<f32>
  %den = kiln.add %sum, %eps : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %wn = kiln.div %w, %den : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %k = arith.constant dense<2.5> : tensor<f32>
  %ws = kiln.mul %wn, %k : (tensor<2x2xf32>, tensor<f32>) -> tensor<2x2xf32>
  %z = arith.constant dense<0.0> : tensor<2x4xf32>
  %dense = kiln.scatter_elements %z, %i, %ws {axis = 1 : i64} : (tensor<2x4xf32>, tensor<2x2xi64>, tensor<2x2xf32>) -> tensor<2x4xf32>
  %a0 = arith.constant dense<[[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]> : tensor<2x3xf32>
  %b0 = arith.constant dense<[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]> : tensor<3x2xf32>
  %h0 = kiln.matmul %x, %a0 : (tensor<2x2xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %r0 = kiln.relu %h0 : tensor<2x3xf32>
  %y0 = kiln.matmul %r0, %b0 : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %c0 = kiln.slice %dense {starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : tensor<2x4xf32> -> tensor<2x1xf32>
  %m0 = kiln.mul %y0, %c0 : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %a1 = arith.constant dense<[[2.0, 0.0, 1.0], [0.0, 2.0, 1.0]]> : tensor<2x3xf32>
  %b1 = arith.constant dense<[[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]]> : tensor<3x2xf32>
  %h1 = kiln.matmul %x, %a1 : (tensor<2x2xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %r1 = kiln.relu %h1 : tensor<2x3xf32>
  %y1 = kiln.matmul %r1, %b1 : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %c1 = kiln.slice %dense {starts = array<i64: 0, 1>, steps = array<i64: 1, 1>} : tensor<2x4xf32> -> tensor<2x1xf32>
  %m1 = kiln.mul %y1, %c1 : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %a2 = arith.constant dense<[[3.0, 0.0, 1.0], [0.0, 3.0, 1.0]]> : tensor<2x3xf32>
  %b2 = arith.constant dense<[[3.0, 0.0], [0.0, 3.0], [1.0, 1.0]]> : tensor<3x2xf32>
  %h2 = kiln.matmul %x, %a2 : (tensor<2x2xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %r2 = kiln.relu %h2 : tensor<2x3xf32>
  %y2 = kiln.matmul %r2, %b2 : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %c2 = kiln.slice %dense {starts = array<i64: 0, 2>, steps = array<i64: 1, 1>} : tensor<2x4xf32> -> tensor<2x1xf32>
  %m2 = kiln.mul %y2, %c2 : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %a3 = arith.constant dense<[[4.0, 0.0, 1.0], [0.0, 4.0, 1.0]]> : tensor<2x3xf32>
  %b3 = arith.constant dense<[[4.0, 0.0], [0.0, 4.0], [1.0, 1.0]]> : tensor<3x2xf32>
  %h3 = kiln.matmul %x, %a3 : (tensor<2x2xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %r3 = kiln.relu %h3 : tensor<2x3xf32>
  %y3 = kiln.matmul %r3, %b3 : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %c3 = kiln.slice %dense {starts = array<i64: 0, 3>, steps = array<i64: 1, 1>} : tensor<2x4xf32> -> tensor<2x1xf32>
  %m3 = kiln.mul %y3, %c3 : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %s01 = kiln.add %m0, %m1 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %s012 = kiln.add %s01, %m2 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %routed = kiln.add %s012, %m3 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %sa = arith.constant dense<[[0.5, -0.5, 1.0], [1.0, 0.5, -1.0]]> : tensor<2x3xf32>
  %sb = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %routed3 = kiln.reshape %routed : tensor<2x2xf32> -> tensor<1x2x2xf32>
  %sh = kiln.matmul %x3, %sa : (tensor<1x2x2xf32>, tensor<2x3xf32>) -> tensor<1x2x3xf32>
  %sr = kiln.relu %sh : tensor<1x2x3xf32>
  %shared = kiln.matmul %sr, %sb : (tensor<1x2x3xf32>, tensor<3x2xf32>) -> tensor<1x2x2xf32>
  %out = kiln.add %routed3, %shared : (tensor<1x2x2xf32>, tensor<1x2x2xf32>) -> tensor<1x2x2xf32>
  return %out : tensor<1x2x2xf32>
}

// -----

// Mixtral's reference form: the top-k of the logits themselves, the
// softmax taken over the k chosen values. The experts are GELU FFNs of
// kiln.linear layers with biases ([N, K] weights, as nn.Linear holds them).
// CHECK-LABEL: func.func @reference_router_gelu_linear
// CHECK-SAME: (%[[X:.+]]: tensor<2x2xf32>)
// CHECK: %[[LOGITS:.+]] = kiln.matmul %[[X]]
// CHECK-NOT: kiln.{{top_k|softmax|scatter_elements}}
// CHECK: %[[W:.+]], %[[E:.+]], %{{.+}} = kiln.moe_route %[[LOGITS]] {k = 2 : i64, normalize = true}
// CHECK-NEXT: %[[Y:.+]] = kiln.moe_experts %[[X]], %[[E]], %[[W]], %{{.+}}, %{{.+}} gate_bias %{{.+}} down_bias %{{.+}} {activation = #kiln.expert_activation<gelu>} : ({{.+}}, tensor<3x3x2xf32>, tensor<3x2x3xf32>, tensor<3x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
// CHECK-NOT: kiln.{{linear|gelu|slice}}
// CHECK: return %[[Y]]
// REMARK: remark: raised moe (softmax router, top-2 of 3 experts (softmax of the top-k logits), normalized; 3 gelu experts 2->3->2 with biases)
func.func @reference_router_gelu_linear(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %wr = arith.constant dense<[[1.0, -1.0, 0.5], [0.25, 2.0, -0.5]]> : tensor<2x3xf32>
  %logits = kiln.matmul %x, %wr : (tensor<2x2xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %v, %i = kiln.top_k %logits {axis = 1 : i64, k = 2 : i64} : tensor<2x3xf32> -> (tensor<2x2xf32>, tensor<2x2xi64>)
  %w = kiln.softmax %v {axis = 1 : i64} : tensor<2x2xf32>
  %z = arith.constant dense<0.0> : tensor<2x3xf32>
  %d = kiln.scatter_elements %z, %i, %w {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x2xi64>, tensor<2x2xf32>) -> tensor<2x3xf32>
  %u0 = arith.constant dense<[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]> : tensor<3x2xf32>
  %v0 = arith.constant dense<[0.5, 0.0, -0.5]> : tensor<3xf32>
  %o0 = arith.constant dense<[[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]> : tensor<2x3xf32>
  %p0 = arith.constant dense<[0.1, 0.2]> : tensor<2xf32>
  %h0 = kiln.linear %x, %u0, %v0 : (tensor<2x2xf32>, tensor<3x2xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %g0 = kiln.gelu %h0 approximation = none : tensor<2x3xf32>
  %y0 = kiln.linear %g0, %o0, %p0 : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  %c0 = kiln.slice %d {starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : tensor<2x3xf32> -> tensor<2x1xf32>
  %m0 = kiln.mul %y0, %c0 : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %u1 = arith.constant dense<[[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]]> : tensor<3x2xf32>
  %v1 = arith.constant dense<[0.0, 0.5, -0.5]> : tensor<3xf32>
  %o1 = arith.constant dense<[[2.0, 0.0, 1.0], [0.0, 2.0, 1.0]]> : tensor<2x3xf32>
  %p1 = arith.constant dense<[0.3, 0.4]> : tensor<2xf32>
  %h1 = kiln.linear %x, %u1, %v1 : (tensor<2x2xf32>, tensor<3x2xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %g1 = kiln.gelu %h1 approximation = none : tensor<2x3xf32>
  %y1 = kiln.linear %g1, %o1, %p1 : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  %c1 = kiln.slice %d {starts = array<i64: 0, 1>, steps = array<i64: 1, 1>} : tensor<2x3xf32> -> tensor<2x1xf32>
  %m1 = kiln.mul %y1, %c1 : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %u2 = arith.constant dense<[[3.0, 0.0], [0.0, 3.0], [1.0, 1.0]]> : tensor<3x2xf32>
  %v2 = arith.constant dense<[-0.5, 0.0, 0.5]> : tensor<3xf32>
  %o2 = arith.constant dense<[[3.0, 0.0, 1.0], [0.0, 3.0, 1.0]]> : tensor<2x3xf32>
  %p2 = arith.constant dense<[0.5, 0.6]> : tensor<2xf32>
  %h2 = kiln.linear %x, %u2, %v2 : (tensor<2x2xf32>, tensor<3x2xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %g2 = kiln.gelu %h2 approximation = none : tensor<2x3xf32>
  %y2 = kiln.linear %g2, %o2, %p2 : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  %c2 = kiln.slice %d {starts = array<i64: 0, 2>, steps = array<i64: 1, 1>} : tensor<2x3xf32> -> tensor<2x1xf32>
  %m2 = kiln.mul %y2, %c2 : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %s01 = kiln.add %m0, %m1 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %sum = kiln.add %s01, %m2 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %sum : tensor<2x2xf32>
}

// -----

// Grouped routing with the mask multiplied in (scores * mask, fill 0) and
// no selection bias: 2 groups of one expert, the best kept; the weights
// gathered from the scores. SwiGLU experts with SiLU written as
// sigmoid(g) * g.
// CHECK-LABEL: func.func @group_mask_product_sigmoid_swiglu
// CHECK-NOT: kiln.{{sigmoid|top_k|reduce_sum|scatter_elements|gather_elements|broadcast}}
// CHECK: kiln.moe_route %{{.+}} {k = 1 : i64, num_groups = 2 : i64, scoring = #kiln.router_scoring<sigmoid>}
// CHECK-NEXT: kiln.moe_experts {{.+}} up %{{.+}} {activation = #kiln.expert_activation<swiglu>}
// CHECK-NOT: kiln.{{sigmoid|mul|slice}}
// CHECK: return
// REMARK: remark: raised moe (sigmoid router, top-1 of 2 experts, 2 groups keep 1; 2 swiglu experts 2->2->2)
func.func @group_mask_product_sigmoid_swiglu(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %wr = arith.constant dense<[[1.0, -1.0], [0.25, 2.0]]> : tensor<2x2xf32>
  %logits = kiln.matmul %x, %wr : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %s = kiln.sigmoid %logits : tensor<2x2xf32>
  %g = kiln.reshape %s : tensor<2x2xf32> -> tensor<2x2x1xf32>
  %gv, %gi = kiln.top_k %g {axis = 2 : i64, k = 1 : i64} : tensor<2x2x1xf32> -> (tensor<2x2x1xf32>, tensor<2x2x1xi64>)
  %gs = kiln.reduce_sum %gv {axes = array<i64: 2>} : tensor<2x2x1xf32> -> tensor<2x2xf32>
  %tv, %ti = kiln.top_k %gs {axis = 1 : i64, k = 1 : i64} : tensor<2x2xf32> -> (tensor<2x1xf32>, tensor<2x1xi64>)
  %gz = arith.constant dense<0.0> : tensor<2x2xf32>
  %ones = arith.constant dense<1.0> : tensor<2x1xf32>
  %gm = kiln.scatter_elements %gz, %ti, %ones {axis = 1 : i64} : (tensor<2x2xf32>, tensor<2x1xi64>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %gm3 = kiln.reshape %gm : tensor<2x2xf32> -> tensor<2x2x1xf32>
  %gmb = kiln.broadcast %gm3 : tensor<2x2x1xf32> -> tensor<2x2x1xf32>
  %em = kiln.reshape %gmb : tensor<2x2x1xf32> -> tensor<2x2xf32>
  %masked = kiln.mul %s, %em : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %v, %i = kiln.top_k %masked {axis = 1 : i64, k = 1 : i64} : tensor<2x2xf32> -> (tensor<2x1xf32>, tensor<2x1xi64>)
  %w = kiln.gather_elements %s, %i {axis = 1 : i64} : (tensor<2x2xf32>, tensor<2x1xi64>) -> tensor<2x1xf32>
  %z = arith.constant dense<0.0> : tensor<2x2xf32>
  %d = kiln.scatter_elements %z, %i, %w {axis = 1 : i64} : (tensor<2x2xf32>, tensor<2x1xi64>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %a0 = arith.constant dense<[[1.0, 0.0], [0.0, 1.0]]> : tensor<2x2xf32>
  %b0 = arith.constant dense<[[0.5, 0.0], [0.0, 0.5]]> : tensor<2x2xf32>
  %e0 = arith.constant dense<[[1.0, 1.0], [0.0, 1.0]]> : tensor<2x2xf32>
  %h0 = kiln.matmul %x, %a0 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %q0 = kiln.sigmoid %h0 : tensor<2x2xf32>
  %t0 = kiln.mul %h0, %q0 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %l0 = kiln.matmul %x, %b0 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %r0 = kiln.mul %t0, %l0 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %y0 = kiln.matmul %r0, %e0 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %c0 = kiln.slice %d {starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : tensor<2x2xf32> -> tensor<2x1xf32>
  %m0 = kiln.mul %y0, %c0 : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %a1 = arith.constant dense<[[2.0, 0.0], [0.0, 2.0]]> : tensor<2x2xf32>
  %b1 = arith.constant dense<[[1.5, 0.0], [0.0, 1.5]]> : tensor<2x2xf32>
  %e1 = arith.constant dense<[[1.0, 0.0], [1.0, 1.0]]> : tensor<2x2xf32>
  %h1 = kiln.matmul %x, %a1 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %q1 = kiln.sigmoid %h1 : tensor<2x2xf32>
  %t1 = kiln.mul %h1, %q1 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %l1 = kiln.matmul %x, %b1 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %r1 = kiln.mul %t1, %l1 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %y1 = kiln.matmul %r1, %e1 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %c1 = kiln.slice %d {starts = array<i64: 0, 1>, steps = array<i64: 1, 1>} : tensor<2x2xf32> -> tensor<2x1xf32>
  %m1 = kiln.mul %y1, %c1 : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %sum = kiln.add %m0, %m1 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %sum : tensor<2x2xf32>
}

// -----

// DeepSeek-V2's group-limited greedy scores a group by its best expert
// (reduce_max over the group's experts): kiln.moe_route with
// group_scoring = max, and no group computation left.
// CHECK-LABEL: func.func @groups_scored_by_best_expert
// CHECK-NOT: kiln.reduce_max
// CHECK: kiln.moe_route %{{.+}} bias %{{.+}} {group_scoring = #kiln.group_scoring<max>, k = 2 : i64, normalize = true, num_groups = 2 : i64, routed_scale = 2.500000e+00 : f32, scoring = #kiln.router_scoring<sigmoid>}
// CHECK-NOT: kiln.reduce_max
// CHECK: kiln.moe_experts
// CHECK-NOT: kiln.scatter_elements
// REMARK: remark: raised moe (sigmoid router, top-2 of 4 experts, selection bias, 2 groups keep 1 (by their best expert), normalized (epsilon 1e-20 dropped), scale 2.5; 4 relu experts 2->3->2)
func.func @groups_scored_by_best_expert(%x3: tensor<1x2x2xf32>) -> tensor<1x2x2xf32> {
  %x = kiln.reshape %x3 : tensor<1x2x2xf32> -> tensor<2x2xf32>
  %wr = arith.constant dense<[[1.0, -1.0, 0.5, 0.0], [0.25, 2.0, -0.5, 1.0]]> : tensor<2x4xf32>
  %logits = kiln.matmul %x, %wr : (tensor<2x2xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %s = kiln.sigmoid %logits : tensor<2x4xf32>
  %bias = arith.constant dense<[[0.1, 0.0, 0.05, 0.2]]> : tensor<1x4xf32>
  %sel = kiln.add %s, %bias : (tensor<2x4xf32>, tensor<1x4xf32>) -> tensor<2x4xf32>
  %g = kiln.reshape %sel : tensor<2x4xf32> -> tensor<2x2x2xf32>
  %gs = kiln.reduce_max %g {axes = array<i64: 2>} : tensor<2x2x2xf32> -> tensor<2x2xf32>
  %tv, %ti = kiln.top_k %gs {axis = 1 : i64, k = 1 : i64} : tensor<2x2xf32> -> (tensor<2x1xf32>, tensor<2x1xi64>)
  %gz = arith.constant dense<0.0> : tensor<2x2xf32>
  %ones = arith.constant dense<1.0> : tensor<2x1xf32>
  %gm = kiln.scatter_elements %gz, %ti, %ones {axis = 1 : i64} : (tensor<2x2xf32>, tensor<2x1xi64>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %gm3 = kiln.reshape %gm : tensor<2x2xf32> -> tensor<2x2x1xf32>
  %gmb = kiln.broadcast %gm3 : tensor<2x2x1xf32> -> tensor<2x2x2xf32>
  %em = kiln.reshape %gmb : tensor<2x2x2xf32> -> tensor<2x4xf32>
  %keep = kiln.cast %em : tensor<2x4xf32> -> tensor<2x4xi1>
  %drop = kiln.not %keep : tensor<2x4xi1>
  %fill = arith.constant dense<0.0> : tensor<f32>
  %masked = kiln.select %drop, %fill, %sel : (tensor<2x4xi1>, tensor<f32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %v, %i = kiln.top_k %masked {axis = 1 : i64, k = 2 : i64} : tensor<2x4xf32> -> (tensor<2x2xf32>, tensor<2x2xi64>)
  %w = kiln.gather_elements %s, %i {axis = 1 : i64} : (tensor<2x4xf32>, tensor<2x2xi64>) -> tensor<2x2xf32>
  %sum = kiln.reduce_sum %w {axes = array<i64: 1>, keepdims = true} : tensor<2x2xf32> -> tensor<2x1xf32>
  %eps = arith.constant dense<1.0e-20> : tensor<f32>
  %den = kiln.add %sum, %eps : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %wn = kiln.div %w, %den : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %k = arith.constant dense<2.5> : tensor<f32>
  %ws = kiln.mul %wn, %k : (tensor<2x2xf32>, tensor<f32>) -> tensor<2x2xf32>
  %z = arith.constant dense<0.0> : tensor<2x4xf32>
  %dense = kiln.scatter_elements %z, %i, %ws {axis = 1 : i64} : (tensor<2x4xf32>, tensor<2x2xi64>, tensor<2x2xf32>) -> tensor<2x4xf32>
  %a0 = arith.constant dense<[[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]> : tensor<2x3xf32>
  %b0 = arith.constant dense<[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]> : tensor<3x2xf32>
  %h0 = kiln.matmul %x, %a0 : (tensor<2x2xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %r0 = kiln.relu %h0 : tensor<2x3xf32>
  %y0 = kiln.matmul %r0, %b0 : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %c0 = kiln.slice %dense {starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : tensor<2x4xf32> -> tensor<2x1xf32>
  %m0 = kiln.mul %y0, %c0 : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %a1 = arith.constant dense<[[2.0, 0.0, 1.0], [0.0, 2.0, 1.0]]> : tensor<2x3xf32>
  %b1 = arith.constant dense<[[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]]> : tensor<3x2xf32>
  %h1 = kiln.matmul %x, %a1 : (tensor<2x2xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %r1 = kiln.relu %h1 : tensor<2x3xf32>
  %y1 = kiln.matmul %r1, %b1 : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %c1 = kiln.slice %dense {starts = array<i64: 0, 1>, steps = array<i64: 1, 1>} : tensor<2x4xf32> -> tensor<2x1xf32>
  %m1 = kiln.mul %y1, %c1 : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %a2 = arith.constant dense<[[3.0, 0.0, 1.0], [0.0, 3.0, 1.0]]> : tensor<2x3xf32>
  %b2 = arith.constant dense<[[3.0, 0.0], [0.0, 3.0], [1.0, 1.0]]> : tensor<3x2xf32>
  %h2 = kiln.matmul %x, %a2 : (tensor<2x2xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %r2 = kiln.relu %h2 : tensor<2x3xf32>
  %y2 = kiln.matmul %r2, %b2 : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %c2 = kiln.slice %dense {starts = array<i64: 0, 2>, steps = array<i64: 1, 1>} : tensor<2x4xf32> -> tensor<2x1xf32>
  %m2 = kiln.mul %y2, %c2 : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %a3 = arith.constant dense<[[4.0, 0.0, 1.0], [0.0, 4.0, 1.0]]> : tensor<2x3xf32>
  %b3 = arith.constant dense<[[4.0, 0.0], [0.0, 4.0], [1.0, 1.0]]> : tensor<3x2xf32>
  %h3 = kiln.matmul %x, %a3 : (tensor<2x2xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %r3 = kiln.relu %h3 : tensor<2x3xf32>
  %y3 = kiln.matmul %r3, %b3 : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %c3 = kiln.slice %dense {starts = array<i64: 0, 3>, steps = array<i64: 1, 1>} : tensor<2x4xf32> -> tensor<2x1xf32>
  %m3 = kiln.mul %y3, %c3 : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %s01 = kiln.add %m0, %m1 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %s012 = kiln.add %s01, %m2 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %routed = kiln.add %s012, %m3 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %routed3 = kiln.reshape %routed : tensor<2x2xf32> -> tensor<1x2x2xf32>
  return %routed3 : tensor<1x2x2xf32>
}

// -----

// Qwen2-MoE adds its gated shared expert inside the same sum as the routed
// experts ((m0 + shared) + m1): the routed part becomes the MoE and the
// other term is added to its result.
// CHECK-LABEL: func.func @shared_term_in_the_sum
// CHECK-SAME: (%[[X:.+]]: tensor<4x4xf32>)
// CHECK: %[[SHARED:.+]] = kiln.mul %{{.+}}, %{{.+}} : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
// CHECK: %{{.+}}, %[[E:.+]], %{{.+}} = kiln.moe_route %{{.+}} {k = 1 : i64}
// CHECK: %[[Y:.+]] = kiln.moe_experts %[[X]], %[[E]]
// CHECK-NEXT: %[[SUM:.+]] = kiln.add %[[Y]], %[[SHARED]]
// CHECK-NEXT: return %[[SUM]]
// REMARK: remark: raised moe (softmax router, top-1 of 2 experts; 2 swiglu experts 4->2->4; 1 other term(s) of the sum (a shared expert) added to it)
func.func @shared_term_in_the_sum(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
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
  %ws = arith.constant dense<0.5> : tensor<4x4xf32>
  %sh = kiln.matmul %x, %ws : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %gate = kiln.sigmoid %sh : tensor<4x4xf32>
  %shared = kiln.mul %gate, %sh : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %part = kiln.add %m0, %shared : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %g1 = arith.constant dense<[[16.0, 17.0, 18.0, 19.0], [20.0, 21.0, 22.0, 23.0], [24.0, 25.0, 26.0, 27.0], [28.0, 29.0, 30.0, 31.0]]> : tensor<4x4xf32>
  %h1 = kiln.matmul %x, %g1 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %s1 = kiln.swiglu %h1 : tensor<4x4xf32> -> tensor<4x2xf32>
  %d1 = arith.constant dense<[[2.0, 0.0, 2.0, 0.0], [0.0, 2.0, 0.0, 2.0]]> : tensor<2x4xf32>
  %y1 = kiln.matmul %s1, %d1 : (tensor<4x2xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %c1 = kiln.slice %d {starts = array<i64: 0, 1>, steps = array<i64: 1, 1>} : tensor<4x2xf32> -> tensor<4x1xf32>
  %m1 = kiln.mul %c1, %y1 : (tensor<4x1xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %sum = kiln.add %part, %m1 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  return %sum : tensor<4x4xf32>
}
