// RUN: kiln-opt %s --kiln-expand-small-floats -split-input-file -verify-diagnostics | FileCheck %s

// kiln-expand-small-floats on scalar code: every arith op that reads or
// produces an fp8/fp4 value becomes integer code on its bit pattern.
//   - extf from f8E4M3FN, f8E5M2, f8E4M3FNUZ, f8E5M2FNUZ, f8E8M0FNU and
//     f4E2M1FN: bitcast to i8/i4, extui to i32, the fields assembled into
//     f32 bits (subnormals through uitofp * 2^(emin - m)), the format's NaN
//     (and for e5m2 infinity) patterns selected, bitcast to f32;
//   - truncf to the others: the f32 bits, |x| saturated by minimumf to
//     the largest finite value, rounded to the format's quantum with
//     math.roundeven, NaN selected to the format's NaN code, trunci to
//     i8/i4 and bitcast;
//   - constants become integer bit patterns; any other op (addf, cmpf) runs
//     on decoded f32 values, its result encoded back;
//   - truncf to e8m0: ONNX Cast's round_mode "up": the f32 exponent field,
//     plus one when a mantissa bit is set and the field is below 254;
//   - errors: fp8 tensors.
// Only the structure and the format constants are checked, not every
// instruction.

//===----------------------------------------------------------------------===//
// extf (decode)
//===----------------------------------------------------------------------===//

// e4m3fn: bias 7 (f32 exponent = field + 120), subnormals m * 2^-9, NaN is
// S.1111.111 (the low 7 bits all ones); no infinity.
// CHECK-LABEL: func @extf_e4m3fn
// CHECK-SAME: (%[[X:.+]]: f8E4M3FN)
// CHECK: %[[B:.+]] = arith.bitcast %[[X]] : f8E4M3FN to i8
// CHECK-NEXT: %[[C:.+]] = arith.extui %[[B]] : i8 to i32
// CHECK-NEXT: %[[NAN:.+]] = arith.constant 2143289344 : i32
// CHECK-DAG: arith.constant 120 : i32
// CHECK-DAG: arith.constant 0.001953125 : f32
// CHECK-DAG: arith.uitofp %{{.+}} : i32 to f32
// CHECK: %[[C127:.+]] = arith.constant 127 : i32
// CHECK-NEXT: %[[LOW:.+]] = arith.andi %[[C]], %[[C127]] : i32
// CHECK-NEXT: %[[C127B:.+]] = arith.constant 127 : i32
// CHECK-NEXT: %[[ISNAN:.+]] = arith.cmpi eq, %[[LOW]], %[[C127B]] : i32
// CHECK-NEXT: %[[BITS:.+]] = arith.select %[[ISNAN]], %[[NAN]], %{{.+}} : i32
// CHECK: %[[R:.+]] = arith.bitcast %[[BITS]] : i32 to f32
// CHECK-NEXT: return %[[R]] : f32
func.func @extf_e4m3fn(%x: f8E4M3FN) -> f32 {
  %0 = arith.extf %x : f8E4M3FN to f32
  return %0 : f32
}

// -----

// e5m2: IEEE-like, bias 15 (+112), subnormals m * 2^-16; an all-ones
// exponent is infinity (mantissa 0, 0x7f800000 with the sign) or NaN.
// CHECK-LABEL: func @extf_e5m2
// CHECK: %[[B:.+]] = arith.bitcast %{{.+}} : f8E5M2 to i8
// CHECK-NEXT: %[[C:.+]] = arith.extui %[[B]] : i8 to i32
// CHECK-NEXT: %[[NAN:.+]] = arith.constant 2143289344 : i32
// CHECK-DAG: arith.constant 112 : i32
// CHECK-DAG: arith.constant 1.52587891E-5 : f32
// CHECK-DAG: arith.uitofp %{{.+}} : i32 to f32
// CHECK: %[[C31:.+]] = arith.constant 31 : i32
// CHECK-NEXT: %[[SPECIAL:.+]] = arith.cmpi eq, %{{.+}}, %[[C31]] : i32
// CHECK-NEXT: %[[INFC:.+]] = arith.constant 2139095040 : i32
// CHECK-NEXT: %[[INF:.+]] = arith.ori %{{.+}}, %[[INFC]] : i32
// CHECK-NEXT: arith.constant 0 : i32
// CHECK-NEXT: %[[MZERO:.+]] = arith.cmpi eq, %{{.+}}, %{{.+}} : i32
// CHECK-NEXT: %[[INFNAN:.+]] = arith.select %[[MZERO]], %[[INF]], %[[NAN]] : i32
// CHECK-NEXT: %[[BITS:.+]] = arith.select %[[SPECIAL]], %[[INFNAN]], %{{.+}} : i32
// CHECK: %[[R:.+]] = arith.bitcast %[[BITS]] : i32 to f32
// CHECK-NEXT: return %[[R]] : f32
func.func @extf_e5m2(%x: f8E5M2) -> f32 {
  %0 = arith.extf %x : f8E5M2 to f32
  return %0 : f32
}

// -----

// e4m3fnuz: bias 8 (+119), subnormals m * 2^-10; the NaN is 0x80 (the
// "negative zero" pattern).
// CHECK-LABEL: func @extf_e4m3fnuz
// CHECK: %[[B:.+]] = arith.bitcast %{{.+}} : f8E4M3FNUZ to i8
// CHECK-NEXT: %[[C:.+]] = arith.extui %[[B]] : i8 to i32
// CHECK-NEXT: %[[NAN:.+]] = arith.constant 2143289344 : i32
// CHECK-DAG: arith.constant 119 : i32
// CHECK-DAG: arith.constant 9.765625E-4 : f32
// CHECK-DAG: arith.uitofp %{{.+}} : i32 to f32
// CHECK: %[[C128:.+]] = arith.constant 128 : i32
// CHECK-NEXT: %[[ISNAN:.+]] = arith.cmpi eq, %[[C]], %[[C128]] : i32
// CHECK-NEXT: %[[BITS:.+]] = arith.select %[[ISNAN]], %[[NAN]], %{{.+}} : i32
// CHECK: %[[R:.+]] = arith.bitcast %[[BITS]] : i32 to f32
// CHECK-NEXT: return %[[R]] : f32
func.func @extf_e4m3fnuz(%x: f8E4M3FNUZ) -> f32 {
  %0 = arith.extf %x : f8E4M3FNUZ to f32
  return %0 : f32
}

// -----

// e5m2fnuz: bias 16 (+111), subnormals m * 2^-17, NaN 0x80.
// CHECK-LABEL: func @extf_e5m2fnuz
// CHECK: %[[B:.+]] = arith.bitcast %{{.+}} : f8E5M2FNUZ to i8
// CHECK-NEXT: %[[C:.+]] = arith.extui %[[B]] : i8 to i32
// CHECK-NEXT: %[[NAN:.+]] = arith.constant 2143289344 : i32
// CHECK-DAG: arith.constant 111 : i32
// CHECK-DAG: arith.constant 7.62939453E-6 : f32
// CHECK-DAG: arith.uitofp %{{.+}} : i32 to f32
// CHECK: %[[C128:.+]] = arith.constant 128 : i32
// CHECK-NEXT: %[[ISNAN:.+]] = arith.cmpi eq, %[[C]], %[[C128]] : i32
// CHECK-NEXT: %[[BITS:.+]] = arith.select %[[ISNAN]], %[[NAN]], %{{.+}} : i32
// CHECK: %[[R:.+]] = arith.bitcast %[[BITS]] : i32 to f32
// CHECK-NEXT: return %[[R]] : f32
func.func @extf_e5m2fnuz(%x: f8E5M2FNUZ) -> f32 {
  %0 = arith.extf %x : f8E5M2FNUZ to f32
  return %0 : f32
}

// -----

// e8m0: 2^(code - 127) is the code shifted into f32's exponent field; code
// 0 is 2^-127 (the f32 subnormal 0x00400000), 255 is NaN. No sign, no
// mantissa, no uitofp.
// CHECK-LABEL: func @extf_e8m0
// CHECK: %[[B:.+]] = arith.bitcast %{{.+}} : f8E8M0FNU to i8
// CHECK-NEXT: %[[C:.+]] = arith.extui %[[B]] : i8 to i32
// CHECK-NEXT: %[[NAN:.+]] = arith.constant 2143289344 : i32
// CHECK-DAG: %[[SUB:.+]] = arith.constant 4194304 : i32
// CHECK-DAG: %[[SHIFTED:.+]] = arith.shli %[[C]], %{{.+}} : i32
// CHECK-DAG: %[[IS0:.+]] = arith.cmpi eq, %[[C]], %{{.+}} : i32
// CHECK: %[[V:.+]] = arith.select %[[IS0]], %[[SUB]], %[[SHIFTED]] : i32
// CHECK-NEXT: %[[C255:.+]] = arith.constant 255 : i32
// CHECK-NEXT: %[[ISNAN:.+]] = arith.cmpi eq, %[[C]], %[[C255]] : i32
// CHECK-NEXT: %[[BITS:.+]] = arith.select %[[ISNAN]], %[[NAN]], %[[V]] : i32
// CHECK: %[[R:.+]] = arith.bitcast %[[BITS]] : i32 to f32
// CHECK-NEXT: return %[[R]] : f32
// CHECK-NOT: uitofp
func.func @extf_e8m0(%x: f8E8M0FNU) -> f32 {
  %0 = arith.extf %x : f8E8M0FNU to f32
  return %0 : f32
}

// -----

// fp4 e2m1: an i4 bit pattern, bias 1 (+126), subnormal 0.5; no NaN and no
// infinity, so nothing is selected after the sign is or-ed in. An f64
// result extends the f32.
// CHECK-LABEL: func @extf_f4
// CHECK: %[[B:.+]] = arith.bitcast %{{.+}} : f4E2M1FN to i4
// CHECK-NEXT: %[[C:.+]] = arith.extui %[[B]] : i4 to i32
// CHECK-DAG: arith.constant 126 : i32
// CHECK-DAG: arith.constant 5.000000e-01 : f32
// CHECK: %[[MAG:.+]] = arith.select %{{.+}}, %{{.+}}, %{{.+}} : i32
// CHECK-NEXT: %[[BITS:.+]] = arith.ori %{{.+}}, %[[MAG]] : i32
// CHECK-NEXT: %[[F:.+]] = arith.bitcast %[[BITS]] : i32 to f32
// CHECK-NEXT: %[[R:.+]] = arith.extf %[[F]] : f32 to f64
// CHECK-NEXT: return %[[R]] : f64
func.func @extf_f4(%x: f4E2M1FN) -> f64 {
  %0 = arith.extf %x : f4E2M1FN to f64
  return %0 : f64
}

// -----

// Between two narrow formats: decode the fp4, encode the f32 as e4m3fn.
// CHECK-LABEL: func @extf_f4_to_e4m3fn
// CHECK: arith.bitcast %{{.+}} : f4E2M1FN to i4
// CHECK: %[[F:.+]] = arith.bitcast %{{.+}} : i32 to f32
// CHECK-NEXT: arith.bitcast %[[F]] : f32 to i32
// CHECK: arith.constant 4.480000e+02 : f32
// CHECK: %[[T:.+]] = arith.trunci %{{.+}} : i32 to i8
// CHECK-NEXT: %[[R:.+]] = arith.bitcast %[[T]] : i8 to f8E4M3FN
// CHECK-NEXT: return %[[R]]
// CHECK-NOT: arith.extf
func.func @extf_f4_to_e4m3fn(%x: f4E2M1FN) -> f8E4M3FN {
  %0 = arith.extf %x : f4E2M1FN to f8E4M3FN
  return %0 : f8E4M3FN
}

//===----------------------------------------------------------------------===//
// truncf (encode)
//===----------------------------------------------------------------------===//

// -----

// e4m3fn: saturate to 448, round to the quantum 2^(max(e, -6) - 3), NaN
// to S.1111.111 (127 with the sign).
// CHECK-LABEL: func @truncf_e4m3fn
// CHECK-SAME: (%[[X:.+]]: f32)
// CHECK: %[[U:.+]] = arith.bitcast %[[X]] : f32 to i32
// CHECK: %[[ABS:.+]] = arith.andi %[[U]], %{{.+}} : i32
// CHECK: %[[INF:.+]] = arith.constant 2139095040 : i32
// CHECK-NEXT: %[[ISNAN:.+]] = arith.cmpi ugt, %[[ABS]], %[[INF]] : i32
// CHECK-DAG: %[[MAX:.+]] = arith.constant 4.480000e+02 : f32
// CHECK-DAG: %[[A:.+]] = arith.minimumf %{{.+}}, %[[MAX]] : f32
// CHECK-DAG: %[[EMIN:.+]] = arith.constant -6 : i32
// CHECK-DAG: arith.maxsi %{{.+}}, %[[EMIN]] : i32
// CHECK: %[[Q:.+]] = arith.divf %[[A]], %{{.+}} : f32
// CHECK-NEXT: math.roundeven %[[Q]] : f32
// CHECK: %[[ISSUB:.+]] = arith.cmpf olt
// CHECK: %[[CODE:.+]] = arith.select %[[ISSUB]], %{{.+}}, %{{.+}} : i32
// CHECK-NEXT: arith.constant 7 : i32
// CHECK-NEXT: %[[SH:.+]] = arith.shli
// CHECK-NEXT: %[[SIGNED:.+]] = arith.ori %[[CODE]], %[[SH]] : i32
// CHECK-DAG: %[[C127:.+]] = arith.constant 127 : i32
// CHECK-DAG: %[[SH2:.+]] = arith.shli
// CHECK: %[[NANC:.+]] = arith.ori %[[C127]], %[[SH2]] : i32
// CHECK-NEXT: %[[FINAL:.+]] = arith.select %[[ISNAN]], %[[NANC]], %[[SIGNED]] : i32
// CHECK-NEXT: %[[T:.+]] = arith.trunci %[[FINAL]] : i32 to i8
// CHECK-NEXT: %[[R:.+]] = arith.bitcast %[[T]] : i8 to f8E4M3FN
// CHECK-NEXT: return %[[R]] : f8E4M3FN
func.func @truncf_e4m3fn(%x: f32) -> f8E4M3FN {
  %0 = arith.truncf %x : f32 to f8E4M3FN
  return %0 : f8E4M3FN
}

// -----

// e5m2 from f64: rounded to f32 first (a double rounding), then saturated
// to 57344 (infinities too) and encoded.
// CHECK-LABEL: func @truncf_e5m2_from_f64
// CHECK-SAME: (%[[X:.+]]: f64)
// CHECK: %[[F:.+]] = arith.truncf %[[X]] : f64 to f32
// CHECK-NEXT: arith.bitcast %[[F]] : f32 to i32
// CHECK-DAG: %[[MAX:.+]] = arith.constant 5.734400e+04 : f32
// CHECK-DAG: arith.minimumf %{{.+}}, %[[MAX]] : f32
// CHECK-DAG: arith.constant -14 : i32
// CHECK: math.roundeven
// CHECK: %[[ISSUB:.+]] = arith.cmpf olt
// CHECK: %[[CODE:.+]] = arith.select %[[ISSUB]], %{{.+}}, %{{.+}} : i32
// CHECK-NEXT: arith.constant 7 : i32
// CHECK-NEXT: %[[SH:.+]] = arith.shli
// CHECK-NEXT: %[[SIGNED:.+]] = arith.ori %[[CODE]], %[[SH]] : i32
// CHECK-DAG: %[[C127:.+]] = arith.constant 127 : i32
// CHECK-DAG: %[[SH2:.+]] = arith.shli
// CHECK: %[[NANC:.+]] = arith.ori %[[C127]], %[[SH2]] : i32
// CHECK-NEXT: %[[FINAL:.+]] = arith.select %{{.+}}, %[[NANC]], %[[SIGNED]] : i32
// CHECK-NEXT: %[[T:.+]] = arith.trunci %[[FINAL]] : i32 to i8
// CHECK-NEXT: %[[R:.+]] = arith.bitcast %[[T]] : i8 to f8E5M2
// CHECK-NEXT: return %[[R]] : f8E5M2
func.func @truncf_e5m2_from_f64(%x: f64) -> f8E5M2 {
  %0 = arith.truncf %x : f64 to f8E5M2
  return %0 : f8E5M2
}

// -----

// e8m0: the power of two at or above |x| (ONNX Cast's round_mode "up"):
// the exponent field (bits 23-30), plus one when any mantissa bit is set
// and the field is below 254; 255 (NaN, infinities) stays.
// CHECK-LABEL: func @truncf_e8m0
// CHECK: %[[U:.+]] = arith.bitcast %{{.+}} : f32 to i32
// CHECK: %[[E:.+]] = arith.andi %{{.+}}, %c255_i32
// CHECK: %[[M:.+]] = arith.andi %[[U]], %c8388607_i32
// CHECK: %[[INEXACT:.+]] = arith.cmpi ne, %[[M]], %c0_i32
// CHECK: %[[BELOW:.+]] = arith.cmpi ult, %[[E]], %c254_i32
// CHECK: %[[UP:.+]] = arith.andi %[[INEXACT]], %[[BELOW]]
// CHECK: %[[E1:.+]] = arith.addi %[[E]], %c1_i32
// CHECK: %[[CODE:.+]] = arith.select %[[UP]], %[[E1]], %[[E]]
// CHECK: %[[B:.+]] = arith.trunci %[[CODE]] : i32 to i8
// CHECK: arith.bitcast %[[B]] : i8 to f8E8M0FNU
func.func @truncf_e8m0(%x: f32) -> f8E8M0FNU {
  %0 = arith.truncf %x : f32 to f8E8M0FNU
  return %0 : f8E8M0FNU
}

// -----

// e4m3fnuz from bf16 (extended to f32 first): saturate to 240; a zero
// result drops its sign (0x80 is the NaN), NaN becomes 0x80.
// CHECK-LABEL: func @truncf_e4m3fnuz_from_bf16
// CHECK-SAME: (%[[X:.+]]: bf16)
// CHECK: %[[F:.+]] = arith.extf %[[X]] : bf16 to f32
// CHECK-NEXT: arith.bitcast %[[F]] : f32 to i32
// CHECK: %[[ISNAN:.+]] = arith.cmpi ugt
// CHECK-DAG: arith.constant 2.400000e+02 : f32
// CHECK-DAG: arith.constant -7 : i32
// CHECK: math.roundeven
// CHECK: %[[ISSUB:.+]] = arith.cmpf olt
// CHECK: %[[CODE:.+]] = arith.select %[[ISSUB]], %{{.+}}, %{{.+}} : i32
// CHECK-NEXT: arith.constant 7 : i32
// CHECK-NEXT: %[[SH:.+]] = arith.shli
// CHECK-NEXT: %[[SIGNED:.+]] = arith.ori %[[CODE]], %[[SH]] : i32
// CHECK-NEXT: %[[C0:.+]] = arith.constant 0 : i32
// CHECK-NEXT: %[[ISZERO:.+]] = arith.cmpi eq, %[[CODE]], %[[C0]] : i32
// CHECK-NEXT: %[[NOZERO:.+]] = arith.select %[[ISZERO]], %[[CODE]], %[[SIGNED]] : i32
// CHECK-NEXT: %[[C128:.+]] = arith.constant 128 : i32
// CHECK-NEXT: %[[FINAL:.+]] = arith.select %[[ISNAN]], %[[C128]], %[[NOZERO]] : i32
// CHECK-NEXT: %[[T:.+]] = arith.trunci %[[FINAL]] : i32 to i8
// CHECK-NEXT: %[[R:.+]] = arith.bitcast %[[T]] : i8 to f8E4M3FNUZ
// CHECK-NEXT: return %[[R]]
func.func @truncf_e4m3fnuz_from_bf16(%x: bf16) -> f8E4M3FNUZ {
  %0 = arith.truncf %x : bf16 to f8E4M3FNUZ
  return %0 : f8E4M3FNUZ
}

// -----

// e5m2fnuz: saturate to 57344, quantum floor -15, NaN 0x80.
// CHECK-LABEL: func @truncf_e5m2fnuz
// CHECK-DAG: arith.constant 5.734400e+04 : f32
// CHECK-DAG: arith.constant -15 : i32
// CHECK: math.roundeven
// CHECK: %[[C128:.+]] = arith.constant 128 : i32
// CHECK-NEXT: %[[FINAL:.+]] = arith.select %{{.+}}, %[[C128]], %{{.+}} : i32
// CHECK-NEXT: %[[T:.+]] = arith.trunci %[[FINAL]] : i32 to i8
// CHECK-NEXT: %[[R:.+]] = arith.bitcast %[[T]] : i8 to f8E5M2FNUZ
// CHECK-NEXT: return %[[R]]
func.func @truncf_e5m2fnuz(%x: f32) -> f8E5M2FNUZ {
  %0 = arith.truncf %x : f32 to f8E5M2FNUZ
  return %0 : f8E5M2FNUZ
}

// -----

// fp4 from f16: saturate to 6; fp4 has no NaN, so NaN gives code 8 (ONNX).
// CHECK-LABEL: func @truncf_f4_from_f16
// CHECK-SAME: (%[[X:.+]]: f16)
// CHECK: %[[F:.+]] = arith.extf %[[X]] : f16 to f32
// CHECK-NEXT: arith.bitcast %[[F]] : f32 to i32
// CHECK: %[[ISNAN:.+]] = arith.cmpi ugt
// CHECK-DAG: arith.constant 6.000000e+00 : f32
// CHECK-DAG: arith.constant 0 : i32
// CHECK: math.roundeven
// CHECK: %[[ISSUB:.+]] = arith.cmpf olt
// CHECK: %[[CODE:.+]] = arith.select %[[ISSUB]], %{{.+}}, %{{.+}} : i32
// CHECK-NEXT: arith.constant 3 : i32
// CHECK-NEXT: %[[SH:.+]] = arith.shli
// CHECK-NEXT: %[[SIGNED:.+]] = arith.ori %[[CODE]], %[[SH]] : i32
// CHECK-NEXT: %[[C8:.+]] = arith.constant 8 : i32
// CHECK-NEXT: %[[FINAL:.+]] = arith.select %[[ISNAN]], %[[C8]], %[[SIGNED]] : i32
// CHECK-NEXT: %[[T:.+]] = arith.trunci %[[FINAL]] : i32 to i4
// CHECK-NEXT: %[[R:.+]] = arith.bitcast %[[T]] : i4 to f4E2M1FN
// CHECK-NEXT: return %[[R]] : f4E2M1FN
func.func @truncf_f4_from_f16(%x: f16) -> f4E2M1FN {
  %0 = arith.truncf %x : f16 to f4E2M1FN
  return %0 : f4E2M1FN
}

//===----------------------------------------------------------------------===//
// Constants and other ops
//===----------------------------------------------------------------------===//

// -----

// Constants become their bit patterns: 1.5 in e4m3fn is 0x3C, -6 in fp4 is
// 0xF, 1.0 in e8m0 is 127.
// CHECK-LABEL: func @constants
// CHECK: %[[C0:.+]] = arith.constant 60 : i8
// CHECK: %[[R0:.+]] = arith.bitcast %[[C0]] : i8 to f8E4M3FN
// CHECK: %[[C1:.+]] = arith.constant -1 : i4
// CHECK: %[[R1:.+]] = arith.bitcast %[[C1]] : i4 to f4E2M1FN
// CHECK: %[[C2:.+]] = arith.constant 127 : i8
// CHECK: %[[R2:.+]] = arith.bitcast %[[C2]] : i8 to f8E8M0FNU
// CHECK: return %[[R0]], %[[R1]], %[[R2]]
func.func @constants() -> (f8E4M3FN, f4E2M1FN, f8E8M0FNU) {
  %0 = arith.constant 1.5 : f8E4M3FN
  %1 = arith.constant -6.0 : f4E2M1FN
  %2 = arith.constant 1.0 : f8E8M0FNU
  return %0, %1, %2 : f8E4M3FN, f4E2M1FN, f8E8M0FNU
}

// -----

// addf on e5m2: both operands decoded, the sum computed in f32, the result
// encoded back to e5m2.
// CHECK-LABEL: func @addf_e5m2
// CHECK-SAME: (%[[A:.+]]: f8E5M2, %[[B:.+]]: f8E5M2)
// CHECK: arith.bitcast %[[A]] : f8E5M2 to i8
// CHECK: %[[FA:.+]] = arith.bitcast %{{.+}} : i32 to f32
// CHECK: arith.bitcast %[[B]] : f8E5M2 to i8
// CHECK: %[[FB:.+]] = arith.bitcast %{{.+}} : i32 to f32
// CHECK: %[[SUM:.+]] = arith.addf %[[FA]], %[[FB]] : f32
// CHECK: arith.bitcast %[[SUM]] : f32 to i32
// CHECK: arith.constant 5.734400e+04 : f32
// CHECK: %[[T:.+]] = arith.trunci %{{.+}} : i32 to i8
// CHECK: %[[R:.+]] = arith.bitcast %[[T]] : i8 to f8E5M2
// CHECK-NEXT: return %[[R]] : f8E5M2
// CHECK-NOT: arith.addf {{.*}} : f8E5M2
func.func @addf_e5m2(%a: f8E5M2, %b: f8E5M2) -> f8E5M2 {
  %0 = arith.addf %a, %b : f8E5M2
  return %0 : f8E5M2
}

// -----

// A comparison reads decoded values; its i1 result needs no encoding.
// CHECK-LABEL: func @cmpf_e4m3fn
// CHECK: %[[FA:.+]] = arith.bitcast %{{.+}} : i32 to f32
// CHECK: %[[FB:.+]] = arith.bitcast %{{.+}} : i32 to f32
// CHECK: %[[LT:.+]] = arith.cmpf olt, %[[FA]], %[[FB]] : f32
// CHECK-NEXT: return %[[LT]] : i1
func.func @cmpf_e4m3fn(%a: f8E4M3FN, %b: f8E4M3FN) -> i1 {
  %0 = arith.cmpf olt, %a, %b : f8E4M3FN
  return %0 : i1
}

// -----

// select and bitcast move fp8 values as they are; other float types are
// not touched.
// CHECK-LABEL: func @untouched
// CHECK-NEXT: %[[S:.+]] = arith.select %{{.+}}, %{{.+}}, %{{.+}} : f8E4M3FN
// CHECK-NEXT: %[[B:.+]] = arith.bitcast %{{.+}} : f8E4M3FN to i8
// CHECK-NEXT: %[[E:.+]] = arith.extf %{{.+}} : f16 to f32
// CHECK-NEXT: return %[[S]], %[[B]], %[[E]]
func.func @untouched(%c: i1, %a: f8E4M3FN, %b: f8E4M3FN, %h: f16) -> (f8E4M3FN, i8, f32) {
  %0 = arith.select %c, %a, %b : f8E4M3FN
  %1 = arith.bitcast %a : f8E4M3FN to i8
  %2 = arith.extf %h : f16 to f32
  return %0, %1, %2 : f8E4M3FN, i8, f32
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

// -----

// Only scalars are expanded.
func.func @extf_tensor(%x: tensor<4xf8E4M3FN>) -> tensor<4xf32> {
  // expected-error @+1 {{'arith.extf' op on fp8/fp4 tensors or vectors cannot be expanded; lower it to scalars first}}
  %0 = arith.extf %x : tensor<4xf8E4M3FN> to tensor<4xf32>
  return %0 : tensor<4xf32>
}
