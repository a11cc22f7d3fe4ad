// RUN: kiln-opt %s '-kiln-plan-workspace=alignment=256' -verify-diagnostics -split-input-file

func.func @dynamic(%n: index) {
  // expected-error @below {{needs a static shape, the identity layout and the default memory space to become a workspace view, found 'memref<?xf32>'}}
  %a = memref.alloc(%n) : memref<?xf32>
  return
}

// -----

// expected-error @below {{is called inside the module, so it cannot take a workspace argument}}
func.func @helper(%out: memref<4xf32>) {
  %a = memref.alloc() : memref<4xf32>
  memref.copy %a, %out : memref<4xf32> to memref<4xf32>
  return
}

func.func @main(%out: memref<4xf32>) {
  call @helper(%out) : (memref<4xf32>) -> ()
  return
}
