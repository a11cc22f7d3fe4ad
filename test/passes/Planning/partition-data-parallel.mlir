// RUN: kiln-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(kiln-partition-data-parallel{replica=1 replicas=2})' | FileCheck %s
// RUN: kiln-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(kiln-partition-data-parallel{replica=2 replicas=4 gather=false})' | FileCheck %s --check-prefix=NOGATHER
// RUN: kiln-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(kiln-partition-data-parallel{replica=0 replicas=2 group=1})' | FileCheck %s --check-prefix=GROUP
// RUN: kiln-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(kiln-partition-data-parallel{replica=0 replicas=1})' | FileCheck %s --check-prefix=ONE

// Replica 1 of 2, built for 2 sequences, takes and returns the batch of 4:
// it runs rows 2-3 of the tokens, places its logits at rows 2-3 of zeros,
// and one all-reduce over the replicas adds the replicas' rows.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[ARG:[a-z0-9]+]]: tensor<4x16xi64>, %[[POS:[a-z0-9]+]]: tensor<4x16xi64>) -> (tensor<4x16x8xf32>, tensor<4x16xi64>)
// CHECK: %[[T:.+]] = tensor.extract_slice %[[ARG]][2, 0] [2, 16] [1, 1] : tensor<4x16xi64> to tensor<2x16xi64>
// CHECK: %[[P:.+]] = tensor.extract_slice %[[POS]][2, 0] [2, 16] [1, 1] : tensor<4x16xi64> to tensor<2x16xi64>
// CHECK: %[[E:.+]] = kiln.gather %[[TABLE:.+]], %[[T]]
// CHECK: %[[Z:.+]] = arith.constant dense<0.000000e+00> : tensor<4x16x8xf32>
// CHECK: %[[IN:.+]] = tensor.insert_slice %[[E]] into %[[Z]][2, 0, 0] [2, 16, 8] [1, 1, 1] : tensor<2x16x8xf32> into tensor<4x16x8xf32>
// CHECK: %[[S:.+]] = kiln.all_reduce %[[IN]] {ranks = 2 : i64} : (tensor<4x16x8xf32>) -> tensor<4x16x8xf32>
// CHECK: %[[ZI:.+]] = arith.constant dense<0> : tensor<4x16xi64>
// CHECK: %[[PI:.+]] = tensor.insert_slice %[[P]] into %[[ZI]][2, 0] [2, 16] [1, 1] : tensor<2x16xi64> into tensor<4x16xi64>
// CHECK: %[[SI:.+]] = kiln.all_reduce %[[PI]] {ranks = 2 : i64} : (tensor<4x16xi64>) -> tensor<4x16xi64>
// CHECK: return %[[S]], %[[SI]] : tensor<4x16x8xf32>, tensor<4x16xi64>

// Replica 2 of 4 without the gather (a rank of the replica that does not
// return its results): rows 4-5 of a batch of 8, no sum.
// NOGATHER-LABEL: func.func @main
// NOGATHER-SAME: -> (tensor<8x16x8xf32>, tensor<8x16xi64>)
// NOGATHER: tensor.extract_slice %{{.+}}[4, 0] [2, 16] [1, 1] : tensor<8x16xi64> to tensor<2x16xi64>
// NOGATHER-NOT: kiln.all_reduce
// NOGATHER: tensor.insert_slice %{{.+}} into %{{.+}}[4, 0, 0] [2, 16, 8] [1, 1, 1]
// NOGATHER-NOT: kiln.all_reduce

// In a plan that combines splits, the gather runs over the dp group.
// GROUP: kiln.all_reduce %{{.+}} {group = 1 : i64, ranks = 2 : i64}

// With one replica nothing changes.
// ONE-LABEL: func.func @main
// ONE-SAME: (%{{.+}}: tensor<2x16xi64>, %{{.+}}: tensor<2x16xi64>) -> (tensor<2x16x8xf32>, tensor<2x16xi64>)
// ONE-NOT: tensor.extract_slice
func.func @main(%tokens: tensor<2x16xi64>, %pos: tensor<2x16xi64>) -> (tensor<2x16x8xf32>, tensor<2x16xi64>) {
  %table = arith.constant dense<1.0> : tensor<32x8xf32>
  %e = kiln.gather %table, %tokens {axis = 0 : i64} : (tensor<32x8xf32>, tensor<2x16xi64>) -> tensor<2x16x8xf32>
  return %e, %pos : tensor<2x16x8xf32>, tensor<2x16xi64>
}
