// The CUDA target's pipelines as kiln-compile runs them, through kiln-opt.
// REQUIRES: ptxas
// RUN: kiln-opt %s --kiln-gpu-tensor-pipeline --kiln-gpu-kernel-pipeline | FileCheck %s --check-prefix=KERNELS
// RUN: kiln-opt %s --kiln-gpu-tensor-pipeline --kiln-gpu-kernel-pipeline '--kiln-gpu-codegen-pipeline=gpu-archs=sm_80,sm_90a cuda-path=%cuda_path' | FileCheck %s --check-prefix=CODEGEN

// A row softmax of exp: the softmax's temporaries become workspace views,
// every loop nest a kernel in the one gpu.module.
// KERNELS: func.func @main(%arg0: memref<3x5xf32>, %arg1: memref<3x5xf32>, %arg2: memref<{{[0-9]+}}xi8> {kiln.workspace})
// KERNELS-NOT: memref.alloc
// KERNELS: memref.view %arg2
// KERNELS: gpu.launch_func @kiln_kernels::
// KERNELS: gpu.module @kiln_kernels
// KERNELS-NOT: gpu.module

// CODEGEN: module attributes {gpu.container_module, kiln.gpu_kernels = [
// CODEGEN: llvm.func @main({{.*}}) -> i32
// CODEGEN-NOT: gpu.launch_func
// One gpu.binary per arch (kiln-gpu-specialize-kernels-per-arch: the
// first arch's is @kiln_kernels), PTX in each, libdevice named explicitly.
// CODEGEN: gpu.binary @kiln_kernels  [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", link = ["{{.*}}/nvvm/libdevice/libdevice.10.bc"]>, {{.*}}assembly = "{{.*}}.target sm_80
// CODEGEN: gpu.binary @kiln_kernels_sm_90a  [#gpu.object<#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx80", link = ["{{.*}}/nvvm/libdevice/libdevice.10.bc"]>, {{.*}}assembly = "{{.*}}.target sm_90a
// CODEGEN: llvm.func @kiln_entry(
func.func @main(%x: tensor<3x5xf32>) -> tensor<3x5xf32> {
  %0 = kiln.exp %x : tensor<3x5xf32>
  %1 = kiln.softmax %0 {axis = -1 : i64} : tensor<3x5xf32>
  return %1 : tensor<3x5xf32>
}
