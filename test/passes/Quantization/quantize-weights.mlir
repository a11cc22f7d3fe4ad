// kiln-quantize-weights: constant float weights of kiln.linear (and of
// kiln.matmul with a 2-D constant right operand) become kiln.qlinear on
// quantized constants, with the format's block shape and scale type; other
// constants and non-constant weights are left alone.
// RUN: kiln-opt %s --kiln-quantize-weights=format=int8 | FileCheck %s --check-prefix=INT8
// RUN: kiln-opt %s --kiln-quantize-weights=format=int4-g32 | FileCheck %s --check-prefix=INT4
// RUN: kiln-opt %s --kiln-quantize-weights=format=fp8-block | FileCheck %s --check-prefix=FP8
// RUN: kiln-opt %s --kiln-quantize-weights=format=mxfp4 | FileCheck %s --check-prefix=MXFP4
// RUN: kiln-opt %s --kiln-quantize-weights=format=nvfp4 | FileCheck %s --check-prefix=NVFP4
// RUN: not kiln-opt %s --kiln-quantize-weights=format=int3 2>&1 | FileCheck %s --check-prefix=BAD

// INT8-LABEL: func.func @linear
// INT8: %[[W:.+]] = arith.constant dense<{{.*}}> : tensor<2x64xi8>
// INT8: %[[S:.+]] = arith.constant dense<{{.*}}> : tensor<2x1xf32>
// INT8: kiln.qlinear %arg0, %[[W]], %[[S]] bias %arg1 {block_shape = array<i64: 1, 64>, kiln.quant_error = {{.*}} : f64}
// INT8-SAME: -> tensor<3x2xf32>
// INT4-LABEL: func.func @linear
// INT4: arith.constant dense<{{.*}}> : tensor<2x64xi4>
// INT4: arith.constant dense<{{.*}}> : tensor<2x2xf32>
// INT4: kiln.qlinear {{.*}}block_shape = array<i64: 1, 32>
// FP8-LABEL: func.func @linear
// FP8: arith.constant dense<{{.*}}> : tensor<2x64xf8E4M3FN>
// FP8: arith.constant dense<{{.*}}> : tensor<1x1xf32>
// FP8: kiln.qlinear {{.*}}block_shape = array<i64: 128, 128>
// MXFP4-LABEL: func.func @linear
// MXFP4: arith.constant dense<{{.*}}> : tensor<2x64xf4E2M1FN>
// MXFP4: arith.constant dense<{{.*}}> : tensor<2x2xf8E8M0FNU>
// MXFP4: kiln.qlinear {{.*}}block_shape = array<i64: 1, 32>
// NVFP4-LABEL: func.func @linear
// NVFP4: arith.constant dense<{{.*}}> : tensor<2x64xf4E2M1FN>
// NVFP4: arith.constant dense<{{.*}}> : tensor<2x4xf8E4M3FN>
// NVFP4: %[[G:.+]] = arith.constant dense<{{.*}}> : tensor<f32>
// NVFP4: kiln.qlinear {{.*}} global_scale %[[G]] bias {{.*}}block_shape = array<i64: 1, 16>
func.func @linear(%x: tensor<3x64xf32>, %b: tensor<2xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0, 0.5, -1.0, 0.25, 2.0, 0.5, -1.0, 0.25, 2.0, 0.5, -1.0, 0.25, 2.0, 0.5, -1.0, 0.25, 2.0, 0.5, -1.0, 0.25, 2.0, 0.5, -1.0, 0.25, 2.0, 0.5, -1.0, 0.25, 2.0, 0.5, -1.0, 0.25, 2.0, 0.5, -1.0, 0.25, 2.0, 0.5, -1.0, 0.25, 2.0, 0.5, -1.0, 0.25, 2.0, 0.5, -1.0, 0.25, 2.0, 0.5, -1.0, 0.25, 2.0, 0.5, -1.0, 0.25, 2.0, 0.5, -1.0, 0.25, 2.0], [1.0, 1.5, -3.0, 0.1, 1.0, 1.5, -3.0, 0.1, 1.0, 1.5, -3.0, 0.1, 1.0, 1.5, -3.0, 0.1, 1.0, 1.5, -3.0, 0.1, 1.0, 1.5, -3.0, 0.1, 1.0, 1.5, -3.0, 0.1, 1.0, 1.5, -3.0, 0.1, 1.0, 1.5, -3.0, 0.1, 1.0, 1.5, -3.0, 0.1, 1.0, 1.5, -3.0, 0.1, 1.0, 1.5, -3.0, 0.1, 1.0, 1.5, -3.0, 0.1, 1.0, 1.5, -3.0, 0.1, 1.0, 1.5, -3.0, 0.1, 1.0, 1.5, -3.0, 0.1]]> : tensor<2x64xf32>
  %y = kiln.linear %x, %w, %b : (tensor<3x64xf32>, tensor<2x64xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// A matmul's [K, N] constant is transposed to the [N, K] weight.
// INT8-LABEL: func.func @matmul
// INT8: arith.constant dense<{{\[\[}}127, -127], [127, -127], [127, -127]]> : tensor<3x2xi8>
// INT8: kiln.qlinear {{.*}}block_shape = array<i64: 1, 2>
// INT8-SAME: (tensor<5x2xf32>, tensor<3x2xi8>, tensor<3x1xf32>) -> tensor<5x3xf32>
func.func @matmul(%x: tensor<5x2xf32>) -> tensor<5x3xf32> {
  %w = arith.constant dense<[[4.0, 2.0, 1.0], [-4.0, -2.0, -1.0]]> : tensor<2x3xf32>
  %y = kiln.matmul %x, %w : (tensor<5x2xf32>, tensor<2x3xf32>) -> tensor<5x3xf32>
  return %y : tensor<5x3xf32>
}

// Weights computed at run time stay as they are.
// INT8-LABEL: func.func @runtime_weight
// INT8: kiln.linear
// INT8-NOT: kiln.qlinear
func.func @runtime_weight(%x: tensor<3x4xf32>, %w: tensor<2x4xf32>) -> tensor<3x2xf32> {
  %y = kiln.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// BAD: error: unknown quantization format 'int3' (expected int8, int4-g32, int4-g128, fp8-block, mxfp4 or nvfp4)

// Expert weights [E, N, K] are stored quantized as one [E * N, K] matrix
// and dequantized in front of kiln.moe_experts, with a per-expert block
// shape; the fp8 blocks keep to one expert (N = 4 rows here).
// INT8-LABEL: func.func @experts
// INT8: %[[G:.+]] = arith.constant dense<{{.*}}> : tensor<2x4x3xi8>
// INT8: %[[GS:.+]] = arith.constant dense<{{.*}}> : tensor<2x4x1xf32>
// INT8: %[[GD:.+]] = kiln.dequantize %[[G]], %[[GS]] {block_shape = array<i64: 1, 1, 3>, kiln.quant_error = {{.*}}} : (tensor<2x4x3xi8>, tensor<2x4x1xf32>) -> tensor<2x4x3xf32>
// INT8: kiln.dequantize {{.*}} -> tensor<2x3x4xf32>
// INT8: kiln.moe_experts {{.*}}, %[[GD]],
// FP8-LABEL: func.func @experts
// FP8: kiln.dequantize {{.*}} {block_shape = array<i64: 1, 4, 128>, {{.*}}} : (tensor<2x4x3xf8E4M3FN>, tensor<2x1x1xf32>) -> tensor<2x4x3xf32>
// NVFP4-LABEL: func.func @experts
// NVFP4: %[[D:.+]] = kiln.dequantize {{.*}} : (tensor<2x4x3xf4E2M1FN>, tensor<2x4x1xf8E4M3FN>) -> tensor<2x4x3xf32>
// NVFP4: kiln.mul %[[D]], {{.*}} : (tensor<2x4x3xf32>, tensor<f32>) -> tensor<2x4x3xf32>
func.func @experts(%x: tensor<5x3xf32>, %e: tensor<5x2xi64>, %w: tensor<5x2xf32>) -> tensor<5x3xf32> {
  %gate = arith.constant dense<[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0], [1.5, 2.5, 3.5]], [[-1.0, -2.0, -3.0], [0.5, 0.25, 0.125], [2.0, 0.0, -2.0], [3.0, 1.0, 2.0]]]> : tensor<2x4x3xf32>
  %down = arith.constant dense<[[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 1.0, 2.0, 3.0]], [[-1.0, -2.0, -3.0, 0.5], [0.5, 0.25, 0.125, 1.0], [2.0, 0.0, -2.0, 3.0]]]> : tensor<2x3x4xf32>
  %y = kiln.moe_experts %x, %e, %w, %gate, %down {activation = #kiln.expert_activation<relu>} : (tensor<5x3xf32>, tensor<5x2xi64>, tensor<5x2xf32>, tensor<2x4x3xf32>, tensor<2x3x4xf32>) -> tensor<5x3xf32>
  return %y : tensor<5x3xf32>
}
