// RUN: kiln-opt %s -kiln-convert-kiln-to-linalg -split-input-file | FileCheck %s

// The reference lowering of the primitive Kiln ops to linalg, tensor, arith
// and math. Composite ops are covered in lower-to-linalg-invalid.mlir.

//===----------------------------------------------------------------------===//
// Elementwise ops: one parallel linalg.generic, broadcasting in the maps
//===----------------------------------------------------------------------===//

// The [3,1] operand drops the leading dimension and reads index 0 in its
// size-1 dimension.
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[BC:.+]] = affine_map<(d0, d1, d2) -> (d1, 0)>
// CHECK-LABEL: func @add_broadcast
// CHECK-SAME: (%[[A:.+]]: tensor<2x3x4xf32>, %[[B:.+]]: tensor<3x1xf32>)
// CHECK: %[[INIT:.+]] = tensor.empty() : tensor<2x3x4xf32>
// CHECK: %[[R:.+]] = linalg.generic
// CHECK-SAME: indexing_maps = [#[[ID]], #[[BC]], #[[ID]]]
// CHECK-SAME: iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME: ins(%[[A]], %[[B]] : tensor<2x3x4xf32>, tensor<3x1xf32>) outs(%[[INIT]] : tensor<2x3x4xf32>)
// CHECK: ^bb0(%[[X:.+]]: f32, %[[Y:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[S:.+]] = arith.addf %[[X]], %[[Y]] : f32
// CHECK: linalg.yield %[[S]] : f32
// CHECK: return %[[R]]
func.func @add_broadcast(%a: tensor<2x3x4xf32>, %b: tensor<3x1xf32>) -> tensor<2x3x4xf32> {
  %0 = kiln.add %a, %b : (tensor<2x3x4xf32>, tensor<3x1xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// Both operands stretch; a size-1 result dimension keeps its loop index.
// CHECK-DAG: #[[LHS:.+]] = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
// CHECK-DAG: #[[RHS:.+]] = affine_map<(d0, d1, d2) -> (d1, 0)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func @mul_two_sided_broadcast
// CHECK: linalg.generic {indexing_maps = [#[[LHS]], #[[RHS]], #[[OUT]]]
// CHECK: arith.muli %{{.+}}, %{{.+}} : i32
func.func @mul_two_sided_broadcast(%a: tensor<1x1x5xi32>, %b: tensor<3x1xi32>) -> tensor<1x3x5xi32> {
  %0 = kiln.mul %a, %b : (tensor<1x1x5xi32>, tensor<3x1xi32>) -> tensor<1x3x5xi32>
  return %0 : tensor<1x3x5xi32>
}

// -----

// A rank-0 operand reads through a map with no results. Integer division is
// signed.
// CHECK-DAG: #[[VEC:.+]] = affine_map<(d0) -> (d0)>
// CHECK-DAG: #[[SCALAR:.+]] = affine_map<(d0) -> ()>
// CHECK-LABEL: func @div_scalar
// CHECK: linalg.generic {indexing_maps = [#[[VEC]], #[[SCALAR]], #[[VEC]]], iterator_types = ["parallel"]}
// CHECK: arith.divsi %{{.+}}, %{{.+}} : i32
func.func @div_scalar(%a: tensor<4xi32>, %b: tensor<i32>) -> tensor<4xi32> {
  %0 = kiln.div %a, %b : (tensor<4xi32>, tensor<i32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// Rank-0 in, rank-0 out: a generic with no loops.
// CHECK-DAG: #[[MAP:.+]] = affine_map<() -> ()>
// CHECK-LABEL: func @sub_rank0
// CHECK: linalg.generic {indexing_maps = [#[[MAP]], #[[MAP]], #[[MAP]]], iterator_types = []}
// CHECK: arith.subf
func.func @sub_rank0(%a: tensor<f32>, %b: tensor<f32>) -> tensor<f32> {
  %0 = kiln.sub %a, %b : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// CHECK-LABEL: func @binary_scalar_ops
// CHECK: arith.remf %{{.+}}, %{{.+}} : f32
// CHECK: arith.remsi %{{.+}}, %{{.+}} : i32
// CHECK: math.powf %{{.+}}, %{{.+}} : f32
// CHECK: math.ipowi %{{.+}}, %{{.+}} : i32
// CHECK: arith.maximumf %{{.+}}, %{{.+}} : f32
// CHECK: arith.minsi %{{.+}}, %{{.+}} : i32
// CHECK: arith.andi %{{.+}}, %{{.+}} : i1
// CHECK: arith.ori %{{.+}}, %{{.+}} : i1
// CHECK: arith.xori %{{.+}}, %{{.+}} : i1
func.func @binary_scalar_ops(%f: tensor<4xf32>, %i: tensor<4xi32>, %b: tensor<4xi1>)
    -> (tensor<4xf32>, tensor<4xi32>, tensor<4xi1>) {
  %r0 = kiln.rem %f, %f : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %r1 = kiln.rem %i, %i : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  %0 = kiln.pow %r0, %f : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = kiln.pow %r1, %i : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  %2 = kiln.max %0, %f : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %3 = kiln.min %1, %i : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  %4 = kiln.and %b, %b : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  %5 = kiln.or %4, %b : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  %6 = kiln.xor %5, %b : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  return %2, %3, %6 : tensor<4xf32>, tensor<4xi32>, tensor<4xi1>
}

// -----

// Floats compare ordered, except ne (unordered: true on NaN); integers
// compare signed.
// CHECK-LABEL: func @compare
// CHECK: linalg.generic
// CHECK-SAME: outs(%{{.+}} : tensor<4xi1>)
// CHECK: ^bb0(%{{.+}}: f32, %{{.+}}: f32, %{{.+}}: i1):
// CHECK: arith.cmpf oeq
// CHECK: arith.cmpf une
// CHECK: arith.cmpf olt
// CHECK: arith.cmpf ole
// CHECK: arith.cmpf ogt
// CHECK: arith.cmpf oge
// CHECK: ^bb0(%{{.+}}: i64, %{{.+}}: i64, %{{.+}}: i1):
// CHECK: arith.cmpi eq
// CHECK: arith.cmpi ne
// CHECK: arith.cmpi slt
// CHECK: arith.cmpi sle
// CHECK: arith.cmpi sgt
// CHECK: arith.cmpi sge
func.func @compare(%a: tensor<4xf32>, %b: tensor<4xi64>)
    -> (tensor<4xi1>, tensor<4xi1>, tensor<4xi1>, tensor<4xi1>, tensor<4xi1>, tensor<4xi1>,
        tensor<4xi1>, tensor<4xi1>, tensor<4xi1>, tensor<4xi1>, tensor<4xi1>, tensor<4xi1>) {
  %0 = kiln.compare eq, %a, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %1 = kiln.compare ne, %a, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %2 = kiln.compare lt, %a, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %3 = kiln.compare le, %a, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %4 = kiln.compare gt, %a, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %5 = kiln.compare ge, %a, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %6 = kiln.compare eq, %b, %b : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi1>
  %7 = kiln.compare ne, %b, %b : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi1>
  %8 = kiln.compare lt, %b, %b : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi1>
  %9 = kiln.compare le, %b, %b : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi1>
  %10 = kiln.compare gt, %b, %b : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi1>
  %11 = kiln.compare ge, %b, %b : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi1>
  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11
      : tensor<4xi1>, tensor<4xi1>, tensor<4xi1>, tensor<4xi1>, tensor<4xi1>, tensor<4xi1>,
        tensor<4xi1>, tensor<4xi1>, tensor<4xi1>, tensor<4xi1>, tensor<4xi1>, tensor<4xi1>
}

// -----

// CHECK-DAG: #[[COND:.+]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[SCALAR:.+]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func @select
// CHECK-SAME: (%[[C:.+]]: tensor<2x1xi1>, %[[A:.+]]: tensor<2x3xf32>, %[[B:.+]]: tensor<f32>)
// CHECK: linalg.generic {indexing_maps = [#[[COND]], #[[ID]], #[[SCALAR]], #[[ID]]]
// CHECK-SAME: ins(%[[C]], %[[A]], %[[B]] : tensor<2x1xi1>, tensor<2x3xf32>, tensor<f32>)
// CHECK: ^bb0(%[[IC:.+]]: i1, %[[IA:.+]]: f32, %[[IB:.+]]: f32, %{{.+}}: f32):
// CHECK: arith.select %[[IC]], %[[IA]], %[[IB]] : f32
func.func @select(%c: tensor<2x1xi1>, %a: tensor<2x3xf32>, %b: tensor<f32>) -> tensor<2x3xf32> {
  %0 = kiln.select %c, %a, %b : (tensor<2x1xi1>, tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

//===----------------------------------------------------------------------===//
// Unary ops
//===----------------------------------------------------------------------===//

// Transcendentals on 16-bit floats are evaluated in f32.
// CHECK-LABEL: func @exp_f16
// CHECK: linalg.generic
// CHECK: ^bb0(%[[IN:.+]]: f16, %{{.+}}: f16):
// CHECK: %[[W:.+]] = arith.extf %[[IN]] : f16 to f32
// CHECK: %[[E:.+]] = math.exp %[[W]] : f32
// CHECK: %[[N:.+]] = arith.truncf %[[E]] : f32 to f16
// CHECK: linalg.yield %[[N]] : f16
func.func @exp_f16(%x: tensor<4xf16>) -> tensor<4xf16> {
  %0 = kiln.exp %x : tensor<4xf16>
  return %0 : tensor<4xf16>
}

// -----

// f32 needs no widening.
// CHECK-LABEL: func @math_f32
// CHECK-NOT: arith.extf
// CHECK: math.exp %{{.+}} : f32
// CHECK: math.log
// CHECK: math.sqrt
// CHECK: math.rsqrt
// CHECK: math.erf
// CHECK: math.tanh
// CHECK: math.sin
// CHECK: math.cos
// CHECK: math.floor
// CHECK: math.ceil
// CHECK-NOT: arith.truncf
func.func @math_f32(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kiln.exp %x : tensor<4xf32>
  %1 = kiln.log %0 : tensor<4xf32>
  %2 = kiln.sqrt %1 : tensor<4xf32>
  %3 = kiln.rsqrt %2 : tensor<4xf32>
  %4 = kiln.erf %3 : tensor<4xf32>
  %5 = kiln.tanh %4 : tensor<4xf32>
  %6 = kiln.sin %5 : tensor<4xf32>
  %7 = kiln.cos %6 : tensor<4xf32>
  %8 = kiln.floor %7 : tensor<4xf32>
  %9 = kiln.ceil %8 : tensor<4xf32>
  return %9 : tensor<4xf32>
}

// -----

// sigmoid(x) = 1 / (1 + exp(-x)); bf16 widens to f32 around it.
// CHECK-LABEL: func @sigmoid_bf16
// CHECK: ^bb0(%[[IN:.+]]: bf16, %{{.+}}: bf16):
// CHECK: %[[W:.+]] = arith.extf %[[IN]] : bf16 to f32
// CHECK-DAG: %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[NEG:.+]] = arith.negf %[[W]] : f32
// CHECK: %[[E:.+]] = math.exp %[[NEG]] : f32
// CHECK: %[[D:.+]] = arith.addf %[[ONE]], %[[E]] : f32
// CHECK: %[[S:.+]] = arith.divf %[[ONE]], %[[D]] : f32
// CHECK: arith.truncf %[[S]] : f32 to bf16
func.func @sigmoid_bf16(%x: tensor<4xbf16>) -> tensor<4xbf16> {
  %0 = kiln.sigmoid %x : tensor<4xbf16>
  return %0 : tensor<4xbf16>
}

// -----

// CHECK-LABEL: func @silu
// CHECK: ^bb0(%[[IN:.+]]: f32, %{{.+}}: f32):
// CHECK: math.exp
// CHECK: %[[S:.+]] = arith.divf
// CHECK: %[[R:.+]] = arith.mulf %[[IN]], %[[S]] : f32
// CHECK: linalg.yield %[[R]]
func.func @silu(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kiln.silu %x : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Exact GELU uses erf(x / sqrt(2)); the tanh form uses the cubic.
// CHECK-LABEL: func @gelu
// CHECK: arith.constant 0.707106769 : f32
// CHECK: math.erf
// CHECK-NOT: math.tanh
// CHECK: linalg.yield
// CHECK: arith.constant 0.797884583 : f32
// CHECK: arith.constant 4.471500e-02 : f32
// CHECK: math.tanh
// CHECK-NOT: math.erf
// CHECK: linalg.yield
func.func @gelu(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %0 = kiln.gelu %x : tensor<4xf32>
  %1 = kiln.gelu %x approximation = tanh : tensor<4xf32>
  return %0, %1 : tensor<4xf32>, tensor<4xf32>
}

// -----

// CHECK-LABEL: func @leaky_relu
// CHECK: ^bb0(%[[IN:.+]]: f32, %{{.+}}: f32):
// CHECK-DAG: %[[ALPHA:.+]] = arith.constant 2.500000e-01 : f32
// CHECK-DAG: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[POS:.+]] = arith.cmpf oge, %[[IN]], %[[ZERO]] : f32
// CHECK: %[[SCALED:.+]] = arith.mulf %[[ALPHA]], %[[IN]] : f32
// CHECK: arith.select %[[POS]], %[[IN]], %[[SCALED]] : f32
func.func @leaky_relu(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kiln.leaky_relu %x {alpha = 0.25 : f32} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func @float_unary
// CHECK: arith.constant 1.000000e+00 : f32
// CHECK: arith.divf
// CHECK: arith.constant 0.000000e+00 : f32
// CHECK: arith.maximumf
// CHECK: arith.negf
// CHECK: math.absf
func.func @float_unary(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kiln.reciprocal %x : tensor<4xf32>
  %1 = kiln.relu %0 : tensor<4xf32>
  %2 = kiln.neg %1 : tensor<4xf32>
  %3 = kiln.abs %2 : tensor<4xf32>
  return %3 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func @int_unary
// CHECK: %[[Z:.+]] = arith.constant 0 : i32
// CHECK: arith.subi %[[Z]], %{{.+}} : i32
// CHECK: math.absi
// CHECK: arith.maxsi %{{.+}}, %{{.+}} : i32
func.func @int_unary(%x: tensor<4xi32>) -> tensor<4xi32> {
  %0 = kiln.neg %x : tensor<4xi32>
  %1 = kiln.abs %0 : tensor<4xi32>
  %2 = kiln.relu %1 : tensor<4xi32>
  return %2 : tensor<4xi32>
}

// -----

// sign: 1 if x > 0, -1 if x < 0, else x * 0 (keeps NaN and the sign of zero).
// CHECK-LABEL: func @sign_f32
// CHECK: ^bb0(%[[IN:.+]]: f32, %{{.+}}: f32):
// CHECK-DAG: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[MONE:.+]] = arith.constant -1.000000e+00 : f32
// CHECK: %[[POS:.+]] = arith.cmpf ogt, %[[IN]], %[[ZERO]]
// CHECK: %[[NEG:.+]] = arith.cmpf olt, %[[IN]], %[[ZERO]]
// CHECK: %[[Z:.+]] = arith.mulf %[[IN]], %[[ZERO]]
// CHECK: %[[REST:.+]] = arith.select %[[NEG]], %[[MONE]], %[[Z]]
// CHECK: arith.select %[[POS]], %[[ONE]], %[[REST]]
func.func @sign_f32(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kiln.sign %x : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func @sign_i32
// CHECK: arith.cmpi sgt
// CHECK: arith.cmpi slt
// CHECK: arith.select
// CHECK: arith.select
func.func @sign_i32(%x: tensor<4xi32>) -> tensor<4xi32> {
  %0 = kiln.sign %x : tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// not flips every bit: logical on i1, bitwise on wider integers.
// CHECK-LABEL: func @not
// CHECK: ^bb0(%[[IN:.+]]: i1, %{{.+}}: i1):
// CHECK: %[[T:.+]] = arith.constant true
// CHECK: arith.xori %[[IN]], %[[T]] : i1
// CHECK: ^bb0(%[[IN32:.+]]: i32, %{{.+}}: i32):
// CHECK: %[[ONES:.+]] = arith.constant -1 : i32
// CHECK: arith.xori %[[IN32]], %[[ONES]] : i32
func.func @not(%x: tensor<4xi1>, %y: tensor<4xi32>) -> (tensor<4xi1>, tensor<4xi32>) {
  %0 = kiln.not %x : tensor<4xi1>
  %1 = kiln.not %y : tensor<4xi32>
  return %0, %1 : tensor<4xi1>, tensor<4xi32>
}

// -----

// CHECK-LABEL: func @bitwise
// CHECK: arith.andi %{{.+}}, %{{.+}} : i32
// CHECK: arith.ori %{{.+}}, %{{.+}} : i32
// CHECK: arith.xori %{{.+}}, %{{.+}} : i32
func.func @bitwise(%a: tensor<4xi32>) -> tensor<4xi32> {
  %0 = kiln.and %a, %a : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  %1 = kiln.or %0, %a : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  %2 = kiln.xor %1, %a : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  return %2 : tensor<4xi32>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.cast
//===----------------------------------------------------------------------===//

// A boolean converts as unsigned (true -> 1.0), a number to a boolean is
// `!= 0` (unordered, so NaN is true).
// CHECK-LABEL: func @cast_bool_float
// CHECK: ^bb0(%[[B:.+]]: i1, %{{.+}}: f32):
// CHECK: arith.uitofp %[[B]] : i1 to f32
// CHECK: ^bb0(%[[F:.+]]: f32, %{{.+}}: i1):
// CHECK: %[[Z:.+]] = arith.constant 0.000000e+00 : f32
// CHECK: arith.cmpf une, %[[F]], %[[Z]] : f32
func.func @cast_bool_float(%a: tensor<4xi1>, %b: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xi1>) {
  %0 = kiln.cast %a : tensor<4xi1> -> tensor<4xf32>
  %1 = kiln.cast %b : tensor<4xf32> -> tensor<4xi1>
  return %0, %1 : tensor<4xf32>, tensor<4xi1>
}

// -----

// CHECK-LABEL: func @cast_int
// CHECK: arith.trunci %{{.+}} : i32 to i8
// CHECK: arith.extsi %{{.+}} : i8 to i32
// CHECK: arith.cmpi ne
// CHECK: arith.extui %{{.+}} : i1 to i32
// CHECK: arith.sitofp %{{.+}} : i32 to f32
// CHECK: arith.fptosi %{{.+}} : f32 to i64
func.func @cast_int(%x: tensor<4xi32>) -> tensor<4xi64> {
  %0 = kiln.cast %x : tensor<4xi32> -> tensor<4xi8>
  %1 = kiln.cast %0 : tensor<4xi8> -> tensor<4xi32>
  %2 = kiln.cast %1 : tensor<4xi32> -> tensor<4xi1>
  %3 = kiln.cast %2 : tensor<4xi1> -> tensor<4xi32>
  %4 = kiln.cast %3 : tensor<4xi32> -> tensor<4xf32>
  %5 = kiln.cast %4 : tensor<4xf32> -> tensor<4xi64>
  return %5 : tensor<4xi64>
}

// -----

// Float to float: extf / truncf, and f16 <-> bf16 through f32.
// CHECK-LABEL: func @cast_float
// CHECK: arith.extf %{{.+}} : f16 to f32
// CHECK: arith.truncf %{{.+}} : f32 to bf16
// CHECK: linalg.yield
// CHECK: arith.truncf %{{.+}} : bf16 to f8E4M3FN
func.func @cast_float(%x: tensor<4xf16>) -> tensor<4xf8E4M3FN> {
  %0 = kiln.cast %x : tensor<4xf16> -> tensor<4xbf16>
  %1 = kiln.cast %0 : tensor<4xbf16> -> tensor<4xf8E4M3FN>
  return %1 : tensor<4xf8E4M3FN>
}

// -----

//===----------------------------------------------------------------------===//
// kiln.matmul: one linalg.generic with loops (batch..., m, k, n), so that the
// innermost loop walks rows of the rhs and of the result contiguously.
//===----------------------------------------------------------------------===//

// CHECK-DAG: #[[LHS:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[RHS:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func @matmul_2d
// CHECK-SAME: (%[[A:.+]]: tensor<2x3xf32>, %[[B:.+]]: tensor<3x5xf32>)
// CHECK: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[EMPTY:.+]] = tensor.empty() : tensor<2x5xf32>
// CHECK: %[[INIT:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[EMPTY]] : tensor<2x5xf32>)
// CHECK: %[[R:.+]] = linalg.generic {indexing_maps = [#[[LHS]], #[[RHS]], #[[OUT]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%[[A]], %[[B]] : tensor<2x3xf32>, tensor<3x5xf32>) outs(%[[INIT]] : tensor<2x5xf32>)
// CHECK: ^bb0(%[[X:.+]]: f32, %[[Y:.+]]: f32, %[[ACC:.+]]: f32):
// CHECK: %[[P:.+]] = arith.mulf %[[X]], %[[Y]] : f32
// CHECK: %[[S:.+]] = arith.addf %[[ACC]], %[[P]] : f32
// CHECK: linalg.yield %[[S]]
// CHECK: return %[[R]]
func.func @matmul_2d(%a: tensor<2x3xf32>, %b: tensor<3x5xf32>) -> tensor<2x5xf32> {
  %0 = kiln.matmul %a, %b : (tensor<2x3xf32>, tensor<3x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// Loops (b0, b1, m, k, n): the lhs batch [4,1] reads 0 in its size-1 dim,
// the rhs batch [3] drops the leading one.
// CHECK-DAG: #[[LHS:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, 0, d2, d3)>
// CHECK-DAG: #[[RHS:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d3, d4)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// CHECK-LABEL: func @matmul_batched_broadcast
// CHECK-SAME: (%[[A:.+]]: tensor<4x1x2x3xi32>, %[[B:.+]]: tensor<3x3x5xi32>)
// CHECK: %[[ZERO:.+]] = arith.constant 0 : i32
// CHECK: %[[INIT:.+]] = linalg.fill ins(%[[ZERO]] : i32)
// CHECK: linalg.generic {indexing_maps = [#[[LHS]], #[[RHS]], #[[OUT]]]
// CHECK-SAME: iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]
// CHECK-SAME: ins(%[[A]], %[[B]] : tensor<4x1x2x3xi32>, tensor<3x3x5xi32>) outs(%[[INIT]] : tensor<4x3x2x5xi32>)
// CHECK: ^bb0(%[[X:.+]]: i32, %[[Y:.+]]: i32, %[[ACC:.+]]: i32):
// CHECK: %[[P:.+]] = arith.muli %[[X]], %[[Y]] : i32
// CHECK: %[[S:.+]] = arith.addi %[[ACC]], %[[P]] : i32
// CHECK: linalg.yield %[[S]]
func.func @matmul_batched_broadcast(%a: tensor<4x1x2x3xi32>, %b: tensor<3x3x5xi32>) -> tensor<4x3x2x5xi32> {
  %0 = kiln.matmul %a, %b : (tensor<4x1x2x3xi32>, tensor<3x3x5xi32>) -> tensor<4x3x2x5xi32>
  return %0 : tensor<4x3x2x5xi32>
}

// -----

// A batched lhs times a plain matrix (what kiln.linear decomposes to).
// CHECK-DAG: #[[LHS:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[RHS:.+]] = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-LABEL: func @matmul_batched_lhs
// CHECK: linalg.generic {indexing_maps = [#[[LHS]], #[[RHS]], #[[OUT]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @matmul_batched_lhs(%a: tensor<2x8x64xf32>, %b: tensor<64x16xf32>) -> tensor<2x8x16xf32> {
  %0 = kiln.matmul %a, %b : (tensor<2x8x64xf32>, tensor<64x16xf32>) -> tensor<2x8x16xf32>
  return %0 : tensor<2x8x16xf32>
}

// -----

//===----------------------------------------------------------------------===//
// Reductions and cumsum
//===----------------------------------------------------------------------===//

// keepdims reduces into the smaller shape, then expands.
// CHECK-DAG: #[[IN:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func @reduce_sum_keepdims
// CHECK-SAME: (%[[X:.+]]: tensor<2x8x4xf32>)
// CHECK: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[INIT:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.+}} : tensor<2x4xf32>)
// CHECK: %[[R:.+]] = linalg.generic {indexing_maps = [#[[IN]], #[[OUT]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%[[X]] : tensor<2x8x4xf32>) outs(%[[INIT]] : tensor<2x4xf32>)
// CHECK: ^bb0(%[[I:.+]]: f32, %[[ACC:.+]]: f32):
// CHECK: arith.addf %[[ACC]], %[[I]] : f32
// CHECK: %[[E:.+]] = tensor.expand_shape %[[R]] {{\[}}[0], [1, 2]] output_shape [2, 1, 4] : tensor<2x4xf32> into tensor<2x1x4xf32>
// CHECK: return %[[E]]
func.func @reduce_sum_keepdims(%x: tensor<2x8x4xf32>) -> tensor<2x1x4xf32> {
  %0 = kiln.reduce_sum %x {axes = array<i64: 1>, keepdims = true} : tensor<2x8x4xf32> -> tensor<2x1x4xf32>
  return %0 : tensor<2x1x4xf32>
}

// -----

// The identity of max is -inf.
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-LABEL: func @reduce_max_f32
// CHECK: %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK: linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.+}} : tensor<8xf32>)
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #[[OUT]]], iterator_types = ["reduction", "parallel", "reduction"]}
// CHECK: arith.maximumf
// CHECK-NOT: tensor.expand_shape
func.func @reduce_max_f32(%x: tensor<2x8x4xf32>) -> tensor<8xf32> {
  %0 = kiln.reduce_max %x {axes = array<i64: 0, 2>} : tensor<2x8x4xf32> -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

// The identity of min is +inf; reducing everything gives a rank-0 tensor.
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func @reduce_min_f32
// CHECK: %[[INF:.+]] = arith.constant 0x7F800000 : f32
// CHECK: linalg.fill ins(%[[INF]] : f32) outs(%{{.+}} : tensor<f32>)
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #[[OUT]]], iterator_types = ["reduction", "reduction"]}
// CHECK: arith.minimumf
func.func @reduce_min_f32(%x: tensor<2x8xf32>) -> tensor<f32> {
  %0 = kiln.reduce_min %x {axes = array<i64: 0, 1>} : tensor<2x8xf32> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// Integer max and min start from the signed extremes.
// CHECK-LABEL: func @reduce_int
// CHECK: %[[IMIN:.+]] = arith.constant -2147483648 : i32
// CHECK: linalg.fill ins(%[[IMIN]] : i32)
// CHECK: arith.maxsi
// CHECK: %[[IMAX:.+]] = arith.constant 2147483647 : i32
// CHECK: linalg.fill ins(%[[IMAX]] : i32)
// CHECK: arith.minsi
func.func @reduce_int(%x: tensor<2x8xi32>) -> (tensor<2xi32>, tensor<2xi32>) {
  %0 = kiln.reduce_max %x {axes = array<i64: 1>} : tensor<2x8xi32> -> tensor<2xi32>
  %1 = kiln.reduce_min %x {axes = array<i64: 1>} : tensor<2x8xi32> -> tensor<2xi32>
  return %0, %1 : tensor<2xi32>, tensor<2xi32>
}

// -----

// The identity of prod is 1; a full keepdims reduction expands the rank-0
// result with an empty reassociation.
// CHECK-LABEL: func @reduce_prod_keepdims_all
// CHECK: %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK: linalg.fill ins(%[[ONE]] : f32) outs(%{{.+}} : tensor<f32>)
// CHECK: %[[R:.+]] = linalg.generic
// CHECK: arith.mulf
// CHECK: tensor.expand_shape %[[R]] [] output_shape [1, 1] : tensor<f32> into tensor<1x1xf32>
func.func @reduce_prod_keepdims_all(%x: tensor<2x8xf32>) -> tensor<1x1xf32> {
  %0 = kiln.reduce_prod %x {axes = array<i64: 0, 1>, keepdims = true} : tensor<2x8xf32> -> tensor<1x1xf32>
  return %0 : tensor<1x1xf32>
}

// -----

// argmax: one generic with two outputs, the running maximum (from -inf) and
// its index; the first element always wins so ties keep the first index.
// keepdims (the default) expands the index tensor afterwards.
// CHECK-DAG: #[[IN:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func @argmax
// CHECK-SAME: (%[[X:.+]]: tensor<2x8xf32>)
// CHECK: %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK: %[[VINIT:.+]] = linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.+}} : tensor<2xf32>)
// CHECK: %[[ZERO:.+]] = arith.constant 0 : i64
// CHECK: %[[IINIT:.+]] = linalg.fill ins(%[[ZERO]] : i64) outs(%{{.+}} : tensor<2xi64>)
// CHECK: %[[R:.+]]:2 = linalg.generic {indexing_maps = [#[[IN]], #[[OUT]], #[[OUT]]], iterator_types = ["parallel", "reduction"]}
// CHECK-SAME: ins(%[[X]] : tensor<2x8xf32>) outs(%[[VINIT]], %[[IINIT]] : tensor<2xf32>, tensor<2xi64>)
// CHECK: ^bb0(%[[V:.+]]: f32, %[[BEST:.+]]: f32, %[[BESTI:.+]]: i64):
// CHECK: %[[IDX:.+]] = linalg.index 1 : index
// CHECK: %[[I:.+]] = arith.index_cast %[[IDX]] : index to i64
// CHECK: %[[GT:.+]] = arith.cmpf ogt, %[[V]], %[[BEST]] : f32
// CHECK: %[[FIRST:.+]] = arith.cmpi eq, %[[I]], %{{.+}} : i64
// CHECK: %[[TAKE:.+]] = arith.ori %[[GT]], %[[FIRST]] : i1
// CHECK: %[[NV:.+]] = arith.select %[[TAKE]], %[[V]], %[[BEST]] : f32
// CHECK: %[[NI:.+]] = arith.select %[[TAKE]], %[[I]], %[[BESTI]] : i64
// CHECK: linalg.yield %[[NV]], %[[NI]] : f32, i64
// CHECK: %[[E:.+]] = tensor.expand_shape %[[R]]#1 {{\[}}[0, 1]] output_shape [2, 1] : tensor<2xi64> into tensor<2x1xi64>
// CHECK: return %[[E]]
func.func @argmax(%x: tensor<2x8xf32>) -> tensor<2x1xi64> {
  %0 = kiln.argmax %x {axis = 1 : i64} : tensor<2x8xf32> -> tensor<2x1xi64>
  return %0 : tensor<2x1xi64>
}

// -----

// argmin starts from the largest integer; select_last_index lets ties win
// (sle instead of slt).
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @argmin_last_index
// CHECK: %[[IMAX:.+]] = arith.constant 2147483647 : i32
// CHECK: linalg.fill ins(%[[IMAX]] : i32)
// CHECK: %[[R:.+]]:2 = linalg.generic {indexing_maps = [#{{.+}}, #[[OUT]], #[[OUT]]], iterator_types = ["reduction", "parallel"]}
// CHECK: linalg.index 0 : index
// CHECK: arith.cmpi sle
// CHECK-NOT: tensor.expand_shape
// CHECK: return %[[R]]#1
func.func @argmin_last_index(%x: tensor<2x8xi32>) -> tensor<8xi64> {
  %0 = kiln.argmin %x {axis = 0 : i64, keepdims = false, select_last_index = true} : tensor<2x8xi32> -> tensor<8xi64>
  return %0 : tensor<8xi64>
}

// -----

// cumsum: an extra reduction loop j over the axis; element j contributes to
// position i when j <= i.
// CHECK-DAG: #[[IN:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func @cumsum
// CHECK: linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[IN]], #[[OUT]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK: ^bb0(%[[X:.+]]: f32, %[[ACC:.+]]: f32):
// CHECK: %[[I:.+]] = linalg.index 1 : index
// CHECK: %[[J:.+]] = linalg.index 2 : index
// CHECK: %[[TAKE:.+]] = arith.cmpi sle, %[[J]], %[[I]] : index
// CHECK: %[[V:.+]] = arith.select %[[TAKE]], %[[X]], %{{.+}} : f32
// CHECK: arith.addf %[[ACC]], %[[V]] : f32
func.func @cumsum(%x: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %0 = kiln.cumsum %x {axis = 1 : i64} : tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// Reverse exclusive: j > i.
// CHECK-DAG: #[[IN:.+]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-LABEL: func @cumsum_reverse_exclusive
// CHECK: linalg.generic {indexing_maps = [#[[IN]], #{{.+}}]
// CHECK: %[[I:.+]] = linalg.index 0 : index
// CHECK: %[[J:.+]] = linalg.index 2 : index
// CHECK: arith.cmpi sgt, %[[J]], %[[I]] : index
// CHECK: arith.addi
func.func @cumsum_reverse_exclusive(%x: tensor<2x5xi64>) -> tensor<2x5xi64> {
  %0 = kiln.cumsum %x {axis = 0 : i64, exclusive = true, reverse = true} : tensor<2x5xi64>
  return %0 : tensor<2x5xi64>
}

// -----

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func @transpose
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
// CHECK: %[[INIT:.+]] = tensor.empty() : tensor<4x2x3xf32>
// CHECK: linalg.transpose ins(%[[X]] : tensor<2x3x4xf32>) outs(%[[INIT]] : tensor<4x2x3xf32>) permutation = [2, 0, 1]
func.func @transpose(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %0 = kiln.transpose %x {permutation = array<i64: 2, 0, 1>} : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  return %0 : tensor<4x2x3xf32>
}

// -----

// CHECK-LABEL: func @reshape_collapse
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
// CHECK: %[[R:.+]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<2x3x4xf32> into tensor<6x4xf32>
// CHECK: return %[[R]]
func.func @reshape_collapse(%x: tensor<2x3x4xf32>) -> tensor<6x4xf32> {
  %0 = kiln.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
  return %0 : tensor<6x4xf32>
}

// -----

// CHECK-LABEL: func @reshape_expand
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
// CHECK: %[[R:.+]] = tensor.expand_shape %[[X]] {{\[}}[0], [1], [2, 3]] output_shape [2, 3, 2, 2] : tensor<2x3x4xf32> into tensor<2x3x2x2xf32>
// CHECK: return %[[R]]
func.func @reshape_expand(%x: tensor<2x3x4xf32>) -> tensor<2x3x2x2xf32> {
  %0 = kiln.reshape %x : tensor<2x3x4xf32> -> tensor<2x3x2x2xf32>
  return %0 : tensor<2x3x2x2xf32>
}

// -----

// No single collapse or expand turns [2,3,4] into [4,6]: go through the flat
// vector.
// CHECK-LABEL: func @reshape_via_flat
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
// CHECK: %[[FLAT:.+]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1, 2]] : tensor<2x3x4xf32> into tensor<24xf32>
// CHECK: %[[R:.+]] = tensor.expand_shape %[[FLAT]] {{\[}}[0, 1]] output_shape [4, 6] : tensor<24xf32> into tensor<4x6xf32>
// CHECK: return %[[R]]
func.func @reshape_via_flat(%x: tensor<2x3x4xf32>) -> tensor<4x6xf32> {
  %0 = kiln.reshape %x : tensor<2x3x4xf32> -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

// CHECK-LABEL: func @reshape_rank0
// CHECK: tensor.expand_shape %{{.+}} [] output_shape [1, 1] : tensor<f32> into tensor<1x1xf32>
// CHECK: tensor.collapse_shape %{{.+}} [] : tensor<1xi32> into tensor<i32>
func.func @reshape_rank0(%x: tensor<f32>, %y: tensor<1xi32>) -> (tensor<1x1xf32>, tensor<i32>) {
  %0 = kiln.reshape %x : tensor<f32> -> tensor<1x1xf32>
  %1 = kiln.reshape %y : tensor<1xi32> -> tensor<i32>
  return %0, %1 : tensor<1x1xf32>, tensor<i32>
}

// -----

// CHECK-DAG: #[[IN:.+]] = affine_map<(d0, d1, d2) -> (d1, 0)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func @broadcast
// CHECK-SAME: (%[[X:.+]]: tensor<3x1xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[IN]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[X]] : tensor<3x1xf32>) outs(%{{.+}} : tensor<2x3x4xf32>)
// CHECK: ^bb0(%[[IN_ARG:.+]]: f32, %{{.+}}: f32):
// CHECK-NEXT: linalg.yield %[[IN_ARG]] : f32
func.func @broadcast(%x: tensor<3x1xf32>) -> tensor<2x3x4xf32> {
  %0 = kiln.broadcast %x : tensor<3x1xf32> -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// Each input is inserted at its running offset; empty inputs are skipped.
// CHECK-LABEL: func @concat
// CHECK-SAME: (%[[A:.+]]: tensor<2x3xf32>, %[[E:.+]]: tensor<2x0xf32>, %[[B:.+]]: tensor<2x5xf32>)
// CHECK: %[[INIT:.+]] = tensor.empty() : tensor<2x8xf32>
// CHECK: %[[S0:.+]] = tensor.insert_slice %[[A]] into %[[INIT]][0, 0] [2, 3] [1, 1] : tensor<2x3xf32> into tensor<2x8xf32>
// CHECK-NOT: %[[E]]
// CHECK: %[[S1:.+]] = tensor.insert_slice %[[B]] into %[[S0]][0, 3] [2, 5] [1, 1] : tensor<2x5xf32> into tensor<2x8xf32>
// CHECK: return %[[S1]]
func.func @concat(%a: tensor<2x3xf32>, %e: tensor<2x0xf32>, %b: tensor<2x5xf32>) -> tensor<2x8xf32> {
  %0 = kiln.concat %a, %e, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x0xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// CHECK-LABEL: func @slice_positive_steps
// CHECK-SAME: (%[[X:.+]]: tensor<4x8xf32>)
// CHECK: %[[R:.+]] = tensor.extract_slice %[[X]][1, 2] [2, 2] [2, 3] : tensor<4x8xf32> to tensor<2x2xf32>
// CHECK: return %[[R]]
func.func @slice_positive_steps(%x: tensor<4x8xf32>) -> tensor<2x2xf32> {
  %0 = kiln.slice %x {starts = array<i64: 1, 2>, steps = array<i64: 2, 3>} : tensor<4x8xf32> -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

// A negative step: a generic over the result that computes
// start + i * step and reads with tensor.extract.
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @slice_negative_step
// CHECK-SAME: (%[[X:.+]]: tensor<4x8xf32>)
// CHECK-NOT: tensor.extract_slice
// CHECK: linalg.generic {indexing_maps = [#[[OUT]]], iterator_types = ["parallel", "parallel"]} outs(%{{.+}} : tensor<4x4xf32>)
// CHECK: %[[I0:.+]] = linalg.index 0 : index
// CHECK: %[[R0:.+]] = arith.addi
// CHECK: %[[I1:.+]] = linalg.index 1 : index
// CHECK-DAG: %[[STEP:.+]] = arith.constant -2 : index
// CHECK-DAG: %[[START:.+]] = arith.constant 7 : index
// CHECK: %[[M:.+]] = arith.muli %[[I1]], %[[STEP]] : index
// CHECK: %[[R1:.+]] = arith.addi %[[START]], %[[M]] : index
// CHECK: %[[V:.+]] = tensor.extract %[[X]][%[[R0]], %[[R1]]] : tensor<4x8xf32>
// CHECK: linalg.yield %[[V]] : f32
func.func @slice_negative_step(%x: tensor<4x8xf32>) -> tensor<4x4xf32> {
  %0 = kiln.slice %x {starts = array<i64: 0, 7>, steps = array<i64: 1, -2>} : tensor<4x8xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

// An empty result needs no reads.
// CHECK-LABEL: func @slice_empty
// CHECK: %[[R:.+]] = tensor.empty() : tensor<0x8xf32>
// CHECK-NEXT: return %[[R]]
func.func @slice_empty(%x: tensor<4x8xf32>) -> tensor<0x8xf32> {
  %0 = kiln.slice %x {starts = array<i64: 0, 0>, steps = array<i64: -1, 1>} : tensor<4x8xf32> -> tensor<0x8xf32>
  return %0 : tensor<0x8xf32>
}

// -----

// Gather along axis 1 of [10,4,6] with [2,3] indices: loops (d0, i0, i1, d3).
// The indices tensor is an input read at (d1, d2); negative indices wrap,
// then the index is clamped to [0, 3].
// CHECK-DAG: #[[IDX:.+]] = affine_map<(d0, d1, d2, d3) -> (d1, d2)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func @gather
// CHECK-SAME: (%[[T:.+]]: tensor<10x4x6xf32>, %[[I:.+]]: tensor<2x3xi64>)
// CHECK: linalg.generic {indexing_maps = [#[[IDX]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[I]] : tensor<2x3xi64>) outs(%{{.+}} : tensor<10x2x3x6xf32>)
// CHECK: ^bb0(%[[RAW:.+]]: i64, %{{.+}}: f32):
// CHECK: %[[IX:.+]] = arith.index_cast %[[RAW]] : i64 to index
// CHECK-DAG: %[[SIZE:.+]] = arith.constant 4 : index
// CHECK-DAG: %[[ZERO:.+]] = arith.constant 0 : index
// CHECK: %[[NEG:.+]] = arith.cmpi slt, %[[IX]], %[[ZERO]] : index
// CHECK: %[[WRAP:.+]] = arith.addi %[[IX]], %[[SIZE]] : index
// CHECK: %[[SEL:.+]] = arith.select %[[NEG]], %[[WRAP]], %[[IX]] : index
// CHECK: %[[LOW:.+]] = arith.constant 0 : index
// CHECK: %[[LO:.+]] = arith.maxsi %[[SEL]], %[[LOW]] : index
// CHECK: %[[LAST:.+]] = arith.constant 3 : index
// CHECK: %[[C:.+]] = arith.minsi %[[LO]], %[[LAST]] : index
// CHECK: %[[D0:.+]] = linalg.index 0 : index
// CHECK: %[[D3:.+]] = linalg.index 3 : index
// CHECK: %[[V:.+]] = tensor.extract %[[T]][%[[D0]], %[[C]], %[[D3]]] : tensor<10x4x6xf32>
// CHECK: linalg.yield %[[V]] : f32
func.func @gather(%t: tensor<10x4x6xf32>, %i: tensor<2x3xi64>) -> tensor<10x2x3x6xf32> {
  %0 = kiln.gather %t, %i {axis = 1 : i64} : (tensor<10x4x6xf32>, tensor<2x3xi64>) -> tensor<10x2x3x6xf32>
  return %0 : tensor<10x2x3x6xf32>
}

// -----

// A rank-0 index with i32 elements (an embedding row).
// CHECK-DAG: #[[IDX:.+]] = affine_map<(d0) -> ()>
// CHECK-LABEL: func @gather_scalar_index
// CHECK: linalg.generic {indexing_maps = [#[[IDX]], #{{.+}}]
// CHECK: arith.index_cast %{{.+}} : i32 to index
// CHECK: %[[D:.+]] = linalg.index 0 : index
// CHECK: tensor.extract %{{.+}}[%{{.+}}, %[[D]]] : tensor<100x16xf32>
func.func @gather_scalar_index(%t: tensor<100x16xf32>, %i: tensor<i32>) -> tensor<16xf32> {
  %0 = kiln.gather %t, %i {axis = 0 : i64} : (tensor<100x16xf32>, tensor<i32>) -> tensor<16xf32>
  return %0 : tensor<16xf32>
}

// -----

// Keep j - i >= diagonal (upper) over the last two dimensions.
// CHECK-LABEL: func @trilu_upper
// CHECK: linalg.generic
// CHECK: ^bb0(%[[IN:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[I:.+]] = linalg.index 1 : index
// CHECK: %[[J:.+]] = linalg.index 2 : index
// CHECK: %[[DIFF:.+]] = arith.subi %[[J]], %[[I]] : index
// CHECK: %[[K:.+]] = arith.constant -1 : index
// CHECK: %[[KEEP:.+]] = arith.cmpi sge, %[[DIFF]], %[[K]] : index
// CHECK: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK: arith.select %[[KEEP]], %[[IN]], %[[ZERO]] : f32
func.func @trilu_upper(%x: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %0 = kiln.trilu %x {upper = true, diagonal = -1 : i64} : tensor<2x4x8xf32>
  return %0 : tensor<2x4x8xf32>
}

// -----

// Lower: j - i <= diagonal.
// CHECK-LABEL: func @trilu_lower
// CHECK: %[[I:.+]] = linalg.index 0 : index
// CHECK: %[[J:.+]] = linalg.index 1 : index
// CHECK: arith.cmpi sle
// CHECK: arith.constant 0 : i32
func.func @trilu_lower(%x: tensor<8x8xi32>) -> tensor<8x8xi32> {
  %0 = kiln.trilu %x {upper = false, diagonal = 0 : i64} : tensor<8x8xi32>
  return %0 : tensor<8x8xi32>
}

// -----

// cumprod: the same scan as cumsum, starting from 1 and multiplying; an
// excluded position contributes the identity 1.
// CHECK-LABEL: func @cumprod_exclusive
// CHECK-DAG: %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK: linalg.fill ins(%[[ONE]] : f32)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.cmpi slt
// CHECK: arith.select
// CHECK: arith.mulf
func.func @cumprod_exclusive(%x: tensor<5xf32>) -> tensor<5xf32> {
  %0 = kiln.cumprod %x {axis = 0 : i64, exclusive = true} : tensor<5xf32>
  return %0 : tensor<5xf32>
}

// -----

// Shifts select 0 when the amount reaches the bit width (LLVM would give
// poison); right shifts are logical.
// CHECK-LABEL: func @shifts
// CHECK: arith.shli
// CHECK: arith.cmpi ult
// CHECK: arith.select
// CHECK: arith.shrui
// CHECK: arith.cmpi ult
// CHECK: arith.select
func.func @shifts(%a: tensor<4xi8>, %b: tensor<4xi8>) -> (tensor<4xi8>, tensor<4xi8>) {
  %0 = kiln.shift_left %a, %b : (tensor<4xi8>, tensor<4xi8>) -> tensor<4xi8>
  %1 = kiln.shift_right %a, %b : (tensor<4xi8>, tensor<4xi8>) -> tensor<4xi8>
  return %0, %1 : tensor<4xi8>, tensor<4xi8>
}
