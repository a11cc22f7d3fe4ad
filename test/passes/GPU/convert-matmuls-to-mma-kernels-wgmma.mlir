// RUN: kiln-opt %s -kiln-gpu-convert-matmuls-to-mma-kernels | FileCheck %s

#a = affine_map<(m, k, n) -> (m, k)>
#b = affine_map<(m, k, n) -> (k, n)>
#c = affine_map<(m, k, n) -> (m, n)>

// C[128x256] += A[128x128] * B[128x256] in bf16: N a multiple of 128 and
// K of 64, so one launch of 64x128 tiles (grid 2x2) with one 48 KiB
// buffer and two bodies chosen by the arch predicate: on sm_90a the
// wgmma kernel (cp.async into the swizzled stages: 4 A + 8 B chunks per
// thread and K tile; fence.proxy.async, then 4 wgmma m64n128k16 per K
// tile, B N-major), elsewhere the mma.sync kernel on both 64x64 halves
// through views of the same buffer.
// CHECK: func.func private @kiln_gpu_arch_has_wgmma() -> i1 attributes {kiln.gpu_arch_predicate = ["sm_90a"], kiln.gpu_workgroup_alignment = 1024 : i64}
// CHECK-LABEL: func.func @matmul_bf16
// CHECK-NOT: linalg.generic
// CHECK: gpu.launch blocks(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %c2{{.*}}, %{{.+}} = %c2{{.*}}, %{{.+}} = %c1{{.*}}) threads(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %c128{{.*}}, %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}}) workgroup(%[[S:.+]] : memref<24576xbf16, #gpu.address_space<workgroup>>)
// CHECK: %[[P:.+]] = func.call @kiln_gpu_arch_has_wgmma() : () -> i1
// CHECK: scf.if %[[P]] {
// CHECK: memref.extract_aligned_pointer_as_index %[[S]]
// CHECK-COUNT-4: nvgpu.device_async_copy %arg0[{{.+}}], %[[S]][{{.+}}], 8 {bypassL1} : memref<128x128xbf16> to memref<24576xbf16, #gpu.address_space<workgroup>>
// CHECK-COUNT-8: nvgpu.device_async_copy %arg1[{{.+}}], %[[S]][{{.+}}], 8 {bypassL1} : memref<128x256xbf16> to memref<24576xbf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_create_group
// CHECK-COUNT-32: vector.load %arg2[{{.+}}] : memref<128x256xf32>, vector<2xf32>
// CHECK: scf.for
// CHECK-COUNT-12: nvgpu.device_async_copy
// CHECK: nvgpu.device_async_wait %{{.+}} {numGroups = 1 : i32}
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: nvvm.wgmma.mma_async %{{.+}}, %{{.+}}, %{{.+}}, <m = 64, n = 128, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NEXT: gpu.barrier
// CHECK: scf.yield
// CHECK: nvgpu.device_async_wait %{{.+}} {numGroups = 0 : i32}
// CHECK: nvvm.fence.proxy
// CHECK-COUNT-4: nvvm.wgmma.mma_async
// CHECK-COUNT-32: vector.store %{{.+}}, %arg2[{{.+}}] : memref<128x256xf32>, vector<2xf32>
// CHECK: } else {
// CHECK: memref.reinterpret_cast %[[S]] to offset: [0], sizes: [2, 64, 32], strides: [2048, 32, 1]
// CHECK: memref.reinterpret_cast %[[S]] to offset: [4096], sizes: [2, 32, 64], strides: [2048, 64, 1]
// CHECK-NOT: nvvm.wgmma
// CHECK-COUNT-32: nvvm.mma.sync
// CHECK: gpu.barrier
// CHECK-NOT: nvvm.wgmma
// CHECK-COUNT-32: nvvm.mma.sync
// CHECK-NOT: nvvm.wgmma
// CHECK: gpu.terminator
func.func @matmul_bf16(%A: memref<128x128xbf16>, %B: memref<128x256xbf16>, %C: memref<128x256xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%A, %B : memref<128x128xbf16>, memref<128x256xbf16>) outs(%C : memref<128x256xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %0 = arith.extf %x : bf16 to f32
    %1 = arith.extf %y : bf16 to f32
    %2 = arith.mulf %0, %1 : f32
    %3 = arith.addf %acc, %2 : f32
    linalg.yield %3 : f32
  }
  return
}

#ba = affine_map<(b, m, k, n) -> (b, m, k)>
#bb = affine_map<(b, m, k, n) -> (b, k, n)>
#bc = affine_map<(b, m, k, n) -> (b, m, n)>

// f16 with a batch (grid z) in A, B and C: the batch index leads every
// copy's source and every C access.
// CHECK-LABEL: func.func @bmm_f16
// CHECK: gpu.launch blocks({{.+}}) in (%{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}}, %{{.+}} = %c3{{.*}})
// CHECK: nvgpu.device_async_copy %arg0[%{{[a-z0-9_]+}}, %{{.+}}, %{{.+}}], {{.+}} : memref<3x64x64xf16> to memref<24576xf16
// CHECK: nvgpu.device_async_copy %arg1[%{{[a-z0-9_]+}}, %{{.+}}, %{{.+}}], {{.+}} : memref<3x64x128xf16> to memref<24576xf16
// CHECK: nvvm.wgmma.mma_async {{.+}} A[<f16>, <one>, <row>], B[<f16>, <one>, <row>]
// CHECK: nvgpu.mma.sync
func.func @bmm_f16(%A: memref<3x64x64xf16>, %B: memref<3x64x128xf16>, %C: memref<3x64x128xf32>) {
  linalg.generic {indexing_maps = [#ba, #bb, #bc], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%A, %B : memref<3x64x64xf16>, memref<3x64x128xf16>) outs(%C : memref<3x64x128xf32>) {
  ^bb0(%x: f16, %y: f16, %acc: f32):
    %0 = arith.extf %x : f16 to f32
    %1 = arith.extf %y : f16 to f32
    %2 = arith.mulf %0, %1 : f32
    %3 = arith.addf %acc, %2 : f32
    linalg.yield %3 : f32
  }
  return
}

// K = 96 is not a multiple of 64: the mma.sync kernel alone (64x64
// tiles, its own two buffers, no predicate call).
// CHECK-LABEL: func.func @k96
// CHECK: gpu.launch {{.+}} workgroup(%{{.+}} : memref<2x64x32xbf16, #gpu.address_space<workgroup>>, %{{.+}} : memref<2x32x64xbf16, #gpu.address_space<workgroup>>)
// CHECK-NOT: kiln_gpu_arch_has_wgmma
// CHECK-NOT: nvvm.wgmma
// CHECK: gpu.terminator
func.func @k96(%A: memref<64x96xbf16>, %B: memref<96x128xbf16>, %C: memref<64x128xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%A, %B : memref<64x96xbf16>, memref<96x128xbf16>) outs(%C : memref<64x128xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %0 = arith.extf %x : bf16 to f32
    %1 = arith.extf %y : bf16 to f32
    %2 = arith.mulf %0, %1 : f32
    %3 = arith.addf %acc, %2 : f32
    linalg.yield %3 : f32
  }
  return
}
