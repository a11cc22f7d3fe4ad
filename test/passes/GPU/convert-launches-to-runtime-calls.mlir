// RUN: kiln-opt %s -kiln-gpu-convert-launches-to-runtime-calls | FileCheck %s

// The host schedule after gpu-to-llvm{use-bare-pointers-for-kernels=1}:
// launch operands are the kernels' PTX parameters.
module attributes {gpu.container_module} {
  llvm.func @main(%x: !llvm.ptr, %y: !llvm.ptr, %ws: !llvm.ptr {kiln.workspace}) {
    %c1 = llvm.mlir.constant(1 : index) : i64
    %c4 = llvm.mlir.constant(4 : index) : i64
    %c256 = llvm.mlir.constant(256 : index) : i64
    gpu.launch_func @kiln_kernels::@first blocks in (%c4, %c1, %c1) threads in (%c256, %c1, %c1) : i64 args(%c256 : i64, %x : !llvm.ptr, %ws : !llvm.ptr)
    gpu.launch_func @kiln_kernels::@second blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) : i64 args(%ws : !llvm.ptr, %y : !llvm.ptr)
    gpu.launch_func @kiln_kernels::@first blocks in (%c4, %c1, %c1) threads in (%c256, %c1, %c1) : i64 args(%c256 : i64, %y : !llvm.ptr, %ws : !llvm.ptr)
    llvm.return
  }
  gpu.binary @kiln_kernels [#gpu.object<#nvvm.target<chip = "sm_80">, "">]
}

// Kernels are numbered by first launch.
// CHECK: module attributes {gpu.container_module, kiln.gpu_kernels = ["first", "second"]}
// CHECK-LABEL: llvm.func @main(
// CHECK-SAME: %[[X:[a-z0-9]+]]: !llvm.ptr, %[[Y:[a-z0-9]+]]: !llvm.ptr, %[[WS:[a-z0-9]+]]: !llvm.ptr {kiln.workspace}, %[[CALLS:[a-z0-9]+]]: !llvm.ptr, %[[CTX:[a-z0-9]+]]: !llvm.ptr) -> i32
// Each launch: its arguments in stack slots, the slots' addresses in a
// params array (allocated in the entry block), launch loaded from the
// table's second field and called.
// CHECK-COUNT-2: llvm.alloca %{{.+}} x !llvm.array<3 x ptr>
// CHECK: llvm.store %{{.+}}, %[[S0:.+]] : i64, !llvm.ptr
// CHECK: %[[P0:.+]] = llvm.getelementptr %[[PARAMS:.+]][0, 0] : (!llvm.ptr) -> !llvm.ptr, !llvm.array<3 x ptr>
// CHECK: llvm.store %[[S0]], %[[P0]]
// CHECK: llvm.store %[[X]], %[[S1:.+]] : !llvm.ptr, !llvm.ptr
// CHECK: llvm.getelementptr %[[PARAMS]][0, 1]
// CHECK: llvm.store %[[WS]], %{{.+}} : !llvm.ptr, !llvm.ptr
// CHECK: llvm.getelementptr %[[PARAMS]][0, 2]
// CHECK: %[[SMEM:.+]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: %[[INDEX:.+]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: %[[FIELD:.+]] = llvm.getelementptr %[[CALLS]][0, 1] : (!llvm.ptr) -> !llvm.ptr, !llvm.struct<(i32, ptr, ptr, ptr)>
// CHECK: %[[LAUNCH:.+]] = llvm.load %[[FIELD]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[GX:.+]] = llvm.trunc %{{.+}} : i64 to i32
// CHECK: %[[STATUS:.+]] = llvm.call %[[LAUNCH]](%[[CTX]], %[[INDEX]], %[[GX]], %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[SMEM]], %[[PARAMS]]) : !llvm.ptr, (!llvm.ptr, i32, i32, i32, i32, i32, i32, i32, i32, !llvm.ptr) -> i32
// CHECK: %[[FAILED:.+]] = llvm.icmp "ne" %[[STATUS]], %{{.+}} : i32
// CHECK: llvm.cond_br %[[FAILED]], ^[[FAIL:.+]](%[[STATUS]] : i32), ^
// The second kernel is index 1, the third launch index 0 again.
// CHECK: llvm.mlir.constant(1 : i32) : i32
// CHECK: llvm.call
// CHECK: llvm.cond_br
// CHECK: llvm.mlir.constant(0 : i32) : i32
// CHECK: llvm.call
// CHECK: llvm.cond_br
// CHECK-NOT: gpu.launch_func
// CHECK: llvm.return %{{.+}} : i32
// CHECK: ^[[FAIL]](%[[S:.+]]: i32):
// CHECK-NEXT: llvm.return %[[S]] : i32

// The gpu.binary stays for the target to copy out.
// CHECK: gpu.binary @kiln_kernels

// The exported entry: buffers[0], buffers[1], then the workspace, the call
// table and the context.
// CHECK-LABEL: llvm.func @kiln_entry(%arg0: !llvm.ptr, %arg1: !llvm.ptr, %arg2: !llvm.ptr, %arg3: !llvm.ptr) -> i32
// CHECK: %[[B0:.+]] = llvm.getelementptr %arg0[0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[X0:.+]] = llvm.load %[[B0]]
// CHECK: %[[B1:.+]] = llvm.getelementptr %arg0[1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[X1:.+]] = llvm.load %[[B1]]
// CHECK: %[[R:.+]] = llvm.call @main(%[[X0]], %[[X1]], %arg1, %arg2, %arg3)
// CHECK: llvm.return %[[R]] : i32
