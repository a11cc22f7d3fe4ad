// RUN: kiln-opt %s -kiln-convert-kiln-to-linalg -split-input-file | FileCheck %s

// kiln-convert-kiln-to-linalg on kiln.dequantize/kiln.quantize with fp8/fp4/int4
// storage and N-D block scales (lower-quant.mlir covers the integer and
// block_size forms). block_shape reads the scale (and zero point) through
// `d floordiv block` for each dimension whose block is larger than 1.
// fp8/fp4 values and e8m0 scales are extended with arith.extf (which
// kiln-expand-small-floats implements later); a quantize to fp8/fp4 is
// `x / scale (+ zero_point)` in f32 followed by one arith.truncf, with no
// roundeven or clamp (the truncation rounds and saturates).

// fp8 e4m3fn values with an MXFP-style e8m0 scale per [1, 32].
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[BLOCK:.+]] = affine_map<(d0, d1) -> (d0, d1 floordiv 32)>
// CHECK-LABEL: func @dequantize_fp8_e8m0_blocks
// CHECK-SAME: (%[[X:.+]]: tensor<4x64xf8E4M3FN>, %[[S:.+]]: tensor<4x2xf8E8M0FNU>)
// CHECK: %[[INIT:.+]] = tensor.empty() : tensor<4x64xf32>
// CHECK: %[[R:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[BLOCK]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[S]] : tensor<4x64xf8E4M3FN>, tensor<4x2xf8E8M0FNU>) outs(%[[INIT]] : tensor<4x64xf32>)
// CHECK: ^bb0(%[[XV:.+]]: f8E4M3FN, %[[SV:.+]]: f8E8M0FNU, %{{.+}}: f32):
// CHECK-DAG: %[[SF:.+]] = arith.extf %[[SV]] : f8E8M0FNU to f32
// CHECK-DAG: %[[XF:.+]] = arith.extf %[[XV]] : f8E4M3FN to f32
// CHECK: %[[M:.+]] = arith.mulf %[[XF]], %[[SF]] : f32
// CHECK-NEXT: linalg.yield %[[M]] : f32
// CHECK: return %[[R]]
// CHECK-NOT: sitofp
// CHECK-NOT: kiln.dequantize
func.func @dequantize_fp8_e8m0_blocks(%x: tensor<4x64xf8E4M3FN>, %s: tensor<4x2xf8E8M0FNU>) -> tensor<4x64xf32> {
  %0 = kiln.dequantize %x, %s {block_shape = array<i64: 1, 32>} : (tensor<4x64xf8E4M3FN>, tensor<4x2xf8E8M0FNU>) -> tensor<4x64xf32>
  return %0 : tensor<4x64xf32>
}

// -----

// 128x128 blocks over both dimensions (a partial last row block); an f64
// scale keeps the product in f64, rounded once to bf16.
// CHECK-DAG: #[[BLOCK:.+]] = affine_map<(d0, d1) -> (d0 floordiv 128, d1 floordiv 128)>
// CHECK-LABEL: func @dequantize_fp8_2d_blocks
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #[[BLOCK]], #{{.+}}], {{.*}} ins(%{{.+}}, %{{.+}} : tensor<300x256xf8E5M2>, tensor<3x2xf64>) outs(%{{.+}} : tensor<300x256xbf16>)
// CHECK: ^bb0(%[[XV:.+]]: f8E5M2, %[[SV:.+]]: f64, %{{.+}}: bf16):
// CHECK-NEXT: %[[XF:.+]] = arith.extf %[[XV]] : f8E5M2 to f64
// CHECK-NEXT: %[[M:.+]] = arith.mulf %[[XF]], %[[SV]] : f64
// CHECK-NEXT: %[[T:.+]] = arith.truncf %[[M]] : f64 to bf16
// CHECK-NEXT: linalg.yield %[[T]] : bf16
func.func @dequantize_fp8_2d_blocks(%x: tensor<300x256xf8E5M2>, %s: tensor<3x2xf64>) -> tensor<300x256xbf16> {
  %0 = kiln.dequantize %x, %s {block_shape = array<i64: 128, 128>} : (tensor<300x256xf8E5M2>, tensor<3x2xf64>) -> tensor<300x256xbf16>
  return %0 : tensor<300x256xbf16>
}

// -----

// uint4 with an e8m0 block scale and a zero point read through the same
// block map; integers still convert with uitofp.
// CHECK-DAG: #[[BLOCK:.+]] = affine_map<(d0, d1) -> (d0, d1 floordiv 32)>
// CHECK-LABEL: func @dequantize_uint4_e8m0_zero_point
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #[[BLOCK]], #[[BLOCK]], #{{.+}}], {{.*}} ins(%{{.+}}, %{{.+}}, %{{.+}} : tensor<4x64xi4>, tensor<4x2xf8E8M0FNU>, tensor<4x2xi4>) outs(%{{.+}} : tensor<4x64xf16>)
// CHECK: ^bb0(%[[XV:.+]]: i4, %[[SV:.+]]: f8E8M0FNU, %[[ZV:.+]]: i4, %{{.+}}: f16):
// CHECK-DAG: %[[SF:.+]] = arith.extf %[[SV]] : f8E8M0FNU to f32
// CHECK-DAG: %[[XF:.+]] = arith.uitofp %[[XV]] : i4 to f32
// CHECK-DAG: %[[ZF:.+]] = arith.uitofp %[[ZV]] : i4 to f32
// CHECK: %[[D:.+]] = arith.subf %[[XF]], %[[ZF]] : f32
// CHECK-NEXT: %[[M:.+]] = arith.mulf %[[D]], %[[SF]] : f32
// CHECK-NEXT: %[[T:.+]] = arith.truncf %[[M]] : f32 to f16
// CHECK-NEXT: linalg.yield %[[T]] : f16
func.func @dequantize_uint4_e8m0_zero_point(%x: tensor<4x64xi4>, %s: tensor<4x2xf8E8M0FNU>, %z: tensor<4x2xi4>) -> tensor<4x64xf16> {
  %0 = kiln.dequantize %x, %s, %z {block_shape = array<i64: 1, 32>, is_unsigned = true} : (tensor<4x64xi4>, tensor<4x2xf8E8M0FNU>, tensor<4x2xi4>) -> tensor<4x64xf16>
  return %0 : tensor<4x64xf16>
}

// -----

// Quantize bf16 to fp4 with an e8m0 scale per [1, 32]: both extended to
// f32, divided, truncated to f4E2M1FN.
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[BLOCK:.+]] = affine_map<(d0, d1) -> (d0, d1 floordiv 32)>
// CHECK-LABEL: func @quantize_fp4
// CHECK-SAME: (%[[X:.+]]: tensor<4x64xbf16>, %[[S:.+]]: tensor<4x2xf8E8M0FNU>)
// CHECK: %[[INIT:.+]] = tensor.empty() : tensor<4x64xf4E2M1FN>
// CHECK: %[[R:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[BLOCK]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[S]] : tensor<4x64xbf16>, tensor<4x2xf8E8M0FNU>) outs(%[[INIT]] : tensor<4x64xf4E2M1FN>)
// CHECK: ^bb0(%[[XV:.+]]: bf16, %[[SV:.+]]: f8E8M0FNU, %{{.+}}: f4E2M1FN):
// CHECK-DAG: %[[SF:.+]] = arith.extf %[[SV]] : f8E8M0FNU to f32
// CHECK-DAG: %[[XF:.+]] = arith.extf %[[XV]] : bf16 to f32
// CHECK: %[[Q:.+]] = arith.divf %[[XF]], %[[SF]] : f32
// CHECK-NEXT: %[[T:.+]] = arith.truncf %[[Q]] : f32 to f4E2M1FN
// CHECK-NEXT: linalg.yield %[[T]] : f4E2M1FN
// CHECK: return %[[R]]
// CHECK-NOT: math.roundeven
// CHECK-NOT: arith.minimumf
// CHECK-NOT: fptosi
func.func @quantize_fp4(%x: tensor<4x64xbf16>, %s: tensor<4x2xf8E8M0FNU>) -> tensor<4x64xf4E2M1FN> {
  %0 = kiln.quantize %x, %s {block_shape = array<i64: 1, 32>} : (tensor<4x64xbf16>, tensor<4x2xf8E8M0FNU>) -> tensor<4x64xf4E2M1FN>
  return %0 : tensor<4x64xf4E2M1FN>
}

// -----

// Quantize to fp8 in 128x128 blocks with an fp8 zero point: added after
// the division, before the one truncation.
// CHECK-DAG: #[[BLOCK:.+]] = affine_map<(d0, d1) -> (d0 floordiv 128, d1 floordiv 128)>
// CHECK-LABEL: func @quantize_fp8_zero_point
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #[[BLOCK]], #[[BLOCK]], #{{.+}}], {{.*}} ins(%{{.+}}, %{{.+}}, %{{.+}} : tensor<256x256xf32>, tensor<2x2xf32>, tensor<2x2xf8E4M3FN>) outs(%{{.+}} : tensor<256x256xf8E4M3FN>)
// CHECK: ^bb0(%[[XV:.+]]: f32, %[[SV:.+]]: f32, %[[ZV:.+]]: f8E4M3FN, %{{.+}}: f8E4M3FN):
// CHECK-NEXT: %[[Q:.+]] = arith.divf %[[XV]], %[[SV]] : f32
// CHECK-NEXT: %[[ZF:.+]] = arith.extf %[[ZV]] : f8E4M3FN to f32
// CHECK-NEXT: %[[A:.+]] = arith.addf %[[Q]], %[[ZF]] : f32
// CHECK-NEXT: %[[T:.+]] = arith.truncf %[[A]] : f32 to f8E4M3FN
// CHECK-NEXT: linalg.yield %[[T]] : f8E4M3FN
func.func @quantize_fp8_zero_point(%x: tensor<256x256xf32>, %s: tensor<2x2xf32>, %z: tensor<2x2xf8E4M3FN>) -> tensor<256x256xf8E4M3FN> {
  %0 = kiln.quantize %x, %s, %z {block_shape = array<i64: 128, 128>} : (tensor<256x256xf32>, tensor<2x2xf32>, tensor<2x2xf8E4M3FN>) -> tensor<256x256xf8E4M3FN>
  return %0 : tensor<256x256xf8E4M3FN>
}

// -----

// Quantize to int4 with block_shape: the integer path (roundeven, clamp to
// [-8, 7], fptosi through i16, trunci), the scale read per block.
// CHECK-DAG: #[[BLOCK:.+]] = affine_map<(d0, d1) -> (d0, d1 floordiv 32)>
// CHECK-LABEL: func @quantize_int4_block_shape
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #[[BLOCK]], #{{.+}}], {{.*}} outs(%{{.+}} : tensor<4x64xi4>)
// CHECK: math.roundeven
// CHECK: arith.constant -8.000000e+00 : f32
// CHECK: arith.constant 7.000000e+00 : f32
// CHECK: %[[W:.+]] = arith.fptosi %{{.+}} : f32 to i16
// CHECK-NEXT: %[[T:.+]] = arith.trunci %[[W]] : i16 to i4
// CHECK-NEXT: linalg.yield %[[T]] : i4
func.func @quantize_int4_block_shape(%x: tensor<4x64xf32>, %s: tensor<4x2xf32>) -> tensor<4x64xi4> {
  %0 = kiln.quantize %x, %s {block_shape = array<i64: 1, 32>} : (tensor<4x64xf32>, tensor<4x2xf32>) -> tensor<4x64xi4>
  return %0 : tensor<4x64xi4>
}
