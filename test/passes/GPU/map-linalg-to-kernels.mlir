// RUN: kiln-opt %s -kiln-gpu-map-linalg-to-kernels -canonicalize | FileCheck %s

#id = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (i)>

func.func @main(%x: memref<10x33xf32>, %y: memref<10x33xf32>, %sum: memref<10xf32>,
                %idx: memref<4xi64>, %out: memref<8xf32>, %strided: memref<2x4xf32>,
                %copy: memref<2x2xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<10x33xf32>) outs(%y : memref<10x33xf32>) {
  ^bb0(%a: f32, %b: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<10x33xf32>) outs(%sum : memref<10xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  }
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %one = arith.constant 1.0 : f32
  scf.for %i = %c0 to %c4 step %c1 {
    %t = memref.load %idx[%i] : memref<4xi64>
    %ti = arith.index_cast %t : i64 to index
    memref.store %one, %out[%ti] : memref<8xf32>
  }
  %v = memref.subview %strided[0, 1] [2, 2] [1, 1] : memref<2x4xf32> to memref<2x2xf32, strided<[4, 1], offset: 1>>
  memref.copy %v, %copy : memref<2x2xf32, strided<[4, 1], offset: 1>> to memref<2x2xf32>
  return
}

// 10x33 elementwise: collapsed to 330 threads, 2 blocks of 256, the
// remainder guarded by an scf.if.
// CHECK-LABEL: func.func @main(
// CHECK: gpu.launch blocks({{.+}}) in (%{{.+}} = %c2, %{{.+}} = %c1, %{{.+}} = %c1) threads({{.+}}) in (%{{.+}} = %c256, %{{.+}} = %c1, %{{.+}} = %c1)
// CHECK: scf.if
// CHECK: math.exp
// The row sum: one thread per row, the reduction sequential in it.
// CHECK: gpu.launch blocks({{.+}}) in (%{{.+}} = %c1, %{{.+}} = %c1, %{{.+}} = %c1) threads({{.+}}) in (%{{.+}} = %c256,
// CHECK: scf.if
// CHECK-NEXT: scf.for %{{.+}} = %c0 to %c33 step %c1
// The scatter-like loop runs whole in one thread.
// CHECK: gpu.launch blocks({{.+}}) in (%{{.+}} = %c1, %{{.+}} = %c1, %{{.+}} = %c1) threads({{.+}}) in (%{{.+}} = %c1, %{{.+}} = %c1, %{{.+}} = %c1)
// CHECK-NEXT: scf.for %{{.+}} = %c0 to %c4 step %c1
// CHECK: memref.load %arg3
// CHECK: memref.store %{{.+}}, %arg4
// The strided copy is a kernel, its view cloned into the launch so that
// only %arg5 (a bare pointer) crosses.
// CHECK: gpu.launch
// CHECK-NEXT: memref.subview %arg5[0, 1] [2, 2] [1, 1]
// CHECK-NOT: memref.copy
// CHECK: return

// A view of a strided view: both are cloned, the source first.
// CHECK-LABEL: func.func @nested_views(
// CHECK: gpu.launch
// CHECK-NEXT: %[[V:.+]] = memref.subview %arg0[0, 1] [2, 3] [1, 1]
// CHECK-NEXT: memref.subview %[[V]][0, 1] [2, 2] [1, 1]
func.func @nested_views(%src: memref<2x4xf32>, %dst: memref<2x2xf32>) {
  %v = memref.subview %src[0, 1] [2, 3] [1, 1] : memref<2x4xf32> to memref<2x3xf32, strided<[4, 1], offset: 1>>
  %w = memref.subview %v[0, 1] [2, 2] [1, 1] : memref<2x3xf32, strided<[4, 1], offset: 1>> to memref<2x2xf32, strided<[4, 1], offset: 2>>
  memref.copy %w, %dst : memref<2x2xf32, strided<[4, 1], offset: 2>> to memref<2x2xf32>
  return
}

// A Pad's run-time pad value: the host cannot read it, so the load (and
// the negation computed on it) moves into the kernel that uses it.
// CHECK-LABEL: func.func @device_scalar(
// CHECK-NOT: memref.load
// CHECK: gpu.launch
// CHECK: %[[V:.+]] = memref.load %arg1[] : memref<f32>
// CHECK-NEXT: %[[N:.+]] = arith.negf %[[V]]
// CHECK: memref.store %[[N]], %arg2
// CHECK: return
func.func @device_scalar(%x: memref<8xf32>, %value: memref<f32>, %y: memref<8xf32>) {
  %v = memref.load %value[] : memref<f32>
  %n = arith.negf %v : f32
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>], iterator_types = ["parallel"]}
      outs(%y : memref<8xf32>) {
  ^bb0(%o: f32):
    linalg.yield %n : f32
  }
  return
}

// Workspace views at disjoint offsets do not alias: a kernel writing one
// does not keep a load of the other out of a later kernel.
// CHECK-LABEL: func.func @disjoint_views(
// CHECK: gpu.launch
// CHECK: gpu.launch
// CHECK: memref.load %{{.+}}[] : memref<f32>
// CHECK: return
func.func @disjoint_views(%ws: memref<64xi8>, %y: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c32 = arith.constant 32 : index
  %a = memref.view %ws[%c0][] : memref<64xi8> to memref<f32>
  %b = memref.view %ws[%c32][] : memref<64xi8> to memref<4xf32>
  %v = memref.load %a[] : memref<f32>
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%b : memref<4xf32>)
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]}
      ins(%b : memref<4xf32>) outs(%y : memref<4xf32>) {
  ^bb0(%i: f32, %o: f32):
    %s = arith.addf %i, %v : f32
    linalg.yield %s : f32
  }
  return
}

// A scan's count bounds a second scan, and a copy (a kernel of its own
// otherwise) sits between them: the copy joins the one-thread launch and
// runs as sequential loops, so the count never leaves the device.
// CHECK-LABEL: func.func @scan_then_scan(
// CHECK: gpu.launch blocks({{.+}}) in (%{{.+}} = %c1, %{{.+}} = %c1, %{{.+}} = %c1) threads({{.+}}) in (%{{.+}} = %c1, %{{.+}} = %c1, %{{.+}} = %c1)
// CHECK: %[[N:.+]] = scf.for
// CHECK-NOT: scf.parallel
// CHECK: scf.for
// CHECK: memref.store %{{.+}}, %arg3
// CHECK: scf.for %{{.+}} = %c0 to %[[N]] step %c1
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @scan_then_scan(%in: memref<4xi64>, %a: memref<4xi64>, %z: memref<4xi64>, %b: memref<4xi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %n = scf.for %i = %c0 to %c4 step %c1 iter_args(%k = %c0) -> (index) {
    %x = memref.load %in[%i] : memref<4xi64>
    memref.store %x, %a[%k] : memref<4xi64>
    %k1 = arith.addi %k, %c1 : index
    scf.yield %k1 : index
  }
  memref.copy %z, %b : memref<4xi64> to memref<4xi64>
  scf.for %j = %c0 to %n step %c1 {
    %y = memref.load %a[%j] : memref<4xi64>
    memref.store %y, %b[%j] : memref<4xi64>
  }
  return
}
