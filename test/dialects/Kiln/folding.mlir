// RUN: kiln-opt %s -canonicalize -split-input-file | FileCheck %s

// Constant folding of Kiln ops. Folded values become arith.constant.

//===----------------------------------------------------------------------===//
// Elementwise arithmetic
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func @add_broadcast
// CHECK-NEXT: %[[C:.+]] = arith.constant dense<{{\[}}[11, 22, 33], [14, 25, 36]]> : tensor<2x3xi64>
// CHECK-NEXT: return %[[C]]
func.func @add_broadcast() -> tensor<2x3xi64> {
  %a = arith.constant dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi64>
  %b = arith.constant dense<[10, 20, 30]> : tensor<3xi64>
  %0 = kiln.add %a, %b : (tensor<2x3xi64>, tensor<3xi64>) -> tensor<2x3xi64>
  return %0 : tensor<2x3xi64>
}

// -----

// Both operands stretch: [2,1] - [1,3].
// CHECK-LABEL: func @sub_two_sided_broadcast
// CHECK-NEXT: %[[C:.+]] = arith.constant dense<{{\[}}[9, 8, 7], [19, 18, 17]]> : tensor<2x3xi32>
// CHECK-NEXT: return %[[C]]
func.func @sub_two_sided_broadcast() -> tensor<2x3xi32> {
  %a = arith.constant dense<[[10], [20]]> : tensor<2x1xi32>
  %b = arith.constant dense<[[1, 2, 3]]> : tensor<1x3xi32>
  %0 = kiln.sub %a, %b : (tensor<2x1xi32>, tensor<1x3xi32>) -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}

// -----

// A rank-0 operand broadcasts to every element.
// CHECK-LABEL: func @mul_scalar
// CHECK-NEXT: %[[C:.+]] = arith.constant dense<[3, -6, 9, 0]> : tensor<4xi64>
// CHECK-NEXT: return %[[C]]
func.func @mul_scalar() -> tensor<4xi64> {
  %a = arith.constant dense<[1, -2, 3, 0]> : tensor<4xi64>
  %b = arith.constant dense<3> : tensor<i64>
  %0 = kiln.mul %a, %b : (tensor<4xi64>, tensor<i64>) -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

// Integer division truncates toward zero.
// CHECK-LABEL: func @div_truncates
// CHECK-NEXT: %[[C:.+]] = arith.constant dense<[3, -3, -3, 3]> : tensor<4xi64>
// CHECK-NEXT: return %[[C]]
func.func @div_truncates() -> tensor<4xi64> {
  %a = arith.constant dense<[7, -7, 7, -7]> : tensor<4xi64>
  %b = arith.constant dense<[2, 2, -2, -2]> : tensor<4xi64>
  %0 = kiln.div %a, %b : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

// CHECK-LABEL: func @add_float
// CHECK-NEXT: %[[C:.+]] = arith.constant dense<[1.500000e+00, 3.500000e+00]> : tensor<2xf32>
// CHECK-NEXT: return %[[C]]
func.func @add_float() -> tensor<2xf32> {
  %a = arith.constant dense<[1.0, 3.0]> : tensor<2xf32>
  %b = arith.constant dense<0.5> : tensor<1xf32>
  %0 = kiln.add %a, %b : (tensor<2xf32>, tensor<1xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// GPT-2's score scale, exported as 0 + pow(head_dim, 0.5): a float power of
// constants folds (rounded once to f32), and then the sum does.
// CHECK-LABEL: func @pow_float
// CHECK-NEXT: %[[C:.+]] = arith.constant dense<[4.000000e+00, 1.250000e-01]> : tensor<2xf32>
// CHECK-NEXT: return %[[C]]
func.func @pow_float() -> tensor<2xf32> {
  %a = arith.constant dense<[16.0, 2.0]> : tensor<2xf32>
  %b = arith.constant dense<[0.5, -3.0]> : tensor<2xf32>
  %z = arith.constant dense<0.0> : tensor<f32>
  %0 = kiln.pow %a, %b : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %1 = kiln.add %z, %0 : (tensor<f32>, tensor<2xf32>) -> tensor<2xf32>
  return %1 : tensor<2xf32>
}

// -----

// Integer powers are left to run time.
// CHECK-LABEL: func @pow_int_not_folded
// CHECK: %[[R:.+]] = kiln.pow
// CHECK-NEXT: return %[[R]]
func.func @pow_int_not_folded() -> tensor<2xi32> {
  %a = arith.constant dense<[2, 3]> : tensor<2xi32>
  %b = arith.constant dense<[3, 2]> : tensor<2xi32>
  %0 = kiln.pow %a, %b : (tensor<2xi32>, tensor<2xi32>) -> tensor<2xi32>
  return %0 : tensor<2xi32>
}

// -----

// Division by zero is left to run time.
// CHECK-LABEL: func @div_by_zero_not_folded
// CHECK: %[[R:.+]] = kiln.div
// CHECK-NEXT: return %[[R]]
func.func @div_by_zero_not_folded() -> tensor<2xi32> {
  %a = arith.constant dense<[6, 8]> : tensor<2xi32>
  %b = arith.constant dense<[2, 0]> : tensor<2xi32>
  %0 = kiln.div %a, %b : (tensor<2xi32>, tensor<2xi32>) -> tensor<2xi32>
  return %0 : tensor<2xi32>
}

// -----

// INT_MIN / -1 overflows: not folded either.
// CHECK-LABEL: func @div_overflow_not_folded
// CHECK: kiln.div
func.func @div_overflow_not_folded() -> tensor<1xi8> {
  %a = arith.constant dense<-128> : tensor<1xi8>
  %b = arith.constant dense<-1> : tensor<1xi8>
  %0 = kiln.div %a, %b : (tensor<1xi8>, tensor<1xi8>) -> tensor<1xi8>
  return %0 : tensor<1xi8>
}

// -----

// A non-constant operand blocks folding.
// CHECK-LABEL: func @add_not_constant
// CHECK: kiln.add
func.func @add_not_constant(%x: tensor<3xi64>) -> tensor<3xi64> {
  %b = arith.constant dense<[10, 20, 30]> : tensor<3xi64>
  %0 = kiln.add %x, %b : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
  return %0 : tensor<3xi64>
}

// -----

// Tensors larger than 16384 elements are never folded (weights must not be
// copied by the folder), even when both operands are splats.
// CHECK-LABEL: func @large_not_folded
// CHECK-DAG: arith.constant dense<1.000000e+00> : tensor<128x129xf32>
// CHECK-DAG: arith.constant dense<2.000000e+00> : tensor<128x129xf32>
// CHECK: %[[R:.+]] = kiln.add
// CHECK-NEXT: return %[[R]]
func.func @large_not_folded() -> tensor<128x129xf32> {
  %a = arith.constant dense<1.0> : tensor<128x129xf32>
  %b = arith.constant dense<2.0> : tensor<128x129xf32>
  %0 = kiln.add %a, %b : (tensor<128x129xf32>, tensor<128x129xf32>) -> tensor<128x129xf32>
  return %0 : tensor<128x129xf32>
}

// -----

// 16384 elements exactly is still small enough.
// CHECK-LABEL: func @limit_folded
// CHECK-NEXT: %[[C:.+]] = arith.constant dense<3> : tensor<128x128xi32>
// CHECK-NEXT: return %[[C]]
func.func @limit_folded() -> tensor<128x128xi32> {
  %a = arith.constant dense<1> : tensor<128x128xi32>
  %b = arith.constant dense<2> : tensor<128x128xi32>
  %0 = kiln.add %a, %b : (tensor<128x128xi32>, tensor<128x128xi32>) -> tensor<128x128xi32>
  return %0 : tensor<128x128xi32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.cast
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func @cast_same_type
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
// CHECK-NEXT: return %[[X]]
func.func @cast_same_type(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kiln.cast %x : tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Integer to integer sign-extends or truncates.
// CHECK-LABEL: func @cast_int_to_int
// CHECK-DAG: arith.constant dense<[-1, 300, 7]> : tensor<3xi64>
// CHECK-DAG: arith.constant dense<[-1, 44, 7]> : tensor<3xi8>
func.func @cast_int_to_int() -> (tensor<3xi64>, tensor<3xi8>) {
  %a = arith.constant dense<[-1, 300, 7]> : tensor<3xi32>
  %0 = kiln.cast %a : tensor<3xi32> -> tensor<3xi64>
  %1 = kiln.cast %a : tensor<3xi32> -> tensor<3xi8>
  return %0, %1 : tensor<3xi64>, tensor<3xi8>
}

// -----

// A boolean true becomes 1, not -1 (zero extension).
// CHECK-LABEL: func @cast_bool_to_int
// CHECK-DAG: arith.constant dense<[1, 0]> : tensor<2xi32>
// CHECK-DAG: arith.constant dense<[1.000000e+00, 0.000000e+00]> : tensor<2xf32>
func.func @cast_bool_to_int() -> (tensor<2xi32>, tensor<2xf32>) {
  %a = arith.constant dense<[true, false]> : tensor<2xi1>
  %0 = kiln.cast %a : tensor<2xi1> -> tensor<2xi32>
  %1 = kiln.cast %a : tensor<2xi1> -> tensor<2xf32>
  return %0, %1 : tensor<2xi32>, tensor<2xf32>
}

// -----

// Any nonzero value is true.
// CHECK-LABEL: func @cast_int_to_bool
// CHECK-NEXT: %[[C:.+]] = arith.constant dense<[true, false, true]> : tensor<3xi1>
// CHECK-NEXT: return %[[C]]
func.func @cast_int_to_bool() -> tensor<3xi1> {
  %a = arith.constant dense<[2, 0, -1]> : tensor<3xi32>
  %0 = kiln.cast %a : tensor<3xi32> -> tensor<3xi1>
  return %0 : tensor<3xi1>
}

// -----

// Integers convert to floats as signed values.
// CHECK-LABEL: func @cast_int_to_float
// CHECK-NEXT: %[[C:.+]] = arith.constant dense<[-3.000000e+00, 2.000000e+00]> : tensor<2xf32>
func.func @cast_int_to_float() -> tensor<2xf32> {
  %a = arith.constant dense<[-3, 2]> : tensor<2xi8>
  %0 = kiln.cast %a : tensor<2xi8> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// Float to integer truncates toward zero.
// CHECK-LABEL: func @cast_float_to_int
// CHECK-NEXT: %[[C:.+]] = arith.constant dense<[2, -2, 0, 3]> : tensor<4xi32>
// CHECK-NEXT: return %[[C]]
func.func @cast_float_to_int() -> tensor<4xi32> {
  %a = arith.constant dense<[2.7, -2.7, -0.5, 3.0]> : tensor<4xf32>
  %0 = kiln.cast %a : tensor<4xf32> -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// NaN has no integer value: left to run time.
// CHECK-LABEL: func @cast_nan_not_folded
// CHECK: kiln.cast
func.func @cast_nan_not_folded() -> tensor<1xi32> {
  %a = arith.constant dense<0x7FC00000> : tensor<1xf32>
  %0 = kiln.cast %a : tensor<1xf32> -> tensor<1xi32>
  return %0 : tensor<1xi32>
}

// -----

//===----------------------------------------------------------------------===//
// Shape computations: reshape, concat, slice, gather
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func @reshape_same_type
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xf32>)
// CHECK-NEXT: return %[[X]]
func.func @reshape_same_type(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = kiln.reshape %x : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func @reshape_constant
// CHECK-NEXT: %[[C:.+]] = arith.constant dense<{{\[}}[1, 2], [3, 4], [5, 6]]> : tensor<3x2xi64>
// CHECK-NEXT: return %[[C]]
func.func @reshape_constant() -> tensor<3x2xi64> {
  %a = arith.constant dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi64>
  %0 = kiln.reshape %a : tensor<2x3xi64> -> tensor<3x2xi64>
  return %0 : tensor<3x2xi64>
}

// -----

// CHECK-LABEL: func @reshape_not_constant
// CHECK: kiln.reshape
func.func @reshape_not_constant(%x: tensor<2x3xf32>) -> tensor<6xf32> {
  %0 = kiln.reshape %x : tensor<2x3xf32> -> tensor<6xf32>
  return %0 : tensor<6xf32>
}

// -----

// The shape subgraph of an exported model: Concat of 1-D shape pieces.
// CHECK-LABEL: func @concat_shape
// CHECK-NEXT: %[[C:.+]] = arith.constant dense<[2, 8, -1]> : tensor<3xi64>
// CHECK-NEXT: return %[[C]]
func.func @concat_shape() -> tensor<3xi64> {
  %a = arith.constant dense<[2, 8]> : tensor<2xi64>
  %b = arith.constant dense<-1> : tensor<1xi64>
  %0 = kiln.concat %a, %b {axis = 0 : i64} : (tensor<2xi64>, tensor<1xi64>) -> tensor<3xi64>
  return %0 : tensor<3xi64>
}

// -----

// Concatenation along an inner axis interleaves the rows.
// CHECK-LABEL: func @concat_inner_axis
// CHECK-NEXT: %[[C:.+]] = arith.constant dense<{{\[}}[1, 2, 5], [3, 4, 6]]> : tensor<2x3xi32>
// CHECK-NEXT: return %[[C]]
func.func @concat_inner_axis() -> tensor<2x3xi32> {
  %a = arith.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi32>
  %b = arith.constant dense<[[5], [6]]> : tensor<2x1xi32>
  %0 = kiln.concat %a, %b {axis = 1 : i64} : (tensor<2x2xi32>, tensor<2x1xi32>) -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}

// -----

// CHECK-LABEL: func @concat_single_input
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xf32>)
// CHECK-NEXT: return %[[X]]
func.func @concat_single_input(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = kiln.concat %x {axis = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func @slice_constant
// CHECK-NEXT: %[[C:.+]] = arith.constant dense<{{\[}}[5, 7], [13, 15]]> : tensor<2x2xi64>
// CHECK-NEXT: return %[[C]]
func.func @slice_constant() -> tensor<2x2xi64> {
  %a = arith.constant dense<[[0, 1, 2, 3, 4, 5, 6, 7],
                             [8, 9, 10, 11, 12, 13, 14, 15]]> : tensor<2x8xi64>
  %0 = kiln.slice %a {starts = array<i64: 0, 5>, steps = array<i64: 1, 2>} : tensor<2x8xi64> -> tensor<2x2xi64>
  return %0 : tensor<2x2xi64>
}

// -----

// A negative step walks backwards from the start.
// CHECK-LABEL: func @slice_negative_step
// CHECK-NEXT: %[[C:.+]] = arith.constant dense<[7, 5, 3, 1]> : tensor<4xi64>
// CHECK-NEXT: return %[[C]]
func.func @slice_negative_step() -> tensor<4xi64> {
  %a = arith.constant dense<[0, 1, 2, 3, 4, 5, 6, 7]> : tensor<8xi64>
  %0 = kiln.slice %a {starts = array<i64: 7>, steps = array<i64: -2>} : tensor<8xi64> -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

// The whole tensor with unit steps is the input itself.
// CHECK-LABEL: func @slice_identity
// CHECK-SAME: (%[[X:.+]]: tensor<4x8xf32>)
// CHECK-NEXT: return %[[X]]
func.func @slice_identity(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = kiln.slice %x {starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : tensor<4x8xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Reversing the whole tensor keeps the type but is not the identity.
// CHECK-LABEL: func @slice_reverse_not_identity
// CHECK: kiln.slice
func.func @slice_reverse_not_identity(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kiln.slice %x {starts = array<i64: 3>, steps = array<i64: -1>} : tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Shape -> Gather: pick one dimension of a shape vector.
// CHECK-LABEL: func @gather_shape_dim
// CHECK-NEXT: %[[C:.+]] = arith.constant dense<8> : tensor<i64>
// CHECK-NEXT: return %[[C]]
func.func @gather_shape_dim() -> tensor<i64> {
  %shape = arith.constant dense<[2, 8, 64]> : tensor<3xi64>
  %i = arith.constant dense<1> : tensor<i64>
  %0 = kiln.gather %shape, %i {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  return %0 : tensor<i64>
}

// -----

// Negative indices count from the end.
// CHECK-LABEL: func @gather_negative_index
// CHECK-NEXT: %[[C:.+]] = arith.constant dense<[64, 2]> : tensor<2xi64>
// CHECK-NEXT: return %[[C]]
func.func @gather_negative_index() -> tensor<2xi64> {
  %shape = arith.constant dense<[2, 8, 64]> : tensor<3xi64>
  %i = arith.constant dense<[-1, 0]> : tensor<2xi32>
  %0 = kiln.gather %shape, %i {axis = 0 : i64} : (tensor<3xi64>, tensor<2xi32>) -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

// Gathering columns of a matrix.
// CHECK-LABEL: func @gather_inner_axis
// CHECK-NEXT: %[[C:.+]] = arith.constant dense<{{\[}}[3, 1], [6, 4]]> : tensor<2x2xi32>
// CHECK-NEXT: return %[[C]]
func.func @gather_inner_axis() -> tensor<2x2xi32> {
  %a = arith.constant dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi32>
  %i = arith.constant dense<[2, 0]> : tensor<2xi64>
  %0 = kiln.gather %a, %i {axis = 1 : i64} : (tensor<2x3xi32>, tensor<2xi64>) -> tensor<2x2xi32>
  return %0 : tensor<2x2xi32>
}

// -----

// Out-of-range indices are clamped at run time, not folded.
// CHECK-LABEL: func @gather_out_of_range_not_folded
// CHECK: kiln.gather
func.func @gather_out_of_range_not_folded() -> tensor<1xi64> {
  %shape = arith.constant dense<[2, 8, 64]> : tensor<3xi64>
  %i = arith.constant dense<3> : tensor<1xi64>
  %0 = kiln.gather %shape, %i {axis = 0 : i64} : (tensor<3xi64>, tensor<1xi64>) -> tensor<1xi64>
  return %0 : tensor<1xi64>
}

// -----

// A whole shape subgraph folds away: Shape -> Gather -> Mul -> Concat.
// CHECK-LABEL: func @shape_subgraph
// CHECK-NOT: kiln.
// CHECK: %[[C:.+]] = arith.constant dense<[16, -1]> : tensor<2xi64>
// CHECK-NOT: kiln.
// CHECK: return %[[C]]
func.func @shape_subgraph() -> tensor<2xi64> {
  %shape = arith.constant dense<[2, 8, 64]> : tensor<3xi64>
  %i = arith.constant dense<[0]> : tensor<1xi64>
  %j = arith.constant dense<[1]> : tensor<1xi64>
  %d0 = kiln.gather %shape, %i {axis = 0 : i64} : (tensor<3xi64>, tensor<1xi64>) -> tensor<1xi64>
  %d1 = kiln.gather %shape, %j {axis = 0 : i64} : (tensor<3xi64>, tensor<1xi64>) -> tensor<1xi64>
  %rows = kiln.mul %d0, %d1 : (tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
  %minus1 = arith.constant dense<-1> : tensor<1xi64>
  %target = kiln.concat %rows, %minus1 {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  return %target : tensor<2xi64>
}

// -----

// Shape arithmetic exported graphs do with comparisons, selects and logic.
// CHECK-LABEL: func @fold_compare_select
// CHECK-DAG: %[[R:.+]] = arith.constant dense<[4, 0, 6]> : tensor<3xi64>
// CHECK-DAG: %[[B:.+]] = arith.constant dense<[false, true, false]> : tensor<3xi1>
// CHECK: return %[[R]], %[[B]]
func.func @fold_compare_select() -> (tensor<3xi64>, tensor<3xi1>) {
  %a = arith.constant dense<[4, 5, 6]> : tensor<3xi64>
  %z = arith.constant dense<0> : tensor<i64>
  %five = arith.constant dense<5> : tensor<i64>
  %c = kiln.compare ne, %a, %five : (tensor<3xi64>, tensor<i64>) -> tensor<3xi1>
  %r = kiln.select %c, %a, %z : (tensor<3xi1>, tensor<3xi64>, tensor<i64>) -> tensor<3xi64>
  %n = kiln.not %c : tensor<3xi1>
  %t = arith.constant dense<true> : tensor<i1>
  %b = kiln.and %n, %t : (tensor<3xi1>, tensor<i1>) -> tensor<3xi1>
  return %r, %b : tensor<3xi64>, tensor<3xi1>
}

// -----

// rem truncates like C; max/min order i1 as unsigned; neg, broadcast and
// transpose fold too.
// CHECK-LABEL: func @fold_rem_max_neg_broadcast_transpose
// CHECK-DAG: arith.constant dense<[1, -1]> : tensor<2xi32>
// CHECK-DAG: arith.constant dense<true> : tensor<1xi1>
// CHECK-DAG: arith.constant dense<[-1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-DAG: arith.constant dense<{{\[}}[1, 1], [2, 2]]> : tensor<2x2xi64>
// CHECK-DAG: arith.constant dense<{{\[}}[1, 3], [2, 4]]> : tensor<2x2xi64>
// CHECK-NOT: kiln.
func.func @fold_rem_max_neg_broadcast_transpose() -> (tensor<2xi32>, tensor<1xi1>, tensor<2xf32>, tensor<2x2xi64>, tensor<2x2xi64>) {
  %a = arith.constant dense<[7, -7]> : tensor<2xi32>
  %b = arith.constant dense<3> : tensor<i32>
  %r = kiln.rem %a, %b : (tensor<2xi32>, tensor<i32>) -> tensor<2xi32>
  %t = arith.constant dense<true> : tensor<1xi1>
  %f = arith.constant dense<false> : tensor<1xi1>
  %m = kiln.max %t, %f : (tensor<1xi1>, tensor<1xi1>) -> tensor<1xi1>
  %x = arith.constant dense<[1.0, -2.0]> : tensor<2xf32>
  %n = kiln.neg %x : tensor<2xf32>
  %col = arith.constant dense<[[1], [2]]> : tensor<2x1xi64>
  %bc = kiln.broadcast %col : tensor<2x1xi64> -> tensor<2x2xi64>
  %sq = arith.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi64>
  %tr = kiln.transpose %sq {permutation = array<i64: 1, 0>} : tensor<2x2xi64> -> tensor<2x2xi64>
  return %r, %m, %n, %bc, %tr : tensor<2xi32>, tensor<1xi1>, tensor<2xf32>, tensor<2x2xi64>, tensor<2x2xi64>
}

// -----

// Float to bool: nonzero (NaN included) is true.
// CHECK-LABEL: func @cast_float_to_bool
// CHECK-NEXT: %[[C:.+]] = arith.constant dense<[false, true, true, false]> : tensor<4xi1>
// CHECK-NEXT: return %[[C]]
func.func @cast_float_to_bool() -> tensor<4xi1> {
  %a = arith.constant dense<[0.0, 2.5, 0x7FC00000, -0.0]> : tensor<4xf32>
  %0 = kiln.cast %a : tensor<4xf32> -> tensor<4xi1>
  return %0 : tensor<4xi1>
}
