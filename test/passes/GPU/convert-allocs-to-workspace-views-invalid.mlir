// RUN: kiln-opt %s -kiln-gpu-convert-allocs-to-workspace-views -verify-diagnostics -split-input-file

func.func @dynamic(%n: index) {
  // expected-error @below {{needs a static shape, the identity layout and the default memory space to become a workspace view, found 'memref<?xf32>'}}
  %a = memref.alloc(%n) : memref<?xf32>
  return
}
