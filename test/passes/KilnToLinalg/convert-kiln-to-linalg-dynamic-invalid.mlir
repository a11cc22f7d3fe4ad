// RUN: kiln-opt %s -split-input-file -kiln-convert-kiln-to-linalg -verify-diagnostics

// A dynamic size that does not follow from the operands is reported on the
// op (the conversion then reports the op it could not legalize).

// A stretched size-1 dimension: the `?` is not the input's size.
func.func @broadcast_to_unknown(%x: tensor<3x1xf32>) -> tensor<3x?xf32> {
  // expected-error @+2 {{failed to legalize operation 'kiln.broadcast'}}
  // expected-error @+1 {{'kiln.broadcast' op cannot be lowered: result 0 has type 'tensor<3x?xf32>', and its dynamic dimensions (1) do not follow from the operands' shapes; give them static sizes}}
  %0 = kiln.broadcast %x : tensor<3x1xf32> -> tensor<3x?xf32>
  return %0 : tensor<3x?xf32>
}

// -----

// Two dynamic sizes regrouped from one: their split is not in the operand.
func.func @reshape_split_unknown(%x: tensor<?x64xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+2 {{failed to legalize operation 'kiln.reshape'}}
  // expected-error @+1 {{'kiln.reshape' op cannot be lowered: result 0 has type 'tensor<?x?x64xf32>', and its dynamic dimensions (0, 1) do not follow from the operands' shapes}}
  %0 = kiln.reshape %x : tensor<?x64xf32> -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}
