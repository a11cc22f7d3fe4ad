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

// fp8 (e4m3fn) in 2-D blocks of [32, 4]: one byte a column, as int8, and
// groups of 4 along K. Each code is decoded with integer ops and no table:
// its magnitude bits shifted to an f32's exponent and mantissa, its sign
// to the sign bit, a bitcast. That is the value times 2^-120, and the
// 2^120 is in the scales: block (0, 0) = 1.0 -> 2^120 = 0x7B800000,
// (0, 1) = 2.0 -> 0x7C000000, (1, 0) = 0.5 -> 0x7B000000, (1, 1) = 0.25 ->
// 0x7A800000, each for its panel's 32 columns.
// CHECK-LABEL: func @fp8_blocks
// CHECK-DAG: %[[CODES:.+]] = arith.constant dense_resource<quantized_panels> : tensor<2x8x32xi8>
// CHECK-DAG: arith.constant dense<"0x0000807B{{(0000807B)+}}0000007C{{(0000007C)+}}0000007B{{(0000007B)+}}0000807A{{(0000807A)+}}"> : tensor<2x2x32xf32>
// CHECK: %[[RAW:.+]] = vector.transfer_read %[[CODES]]{{.+}} : tensor<2x8x32xi8>, vector<16xi8>
// CHECK: vector.transfer_read %[[CODES]]{{.+}} : tensor<2x8x32xi8>, vector<16xi8>
// CHECK: %[[W:.+]] = arith.extui %[[RAW]] : vector<16xi8> to vector<16xi32>
// CHECK: %[[C127:.+]] = arith.constant dense<127> : vector<16xi32>
// CHECK: %[[MAG:.+]] = arith.andi %[[W]], %[[C127]]
// CHECK: %[[C20:.+]] = arith.constant dense<20> : vector<16xi32>
// CHECK: %[[MAGS:.+]] = arith.shli %[[MAG]], %[[C20]]
// CHECK: %[[C128:.+]] = arith.constant dense<128> : vector<16xi32>
// CHECK: %[[SIGN:.+]] = arith.andi %[[W]], %[[C128]]
// CHECK: %[[C24:.+]] = arith.constant dense<24> : vector<16xi32>
// CHECK: %[[SIGNS:.+]] = arith.shli %[[SIGN]], %[[C24]]
// CHECK: %[[BITS:.+]] = arith.ori %[[MAGS]], %[[SIGNS]] : vector<16xi32>
// CHECK: %[[F:.+]] = arith.bitcast %[[BITS]] : vector<16xi32> to vector<16xf32>
// CHECK: vector.fma %{{.+}}, %[[F]], %{{.+}} : vector<16xf32>
// CHECK-NOT: kiln.qlinear
func.func @fp8_blocks(%x: tensor<1x8xf32>) -> tensor<1x64xf32> {
  %w = arith.constant dense<1.0> : tensor<64x8xf8E4M3FN>
  %s = arith.constant dense<[[1.0, 2.0], [0.5, 0.25]]> : tensor<2x2xf32>
  %y = kiln.qlinear %x, %w, %s {block_shape = array<i64: 32, 4>} : (tensor<1x8xf32>, tensor<64x8xf8E4M3FN>, tensor<2x2xf32>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// -----

// MXFP4: e2m1 codes two a byte, as unsigned int4, then decoded like fp8
// with the fp4 fields (value times 2^-126). The e8m0 scale 2^-2 becomes
// the f32 2^-2 * 2^126 = 2^124.
// CHECK-LABEL: func @mxfp4
// CHECK-DAG: %[[SCALES:.+]] = arith.constant dense<2.12676479E+37> : tensor<1x2x32xf32>
// CHECK: %[[RAW:.+]] = vector.transfer_read {{.+}} : tensor<1x64x16xi8>, vector<16xi8>
// CHECK: %[[LO:.+]] = arith.andi %[[RAW]]
// CHECK: arith.shrui %[[RAW]]
// CHECK: %[[W:.+]] = arith.extui %[[LO]] : vector<16xi8> to vector<16xi32>
// CHECK: %[[C7:.+]] = arith.constant dense<7> : vector<16xi32>
// CHECK: %[[MAG:.+]] = arith.andi %[[W]], %[[C7]]
// CHECK: %[[C22:.+]] = arith.constant dense<22> : vector<16xi32>
// CHECK: %[[MAGS:.+]] = arith.shli %[[MAG]], %[[C22]]
// CHECK: %[[C8:.+]] = arith.constant dense<8> : vector<16xi32>
// CHECK: %[[SIGN:.+]] = arith.andi %[[W]], %[[C8]]
// CHECK: %[[C28:.+]] = arith.constant dense<28> : vector<16xi32>
// CHECK: %[[SIGNS:.+]] = arith.shli %[[SIGN]], %[[C28]]
// CHECK: %[[BITS:.+]] = arith.ori %[[MAGS]], %[[SIGNS]] : vector<16xi32>
// CHECK: arith.bitcast %[[BITS]] : vector<16xi32> to vector<16xf32>
// CHECK: vector.transfer_read %[[SCALES]]
// CHECK-NOT: kiln.qlinear
func.func @mxfp4(%x: tensor<1x64xf32>) -> tensor<1x32xf32> {
  %w = arith.constant dense<1.5> : tensor<32x64xf4E2M1FN>
  %s = arith.constant dense<0.25> : tensor<32x2xf8E8M0FNU>
  %y = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 32>} : (tensor<1x64xf32>, tensor<32x64xf4E2M1FN>, tensor<32x2xf8E8M0FNU>) -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}

// -----

// NVFP4: the e4m3 scale 1.5 and the global scale 0.5 are one f32 per
// group, 1.5 * 0.5 * 2^126; the global scale constant goes. The codes
// (-3.0 = 0xD) fill each byte's two nibbles: 0xDD.
// CHECK-LABEL: func @nvfp4
// CHECK-DAG: arith.constant dense_resource<quantized_panels> : tensor<1x32x16xi8>
// CHECK-DAG: arith.constant dense<6.38029438E+37> : tensor<1x2x32xf32>
// CHECK-NOT: tensor<f32>
// CHECK: arith.bitcast {{.+}} : vector<16xi32> to vector<16xf32>
// CHECK-NOT: kiln.qlinear
// CHECK: quantized_panels: "0x40000000{{(DD)+}}"
func.func @nvfp4(%x: tensor<1x32xf32>) -> tensor<1x32xf32> {
  %w = arith.constant dense<-3.0> : tensor<32x32xf4E2M1FN>
  %s = arith.constant dense<1.5> : tensor<32x2xf8E4M3FN>
  %g = arith.constant dense<0.5> : tensor<f32>
  %y = kiln.qlinear %x, %w, %s global_scale %g {block_shape = array<i64: 1, 16>} : (tensor<1x32xf32>, tensor<32x32xf4E2M1FN>, tensor<32x2xf8E4M3FN>, tensor<f32>) -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}

// -----

// int4 groups of 32 along K = 48 run as groups of gcd(48, 32) = 16, each
// inside one group of the op (scale entries 0, 0, 1 -> 1.0, 1.0, 3.0); a
// global scale (2.0) is folded into them.
// CHECK-LABEL: func @uneven_groups
// CHECK: arith.constant dense<{{\[\[\[}}2.000000e+00, {{.+}}], [2.000000e+00, {{.+}}], [6.000000e+00, {{.+}}]]]> : tensor<1x3x32xf32>
// CHECK: vector.fma
// CHECK-NOT: kiln.qlinear
func.func @uneven_groups(%x: tensor<1x48xf32>) -> tensor<1x32xf32> {
  %w = arith.constant dense<1> : tensor<32x48xi4>
  %s = arith.constant dense<[[1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0], [1.0, 3.0]]> : tensor<32x2xf32>
  %g = arith.constant dense<2.0> : tensor<f32>
  %y = kiln.qlinear %x, %w, %s global_scale %g {block_shape = array<i64: 1, 32>} : (tensor<1x48xf32>, tensor<32x48xi4>, tensor<32x2xf32>, tensor<f32>) -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}

// -----

// Left to the reference lowering: N not a multiple of 32, codes that are
// not constants, a group size whose gcd with K is odd, e5m2 codes, an
// e4m3fn NaN code (the decode has no NaN), and a scale that would not be
// a finite f32 with the decode's 2^126 folded in (e8m0 2^2).
// CHECK-LABEL: func @not_converted
// CHECK-COUNT-6: kiln.qlinear
// CHECK-NOT: vector.fma
func.func @not_converted(%x: tensor<1x64xf32>, %wv: tensor<32x64xi4>) -> (tensor<1x48xf32>, tensor<1x32xf32>, tensor<1x32xf32>, tensor<1x32xf32>, tensor<1x32xf32>, tensor<1x32xf32>) {
  %w48 = arith.constant dense<1> : tensor<48x64xi4>
  %s48 = arith.constant dense<1.0> : tensor<48x2xf32>
  %a = kiln.qlinear %x, %w48, %s48 {block_shape = array<i64: 1, 32>} : (tensor<1x64xf32>, tensor<48x64xi4>, tensor<48x2xf32>) -> tensor<1x48xf32>
  %s = arith.constant dense<1.0> : tensor<32x2xf32>
  %b = kiln.qlinear %x, %wv, %s {block_shape = array<i64: 1, 32>} : (tensor<1x64xf32>, tensor<32x64xi4>, tensor<32x2xf32>) -> tensor<1x32xf32>
  %w = arith.constant dense<1> : tensor<32x64xi4>
  %c = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 63>} : (tensor<1x64xf32>, tensor<32x64xi4>, tensor<32x2xf32>) -> tensor<1x32xf32>
  %w5 = arith.constant dense<1.0> : tensor<32x64xf8E5M2>
  %s1 = arith.constant dense<1.0> : tensor<1x1xf32>
  %d = kiln.qlinear %x, %w5, %s1 {block_shape = array<i64: 32, 64>} : (tensor<1x64xf32>, tensor<32x64xf8E5M2>, tensor<1x1xf32>) -> tensor<1x32xf32>
  %wn = arith.constant dense<0x7F> : tensor<32x64xf8E4M3FN>
  %e = kiln.qlinear %x, %wn, %s1 {block_shape = array<i64: 32, 64>} : (tensor<1x64xf32>, tensor<32x64xf8E4M3FN>, tensor<1x1xf32>) -> tensor<1x32xf32>
  %w4 = arith.constant dense<1.0> : tensor<32x64xf4E2M1FN>
  %s4 = arith.constant dense<4.0> : tensor<32x2xf8E8M0FNU>
  %f = kiln.qlinear %x, %w4, %s4 {block_shape = array<i64: 1, 32>} : (tensor<1x64xf32>, tensor<32x64xf4E2M1FN>, tensor<32x2xf8E8M0FNU>) -> tensor<1x32xf32>
  return %a, %b, %c, %d, %e, %f : tensor<1x48xf32>, tensor<1x32xf32>, tensor<1x32xf32>, tensor<1x32xf32>, tensor<1x32xf32>, tensor<1x32xf32>
}

// -----

// Dynamic rows keep the reference lowering.
// CHECK-LABEL: func.func @dynamic_rows
// CHECK: kiln.qlinear
// CHECK-NOT: vector.
func.func @dynamic_rows(%x: tensor<?x32xf32>, %bias: tensor<64xf32>) -> tensor<?x64xf32> {
  %w = arith.constant dense<5> : tensor<64x32xi4>
  %s = arith.constant dense<0.25> : tensor<64x1xf32>
  %zp = arith.constant dense<3> : tensor<64x1xi4>
  %y = kiln.qlinear %x, %w, %s zero_point %zp bias %bias {block_shape = array<i64: 1, 32>, is_unsigned = true} : (tensor<?x32xf32>, tensor<64x32xi4>, tensor<64x1xf32>, tensor<64x1xi4>, tensor<64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
