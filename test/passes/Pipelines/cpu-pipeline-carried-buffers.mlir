// RUN: kiln-opt %s -kiln-cpu-pipeline | FileCheck %s

// An scf.for that carries two buffers (Scan's states): which one a step's
// result aliases is known only at run time, so the deallocation pipeline
// calls a helper, memref<?xindex> arguments and all, that
// convert-func-to-llvm with bare-pointer memrefs cannot convert. The
// pipeline inlines it: no call of it is left, nor the function.
// CHECK-NOT: dealloc_helper
// CHECK: llvm.func @main(
// CHECK-NOT: dealloc_helper
// CHECK: llvm.return
// CHECK-NOT: dealloc_helper

#map = affine_map<(d0) -> (d0)>
module {
  func.func @main(%arg0: tensor<2xf32> {kiln.dtype = 1 : i32, kiln.name = "initial_sum"}, %arg1: tensor<2xf32> {kiln.dtype = 1 : i32, kiln.name = "initial_prod"}, %arg2: tensor<3x2xf32> {kiln.dtype = 1 : i32, kiln.name = "x"}) -> (tensor<2xf32> {kiln.dtype = 1 : i32, kiln.name = "y_sum"}, tensor<2xf32> {kiln.dtype = 1 : i32, kiln.name = "y_prod"}, tensor<3x2xf32> {kiln.dtype = 1 : i32, kiln.name = "z"}) {
    %c3 = arith.constant 3 : index
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %0 = tensor.empty() : tensor<3x2xf32>
    %1:3 = scf.for %arg3 = %c0 to %c3 step %c1 iter_args(%arg4 = %arg0, %arg5 = %arg1, %arg6 = %0) -> (tensor<2xf32>, tensor<2xf32>, tensor<3x2xf32>) {
      %extracted_slice = tensor.extract_slice %arg2[%arg3, 0] [1, 2] [1, 1] : tensor<3x2xf32> to tensor<2xf32>
      %2 = tensor.empty() : tensor<2xf32>
      %3 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel"]} ins(%arg4, %extracted_slice : tensor<2xf32>, tensor<2xf32>) outs(%2 : tensor<2xf32>) {
      ^bb0(%in: f32, %in_0: f32, %out: f32):
        %5 = arith.addf %in, %in_0 : f32
        linalg.yield %5 : f32
      } -> tensor<2xf32>
      %4 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel"]} ins(%arg5, %extracted_slice : tensor<2xf32>, tensor<2xf32>) outs(%2 : tensor<2xf32>) {
      ^bb0(%in: f32, %in_0: f32, %out: f32):
        %5 = arith.mulf %in, %in_0 : f32
        linalg.yield %5 : f32
      } -> tensor<2xf32>
      %inserted_slice = tensor.insert_slice %3 into %arg6[%arg3, 0] [1, 2] [1, 1] : tensor<2xf32> into tensor<3x2xf32>
      scf.yield %3, %4, %inserted_slice : tensor<2xf32>, tensor<2xf32>, tensor<3x2xf32>
    }
    return %1#0, %1#1, %1#2 : tensor<2xf32>, tensor<2xf32>, tensor<3x2xf32>
  }
}
