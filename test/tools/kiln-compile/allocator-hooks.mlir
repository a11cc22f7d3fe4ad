// Host code allocates the buffers of a run-time size through the exported
// kiln_allocator hooks (kiln/artifact_format.h): each malloc and free of
// the model goes through an internal function that calls the hook the
// runtime set, or libc's when it is null.
// RUN: kiln-compile %s --emit=llvm-ir -O0 | FileCheck %s

// CHECK: @kiln_allocator = global { ptr, ptr } zeroinitializer
// CHECK-NOT: call ptr @malloc(
// CHECK: call ptr @kiln.allocate(
// CHECK-NOT: call ptr @malloc(
// CHECK-LABEL: define internal ptr @kiln.allocate(i64 %0) {
// CHECK: load ptr, ptr @kiln_allocator
// CHECK: icmp eq ptr %{{.+}}, null
// CHECK: call ptr %{{.+}}(i64 %0)
// CHECK: call ptr @malloc(i64 %0)
// CHECK-LABEL: define internal void @kiln.release(ptr %0) {
// CHECK: load ptr, ptr getelementptr inbounds nuw ({ ptr, ptr }, ptr @kiln_allocator, i32 0, i32 1)
// CHECK: call void @free(ptr %0)

func.func @main(%x: tensor<?x64xf32> {kiln.name = "x", kiln.dim_symbols = ["rows", ""]},
                %w: tensor<64x64xf32> {kiln.name = "w"})
    -> (tensor<?x64xf32> {kiln.name = "y", kiln.dim_symbols = ["rows", ""]})
    attributes {kiln.dim_ranges = {rows = array<i64: 1, 4096>}} {
  %0 = kiln.matmul %x, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %1 = kiln.softmax %0 {axis = -1 : i64} : tensor<?x64xf32>
  %2 = kiln.matmul %1, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  return %2 : tensor<?x64xf32>
}
