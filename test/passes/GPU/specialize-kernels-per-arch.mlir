// RUN: kiln-opt %s -split-input-file -verify-diagnostics "-kiln-gpu-specialize-kernels-per-arch=archs=sm_80,sm_90a" | FileCheck %s

// The host's predicate declaration goes; @kiln_kernels keeps the sm_80
// body (the else branch) and @kiln_kernels_sm_90a gets the sm_90a one,
// each with its workgroup buffer aligned as the predicate asks.
// CHECK-NOT: kiln_gpu_arch_has_wgmma
// CHECK-LABEL: gpu.module @kiln_kernels {
// CHECK: gpu.func @k(%{{.+}}: memref<4xi32>) workgroup(%{{.+}} : memref<16xi32, #gpu.address_space<workgroup>> {llvm.align = 1024 : i64}) kernel
// CHECK-NOT: scf.if
// CHECK-NOT: call
// CHECK: %[[C2:.+]] = arith.constant 2 : i32
// CHECK: memref.store %[[C2]]
// CHECK: gpu.return
// CHECK-LABEL: gpu.module @kiln_kernels_sm_90a {
// CHECK: gpu.func @k(%{{.+}}: memref<4xi32>) workgroup(%{{.+}} : memref<16xi32, #gpu.address_space<workgroup>> {llvm.align = 1024 : i64}) kernel
// CHECK-NOT: scf.if
// CHECK: %[[C1:.+]] = arith.constant 1 : i32
// CHECK: memref.store %[[C1]]
// CHECK: gpu.return
module attributes {gpu.container_module} {
  func.func private @kiln_gpu_arch_has_wgmma() -> i1 attributes {kiln.gpu_arch_predicate = ["sm_90a"], kiln.gpu_workgroup_alignment = 1024 : i64}
  gpu.module @kiln_kernels {
    func.func private @kiln_gpu_arch_has_wgmma() -> i1 attributes {kiln.gpu_arch_predicate = ["sm_90a"], kiln.gpu_workgroup_alignment = 1024 : i64}
    gpu.func @k(%out: memref<4xi32>) workgroup(%buf : memref<16xi32, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      %p = func.call @kiln_gpu_arch_has_wgmma() : () -> i1
      %v = scf.if %p -> i32 {
        %one = arith.constant 1 : i32
        scf.yield %one : i32
      } else {
        %two = arith.constant 2 : i32
        scf.yield %two : i32
      }
      memref.store %v, %out[%c0] : memref<4xi32>
      gpu.return
    }
  }
}

// -----

// A kernel module that already has targets is refused.
module attributes {gpu.container_module} {
  // expected-error @+1 {{'gpu.module' op already has targets; specialize per arch before attaching them}}
  gpu.module @kiln_kernels [#nvvm.target<chip = "sm_80">] {
  }
}

// -----

// A predicate that is not `() -> i1`.
module attributes {gpu.container_module} {
  gpu.module @kiln_kernels {
    // expected-error @+1 {{'func.func' op is a GPU arch predicate, which must be a `() -> i1` declaration with an array of archs}}
    func.func private @bad(i32) -> i1 attributes {kiln.gpu_arch_predicate = ["sm_90a"]}
  }
}

// -----

// A predicate still called on the host: outlining has not run.
module attributes {gpu.container_module} {
  // expected-error @+1 {{'func.func' op is a GPU arch predicate used outside a kernel (run gpu-kernel-outlining first)}}
  func.func private @p() -> i1 attributes {kiln.gpu_arch_predicate = ["sm_90a"]}
  func.func @host() -> i1 {
    %0 = func.call @p() : () -> i1
    return %0 : i1
  }
}

// -----

// The copy's name is taken.
module attributes {gpu.container_module} {
  // expected-error @+1 {{'gpu.module' op cannot be copied for sm_90a: 'kiln_kernels_sm_90a' exists}}
  gpu.module @kiln_kernels {
  }
  gpu.module @kiln_kernels_sm_90a {
  }
}
