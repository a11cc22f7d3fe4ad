// RUN: kiln-opt %s -split-input-file -verify-diagnostics -kiln-convert-collectives-to-runtime-calls | FileCheck %s

// A sum over a group of the ranks (a plan that combines splits): the
// module's kiln.collective_groups (this rank's color of each group) become
// exported globals the runtime reads at load (the count and the colors)
// and fills in (the handles); the call passes group 1's handle first.

// CHECK: memref.global "public" constant @kiln_collective_group_count : memref<1xi32> = dense<2> {alignment = 8 : i64}
// CHECK: memref.global "public" constant @kiln_collective_group_colors : memref<2xi32> = dense<[3, 1]> {alignment = 8 : i64}
// CHECK: memref.global "public" @kiln_collective_groups : memref<2xi64> = dense<0> {alignment = 8 : i64}
// CHECK-LABEL: func.func @sum
// CHECK: %[[G:.+]] = memref.get_global @kiln_collective_groups : memref<2xi64>
// CHECK: %[[I:.+]] = arith.constant 1 : index
// CHECK: %[[H:.+]] = memref.load %[[G]][%[[I]]] : memref<2xi64>
// CHECK: call @kiln_collective_group_all_reduce(%[[H]], %{{.+}}, %{{.+}}, %{{.+}}) : (i64, i64, i64, i32) -> ()
// CHECK: call @kiln_collective_all_reduce(%{{.+}}, %{{.+}}, %{{.+}}) : (i64, i64, i32) -> ()
// CHECK: func.func private @kiln_collective_group_all_reduce(i64, i64, i64, i32)
module attributes {kiln.collective_groups = array<i64: 3, 1>} {
  func.func @sum(%x: tensor<16x64xf32>) -> tensor<16x64xf32> {
    %0 = kiln.all_reduce %x {group = 1 : i64, ranks = 2 : i64} : (tensor<16x64xf32>) -> tensor<16x64xf32>
    %1 = kiln.all_reduce %0 {ranks = 4 : i64} : (tensor<16x64xf32>) -> tensor<16x64xf32>
    return %1 : tensor<16x64xf32>
  }
}

// -----

// A group the module does not list is an error.
module attributes {kiln.collective_groups = array<i64: 0>} {
  func.func @unlisted(%x: tensor<4xf32>) -> tensor<4xf32> {
    // expected-error @+1 {{'kiln.all_reduce' op sums over group 1, which the module's kiln.collective_groups does not list}}
    %0 = kiln.all_reduce %x {group = 1 : i64, ranks = 2 : i64} : (tensor<4xf32>) -> tensor<4xf32>
    return %0 : tensor<4xf32>
  }
}

// -----

// Groups the module lists but sums over none of (a data-parallel replica's
// rank that does not gather, its dp color -1: it joins no group) are
// exported all the same: the runtime's group_split is collective over
// every rank, so every rank must make every group.
// CHECK: memref.global "public" constant @kiln_collective_group_count : memref<1xi32> = dense<1>
// CHECK: memref.global "public" constant @kiln_collective_group_colors : memref<1xi32> = dense<-1>
// CHECK: memref.global "public" @kiln_collective_groups : memref<1xi64>
// CHECK-LABEL: func.func @no_sums
// CHECK-NOT: call
module attributes {kiln.collective_groups = array<i64: -1>} {
  func.func @no_sums(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}
