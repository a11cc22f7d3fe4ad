// RUN: kiln-opt %s -split-input-file -kiln-cpu-convert-quantized-linears-to-vector-kernels | FileCheck %s

// int4 codes [N=32, K=4] in groups of 2: one panel of 32 columns, byte j of
// each K step holding column j in its low nibble and column 16 + j in its
// high one (col 0 = 1 and col 16 = 2 at k 0 -> 0x21; col 17 = -1 at k 1 ->
// 0xF0; col 3 = -8 at k 3 -> 0x08). Scales [32, 2] become [1][2][32].
// The signed nibbles are unpacked with shifts.
// CHECK-LABEL: func @int4_panels
// CHECK-DAG: %[[CODES:.+]] = arith.constant dense<{{\[\[\[}}33, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, -16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]]> : tensor<1x4x16xi8>
// CHECK-DAG: %[[SCALES:.+]] = arith.constant dense<5.000000e-01> : tensor<1x2x32xf32>
// CHECK: scf.for %[[P:[a-z0-9_]+]] = %{{.+}} to %{{.+}} step
// CHECK:   scf.for %[[G:[a-z0-9_]+]] = %{{.+}} to %{{.+}} step {{.+}} iter_args({{.+}}) -> (vector<16xf32>, vector<16xf32>)
// CHECK:     scf.for {{.+}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK:       %[[RAW:.+]] = vector.transfer_read %[[CODES]][%[[P]], %{{.+}}, %{{.+}}], %{{.+}} {in_bounds = [true]} : tensor<1x4x16xi8>, vector<16xi8>
// CHECK:       %[[SHL:.+]] = arith.shli %[[RAW]]
// CHECK:       %[[LO:.+]] = arith.shrsi %[[SHL]]
// CHECK:       %[[HI:.+]] = arith.shrsi %[[RAW]]
// CHECK:       arith.sitofp %[[LO]] : vector<16xi8> to vector<16xf32>
// CHECK:       arith.sitofp %[[HI]] : vector<16xi8> to vector<16xf32>
// CHECK:       tensor.extract
// CHECK:       vector.broadcast
// CHECK:       vector.fma
// CHECK:     vector.transfer_read %[[SCALES]][%[[P]], %[[G]], %{{.+}}]
// CHECK:     arith.addf {{.+}} : vector<16xf32>
// CHECK:     vector.fma
// CHECK:   vector.transfer_write
// CHECK-NOT: kiln.qlinear
func.func @int4_panels(%x: tensor<1x4xf32>) -> tensor<1x32xf32> {
  %w = arith.constant dense<[[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, -8], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [2, 0, 0, 0], [0, -1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]> : tensor<32x4xi4>
  %s = arith.constant dense<0.5> : tensor<32x2xf32>
  %y = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 2>} : (tensor<1x4xf32>, tensor<32x4xi4>, tensor<32x2xf32>) -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}

// -----

// Unsigned int4 with zero points: the nibbles are masked and shifted
// logically, and the zero points ([N / 32][K / g][32] i8, read once per
// group) subtracted before the conversion. Six rows: one block of 4, then
// two single rows. A bias is added to each half panel before the write.
// CHECK-LABEL: func @uint4_zero_points
// CHECK-DAG: %[[ZP:.+]] = arith.constant dense<3> : tensor<2x1x32xi8>
// CHECK: scf.for %[[M:[a-z0-9_]+]] = %c0{{.*}} to %c4{{.*}} step %c4
// CHECK:   scf.for %[[G:[a-z0-9_]+]] =
// CHECK:     %[[Z0:.+]] = vector.transfer_read %[[ZP]][%{{.+}}, %[[G]], %{{.+}}]
// CHECK:     %[[Z1:.+]] = vector.transfer_read %[[ZP]][%{{.+}}, %[[G]], %{{.+}}]
// CHECK:     scf.for
// CHECK:       %[[RAW:.+]] = vector.transfer_read
// CHECK:       %[[LO:.+]] = arith.andi %[[RAW]]
// CHECK:       %[[HI:.+]] = arith.shrui %[[RAW]]
// CHECK:       %[[D:.+]] = arith.subi %[[LO]], %[[Z0]] : vector<16xi8>
// CHECK:       arith.sitofp %[[D]]
// CHECK:       arith.subi %[[HI]], %[[Z1]] : vector<16xi8>
// CHECK: vector.transfer_read %arg1
// CHECK: arith.addf
// CHECK: scf.for %{{.+}} = %c4{{.*}} to %c6{{.*}} step %c1
func.func @uint4_zero_points(%x: tensor<6x32xf32>, %bias: tensor<64xf32>) -> tensor<6x64xf32> {
  %w = arith.constant dense<5> : tensor<64x32xi4>
  %s = arith.constant dense<0.25> : tensor<64x1xf32>
  %zp = arith.constant dense<3> : tensor<64x1xi4>
  %y = kiln.qlinear %x, %w, %s zero_point %zp bias %bias {block_shape = array<i64: 1, 32>, is_unsigned = true} : (tensor<6x32xf32>, tensor<64x32xi4>, tensor<64x1xf32>, tensor<64x1xi4>, tensor<64xf32>) -> tensor<6x64xf32>
  return %y : tensor<6x64xf32>
}

// -----

// int8 per channel: 32 bytes a K step, read as two halves and converted as
// they are; leading dimensions of the input are collapsed to rows.
// CHECK-LABEL: func @int8_channel
// CHECK: %[[CODES:.+]] = arith.constant dense<{{.+}}> : tensor<1x8x32xi8>
// CHECK: tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2]] : tensor<2x3x8xf32> into tensor<6x8xf32>
// CHECK: vector.transfer_read %[[CODES]]{{.+}} : tensor<1x8x32xi8>, vector<16xi8>
// CHECK: vector.transfer_read %[[CODES]]{{.+}} : tensor<1x8x32xi8>, vector<16xi8>
// CHECK-NOT: arith.shrsi
// CHECK: arith.sitofp {{.+}} : vector<16xi8> to vector<16xf32>
// CHECK: tensor.expand_shape {{.+}} : tensor<6x32xf32> into tensor<2x3x32xf32>
func.func @int8_channel(%x: tensor<2x3x8xf32>, %w: tensor<32x8xi8>) -> tensor<2x3x32xf32> {
  %c = arith.constant dense<[[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8]]> : tensor<32x8xi8>
  %s = arith.constant dense<0.125> : tensor<32x1xf32>
  %y = kiln.qlinear %x, %c, %s {block_shape = array<i64: 1, 8>} : (tensor<2x3x8xf32>, tensor<32x8xi8>, tensor<32x1xf32>) -> tensor<2x3x32xf32>
  return %y : tensor<2x3x32xf32>
}

// -----

// Products of at least 2^21 multiply-adds spread their panels over threads.
// CHECK-LABEL: func @threads
// CHECK: scf.forall (%{{.+}}) in (2) shared_outs(%{{.+}} = %{{.+}}) -> (tensor<64x64xf32>)
// CHECK: tensor.parallel_insert_slice {{.+}} into {{.+}}[0, %{{.+}}] [64, 32] [1, 1] : tensor<64x32xf32> into tensor<64x64xf32>
func.func @threads(%x: tensor<64x512xf32>) -> tensor<64x64xf32> {
  %w = arith.constant dense<1> : tensor<64x512xi4>
  %s = arith.constant dense<1.0> : tensor<64x16xf32>
  %y = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 32>} : (tensor<64x512xf32>, tensor<64x512xi4>, tensor<64x16xf32>) -> tensor<64x64xf32>
  return %y : tensor<64x64xf32>
}

// -----

// Left to the reference lowering: N not a multiple of 32, codes that are
// not constants, a global scale, a group size that does not divide K, and
// fp8 codes.
// CHECK-LABEL: func @not_converted
// CHECK-COUNT-5: kiln.qlinear
// CHECK-NOT: vector.fma
func.func @not_converted(%x: tensor<1x64xf32>, %wv: tensor<32x64xi4>) -> (tensor<1x48xf32>, tensor<1x32xf32>, tensor<1x32xf32>, tensor<1x32xf32>, tensor<1x32xf32>) {
  %w48 = arith.constant dense<1> : tensor<48x64xi4>
  %s48 = arith.constant dense<1.0> : tensor<48x2xf32>
  %a = kiln.qlinear %x, %w48, %s48 {block_shape = array<i64: 1, 32>} : (tensor<1x64xf32>, tensor<48x64xi4>, tensor<48x2xf32>) -> tensor<1x48xf32>
  %s = arith.constant dense<1.0> : tensor<32x2xf32>
  %b = kiln.qlinear %x, %wv, %s {block_shape = array<i64: 1, 32>} : (tensor<1x64xf32>, tensor<32x64xi4>, tensor<32x2xf32>) -> tensor<1x32xf32>
  %w = arith.constant dense<1> : tensor<32x64xi4>
  %g = arith.constant dense<2.0> : tensor<f32>
  %c = kiln.qlinear %x, %w, %s global_scale %g {block_shape = array<i64: 1, 32>} : (tensor<1x64xf32>, tensor<32x64xi4>, tensor<32x2xf32>, tensor<f32>) -> tensor<1x32xf32>
  %s3 = arith.constant dense<1.0> : tensor<32x2xf32>
  %d = kiln.qlinear %x, %w, %s3 {block_shape = array<i64: 1, 48>} : (tensor<1x64xf32>, tensor<32x64xi4>, tensor<32x2xf32>) -> tensor<1x32xf32>
  %w8 = arith.constant dense<1.0> : tensor<32x64xf8E4M3FN>
  %s8 = arith.constant dense<1.0> : tensor<1x1xf32>
  %e = kiln.qlinear %x, %w8, %s8 {block_shape = array<i64: 32, 64>} : (tensor<1x64xf32>, tensor<32x64xf8E4M3FN>, tensor<1x1xf32>) -> tensor<1x32xf32>
  return %a, %b, %c, %d, %e : tensor<1x48xf32>, tensor<1x32xf32>, tensor<1x32xf32>, tensor<1x32xf32>, tensor<1x32xf32>
}
