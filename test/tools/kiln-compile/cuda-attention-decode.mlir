// --target cuda: a decode-shaped f32 kiln.attention (one query row, a long
// KV) takes the decode kernel of kiln-gpu-convert-attention-to-kernels;
// ptxas accepts it for sm_80 and sm_90a.
// REQUIRES: ptxas
// RUN: kiln-compile %s --target cuda --gpu-arch sm_80,sm_90a -o %t.kiln
// RUN: kiln-run --print-signature %t.kiln | FileCheck %s --check-prefix=SIG
// RUN: %python %kiln_src/test/e2e/cuda/check_cuda_compile.py --dump %t.kiln | FileCheck %s --check-prefix=ART
// RUN: kiln-compile %s --target cuda --gpu-arch sm_90a --emit=ptx | FileCheck %s --check-prefix=DECODE

// No workspace: the reference lowering would hold the [1, 8, 1, 1024]
// scores there.
// SIG: gpu workspace: 0 bytes
// ART: kernels 1 main_kernel
// ART: image sm_80 cubin
// ART: image sm_90a cubin

// Decode: one query against a 1024-key cache, the keys split over 4 warps
// whose partial results meet in shared memory (max and sum per warp, and
// the [4][64] accumulators).
// DECODE: .target sm_90a
// DECODE: .shared .align 16 .b8 __wg_main_kernel_0[16];
// DECODE: .shared .align 16 .b8 __wg_main_kernel_1[16];
// DECODE: .shared .align 16 .b8 __wg_main_kernel_2[1024];
// DECODE: shfl.sync.bfly.b32 {{.+}}, 16, 31, -1;
// DECODE: shfl.sync.bfly.b32 {{.+}}, 1, 31, -1;
// DECODE: bar.sync 0;

func.func @main(%q: tensor<1x8x1x64xf32> {kiln.name = "q", kiln.dtype = 1 : i32},
                %k: tensor<1x2x1024x64xf32> {kiln.name = "k", kiln.dtype = 1 : i32},
                %v: tensor<1x2x1024x64xf32> {kiln.name = "v", kiln.dtype = 1 : i32})
    -> (tensor<1x8x1x64xf32> {kiln.name = "o", kiln.dtype = 1 : i32}) {
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.125 : f32}
      : (tensor<1x8x1x64xf32>, tensor<1x2x1024x64xf32>, tensor<1x2x1024x64xf32>)
      -> (tensor<1x8x1x64xf32>, tensor<1x2x1024x64xf32>, tensor<1x2x1024x64xf32>)
  return %o : tensor<1x8x1x64xf32>
}
