// RUN: kiln-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(kiln-partition-tensor-parallel{rank=1 ranks=2}))' | FileCheck %s
// RUN: kiln-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(kiln-partition-tensor-parallel{rank=0 ranks=2}))' | FileCheck %s --check-prefix=RANK0
// RUN: kiln-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(kiln-partition-tensor-parallel{rank=0 ranks=1}))' | FileCheck %s --check-prefix=ONE

// An attention layer with 2 query heads and 2 KV heads of 2 features on a
// hidden size of 4. Rank 1 of 2 keeps head 1: rows 2-3 of the q, k and v
// weights (row r of each holds r), the reshapes, transposes and RoPE over
// 1 head, and columns 2-3 of the output projection (column c holds c),
// whose partial sum one all-reduce adds to rank 0's.

// CHECK-LABEL: func.func @attention
// CHECK: %[[WQ:.+]] = arith.constant dense<{{\[\[}}2.000000e+00, 2.000000e+00, 2.000000e+00, 2.000000e+00], [3.000000e+00, 3.000000e+00, 3.000000e+00, 3.000000e+00]]> : tensor<2x4xf32>
// CHECK: %[[Q:.+]] = kiln.linear %arg0, %[[WQ]] : (tensor<1x3x4xf32>, tensor<2x4xf32>) -> tensor<1x3x2xf32>
// CHECK: kiln.reshape %[[Q]] : tensor<1x3x2xf32> -> tensor<1x3x1x2xf32>
// CHECK: kiln.transpose {{.+}} -> tensor<1x1x3x2xf32>
// CHECK: kiln.rope {{.+}} -> tensor<1x1x3x2xf32>
// CHECK: arith.constant dense<{{\[\[}}2.000000e+00, 2.000000e+00, 2.000000e+00, 2.000000e+00], [3.000000e+00, 3.000000e+00, 3.000000e+00, 3.000000e+00]]> : tensor<2x4xf32>
// CHECK: kiln.attention {{.+}} : (tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>) -> (tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>)
// CHECK: kiln.transpose {{.+}} -> tensor<1x3x1x2xf32>
// CHECK: %[[A:.+]] = kiln.reshape {{.+}} -> tensor<1x3x2xf32>
// CHECK: %[[WO:.+]] = arith.constant dense<{{\[\[}}2.000000e+00, 3.000000e+00], [2.000000e+00, 3.000000e+00], [2.000000e+00, 3.000000e+00], [2.000000e+00, 3.000000e+00]]> : tensor<4x2xf32>
// CHECK: %[[P:.+]] = kiln.linear %[[A]], %[[WO]] : (tensor<1x3x2xf32>, tensor<4x2xf32>) -> tensor<1x3x4xf32>
// CHECK: %[[S:.+]] = kiln.all_reduce %[[P]] {ranks = 2 : i64} : (tensor<1x3x4xf32>) -> tensor<1x3x4xf32>
// CHECK: return %[[S]]

// Rank 0 keeps head 0: rows 0-1, columns 0-1.
// RANK0-LABEL: func.func @attention
// RANK0: arith.constant dense<{{\[\[}}0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00]]> : tensor<2x4xf32>
// RANK0: arith.constant dense<{{\[\[}}0.000000e+00, 1.000000e+00], [0.000000e+00, 1.000000e+00], [0.000000e+00, 1.000000e+00], [0.000000e+00, 1.000000e+00]]> : tensor<4x2xf32>
// RANK0: kiln.all_reduce

// With one rank nothing changes.
// ONE-LABEL: func.func @attention
// ONE-NOT: kiln.all_reduce
// ONE: kiln.attention {{.+}} : (tensor<1x2x3x2xf32>
func.func @attention(%x: tensor<1x3x4xf32>, %cos: tensor<3x1xf32>, %sin: tensor<3x1xf32>) -> tensor<1x3x4xf32> {
  %w = arith.constant dense<[[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0],
                             [2.0, 2.0, 2.0, 2.0], [3.0, 3.0, 3.0, 3.0]]> : tensor<4x4xf32>
  %wo = arith.constant dense<[[0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0],
                              [0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0]]> : tensor<4x4xf32>
  %q = kiln.linear %x, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  %q4 = kiln.reshape %q : tensor<1x3x4xf32> -> tensor<1x3x2x2xf32>
  %qt = kiln.transpose %q4 {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x3x2x2xf32> -> tensor<1x2x3x2xf32>
  %qr = kiln.rope %qt, %cos, %sin : (tensor<1x2x3x2xf32>, tensor<3x1xf32>, tensor<3x1xf32>) -> tensor<1x2x3x2xf32>
  %k = kiln.linear %x, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  %k4 = kiln.reshape %k : tensor<1x3x4xf32> -> tensor<1x3x2x2xf32>
  %kt = kiln.transpose %k4 {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x3x2x2xf32> -> tensor<1x2x3x2xf32>
  %v = kiln.linear %x, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  %v4 = kiln.reshape %v : tensor<1x3x4xf32> -> tensor<1x3x2x2xf32>
  %vt = kiln.transpose %v4 {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x3x2x2xf32> -> tensor<1x2x3x2xf32>
  %o, %pk, %pv = kiln.attention %qr, %kt, %vt {scale = 0.5 : f32} : (tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32>) -> (tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32>)
  %ot = kiln.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x2x3x2xf32> -> tensor<1x3x2x2xf32>
  %o3 = kiln.reshape %ot : tensor<1x3x2x2xf32> -> tensor<1x3x4xf32>
  %y = kiln.linear %o3, %wo : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  return %y : tensor<1x3x4xf32>
}

// -----

// GQA with fewer KV heads than ranks: 2 query heads share 1 KV head, so
// rank 1 keeps query head 1 and the whole KV head, as it is (kiln.matmul weights,
// [K, N]: columns are the heads). The output projection's bias is added
// on rank 0 alone.

// CHECK-LABEL: func.func @gqa
// CHECK: %[[WQ:.+]] = arith.constant dense<{{\[\[}}2.000000e+00, 3.000000e+00], [2.000000e+00, 3.000000e+00], [2.000000e+00, 3.000000e+00], [2.000000e+00, 3.000000e+00]]> : tensor<4x2xf32>
// CHECK: kiln.matmul %arg0, %[[WQ]] : (tensor<1x3x4xf32>, tensor<4x2xf32>) -> tensor<1x3x2xf32>
// CHECK: kiln.matmul %arg0, %{{.+}} : (tensor<1x3x4xf32>, tensor<4x2xf32>) -> tensor<1x3x2xf32>
// CHECK: kiln.attention {{.+}} : (tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>) -> (tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>)
// CHECK: %[[P:.+]] = kiln.linear %{{.+}}, %{{[^,]+}} : (tensor<1x3x2xf32>, tensor<4x2xf32>) -> tensor<1x3x4xf32>
// CHECK: kiln.all_reduce %[[P]]

// RANK0-LABEL: func.func @gqa
// RANK0: %[[P:.+]] = kiln.linear %{{.+}}, %{{.+}}, %arg1 : (tensor<1x3x2xf32>, tensor<4x2xf32>, tensor<4xf32>) -> tensor<1x3x4xf32>
// RANK0: kiln.all_reduce %[[P]]
func.func @gqa(%x: tensor<1x3x4xf32>, %bias: tensor<4xf32>) -> tensor<1x3x4xf32> {
  %wq = arith.constant dense<[[0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0],
                              [0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0]]> : tensor<4x4xf32>
  %wkv = arith.constant dense<1.0> : tensor<4x2xf32>
  %wo = arith.constant dense<1.0> : tensor<4x4xf32>
  %q = kiln.matmul %x, %wq : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  %q4 = kiln.reshape %q : tensor<1x3x4xf32> -> tensor<1x3x2x2xf32>
  %qt = kiln.transpose %q4 {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x3x2x2xf32> -> tensor<1x2x3x2xf32>
  %k = kiln.matmul %x, %wkv : (tensor<1x3x4xf32>, tensor<4x2xf32>) -> tensor<1x3x2xf32>
  %k4 = kiln.reshape %k : tensor<1x3x2xf32> -> tensor<1x3x1x2xf32>
  %kt = kiln.transpose %k4 {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x3x1x2xf32> -> tensor<1x1x3x2xf32>
  %v = kiln.matmul %x, %wkv : (tensor<1x3x4xf32>, tensor<4x2xf32>) -> tensor<1x3x2xf32>
  %v4 = kiln.reshape %v : tensor<1x3x2xf32> -> tensor<1x3x1x2xf32>
  %vt = kiln.transpose %v4 {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x3x1x2xf32> -> tensor<1x1x3x2xf32>
  %o, %pk, %pv = kiln.attention %qt, %kt, %vt {scale = 0.5 : f32} : (tensor<1x2x3x2xf32>, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>) -> (tensor<1x2x3x2xf32>, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>)
  %ot = kiln.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x2x3x2xf32> -> tensor<1x3x2x2xf32>
  %o3 = kiln.reshape %ot : tensor<1x3x2x2xf32> -> tensor<1x3x4xf32>
  %y = kiln.linear %o3, %wo, %bias : (tensor<1x3x4xf32>, tensor<4x4xf32>, tensor<4xf32>) -> tensor<1x3x4xf32>
  return %y : tensor<1x3x4xf32>
}

// -----

// A dense SwiGLU FFN (intermediate 4): rank 1 keeps rows 2-3 of the gate
// and up weights (row r holds r), the activation over 2 columns, columns
// 2-3 of the down weight; the down bias stays on rank 0. The LM head
// after the norm is not an FFN and stays whole.

// CHECK-LABEL: func.func @ffn
// CHECK: %[[WG:.+]] = arith.constant dense<{{\[\[}}2.000000e+00, 2.000000e+00], [3.000000e+00, 3.000000e+00]]> : tensor<2x2xf32>
// CHECK: %[[G:.+]] = kiln.linear %arg0, %[[WG]] : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
// CHECK: %[[U:.+]] = kiln.linear %arg0, %{{.+}} : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
// CHECK: %[[A:.+]] = kiln.silu %[[G]] : tensor<3x2xf32>
// CHECK: %[[M:.+]] = kiln.mul %[[A]], %[[U]] : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
// CHECK: %[[WD:.+]] = arith.constant dense<{{\[\[}}2.000000e+00, 3.000000e+00], [2.000000e+00, 3.000000e+00]]> : tensor<2x2xf32>
// CHECK: %[[D:.+]] = kiln.linear %[[M]], %[[WD]] : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
// CHECK: %[[S:.+]] = kiln.all_reduce %[[D]] {ranks = 2 : i64}
// CHECK: %[[N:.+]] = kiln.rms_norm %[[S]]
// CHECK: kiln.linear %[[N]], %{{.+}} : (tensor<3x2xf32>, tensor<8x2xf32>) -> tensor<3x8xf32>
// CHECK-NOT: kiln.all_reduce

// RANK0-LABEL: func.func @ffn
// RANK0: kiln.linear %{{.+}}, %{{.+}}, %arg1 : (tensor<3x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
// RANK0-NEXT: kiln.all_reduce
func.func @ffn(%x: tensor<3x2xf32>, %bias: tensor<2xf32>, %scale: tensor<2xf32>) -> tensor<3x8xf32> {
  %wg = arith.constant dense<[[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]> : tensor<4x2xf32>
  %wu = arith.constant dense<0.5> : tensor<4x2xf32>
  %wd = arith.constant dense<[[0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0]]> : tensor<2x4xf32>
  %head = arith.constant dense<0.25> : tensor<8x2xf32>
  %g = kiln.linear %x, %wg : (tensor<3x2xf32>, tensor<4x2xf32>) -> tensor<3x4xf32>
  %u = kiln.linear %x, %wu : (tensor<3x2xf32>, tensor<4x2xf32>) -> tensor<3x4xf32>
  %a = kiln.silu %g : tensor<3x4xf32>
  %m = kiln.mul %a, %u : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  %d = kiln.linear %m, %wd, %bias : (tensor<3x4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %n = kiln.rms_norm %d, %scale {axis = -1 : i64, epsilon = 1.0e-05 : f32} : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %y = kiln.linear %n, %head : (tensor<3x2xf32>, tensor<8x2xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

// Routed experts (2 experts, intermediate 4): rank 1 keeps columns 2-3 of
// every expert's FFN (gate and up rows, down columns; gate row r of
// expert e holds 10e + r) and adds the down bias on rank 0 alone.

// CHECK-LABEL: func.func @experts
// CHECK: %[[G:.+]] = arith.constant dense<{{\[\[\[}}2.000000e+00, 2.000000e+00], [3.000000e+00, 3.000000e+00]], {{\[\[}}1.200000e+01, 1.200000e+01], [1.300000e+01, 1.300000e+01]]]> : tensor<2x2x2xf32>
// CHECK: %[[P:.+]] = kiln.moe_experts %arg0, %arg1, %arg2, %[[G]], %{{[^ ]+}} up %{{[^ ]+}} {activation = #kiln.expert_activation<swiglu>} : (tensor<3x2xf32>, tensor<3x1xi64>, tensor<3x1xf32>, tensor<2x2x2xf32>, tensor<2x2x2xf32>, tensor<2x2x2xf32>) -> tensor<3x2xf32>
// CHECK: kiln.all_reduce %[[P]] {ranks = 2 : i64}

// RANK0-LABEL: func.func @experts
// RANK0: kiln.moe_experts {{.+}} down_bias %arg3 {{.+}} -> tensor<3x2xf32>
// RANK0: kiln.all_reduce
func.func @experts(%x: tensor<3x2xf32>, %e: tensor<3x1xi64>, %w: tensor<3x1xf32>, %bd: tensor<2x2xf32>) -> tensor<3x2xf32> {
  %gate = arith.constant dense<[[[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]],
                                [[10.0, 10.0], [11.0, 11.0], [12.0, 12.0], [13.0, 13.0]]]> : tensor<2x4x2xf32>
  %down = arith.constant dense<0.5> : tensor<2x2x4xf32>
  %up = arith.constant dense<0.25> : tensor<2x4x2xf32>
  %0 = kiln.moe_experts %x, %e, %w, %gate, %down up %up down_bias %bd {activation = #kiln.expert_activation<swiglu>}
      : (tensor<3x2xf32>, tensor<3x1xi64>, tensor<3x1xf32>, tensor<2x4x2xf32>, tensor<2x2x4xf32>, tensor<2x4x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// A shared expert (a dense FFN) beside routed experts: the two partial
// results are added before one all-reduce, not summed apart.

// CHECK-LABEL: func.func @shared_expert
// CHECK: %[[R:.+]] = kiln.moe_experts
// CHECK-NOT: kiln.all_reduce
// CHECK: kiln.gelu {{.+}} : tensor<3x2xf32>
// CHECK-NOT: kiln.all_reduce
// CHECK: %[[D:.+]] = kiln.linear %{{.+}}, %{{.+}} : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
// CHECK: %[[P:.+]] = kiln.add %[[R]], %[[D]]
// CHECK: %[[S:.+]] = kiln.all_reduce %[[P]] {ranks = 2 : i64}
// CHECK-NOT: kiln.all_reduce
// CHECK: return %[[S]]
func.func @shared_expert(%x: tensor<3x2xf32>, %e: tensor<3x1xi64>, %w: tensor<3x1xf32>) -> tensor<3x2xf32> {
  %gate = arith.constant dense<0.5> : tensor<2x4x2xf32>
  %down = arith.constant dense<0.5> : tensor<2x2x4xf32>
  %r = kiln.moe_experts %x, %e, %w, %gate, %down {activation = #kiln.expert_activation<gelu>}
      : (tensor<3x2xf32>, tensor<3x1xi64>, tensor<3x1xf32>, tensor<2x4x2xf32>, tensor<2x2x4xf32>) -> tensor<3x2xf32>
  %wg = arith.constant dense<0.25> : tensor<4x2xf32>
  %wd = arith.constant dense<0.125> : tensor<2x4xf32>
  %g = kiln.linear %x, %wg : (tensor<3x2xf32>, tensor<4x2xf32>) -> tensor<3x4xf32>
  %a = kiln.gelu %g : tensor<3x4xf32>
  %d = kiln.linear %a, %wd : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  %y = kiln.add %r, %d : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
