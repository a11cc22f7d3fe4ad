// RUN: kiln-opt %s -split-input-file -verify-diagnostics "--pass-pipeline=builtin.module(gpu.module(kiln-gpu-align-workgroup-buffers{alignment=16}))" | FileCheck %s

// f16 buffers (natural alignment 2) get 16; a larger alignment (the wgmma
// stage buffer's 1024) is kept; every kernel of the module is covered.
// CHECK-LABEL: gpu.module @kiln_kernels
// CHECK: gpu.func @mma() workgroup(%{{.+}} : memref<64xf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.+}} : memref<8xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK: gpu.func @wgmma() workgroup(%{{.+}} : memref<512xf16, #gpu.address_space<workgroup>> {llvm.align = 1024 : i64}) kernel
// CHECK: gpu.func @small() workgroup(%{{.+}} : memref<4xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK: gpu.func @none() kernel
module attributes {gpu.container_module} {
  gpu.module @kiln_kernels {
    gpu.func @mma() workgroup(%a : memref<64xf16, #gpu.address_space<workgroup>>, %b : memref<8xbf16, #gpu.address_space<workgroup>>) kernel {
      gpu.return
    }
    gpu.func @wgmma() workgroup(%a : memref<512xf16, #gpu.address_space<workgroup>> {llvm.align = 1024 : i64}) kernel {
      gpu.return
    }
    gpu.func @small() workgroup(%a : memref<4xf32, #gpu.address_space<workgroup>> {llvm.align = 8 : i64}) kernel {
      gpu.return
    }
    gpu.func @none() kernel {
      gpu.return
    }
  }
}
