// RUN: kiln-opt %s --kiln-convert-subbyte-boundary-to-bytes -split-input-file | FileCheck %s

// kiln-convert-subbyte-boundary-to-bytes gives the entry function's i4/i2/f4E2M1FN
// arguments and results their artifact layouts:
//   - a weight (an argument with kiln.weight) becomes a packed tensor<P x i8>
//     (8 / bits elements a byte, element 0 in the low bits), unpacked by a
//     linalg.generic that reads byte `linear index floordiv (8 / bits)` and
//     shifts by `(linear index mod (8 / bits)) * bits`;
//   - other arguments (inputs) become one i8 per element, truncated back;
//   - results become one i8 per element: int4/int2 sign-extend, uint4 and
//     uint2 (kiln.dtype 21 and 25) and fp4 codes (bitcast to i4) zero-extend.
// Other arguments, results and functions are left alone.

// A packed int4 weight: 24 elements in 12 bytes. Its uses read the unpacked
// tensor; kiln.weight keeps the logical value for the artifact writer.
// CHECK-DAG: #[[BYTE:.+]] = affine_map<(d0, d1) -> (d0 * 3 + d1 floordiv 2)>
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[W:.+]]: tensor<12xi8> {kiln.weight = dense<1> : tensor<4x6xi4>},
// CHECK-SAME: %[[S:.+]]: tensor<f32>) -> tensor<4x6xf32>
// CHECK: %[[INIT:.+]] = tensor.empty() : tensor<4x6xi4>
// CHECK: %[[UNPACKED:.+]] = linalg.generic {indexing_maps = [#[[BYTE]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[W]] : tensor<12xi8>) outs(%[[INIT]] : tensor<4x6xi4>)
// CHECK: ^bb0(%[[BYTEV:.+]]: i8, %{{.+}}: i4):
// CHECK-DAG: linalg.index 0 : index
// CHECK-DAG: linalg.index 1 : index
// CHECK: %[[PERBYTE:.+]] = arith.constant 2 : index
// CHECK-NEXT: %[[SLOT:.+]] = arith.remui %{{.+}}, %[[PERBYTE]] : index
// CHECK-NEXT: %[[WIDTH:.+]] = arith.constant 4 : index
// CHECK-NEXT: %[[SHIFT:.+]] = arith.muli %[[SLOT]], %[[WIDTH]] : index
// CHECK-NEXT: %[[SHIFT8:.+]] = arith.index_cast %[[SHIFT]] : index to i8
// CHECK-NEXT: %[[SHIFTED:.+]] = arith.shrui %[[BYTEV]], %[[SHIFT8]] : i8
// CHECK-NEXT: %[[BITS:.+]] = arith.trunci %[[SHIFTED]] : i8 to i4
// CHECK-NEXT: linalg.yield %[[BITS]] : i4
// CHECK: } -> tensor<4x6xi4>
// CHECK: %[[R:.+]] = kiln.dequantize %[[UNPACKED]], %[[S]] : (tensor<4x6xi4>, tensor<f32>) -> tensor<4x6xf32>
// CHECK: return %[[R]] : tensor<4x6xf32>
func.func @main(%w: tensor<4x6xi4> {kiln.weight = dense<1> : tensor<4x6xi4>}, %s: tensor<f32>) -> tensor<4x6xf32> {
  %0 = kiln.dequantize %w, %s : (tensor<4x6xi4>, tensor<f32>) -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

// An odd element count (15 int4 values) rounds up to 8 bytes; the byte map
// keeps the full linear index, (d0 * 5 + d1) floordiv 2.
// CHECK-DAG: #[[BYTE:.+]] = affine_map<(d0, d1) -> ((d0 * 5 + d1) floordiv 2)>
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[W:.+]]: tensor<8xi8> {kiln.weight = dense<-3> : tensor<3x5xi4>}
// CHECK: linalg.generic {indexing_maps = [#[[BYTE]], #{{.+}}], {{.*}} ins(%[[W]] : tensor<8xi8>) outs(%{{.+}} : tensor<3x5xi4>)
func.func @main(%w: tensor<3x5xi4> {kiln.weight = dense<-3> : tensor<3x5xi4>}, %s: tensor<f32>) -> tensor<3x5xf32> {
  %0 = kiln.dequantize %w, %s : (tensor<3x5xi4>, tensor<f32>) -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}

// -----

// An int2 weight packs four elements a byte: 12 elements in 3 bytes, the
// shift is (index mod 4) * 2.
// CHECK-DAG: #[[BYTE:.+]] = affine_map<(d0, d1) -> ((d0 * 6 + d1) floordiv 4)>
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[W:.+]]: tensor<3xi8> {kiln.weight = dense<1> : tensor<2x6xi2>}
// CHECK: linalg.generic {indexing_maps = [#[[BYTE]], #{{.+}}], {{.*}} ins(%[[W]] : tensor<3xi8>) outs(%{{.+}} : tensor<2x6xi2>)
// CHECK: ^bb0(%[[BYTEV:.+]]: i8, %{{.+}}: i2):
// CHECK: %[[PERBYTE:.+]] = arith.constant 4 : index
// CHECK-NEXT: %[[SLOT:.+]] = arith.remui %{{.+}}, %[[PERBYTE]] : index
// CHECK-NEXT: %[[WIDTH:.+]] = arith.constant 2 : index
// CHECK-NEXT: %[[SHIFT:.+]] = arith.muli %[[SLOT]], %[[WIDTH]] : index
// CHECK-NEXT: %[[SHIFT8:.+]] = arith.index_cast %[[SHIFT]] : index to i8
// CHECK-NEXT: %[[SHIFTED:.+]] = arith.shrui %[[BYTEV]], %[[SHIFT8]] : i8
// CHECK-NEXT: %[[BITS:.+]] = arith.trunci %[[SHIFTED]] : i8 to i2
// CHECK-NEXT: linalg.yield %[[BITS]] : i2
func.func @main(%w: tensor<2x6xi2> {kiln.weight = dense<1> : tensor<2x6xi2>}, %s: tensor<f32>) -> tensor<2x6xf32> {
  %0 = kiln.dequantize %w, %s : (tensor<2x6xi2>, tensor<f32>) -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

// A packed fp4 weight: the unpacked bits are bitcast to f4E2M1FN.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[W:.+]]: tensor<4xi8> {kiln.weight = dense<1.000000e+00> : tensor<2x4xf4E2M1FN>}
// CHECK: linalg.generic {{.*}} ins(%[[W]] : tensor<4xi8>) outs(%{{.+}} : tensor<2x4xf4E2M1FN>)
// CHECK: %[[BITS:.+]] = arith.trunci %{{.+}} : i8 to i4
// CHECK: %[[F:.+]] = arith.bitcast %[[BITS]] : i4 to f4E2M1FN
// CHECK: linalg.yield %[[F]] : f4E2M1FN
func.func @main(%w: tensor<2x4xf4E2M1FN> {kiln.weight = dense<1.0> : tensor<2x4xf4E2M1FN>}, %s: tensor<2x1xf8E8M0FNU>) -> tensor<2x4xf32> {
  %0 = kiln.dequantize %w, %s {block_shape = array<i64: 1, 4>} : (tensor<2x4xf4E2M1FN>, tensor<2x1xf8E8M0FNU>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// An int4 input holds one element a byte: an identity-mapped generic
// truncates each i8 back to i4. An f32 input is left alone.
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.+]]: tensor<6xi8>, %[[S:.+]]: tensor<f32>) -> tensor<6xf32>
// CHECK: %[[INIT:.+]] = tensor.empty() : tensor<6xi4>
// CHECK: %[[X4:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[ID]]], iterator_types = ["parallel"]} ins(%[[X]] : tensor<6xi8>) outs(%[[INIT]] : tensor<6xi4>)
// CHECK: ^bb0(%[[V:.+]]: i8, %{{.+}}: i4):
// CHECK-NEXT: %[[T:.+]] = arith.trunci %[[V]] : i8 to i4
// CHECK-NEXT: linalg.yield %[[T]] : i4
// CHECK: kiln.dequantize %[[X4]], %[[S]]
func.func @main(%x: tensor<6xi4>, %s: tensor<f32>) -> tensor<6xf32> {
  %0 = kiln.dequantize %x, %s : (tensor<6xi4>, tensor<f32>) -> tensor<6xf32>
  return %0 : tensor<6xf32>
}

// -----

// Results: an int4 result sign-extends, a uint4 one ({kiln.dtype = 21})
// and a uint2 one ({kiln.dtype = 25}) zero-extend, an fp4 result is
// bitcast to its i4 code and zero-extended. The f32 result is untouched.
// CHECK-LABEL: func.func @main
// CHECK-SAME: -> (tensor<4xi8>, tensor<4xi8> {kiln.dtype = 21 : i32}, tensor<4xi8> {kiln.dtype = 25 : i32}, tensor<2x2xi8>, tensor<4xf32>)
// CHECK: %[[I4:.+]] = kiln.quantize %{{.+}}, %{{.+}} : (tensor<4xf32>, tensor<f32>) -> tensor<4xi4>
// CHECK: %[[U4:.+]] = kiln.quantize %{{.+}}, %{{.+}} {is_unsigned = true} : (tensor<4xf32>, tensor<f32>) -> tensor<4xi4>
// CHECK: %[[U2:.+]] = kiln.quantize %{{.+}}, %{{.+}} {is_unsigned = true} : (tensor<4xf32>, tensor<f32>) -> tensor<4xi2>
// CHECK: %[[F4:.+]] = kiln.quantize %{{.+}}, %{{.+}} : (tensor<2x2xf32>, tensor<f32>) -> tensor<2x2xf4E2M1FN>
// CHECK: %[[R0:.+]] = linalg.generic {{.*}} ins(%[[I4]] : tensor<4xi4>) outs(%{{.+}} : tensor<4xi8>)
// CHECK-NEXT: ^bb0(%[[A:.+]]: i4, %{{.+}}: i8):
// CHECK-NEXT: %[[E:.+]] = arith.extsi %[[A]] : i4 to i8
// CHECK-NEXT: linalg.yield %[[E]] : i8
// CHECK: %[[R1:.+]] = linalg.generic {{.*}} ins(%[[U4]] : tensor<4xi4>) outs(%{{.+}} : tensor<4xi8>)
// CHECK-NEXT: ^bb0(%[[A:.+]]: i4, %{{.+}}: i8):
// CHECK-NEXT: %[[E:.+]] = arith.extui %[[A]] : i4 to i8
// CHECK-NEXT: linalg.yield %[[E]] : i8
// CHECK: %[[R2:.+]] = linalg.generic {{.*}} ins(%[[U2]] : tensor<4xi2>) outs(%{{.+}} : tensor<4xi8>)
// CHECK-NEXT: ^bb0(%[[A:.+]]: i2, %{{.+}}: i8):
// CHECK-NEXT: %[[E:.+]] = arith.extui %[[A]] : i2 to i8
// CHECK-NEXT: linalg.yield %[[E]] : i8
// CHECK: %[[R3:.+]] = linalg.generic {{.*}} ins(%[[F4]] : tensor<2x2xf4E2M1FN>) outs(%{{.+}} : tensor<2x2xi8>)
// CHECK-NEXT: ^bb0(%[[A:.+]]: f4E2M1FN, %{{.+}}: i8):
// CHECK-NEXT: %[[B:.+]] = arith.bitcast %[[A]] : f4E2M1FN to i4
// CHECK-NEXT: %[[E:.+]] = arith.extui %[[B]] : i4 to i8
// CHECK-NEXT: linalg.yield %[[E]] : i8
// CHECK: return %[[R0]], %[[R1]], %[[R2]], %[[R3]], %{{.+}} : tensor<4xi8>, tensor<4xi8>, tensor<4xi8>, tensor<2x2xi8>, tensor<4xf32>
func.func @main(%x: tensor<4xf32>, %y: tensor<2x2xf32>, %s: tensor<f32>)
    -> (tensor<4xi4>, tensor<4xi4> {kiln.dtype = 21 : i32}, tensor<4xi2> {kiln.dtype = 25 : i32}, tensor<2x2xf4E2M1FN>, tensor<4xf32>) {
  %0 = kiln.quantize %x, %s : (tensor<4xf32>, tensor<f32>) -> tensor<4xi4>
  %1 = kiln.quantize %x, %s {is_unsigned = true} : (tensor<4xf32>, tensor<f32>) -> tensor<4xi4>
  %2 = kiln.quantize %x, %s {is_unsigned = true} : (tensor<4xf32>, tensor<f32>) -> tensor<4xi2>
  %3 = kiln.quantize %y, %s : (tensor<2x2xf32>, tensor<f32>) -> tensor<2x2xf4E2M1FN>
  return %0, %1, %2, %3, %x : tensor<4xi4>, tensor<4xi4>, tensor<4xi2>, tensor<2x2xf4E2M1FN>, tensor<4xf32>
}

// -----

// Only the entry function changes; i8 and wider types are never touched.
// CHECK-LABEL: func.func @helper
// CHECK-SAME: (%{{.+}}: tensor<4xi4>) -> tensor<4xi4>
// CHECK-NOT: linalg.generic
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%{{.+}}: tensor<4xi8> {kiln.weight = dense<1> : tensor<4xi8>}) -> tensor<4xi8>
// CHECK-NOT: linalg.generic
func.func @helper(%x: tensor<4xi4>) -> tensor<4xi4> {
  return %x : tensor<4xi4>
}
func.func @main(%w: tensor<4xi8> {kiln.weight = dense<1> : tensor<4xi8>}) -> tensor<4xi8> {
  return %w : tensor<4xi8>
}
