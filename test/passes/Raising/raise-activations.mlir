// kiln-raise-activations on forms torch does not export but other
// exporters or hand-written graphs do, and on the edges of the constant
// check (real exports: test/passes/Raising/Exports/activations.test).
// RUN: kiln-opt %s --kiln-raise-activations -split-input-file -verify-diagnostics | FileCheck %s

// GELU with x * (1/sqrt(2)) instead of x / sqrt(2), and 0.5 applied to the
// erf term: 0.5 x + 0.5 x erf(..) is the same polynomial.
// CHECK-LABEL: func.func @gelu_reciprocal_constant(
// CHECK-SAME: %[[X:.+]]: tensor<4xf32>
// CHECK-NEXT: %[[R:.+]] = kiln.gelu %[[X]] : tensor<4xf32>
// CHECK-NEXT: return %[[R]]
func.func @gelu_reciprocal_constant(%x: tensor<4xf32>) -> tensor<4xf32> {
  %c = arith.constant dense<0.70710677> : tensor<f32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %0 = kiln.mul %c, %x : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  // expected-remark @below {{raised gelu (erf)}}
  %1 = kiln.erf %0 : tensor<4xf32>
  %2 = kiln.mul %1, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %3 = kiln.add %2, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %4 = kiln.mul %3, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %4 : tensor<4xf32>
}

// -----

// 1/sqrt(2) to 4 digits is off by 1.3e-4, far beyond float32 rounding.
// CHECK-LABEL: func.func @gelu_imprecise_constant(
// CHECK: kiln.erf
// CHECK-NOT: kiln.gelu
func.func @gelu_imprecise_constant(%x: tensor<4xf32>) -> tensor<4xf32> {
  %c = arith.constant dense<0.7072> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %0 = kiln.mul %x, %c : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  // expected-remark @below {{left gelu: the erf argument is 0.7072 * x, not 0.707107 * x}}
  %1 = kiln.erf %0 : tensor<4xf32>
  %2 = kiln.add %1, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %3 = kiln.mul %x, %2 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %4 = kiln.mul %3, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %4 : tensor<4xf32>
}

// -----

// In float16 the constants are rounded to 11 bits (sqrt(2) is 1.4140625):
// the tolerance follows the type.
// CHECK-LABEL: func.func @gelu_f16(
// CHECK-NEXT: kiln.gelu %{{.+}} : tensor<4xf16>
func.func @gelu_f16(%x: tensor<4xf16>) -> tensor<4xf16> {
  %c = arith.constant dense<1.4140625> : tensor<f16>
  %one = arith.constant dense<1.0> : tensor<f16>
  %half = arith.constant dense<0.5> : tensor<f16>
  %0 = kiln.div %x, %c : (tensor<4xf16>, tensor<f16>) -> tensor<4xf16>
  // expected-remark @below {{raised gelu (erf)}}
  %1 = kiln.erf %0 : tensor<4xf16>
  %2 = kiln.add %1, %one : (tensor<4xf16>, tensor<f16>) -> tensor<4xf16>
  %3 = kiln.mul %x, %2 : (tensor<4xf16>, tensor<4xf16>) -> tensor<4xf16>
  %4 = kiln.mul %3, %half : (tensor<4xf16>, tensor<f16>) -> tensor<4xf16>
  return %4 : tensor<4xf16>
}

// -----

// The erf value feeding something else as well is left (raising would keep
// half the subgraph alive next to the gelu).
// CHECK-LABEL: func.func @gelu_erf_reused(
// CHECK-NOT: kiln.gelu
func.func @gelu_erf_reused(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %c = arith.constant dense<1.41421354> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %0 = kiln.div %x, %c : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  // expected-remark @below {{left gelu: the erf value has other uses}}
  %1 = kiln.erf %0 : tensor<4xf32>
  %2 = kiln.add %1, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %3 = kiln.mul %x, %2 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %4 = kiln.mul %3, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %4, %1 : tensor<4xf32>, tensor<4xf32>
}

// -----

// A tanh softcap (cap * tanh(s / cap)) is no GELU candidate: no remark.
// CHECK-LABEL: func.func @softcap_tanh(
// CHECK: kiln.tanh
func.func @softcap_tanh(%s: tensor<4xf32>) -> tensor<4xf32> {
  %cap = arith.constant dense<30.0> : tensor<f32>
  %0 = kiln.div %s, %cap : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %1 = kiln.tanh %0 : tensor<4xf32>
  %2 = kiln.mul %1, %cap : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %2 : tensor<4xf32>
}

// -----

// A sigmoid with two users: the product with its own input becomes a silu,
// the other user keeps the sigmoid.
// CHECK-LABEL: func.func @sigmoid_two_users(
// CHECK-SAME: %[[X:[^:]+]]: tensor<4xf32>, %[[Y:[^:]+]]: tensor<4xf32>
// CHECK-DAG: %[[SIG:.+]] = kiln.sigmoid %[[X]]
// CHECK-DAG: %[[SILU:.+]] = kiln.silu %[[X]]
// CHECK-DAG: %[[GLU:.+]] = kiln.mul %[[SIG]], %[[Y]]
// CHECK: return %[[SILU]], %[[GLU]]
func.func @sigmoid_two_users(%x: tensor<4xf32>, %y: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  // expected-remark @below {{raised silu}}
  // expected-remark @below {{left silu: the sigmoid's input is not the value it multiplies}}
  %s = kiln.sigmoid %x : tensor<4xf32>
  %0 = kiln.mul %x, %s : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = kiln.mul %s, %y : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0, %1 : tensor<4xf32>, tensor<4xf32>
}

// -----

// Gate and up weights that are graph inputs cannot be fused at compile
// time: the silu is raised, the SwiGLU left.
// CHECK-LABEL: func.func @swiglu_weights_are_inputs(
// CHECK: kiln.silu
// CHECK-NOT: kiln.swiglu
func.func @swiglu_weights_are_inputs(%x: tensor<2x8xf32>, %wg: tensor<8x4xf32>, %wu: tensor<8x4xf32>) -> tensor<2x4xf32> {
  %g = kiln.matmul %x, %wg : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32>
  %u = kiln.matmul %x, %wu : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32>
  // expected-remark @below {{raised silu}}
  %s = kiln.sigmoid %g : tensor<2x4xf32>
  // expected-remark @below {{left swiglu: the gate and up weights are not both constants}}
  %a = kiln.mul %s, %g : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %h = kiln.mul %u, %a : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return %h : tensor<2x4xf32>
}

// -----

// A silu already in the graph (e.g. imported from an ONNX 'Swish' or a
// contrib op) joins a SwiGLU too; the fused weight is [Wg | Wu] row by row.
// CHECK-LABEL: func.func @swiglu_from_silu(
// CHECK: %[[W:.+]] = arith.constant dense<{{\[\[}}1.000000e+00, 2.000000e+00, 5.000000e+00, 6.000000e+00], [3.000000e+00, 4.000000e+00, 7.000000e+00, 8.000000e+00]]> : tensor<2x4xf32>
// CHECK: %[[P:.+]] = kiln.matmul %{{.+}}, %[[W]] : (tensor<3x2xf32>, tensor<2x4xf32>) -> tensor<3x4xf32>
// CHECK-NEXT: kiln.swiglu %[[P]] : tensor<3x4xf32> -> tensor<3x2xf32>
func.func @swiglu_from_silu(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %wg = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %wu = arith.constant dense<[[5.0, 6.0], [7.0, 8.0]]> : tensor<2x2xf32>
  %g = kiln.matmul %x, %wg : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  // expected-remark @below {{raised swiglu (gate and up weights fused into [2, 4])}}
  %s = kiln.silu %g : tensor<3x2xf32>
  %u = kiln.matmul %x, %wu : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %h = kiln.mul %u, %s : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  return %h : tensor<3x2xf32>
}

// -----

// GELU's tanh form as torch writes it (approximate="tanh"):
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), the cube as x * x * x.
// CHECK-LABEL: func.func @gelu_tanh(
// CHECK-SAME: %[[X:.+]]: tensor<4xf32>
// CHECK-NEXT: %[[R:.+]] = kiln.gelu %[[X]] approximation = tanh : tensor<4xf32>
// CHECK-NEXT: return %[[R]]
func.func @gelu_tanh(%x: tensor<4xf32>) -> tensor<4xf32> {
  %k = arith.constant dense<0.044715> : tensor<f32>
  %s = arith.constant dense<0.797884583> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %x2 = kiln.mul %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %x3 = kiln.mul %x2, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %kx3 = kiln.mul %x3, %k : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %in = kiln.add %x, %kx3 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %arg = kiln.mul %in, %s : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  // expected-remark @below {{raised gelu (tanh)}}
  %t = kiln.tanh %arg : tensor<4xf32>
  %t1 = kiln.add %t, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %hx = kiln.mul %x, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %y = kiln.mul %hx, %t1 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// SiLU written out: x * sigmoid(x).
// CHECK-LABEL: func.func @silu(
// CHECK-SAME: %[[X:.+]]: tensor<4xf32>
// CHECK-NEXT: %[[R:.+]] = kiln.silu %[[X]] : tensor<4xf32>
// CHECK-NEXT: return %[[R]]
func.func @silu(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-remark @below {{raised silu}}
  %s = kiln.sigmoid %x : tensor<4xf32>
  %y = kiln.mul %x, %s : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// SwiGLU with biased projections, SiLU written as g * sigmoid(g): the
// weights and the biases are fused, the bias added once to the fused
// projection.
// CHECK-LABEL: func.func @swiglu_biases_sigmoid_mul(
// CHECK-DAG: %[[W:.+]] = arith.constant dense<{{\[\[}}1.000000e+00, 2.000000e+00, 5.000000e+00, 6.000000e+00], [3.000000e+00, 4.000000e+00, 7.000000e+00, 8.000000e+00]]> : tensor<2x4xf32>
// CHECK-DAG: %[[B:.+]] = arith.constant dense<[5.000000e-01, -5.000000e-01, 1.000000e+00, 2.000000e+00]> : tensor<4xf32>
// CHECK: %[[P:.+]] = kiln.matmul %{{.+}}, %[[W]] : (tensor<3x2xf32>, tensor<2x4xf32>) -> tensor<3x4xf32>
// CHECK-NEXT: %[[PB:.+]] = kiln.add %[[P]], %[[B]]
// CHECK-NEXT: %[[Y:.+]] = kiln.swiglu %[[PB]] : tensor<3x4xf32> -> tensor<3x2xf32>
// CHECK-NOT: kiln.{{sigmoid|silu|mul}}
// CHECK: return %[[Y]]
func.func @swiglu_biases_sigmoid_mul(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %wg = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %bg = arith.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %wu = arith.constant dense<[[5.0, 6.0], [7.0, 8.0]]> : tensor<2x2xf32>
  %bu = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %mg = kiln.matmul %x, %wg : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %g = kiln.add %mg, %bg : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  // expected-remark @below {{raised silu}}
  %sg = kiln.sigmoid %g : tensor<3x2xf32>
  // expected-remark @below {{raised swiglu (gate and up weights fused into [2, 4] with biases)}}
  %s = kiln.mul %g, %sg : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  %mu = kiln.matmul %x, %wu : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %u = kiln.add %mu, %bu : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %h = kiln.mul %s, %u : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  return %h : tensor<3x2xf32>
}
