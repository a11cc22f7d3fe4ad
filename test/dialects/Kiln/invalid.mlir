// RUN: kiln-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// NumpyBroadcast
//===----------------------------------------------------------------------===//

func.func @add_shapes_do_not_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'kiln.add' op operand shapes [2,3] and [4] do not broadcast: a dimension differs and neither is 1}}
  %0 = kiln.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @mul_wrong_result_shape(%a: tensor<2x1xf32>, %b: tensor<1x5xf32>) -> tensor<2x1xf32> {
  // expected-error @+1 {{'kiln.mul' op result shape [2,1] is not the broadcast of the operand shapes, [2,5]}}
  %0 = kiln.mul %a, %b : (tensor<2x1xf32>, tensor<1x5xf32>) -> tensor<2x1xf32>
  return %0 : tensor<2x1xf32>
}

// -----

// The result does not take part in broadcasting: it cannot stretch the operands.
func.func @sub_result_larger_than_broadcast(%a: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'kiln.sub' op result shape [2,3] is not the broadcast of the operand shapes, [3]}}
  %0 = kiln.sub %a, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @select_shapes_do_not_broadcast(%c: tensor<4xi1>, %a: tensor<2x3xf32>, %b: tensor<f32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'kiln.select' op operand shapes [4] and [2,3] and [] do not broadcast: a dimension differs and neither is 1}}
  %0 = kiln.select %c, %a, %b : (tensor<4xi1>, tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @compare_wrong_result_shape(%a: tensor<4xf32>) -> tensor<1xi1> {
  // expected-error @+1 {{'kiln.compare' op result shape [1] is not the broadcast of the operand shapes, [4]}}
  %0 = kiln.compare eq, %a, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<1xi1>
  return %0 : tensor<1xi1>
}

//===----------------------------------------------------------------------===//
// ODS type constraints of the elementwise ops
//===----------------------------------------------------------------------===//

// -----

func.func @add_unranked(%a: tensor<*xf32>, %b: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'kiln.add' op operand #0 must be ranked tensor of floating-point or signless integer values, but got 'tensor<*xf32>'}}
  %0 = kiln.add %a, %b : (tensor<*xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @add_mixed_element_types(%a: tensor<3xf32>, %b: tensor<3xf16>) -> tensor<3xf32> {
  // expected-error @+1 {{'kiln.add' op requires the same element type for all operands and results}}
  %0 = kiln.add %a, %b : (tensor<3xf32>, tensor<3xf16>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @add_index_elements(%a: tensor<3xindex>) -> tensor<3xindex> {
  // expected-error @+1 {{'kiln.add' op operand #0 must be ranked tensor of floating-point or signless integer values, but got 'tensor<3xindex>'}}
  %0 = kiln.add %a, %a : (tensor<3xindex>, tensor<3xindex>) -> tensor<3xindex>
  return %0 : tensor<3xindex>
}

// -----

func.func @and_on_floats(%a: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'kiln.and' op operand #0 must be ranked tensor of signless integer values, but got 'tensor<3xf32>'}}
  %0 = kiln.and %a, %a : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @exp_on_integers(%a: tensor<3xi32>) -> tensor<3xi32> {
  // expected-error @+1 {{'kiln.exp' op operand #0 must be ranked tensor of floating-point values, but got 'tensor<3xi32>'}}
  %0 = kiln.exp %a : tensor<3xi32>
  return %0 : tensor<3xi32>
}

// -----

func.func @gelu_on_integers(%a: tensor<3xi32>) -> tensor<3xi32> {
  // expected-error @+1 {{'kiln.gelu' op operand #0 must be ranked tensor of floating-point values, but got 'tensor<3xi32>'}}
  %0 = kiln.gelu %a : tensor<3xi32>
  return %0 : tensor<3xi32>
}

// -----

func.func @not_on_floats(%a: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'kiln.not' op operand #0 must be ranked tensor of signless integer values, but got 'tensor<3xf32>'}}
  %0 = kiln.not %a : tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @rem_mixed_element_types(%a: tensor<3xi32>, %b: tensor<3xi64>) -> tensor<3xi32> {
  // expected-error @+1 {{'kiln.rem' op requires the same element type for all operands and results}}
  %0 = kiln.rem %a, %b : (tensor<3xi32>, tensor<3xi64>) -> tensor<3xi32>
  return %0 : tensor<3xi32>
}

// -----

func.func @gelu_bad_approximation(%a: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+2 {{expected ::kiln::GeluApproximation to be one of: none, tanh}}
  // expected-error @+1 {{failed to parse Kiln_GeluApproximationAttr parameter 'value'}}
  %0 = kiln.gelu %a approximation = erf : tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @leaky_relu_without_alpha(%a: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'kiln.leaky_relu' op requires attribute 'alpha'}}
  %0 = kiln.leaky_relu %a : tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @compare_mixed_element_types(%a: tensor<4xf32>, %b: tensor<4xi32>) -> tensor<4xi1> {
  // expected-error @+1 {{'kiln.compare' op requires the same element type for all operands}}
  %0 = kiln.compare lt, %a, %b : (tensor<4xf32>, tensor<4xi32>) -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

func.func @compare_non_bool_result(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.compare' op result #0 must be ranked tensor of 1-bit signless integer values, but got 'tensor<4xf32>'}}
  %0 = kiln.compare lt, %a, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @compare_bad_direction(%a: tensor<4xf32>) -> tensor<4xi1> {
  // expected-error @+2 {{expected ::kiln::CompareDirection to be one of: eq, ne, lt, le, gt, ge}}
  // expected-error @+1 {{failed to parse Kiln_CompareDirectionAttr parameter 'value'}}
  %0 = kiln.compare less, %a, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

func.func @select_non_bool_condition(%c: tensor<3xi8>, %a: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'kiln.select' op operand #0 must be ranked tensor of 1-bit signless integer values, but got 'tensor<3xi8>'}}
  %0 = kiln.select %c, %a, %a : (tensor<3xi8>, tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.select
//===----------------------------------------------------------------------===//

func.func @select_mixed_element_types(%c: tensor<3xi1>, %a: tensor<3xf32>, %b: tensor<3xf16>) -> tensor<3xf32> {
  // expected-error @+1 {{'kiln.select' op true and false values must have the result's element type 'f32'}}
  %0 = kiln.select %c, %a, %b : (tensor<3xi1>, tensor<3xf32>, tensor<3xf16>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.cast
//===----------------------------------------------------------------------===//

func.func @cast_changes_shape(%a: tensor<4xf32>) -> tensor<2x2xi32> {
  // expected-error @+1 {{'kiln.cast' op requires the same shape for all operands and results}}
  %0 = kiln.cast %a : tensor<4xf32> -> tensor<2x2xi32>
  return %0 : tensor<2x2xi32>
}

// -----

func.func @unary_result_type_differs(%a: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.relu' op requires the same type for all operands and results}}
  %0 = "kiln.relu"(%a) : (tensor<4xf32>) -> tensor<4xf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// kiln.matmul
//===----------------------------------------------------------------------===//

func.func @matmul_rank1(%a: tensor<3xf32>, %b: tensor<3x5xf32>) -> tensor<5xf32> {
  // expected-error @+1 {{'kiln.matmul' op operands must have rank 2 or more, got 1 and 2}}
  %0 = kiln.matmul %a, %b : (tensor<3xf32>, tensor<3x5xf32>) -> tensor<5xf32>
  return %0 : tensor<5xf32>
}

// -----

func.func @matmul_contraction_mismatch(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{'kiln.matmul' op contraction sizes differ: lhs has 3 columns but rhs has 4 rows}}
  %0 = kiln.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @matmul_batch_mismatch(%a: tensor<2x2x3xf32>, %b: tensor<3x3x5xf32>) -> tensor<2x2x5xf32> {
  // expected-error @+1 {{'kiln.matmul' op batch dimensions [2] and [3] do not broadcast}}
  %0 = kiln.matmul %a, %b : (tensor<2x2x3xf32>, tensor<3x3x5xf32>) -> tensor<2x2x5xf32>
  return %0 : tensor<2x2x5xf32>
}

// -----

func.func @matmul_wrong_result(%a: tensor<4x2x3xf32>, %b: tensor<3x5xf32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{'kiln.matmul' op result shape [2,5] should be [4,2,5]}}
  %0 = kiln.matmul %a, %b : (tensor<4x2x3xf32>, tensor<3x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @matmul_mixed_element_types(%a: tensor<2x3xf32>, %b: tensor<3x5xi32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{'kiln.matmul' op requires the same element type for all operands and results}}
  %0 = kiln.matmul %a, %b : (tensor<2x3xf32>, tensor<3x5xi32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.linear
//===----------------------------------------------------------------------===//

func.func @linear_rank0_input(%x: tensor<f32>, %w: tensor<4x1xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.linear' op input must have rank 1 or more}}
  %0 = kiln.linear %x, %w : (tensor<f32>, tensor<4x1xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @linear_weight_rank(%x: tensor<2x3xf32>, %w: tensor<3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'kiln.linear' op weight must be [N, K], got rank 1}}
  %0 = kiln.linear %x, %w : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// The weight is [N, K], not [K, N].
func.func @linear_weight_transposed(%x: tensor<2x3xf32>, %w: tensor<3x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'kiln.linear' op weight is [3, 4] but the input's last dimension is 3}}
  %0 = kiln.linear %x, %w : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @linear_bias_shape(%x: tensor<2x3xf32>, %w: tensor<4x3xf32>, %b: tensor<1x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'kiln.linear' op bias must be [4], got [1,4]}}
  %0 = kiln.linear %x, %w, %b : (tensor<2x3xf32>, tensor<4x3xf32>, tensor<1x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @linear_wrong_result(%x: tensor<2x3xf32>, %w: tensor<4x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'kiln.linear' op result shape [2,3] should be [2,4]}}
  %0 = kiln.linear %x, %w : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @linear_mixed_element_types(%x: tensor<2x3xf32>, %w: tensor<4x3xf16>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'kiln.linear' op input, weight, bias and result must share one element type}}
  %0 = kiln.linear %x, %w : (tensor<2x3xf32>, tensor<4x3xf16>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @linear_on_integers(%x: tensor<2x3xi32>, %w: tensor<4x3xi32>) -> tensor<2x4xi32> {
  // expected-error @+1 {{'kiln.linear' op operand #0 must be ranked tensor of floating-point values, but got 'tensor<2x3xi32>'}}
  %0 = kiln.linear %x, %w : (tensor<2x3xi32>, tensor<4x3xi32>) -> tensor<2x4xi32>
  return %0 : tensor<2x4xi32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.softmax, kiln.log_softmax
//===----------------------------------------------------------------------===//

func.func @softmax_axis_too_large(%x: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  // expected-error @+1 {{'kiln.softmax' op axis 3 is out of range for rank 3 (expected -3 <= axis < 3)}}
  %0 = kiln.softmax %x {axis = 3 : i64} : tensor<2x4x16xf32>
  return %0 : tensor<2x4x16xf32>
}

// -----

func.func @log_softmax_axis_too_small(%x: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  // expected-error @+1 {{'kiln.log_softmax' op axis -4 is out of range for rank 3 (expected -3 <= axis < 3)}}
  %0 = kiln.log_softmax %x {axis = -4 : i64} : tensor<2x4x16xf32>
  return %0 : tensor<2x4x16xf32>
}

// -----

func.func @softmax_on_integers(%x: tensor<4xi32>) -> tensor<4xi32> {
  // expected-error @+1 {{'kiln.softmax' op operand #0 must be ranked tensor of floating-point values, but got 'tensor<4xi32>'}}
  %0 = kiln.softmax %x {axis = 0 : i64} : tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.layer_norm
//===----------------------------------------------------------------------===//

func.func @layer_norm_axis(%x: tensor<2x8xf32>, %g: tensor<8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'kiln.layer_norm' op axis 2 is out of range for rank 2 (expected -2 <= axis < 2)}}
  %0 = kiln.layer_norm %x, %g {axis = 2 : i64, epsilon = 1.0e-05 : f32}
      : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @layer_norm_result_type(%x: tensor<2x8xf32>, %g: tensor<8xf32>) -> tensor<2x8xf16> {
  // expected-error @+1 {{'kiln.layer_norm' op result type must equal the input type}}
  %0 = kiln.layer_norm %x, %g {axis = -1 : i64, epsilon = 1.0e-05 : f32}
      : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf16>
  return %0 : tensor<2x8xf16>
}

// -----

func.func @layer_norm_scale_element_type(%x: tensor<2x8xf32>, %g: tensor<8xf16>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'kiln.layer_norm' op scale must have the input's element type}}
  %0 = kiln.layer_norm %x, %g {axis = -1 : i64, epsilon = 1.0e-05 : f32}
      : (tensor<2x8xf32>, tensor<8xf16>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @layer_norm_scale_shape(%x: tensor<2x8xf32>, %g: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'kiln.layer_norm' op scale shape [2,8] does not broadcast to the normalized dimensions [8]}}
  %0 = kiln.layer_norm %x, %g {axis = -1 : i64, epsilon = 1.0e-05 : f32}
      : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @layer_norm_bias_shape(%x: tensor<2x8xf32>, %g: tensor<8xf32>, %b: tensor<4xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'kiln.layer_norm' op bias shape [4] does not broadcast to the normalized dimensions [8]}}
  %0 = kiln.layer_norm %x, %g, %b {axis = -1 : i64, epsilon = 1.0e-05 : f32}
      : (tensor<2x8xf32>, tensor<8xf32>, tensor<4xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @layer_norm_bias_element_type(%x: tensor<2x8xf32>, %g: tensor<8xf32>, %b: tensor<8xbf16>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'kiln.layer_norm' op bias must have the input's element type}}
  %0 = kiln.layer_norm %x, %g, %b {axis = -1 : i64, epsilon = 1.0e-05 : f32}
      : (tensor<2x8xf32>, tensor<8xf32>, tensor<8xbf16>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @layer_norm_negative_epsilon(%x: tensor<2x8xf32>, %g: tensor<8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'kiln.layer_norm' op epsilon must not be negative}}
  %0 = kiln.layer_norm %x, %g {axis = -1 : i64, epsilon = -1.0e-05 : f32}
      : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

func.func @reduce_axis_out_of_range(%x: tensor<2x8x4xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'kiln.reduce_sum' op axis 3 is out of range for rank 3}}
  %0 = kiln.reduce_sum %x {axes = array<i64: 3>} : tensor<2x8x4xf32> -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// Reductions take non-negative axes only.
func.func @reduce_negative_axis(%x: tensor<2x8x4xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'kiln.reduce_max' op axis -1 is out of range for rank 3}}
  %0 = kiln.reduce_max %x {axes = array<i64: -1>} : tensor<2x8x4xf32> -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @reduce_axes_decreasing(%x: tensor<2x8x4xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{'kiln.reduce_mean' op axes must be strictly increasing}}
  %0 = kiln.reduce_mean %x {axes = array<i64: 2, 0>} : tensor<2x8x4xf32> -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

func.func @reduce_axes_repeated(%x: tensor<2x8x4xi32>) -> tensor<2x4xi32> {
  // expected-error @+1 {{'kiln.reduce_prod' op axes must be strictly increasing}}
  %0 = kiln.reduce_prod %x {axes = array<i64: 1, 1>} : tensor<2x8x4xi32> -> tensor<2x4xi32>
  return %0 : tensor<2x4xi32>
}

// -----

func.func @reduce_keepdims_shape(%x: tensor<2x8x4xi32>) -> tensor<2x4xi32> {
  // expected-error @+1 {{'kiln.reduce_min' op result shape [2,4] should be [2,1,4]}}
  %0 = kiln.reduce_min %x {axes = array<i64: 1>, keepdims = true} : tensor<2x8x4xi32> -> tensor<2x4xi32>
  return %0 : tensor<2x4xi32>
}

// -----

func.func @reduce_element_type(%x: tensor<2x8xf32>) -> tensor<2xf16> {
  // expected-error @+1 {{'kiln.reduce_sum' op requires the same element type for all operands and results}}
  %0 = kiln.reduce_sum %x {axes = array<i64: 1>} : tensor<2x8xf32> -> tensor<2xf16>
  return %0 : tensor<2xf16>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.argmax, kiln.argmin
//===----------------------------------------------------------------------===//

func.func @argmax_negative_axis(%x: tensor<2x8xf32>) -> tensor<2x1xi64> {
  // expected-error @+1 {{'kiln.argmax' op axis -1 is out of range for rank 2 (expected 0 <= axis < 2)}}
  %0 = kiln.argmax %x {axis = -1 : i64} : tensor<2x8xf32> -> tensor<2x1xi64>
  return %0 : tensor<2x1xi64>
}

// -----

// keepdims defaults to true.
func.func @argmax_keepdims_default(%x: tensor<2x8xf32>) -> tensor<2xi64> {
  // expected-error @+1 {{'kiln.argmax' op result shape [2] should be [2,1]}}
  %0 = kiln.argmax %x {axis = 1 : i64} : tensor<2x8xf32> -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

func.func @argmin_wrong_shape(%x: tensor<2x8xi32>) -> tensor<2xi64> {
  // expected-error @+1 {{'kiln.argmin' op result shape [2] should be [8]}}
  %0 = kiln.argmin %x {axis = 0 : i64, keepdims = false} : tensor<2x8xi32> -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

func.func @argmin_i32_result(%x: tensor<2x8xf32>) -> tensor<2x1xi32> {
  // expected-error @+1 {{'kiln.argmin' op result #0 must be ranked tensor of 64-bit signless integer values, but got 'tensor<2x1xi32>'}}
  %0 = kiln.argmin %x {axis = 1 : i64} : tensor<2x8xf32> -> tensor<2x1xi32>
  return %0 : tensor<2x1xi32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.cumsum
//===----------------------------------------------------------------------===//

func.func @cumsum_negative_axis(%x: tensor<2x5xf32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{'kiln.cumsum' op axis -1 is out of range for rank 2 (expected 0 <= axis < 2)}}
  %0 = kiln.cumsum %x {axis = -1 : i64} : tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.transpose
//===----------------------------------------------------------------------===//

func.func @transpose_wrong_length(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{'kiln.transpose' op permutation has 3 entries but the input has rank 2}}
  %0 = kiln.transpose %x {permutation = array<i64: 1, 0, 2>} : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @transpose_repeated_entry(%x: tensor<2x3xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{'kiln.transpose' op permutation [0,0] is not a permutation of 0..1}}
  %0 = kiln.transpose %x {permutation = array<i64: 0, 0>} : tensor<2x3xf32> -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @transpose_entry_out_of_range(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{'kiln.transpose' op permutation [2,0] is not a permutation of 0..1}}
  %0 = kiln.transpose %x {permutation = array<i64: 2, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @transpose_wrong_result(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'kiln.transpose' op result shape [2,3] should be [3,2]}}
  %0 = kiln.transpose %x {permutation = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.reshape, kiln.broadcast
//===----------------------------------------------------------------------===//

func.func @reshape_element_count(%x: tensor<2x3xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{'kiln.reshape' op input has 6 elements but the result type holds 8}}
  %0 = kiln.reshape %x : tensor<2x3xf32> -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

func.func @reshape_element_type(%x: tensor<2x3xf32>) -> tensor<6xi32> {
  // expected-error @+1 {{'kiln.reshape' op requires the same element type for all operands and results}}
  %0 = kiln.reshape %x : tensor<2x3xf32> -> tensor<6xi32>
  return %0 : tensor<6xi32>
}

// -----

func.func @broadcast_incompatible(%x: tensor<3xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'kiln.broadcast' op input shape [3] does not broadcast to [2,4]}}
  %0 = kiln.broadcast %x : tensor<3xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// Broadcasting never removes dimensions.
func.func @broadcast_to_lower_rank(%x: tensor<1x3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'kiln.broadcast' op input shape [1,3] does not broadcast to [3]}}
  %0 = kiln.broadcast %x : tensor<1x3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.concat
//===----------------------------------------------------------------------===//

// SameOperandsAndResultElementType checks for an operand first; ConcatOp::verify's own
// "needs at least one input" check is never reached.
func.func @concat_no_inputs() -> tensor<0xf32> {
  // expected-error @+1 {{'kiln.concat' op expected 1 or more operands, but found 0}}
  %0 = kiln.concat {axis = 0 : i64} : () -> tensor<0xf32>
  return %0 : tensor<0xf32>
}

// -----

func.func @concat_axis(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'kiln.concat' op axis 2 is out of range for rank 2 (expected 0 <= axis < 2)}}
  %0 = kiln.concat %a {axis = 2 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @concat_rank_mismatch(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<2x6xf32> {
  // expected-error @+1 {{'kiln.concat' op input #1 has rank 1, expected 2}}
  %0 = kiln.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

func.func @concat_other_dim_mismatch(%a: tensor<2x3xf32>, %b: tensor<3x5xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'kiln.concat' op input #1 has size 3 in dimension 0, expected 2}}
  %0 = kiln.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<3x5xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @concat_total(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'kiln.concat' op inputs add up to 7 along axis 1 but the result has 8}}
  %0 = kiln.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @concat_element_type(%a: tensor<2xf32>, %b: tensor<2xi32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.concat' op requires the same element type for all operands and results}}
  %0 = kiln.concat %a, %b {axis = 0 : i64} : (tensor<2xf32>, tensor<2xi32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.slice
//===----------------------------------------------------------------------===//

func.func @slice_dynamic_sliced_axis(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{'kiln.slice' op result dimension 0 is dynamic, which a slice allows only along a dynamic input dimension it keeps whole (start 0, step 1); found start 1, step 1, input size ?}}
  %0 = kiln.slice %x {starts = array<i64: 1, 0>, steps = array<i64: 1, 1>} : tensor<?x8xf32> -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

func.func @concat_dynamic_sum(%a: tensor<?x2xf32>, %b: tensor<3x2xf32>) -> tensor<5x2xf32> {
  // expected-error @+1 {{'kiln.concat' op inputs add up to ? along axis 0 but the result has 5}}
  %0 = kiln.concat %a, %b {axis = 0 : i64} : (tensor<?x2xf32>, tensor<3x2xf32>) -> tensor<5x2xf32>
  return %0 : tensor<5x2xf32>
}

// -----

func.func @slice_lengths(%x: tensor<4x8xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{'kiln.slice' op input rank, result rank, starts and steps must all have the same length}}
  %0 = kiln.slice %x {starts = array<i64: 0>, steps = array<i64: 1, 2>} : tensor<4x8xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @slice_zero_step(%x: tensor<4x8xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{'kiln.slice' op step of dimension 1 is zero}}
  %0 = kiln.slice %x {starts = array<i64: 0, 0>, steps = array<i64: 1, 0>} : tensor<4x8xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @slice_reads_past_end(%x: tensor<4x8xf32>) -> tensor<4x5xf32> {
  // expected-error @+1 {{'kiln.slice' op dimension 1 reads indices 0 to 8 but the input has size 8}}
  %0 = kiln.slice %x {starts = array<i64: 0, 0>, steps = array<i64: 1, 2>} : tensor<4x8xf32> -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}

// -----

func.func @slice_negative_step_reads_before_start(%x: tensor<8xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'kiln.slice' op dimension 0 reads indices 3 to -1 but the input has size 8}}
  %0 = kiln.slice %x {starts = array<i64: 3>, steps = array<i64: -2>} : tensor<8xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @slice_start_out_of_range(%x: tensor<8xf32>) -> tensor<1xf32> {
  // expected-error @+1 {{'kiln.slice' op dimension 0 reads indices 8 to 8 but the input has size 8}}
  %0 = kiln.slice %x {starts = array<i64: 8>, steps = array<i64: 1>} : tensor<8xf32> -> tensor<1xf32>
  return %0 : tensor<1xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.gather
//===----------------------------------------------------------------------===//

func.func @gather_axis(%t: tensor<10x4xf32>, %i: tensor<3xi64>) -> tensor<10x4xf32> {
  // expected-error @+1 {{'kiln.gather' op axis 2 is out of range for rank 2 (expected 0 <= axis < 2)}}
  %0 = kiln.gather %t, %i {axis = 2 : i64} : (tensor<10x4xf32>, tensor<3xi64>) -> tensor<10x4xf32>
  return %0 : tensor<10x4xf32>
}

// -----

func.func @gather_wrong_result(%t: tensor<10x4xf32>, %i: tensor<2x3xi64>) -> tensor<2x3x10xf32> {
  // expected-error @+1 {{'kiln.gather' op result shape [2,3,10] should be [10,2,3]}}
  %0 = kiln.gather %t, %i {axis = 1 : i64} : (tensor<10x4xf32>, tensor<2x3xi64>) -> tensor<2x3x10xf32>
  return %0 : tensor<2x3x10xf32>
}

// -----

func.func @gather_element_type(%t: tensor<10x4xf32>, %i: tensor<3xi64>) -> tensor<3x4xf16> {
  // expected-error @+1 {{'kiln.gather' op result must have the data's element type}}
  %0 = kiln.gather %t, %i {axis = 0 : i64} : (tensor<10x4xf32>, tensor<3xi64>) -> tensor<3x4xf16>
  return %0 : tensor<3x4xf16>
}

// -----

func.func @gather_index_type(%t: tensor<10x4xf32>, %i: tensor<3xi16>) -> tensor<3x4xf32> {
  // expected-error @+1 {{'kiln.gather' op operand #1 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<3xi16>'}}
  %0 = kiln.gather %t, %i {axis = 0 : i64} : (tensor<10x4xf32>, tensor<3xi16>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.trilu
//===----------------------------------------------------------------------===//

func.func @trilu_rank1(%x: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{'kiln.trilu' op input must have rank 2 or more, got 1}}
  %0 = kiln.trilu %x {upper = true, diagonal = 0 : i64} : tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.attention: shapes and types
//===----------------------------------------------------------------------===//

func.func @attention_rank3(%q: tensor<4x8x16xf32>, %k: tensor<4x8x16xf32>, %v: tensor<4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op query, key and value must be [batch, heads, sequence, head_size] tensors}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32}
      : (tensor<4x8x16xf32>, tensor<4x8x16xf32>, tensor<4x8x16xf32>)
      -> (tensor<4x8x16xf32>, tensor<4x8x16xf32>, tensor<4x8x16xf32>)
  return
}

// -----

func.func @attention_value_rank5(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op query, key and value must be [batch, heads, sequence, head_size] tensors}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x1x4x8x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_batch_mismatch(%q: tensor<2x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op query, key and value disagree on the batch size}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32}
      : (tensor<2x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<2x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_kv_heads_mismatch(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op key [1,2,8,16] and value [1,4,8,16] must agree on heads and sequence length}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32}
      : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_kv_length_mismatch(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x6x32xf32>) {
  // expected-error @+1 {{'kiln.attention' op key [1,4,8,16] and value [1,4,6,32] must agree on heads and sequence length}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x6x32xf32>)
      -> (tensor<1x4x8x32xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x32xf32>)
  return
}

// -----

func.func @attention_head_size_mismatch(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x32xf32>, %v: tensor<1x4x8x32xf32>) {
  // expected-error @+1 {{'kiln.attention' op query head size 16 differs from key head size 32}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x32xf32>, tensor<1x4x8x32xf32>)
      -> (tensor<1x4x8x32xf32>, tensor<1x4x8x32xf32>, tensor<1x4x8x32xf32>)
  return
}

// -----

// 6 query heads cannot be grouped over 4 key/value heads.
func.func @attention_heads_not_dividing(%q: tensor<1x6x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op query heads (6) must be a multiple of key/value heads (4)}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32}
      : (tensor<1x6x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x6x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

// More key/value heads than query heads is not GQA either.
func.func @attention_more_kv_heads(%q: tensor<1x2x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op query heads (2) must be a multiple of key/value heads (4)}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32}
      : (tensor<1x2x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x2x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_zero_kv_heads(%q: tensor<1x2x8x16xf32>, %k: tensor<1x0x8x16xf32>, %v: tensor<1x0x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op query heads (2) must be a multiple of key/value heads (0)}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32}
      : (tensor<1x2x8x16xf32>, tensor<1x0x8x16xf32>, tensor<1x0x8x16xf32>)
      -> (tensor<1x2x8x16xf32>, tensor<1x0x8x16xf32>, tensor<1x0x8x16xf32>)
  return
}

// -----

func.func @attention_mixed_element_types(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf16>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op query, key and value must share one element type}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf16>, tensor<1x4x8x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

// The custom form always pairs past key and value; the generic form can
// pass one alone.
func.func @attention_past_key_alone(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>,
                                    %past: tensor<1x4x2x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op past_key and past_value come together}}
  %o:3 = "kiln.attention"(%q, %k, %v, %past) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, scale = 2.500000e-01 : f32}>
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x2x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x10x16xf32>, tensor<1x4x10x16xf32>)
  return
}

// -----

func.func @attention_past_value_alone(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>,
                                      %past: tensor<1x4x2x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op past_key and past_value come together}}
  %o:3 = "kiln.attention"(%q, %k, %v, %past) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 1, 0, 0, 0>, scale = 2.500000e-01 : f32}>
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x2x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x10x16xf32>, tensor<1x4x10x16xf32>)
  return
}

// -----

func.func @attention_past_wrong_heads(%q: tensor<1x8x1x64xf32>, %k: tensor<1x2x1x64xf32>, %v: tensor<1x2x1x32xf32>,
                                      %pk: tensor<1x8x5x64xf32>, %pv: tensor<1x8x5x32xf32>) {
  // expected-error @+1 {{'kiln.attention' op past_key/past_value must be [1, 2, P, 64] and [1, 2, P, 32], got [1,8,5,64] and [1,8,5,32]}}
  %o, %a, %b = kiln.attention %q, %k, %v past %pk, %pv {scale = 0.125 : f32}
      : (tensor<1x8x1x64xf32>, tensor<1x2x1x64xf32>, tensor<1x2x1x32xf32>, tensor<1x8x5x64xf32>, tensor<1x8x5x32xf32>)
      -> (tensor<1x8x1x32xf32>, tensor<1x2x6x64xf32>, tensor<1x2x6x32xf32>)
  return
}

// -----

// The two caches must hold the same number of positions.
func.func @attention_past_lengths_differ(%q: tensor<1x8x1x64xf32>, %k: tensor<1x2x1x64xf32>, %v: tensor<1x2x1x32xf32>,
                                         %pk: tensor<1x2x5x64xf32>, %pv: tensor<1x2x4x32xf32>) {
  // expected-error @+1 {{'kiln.attention' op past_key/past_value must be [1, 2, P, 64] and [1, 2, P, 32], got [1,2,5,64] and [1,2,4,32]}}
  %o, %a, %b = kiln.attention %q, %k, %v past %pk, %pv {scale = 0.125 : f32}
      : (tensor<1x8x1x64xf32>, tensor<1x2x1x64xf32>, tensor<1x2x1x32xf32>, tensor<1x2x5x64xf32>, tensor<1x2x4x32xf32>)
      -> (tensor<1x8x1x32xf32>, tensor<1x2x6x64xf32>, tensor<1x2x6x32xf32>)
  return
}

// -----

func.func @attention_past_rank3(%q: tensor<1x8x1x64xf32>, %k: tensor<1x2x1x64xf32>, %v: tensor<1x2x1x32xf32>,
                                %pk: tensor<2x5x64xf32>, %pv: tensor<2x5x32xf32>) {
  // expected-error @+1 {{'kiln.attention' op past_key/past_value must be [1, 2, P, 64] and [1, 2, P, 32], got [2,5,64] and [2,5,32]}}
  %o, %a, %b = kiln.attention %q, %k, %v past %pk, %pv {scale = 0.125 : f32}
      : (tensor<1x8x1x64xf32>, tensor<1x2x1x64xf32>, tensor<1x2x1x32xf32>, tensor<2x5x64xf32>, tensor<2x5x32xf32>)
      -> (tensor<1x8x1x32xf32>, tensor<1x2x6x64xf32>, tensor<1x2x6x32xf32>)
  return
}

// -----

func.func @attention_past_element_type(%q: tensor<1x8x1x64xf32>, %k: tensor<1x2x1x64xf32>, %v: tensor<1x2x1x32xf32>,
                                       %pk: tensor<1x2x5x64xf16>, %pv: tensor<1x2x5x32xf16>) {
  // expected-error @+1 {{'kiln.attention' op the KV cache must have the query's element type}}
  %o, %a, %b = kiln.attention %q, %k, %v past %pk, %pv {scale = 0.125 : f32}
      : (tensor<1x8x1x64xf32>, tensor<1x2x1x64xf32>, tensor<1x2x1x32xf32>, tensor<1x2x5x64xf16>, tensor<1x2x5x32xf16>)
      -> (tensor<1x8x1x32xf32>, tensor<1x2x6x64xf32>, tensor<1x2x6x32xf32>)
  return
}

// -----

// The output takes the value head size (32), not the query's (16).
func.func @attention_output_shape(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x32xf32>) {
  // expected-error @+1 {{'kiln.attention' op output must be [1,4,8,32]}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x32xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x32xf32>)
  return
}

// -----

// The present key/value hold past + new positions (2 + 8).
func.func @attention_present_shape(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>,
                                   %pk: tensor<1x4x2x16xf32>, %pv: tensor<1x4x2x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op present_key/present_value must be [1,4,10,16] and [1,4,10,16]}}
  %o, %a, %b = kiln.attention %q, %k, %v past %pk, %pv {scale = 0.25 : f32}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x2x16xf32>, tensor<1x4x2x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_result_element_type(%q: tensor<1x4x8x16xf16>, %k: tensor<1x4x8x16xf16>, %v: tensor<1x4x8x16xf16>) {
  // expected-error @+1 {{'kiln.attention' op results must have the query's element type}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32}
      : (tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16>)
  return
}

// -----

func.func @attention_mask_int(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>, %m: tensor<8x8xi64>) {
  // expected-error @+1 {{'kiln.attention' op mask must be i1 or the query's element type, got 'i64'}}
  %o, %pk, %pv = kiln.attention %q, %k, %v mask %m {scale = 0.25 : f32}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<8x8xi64>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_mask_other_float(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>, %m: tensor<8x8xf16>) {
  // expected-error @+1 {{'kiln.attention' op mask must be i1 or the query's element type, got 'f16'}}
  %o, %pk, %pv = kiln.attention %q, %k, %v mask %m {scale = 0.25 : f32}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<8x8xf16>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

// The mask covers 8 keys, but past (2) + new (8) make 10.
func.func @attention_mask_too_few_keys(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>,
                                       %pk: tensor<1x4x2x16xf32>, %pv: tensor<1x4x2x16xf32>, %m: tensor<8x8xi1>) {
  // expected-error @+1 {{'kiln.attention' op mask shape [8,8] does not broadcast to [1,4,8,10]}}
  %o, %a, %b = kiln.attention %q, %k, %v mask %m past %pk, %pv {scale = 0.25 : f32}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<8x8xi1>, tensor<1x4x2x16xf32>, tensor<1x4x2x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x10x16xf32>, tensor<1x4x10x16xf32>)
  return
}

// -----

// A mask may broadcast to [B, Hq, S, L], but not be larger than it.
func.func @attention_mask_larger(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>, %m: tensor<2x4x8x8xi1>) {
  // expected-error @+1 {{'kiln.attention' op mask shape [2,4,8,8] does not broadcast to [1,4,8,8]}}
  %o, %pk, %pv = kiln.attention %q, %k, %v mask %m {scale = 0.25 : f32}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<2x4x8x8xi1>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_mask_rank5(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>, %m: tensor<1x1x4x8x8xi1>) {
  // expected-error @+1 {{'kiln.attention' op mask shape [1,1,4,8,8] does not broadcast to [1,4,8,8]}}
  %o, %pk, %pv = kiln.attention %q, %k, %v mask %m {scale = 0.25 : f32}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x1x4x8x8xi1>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_negative_softcap(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op softcap must not be negative}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32, softcap = -1.0 : f32}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// kiln.attention: mask attributes
//===----------------------------------------------------------------------===//

func.func @attention_negative_global_tokens(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op num_global_tokens must not be negative}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32, mask_kind = #kiln.mask_kind<hierarchical>, num_global_tokens = -1 : i64}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_hierarchical_without_globals(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op a hierarchical mask needs global tokens: set num_global_tokens or pass global indices}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32, mask_kind = #kiln.mask_kind<hierarchical>, window_left = 2 : i64}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_global_tokens_on_causal(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op global tokens only apply to the hierarchical mask kind}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32, mask_kind = #kiln.mask_kind<causal>, num_global_tokens = 2 : i64}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_global_indices_on_sliding_window(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>,
                                                      %g: tensor<2xi64>) {
  // expected-error @+1 {{'kiln.attention' op global tokens only apply to the hierarchical mask kind}}
  %o, %pk, %pv = kiln.attention %q, %k, %v global %g {scale = 0.25 : f32, mask_kind = #kiln.mask_kind<sliding_window>, window_left = 2 : i64}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<2xi64>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_global_indices_without_kind(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>,
                                                 %g: tensor<2xi64>) {
  // expected-error @+1 {{'kiln.attention' op global tokens only apply to the hierarchical mask kind}}
  %o, %pk, %pv = kiln.attention %q, %k, %v global %g {scale = 0.25 : f32}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<2xi64>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_block_sparse_no_size(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op a block_sparse mask needs a positive block_size}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32, mask_kind = #kiln.mask_kind<block_sparse>, block_layout = array<i1: true>}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_block_sparse_negative_size(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op a block_sparse mask needs a positive block_size}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32, mask_kind = #kiln.mask_kind<block_sparse>, block_size = -4 : i64, block_layout = array<i1: true>}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_block_sparse_no_layout(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op a block_sparse mask needs a block_layout}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32, mask_kind = #kiln.mask_kind<block_sparse>, block_size = 4 : i64}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

// 8 keys in blocks of 4 need a 2x2 layout.
func.func @attention_block_layout_size(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op block_layout has 3 entries but 8 keys in blocks of 4 need 2x2 = 4}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32, mask_kind = #kiln.mask_kind<block_sparse>, block_size = 4 : i64, block_layout = array<i1: true, false, true>}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

// The layout covers the past keys too: 2 + 8 = 10 keys in blocks of 4 make
// a 3x3 grid, not 2x2.
func.func @attention_block_layout_counts_past(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>,
                                              %pk: tensor<1x4x2x16xf32>, %pv: tensor<1x4x2x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op block_layout has 4 entries but 10 keys in blocks of 4 need 3x3 = 9}}
  %o, %a, %b = kiln.attention %q, %k, %v past %pk, %pv {scale = 0.25 : f32, mask_kind = #kiln.mask_kind<block_sparse>, block_size = 4 : i64, block_layout = array<i1: true, false, true, true>}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x2x16xf32>, tensor<1x4x2x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x10x16xf32>, tensor<1x4x10x16xf32>)
  return
}

// -----

func.func @attention_block_size_on_causal(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op block_size and block_layout only apply to the block_sparse mask kind}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32, mask_kind = #kiln.mask_kind<causal>, block_size = 4 : i64}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_block_layout_without_kind(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op block_size and block_layout only apply to the block_sparse mask kind}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32, block_layout = array<i1: true, true, true, true>}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_window_on_causal(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op window_left and window_right only apply to the sliding_window and hierarchical mask kinds}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32, mask_kind = #kiln.mask_kind<causal>, window_left = 4 : i64}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_window_on_block_sparse(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op window_left and window_right only apply to the sliding_window and hierarchical mask kinds}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32, mask_kind = #kiln.mask_kind<block_sparse>, block_size = 8 : i64, block_layout = array<i1: true>, window_right = 0 : i64}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_window_below_minus_one(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op window sizes must be -1 (unbounded) or more}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32, mask_kind = #kiln.mask_kind<sliding_window>, window_left = -2 : i64}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_unknown_mask_kind(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+2 {{expected ::kiln::MaskKind to be one of: none, causal, sliding_window, hierarchical, block_sparse}}
  // expected-error @+1 {{failed to parse Kiln_MaskKindAttr parameter 'value'}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32, mask_kind = #kiln.mask_kind<diagonal>}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @attention_kv_seqlen_wrong_batch(%q: tensor<2x4x1x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>, %l: tensor<3xi64>) {
  // expected-error @+1 {{'kiln.attention' op kv_seqlen must hold one length per batch entry, [2], got [3]}}
  %o, %pk, %pv = kiln.attention %q, %k, %v kv_seqlen %l {scale = 0.25 : f32}
      : (tensor<2x4x1x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<3xi64>)
      -> (tensor<2x4x1x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @attention_query_start_wrong_batch(%q: tensor<2x4x1x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>, %p: tensor<3xi64>) {
  // expected-error @+1 {{'kiln.attention' op query_start must hold one position per batch entry, [2], got [3]}}
  %o, %pk, %pv = kiln.attention %q, %k, %v query_start %p {scale = 0.25 : f32}
      : (tensor<2x4x1x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<3xi64>)
      -> (tensor<2x4x1x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @attention_query_start_with_past(%q: tensor<2x4x1x16xf32>, %k: tensor<2x4x1x16xf32>, %v: tensor<2x4x1x16xf32>,
                                           %pk: tensor<2x4x7x16xf32>, %pv: tensor<2x4x7x16xf32>, %p: tensor<2xi64>) {
  // expected-error @+1 {{'kiln.attention' op query_start and past_key exclude each other: with query_start the keys are the whole cache}}
  %o, %k2, %v2 = kiln.attention %q, %k, %v past %pk, %pv query_start %p {scale = 0.25 : f32}
      : (tensor<2x4x1x16xf32>, tensor<2x4x1x16xf32>, tensor<2x4x1x16xf32>, tensor<2x4x7x16xf32>, tensor<2x4x7x16xf32>, tensor<2xi64>)
      -> (tensor<2x4x1x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @attention_mask_query_start_and_offset(%s: tensor<2x4x16xf32>, %p: tensor<2xi64>) {
  // expected-error @+1 {{'kiln.attention_mask' op query_offset must be 0 with query_start, which gives the positions instead}}
  %0 = kiln.attention_mask %s query_start %p : tensor<2xi64> {mask_kind = #kiln.mask_kind<causal>, query_offset = 3 : i64} : tensor<2x4x16xf32>
  return
}

// -----

func.func @attention_kv_seqlen_rank2(%q: tensor<2x4x1x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>, %l: tensor<2x1xi64>) {
  // expected-error @+1 {{'kiln.attention' op kv_seqlen must hold one length per batch entry, [2], got [2,1]}}
  %o, %pk, %pv = kiln.attention %q, %k, %v kv_seqlen %l {scale = 0.25 : f32}
      : (tensor<2x4x1x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x1xi64>)
      -> (tensor<2x4x1x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @attention_kv_seqlen_float(%q: tensor<2x4x1x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>, %l: tensor<2xf32>) {
  // expected-error @+1 {{'kiln.attention' op operand #3 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<2xf32>'}}
  %o, %pk, %pv = kiln.attention %q, %k, %v kv_seqlen %l {scale = 0.25 : f32}
      : (tensor<2x4x1x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2xf32>)
      -> (tensor<2x4x1x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @attention_scores_without_stage(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op a scores result needs a score_stage}}
  %o, %pk, %pv, %s = kiln.attention %q, %k, %v {scale = 0.25 : f32}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x8xf32>)
  return
}

// -----

func.func @attention_stage_without_scores(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op score_stage needs a scores result}}
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.25 : f32, score_stage = #kiln.score_stage<probs>}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

// The scores cover every key, the cache's included: L = 3 + 8.
func.func @attention_scores_without_cache_keys(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>,
                                               %pk: tensor<1x4x3x16xf32>, %pv: tensor<1x4x3x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op scores must be [1,4,8,11] of the query's element type, got 'tensor<1x4x8x8xf32>'}}
  %o, %a, %b, %s = kiln.attention %q, %k, %v past %pk, %pv {scale = 0.25 : f32, score_stage = #kiln.score_stage<masked>}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x3x16xf32>, tensor<1x4x3x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x11x16xf32>, tensor<1x4x11x16xf32>, tensor<1x4x8x8xf32>)
  return
}

// -----

func.func @attention_scores_element_type(%q: tensor<1x4x8x16xf16>, %k: tensor<1x4x8x16xf16>, %v: tensor<1x4x8x16xf16>) {
  // expected-error @+1 {{'kiln.attention' op scores must be [1,4,8,8] of the query's element type, got 'tensor<1x4x8x8xf32>'}}
  %o, %pk, %pv, %s = kiln.attention %q, %k, %v {scale = 0.25 : f32, score_stage = #kiln.score_stage<scaled>}
      : (tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16>)
      -> (tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16>, tensor<1x4x8x16xf16>, tensor<1x4x8x8xf32>)
  return
}

// -----

func.func @attention_unknown_score_stage(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) {
  // expected-error @+2 {{expected ::kiln::ScoreStage to be one of: scaled, softcapped, masked, probs}}
  // expected-error @+1 {{failed to parse Kiln_ScoreStageAttr parameter 'value'}}
  %o, %pk, %pv, %s = kiln.attention %q, %k, %v {scale = 0.25 : f32, score_stage = #kiln.score_stage<logits>}
      : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x8xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// kiln.attention_mask
//===----------------------------------------------------------------------===//

func.func @attention_mask_rank1(%s: tensor<16xf32>) {
  // expected-error @+1 {{'kiln.attention_mask' op input must have rank 2 or more ([..., queries, keys])}}
  %0 = kiln.attention_mask %s {mask_kind = #kiln.mask_kind<causal>} : tensor<16xf32>
  return
}

// -----

func.func @attention_mask_negative_offset(%s: tensor<4x16xf32>) {
  // expected-error @+1 {{'kiln.attention_mask' op query_offset must not be negative}}
  %0 = kiln.attention_mask %s {mask_kind = #kiln.mask_kind<causal>, query_offset = -1 : i64} : tensor<4x16xf32>
  return
}

// -----

func.func @attention_mask_hierarchical_without_globals(%s: tensor<4x16xf32>) {
  // expected-error @+1 {{'kiln.attention_mask' op a hierarchical mask needs global tokens: set num_global_tokens or pass global indices}}
  %0 = kiln.attention_mask %s {mask_kind = #kiln.mask_kind<hierarchical>, window_left = 2 : i64} : tensor<4x16xf32>
  return
}

// -----

func.func @attention_mask_global_tokens_on_sliding_window(%s: tensor<4x16xf32>) {
  // expected-error @+1 {{'kiln.attention_mask' op global tokens only apply to the hierarchical mask kind}}
  %0 = kiln.attention_mask %s {mask_kind = #kiln.mask_kind<sliding_window>, window_left = 2 : i64, num_global_tokens = 1 : i64} : tensor<4x16xf32>
  return
}

// -----

// The layout is sized by the keys (16 in blocks of 8: 2x2), not the queries.
func.func @attention_mask_block_layout_size(%s: tensor<4x16xf32>) {
  // expected-error @+1 {{'kiln.attention_mask' op block_layout has 1 entries but 16 keys in blocks of 8 need 2x2 = 4}}
  %0 = kiln.attention_mask %s {mask_kind = #kiln.mask_kind<block_sparse>, block_size = 8 : i64, block_layout = array<i1: true>} : tensor<4x16xf32>
  return
}

// -----

func.func @attention_mask_window_on_none(%s: tensor<4x16xf32>) {
  // expected-error @+1 {{'kiln.attention_mask' op window_left and window_right only apply to the sliding_window and hierarchical mask kinds}}
  %0 = kiln.attention_mask %s {window_right = 0 : i64} : tensor<4x16xf32>
  return
}

// -----

func.func @attention_mask_int_input(%s: tensor<4x16xi32>) {
  // expected-error @+1 {{'kiln.attention_mask' op operand #0 must be ranked tensor of floating-point values}}
  %0 = kiln.attention_mask %s {mask_kind = #kiln.mask_kind<causal>} : tensor<4x16xi32>
  return
}

// -----

func.func @attention_mask_kv_seqlen_without_batch(%s: tensor<4x16xf32>, %l: tensor<4xi64>) {
  // expected-error @+1 {{'kiln.attention_mask' op kv_seqlen needs a batch dimension: input must have rank 3 or more ([batch, ..., queries, keys])}}
  %0 = kiln.attention_mask %s kv_seqlen %l : tensor<4xi64> : tensor<4x16xf32>
  return
}

// -----

func.func @attention_mask_kv_seqlen_wrong_batch(%s: tensor<2x4x16xf32>, %l: tensor<4xi32>) {
  // expected-error @+1 {{'kiln.attention_mask' op kv_seqlen must hold one length per batch entry, [2], got [4]}}
  %0 = kiln.attention_mask %s kv_seqlen %l : tensor<4xi32> : tensor<2x4x16xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// kiln.rms_norm
//===----------------------------------------------------------------------===//

func.func @rms_norm_axis_out_of_range(%x: tensor<2x8x64xf32>, %g: tensor<64xf32>) {
  // expected-error @+1 {{'kiln.rms_norm' op axis 3 is out of range for rank 3}}
  %0 = kiln.rms_norm %x, %g {axis = 3 : i64, epsilon = 1.0e-06 : f32} : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
  return
}

// -----

func.func @rms_norm_negative_axis_out_of_range(%x: tensor<2x8x64xf32>, %g: tensor<64xf32>) {
  // expected-error @+1 {{'kiln.rms_norm' op axis -4 is out of range for rank 3}}
  %0 = kiln.rms_norm %x, %g {axis = -4 : i64, epsilon = 1.0e-06 : f32} : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
  return
}

// -----

func.func @rms_norm_result_type(%x: tensor<2x8x64xf32>, %g: tensor<64xf32>) {
  // expected-error @+1 {{'kiln.rms_norm' op result type must equal the input type}}
  %0 = kiln.rms_norm %x, %g {axis = -1 : i64, epsilon = 1.0e-06 : f32} : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x32xf32>
  return
}

// -----

func.func @rms_norm_scale_shape(%x: tensor<2x8x64xf32>, %g: tensor<32xf32>) {
  // expected-error @+1 {{'kiln.rms_norm' op scale shape [32] does not broadcast to the normalized dimensions [64]}}
  %0 = kiln.rms_norm %x, %g {axis = -1 : i64, epsilon = 1.0e-06 : f32} : (tensor<2x8x64xf32>, tensor<32xf32>) -> tensor<2x8x64xf32>
  return
}

// -----

// The scale covers only the normalized dimensions: [8, 64] is too many for
// axis 2.
func.func @rms_norm_scale_too_many_dims(%x: tensor<2x8x64xf32>, %g: tensor<8x64xf32>) {
  // expected-error @+1 {{'kiln.rms_norm' op scale shape [8,64] does not broadcast to the normalized dimensions [64]}}
  %0 = kiln.rms_norm %x, %g {axis = 2 : i64, epsilon = 1.0e-06 : f32} : (tensor<2x8x64xf32>, tensor<8x64xf32>) -> tensor<2x8x64xf32>
  return
}

// -----

func.func @rms_norm_scale_element_type(%x: tensor<2x8x64xf32>, %g: tensor<64xf16>) {
  // expected-error @+1 {{'kiln.rms_norm' op scale must have the input's element type}}
  %0 = kiln.rms_norm %x, %g {axis = -1 : i64, epsilon = 1.0e-06 : f32} : (tensor<2x8x64xf32>, tensor<64xf16>) -> tensor<2x8x64xf32>
  return
}

// -----

func.func @rms_norm_negative_epsilon(%x: tensor<2x8x64xf32>, %g: tensor<64xf32>) {
  // expected-error @+1 {{'kiln.rms_norm' op epsilon must not be negative}}
  %0 = kiln.rms_norm %x, %g {axis = -1 : i64, epsilon = -1.0e-06 : f32} : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// top_k
//===----------------------------------------------------------------------===//

// -----

func.func @top_k_axis_out_of_range(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'kiln.top_k' op axis 2 is out of range for rank 2 (expected 0 <= axis < 2)}}
  %v, %i = kiln.top_k %x {axis = 2 : i64, k = 1 : i64} : tensor<4x8xf32> -> (tensor<4x1xf32>, tensor<4x1xi64>)
  return
}

// -----

func.func @top_k_negative_axis(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'kiln.top_k' op axis -1 is out of range for rank 2 (expected 0 <= axis < 2)}}
  %v, %i = kiln.top_k %x {axis = -1 : i64, k = 1 : i64} : tensor<4x8xf32> -> (tensor<4x1xf32>, tensor<4x1xi64>)
  return
}

// -----

func.func @top_k_k_too_large(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'kiln.top_k' op k = 9 must lie in [0, 8]}}
  %v, %i = kiln.top_k %x {axis = 1 : i64, k = 9 : i64} : tensor<4x8xf32> -> (tensor<4x9xf32>, tensor<4x9xi64>)
  return
}

// -----

func.func @top_k_negative_k(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'kiln.top_k' op k = -1 must lie in [0, 4]}}
  %v, %i = kiln.top_k %x {axis = 0 : i64, k = -1 : i64} : tensor<4x8xf32> -> (tensor<4x8xf32>, tensor<4x8xi64>)
  return
}

// -----

func.func @top_k_values_shape(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'kiln.top_k' op values and indices must be [4,3]}}
  %v, %i = kiln.top_k %x {axis = 1 : i64, k = 3 : i64} : tensor<4x8xf32> -> (tensor<4x2xf32>, tensor<4x3xi64>)
  return
}

// -----

func.func @top_k_indices_shape(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'kiln.top_k' op values and indices must be [4,3]}}
  %v, %i = kiln.top_k %x {axis = 1 : i64, k = 3 : i64} : tensor<4x8xf32> -> (tensor<4x3xf32>, tensor<3x4xi64>)
  return
}

// -----

func.func @top_k_values_element_type(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'kiln.top_k' op values must have the input's element type}}
  %v, %i = kiln.top_k %x {axis = 1 : i64, k = 3 : i64} : tensor<4x8xf32> -> (tensor<4x3xf16>, tensor<4x3xi64>)
  return
}

// -----

// Indices are always i64.
func.func @top_k_i32_indices(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'kiln.top_k' op result #1 must be ranked tensor of 64-bit signless integer values, but got 'tensor<4x3xi32>'}}
  %v, %i = kiln.top_k %x {axis = 1 : i64, k = 3 : i64} : tensor<4x8xf32> -> (tensor<4x3xf32>, tensor<4x3xi32>)
  return
}

//===----------------------------------------------------------------------===//
// gather_elements
//===----------------------------------------------------------------------===//

// -----

func.func @gather_elements_axis(%d: tensor<4x8xf32>, %i: tensor<4x2xi64>) {
  // expected-error @+1 {{'kiln.gather_elements' op axis 2 is out of range for rank 2 (expected 0 <= axis < 2)}}
  %0 = kiln.gather_elements %d, %i {axis = 2 : i64} : (tensor<4x8xf32>, tensor<4x2xi64>) -> tensor<4x2xf32>
  return
}

// -----

func.func @gather_elements_indices_rank(%d: tensor<4x8xf32>, %i: tensor<8xi64>) {
  // expected-error @+1 {{'kiln.gather_elements' op indices must have the data's rank 2, got 1}}
  %0 = kiln.gather_elements %d, %i {axis = 1 : i64} : (tensor<4x8xf32>, tensor<8xi64>) -> tensor<8xf32>
  return
}

// -----

func.func @gather_elements_result_shape(%d: tensor<4x8xf32>, %i: tensor<4x2xi64>) {
  // expected-error @+1 {{'kiln.gather_elements' op result shape must equal the indices' shape [4,2]}}
  %0 = kiln.gather_elements %d, %i {axis = 1 : i64} : (tensor<4x8xf32>, tensor<4x2xi64>) -> tensor<4x8xf32>
  return
}

// -----

func.func @gather_elements_result_element_type(%d: tensor<4x8xf32>, %i: tensor<4x2xi64>) {
  // expected-error @+1 {{'kiln.gather_elements' op result must have the data's element type}}
  %0 = kiln.gather_elements %d, %i {axis = 1 : i64} : (tensor<4x8xf32>, tensor<4x2xi64>) -> tensor<4x2xf16>
  return
}

// -----

func.func @gather_elements_float_indices(%d: tensor<4x8xf32>, %i: tensor<4x2xf32>) {
  // expected-error @+1 {{'kiln.gather_elements' op operand #1 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<4x2xf32>'}}
  %0 = kiln.gather_elements %d, %i {axis = 1 : i64} : (tensor<4x8xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  return
}

//===----------------------------------------------------------------------===//
// scatter_elements
//===----------------------------------------------------------------------===//

// -----

func.func @scatter_elements_axis(%d: tensor<8x4xf32>, %i: tensor<3x4xi64>, %u: tensor<3x4xf32>) {
  // expected-error @+1 {{'kiln.scatter_elements' op axis -1 is out of range for rank 2 (expected 0 <= axis < 2)}}
  %0 = kiln.scatter_elements %d, %i, %u {axis = -1 : i64} : (tensor<8x4xf32>, tensor<3x4xi64>, tensor<3x4xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @scatter_elements_updates_shape(%d: tensor<8x4xf32>, %i: tensor<3x4xi64>, %u: tensor<3x2xf32>) {
  // expected-error @+1 {{'kiln.scatter_elements' op indices [3,4] and updates [3,2] must have one shape}}
  %0 = kiln.scatter_elements %d, %i, %u {axis = 0 : i64} : (tensor<8x4xf32>, tensor<3x4xi64>, tensor<3x2xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @scatter_elements_indices_rank(%d: tensor<8x4xf32>, %i: tensor<3xi64>, %u: tensor<3xf32>) {
  // expected-error @+1 {{'kiln.scatter_elements' op indices must have the data's rank}}
  %0 = kiln.scatter_elements %d, %i, %u {axis = 0 : i64} : (tensor<8x4xf32>, tensor<3xi64>, tensor<3xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @scatter_elements_updates_element_type(%d: tensor<8x4xf32>, %i: tensor<3x4xi64>, %u: tensor<3x4xf16>) {
  // expected-error @+1 {{'kiln.scatter_elements' op updates must have the data's element type}}
  %0 = kiln.scatter_elements %d, %i, %u {axis = 0 : i64} : (tensor<8x4xf32>, tensor<3x4xi64>, tensor<3x4xf16>) -> tensor<8x4xf32>
  return
}

// -----

func.func @scatter_elements_result_type(%d: tensor<8x4xf32>, %i: tensor<3x4xi64>, %u: tensor<3x4xf32>) {
  // expected-error @+1 {{'kiln.scatter_elements' op failed to verify that all of {data, result} have same type}}
  %0 = kiln.scatter_elements %d, %i, %u {axis = 0 : i64} : (tensor<8x4xf32>, tensor<3x4xi64>, tensor<3x4xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @scatter_elements_bad_reduction(%d: tensor<8x4xf32>, %i: tensor<3x4xi64>, %u: tensor<3x4xf32>) {
  // expected-error @+2 {{expected ::kiln::ScatterReduction to be one of: none, add, mul, max, min}}
  // expected-error @+1 {{failed to parse Kiln_ScatterReductionAttr parameter 'value' which is to be a `::kiln::ScatterReduction`}}
  %0 = kiln.scatter_elements %d, %i, %u {axis = 0 : i64, reduction = #kiln.scatter_reduction<sum>} : (tensor<8x4xf32>, tensor<3x4xi64>, tensor<3x4xf32>) -> tensor<8x4xf32>
  return
}

//===----------------------------------------------------------------------===//
// scatter_nd
//===----------------------------------------------------------------------===//

// -----

func.func @scatter_nd_scalar_indices(%d: tensor<8x4xf32>, %i: tensor<i64>, %u: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.scatter_nd' op indices must have rank 1 or more}}
  %0 = kiln.scatter_nd %d, %i, %u : (tensor<8x4xf32>, tensor<i64>, tensor<4xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @scatter_nd_tuples_too_long(%d: tensor<8x4xf32>, %i: tensor<2x3xi64>, %u: tensor<2xf32>) {
  // expected-error @+1 {{'kiln.scatter_nd' op index tuples have 3 entries but the data has rank 2}}
  %0 = kiln.scatter_nd %d, %i, %u : (tensor<8x4xf32>, tensor<2x3xi64>, tensor<2xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @scatter_nd_empty_tuples(%d: tensor<8x4xf32>, %i: tensor<2x0xi64>, %u: tensor<2x8x4xf32>) {
  // expected-error @+1 {{'kiln.scatter_nd' op index tuples have 0 entries but the data has rank 2}}
  %0 = kiln.scatter_nd %d, %i, %u : (tensor<8x4xf32>, tensor<2x0xi64>, tensor<2x8x4xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @scatter_nd_updates_shape(%d: tensor<8x4xf32>, %i: tensor<2x1xi64>, %u: tensor<2x3xf32>) {
  // expected-error @+1 {{'kiln.scatter_nd' op updates must be [2,4], got [2,3]}}
  %0 = kiln.scatter_nd %d, %i, %u : (tensor<8x4xf32>, tensor<2x1xi64>, tensor<2x3xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @scatter_nd_updates_element_type(%d: tensor<8x4xf32>, %i: tensor<2x1xi64>, %u: tensor<2x4xi32>) {
  // expected-error @+1 {{'kiln.scatter_nd' op updates must have the data's element type}}
  %0 = kiln.scatter_nd %d, %i, %u : (tensor<8x4xf32>, tensor<2x1xi64>, tensor<2x4xi32>) -> tensor<8x4xf32>
  return
}

//===----------------------------------------------------------------------===//
// one_hot
//===----------------------------------------------------------------------===//

// -----

// The axis counts in the result, rank 2 here.
func.func @one_hot_axis(%i: tensor<16xi64>) {
  // expected-error @+1 {{'kiln.one_hot' op axis 2 is out of range for rank 2 (expected 0 <= axis < 2)}}
  %0 = kiln.one_hot %i {axis = 2 : i64, depth = 8 : i64, off_value = 0.0 : f64, on_value = 1.0 : f64} : tensor<16xi64> -> tensor<16x8xf32>
  return
}

// -----

func.func @one_hot_negative_axis(%i: tensor<16xi64>) {
  // expected-error @+1 {{'kiln.one_hot' op axis -1 is out of range for rank 2 (expected 0 <= axis < 2)}}
  %0 = kiln.one_hot %i {axis = -1 : i64, depth = 8 : i64, off_value = 0.0 : f64, on_value = 1.0 : f64} : tensor<16xi64> -> tensor<16x8xf32>
  return
}

// -----

func.func @one_hot_depth(%i: tensor<16xi64>) {
  // expected-error @+1 {{'kiln.one_hot' op depth must be positive, got 0}}
  %0 = kiln.one_hot %i {axis = 1 : i64, depth = 0 : i64, off_value = 0.0 : f64, on_value = 1.0 : f64} : tensor<16xi64> -> tensor<16x0xf32>
  return
}

// -----

func.func @one_hot_result_shape(%i: tensor<16xi64>) {
  // expected-error @+1 {{'kiln.one_hot' op result shape must be [16,8]}}
  %0 = kiln.one_hot %i {axis = 1 : i64, depth = 8 : i64, off_value = 0.0 : f64, on_value = 1.0 : f64} : tensor<16xi64> -> tensor<8x16xf32>
  return
}

//===----------------------------------------------------------------------===//
// nonzero, unique, non_max_suppression
//===----------------------------------------------------------------------===//

// -----

func.func @nonzero_dynamic(%x: tensor<?x3xf32>) {
  // expected-error @+1 {{'kiln.nonzero' op coordinates must be [2,?]}}
  %c, %k = kiln.nonzero %x : tensor<?x3xf32> -> tensor<2x6xi64>
  return
}

// -----

func.func @nonzero_bound(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'kiln.nonzero' op coordinates must be [2,6]}}
  %c, %k = kiln.nonzero %x : tensor<2x3xf32> -> tensor<2x3xi64>
  return
}

// -----

func.func @unique_rank(%x: tensor<6xf32>) {
  // expected-error @+1 {{'kiln.unique' op expects an input [outer, m, inner]}}
  %y, %i, %v, %n, %k = kiln.unique %x : tensor<6xf32> -> (tensor<6xf32>, tensor<6xi64>, tensor<6xi64>, tensor<6xi64>)
  return
}

// -----

func.func @unique_values(%x: tensor<1x6x1xf32>) {
  // expected-error @+1 {{'kiln.unique' op values must have the input's type}}
  %y, %i, %v, %n, %k = kiln.unique %x : tensor<1x6x1xf32> -> (tensor<1x6x1xf16>, tensor<6xi64>, tensor<6xi64>, tensor<6xi64>)
  return
}

// -----

func.func @unique_items(%x: tensor<1x6x1xf32>) {
  // expected-error @+1 {{'kiln.unique' op indices, inverse_indices and counts must be [6]}}
  %y, %i, %v, %n, %k = kiln.unique %x : tensor<1x6x1xf32> -> (tensor<1x6x1xf32>, tensor<6xi64>, tensor<5xi64>, tensor<6xi64>)
  return
}

// -----

func.func @nms_boxes(%b: tensor<1x6x5xf32>, %s: tensor<1x1x6xf32>, %n: index, %t: f32) {
  // expected-error @+1 {{'kiln.non_max_suppression' op expects boxes [batches, boxes, 4]}}
  %sel, %k = kiln.non_max_suppression %b, %s, %n, %t, %t : tensor<1x6x5xf32>, tensor<1x1x6xf32> -> tensor<6x3xi64>
  return
}

// -----

func.func @nms_scores(%b: tensor<1x6x4xf32>, %s: tensor<1x1x5xf32>, %n: index, %t: f32) {
  // expected-error @+1 {{'kiln.non_max_suppression' op expects scores [1, classes, 6]}}
  %sel, %k = kiln.non_max_suppression %b, %s, %n, %t, %t : tensor<1x6x4xf32>, tensor<1x1x5xf32> -> tensor<5x3xi64>
  return
}

// -----

func.func @nms_bound(%b: tensor<2x6x4xf32>, %s: tensor<2x3x6xf32>, %n: index, %t: f32) {
  // expected-error @+1 {{'kiln.non_max_suppression' op selected must be [36,3]}}
  %sel, %k = kiln.non_max_suppression %b, %s, %n, %t, %t : tensor<2x6x4xf32>, tensor<2x3x6xf32> -> tensor<12x3xi64>
  return
}

// -----

func.func @nms_dynamic_bound(%b: tensor<1x?x4xf32>, %s: tensor<1x2x?xf32>, %n: index, %t: f32) {
  // expected-error @+1 {{'kiln.non_max_suppression' op selected must be [?,3]}}
  %sel, %k = kiln.non_max_suppression %b, %s, %n, %t, %t : tensor<1x?x4xf32>, tensor<1x2x?xf32> -> tensor<12x3xi64>
  return
}

// -----

func.func @unique_dynamic_items(%x: tensor<1x?x1xf32>) {
  // expected-error @+1 {{'kiln.unique' op indices, inverse_indices and counts must be [?]}}
  %y, %i, %v, %n, %k = kiln.unique %x : tensor<1x?x1xf32> -> (tensor<1x?x1xf32>, tensor<6xi64>, tensor<?xi64>, tensor<?xi64>)
  return
}

//===----------------------------------------------------------------------===//
// rope
//===----------------------------------------------------------------------===//

// -----

func.func @rope_rank(%x: tensor<2x3x8xf32>, %c: tensor<3x4xf32>) {
  // expected-error @+1 {{'kiln.rope' op input must be [batch, heads, sequence, head_size]}}
  %0 = kiln.rope %x, %c, %c : (tensor<2x3x8xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

func.func @rope_rotary_dim_odd(%x: tensor<2x4x3x8xf32>, %c: tensor<3x4xf32>) {
  // expected-error @+1 {{'kiln.rope' op rotary_dim 3 must be even and at most the head size 8 (0 means all of it)}}
  %0 = kiln.rope %x, %c, %c {rotary_dim = 3 : i64} : (tensor<2x4x3x8xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<2x4x3x8xf32>
  return
}

// -----

func.func @rope_rotary_dim_too_large(%x: tensor<2x4x3x8xf32>, %c: tensor<3x4xf32>) {
  // expected-error @+1 {{'kiln.rope' op rotary_dim 10 must be even and at most the head size 8 (0 means all of it)}}
  %0 = kiln.rope %x, %c, %c {rotary_dim = 10 : i64} : (tensor<2x4x3x8xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<2x4x3x8xf32>
  return
}

// -----

func.func @rope_rotary_dim_negative(%x: tensor<2x4x3x8xf32>, %c: tensor<3x4xf32>) {
  // expected-error @+1 {{'kiln.rope' op rotary_dim -2 must be even and at most the head size 8 (0 means all of it)}}
  %0 = kiln.rope %x, %c, %c {rotary_dim = -2 : i64} : (tensor<2x4x3x8xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<2x4x3x8xf32>
  return
}

// -----

// With rotary_dim = 0 the whole head rotates, so its size must be even.
func.func @rope_odd_head_size(%x: tensor<2x4x3x7xf32>, %c: tensor<3x3xf32>) {
  // expected-error @+1 {{'kiln.rope' op the head size 7 must be even}}
  %0 = kiln.rope %x, %c, %c : (tensor<2x4x3x7xf32>, tensor<3x3xf32>, tensor<3x3xf32>) -> tensor<2x4x3x7xf32>
  return
}

// -----

func.func @rope_cos_sin_types(%x: tensor<2x4x3x8xf32>, %c: tensor<3x4xf32>, %s: tensor<2x3x4xf32>) {
  // expected-error @+1 {{'kiln.rope' op cos and sin caches must have the same type}}
  %0 = kiln.rope %x, %c, %s : (tensor<2x4x3x8xf32>, tensor<3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x4x3x8xf32>
  return
}

// -----

func.func @rope_cache_element_type(%x: tensor<2x4x3x8xf32>, %c: tensor<3x4xf16>) {
  // expected-error @+1 {{'kiln.rope' op caches must have the input's element type}}
  %0 = kiln.rope %x, %c, %c : (tensor<2x4x3x8xf32>, tensor<3x4xf16>, tensor<3x4xf16>) -> tensor<2x4x3x8xf32>
  return
}

// -----

func.func @rope_cache_width(%x: tensor<2x4x3x8xf32>, %c: tensor<3x4xf32>) {
  // expected-error @+1 {{'kiln.rope' op caches must have rotary_dim / 2 = 2 entries per position, got 4}}
  %0 = kiln.rope %x, %c, %c {rotary_dim = 4 : i64} : (tensor<2x4x3x8xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<2x4x3x8xf32>
  return
}

// -----

func.func @rope_positions_shape(%x: tensor<2x4x3x8xf32>, %c: tensor<16x4xf32>, %p: tensor<3xi64>) {
  // expected-error @+1 {{'kiln.rope' op positions must be [2, 3], got [3]}}
  %0 = kiln.rope %x, %c, %c positions %p : (tensor<2x4x3x8xf32>, tensor<16x4xf32>, tensor<16x4xf32>, tensor<3xi64>) -> tensor<2x4x3x8xf32>
  return
}

// -----

func.func @rope_positions_cache_rank(%x: tensor<2x4x3x8xf32>, %c: tensor<2x3x4xf32>, %p: tensor<2x3xi64>) {
  // expected-error @+1 {{'kiln.rope' op with positions, caches are [max_position, rotary_dim / 2] tables}}
  %0 = kiln.rope %x, %c, %c positions %p : (tensor<2x4x3x8xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3xi64>) -> tensor<2x4x3x8xf32>
  return
}

// -----

func.func @rope_cache_sequence(%x: tensor<2x4x3x8xf32>, %c: tensor<16x4xf32>) {
  // expected-error @+1 {{'kiln.rope' op without positions, caches must be [3, 4] or [2, 3, 4], got [16,4]}}
  %0 = kiln.rope %x, %c, %c : (tensor<2x4x3x8xf32>, tensor<16x4xf32>, tensor<16x4xf32>) -> tensor<2x4x3x8xf32>
  return
}

// -----

func.func @rope_cache_batch(%x: tensor<2x4x3x8xf32>, %c: tensor<1x3x4xf32>) {
  // expected-error @+1 {{'kiln.rope' op without positions, caches must be [3, 4] or [2, 3, 4], got [1,3,4]}}
  %0 = kiln.rope %x, %c, %c : (tensor<2x4x3x8xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>) -> tensor<2x4x3x8xf32>
  return
}

// -----

func.func @rope_result_type(%x: tensor<2x4x3x8xf32>, %c: tensor<3x4xf32>) {
  // expected-error @+1 {{'kiln.rope' op failed to verify that all of {input, result} have same type}}
  %0 = kiln.rope %x, %c, %c : (tensor<2x4x3x8xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<2x4x3x8xf16>
  return
}

// -----

func.func @rope_scalar_cache(%x: tensor<1x2x3x4xf32>, %c: tensor<f32>) -> tensor<1x2x3x4xf32> {
  // expected-error @+1 {{'kiln.rope' op caches must have rank 2 or 3, got 0}}
  %0 = kiln.rope %x, %c, %c : (tensor<1x2x3x4xf32>, tensor<f32>, tensor<f32>) -> tensor<1x2x3x4xf32>
  return %0 : tensor<1x2x3x4xf32>
}

// -----

func.func @gather_elements_indices_too_wide(%d: tensor<2x4xf32>, %i: tensor<3x2xi64>) -> tensor<3x2xf32> {
  // expected-error @+1 {{'kiln.gather_elements' op indices are larger than the data in dimension 0 (3 > 2)}}
  %0 = kiln.gather_elements %d, %i {axis = 1 : i64} : (tensor<2x4xf32>, tensor<3x2xi64>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @scatter_elements_updates_too_wide(%d: tensor<2x4xf32>, %i: tensor<3x2xi64>, %u: tensor<3x2xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'kiln.scatter_elements' op updates are larger than the data in dimension 0 (3 > 2)}}
  %0 = kiln.scatter_elements %d, %i, %u {axis = 1 : i64} : (tensor<2x4xf32>, tensor<3x2xi64>, tensor<3x2xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @kv_cache_update_batch_axis(%c: tensor<2x4x8xf32>, %u: tensor<2x1x8xf32>, %p: tensor<2xi64>) -> tensor<2x4x8xf32> {
  // expected-error @+1 {{'kiln.kv_cache_update' op axis 0 must name a non-batch dimension of the rank-3 cache}}
  %0 = kiln.kv_cache_update %c, %u, %p {axis = 0 : i64} : (tensor<2x4x8xf32>, tensor<2x1x8xf32>, tensor<2xi64>) -> tensor<2x4x8xf32>
  return %0 : tensor<2x4x8xf32>
}

// -----

func.func @kv_cache_update_too_long(%c: tensor<2x4x8xf32>, %u: tensor<2x5x8xf32>, %p: tensor<2xi64>) -> tensor<2x4x8xf32> {
  // expected-error @+1 {{'kiln.kv_cache_update' op update shape [2,5,8] does not fit the cache shape [2,4,8] along axis 1}}
  %0 = kiln.kv_cache_update %c, %u, %p {axis = 1 : i64} : (tensor<2x4x8xf32>, tensor<2x5x8xf32>, tensor<2xi64>) -> tensor<2x4x8xf32>
  return %0 : tensor<2x4x8xf32>
}

// -----

func.func @paged_update_pool_rank(%c: tensor<4x2x8xf32>, %u: tensor<1x2x1x8xf32>, %t: tensor<1x2xi64>, %p: tensor<1xi64>) -> tensor<4x2x8xf32> {
  // expected-error @+1 {{'kiln.paged_kv_cache_update' op pool must be [blocks, kv_heads, block_size, head_size], got rank 3}}
  %0 = kiln.paged_kv_cache_update %c, %u, %t, %p : (tensor<4x2x8xf32>, tensor<1x2x1x8xf32>, tensor<1x2xi64>, tensor<1xi64>) -> tensor<4x2x8xf32>
  return %0 : tensor<4x2x8xf32>
}

// -----

func.func @paged_update_dynamic_block(%c: tensor<4x2x?x8xf32>, %u: tensor<1x2x1x8xf32>, %t: tensor<1x2xi64>, %p: tensor<1xi64>) -> tensor<4x2x?x8xf32> {
  // expected-error @+1 {{'kiln.paged_kv_cache_update' op pool's block size must be static and positive, got [4,2,?,8]}}
  %0 = kiln.paged_kv_cache_update %c, %u, %t, %p : (tensor<4x2x?x8xf32>, tensor<1x2x1x8xf32>, tensor<1x2xi64>, tensor<1xi64>) -> tensor<4x2x?x8xf32>
  return %0 : tensor<4x2x?x8xf32>
}

// -----

func.func @paged_update_table_rank(%c: tensor<4x2x4x8xf32>, %u: tensor<1x2x1x8xf32>, %t: tensor<2xi64>, %p: tensor<1xi64>) -> tensor<4x2x4x8xf32> {
  // expected-error @+1 {{'kiln.paged_kv_cache_update' op block_table must be [batch, blocks per sequence], got rank 1}}
  %0 = kiln.paged_kv_cache_update %c, %u, %t, %p : (tensor<4x2x4x8xf32>, tensor<1x2x1x8xf32>, tensor<2xi64>, tensor<1xi64>) -> tensor<4x2x4x8xf32>
  return %0 : tensor<4x2x4x8xf32>
}

// -----

func.func @paged_update_element_type(%c: tensor<4x2x4x8xf32>, %u: tensor<1x2x1x8xf16>, %t: tensor<1x2xi64>, %p: tensor<1xi64>) -> tensor<4x2x4x8xf32> {
  // expected-error @+1 {{'kiln.paged_kv_cache_update' op update must be [batch, kv_heads, seq, head_size] of the pool's element type}}
  %0 = kiln.paged_kv_cache_update %c, %u, %t, %p : (tensor<4x2x4x8xf32>, tensor<1x2x1x8xf16>, tensor<1x2xi64>, tensor<1xi64>) -> tensor<4x2x4x8xf32>
  return %0 : tensor<4x2x4x8xf32>
}

// -----

func.func @paged_update_heads(%c: tensor<4x2x4x8xf32>, %u: tensor<1x3x1x8xf32>, %t: tensor<1x2xi64>, %p: tensor<1xi64>) -> tensor<4x2x4x8xf32> {
  // expected-error @+1 {{'kiln.paged_kv_cache_update' op update shape [1,3,1,8] does not match the pool's kv_heads and head_size [4,2,4,8]}}
  %0 = kiln.paged_kv_cache_update %c, %u, %t, %p : (tensor<4x2x4x8xf32>, tensor<1x3x1x8xf32>, tensor<1x2xi64>, tensor<1xi64>) -> tensor<4x2x4x8xf32>
  return %0 : tensor<4x2x4x8xf32>
}

// -----

func.func @paged_update_table_rows(%c: tensor<4x2x4x8xf32>, %u: tensor<2x2x1x8xf32>, %t: tensor<3x2xi64>, %p: tensor<2xi64>) -> tensor<4x2x4x8xf32> {
  // expected-error @+1 {{'kiln.paged_kv_cache_update' op block_table has 3 rows for a batch of 2}}
  %0 = kiln.paged_kv_cache_update %c, %u, %t, %p : (tensor<4x2x4x8xf32>, tensor<2x2x1x8xf32>, tensor<3x2xi64>, tensor<2xi64>) -> tensor<4x2x4x8xf32>
  return %0 : tensor<4x2x4x8xf32>
}

// -----

func.func @paged_update_positions(%c: tensor<4x2x4x8xf32>, %u: tensor<2x2x1x8xf32>, %t: tensor<2x2xi64>, %p: tensor<3xi64>) -> tensor<4x2x4x8xf32> {
  // expected-error @+1 {{'kiln.paged_kv_cache_update' op positions must be [2], one per batch entry}}
  %0 = kiln.paged_kv_cache_update %c, %u, %t, %p : (tensor<4x2x4x8xf32>, tensor<2x2x1x8xf32>, tensor<2x2xi64>, tensor<3xi64>) -> tensor<4x2x4x8xf32>
  return %0 : tensor<4x2x4x8xf32>
}

// -----

func.func @paged_gather_result(%c: tensor<4x2x4x8xf32>, %t: tensor<?x2xi64>) -> tensor<?x2x16x8xf32> {
  // expected-error @+1 {{'kiln.paged_kv_gather' op result must be [batch, kv_heads, blocks per sequence * block_size, head_size] = [?, 2, 8, 8] (? for dynamic), got [?,2,16,8]}}
  %0 = kiln.paged_kv_gather %c, %t : (tensor<4x2x4x8xf32>, tensor<?x2xi64>) -> tensor<?x2x16x8xf32>
  return %0 : tensor<?x2x16x8xf32>
}

// -----

func.func @paged_gather_pool_rank(%c: tensor<4x2x4xf32>, %t: tensor<1x2xi64>) -> tensor<1x2x8x4xf32> {
  // expected-error @+1 {{'kiln.paged_kv_gather' op pool must be [blocks, kv_heads, block_size, head_size], got rank 3}}
  %0 = kiln.paged_kv_gather %c, %t : (tensor<4x2x4xf32>, tensor<1x2xi64>) -> tensor<1x2x8x4xf32>
  return %0 : tensor<1x2x8x4xf32>
}

// -----

func.func @kv_cache_update_positions(%c: tensor<2x4x8xf32>, %u: tensor<2x1x8xf32>, %p: tensor<3xi64>) -> tensor<2x4x8xf32> {
  // expected-error @+1 {{'kiln.kv_cache_update' op positions must be [2], one per batch entry}}
  %0 = kiln.kv_cache_update %c, %u, %p {axis = 1 : i64} : (tensor<2x4x8xf32>, tensor<2x1x8xf32>, tensor<3xi64>) -> tensor<2x4x8xf32>
  return %0 : tensor<2x4x8xf32>
}

// -----

func.func @swiglu_odd(%x: tensor<4x5xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{'kiln.swiglu' op the last dimension must be even}}
  %0 = kiln.swiglu %x : tensor<4x5xf32> -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.moe_route, kiln.moe_experts: one case per verifier message
//===----------------------------------------------------------------------===//

func.func @moe_route_logits_rank(%l: tensor<4x2x8xf32>) {
  // expected-error @+1 {{'kiln.moe_route' op logits must be [tokens, experts]}}
  %w, %e, %n = kiln.moe_route %l {k = 2 : i64} : (tensor<4x2x8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>)
  return
}

// -----

func.func @moe_route_k_zero(%l: tensor<4x8xf32>) {
  // expected-error @+1 {{'kiln.moe_route' op k = 0 must lie in [1, 8]}}
  %w, %e, %n = kiln.moe_route %l {k = 0 : i64} : (tensor<4x8xf32>) -> (tensor<4x0xf32>, tensor<4x0xi64>, tensor<8xi64>)
  return
}

// -----

func.func @moe_route_k_large(%l: tensor<4x8xf32>) {
  // expected-error @+1 {{'kiln.moe_route' op k = 9 must lie in [1, 8]}}
  %w, %e, %n = kiln.moe_route %l {k = 9 : i64} : (tensor<4x8xf32>) -> (tensor<4x9xf32>, tensor<4x9xi64>, tensor<8xi64>)
  return
}

// -----

func.func @moe_route_bias_shape(%l: tensor<4x8xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.moe_route' op score_bias must be [8], got [4]}}
  %w, %e, %n = kiln.moe_route %l bias %b {k = 2 : i64} : (tensor<4x8xf32>, tensor<4xf32>) -> (tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>)
  return
}

// -----

func.func @moe_route_bias_rank(%l: tensor<4x8xf32>, %b: tensor<1x8xf32>) {
  // expected-error @+1 {{'kiln.moe_route' op score_bias must be [8], got [1,8]}}
  %w, %e, %n = kiln.moe_route %l bias %b {k = 2 : i64} : (tensor<4x8xf32>, tensor<1x8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>)
  return
}

// -----

func.func @moe_route_bias_type(%l: tensor<4x8xf32>, %b: tensor<8xf16>) {
  // expected-error @+1 {{'kiln.moe_route' op score_bias must have the logits' element type}}
  %w, %e, %n = kiln.moe_route %l bias %b {k = 2 : i64} : (tensor<4x8xf32>, tensor<8xf16>) -> (tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>)
  return
}

// -----

func.func @moe_route_groups_divide(%l: tensor<4x8xf32>) {
  // expected-error @+1 {{'kiln.moe_route' op num_groups = 3 must be positive and divide the 8 experts}}
  %w, %e, %n = kiln.moe_route %l {k = 2 : i64, num_groups = 3 : i64} : (tensor<4x8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>)
  return
}

// -----

func.func @moe_route_groups_zero(%l: tensor<4x8xf32>) {
  // expected-error @+1 {{'kiln.moe_route' op num_groups = 0 must be positive and divide the 8 experts}}
  %w, %e, %n = kiln.moe_route %l {k = 2 : i64, num_groups = 0 : i64} : (tensor<4x8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>)
  return
}

// -----

func.func @moe_route_top_groups_large(%l: tensor<4x8xf32>) {
  // expected-error @+1 {{'kiln.moe_route' op top_groups = 5 must lie in [1, 4]}}
  %w, %e, %n = kiln.moe_route %l {k = 2 : i64, num_groups = 4 : i64, top_groups = 5 : i64} : (tensor<4x8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>)
  return
}

// -----

func.func @moe_route_top_groups_zero(%l: tensor<4x8xf32>) {
  // expected-error @+1 {{'kiln.moe_route' op top_groups = 0 must lie in [1, 4]}}
  %w, %e, %n = kiln.moe_route %l {k = 2 : i64, num_groups = 4 : i64, top_groups = 0 : i64} : (tensor<4x8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>)
  return
}

// -----

func.func @moe_route_k_exceeds_kept(%l: tensor<4x8xf32>) {
  // expected-error @+1 {{'kiln.moe_route' op k = 5 exceeds the 4 experts of the kept groups}}
  %w, %e, %n = kiln.moe_route %l {k = 5 : i64, num_groups = 4 : i64, top_groups = 2 : i64} : (tensor<4x8xf32>) -> (tensor<4x5xf32>, tensor<4x5xi64>, tensor<8xi64>)
  return
}

// -----

func.func @moe_route_weights_shape(%l: tensor<4x8xf32>) {
  // expected-error @+1 {{'kiln.moe_route' op weights and experts must be [4,2]}}
  %w, %e, %n = kiln.moe_route %l {k = 2 : i64} : (tensor<4x8xf32>) -> (tensor<4x3xf32>, tensor<4x2xi64>, tensor<8xi64>)
  return
}

// -----

func.func @moe_route_experts_shape(%l: tensor<4x8xf32>) {
  // expected-error @+1 {{'kiln.moe_route' op weights and experts must be [4,2]}}
  %w, %e, %n = kiln.moe_route %l {k = 2 : i64} : (tensor<4x8xf32>) -> (tensor<4x2xf32>, tensor<2x4xi64>, tensor<8xi64>)
  return
}

// -----

func.func @moe_route_counts_shape(%l: tensor<4x8xf32>) {
  // expected-error @+1 {{'kiln.moe_route' op counts must be [8]}}
  %w, %e, %n = kiln.moe_route %l {k = 2 : i64} : (tensor<4x8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi64>, tensor<4xi64>)
  return
}

// -----

func.func @moe_route_weights_type(%l: tensor<4x8xf32>) {
  // expected-error @+1 {{'kiln.moe_route' op weights must have the logits' element type}}
  %w, %e, %n = kiln.moe_route %l {k = 2 : i64} : (tensor<4x8xf32>) -> (tensor<4x2xf16>, tensor<4x2xi64>, tensor<8xi64>)
  return
}

// -----

func.func @moe_experts_input_rank(%x: tensor<4x1x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>) {
  // expected-error @+1 {{'kiln.moe_experts' op input must be [tokens, hidden]}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<relu>} : (tensor<4x1x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>) -> tensor<4x1x6xf32>
  return
}

// -----

func.func @moe_experts_tokens(%x: tensor<4x6xf32>, %e: tensor<3x2xi64>, %w: tensor<3x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>) {
  // expected-error @+1 {{'kiln.moe_experts' op experts and weights must both be [4, k], got [3,2] and [3,2]}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<relu>} : (tensor<4x6xf32>, tensor<3x2xi64>, tensor<3x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>) -> tensor<4x6xf32>
  return
}

// -----

func.func @moe_experts_weights_shape(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x1xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>) {
  // expected-error @+1 {{'kiln.moe_experts' op experts and weights must both be [4, k], got [4,2] and [4,1]}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<relu>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x1xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>) -> tensor<4x6xf32>
  return
}

// -----

func.func @moe_experts_experts_rank(%x: tensor<4x6xf32>, %e: tensor<4xi64>, %w: tensor<4xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>) {
  // expected-error @+1 {{'kiln.moe_experts' op experts and weights must both be [4, k], got [4] and [4]}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<relu>} : (tensor<4x6xf32>, tensor<4xi64>, tensor<4xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>) -> tensor<4x6xf32>
  return
}

// -----

func.func @moe_experts_gate_hidden(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x5xf32>, %d: tensor<8x6x16xf32>) {
  // expected-error @+1 {{'kiln.moe_experts' op w_gate must be [experts, ffn, 6], got [8,16,5]}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<relu>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x5xf32>, tensor<8x6x16xf32>) -> tensor<4x6xf32>
  return
}

// -----

func.func @moe_experts_gate_rank(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<16x6xf32>, %d: tensor<8x6x16xf32>) {
  // expected-error @+1 {{'kiln.moe_experts' op w_gate must be [experts, ffn, 6], got [16,6]}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<relu>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<16x6xf32>, tensor<8x6x16xf32>) -> tensor<4x6xf32>
  return
}

// -----

func.func @moe_experts_down(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x16x6xf32>) {
  // expected-error @+1 {{'kiln.moe_experts' op w_down must be [8,6,16], got [8,16,6]}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<relu>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x16x6xf32>) -> tensor<4x6xf32>
  return
}

// -----

func.func @moe_experts_swiglu_no_up(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>) {
  // expected-error @+1 {{'kiln.moe_experts' op SwiGLU experts need w_up}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<swiglu>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>) -> tensor<4x6xf32>
  return
}

// -----

func.func @moe_experts_up_not_swiglu(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>, %u: tensor<8x16x6xf32>) {
  // expected-error @+1 {{'kiln.moe_experts' op w_up is only used by SwiGLU experts}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d up %u {activation = #kiln.expert_activation<gelu>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>, tensor<8x16x6xf32>) -> tensor<4x6xf32>
  return
}

// -----

func.func @moe_experts_up_type(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>, %u: tensor<8x16x6xf16>) {
  // expected-error @+1 {{'kiln.moe_experts' op w_up must have w_gate's type 'tensor<8x16x6xf32>'}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d up %u {activation = #kiln.expert_activation<swiglu>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>, tensor<8x16x6xf16>) -> tensor<4x6xf32>
  return
}

// -----

func.func @moe_experts_weights_type(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf16>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>) {
  // expected-error @+1 {{'kiln.moe_experts' op input, weights, expert weights and result must share the input's type}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<relu>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf16>, tensor<8x16x6xf32>, tensor<8x6x16xf32>) -> tensor<4x6xf32>
  return
}

// -----

func.func @moe_experts_gate_type(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf16>, %d: tensor<8x6x16xf16>) {
  // expected-error @+1 {{'kiln.moe_experts' op input, weights, expert weights and result must share the input's type}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<relu>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf16>, tensor<8x6x16xf16>) -> tensor<4x6xf32>
  return
}

// -----

func.func @moe_experts_result_type(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>) {
  // expected-error @+1 {{'kiln.moe_experts' op input, weights, expert weights and result must share the input's type}}
  %0 = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<relu>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>) -> tensor<4x6xf16>
  return
}

// -----

func.func @moe_route_negative_capacity(%l: tensor<4x8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>) {
  // expected-error @+1 {{'kiln.moe_route' op capacity must not be negative}}
  %w, %e, %n = kiln.moe_route %l {k = 2 : i64, capacity = -1 : i64} : (tensor<4x8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>)
  return %w, %e, %n : tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.dequantize, kiln.quantize
//===----------------------------------------------------------------------===//

func.func @dequantize_result_shape(%x: tensor<2x3xi8>, %s: tensor<f32>) {
  // expected-error @+1 {{'kiln.dequantize' op result must have the input's shape}}
  %0 = kiln.dequantize %x, %s : (tensor<2x3xi8>, tensor<f32>) -> tensor<3x2xf32>
  return
}

// -----

func.func @quantize_result_shape(%x: tensor<2x3xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{'kiln.quantize' op result must have the input's shape}}
  %0 = kiln.quantize %x, %s : (tensor<2x3xf32>, tensor<f32>) -> tensor<6xi8>
  return
}

// -----

func.func @quantize_to_i1(%x: tensor<2x3xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{'kiln.quantize' op quantized integers must have 2 to 32 bits, not 'i1'}}
  %0 = kiln.quantize %x, %s : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xi1>
  return
}

// -----

func.func @dequantize_axis_too_large(%x: tensor<2x3xi8>, %s: tensor<3xf32>) {
  // expected-error @+1 {{'kiln.dequantize' op axis 2 is out of range for rank 2}}
  %0 = kiln.dequantize %x, %s {axis = 2 : i64} : (tensor<2x3xi8>, tensor<3xf32>) -> tensor<2x3xf32>
  return
}

// -----

// The axis is stored normalized: a negative one is rejected.
func.func @quantize_axis_negative(%x: tensor<2x3xf32>, %s: tensor<3xf32>) {
  // expected-error @+1 {{'kiln.quantize' op axis -1 is out of range for rank 2}}
  %0 = kiln.quantize %x, %s {axis = -1 : i64} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi8>
  return
}

// -----

func.func @dequantize_negative_block_size(%x: tensor<2x8xi8>, %s: tensor<2x2xf32>) {
  // expected-error @+1 {{'kiln.dequantize' op block_size must not be negative}}
  %0 = kiln.dequantize %x, %s {axis = 1 : i64, block_size = -4 : i64} : (tensor<2x8xi8>, tensor<2x2xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @dequantize_zero_point_shape(%x: tensor<2x3xi8>, %s: tensor<3xf32>, %z: tensor<1xi8>) {
  // expected-error @+1 {{'kiln.dequantize' op zero_point must have the scale's shape}}
  %0 = kiln.dequantize %x, %s, %z {axis = 1 : i64} : (tensor<2x3xi8>, tensor<3xf32>, tensor<1xi8>) -> tensor<2x3xf32>
  return
}

// -----

// A rank-0 and a [1] zero point are different shapes, even per tensor.
func.func @quantize_zero_point_rank(%x: tensor<2x3xf32>, %s: tensor<f32>, %z: tensor<1xi8>) {
  // expected-error @+1 {{'kiln.quantize' op zero_point must have the scale's shape}}
  %0 = kiln.quantize %x, %s, %z : (tensor<2x3xf32>, tensor<f32>, tensor<1xi8>) -> tensor<2x3xi8>
  return
}

// -----

// dequantize: the zero point has the input's integer type.
func.func @dequantize_zero_point_type(%x: tensor<2x3xi8>, %s: tensor<f32>, %z: tensor<i16>) {
  // expected-error @+1 {{'kiln.dequantize' op zero_point must have the quantized type 'i8'}}
  %0 = kiln.dequantize %x, %s, %z : (tensor<2x3xi8>, tensor<f32>, tensor<i16>) -> tensor<2x3xf32>
  return
}

// -----

// quantize: the zero point has the result's integer type.
func.func @quantize_zero_point_type(%x: tensor<2x3xf32>, %s: tensor<3xf32>, %z: tensor<3xi8>) {
  // expected-error @+1 {{'kiln.quantize' op zero_point must have the quantized type 'i16'}}
  %0 = kiln.quantize %x, %s, %z {axis = 1 : i64} : (tensor<2x3xf32>, tensor<3xf32>, tensor<3xi8>) -> tensor<2x3xi16>
  return
}

// -----

func.func @dequantize_blocked_rank(%x: tensor<2x8xi8>, %s: tensor<2xf32>) {
  // expected-error @+1 {{'kiln.dequantize' op blocked scales must have the input's rank}}
  %0 = kiln.dequantize %x, %s {axis = 1 : i64, block_size = 4 : i64} : (tensor<2x8xi8>, tensor<2xf32>) -> tensor<2x8xf32>
  return
}

// -----

// 10 elements in blocks of 4 need ceil(10 / 4) = 3 scales, not 2.
func.func @quantize_blocked_axis_dim(%x: tensor<2x10xf32>, %s: tensor<2x2xf32>) {
  // expected-error @+1 {{'kiln.quantize' op blocked scale dimension 1 must be 3, got 2}}
  %0 = kiln.quantize %x, %s {axis = 1 : i64, block_size = 4 : i64} : (tensor<2x10xf32>, tensor<2x2xf32>) -> tensor<2x10xi8>
  return
}

// -----

// Dimensions other than the axis match the input's.
func.func @dequantize_blocked_other_dim(%x: tensor<2x8xi8>, %s: tensor<1x2xf32>) {
  // expected-error @+1 {{'kiln.dequantize' op blocked scale dimension 0 must be 2, got 1}}
  %0 = kiln.dequantize %x, %s {axis = 1 : i64, block_size = 4 : i64} : (tensor<2x8xi8>, tensor<1x2xf32>) -> tensor<2x8xf32>
  return
}

// -----

// A vector as long as a dimension other than the axis.
func.func @dequantize_scale_wrong_axis(%x: tensor<2x3xi8>, %s: tensor<2xf32>) {
  // expected-error @+1 {{'kiln.dequantize' op scale must hold one element, one per slice along axis 1, or (with block_size or block_shape) one per block}}
  %0 = kiln.dequantize %x, %s {axis = 1 : i64} : (tensor<2x3xi8>, tensor<2xf32>) -> tensor<2x3xf32>
  return
}

// -----

// A scale of the input's rank without block_size.
func.func @quantize_scale_rank(%x: tensor<2x3xf32>, %s: tensor<2x3xf32>) {
  // expected-error @+1 {{'kiln.quantize' op scale must hold one element, one per slice along axis 0, or (with block_size or block_shape) one per block}}
  %0 = kiln.quantize %x, %s : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xi8>
  return
}

// -----

// One element, but of rank 2: not a per-tensor scale.
func.func @dequantize_scale_one_element_rank2(%x: tensor<2x3xi8>, %s: tensor<1x1xf32>) {
  // expected-error @+1 {{'kiln.dequantize' op scale must hold one element, one per slice along axis 0, or (with block_size or block_shape) one per block}}
  %0 = kiln.dequantize %x, %s : (tensor<2x3xi8>, tensor<1x1xf32>) -> tensor<2x3xf32>
  return
}

// -----

// A rank-0 input has no axis to be per-axis along.
func.func @dequantize_scalar_vector_scale(%x: tensor<i8>, %s: tensor<3xf32>) {
  // expected-error @+1 {{'kiln.dequantize' op scale must hold one element, one per slice along axis 0, or (with block_size or block_shape) one per block}}
  %0 = kiln.dequantize %x, %s : (tensor<i8>, tensor<3xf32>) -> tensor<f32>
  return
}

// -----

func.func @quantize_to_i64(%x: tensor<4xf32>, %s: tensor<f32>) -> tensor<4xi64> {
  // expected-error @+1 {{'kiln.quantize' op quantized integers must have 2 to 32 bits, not 'i64'}}
  %0 = kiln.quantize %x, %s : (tensor<4xf32>, tensor<f32>) -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

func.func @gather_nd_tuple_too_long(%d: tensor<4x8xf32>, %i: tensor<3x3xi64>) -> tensor<3xf32> {
  // expected-error @+1 {{'kiln.gather_nd' op batch_dims = 0 and index tuples of 3 entries do not fit data of rank 2 and indices of rank 2}}
  %0 = kiln.gather_nd %d, %i : (tensor<4x8xf32>, tensor<3x3xi64>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @gather_nd_wrong_result(%d: tensor<4x8xf32>, %i: tensor<3x1xi64>) -> tensor<3x4xf32> {
  // expected-error @+1 {{'kiln.gather_nd' op result must be [3,8] of the data's element type}}
  %0 = kiln.gather_nd %d, %i : (tensor<4x8xf32>, tensor<3x1xi64>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

//===----------------------------------------------------------------------===//
// Window ops
//===----------------------------------------------------------------------===//

// -----

func.func @conv_group(%x: tensor<1x4x8x8xf32>, %w: tensor<6x2x3x3xf32>) -> tensor<1x6x6x6xf32> {
  // expected-error @+1 {{'kiln.conv' op group 3 must divide the input channels (4) and the filters (6)}}
  %0 = kiln.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 3 : i64}
      : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<1x6x6x6xf32>
  return %0 : tensor<1x6x6x6xf32>
}

// -----

func.func @conv_channels(%x: tensor<1x4x8x8xf32>, %w: tensor<6x3x3x3xf32>) -> tensor<1x6x6x6xf32> {
  // expected-error @+1 {{'kiln.conv' op weight has 3 channels per filter, expected 4 (input channels / group)}}
  %0 = kiln.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>}
      : (tensor<1x4x8x8xf32>, tensor<6x3x3x3xf32>) -> tensor<1x6x6x6xf32>
  return %0 : tensor<1x6x6x6xf32>
}

// -----

func.func @conv_size(%x: tensor<1x4x8x8xf32>, %w: tensor<6x4x3x3xf32>) -> tensor<1x6x8x8xf32> {
  // expected-error @+1 {{'kiln.conv' op spatial dimension 0 of the result is 8, the window gives 6}}
  %0 = kiln.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>}
      : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x8x8xf32>
  return %0 : tensor<1x6x8x8xf32>
}

// -----

func.func @conv_bias(%x: tensor<1x4x8x8xf32>, %w: tensor<6x4x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x6x6x6xf32> {
  // expected-error @+1 {{'kiln.conv' op bias must be a vector of 6 elements of the input's type}}
  %0 = kiln.conv %x, %w, %b {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>}
      : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>, tensor<4xf32>) -> tensor<1x6x6x6xf32>
  return %0 : tensor<1x6x6x6xf32>
}

// -----

func.func @pool_attrs(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32> {
  // expected-error @+1 {{'kiln.pool' op expects 2 kernel sizes, strides and dilations and 4 pads for 2 spatial dimensions}}
  %0 = kiln.pool %x {kind = #kiln.pool_kind<max>, kernel_shape = array<i64: 2>, strides = array<i64: 2, 2>,
                     dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>}
      : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
  return %0 : tensor<1x4x4x4xf32>
}

// -----

func.func @pool_rank(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'kiln.pool' op input must have rank 3 or more ([N, C, D1, ...]), got rank 2}}
  %0 = kiln.pool %x {kind = #kiln.pool_kind<max>, kernel_shape = array<i64>, strides = array<i64>,
                     dilations = array<i64>, pads = array<i64>}
      : tensor<4x8xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @pool_average_int(%x: tensor<1x4x8x8xi32>) -> tensor<1x4x4x4xi32> {
  // expected-error @+1 {{'kiln.pool' op average and Lp pooling need a float element type}}
  %0 = kiln.pool %x {kind = #kiln.pool_kind<average>, kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>,
                     dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>}
      : tensor<1x4x8x8xi32> -> tensor<1x4x4x4xi32>
  return %0 : tensor<1x4x4x4xi32>
}

// -----

func.func @pool_ceil(%x: tensor<1x4x5x5xf32>) -> tensor<1x4x2x2xf32> {
  // expected-error @+1 {{'kiln.pool' op spatial dimension 0 of the result is 2, the window gives 3}}
  %0 = kiln.pool %x {kind = #kiln.pool_kind<max>, kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>,
                     dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, ceil_mode = true}
      : tensor<1x4x5x5xf32> -> tensor<1x4x2x2xf32>
  return %0 : tensor<1x4x2x2xf32>
}

// -----

func.func @all_reduce_one_rank(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.all_reduce' op ranks = 1 must be at least 2}}
  %0 = kiln.all_reduce %x {ranks = 1 : i64} : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @all_reduce_type(%x: tensor<4xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{'kiln.all_reduce' op requires the same type for all operands and results}}
  %0 = kiln.all_reduce %x {ranks = 2 : i64} : (tensor<4xf32>) -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

func.func @all_reduce_dtype(%x: tensor<4xf16>) -> tensor<4xf16> {
  // expected-error @+1 {{'kiln.all_reduce' op operand #0 must be ranked tensor of 32-bit float or 64-bit float or 32-bit signless integer or 64-bit signless integer values, but got 'tensor<4xf16>'}}
  %0 = kiln.all_reduce %x {ranks = 2 : i64} : (tensor<4xf16>) -> tensor<4xf16>
  return %0 : tensor<4xf16>
}

// -----

func.func @all_reduce_group(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.all_reduce' op group -1 must be an index of the module's kiln.collective_groups (0 or more)}}
  %0 = kiln.all_reduce %x {group = -1 : i64, ranks = 2 : i64} : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @send_one_rank(%x: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.send' op ranks = 1 must be at least 2}}
  kiln.send %x {peer = 0 : i64, ranks = 1 : i64} : tensor<4xf32>
  return
}

// -----

func.func @send_peer(%x: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.send' op peer 2 must lie in [0, ranks = 2)}}
  kiln.send %x {peer = 2 : i64, ranks = 2 : i64} : tensor<4xf32>
  return
}

// -----

func.func @send_dynamic(%x: tensor<?xf32>) {
  // expected-error @+1 {{'kiln.send' op needs a static shape (the receiver sizes its buffer from the type), found 'tensor<?xf32>'}}
  kiln.send %x {peer = 1 : i64, ranks = 2 : i64} : tensor<?xf32>
  return
}

// -----

func.func @send_dtype(%x: tensor<4xi1>) {
  // expected-error @+1 {{'kiln.send' op operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float or 8-bit signless integer or 32-bit signless integer or 64-bit signless integer values, but got 'tensor<4xi1>'}}
  kiln.send %x {peer = 1 : i64, ranks = 2 : i64} : tensor<4xi1>
  return
}

// -----

func.func @recv_peer() -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.recv' op peer -1 must lie in [0, ranks = 2)}}
  %0 = kiln.recv {peer = -1 : i64, ranks = 2 : i64} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @recv_one_rank() -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.recv' op ranks = 1 must be at least 2}}
  %0 = kiln.recv {peer = 0 : i64, ranks = 1 : i64} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @recv_dynamic(%n: index) -> tensor<?xf32> {
  // expected-error @+1 {{'kiln.recv' op needs a static shape (the receiver sizes its buffer from the type), found 'tensor<?xf32>'}}
  %0 = kiln.recv {peer = 0 : i64, ranks = 2 : i64} : tensor<?xf32>
  return %0 : tensor<?xf32>
}
