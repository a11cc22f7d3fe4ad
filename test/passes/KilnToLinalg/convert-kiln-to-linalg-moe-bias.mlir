// RUN: kiln-opt %s -kiln-convert-kiln-to-linalg -split-input-file | FileCheck %s

// kiln.moe_experts with biases and SwiGLU parameters: each bias row of the
// routed expert is sliced at the expert's dynamic offset and added after its
// matvec; the SwiGLU body clamps the gate from above and the up projection
// on both sides by the limit, scales the sigmoid's argument by alpha and
// adds beta to the up projection. The defaults emit none of this (see
// lower-moe.mlir).

// CHECK-LABEL: func @swiglu_bias
// CHECK-SAME: %[[BG:[a-z0-9]+]]: tensor<8x16xf32>, %[[BU:[a-z0-9]+]]: tensor<8x16xf32>, %[[BD:[a-z0-9]+]]: tensor<8x6xf32>)
// CHECK: %[[EI:.+]] = arith.index_cast %{{.+}} : i64 to index
// CHECK: %[[H:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]
// CHECK: %[[BGE:.+]] = tensor.extract_slice %[[BG]][%[[EI]], 0] [1, 16] [1, 1] : tensor<8x16xf32> to tensor<16xf32>
// CHECK: %[[HB:.+]] = linalg.generic {{.+}} ins(%[[H]], %[[BGE]] : tensor<16xf32>, tensor<16xf32>)
// CHECK: arith.addf
// CHECK: %[[U:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]
// CHECK: %[[BUE:.+]] = tensor.extract_slice %[[BU]][%[[EI]], 0] [1, 16] [1, 1] : tensor<8x16xf32> to tensor<16xf32>
// CHECK: %[[UB:.+]] = linalg.generic {{.+}} ins(%[[U]], %[[BUE]] : tensor<16xf32>, tensor<16xf32>)
// CHECK: linalg.generic {{.+}} ins(%[[HB]], %[[UB]] : tensor<16xf32>, tensor<16xf32>)
// CHECK: ^bb0(%[[G:.+]]: f32, %[[L:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[LIM:.+]] = arith.constant 7.000000e+00 : f32
// CHECK: %[[GC:.+]] = arith.minimumf %[[G]], %[[LIM]] : f32
// CHECK: %[[NLIM:.+]] = arith.constant -7.000000e+00 : f32
// CHECK: %[[LIM2:.+]] = arith.constant 7.000000e+00 : f32
// CHECK: %[[LHI:.+]] = arith.minimumf %[[L]], %[[LIM2]] : f32
// CHECK: %[[LC:.+]] = arith.maximumf %[[LHI]], %[[NLIM]] : f32
// CHECK: %[[ALPHA:.+]] = arith.constant 1.702000e+00 : f32
// CHECK: %[[Z:.+]] = arith.mulf %[[GC]], %[[ALPHA]] : f32
// CHECK: %[[BETA:.+]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[LB:.+]] = arith.addf %[[LC]], %[[BETA]] : f32
// CHECK: %[[NZ:.+]] = arith.negf %[[Z]] : f32
// CHECK: %[[EXP:.+]] = math.exp %[[NZ]] : f32
// CHECK: %[[SIG:.+]] = arith.divf
// CHECK: %[[GS:.+]] = arith.mulf %[[GC]], %[[SIG]] : f32
// CHECK: %[[ACT:.+]] = arith.mulf %[[GS]], %[[LB]] : f32
// CHECK: linalg.yield %[[ACT]] : f32
// CHECK: %[[O:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]
// CHECK: %[[BDE:.+]] = tensor.extract_slice %[[BD]][%[[EI]], 0] [1, 6] [1, 1] : tensor<8x6xf32> to tensor<6xf32>
// CHECK: linalg.generic {{.+}} ins(%[[O]], %[[BDE]] : tensor<6xf32>, tensor<6xf32>)
func.func @swiglu_bias(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>, %u: tensor<8x16x6xf32>, %bg: tensor<8x16xf32>, %bu: tensor<8x16xf32>, %bd: tensor<8x6xf32>) -> tensor<4x6xf32> {
  %0 = kiln.moe_experts %x, %e, %w, %g, %d up %u gate_bias %bg up_bias %bu down_bias %bd {activation = #kiln.expert_activation<swiglu>, swiglu_alpha = 1.702 : f32, swiglu_beta = 1.0 : f32, swiglu_limit = 7.0 : f32} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>, tensor<8x16x6xf32>, tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x6xf32>) -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

// SiLU: h * sigmoid(h).
// CHECK-LABEL: func @silu
// CHECK: %[[H:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]
// CHECK: linalg.generic {{.+}} ins(%[[H]] : tensor<16xf32>)
// CHECK: ^bb0(%[[V:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[NEG:.+]] = arith.negf %[[V]] : f32
// CHECK: math.exp %[[NEG]]
// CHECK: %[[SIG:.+]] = arith.divf
// CHECK: %[[A:.+]] = arith.mulf %[[V]], %[[SIG]] : f32
// CHECK: linalg.yield %[[A]] : f32
func.func @silu(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>) -> tensor<4x6xf32> {
  %0 = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<silu>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>) -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

// GELU with the tanh approximation.
// CHECK-LABEL: func @gelu_tanh
// CHECK: %[[H:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]
// CHECK: linalg.generic {{.+}} ins(%[[H]] : tensor<16xf32>)
// CHECK: math.tanh
// CHECK: linalg.yield
func.func @gelu_tanh(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>) -> tensor<4x6xf32> {
  %0 = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<gelu_tanh>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>) -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

// Identity: the elementwise step yields its input.
// CHECK-LABEL: func @identity
// CHECK: %[[H:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]
// CHECK: linalg.generic {{.+}} ins(%[[H]] : tensor<16xf32>)
// CHECK-NEXT: ^bb0(%[[V:.+]]: f32, %{{.+}}: f32):
// CHECK-NEXT: linalg.yield %[[V]] : f32
func.func @identity(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>) -> tensor<4x6xf32> {
  %0 = kiln.moe_experts %x, %e, %w, %g, %d {activation = #kiln.expert_activation<identity>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>) -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}
