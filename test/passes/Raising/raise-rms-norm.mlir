// kiln-raise-rms-norm on forms torch 1.13 does not export but other
// exporters and graph writers do (real exports: test/passes/Raising/Exports/rms-norm.test).
// RUN: kiln-opt %s --kiln-raise-rms-norm -split-input-file -verify-diagnostics | FileCheck %s

// Rsqrt as one op, a weight with leading unit dimensions (reshaped to the
// normalized ones), a norm over the last two axes.
// CHECK-LABEL: func.func @rsqrt_two_axes(
// CHECK-SAME: %[[X:[^:]+]]: tensor<2x4x8xf32>, %[[W:[^:]+]]: tensor<1x4x8xf32>
// CHECK-NEXT: %[[W2:.+]] = kiln.reshape %[[W]] : tensor<1x4x8xf32> -> tensor<4x8xf32>
// CHECK-NEXT: %[[R:.+]] = kiln.rms_norm %[[X]], %[[W2]] {axis = -2 : i64, epsilon = 9.99999974E-6 : f32}
// CHECK-NEXT: return %[[R]]
func.func @rsqrt_two_axes(%x: tensor<2x4x8xf32>, %w: tensor<1x4x8xf32>) -> tensor<2x4x8xf32> {
  %eps = arith.constant dense<1.0e-5> : tensor<f32>
  %0 = kiln.mul %x, %x : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  // expected-remark @below {{raised rms_norm (eps 1e-05, axis -2, weight)}}
  %1 = kiln.reduce_mean %0 {axes = array<i64: 1, 2>, keepdims = true} : tensor<2x4x8xf32> -> tensor<2x1x1xf32>
  %2 = kiln.add %eps, %1 : (tensor<f32>, tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
  %3 = kiln.rsqrt %2 : tensor<2x1x1xf32>
  %4 = kiln.mul %3, %x : (tensor<2x1x1xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  %5 = kiln.mul %4, %w : (tensor<2x4x8xf32>, tensor<1x4x8xf32>) -> tensor<2x4x8xf32>
  return %5 : tensor<2x4x8xf32>
}

// -----

// Reciprocal(Sqrt) and no epsilon at all; a weight that varies over the
// batch is not a norm weight, so the product stays outside.
// CHECK-LABEL: func.func @reciprocal_batch_weight(
// CHECK-SAME: %[[X:[^:]+]]: tensor<2x8xf32>, %[[W:[^:]+]]: tensor<2x8xf32>
// CHECK: %[[R:.+]] = kiln.rms_norm %[[X]], %{{.+}} {axis = -1 : i64, epsilon = 0.000000e+00 : f32} : (tensor<2x8xf32>, tensor<1xf32>) -> tensor<2x8xf32>
// CHECK-NEXT: %[[Y:.+]] = kiln.mul %[[R]], %[[W]]
// CHECK-NEXT: return %[[Y]]
func.func @reciprocal_batch_weight(%x: tensor<2x8xf32>, %w: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %two = arith.constant dense<2.0> : tensor<f32>
  %0 = kiln.pow %x, %two : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  // expected-remark @below {{raised rms_norm (eps 0, axis -1, no weight)}}
  %1 = kiln.reduce_mean %0 {axes = array<i64: 1>, keepdims = true} : tensor<2x8xf32> -> tensor<2x1xf32>
  %2 = kiln.sqrt %1 : tensor<2x1xf32>
  %3 = kiln.reciprocal %2 : tensor<2x1xf32>
  %4 = kiln.mul %x, %3 : (tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  %5 = kiln.mul %4, %w : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %5 : tensor<2x8xf32>
}

// -----

// A mean without keepdims, and an inverse root that scales another value,
// are left.
// CHECK-LABEL: func.func @near_misses(
// CHECK-NOT: kiln.rms_norm
func.func @near_misses(%x: tensor<2x8xf32>, %y: tensor<2x8xf32>) -> (tensor<2xf32>, tensor<2x8xf32>) {
  %two = arith.constant dense<2.0> : tensor<f32>
  %eps = arith.constant dense<1.0e-6> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %0 = kiln.pow %x, %two : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  // expected-remark @below {{left rms_norm: the mean does not keep the reduced axes}}
  %1 = kiln.reduce_mean %0 {axes = array<i64: 1>, keepdims = false} : tensor<2x8xf32> -> tensor<2xf32>
  %2 = kiln.mul %x, %x : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  // expected-remark @below {{left rms_norm: the inverse root scales a value other than the squared one}}
  %3 = kiln.reduce_mean %2 {axes = array<i64: 1>, keepdims = true} : tensor<2x8xf32> -> tensor<2x1xf32>
  %4 = kiln.add %3, %eps : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %5 = kiln.sqrt %4 : tensor<2x1xf32>
  %6 = kiln.div %one, %5 : (tensor<f32>, tensor<2x1xf32>) -> tensor<2x1xf32>
  %7 = kiln.mul %y, %6 : (tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  return %1, %7 : tensor<2xf32>, tensor<2x8xf32>
}

// -----

// torch.rsqrt as torch.onnx.export writes it: Div(1, Sqrt(v + eps)).
// CHECK-LABEL: func.func @div_one_by_sqrt(
// CHECK-SAME: %[[X:[^:]+]]: tensor<2x8xf32>, %[[W:[^:]+]]: tensor<8xf32>
// CHECK-NEXT: %[[R:.+]] = kiln.rms_norm %[[X]], %[[W]] {axis = -1 : i64, epsilon = 9.99999997E-7 : f32}
// CHECK-NEXT: return %[[R]]
func.func @div_one_by_sqrt(%x: tensor<2x8xf32>, %w: tensor<8xf32>) -> tensor<2x8xf32> {
  %two = arith.constant dense<2.0> : tensor<f32>
  %eps = arith.constant dense<1.0e-6> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %0 = kiln.pow %x, %two : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  // expected-remark @below {{raised rms_norm (eps 1e-06, axis -1, weight)}}
  %1 = kiln.reduce_mean %0 {axes = array<i64: 1>, keepdims = true} : tensor<2x8xf32> -> tensor<2x1xf32>
  %2 = kiln.add %1, %eps : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %3 = kiln.sqrt %2 : tensor<2x1xf32>
  %4 = kiln.div %one, %3 : (tensor<f32>, tensor<2x1xf32>) -> tensor<2x1xf32>
  %5 = kiln.mul %x, %4 : (tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  %6 = kiln.mul %w, %5 : (tensor<8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %6 : tensor<2x8xf32>
}

// -----

// x / Sqrt(v + eps), no weight.
// CHECK-LABEL: func.func @x_over_sqrt(
// CHECK-SAME: %[[X:[^:]+]]: tensor<2x8xf32>
// CHECK: %[[R:.+]] = kiln.rms_norm %[[X]], %{{.+}} {axis = -1 : i64, epsilon = 9.99999997E-7 : f32}
// CHECK-NEXT: return %[[R]]
func.func @x_over_sqrt(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %eps = arith.constant dense<1.0e-6> : tensor<f32>
  %0 = kiln.mul %x, %x : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  // expected-remark @below {{raised rms_norm (eps 1e-06, axis -1, no weight)}}
  %1 = kiln.reduce_mean %0 {axes = array<i64: 1>, keepdims = true} : tensor<2x8xf32> -> tensor<2x1xf32>
  %2 = kiln.add %1, %eps : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %3 = kiln.sqrt %2 : tensor<2x1xf32>
  %4 = kiln.div %x, %3 : (tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  return %4 : tensor<2x8xf32>
}

// -----

// The mixed-precision variant (HF Llama): x.to(float32), normalized in f32,
// .to(float16) before the weight. The weight product moves inside, in f32.
// CHECK-LABEL: func.func @computed_in_f32(
// CHECK-SAME: %[[X:[^:]+]]: tensor<2x8xf16>, %[[W:[^:]+]]: tensor<8xf16>
// CHECK: %[[X32:.+]] = kiln.cast %[[X]] : tensor<2x8xf16> -> tensor<2x8xf32>
// CHECK: %[[R:.+]] = kiln.rms_norm %[[X32]], %{{.+}} {axis = -1 : i64, epsilon = 9.99999997E-7 : f32}
// CHECK: %[[Y:.+]] = kiln.cast %[[R]] : tensor<2x8xf32> -> tensor<2x8xf16>
// CHECK-NEXT: return %[[Y]]
func.func @computed_in_f32(%x: tensor<2x8xf16>, %w: tensor<8xf16>) -> tensor<2x8xf16> {
  %eps = arith.constant dense<1.0e-6> : tensor<f32>
  %two = arith.constant dense<2.0> : tensor<f32>
  %x32 = kiln.cast %x : tensor<2x8xf16> -> tensor<2x8xf32>
  %0 = kiln.pow %x32, %two : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  // expected-remark @below {{raised rms_norm (eps 1e-06, axis -1, weight, computed in f32)}}
  %1 = kiln.reduce_mean %0 {axes = array<i64: 1>, keepdims = true} : tensor<2x8xf32> -> tensor<2x1xf32>
  %2 = kiln.add %1, %eps : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %3 = kiln.rsqrt %2 : tensor<2x1xf32>
  %4 = kiln.mul %x32, %3 : (tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  %5 = kiln.cast %4 : tensor<2x8xf32> -> tensor<2x8xf16>
  %6 = kiln.mul %w, %5 : (tensor<8xf16>, tensor<2x8xf16>) -> tensor<2x8xf16>
  return %6 : tensor<2x8xf16>
}
