// RUN: kiln-opt %s -kiln-gpu-convert-matmuls-to-mma-kernels | FileCheck %s

#a = affine_map<(m, k, n) -> (m, k)>
#b = affine_map<(m, k, n) -> (k, n)>
#c = affine_map<(m, k, n) -> (m, n)>

// C[128x64] += A[128x64] * B[64x64] in f16: a 1x2 grid of 64x64 tiles,
// 128 threads, two shared stages per operand, 8 16-byte cp.async per K
// tile (A 2 + B 2 per thread, issued for tile 0 and in the loop),
// ldmatrix x4 for A and x2.trans for B, and 8 fragments x 2 k16 steps of
// mma.sync per K tile (in the loop and in the peeled last tile).
// CHECK-LABEL: func.func @matmul_f16
// CHECK-NOT: linalg.generic
// CHECK: gpu.launch blocks(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %c1{{.*}}, %{{.+}} = %c2{{.*}}, %{{.+}} = %c1{{.*}}) threads(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %c128{{.*}}, %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}}) workgroup(%[[AS:.+]] : memref<2x64x32xf16, #gpu.address_space<workgroup>>, %[[BS:.+]] : memref<2x32x64xf16, #gpu.address_space<workgroup>>)
// CHECK-COUNT-2: nvgpu.device_async_copy %arg0[{{.+}}], %[[AS]][{{.+}}], 8 {bypassL1}
// CHECK-COUNT-2: nvgpu.device_async_copy %arg1[{{.+}}], %[[BS]][{{.+}}], 8 {bypassL1}
// CHECK: %[[G:.+]] = nvgpu.device_async_create_group
// CHECK-COUNT-16: vector.load %arg2[{{.+}}] : memref<128x64xf32>, vector<2xf32>
// CHECK: scf.for %{{.+}} = %c0{{.*}} to %c1{{.*}} step %c1{{.*}} iter_args(
// CHECK-COUNT-4: nvgpu.device_async_copy
// CHECK: nvgpu.device_async_wait %{{.+}} {numGroups = 1 : i32}
// CHECK: gpu.barrier
// CHECK-COUNT-2: nvgpu.ldmatrix %[[AS]][{{.+}}] {numTiles = 4 : i32, transpose = false} : memref<2x64x32xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
// CHECK-COUNT-4: nvgpu.ldmatrix %[[BS]][{{.+}}] {numTiles = 2 : i32, transpose = true} : memref<2x32x64xf16, #gpu.address_space<workgroup>> -> vector<2x2xf16>
// CHECK-COUNT-8: nvgpu.mma.sync({{.+}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK: scf.yield
// CHECK: nvgpu.device_async_wait %[[G]] {numGroups = 0 : i32}
// CHECK-COUNT-16: nvgpu.mma.sync
// CHECK-COUNT-16: vector.store %{{.+}}, %arg2[{{.+}}] : memref<128x64xf32>, vector<2xf32>
// CHECK: gpu.terminator
func.func @matmul_f16(%A: memref<128x64xf16>, %B: memref<64x64xf16>, %C: memref<128x64xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%A, %B : memref<128x64xf16>, memref<64x64xf16>) outs(%C : memref<128x64xf32>) {
  ^bb0(%x: f16, %y: f16, %acc: f32):
    %0 = arith.extf %y : f16 to f32
    %1 = arith.extf %x : f16 to f32
    %2 = arith.mulf %1, %0 : f32
    %3 = arith.addf %acc, %2 : f32
    linalg.yield %3 : f32
  }
  return
}

#ba = affine_map<(b, m, k, n) -> (b, m, k)>
#bb = affine_map<(b, m, k, n) -> (k, n)>
#bc = affine_map<(b, m, k, n) -> (b, m, n)>

// bf16 with a batch (grid z) and a B shared by every batch: nvvm.mma.sync
// on i32 registers (MLIR 22.1's nvgpu.mma.sync cannot type bf16).
// CHECK-LABEL: func.func @bmm_bf16
// CHECK: gpu.launch blocks({{.+}}) in (%{{.+}} = %c2{{.*}}, %{{.+}} = %c1{{.*}}, %{{.+}} = %c2{{.*}})
// CHECK: nvgpu.device_async_copy %arg0[%{{[a-z0-9]+}}, %{{.+}}, %{{.+}}], {{.+}} : memref<2x64x32xbf16> to
// CHECK: nvgpu.device_async_copy %arg1[%{{[a-z0-9]+}}, %{{[a-z0-9]+}}], {{.+}} : memref<32x128xbf16> to
// CHECK: nvvm.mma.sync A[{{.+}}] B[{{.+}}] C[{{.+}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
func.func @bmm_bf16(%A: memref<2x64x32xbf16>, %B: memref<32x128xbf16>, %C: memref<2x64x128xf32>) {
  linalg.generic {indexing_maps = [#ba, #bb, #bc], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%A, %B : memref<2x64x32xbf16>, memref<32x128xbf16>) outs(%C : memref<2x64x128xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %0 = arith.extf %x : bf16 to f32
    %1 = arith.extf %y : bf16 to f32
    %2 = arith.mulf %0, %1 : f32
    %3 = arith.addf %acc, %2 : f32
    linalg.yield %3 : f32
  }
  return
}

// Not claimed: M = 48 is not a multiple of the 64-row tile, and f32
// inputs take the generic path.
// CHECK-LABEL: func.func @ragged
// CHECK-NOT: gpu.launch
// CHECK: linalg.generic
// CHECK-LABEL: func.func @f32
// CHECK-NOT: gpu.launch
// CHECK: linalg.generic
func.func @ragged(%A: memref<48x64xf16>, %B: memref<64x64xf16>, %C: memref<48x64xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%A, %B : memref<48x64xf16>, memref<64x64xf16>) outs(%C : memref<48x64xf32>) {
  ^bb0(%x: f16, %y: f16, %acc: f32):
    %0 = arith.extf %x : f16 to f32
    %1 = arith.extf %y : f16 to f32
    %2 = arith.mulf %0, %1 : f32
    %3 = arith.addf %acc, %2 : f32
    linalg.yield %3 : f32
  }
  return
}
func.func @f32(%A: memref<64x64xf32>, %B: memref<64x64xf32>, %C: memref<64x64xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%A, %B : memref<64x64xf32>, memref<64x64xf32>) outs(%C : memref<64x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %2 = arith.mulf %x, %y : f32
    %3 = arith.addf %acc, %2 : f32
    linalg.yield %3 : f32
  }
  return
}
