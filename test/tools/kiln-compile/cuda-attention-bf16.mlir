// --target cuda: a bf16 kiln.attention takes the attention kernel too,
// widening its inputs to f32 as they are staged and rounding the output
// to bf16; ptxas accepts it for sm_80 and sm_90a.
// REQUIRES: ptxas
// RUN: kiln-compile %s --target cuda --gpu-arch sm_80,sm_90a -o %t.kiln
// RUN: kiln-run --print-signature %t.kiln | FileCheck %s --check-prefix=SIG
// RUN: kiln-compile %s --target cuda --gpu-arch sm_80 --emit=ptx | FileCheck %s --check-prefix=PTX

// No workspace: the reference lowering would hold the [1, 4, 128, 128]
// f32 scores there.
// SIG: gpu workspace: 0 bytes
// SIG: input q: bfloat16[1,4,128,64]
// PTX: .entry main_kernel(
// PTX: .shared .align 16 .b8 __wg_main_kernel_0[8320];
// PTX: shfl.sync.bfly.b32

func.func @main(%q: tensor<1x4x128x64xbf16> {kiln.name = "q", kiln.dtype = 16 : i32},
                %k: tensor<1x4x128x64xbf16> {kiln.name = "k", kiln.dtype = 16 : i32},
                %v: tensor<1x4x128x64xbf16> {kiln.name = "v", kiln.dtype = 16 : i32})
    -> (tensor<1x4x128x64xbf16> {kiln.name = "o", kiln.dtype = 16 : i32}) {
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.125 : f32, mask_kind = #kiln.mask_kind<causal>}
      : (tensor<1x4x128x64xbf16>, tensor<1x4x128x64xbf16>, tensor<1x4x128x64xbf16>)
      -> (tensor<1x4x128x64xbf16>, tensor<1x4x128x64xbf16>, tensor<1x4x128x64xbf16>)
  return %o : tensor<1x4x128x64xbf16>
}
