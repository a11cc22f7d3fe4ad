// RUN: kiln-opt %s -split-input-file -kiln-gpu-convert-quantized-linears-to-mma-kernels | FileCheck %s

// Decode (M = 1), signed int4 in groups of 32, f16: the 16x64 tile (4
// warps of 16x16), a grid of N / 64 = 1 by ceil(1 / 16) = 1 blocks. The
// codes are repacked as [64][32] bytes of unsigned nibbles, the scales as
// (s, o) pairs [64][2][2]: s = 0.5, o = -(8 + 0) * 0.5 = -4 (little-endian
// f32 bits 0x3F000000, 0xC0800000). The one
// activation row is copied with a zero-fill of rows >= 1 (src elements 8
// or 0 from a clamped row); each thread dequantizes 2 runs of 16 codes per
// K tile: 8 bytes, nibbles by andi / shrui, uitofp, u * s + o, rounded to
// f16 and stored as two vector<8xf16> [n][k] rows. B fragments are read by
// ldmatrix.x2 without .trans; only rows < 1 are written.
// CHECK-LABEL: func @decode_int4
// CHECK-DAG: %[[CODES:.+]] = arith.constant dense_resource<quantized_mma_codes> : tensor<64x32xi8>
// CHECK-DAG: %[[PARAMS:.+]] = arith.constant dense<"0x0000003F000080C00000003F000080C0{{.*}}"> : tensor<64x2x2xf32>
// CHECK-DAG: %[[X:.+]] = bufferization.to_buffer %arg0 read_only : tensor<1x64xf16> to memref<1x64xf16>
// CHECK-DAG: %[[C:.+]] = bufferization.to_buffer %[[CODES]] read_only : tensor<64x32xi8> to memref<64x32xi8>
// CHECK-DAG: %[[P:.+]] = bufferization.to_buffer %[[PARAMS]] read_only : tensor<64x2x2xf32> to memref<64x2x2xf32>
// CHECK-DAG: %[[OUT:.+]] = memref.alloc() : memref<1x64xf16>
// CHECK: gpu.launch blocks(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}}) threads(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %c128{{.*}}, %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}}) workgroup(%[[XS:.+]] : memref<2x16x64xf16, #gpu.address_space<workgroup>>, %[[WS:.+]] : memref<2x64x64xf16, #gpu.address_space<workgroup>>)
// CHECK: %[[ROW:.+]] = arith.minui %{{.+}}, %c0{{.*}} : index
// CHECK: %[[N:.+]] = arith.select %{{.+}}, %c8{{.*}}, %c0{{.*}} : index
// CHECK: nvgpu.device_async_copy %[[X]][%[[ROW]], %{{.+}}], %[[XS]][{{.+}}], 8, %[[N]] {bypassL1}
// CHECK: nvgpu.device_async_create_group
// CHECK: vector.load %[[P]][{{.+}}] {alignment = 8 : i64} : memref<64x2x2xf32>, vector<2xf32>
// CHECK: %[[RAW:.+]] = vector.load %[[C]][{{.+}}] {alignment = 8 : i64} : memref<64x32xi8>, vector<8xi8>
// CHECK: arith.andi %[[RAW]]
// CHECK: arith.shrui %[[RAW]]
// CHECK: arith.uitofp %{{.+}} : vector<8xi8> to vector<8xf32>
// CHECK: arith.mulf %{{.+}} fastmath<contract> : vector<8xf32>
// CHECK: arith.addf %{{.+}} fastmath<contract> : vector<8xf32>
// CHECK: arith.truncf %{{.+}} : vector<8xf32> to vector<8xf16>
// CHECK: vector.store %{{.+}}, %[[WS]][{{.+}}] {alignment = 16 : i64} : memref<2x64x64xf16, #gpu.address_space<workgroup>>, vector<8xf16>
// CHECK: scf.for
// CHECK: nvgpu.device_async_wait %{{.+}} {numGroups = 1 : i32}
// CHECK-COUNT-4: nvgpu.ldmatrix %[[XS]][{{.+}}] {numTiles = 4 : i32, transpose = false} : memref<2x16x64xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
// CHECK: scf.yield
// CHECK: nvgpu.ldmatrix %[[WS]][{{.+}}] {numTiles = 2 : i32, transpose = false} : memref<2x64x64xf16, #gpu.address_space<workgroup>> -> vector<2x2xf16>
// CHECK: nvgpu.mma.sync({{.+}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK: arith.truncf %{{.+}} : vector<2xf32> to vector<2xf16>
// CHECK: %[[IN:.+]] = arith.cmpi ult, %{{.+}}, %c1{{.*}} : index
// CHECK: scf.if %[[IN]] {
// CHECK:   vector.store %{{.+}}, %[[OUT]][{{.+}}] {alignment = 4 : i64} : memref<1x64xf16>, vector<2xf16>
// CHECK: gpu.terminator
// CHECK: %[[Y:.+]] = bufferization.to_tensor %[[OUT]] restrict writable : memref<1x64xf16> to tensor<1x64xf16>
// CHECK: return %[[Y]]
// CHECK-NOT: kiln.qlinear
func.func @decode_int4(%x: tensor<1x64xf16>) -> tensor<1x64xf16> {
  %w = arith.constant dense<3> : tensor<64x64xi4>
  %s = arith.constant dense<0.5> : tensor<64x2xf32>
  %y = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 32>} : (tensor<1x64xf16>, tensor<64x64xi4>, tensor<64x2xf32>) -> tensor<1x64xf16>
  return %y : tensor<1x64xf16>
}

// -----

// Prefill: bf16 activations [2, 64, 128] flattened to M = 128 rows,
// unsigned int8 with zero points per channel, a bias (widened to f32). The 64x64 tile
// (2x2 warps of 32x32), a grid of (1, 2) blocks; rows need no zero-fill
// and no guard. The codes stay [64][128] bytes; (s, o) per row:
// s = 0.25, o = -(0 + 2) * 0.25 = -0.5 (0x3E800000, 0xBF000000). Each thread loads 16 codes at
// once and converts both halves; bf16 takes nvvm.mma.sync.
// CHECK-LABEL: func @prefill_uint8_bias
// CHECK: %[[FLAT:.+]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2]] : tensor<2x64x128xbf16> into tensor<128x128xbf16>
// CHECK-DAG: %[[X:.+]] = bufferization.to_buffer %[[FLAT]] read_only
// CHECK-DAG: arith.constant dense_resource<quantized_mma_codes> : tensor<64x128xi8>
// CHECK-DAG: arith.constant dense<"0x0000803E000000BF0000803E000000BF{{.*}}"> : tensor<64x1x2xf32>
// CHECK-DAG: %[[BIAS:.+]] = bufferization.to_buffer %arg1 read_only : tensor<64xbf16> to memref<64xbf16>
// CHECK: gpu.launch blocks(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %c1{{.*}}, %{{.+}} = %c2{{.*}}, %{{.+}} = %c1{{.*}}) threads({{.+}}) workgroup(%[[XS:.+]] : memref<2x64x64xbf16, #gpu.address_space<workgroup>>, %[[WS:.+]] : memref<2x64x64xbf16, #gpu.address_space<workgroup>>)
// CHECK-NOT: arith.minui
// CHECK-COUNT-4: nvgpu.device_async_copy %[[X]][{{.+}}], %[[XS]][{{.+}}], 8 {bypassL1}
// CHECK: %[[RAW:.+]] = vector.load %{{.+}}[{{.+}}] {alignment = 16 : i64} : memref<64x128xi8>, vector<16xi8>
// CHECK: vector.shuffle %[[RAW]], %[[RAW]] [0, 1, 2, 3, 4, 5, 6, 7] : vector<16xi8>, vector<16xi8>
// CHECK: vector.shuffle %[[RAW]], %[[RAW]] [8, 9, 10, 11, 12, 13, 14, 15] : vector<16xi8>, vector<16xi8>
// CHECK: arith.truncf %{{.+}} : vector<8xf32> to vector<8xbf16>
// CHECK: nvvm.mma.sync A[{{.+}}] B[{{.+}}] C[{{.+}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>}
// CHECK: vector.load %[[BIAS]][{{.+}}] {alignment = 4 : i64} : memref<64xbf16>, vector<2xbf16>
// CHECK: arith.extf %{{.+}} : vector<2xbf16> to vector<2xf32>
// CHECK-NOT: scf.if
// CHECK: vector.store %{{.+}} : memref<128x64xbf16>, vector<2xbf16>
// CHECK: gpu.terminator
// CHECK: tensor.expand_shape %{{.+}} {{\[\[}}0, 1], [2]] output_shape [2, 64, 64] : tensor<128x64xbf16> into tensor<2x64x64xbf16>
func.func @prefill_uint8_bias(%x: tensor<2x64x128xbf16>, %bias: tensor<64xbf16>) -> tensor<2x64x64xbf16> {
  %w = arith.constant dense<7> : tensor<64x128xi8>
  %s = arith.constant dense<0.25> : tensor<64x1xf32>
  %z = arith.constant dense<2> : tensor<64x1xi8>
  %y = kiln.qlinear %x, %w, %s zero_point %z bias %bias {block_shape = array<i64: 1, 128>, is_unsigned = true} : (tensor<2x64x128xbf16>, tensor<64x128xi8>, tensor<64x1xf32>, tensor<64x1xi8>, tensor<64xbf16>) -> tensor<2x64x64xbf16>
  return %y : tensor<2x64x64xbf16>
}

// -----

// Left to the reference lowering: f32 activations, N not a multiple of 64,
// groups of 8 (a run of 16 codes would cross a group), weights known only
// at run time.
// CHECK-LABEL: func @not_covered
// CHECK-NOT: gpu.launch
// CHECK-COUNT-4: kiln.qlinear
func.func @not_covered(%x: tensor<1x64xf32>, %h: tensor<1x64xf16>, %wr: tensor<64x64xi8>)
    -> (tensor<1x64xf32>, tensor<1x32xf16>, tensor<1x64xf16>, tensor<1x64xf16>) {
  %w = arith.constant dense<1> : tensor<64x64xi8>
  %s = arith.constant dense<0.5> : tensor<64x1xf32>
  %w32 = arith.constant dense<1> : tensor<32x64xi8>
  %s32 = arith.constant dense<0.5> : tensor<32x1xf32>
  %s8 = arith.constant dense<0.5> : tensor<64x8xf32>
  %0 = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 64>} : (tensor<1x64xf32>, tensor<64x64xi8>, tensor<64x1xf32>) -> tensor<1x64xf32>
  %1 = kiln.qlinear %h, %w32, %s32 {block_shape = array<i64: 1, 64>} : (tensor<1x64xf16>, tensor<32x64xi8>, tensor<32x1xf32>) -> tensor<1x32xf16>
  %2 = kiln.qlinear %h, %w, %s8 {block_shape = array<i64: 1, 8>} : (tensor<1x64xf16>, tensor<64x64xi8>, tensor<64x8xf32>) -> tensor<1x64xf16>
  %3 = kiln.qlinear %h, %wr, %s {block_shape = array<i64: 1, 64>} : (tensor<1x64xf16>, tensor<64x64xi8>, tensor<64x1xf32>) -> tensor<1x64xf16>
  return %0, %1, %2, %3 : tensor<1x64xf32>, tensor<1x32xf16>, tensor<1x64xf16>, tensor<1x64xf16>
}
