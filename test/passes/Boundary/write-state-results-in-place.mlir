// RUN: kiln-opt %s -kiln-write-state-results-in-place -split-input-file -verify-diagnostics | FileCheck %s

// A state result that bufferization computed in its input's buffer (here
// through a cast, or a loop yielding its iteration buffer) is dropped; one
// computed elsewhere is copied into its input first. The other results
// stay.

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[K:[a-z0-9]+]]: memref<2x4xf32> {kiln.name = "cache.key.0", kiln.state}
// CHECK-SAME: %[[V:[a-z0-9]+]]: memref<2x4xf32> {kiln.name = "cache.value.0", kiln.state}
// CHECK-SAME: %[[W:[a-z0-9]+]]: memref<2x4xf32> {kiln.name = "cache.key.1", kiln.state}
// CHECK-SAME: -> (memref<2xf32> {kiln.name = "logits"})
// CHECK: %[[NEW:.+]] = memref.alloc() : memref<2x4xf32>
// CHECK-NOT: memref.copy %{{.+}}, %[[K]]
// CHECK: memref.copy %[[NEW]], %[[V]] : memref<2x4xf32> to memref<2x4xf32>
// CHECK-NOT: memref.copy %{{.+}}, %[[W]]
// CHECK: return %{{.+}} : memref<2xf32>
func.func @main(%k: memref<2x4xf32> {kiln.name = "cache.key.0", kiln.state},
                %v: memref<2x4xf32> {kiln.name = "cache.value.0", kiln.state},
                %w: memref<2x4xf32> {kiln.name = "cache.key.1", kiln.state})
    -> (memref<2xf32> {kiln.name = "logits"},
        memref<2x4xf32> {kiln.state_of = "cache.key.0"},
        memref<2x4xf32> {kiln.state_of = "cache.value.0"},
        memref<2x4xf32> {kiln.state_of = "cache.key.1"}) {
  %logits = memref.alloc() : memref<2xf32>
  %same = memref.cast %k : memref<2x4xf32> to memref<2x4xf32>
  %new = memref.alloc() : memref<2x4xf32>
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c1 = arith.constant 1 : index
  %looped = scf.for %i = %c0 to %c2 step %c1 iter_args(%acc = %w) -> (memref<2x4xf32>) {
    scf.yield %acc : memref<2x4xf32>
  }
  return %logits, %same, %new, %looped : memref<2xf32>, memref<2x4xf32>, memref<2x4xf32>, memref<2x4xf32>
}

// -----

// expected-error @+1 {{result 0 is the state of 'cache.key.9', which is no input tagged kiln.state}}
func.func @main(%k: memref<2x4xf32> {kiln.name = "cache.key.0", kiln.state})
    -> (memref<2x4xf32> {kiln.state_of = "cache.key.9"}) {
  return %k : memref<2x4xf32>
}
