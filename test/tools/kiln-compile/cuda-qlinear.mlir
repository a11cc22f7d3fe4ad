// --target cuda: int4 / int8 weight-only quantized linears take
// kiln-gpu-convert-quantized-linears-to-mma-kernels (dequantization in
// registers, mma.sync), for decode (M = 1) and prefill (M = 128) shapes, in
// an MLP block (norm, the gate and up projections as one, SwiGLU, the down projection);
// ptxas accepts it for sm_80 and sm_90a.
// REQUIRES: ptxas
// RUN: kiln-compile %s --target cuda --gpu-arch sm_80,sm_90a -o %t.kiln
// RUN: kiln-run --print-signature %t.kiln | FileCheck %s --check-prefix=SIG
// RUN: kiln-compile %s --target cuda --gpu-arch sm_80,sm_90a --emit=gpu | FileCheck %s --check-prefix=GPU
// RUN: kiln-compile %s --target cuda --gpu-arch sm_80 --emit=ptx | FileCheck %s --check-prefix=PTX80
// RUN: kiln-compile %s --target cuda --gpu-arch sm_90a --emit=ptx | FileCheck %s --check-prefix=PTX90

// SIG: input x: float16[1,256]
// SIG: input h: bfloat16[128,256]

// No dequantized copy of a weight exists: no launch writes a [N, K] float
// weight, and the two f16 and one bf16 linears are the mma kernels' (one
// row block of 16 for decode, two of 64 for prefill).
// GPU-NOT: memref<1024x256xf16>
// GPU-NOT: memref<256x512xf16>
// GPU: gpu.launch_func @kiln_kernels::@{{.+}} blocks in (%c16, %c1, %c1) threads in (%c128, %c1, %c1)
// GPU: gpu.launch_func @kiln_kernels::@{{.+}} blocks in (%c4, %c1, %c1) threads in (%c128, %c1, %c1)
// GPU: gpu.launch_func @kiln_kernels::@{{.+}} blocks in (%c1, %c2, %c1) threads in (%c128, %c1, %c1)
// GPU-NOT: memref<64x256xbf16>

// PTX80: .target sm_80
// The workgroup buffers that cp.async, ldmatrix and the 16-byte stores
// use are 16-byte aligned (kiln-gpu-align-workgroup-buffers; their f16
// element type alone would give .align 2).
// PTX80-NOT: .shared .align 2
// PTX80: .shared .align 16 .b8 __wg_{{.+}}[4096];
// PTX80: .shared .align 16 .b8 __wg_{{.+}}[16384];
// PTX80: cp.async.cg.shared.global [%{{.+}}], [%{{.+}}], 16, %r{{[0-9]+}};
// PTX80: cvt.rn.f16.f32
// PTX80: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX80: ldmatrix.sync.aligned.m8n8.x2.shared.b16
// PTX80: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX80: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX90: .target sm_90a
// PTX90: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32

func.func @main(%x: tensor<1x256xf16> {kiln.name = "x", kiln.dtype = 10 : i32},
                %h: tensor<128x256xbf16> {kiln.name = "h", kiln.dtype = 16 : i32})
    -> (tensor<1x256xf16> {kiln.name = "y", kiln.dtype = 10 : i32},
        tensor<128x64xbf16> {kiln.name = "z", kiln.dtype = 16 : i32}) {
  %wgu = arith.constant dense<5> : tensor<1024x256xi4>
  %sgu = arith.constant dense<0.02> : tensor<1024x8xf16>
  %wd = arith.constant dense<17> : tensor<256x512xi8>
  %sd = arith.constant dense<0.01> : tensor<256x1xf32>
  %gamma = arith.constant dense<1.0> : tensor<256xf16>
  %n = kiln.rms_norm %x, %gamma {axis = -1 : i64, epsilon = 1.0e-5 : f32} : (tensor<1x256xf16>, tensor<256xf16>) -> tensor<1x256xf16>
  %gu = kiln.qlinear %n, %wgu, %sgu {block_shape = array<i64: 1, 32>} : (tensor<1x256xf16>, tensor<1024x256xi4>, tensor<1024x8xf16>) -> tensor<1x1024xf16>
  %a = kiln.swiglu %gu : tensor<1x1024xf16> -> tensor<1x512xf16>
  %y = kiln.qlinear %a, %wd, %sd {block_shape = array<i64: 1, 512>} : (tensor<1x512xf16>, tensor<256x512xi8>, tensor<256x1xf32>) -> tensor<1x256xf16>
  %wz = arith.constant dense<9> : tensor<64x256xi8>
  %sz = arith.constant dense<0.03> : tensor<64x2xf32>
  %zz = arith.constant dense<8> : tensor<64x2xi8>
  %z = kiln.qlinear %h, %wz, %sz zero_point %zz {block_shape = array<i64: 1, 128>, is_unsigned = true} : (tensor<128x256xbf16>, tensor<64x256xi8>, tensor<64x2xf32>, tensor<64x2xi8>) -> tensor<128x64xbf16>
  return %y, %z : tensor<1x256xf16>, tensor<128x64xbf16>
}
