// RUN: kiln-opt %s -split-input-file -kiln-cpu-convert-integer-matmuls-to-vector-kernels | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-cpu-convert-integer-matmuls-to-vector-kernels='dot-product=generic' | FileCheck %s --check-prefix=GENERIC
// RUN: kiln-opt %s -split-input-file -kiln-cpu-convert-integer-matmuls-to-vector-kernels='dot-product=none' | FileCheck %s --check-prefix=NONE --implicit-check-not=vector. --implicit-check-not=vpdpbusd
// RUN: not kiln-opt %s -split-input-file -kiln-cpu-convert-integer-matmuls-to-vector-kernels='dot-product=avx' 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not kiln-opt %s -split-input-file -kiln-cpu-convert-integer-matmuls-to-vector-kernels='rows=0' 2>&1 | FileCheck %s --check-prefix=ROWS

// BAD: error: dot-product must be target, vnni, generic or none, not 'avx'
// ROWS: error: rows and vectors must be at least 1

// MatMulInteger of uint8 activations with a run-time zero point and uint8
// weights [K=5, N=3] minus per-column zero points [0, 0, 1], for a CPU with
// avx512vnni. The centred weights are columns 0..40, 0..255 and 0..4:
// column 1 spans 256 values, so it is stored minus an offset of 128 (127,
// 72, 0, -128 at k 0..3; -28 at k 4) and the row sums correct for it. The
// packed panel is [1][2 groups of 4 k][64 bytes]: lane n holds column n's
// 4 bytes of the group; K = 5 leaves 3 zero bytes in group 1, N = 3 pads
// the panel to 16 columns. Column sums of the centred weights: 100, 683,
// 10. Group 0 runs in the K loop, the last group after it with a bounded
// read of the activations; the epilogue adds offset * row sum and
// subtracts zero point * column sum, and the padding is sliced off.
// CHECK-LABEL: module attributes {kiln.cpu_features = ["avx512vnni"]}
// CHECK: func.func private @llvm.x86.avx512.vpdpbusd.512(vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
// CHECK-LABEL: func.func @vnni_u8_offsets
// CHECK-DAG: %[[PANELS:.+]] = arith.constant dense<"0x000A141E7F4800800001020300000000{{0+}}28000000E40000000400{{0+}}"> : tensor<1x2x64xi8>
// CHECK-DAG: %[[SUMS:.+]] = arith.constant dense<[100, 683, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]> : tensor<16xi32>
// CHECK-DAG: %[[OFFSETS:.+]] = arith.constant dense<[0, 128, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]> : tensor<16xi32>
// CHECK-DAG: %[[ZP:.+]] = kiln.cast %arg1 {is_unsigned = true} : tensor<i8> -> tensor<i32>
// The row sums of the activations, once.
// CHECK: %[[ROWSUMS:.+]] = scf.for {{.+}} -> (tensor<2xi32>)
// CHECK:   scf.for {{.+}} -> (i32)
// CHECK:     arith.extui
// CHECK: scf.for %[[P:[a-z0-9_]+]] = {{.+}} -> (tensor<2x16xi32>)
// CHECK:   scf.for {{.+}} -> (tensor<2x16xi32>)
// CHECK:     %[[ACC:.+]] = scf.for %[[G:[a-z0-9_]+]] = {{.+}} -> (vector<16xi32>)
// CHECK:       vector.transfer_read %[[PANELS]][%[[P]], %[[G]], %{{.+}}], %{{.+}} {in_bounds = [true]} : tensor<1x2x64xi8>, vector<64xi8>
// CHECK:       vector.transfer_read %arg0[%{{.+}}, %{{.+}}], %{{.+}} {in_bounds = [true]} : tensor<2x5xi8>, vector<4xi8>
// CHECK:       vector.broadcast %{{.+}} : i32 to vector<16xi32>
// CHECK:       func.call @llvm.x86.avx512.vpdpbusd.512
// CHECK:     vector.transfer_read %arg0[%{{.+}}, %{{.+}}], %{{.+}} : tensor<2x5xi8>, vector<4xi8>
// CHECK:     %[[LAST:.+]] = func.call @llvm.x86.avx512.vpdpbusd.512(%[[ACC]]
// CHECK:     %[[S:.+]] = vector.transfer_read %[[SUMS]]
// CHECK:     %[[C:.+]] = vector.transfer_read %[[OFFSETS]]
// CHECK:     tensor.extract %[[ROWSUMS]]
// CHECK:     %[[CR:.+]] = arith.muli %[[C]], %{{.+}} : vector<16xi32>
// CHECK:     %[[Y0:.+]] = arith.addi %[[LAST]], %[[CR]] : vector<16xi32>
// CHECK:     tensor.extract %[[ZP]][] : tensor<i32>
// CHECK:     %[[ZS:.+]] = arith.muli %[[S]], %{{.+}} : vector<16xi32>
// CHECK:     %[[Y:.+]] = arith.subi %[[Y0]], %[[ZS]] : vector<16xi32>
// CHECK:     vector.transfer_write %[[Y]]
// CHECK: tensor.extract_slice %{{.+}}[0, 0] [2, 3] [1, 1] : tensor<2x16xi32> to tensor<2x3xi32>
// CHECK-NOT: kiln.matmul
// GENERIC-LABEL: func.func @vnni_u8_offsets
// GENERIC-NOT: vpdpbusd
// GENERIC: vector.shuffle
// GENERIC: arith.extui {{.+}} : vector<16xi8> to vector<16xi32>
// GENERIC: arith.extsi {{.+}} : vector<16xi8> to vector<16xi32>
// GENERIC-NOT: kiln.matmul
// NONE-LABEL: func.func @vnni_u8_offsets
// NONE: kiln.matmul
module attributes {kiln.cpu_features = ["avx512vnni"]} {
func.func @vnni_u8_offsets(%x: tensor<2x5xi8>, %zp: tensor<i8>) -> tensor<2x3xi32> {
  %w = arith.constant dense<[[0, -1, 1], [10, -56, 2], [20, -128, 3], [30, 0, 4], [40, 100, 5]]> : tensor<5x3xi8>
  %wz = arith.constant dense<[0, 0, 1]> : tensor<3xi32>
  %xw = kiln.cast %x {is_unsigned = true} : tensor<2x5xi8> -> tensor<2x5xi32>
  %z = kiln.cast %zp {is_unsigned = true} : tensor<i8> -> tensor<i32>
  %xc = kiln.sub %xw, %z : (tensor<2x5xi32>, tensor<i32>) -> tensor<2x5xi32>
  %ww = kiln.cast %w {is_unsigned = true} : tensor<5x3xi8> -> tensor<5x3xi32>
  %wc = kiln.sub %ww, %wz : (tensor<5x3xi32>, tensor<3xi32>) -> tensor<5x3xi32>
  %y = kiln.matmul %xc, %wc : (tensor<2x5xi32>, tensor<5x3xi32>) -> tensor<2x3xi32>
  return %y : tensor<2x3xi32>
}
}

// -----

// int8 x int8 without zero points on a CPU without avx512vnni (no
// kiln.cpu_features): 4 rows, so the generic kernel. The activations'
// top bits are flipped (+ 128) and 128 * column sums subtracted; the
// weights fit int8 as they are, so no offsets and no row sums.
// CHECK-LABEL: func.func @generic_s8s8
// CHECK-NOT: func.call
// CHECK-NOT: tensor<4xi32>
// CHECK: arith.constant -2139062144 : i32
// CHECK: arith.xori
// CHECK: vector.shuffle
// CHECK: arith.muli {{.+}} : vector<16xi32>
// CHECK: arith.constant 128 : i32
// CHECK: arith.subi {{.+}} : vector<16xi32>
// CHECK-NOT: kiln.matmul
// GENERIC-LABEL: func.func @generic_s8s8
// GENERIC: vector.shuffle
// NONE-LABEL: func.func @generic_s8s8
// NONE: kiln.matmul
func.func @generic_s8s8(%x: tensor<4x8xi8>) -> tensor<4x16xi32> {
  %w = arith.constant dense<3> : tensor<8x16xi8>
  %xw = kiln.cast %x : tensor<4x8xi8> -> tensor<4x8xi32>
  %ww = kiln.cast %w : tensor<8x16xi8> -> tensor<8x16xi32>
  %y = kiln.matmul %xw, %ww : (tensor<4x8xi32>, tensor<8x16xi32>) -> tensor<4x16xi32>
  return %y : tensor<4x16xi32>
}

// -----

// Without avx512vnni, fewer rows than a block keep the reference lowering
// (LLVM vectorizes it over N; the generic kernel is slower there) unless
// dot-product=generic asks for the kernel.
// CHECK-LABEL: func.func @one_row_generic
// CHECK: kiln.matmul
// GENERIC-LABEL: func.func @one_row_generic
// GENERIC-NOT: kiln.matmul
// GENERIC: vector.shuffle
func.func @one_row_generic(%x: tensor<1x8xi8>) -> tensor<1x16xi32> {
  %w = arith.constant dense<3> : tensor<8x16xi8>
  %xw = kiln.cast %x : tensor<1x8xi8> -> tensor<1x8xi32>
  %ww = kiln.cast %w : tensor<8x16xi8> -> tensor<8x16xi32>
  %y = kiln.matmul %xw, %ww : (tensor<1x8xi32>, tensor<8x16xi32>) -> tensor<1x16xi32>
  return %y : tensor<1x16xi32>
}

// -----

// A per-row activation zero point ([M, 1]) is read per row; large products
// (here 8 x 512 x 512 = 2^21 multiply-adds) spread their panels over
// threads.
// CHECK-LABEL: func.func @per_row_threads
// CHECK: scf.forall
// CHECK:   func.call @llvm.x86.avx512.vpdpbusd.512
// CHECK:   tensor.extract %arg1[%{{.+}}, %{{.+}}] : tensor<8x1xi32>
module attributes {kiln.cpu_features = ["avx512f", "avx512vnni"]} {
func.func @per_row_threads(%x: tensor<8x512xi8>, %zp: tensor<8x1xi32>) -> tensor<8x512xi32> {
  %w = arith.constant dense<-7> : tensor<512x512xi8>
  %xw = kiln.cast %x {is_unsigned = true} : tensor<8x512xi8> -> tensor<8x512xi32>
  %xc = kiln.sub %xw, %zp : (tensor<8x512xi32>, tensor<8x1xi32>) -> tensor<8x512xi32>
  %ww = kiln.cast %w : tensor<512x512xi8> -> tensor<512x512xi32>
  %y = kiln.matmul %xc, %ww : (tensor<8x512xi32>, tensor<512x512xi32>) -> tensor<8x512xi32>
  return %y : tensor<8x512xi32>
}
}

// -----

// Left to the reference lowering: weights that are not constants, float
// products, and constant columns whose values span more than 256 (no
// int8 form after one shift).
// CHECK-LABEL: func.func @not_converted
// CHECK-COUNT-3: kiln.matmul
// GENERIC-LABEL: func.func @not_converted
// GENERIC-COUNT-3: kiln.matmul
module attributes {kiln.cpu_features = ["avx512vnni"]} {
func.func @not_converted(%x: tensor<4x8xi8>, %w: tensor<8x16xi8>, %f: tensor<4x8xf32>, %g: tensor<8x16xf32>) -> (tensor<4x16xi32>, tensor<4x16xf32>, tensor<4x16xi32>) {
  %xw = kiln.cast %x : tensor<4x8xi8> -> tensor<4x8xi32>
  %ww = kiln.cast %w : tensor<8x16xi8> -> tensor<8x16xi32>
  %y = kiln.matmul %xw, %ww : (tensor<4x8xi32>, tensor<8x16xi32>) -> tensor<4x16xi32>
  %yf = kiln.matmul %f, %g : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %wide = arith.constant dense<[[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [300, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]> : tensor<8x16xi32>
  %y2 = kiln.matmul %xw, %wide : (tensor<4x8xi32>, tensor<8x16xi32>) -> tensor<4x16xi32>
  return %y, %yf, %y2 : tensor<4x16xi32>, tensor<4x16xf32>, tensor<4x16xi32>
}
}

// -----

// Dynamic rows keep the reference lowering.
// CHECK-LABEL: func.func @dynamic_rows
// CHECK: kiln.matmul
// CHECK-NOT: vector.
// GENERIC-LABEL: func.func @dynamic_rows
// GENERIC: kiln.matmul
func.func @dynamic_rows(%x: tensor<?x8xi8>) -> tensor<?x16xi32> {
  %w = arith.constant dense<3> : tensor<8x16xi8>
  %xw = kiln.cast %x : tensor<?x8xi8> -> tensor<?x8xi32>
  %ww = kiln.cast %w : tensor<8x16xi8> -> tensor<8x16xi32>
  %y = kiln.matmul %xw, %ww : (tensor<?x8xi32>, tensor<8x16xi32>) -> tensor<?x16xi32>
  return %y : tensor<?x16xi32>
}
