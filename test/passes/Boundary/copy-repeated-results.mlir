// RUN: kiln-opt %s -kiln-copy-repeated-results | FileCheck %s
// RUN: kiln-opt %s -kiln-copy-repeated-results="entry=dynamic" | FileCheck %s --check-prefix=DYN

// A value returned twice: the second result becomes a copy, so that each
// out-parameter gets its own buffer after bufferization.
// CHECK-LABEL: func @main
// CHECK: %[[SUM:.+]] = kiln.add
// CHECK: %[[E:.+]] = tensor.empty() : tensor<2x3xf32>
// CHECK: %[[COPY:.+]] = linalg.copy ins(%[[SUM]] : tensor<2x3xf32>) outs(%[[E]] : tensor<2x3xf32>)
// CHECK: return %[[SUM]], %[[COPY]], %arg0
func.func @main(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %s = kiln.add %a, %b : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %s, %s, %a : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// Only the entry is changed (here @main): @dynamic keeps its return.
// CHECK-LABEL: func @dynamic
// CHECK: return %arg0, %arg0

// A dynamic size is read from the value itself.
// DYN-LABEL: func @main
// DYN: return %{{.+}}, %{{.+}}, %arg0
// DYN-LABEL: func @dynamic
// DYN: %[[D:.+]] = tensor.dim %arg0, %c0
// DYN: %[[E:.+]] = tensor.empty(%[[D]]) : tensor<?x3xf32>
// DYN: %[[COPY:.+]] = linalg.copy ins(%arg0 : tensor<?x3xf32>) outs(%[[E]] : tensor<?x3xf32>)
// DYN: return %arg0, %[[COPY]]
func.func @dynamic(%a: tensor<?x3xf32>) -> (tensor<?x3xf32>, tensor<?x3xf32>) {
  return %a, %a : tensor<?x3xf32>, tensor<?x3xf32>
}
