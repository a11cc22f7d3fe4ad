// --target cuda: a block-sparse f32 kiln.attention whose cells hold whole
// tiles takes kiln-gpu-convert-attention-to-kernels' prefill kernel, which
// reads the allowed tiles of each layout row from constant tables in the
// kernel module (memref.globals copied in by outlining); ptxas accepts it
// for sm_80 and sm_90a.
// REQUIRES: ptxas
// RUN: kiln-compile %s --target cuda --gpu-arch sm_80,sm_90a -o %t.kiln
// RUN: kiln-run --print-signature %t.kiln | FileCheck %s --check-prefix=SIG
// RUN: kiln-compile %s --target cuda --gpu-arch sm_80 --emit=ptx | FileCheck %s --check-prefix=PTX

// No workspace: the reference lowering would hold the [1, 8, 256, 256]
// scores there.
// SIG: gpu workspace: 0 bytes

// Layout [[1, 0], [1, 1]], cells of 128 keys = 4 tiles of 32: row 0 visits
// tiles 0 .. 3, row 1 tiles 0 .. 7.
// PTX: .global .align 64 .b8 __constant_2x8xi32[64] = {0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7};
// PTX: .global .align 64 .b8 __constant_2xi32[8] = {4, 0, 0, 0, 8};
// PTX: .entry main_kernel(
// PTX: shfl.sync.bfly.b32

func.func @main(%q: tensor<1x8x256x64xf32> {kiln.name = "q", kiln.dtype = 1 : i32},
                %k: tensor<1x2x256x64xf32> {kiln.name = "k", kiln.dtype = 1 : i32},
                %v: tensor<1x2x256x64xf32> {kiln.name = "v", kiln.dtype = 1 : i32})
    -> (tensor<1x8x256x64xf32> {kiln.name = "o", kiln.dtype = 1 : i32}) {
  %o, %pk, %pv = kiln.attention %q, %k, %v {scale = 0.125 : f32, mask_kind = #kiln.mask_kind<block_sparse>, block_size = 128 : i64, block_layout = array<i1: true, false, true, true>}
      : (tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>)
      -> (tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>)
  return %o : tensor<1x8x256x64xf32>
}
