// A .mlir input in the Kiln dialect compiles like an imported model: to an
// artifact starting with the magic "KILNART", and --emit=kiln prints it
// back, which kiln-compile reads again (a round trip).
// RUN: rm -f %t.kiln
// RUN: kiln-compile %s -o %t.kiln
// RUN: head -c 7 %t.kiln | FileCheck %s --check-prefix=MAGIC --match-full-lines
// MAGIC: KILNART

// RUN: kiln-compile %s --emit=kiln | FileCheck %s
// RUN: kiln-compile %s --emit=kiln -o %t.roundtrip.mlir
// RUN: kiln-compile %t.roundtrip.mlir --emit=kiln | FileCheck %s
// RUN: kiln-compile %t.roundtrip.mlir -o %t.roundtrip.kiln
// RUN: head -c 7 %t.roundtrip.kiln | FileCheck %s --check-prefix=MAGIC --match-full-lines

// CHECK-LABEL: func.func @main(%arg0: tensor<2x3xf32> {kiln.dtype = 1 : i32, kiln.name = "x"}, %arg1: tensor<3x4xf32> {kiln.dtype = 1 : i32, kiln.name = "w"}) -> (tensor<2x4xf32> {kiln.dtype = 1 : i32, kiln.name = "y"})
// CHECK-NEXT: %[[M:.+]] = kiln.matmul %arg0, %arg1 : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
// CHECK-NEXT: %[[R:.+]] = kiln.relu %[[M]] : tensor<2x4xf32>
// CHECK-NEXT: return %[[R]] : tensor<2x4xf32>
// CHECK-LABEL: func.func @other(

// --entry picks another function; a missing one is an error.
// RUN: kiln-compile %s --entry=other --emit=llvm-ir | FileCheck %s --check-prefix=OTHER
// OTHER: define void @kiln_entry(ptr
// RUN: not kiln-compile %s --entry=nope -o %t.nope.kiln 2>&1 | FileCheck %s --check-prefix=NOPE --match-full-lines --implicit-check-not='{{.}}'
// NOPE: kiln-compile: error: the module has no entry function @nope
// RUN: not ls %t.nope.kiln

func.func @main(%x: tensor<2x3xf32> {kiln.name = "x", kiln.dtype = 1 : i32},
                %w: tensor<3x4xf32> {kiln.name = "w", kiln.dtype = 1 : i32})
    -> (tensor<2x4xf32> {kiln.name = "y", kiln.dtype = 1 : i32}) {
  %0 = kiln.matmul %x, %w : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %1 = kiln.relu %0 : tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}

func.func @other(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kiln.neg %x : tensor<4xf32>
  return %0 : tensor<4xf32>
}
