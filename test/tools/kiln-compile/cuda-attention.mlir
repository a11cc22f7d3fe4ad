// --target cuda: f32 kiln.attention takes kiln-gpu-convert-attention-to-kernels'
// flash-attention kernels; ptxas accepts them for sm_80 and sm_90a.
// REQUIRES: ptxas
// RUN: kiln-compile %s --target cuda --gpu-arch sm_80,sm_90a -o %t.kiln
// RUN: kiln-run --print-signature %t.kiln | FileCheck %s --check-prefix=SIG
// RUN: %python %kiln_src/test/e2e/cuda/check_cuda_compile.py --dump %t.kiln | FileCheck %s --check-prefix=ART
// RUN: kiln-compile %s --target cuda --gpu-arch sm_80 --emit=ptx -o %t.sm_80.ptx
// RUN: FileCheck %s --check-prefix=PTX < %t.sm_80.ptx
// RUN: %cuda_path/bin/ptxas -arch=sm_80 -v %t.sm_80.ptx -o %t.sm_80.cubin 2>&1 | FileCheck %s --check-prefix=REGS
// RUN: kiln-compile %s --target cuda --gpu-arch sm_90a --emit=ptx -o %t.sm_90a.ptx
// RUN: FileCheck %s --check-prefix=PTX < %t.sm_90a.ptx
// RUN: %cuda_path/bin/ptxas -arch=sm_90a -v %t.sm_90a.ptx -o %t.sm_90a.cubin 2>&1 | FileCheck %s --check-prefix=REGS

// Causal GQA prefill, 8 query heads on 2 KV heads, 256 queries and keys:
// one kernel, and no workspace at all. The reference lowering would hold
// the [1, 8, 256, 256] f32 scores (2 MiB; it needs 4.3 MB in all) in the
// workspace.
// SIG: target: cuda-sm_80,sm_90a
// SIG: gpu workspace: 0 bytes
// ART: target cuda-sm_80,sm_90a
// ART: kernels 1 main_kernel
// ART: image sm_80 cubin
// ART: image sm_90a cubin

// Shared memory: queries [32][65], keys [32][65], values [32][64], weights
// [32][33] (f32); row statistics over the row's 4 threads by butterfly
// shuffles.
// PTX: .shared .align 16 .b8 __wg_main_kernel_0[8320];
// PTX: .shared .align 16 .b8 __wg_main_kernel_1[8320];
// PTX: .shared .align 16 .b8 __wg_main_kernel_2[8192];
// PTX: .shared .align 16 .b8 __wg_main_kernel_3[4224];
// PTX: bar.sync 0;
// PTX: shfl.sync.bfly.b32 {{.+}}, 1, 31, -1;
// PTX: shfl.sync.bfly.b32 {{.+}}, 2, 31, -1;
// PTX: ex2.approx
// REGS: 0 bytes spill stores, 0 bytes spill loads
// REGS: 29056 bytes smem

func.func @main(%q: tensor<1x8x256x64xf32> {kiln.name = "q", kiln.dtype = 1 : i32},
                %k: tensor<1x2x256x64xf32> {kiln.name = "k", kiln.dtype = 1 : i32},
                %v: tensor<1x2x256x64xf32> {kiln.name = "v", kiln.dtype = 1 : i32})
    -> (tensor<1x8x256x64xf32> {kiln.name = "o", kiln.dtype = 1 : i32}) {
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.125 : f32, mask_kind = #kiln.mask_kind<causal>}
      : (tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>)
      -> (tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>)
  return %o : tensor<1x8x256x64xf32>
}
