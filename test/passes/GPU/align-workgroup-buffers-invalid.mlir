// RUN: kiln-opt %s -verify-diagnostics "--pass-pipeline=builtin.module(gpu.module(kiln-gpu-align-workgroup-buffers{alignment=24}))"

module attributes {gpu.container_module} {
  // expected-error @below {{kiln-gpu-align-workgroup-buffers expects an alignment that is a power of two, found 24}}
  gpu.module @kiln_kernels {
  }
}
