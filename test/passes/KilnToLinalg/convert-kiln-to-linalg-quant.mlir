// RUN: kiln-opt %s -kiln-convert-kiln-to-linalg -split-input-file | FileCheck %s

// Lowering of kiln.dequantize and kiln.quantize: one parallel linalg.generic
// over the data. The scale (and zero point) are read through one indexing
// map that encodes the granularity: constant 0 results per tensor, the axis
// loop per axis, `axis floordiv block_size` for blocks. No expanded scale
// tensor is built.

//===----------------------------------------------------------------------===//
// kiln.dequantize
//===----------------------------------------------------------------------===//

// Per tensor with a [1] scale and zero point: both read index 0. Signed
// integers convert with sitofp; the zero point is subtracted, then the
// difference is scaled.
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ZERO:.+]] = affine_map<(d0, d1) -> (0)>
// CHECK-LABEL: func @dequantize_per_tensor
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<2x3xi8>, %[[S:[a-z0-9]+]]: tensor<1xf32>, %[[Z:[a-z0-9]+]]: tensor<1xi8>)
// CHECK: %[[INIT:.+]] = tensor.empty() : tensor<2x3xf32>
// CHECK: %[[R:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[ZERO]], #[[ZERO]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[S]], %[[Z]] : tensor<2x3xi8>, tensor<1xf32>, tensor<1xi8>) outs(%[[INIT]] : tensor<2x3xf32>)
// CHECK: ^bb0(%[[XV:.+]]: i8, %[[SV:.+]]: f32, %[[ZV:.+]]: i8, %{{.+}}: f32):
// CHECK: %[[XF:.+]] = arith.sitofp %[[XV]] : i8 to f32
// CHECK: %[[ZF:.+]] = arith.sitofp %[[ZV]] : i8 to f32
// CHECK: %[[D:.+]] = arith.subf %[[XF]], %[[ZF]] : f32
// CHECK: %[[M:.+]] = arith.mulf %[[D]], %[[SV]] : f32
// CHECK: linalg.yield %[[M]] : f32
// CHECK: } -> tensor<2x3xf32>
// CHECK: return %[[R]]
// CHECK-NOT: uitofp
// CHECK-NOT: kiln.dequantize
func.func @dequantize_per_tensor(%x: tensor<2x3xi8>, %s: tensor<1xf32>, %z: tensor<1xi8>) -> tensor<2x3xf32> {
  %0 = kiln.dequantize %x, %s, %z : (tensor<2x3xi8>, tensor<1xf32>, tensor<1xi8>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// Per tensor with rank-0 scale and zero point, unsigned: the maps have no
// results and both integers convert with uitofp.
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[SCALAR:.+]] = affine_map<(d0, d1, d2) -> ()>
// CHECK-LABEL: func @dequantize_unsigned
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[SCALAR]], #[[SCALAR]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%{{.+}}, %{{.+}}, %{{.+}} : tensor<2x3x4xi8>, tensor<f32>, tensor<i8>) outs(%{{.+}} : tensor<2x3x4xf32>)
// CHECK: ^bb0(%[[XV:.+]]: i8, %[[SV:.+]]: f32, %[[ZV:.+]]: i8, %{{.+}}: f32):
// CHECK: %[[XF:.+]] = arith.uitofp %[[XV]] : i8 to f32
// CHECK: %[[ZF:.+]] = arith.uitofp %[[ZV]] : i8 to f32
// CHECK: %[[D:.+]] = arith.subf %[[XF]], %[[ZF]] : f32
// CHECK: arith.mulf %[[D]], %[[SV]] : f32
// CHECK-NOT: sitofp
func.func @dequantize_unsigned(%x: tensor<2x3x4xi8>, %s: tensor<f32>, %z: tensor<i8>) -> tensor<2x3x4xf32> {
  %0 = kiln.dequantize %x, %s, %z {is_unsigned = true} : (tensor<2x3x4xi8>, tensor<f32>, tensor<i8>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// Per axis (axis 1 of a rank-3 input): the scale and zero point are read at
// d1. Unsigned 16-bit.
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[AXIS:.+]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-LABEL: func @dequantize_per_axis
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[AXIS]], #[[AXIS]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%{{.+}}, %{{.+}}, %{{.+}} : tensor<4x3x2xi16>, tensor<3xf32>, tensor<3xi16>) outs(%{{.+}} : tensor<4x3x2xf32>)
// CHECK: arith.uitofp %{{.+}} : i16 to f32
// CHECK: arith.uitofp %{{.+}} : i16 to f32
// CHECK: arith.subf
// CHECK: arith.mulf
func.func @dequantize_per_axis(%x: tensor<4x3x2xi16>, %s: tensor<3xf32>, %z: tensor<3xi16>) -> tensor<4x3x2xf32> {
  %0 = kiln.dequantize %x, %s, %z {axis = 1 : i64, is_unsigned = true} : (tensor<4x3x2xi16>, tensor<3xf32>, tensor<3xi16>) -> tensor<4x3x2xf32>
  return %0 : tensor<4x3x2xf32>
}

// -----

// Per axis along axis 0, no zero point: no subtraction.
// CHECK-DAG: #[[AXIS:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func @dequantize_per_axis_0
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #[[AXIS]], #{{.+}}], iterator_types = ["parallel", "parallel"]} ins(%{{.+}}, %{{.+}} : tensor<5x3xi32>, tensor<5xf32>)
// CHECK: ^bb0(%[[XV:.+]]: i32, %[[SV:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[XF:.+]] = arith.sitofp %[[XV]] : i32 to f32
// CHECK-NOT: arith.subf
// CHECK: %[[M:.+]] = arith.mulf %[[XF]], %[[SV]] : f32
// CHECK: linalg.yield %[[M]] : f32
func.func @dequantize_per_axis_0(%x: tensor<5x3xi32>, %s: tensor<5xf32>) -> tensor<5x3xf32> {
  %0 = kiln.dequantize %x, %s : (tensor<5x3xi32>, tensor<5xf32>) -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}

// -----

// Blocked along axis 1 (10 columns in blocks of 4): the scale and zero
// point map divide d1 by the block size and keep the other loops.
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[BLOCK:.+]] = affine_map<(d0, d1) -> (d0, d1 floordiv 4)>
// CHECK-LABEL: func @dequantize_blocked
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[BLOCK]], #[[BLOCK]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%{{.+}}, %{{.+}}, %{{.+}} : tensor<2x10xi8>, tensor<2x3xf32>, tensor<2x3xi8>) outs(%{{.+}} : tensor<2x10xf32>)
// CHECK: arith.sitofp
// CHECK: arith.sitofp
// CHECK: arith.subf
// CHECK: arith.mulf
// CHECK-NOT: tensor.expand_shape
// CHECK-NOT: linalg.broadcast
func.func @dequantize_blocked(%x: tensor<2x10xi8>, %s: tensor<2x3xf32>, %z: tensor<2x3xi8>) -> tensor<2x10xf32> {
  %0 = kiln.dequantize %x, %s, %z {axis = 1 : i64, block_size = 4 : i64} : (tensor<2x10xi8>, tensor<2x3xf32>, tensor<2x3xi8>) -> tensor<2x10xf32>
  return %0 : tensor<2x10xf32>
}

// -----

// Blocked along axis 0 of a rank-3 input.
// CHECK-DAG: #[[BLOCK:.+]] = affine_map<(d0, d1, d2) -> (d0 floordiv 32, d1, d2)>
// CHECK-LABEL: func @dequantize_blocked_axis_0
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #[[BLOCK]], #{{.+}}], iterator_types = ["parallel", "parallel", "parallel"]} ins(%{{.+}}, %{{.+}} : tensor<64x2x3xi8>, tensor<2x2x3xf32>)
func.func @dequantize_blocked_axis_0(%x: tensor<64x2x3xi8>, %s: tensor<2x2x3xf32>) -> tensor<64x2x3xf32> {
  %0 = kiln.dequantize %x, %s {block_size = 32 : i64} : (tensor<64x2x3xi8>, tensor<2x2x3xf32>) -> tensor<64x2x3xf32>
  return %0 : tensor<64x2x3xf32>
}

// -----

// The arithmetic is in the scale's type, widened to at least f32 (an f16
// scale cannot hold int16 values); the product is then extended or
// truncated to the result type.
// CHECK-LABEL: func @dequantize_result_types
// CHECK: ^bb0(%{{.+}}: i8, %[[H:.+]]: f16, %{{.+}}: f32):
// CHECK: %[[HW:.+]] = arith.extf %[[H]] : f16 to f32
// CHECK: arith.sitofp %{{.+}} : i8 to f32
// CHECK: %[[M:.+]] = arith.mulf %{{.+}}, %[[HW]] : f32
// CHECK: linalg.yield %[[M]] : f32
// CHECK: ^bb0(%{{.+}}: i8, %{{.+}}: f32, %{{.+}}: bf16):
// CHECK: arith.sitofp %{{.+}} : i8 to f32
// CHECK: %[[M2:.+]] = arith.mulf %{{.+}}, %{{.+}} : f32
// CHECK: %[[T:.+]] = arith.truncf %[[M2]] : f32 to bf16
// CHECK: linalg.yield %[[T]] : bf16
func.func @dequantize_result_types(%x: tensor<8xi8>, %h: tensor<f16>, %s: tensor<f32>) -> (tensor<8xf32>, tensor<8xbf16>) {
  %0 = kiln.dequantize %x, %h : (tensor<8xi8>, tensor<f16>) -> tensor<8xf32>
  %1 = kiln.dequantize %x, %s : (tensor<8xi8>, tensor<f32>) -> tensor<8xbf16>
  return %0, %1 : tensor<8xf32>, tensor<8xbf16>
}

//===----------------------------------------------------------------------===//
// kiln.quantize
//===----------------------------------------------------------------------===//

// -----

// int8: divide, round half to even, add the zero point, clamp to
// [-128, 127] (maximumf, then minimumf), convert through i16 and truncate.
// The zero point converts with sitofp.
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[SCALAR:.+]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func @quantize_int8
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<4x8xf32>, %[[S:[a-z0-9]+]]: tensor<f32>, %[[Z:[a-z0-9]+]]: tensor<i8>)
// CHECK: %[[INIT:.+]] = tensor.empty() : tensor<4x8xi8>
// CHECK: %[[R:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[SCALAR]], #[[SCALAR]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[S]], %[[Z]] : tensor<4x8xf32>, tensor<f32>, tensor<i8>) outs(%[[INIT]] : tensor<4x8xi8>)
// CHECK: ^bb0(%[[XV:.+]]: f32, %[[SV:.+]]: f32, %[[ZV:.+]]: i8, %{{.+}}: i8):
// CHECK: %[[Q:.+]] = arith.divf %[[XV]], %[[SV]] : f32
// CHECK: %[[RD:.+]] = math.roundeven %[[Q]] : f32
// CHECK: %[[ZF:.+]] = arith.sitofp %[[ZV]] : i8 to f32
// CHECK: %[[A:.+]] = arith.addf %[[RD]], %[[ZF]] : f32
// CHECK: %[[LO:.+]] = arith.constant -1.280000e+02 : f32
// CHECK: %[[MAX:.+]] = arith.maximumf %[[A]], %[[LO]] : f32
// CHECK: %[[HI:.+]] = arith.constant 1.270000e+02 : f32
// CHECK: %[[MIN:.+]] = arith.minimumf %[[MAX]], %[[HI]] : f32
// CHECK: %[[W:.+]] = arith.fptosi %[[MIN]] : f32 to i16
// CHECK: %[[T:.+]] = arith.trunci %[[W]] : i16 to i8
// CHECK: linalg.yield %[[T]] : i8
// CHECK: } -> tensor<4x8xi8>
// CHECK: return %[[R]]
// CHECK-NOT: kiln.quantize
func.func @quantize_int8(%x: tensor<4x8xf32>, %s: tensor<f32>, %z: tensor<i8>) -> tensor<4x8xi8> {
  %0 = kiln.quantize %x, %s, %z : (tensor<4x8xf32>, tensor<f32>, tensor<i8>) -> tensor<4x8xi8>
  return %0 : tensor<4x8xi8>
}

// -----

// uint8 (is_unsigned on i8): the zero point converts with uitofp and the
// clamp is [0, 255]; 255 survives fptosi to i16 and truncates to the bits
// of 0xFF.
// CHECK-LABEL: func @quantize_uint8
// CHECK: ^bb0(%[[XV:.+]]: f32, %[[SV:.+]]: f32, %[[ZV:.+]]: i8, %{{.+}}: i8):
// CHECK: %[[Q:.+]] = arith.divf %[[XV]], %[[SV]] : f32
// CHECK: %[[RD:.+]] = math.roundeven %[[Q]] : f32
// CHECK: %[[ZF:.+]] = arith.uitofp %[[ZV]] : i8 to f32
// CHECK: %[[A:.+]] = arith.addf %[[RD]], %[[ZF]] : f32
// CHECK: %[[LO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[MAX:.+]] = arith.maximumf %[[A]], %[[LO]] : f32
// CHECK: %[[HI:.+]] = arith.constant 2.550000e+02 : f32
// CHECK: %[[MIN:.+]] = arith.minimumf %[[MAX]], %[[HI]] : f32
// CHECK: %[[W:.+]] = arith.fptosi %[[MIN]] : f32 to i16
// CHECK: arith.trunci %[[W]] : i16 to i8
// CHECK-NOT: sitofp
func.func @quantize_uint8(%x: tensor<4x8xf32>, %s: tensor<f32>, %z: tensor<i8>) -> tensor<4x8xi8> {
  %0 = kiln.quantize %x, %s, %z {is_unsigned = true} : (tensor<4x8xf32>, tensor<f32>, tensor<i8>) -> tensor<4x8xi8>
  return %0 : tensor<4x8xi8>
}

// -----

// int16 per axis, no zero point: clamp to [-32768, 32767], through i32.
// CHECK-DAG: #[[AXIS:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @quantize_int16
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #[[AXIS]], #{{.+}}], iterator_types = ["parallel", "parallel"]} ins(%{{.+}}, %{{.+}} : tensor<4x8xf32>, tensor<8xf32>) outs(%{{.+}} : tensor<4x8xi16>)
// CHECK: %[[Q:.+]] = arith.divf %{{.+}}, %{{.+}} : f32
// CHECK: %[[RD:.+]] = math.roundeven %[[Q]] : f32
// CHECK-NOT: arith.addf
// CHECK: %[[LO:.+]] = arith.constant -3.276800e+04 : f32
// CHECK: %[[MAX:.+]] = arith.maximumf %[[RD]], %[[LO]] : f32
// CHECK: %[[HI:.+]] = arith.constant 3.276700e+04 : f32
// CHECK: %[[MIN:.+]] = arith.minimumf %[[MAX]], %[[HI]] : f32
// CHECK: %[[W:.+]] = arith.fptosi %[[MIN]] : f32 to i32
// CHECK: arith.trunci %[[W]] : i32 to i16
func.func @quantize_int16(%x: tensor<4x8xf32>, %s: tensor<8xf32>) -> tensor<4x8xi16> {
  %0 = kiln.quantize %x, %s {axis = 1 : i64} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi16>
  return %0 : tensor<4x8xi16>
}

// -----

// uint16, blocked along axis 0 (5 rows in blocks of 2): clamp to [0, 65535].
// CHECK-DAG: #[[BLOCK:.+]] = affine_map<(d0, d1) -> (d0 floordiv 2, d1)>
// CHECK-LABEL: func @quantize_uint16_blocked
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #[[BLOCK]], #[[BLOCK]], #{{.+}}], iterator_types = ["parallel", "parallel"]} ins(%{{.+}}, %{{.+}}, %{{.+}} : tensor<5x3xf32>, tensor<3x3xf32>, tensor<3x3xi16>) outs(%{{.+}} : tensor<5x3xi16>)
// CHECK: arith.uitofp %{{.+}} : i16 to f32
// CHECK: arith.constant 0.000000e+00 : f32
// CHECK: arith.constant 6.553500e+04 : f32
// CHECK: arith.fptosi %{{.+}} : f32 to i32
// CHECK: arith.trunci %{{.+}} : i32 to i16
func.func @quantize_uint16_blocked(%x: tensor<5x3xf32>, %s: tensor<3x3xf32>, %z: tensor<3x3xi16>) -> tensor<5x3xi16> {
  %0 = kiln.quantize %x, %s, %z {block_size = 2 : i64, is_unsigned = true} : (tensor<5x3xf32>, tensor<3x3xf32>, tensor<3x3xi16>) -> tensor<5x3xi16>
  return %0 : tensor<5x3xi16>
}

// -----

// int32 computes in f64, so that the bounds -2^31 and 2^31 - 1 are exact:
// the input and the scale are extended, and the result goes through i64.
// CHECK-LABEL: func @quantize_int32
// CHECK: ^bb0(%[[XV:.+]]: f32, %[[SV:.+]]: f32, %[[ZV:.+]]: i32, %{{.+}}: i32):
// CHECK-DAG: %[[XD:.+]] = arith.extf %[[XV]] : f32 to f64
// CHECK-DAG: %[[SD:.+]] = arith.extf %[[SV]] : f32 to f64
// CHECK: %[[Q:.+]] = arith.divf %[[XD]], %[[SD]] : f64
// CHECK: %[[RD:.+]] = math.roundeven %[[Q]] : f64
// CHECK: %[[ZF:.+]] = arith.sitofp %[[ZV]] : i32 to f64
// CHECK: %[[A:.+]] = arith.addf %[[RD]], %[[ZF]] : f64
// CHECK: %[[LO:.+]] = arith.constant 0xC1E0000000000000 : f64
// CHECK: %[[MAX:.+]] = arith.maximumf %[[A]], %[[LO]] : f64
// CHECK: %[[HI:.+]] = arith.constant 0x41DFFFFFFFC00000 : f64
// CHECK: %[[MIN:.+]] = arith.minimumf %[[MAX]], %[[HI]] : f64
// CHECK: %[[W:.+]] = arith.fptosi %[[MIN]] : f64 to i64
// CHECK: %[[T:.+]] = arith.trunci %[[W]] : i64 to i32
// CHECK: linalg.yield %[[T]] : i32
func.func @quantize_int32(%x: tensor<6xf32>, %s: tensor<1xf32>, %z: tensor<1xi32>) -> tensor<6xi32> {
  %0 = kiln.quantize %x, %s, %z : (tensor<6xf32>, tensor<1xf32>, tensor<1xi32>) -> tensor<6xi32>
  return %0 : tensor<6xi32>
}

// -----

// An f16 input with an f16 scale is computed in f32.
// CHECK-LABEL: func @quantize_f16
// CHECK: ^bb0(%[[XV:.+]]: f16, %[[SV:.+]]: f16, %{{.+}}: i8):
// CHECK-DAG: %[[XF:.+]] = arith.extf %[[XV]] : f16 to f32
// CHECK-DAG: %[[SF:.+]] = arith.extf %[[SV]] : f16 to f32
// CHECK: %[[Q:.+]] = arith.divf %[[XF]], %[[SF]] : f32
// CHECK: math.roundeven %[[Q]] : f32
func.func @quantize_f16(%x: tensor<6xf16>, %s: tensor<f16>) -> tensor<6xi8> {
  %0 = kiln.quantize %x, %s : (tensor<6xf16>, tensor<f16>) -> tensor<6xi8>
  return %0 : tensor<6xi8>
}

// -----

// kiln.round (ONNX Round) is math.roundeven: half to even.
// CHECK-LABEL: func @round
// CHECK: linalg.generic
// CHECK: ^bb0(%[[XV:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[R:.+]] = math.roundeven %[[XV]] : f32
// CHECK: linalg.yield %[[R]] : f32
// CHECK-NOT: math.round %
func.func @round(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kiln.round %x : tensor<4xf32>
  return %0 : tensor<4xf32>
}
