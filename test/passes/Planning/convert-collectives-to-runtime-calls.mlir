// RUN: kiln-opt %s -kiln-convert-collectives-to-runtime-calls | FileCheck %s

// The operand is copied into a fresh 64-byte-aligned buffer, summed in
// place over the ranks by the runtime's kiln_collective_all_reduce
// (pointer, element count, kiln_dtype: 1 is float32, 7 int64), and the
// buffer is the result. A dynamic dimension enters the count.

// CHECK-LABEL: func.func @sum
// CHECK: %[[M:.+]] = bufferization.to_buffer %arg0 : tensor<16x64xf32> to memref<16x64xf32, strided<[?, ?], offset: ?>>
// CHECK: %[[B:.+]] = memref.alloc() {alignment = 64 : i64} : memref<16x64xf32>
// CHECK: memref.copy %[[M]], %[[B]]
// CHECK: %[[P:.+]] = memref.extract_aligned_pointer_as_index %[[B]]
// CHECK: %[[PI:.+]] = arith.index_cast %[[P]] : index to i64
// CHECK: %[[N:.+]] = arith.index_cast %{{.+}} : index to i64
// CHECK: %[[T:.+]] = arith.constant 1 : i32
// CHECK: call @kiln_collective_all_reduce(%[[PI]], %[[N]], %[[T]]) : (i64, i64, i32) -> ()
// CHECK: %[[R:.+]] = bufferization.to_tensor %[[B]] restrict writable
// CHECK: return %[[R]]
func.func @sum(%x: tensor<16x64xf32>) -> tensor<16x64xf32> {
  %0 = kiln.all_reduce %x {ranks = 2 : i64} : (tensor<16x64xf32>) -> tensor<16x64xf32>
  return %0 : tensor<16x64xf32>
}

// CHECK-LABEL: func.func @dynamic
// CHECK: %[[D:.+]] = tensor.dim %arg0, %{{.+}} : tensor<?x8xi64>
// CHECK: memref.alloc(%[[D]]) {alignment = 64 : i64} : memref<?x8xi64>
// CHECK: arith.constant 7 : i32
// CHECK: call @kiln_collective_all_reduce
func.func @dynamic(%x: tensor<?x8xi64>) -> tensor<?x8xi64> {
  %0 = kiln.all_reduce %x {ranks = 4 : i64} : (tensor<?x8xi64>) -> tensor<?x8xi64>
  return %0 : tensor<?x8xi64>
}

// A send copies its operand into a fresh buffer and passes the peer; a
// receive fills a fresh buffer, which is its result (kiln_dtype 16 is
// bfloat16).
// CHECK-LABEL: func.func @stage
// CHECK: %[[SM:.+]] = bufferization.to_buffer %arg0 : tensor<1x16x64xf32> to memref<1x16x64xf32, strided<[?, ?, ?], offset: ?>>
// CHECK: %[[SB:.+]] = memref.alloc() {alignment = 64 : i64} : memref<1x16x64xf32>
// CHECK: memref.copy %[[SM]], %[[SB]]
// CHECK: %[[SP:.+]] = memref.extract_aligned_pointer_as_index %[[SB]]
// CHECK: %[[SPI:.+]] = arith.index_cast %[[SP]] : index to i64
// CHECK: %[[SN:.+]] = arith.index_cast %{{.+}} : index to i64
// CHECK: %[[ST:.+]] = arith.constant 1 : i32
// CHECK: %[[PEER:.+]] = arith.constant 1 : i32
// CHECK: call @kiln_collective_send(%[[SPI]], %[[SN]], %[[ST]], %[[PEER]]) : (i64, i64, i32, i32) -> ()
// CHECK: %[[RB:.+]] = memref.alloc() {alignment = 64 : i64} : memref<2x8xbf16>
// CHECK: %[[RP:.+]] = memref.extract_aligned_pointer_as_index %[[RB]]
// CHECK: %[[RPI:.+]] = arith.index_cast %[[RP]] : index to i64
// CHECK: %[[RN:.+]] = arith.index_cast %{{.+}} : index to i64
// CHECK: %[[RT:.+]] = arith.constant 16 : i32
// CHECK: %[[FROM:.+]] = arith.constant 3 : i32
// CHECK: call @kiln_collective_recv(%[[RPI]], %[[RN]], %[[RT]], %[[FROM]]) : (i64, i64, i32, i32) -> ()
// CHECK: %[[R:.+]] = bufferization.to_tensor %[[RB]] restrict writable : memref<2x8xbf16> to tensor<2x8xbf16>
// CHECK: return %[[R]]
func.func @stage(%x: tensor<1x16x64xf32>) -> tensor<2x8xbf16> {
  kiln.send %x {peer = 1 : i64, ranks = 4 : i64} : tensor<1x16x64xf32>
  %0 = kiln.recv {peer = 3 : i64, ranks = 4 : i64} : tensor<2x8xbf16>
  return %0 : tensor<2x8xbf16>
}

// Declared once each, for the host code generator to route through the
// table.
// CHECK: func.func private @kiln_collective_all_reduce(i64, i64, i32)
// CHECK: func.func private @kiln_collective_send(i64, i64, i32, i32)
// CHECK: func.func private @kiln_collective_recv(i64, i64, i32, i32)
