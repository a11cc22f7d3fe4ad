// RUN: kiln-opt %s -kiln-cpu-pipeline -split-input-file | FileCheck %s --check-prefix=LLVM
// RUN: kiln-opt %s -kiln-cpu-tensor-pipeline -split-input-file | FileCheck %s --check-prefix=TENSOR

// The CPU pipelines end to end.

// A small MLP: linear + gelu + linear + softmax, with non-splat weights (splat
// ones would be folded into scalars).
//
// kiln-cpu-pipeline gives LLVM dialect with a bare-pointer entry: every
// buffer is one !llvm.ptr, weights (more than 64 elements) come first, the
// input next, the result as an out-param, and last the workspace that
// holds the intermediates (kiln-plan-workspace): nothing is returned and
// nothing is allocated.
// The weights arrive transposed ([K, N]): see the note on weight names below.
// LLVM-LABEL: llvm.func @main(
// LLVM-SAME: %arg0: !llvm.ptr {kiln.name = "{{[^"]+}}", kiln.weight = dense<{{[^>]+}}> : tensor<16x8xf32>},
// LLVM-SAME: %arg1: !llvm.ptr {kiln.name = "{{[^"]+}}", kiln.weight = dense<{{[^>]+}}> : tensor<8x16xf32>},
// LLVM-SAME: %arg2: !llvm.ptr, %arg3: !llvm.ptr, %arg4: !llvm.ptr {kiln.workspace}) attributes {kiln.workspace_bytes = 128 : i64} {{[{]$}}
// LLVM-NOT: @malloc
// LLVM-NOT: memref<
// LLVM-NOT: linalg.
// LLVM-NOT: func.func
// LLVM: llvm.call @erff
// LLVM: llvm.intr.exp
// LLVM: llvm.fdiv
// LLVM: llvm.return{{$}}
//
// kiln-cpu-tensor-pipeline stops at linalg on tensors, with the weights
// already outlined and no Kiln op left. (Today the bias add and the GELU are
// fused into the second matmul's reduction generic, which recomputes them for
// every output column; that is deliberately not checked here.)
//
// NOTE: the outlined weights are the transposed copies that
// linalg-fuse-elementwise-ops constant-folds out of kiln.linear's transpose,
// so a NameLoc on the original constant does not survive (they come out as
// "weight0", "weight1"); the names are deliberately not checked here.
// TENSOR-LABEL: func.func @main(
// TENSOR-SAME: %[[W2:[^:]+]]: tensor<16x8xf32> {bufferization.writable = false, kiln.name = "{{[^"]+}}", kiln.weight = {{[^}]+}}},
// TENSOR-SAME: %[[W1:[^:]+]]: tensor<8x16xf32> {bufferization.writable = false, kiln.name = "{{[^"]+}}", kiln.weight = {{[^}]+}}},
// TENSOR-SAME: %[[X:[^:]+]]: tensor<2x8xf32>) -> tensor<2x8xf32>
// TENSOR-NOT: kiln.
// TENSOR: linalg.generic {{.+}} iterator_types = ["parallel", "reduction", "parallel"]{{.+}} ins(%[[X]], %[[W1]] :
// TENSOR-DAG: math.erf
// TENSOR-DAG: ins({{.*}}%[[W2]] :
// TENSOR: arith.maximumf
// TENSOR: math.exp
// TENSOR: arith.divf
// TENSOR-NOT: kiln.
func.func @main(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %w1 = arith.constant dense<[[-0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0], [0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5], [-0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25], [0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25], [0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5], [-0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0], [0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5], [-0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25], [0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25], [0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5], [-0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0], [0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5], [-0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25], [0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25], [0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5], [-0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0]]> : tensor<16x8xf32>
  %b1 = arith.constant dense<[-0.125, 0.0, 0.125, -0.125, 0.0, 0.125, -0.125, 0.0, 0.125, -0.125, 0.0, 0.125, -0.125, 0.0, 0.125, -0.125]> : tensor<16xf32>
  %w2 = arith.constant dense<[[-0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25], [0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0], [0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25], [0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5], [-0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5], [-0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25], [0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0], [0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25, 0.5, -0.5, -0.25, 0.0, 0.25]]> : tensor<8x16xf32>
  %0 = kiln.linear %x, %w1, %b1 : (tensor<2x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<2x16xf32>
  %1 = kiln.gelu %0 : tensor<2x16xf32>
  %2 = kiln.linear %1, %w2 : (tensor<2x16xf32>, tensor<8x16xf32>) -> tensor<2x8xf32>
  %3 = kiln.softmax %2 {axis = -1 : i64} : tensor<2x8xf32>
  return %3 : tensor<2x8xf32>
}

// -----

// add followed by relu becomes ONE linalg.generic.
// TENSOR-LABEL: func.func @main(
// TENSOR-SAME: %[[A:[^:]+]]: tensor<4x8xf32>, %[[B:[^:]+]]: tensor<8xf32>) -> tensor<4x8xf32>
// TENSOR: %[[R:.+]] = linalg.generic
// TENSOR-SAME: ins(%[[A]], %[[B]] : tensor<4x8xf32>, tensor<8xf32>)
// TENSOR: %[[S:.+]] = arith.addf
// TENSOR-NEXT: %[[M:.+]] = arith.maximumf %[[S]], %{{.+}} : f32
// TENSOR-NEXT: linalg.yield %[[M]]
// TENSOR-NOT: linalg.generic
// TENSOR: return %[[R]]
//
// LLVM-LABEL: llvm.func @main(
// LLVM-SAME: %arg0: !llvm.ptr, %arg1: !llvm.ptr, %arg2: !llvm.ptr, %arg3: !llvm.ptr {kiln.workspace}) attributes {kiln.workspace_bytes = 0 : i64} {{[{]$}}
// LLVM-NOT: @malloc
// LLVM: llvm.fadd
// LLVM: llvm.intr.maximum
// LLVM: llvm.return{{$}}
func.func @main(%a: tensor<4x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %0 = kiln.add %a, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %1 = kiln.relu %0 : tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// -----

// Attention runs as the fused kernel of
// kiln-cpu-convert-attention-to-tiled-loops: no [S, L] scores tensor, and
// its products are FMAs on vectors of 32 query rows, down to LLVM.
// TENSOR-LABEL: func.func @main(
// TENSOR-NOT: kiln.
// TENSOR-NOT: 32x32xf32
// TENSOR: scf.for
// TENSOR: vector.fma {{.+}} : vector<32xf32>
// TENSOR-NOT: 32x32xf32
// TENSOR: return
//
// At this size the loop over heads is sequential, so the kernel's
// per-block buffers live in the workspace too: nothing is allocated.
// LLVM-LABEL: llvm.func @main(
// LLVM-SAME: %arg4: !llvm.ptr {kiln.workspace}) attributes {kiln.workspace_bytes = {{[1-9][0-9]*}} : i64}
// LLVM-NOT: @malloc
// LLVM: llvm.intr.fmuladd({{.+}}) : (vector<32xf32>, vector<32xf32>, vector<32xf32>) -> vector<32xf32>
// LLVM: llvm.return{{$}}
func.func @main(%q: tensor<1x2x32x8xf32>, %k: tensor<1x2x32x8xf32>, %v: tensor<1x2x32x8xf32>) -> tensor<1x2x32x8xf32> {
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.35 : f32, mask_kind = #kiln.mask_kind<causal>} : (tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>) -> (tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>)
  return %o : tensor<1x2x32x8xf32>
}
