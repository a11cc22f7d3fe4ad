// RUN: kiln-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(kiln-partition-data-parallel{replica=0 replicas=2})'
// RUN: not kiln-opt %s -split-input-file -pass-pipeline='builtin.module(kiln-partition-data-parallel{replica=2 replicas=2})' 2>&1 | FileCheck %s --check-prefix=RANGE
// RUN: not kiln-opt %s -split-input-file -pass-pipeline='builtin.module(kiln-partition-data-parallel{replica=0 replicas=2 entry=run})' 2>&1 | FileCheck %s --check-prefix=ENTRY

// RANGE: error: kiln-partition-data-parallel: replica 2 must lie in [0, replicas = 2)
// ENTRY: error: data parallelism partitions the entry function @run, and the module has none

// A dynamic batch.
// expected-error @+1 {{data parallelism splits axis 0 (the batch) of every argument and result, which must be static and the same; argument 0 is 'tensor<?x16xi64>'}}
func.func @main(%tokens: tensor<?x16xi64>) -> tensor<?x16xi64> {
  return %tokens : tensor<?x16xi64>
}

// -----

// A result whose axis 0 is not the batch.
// expected-error @+1 {{data parallelism splits axis 0 (the batch) of every argument and result, which must be static and the same; result 0 is 'tensor<16x2xi64>' where the batch is 2}}
func.func @main(%tokens: tensor<2x16xi64>) -> tensor<16x2xi64> {
  %t = arith.constant dense<0> : tensor<16x2xi64>
  return %t : tensor<16x2xi64>
}

// -----

// A result the gather's sum does not take.
// expected-error @+1 {{data parallelism gathers the replicas' results with a sum of f32, f64, i32 or i64, and result 0 is 'tensor<2x16xf16>'}}
func.func @main(%x: tensor<2x16xf16>) -> tensor<2x16xf16> {
  return %x : tensor<2x16xf16>
}
