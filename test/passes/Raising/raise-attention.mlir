// RUN: kiln-opt %s -kiln-raise-attention -split-input-file -verify-diagnostics | FileCheck %s

// kiln-raise-attention on hand-written graphs, for the branches the real
// exports in test/passes/Raising/Exports do not reach. (Those are the pass's main tests.)

// A constant mask that is no mask kind (a checkerboard) stays the explicit
// mask operand: an i1 that keeps the pairs the select did not fill.
// CHECK-LABEL: func @checkerboard
// CHECK-SAME: (%[[Q:.+]]: tensor<1x2x4x8xf32>, %[[K:.+]]: tensor<1x2x4x8xf32>, %[[V:.+]]: tensor<1x2x4x8xf32>)
// CHECK: %[[C:.+]] = arith.constant dense<{{.+}}> : tensor<4x4xi1>
// CHECK: %[[KEEP:.+]] = kiln.not %[[C]] : tensor<4x4xi1>
// CHECK: %[[O:.+]], %{{.+}}, %{{.+}} = kiln.attention %[[Q]], %[[K]], %[[V]] mask %[[KEEP]] {scale = 1.000000e+00 : f32}
// CHECK: return %[[O]]
func.func @checkerboard(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %kt = kiln.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = kiln.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %c = arith.constant dense<[[false, true, false, true], [true, false, true, false], [false, true, false, true], [true, false, true, false]]> : tensor<4x4xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %m = kiln.select %c, %ninf, %s : (tensor<4x4xi1>, tensor<f32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  // expected-remark @+1 {{raised attention (i1 mask operand, 2 heads, scale 1)}}
  %p = kiln.softmax %m {axis = -1 : i64} : tensor<1x2x4x4xf32>
  %o = kiln.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// A masked_fill whose value does not drive exp to 0 is not a mask.
// CHECK-LABEL: func @small_fill
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax
func.func @small_fill(%q: tensor<1x2x4x8xf32>, %kt: tensor<1x2x8x4xf32>, %v: tensor<1x2x4x8xf32>, %c: tensor<1x1x4x4xi1>) -> tensor<1x2x4x8xf32> {
  %s = kiln.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %fill = arith.constant dense<-1.000000e+02> : tensor<f32>
  %m = kiln.select %c, %fill, %s : (tensor<1x1x4x4xi1>, tensor<f32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  // expected-remark @+1 {{left attention: masked_fill with -100 does not remove keys (kiln.attention adds a mask or removes keys)}}
  %p = kiln.softmax %m {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = kiln.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// A finite fill of finfo(float32).min from an input condition becomes an
// additive f32 mask: select(c, min, 0).
// CHECK-LABEL: func @finite_fill
// CHECK-SAME: %[[C:[a-z0-9]+]]: tensor<1x1x1x4xi1>)
// CHECK-DAG: %[[MIN:.+]] = arith.constant dense<-3.40282347E+38> : tensor<f32>
// CHECK-DAG: %[[ZERO:.+]] = arith.constant dense<0.000000e+00> : tensor<f32>
// CHECK: %[[M:.+]] = kiln.select %[[C]], %[[MIN]], %[[ZERO]] : (tensor<1x1x1x4xi1>, tensor<f32>, tensor<f32>) -> tensor<1x1x1x4xf32>
// CHECK: kiln.attention %{{.+}}, %{{.+}}, %{{.+}} mask %[[M]] {scale = 1.250000e-01 : f32}
func.func @finite_fill(%q: tensor<1x2x4x8xf32>, %kt: tensor<1x2x8x4xf32>, %v: tensor<1x2x4x8xf32>, %c: tensor<1x1x1x4xi1>) -> tensor<1x2x4x8xf32> {
  %s = kiln.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %eighth = arith.constant dense<1.250000e-01> : tensor<f32>
  %sc = kiln.mul %s, %eighth : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %fill = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %m = kiln.select %c, %fill, %sc : (tensor<1x1x1x4xi1>, tensor<f32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  // expected-remark @+1 {{raised attention (f32 mask operand, 2 heads, scale 0.125)}}
  %p = kiln.softmax %m {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = kiln.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// An additive mask scaled with the scores would need a scaled mask.
// CHECK-LABEL: func @mask_then_scale
// CHECK-NOT: kiln.attention
func.func @mask_then_scale(%q: tensor<1x2x4x8xf32>, %kt: tensor<1x2x8x4xf32>, %v: tensor<1x2x4x8xf32>, %mask: tensor<1x1x4x4xf32>) -> tensor<1x2x4x8xf32> {
  %s = kiln.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %a = kiln.add %s, %mask : (tensor<1x2x4x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32>
  %half = arith.constant dense<5.000000e-01> : tensor<f32>
  %sc = kiln.mul %a, %half : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  // expected-remark @+1 {{left attention: an additive mask is applied before the scale or softcap}}
  %p = kiln.softmax %sc {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = kiln.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// A -inf mask commutes with a later positive scale; the causal constant
// (an additive -inf triangle here) becomes the mask kind.
// CHECK-LABEL: func @causal_then_scale
// CHECK: kiln.attention %{{.+}}, %{{.+}}, %{{.+}} {mask_kind = #kiln.mask_kind<causal>, scale = 2.500000e-01 : f32}
// CHECK-NOT: kiln.select
func.func @causal_then_scale(%q: tensor<1x2x4x8xf32>, %kt: tensor<1x2x8x4xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %s = kiln.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %true = arith.constant dense<true> : tensor<4x4xi1>
  %future = kiln.trilu %true {diagonal = 1 : i64, upper = true} : tensor<4x4xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %m = kiln.select %future, %ninf, %s : (tensor<4x4xi1>, tensor<f32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %four = arith.constant dense<4.000000e+00> : tensor<f32>
  %sc = kiln.div %m, %four : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  // expected-remark @+1 {{raised attention (causal, 2 heads, scale 0.25)}}
  %p = kiln.softmax %sc {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = kiln.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// MQA by broadcasting: one key/value head against four query heads.
// CHECK-LABEL: func @mqa
// CHECK: kiln.attention %{{.+}}, %{{.+}}, %{{.+}} {scale = 1.000000e+00 : f32} : (tensor<1x4x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>)
func.func @mqa(%q: tensor<1x4x4x8xf32>, %k: tensor<1x1x4x8xf32>, %v: tensor<1x1x4x8xf32>) -> tensor<1x4x4x8xf32> {
  %kt = kiln.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x1x4x8xf32> -> tensor<1x1x8x4xf32>
  %s = kiln.matmul %q, %kt : (tensor<1x4x4x8xf32>, tensor<1x1x8x4xf32>) -> tensor<1x4x4x4xf32>
  // expected-remark @+1 {{raised attention (no mask, 4 heads on 1 kv head, scale 1)}}
  %p = kiln.softmax %s {axis = 3 : i64} : tensor<1x4x4x4xf32>
  %o = kiln.matmul %p, %v : (tensor<1x4x4x4xf32>, tensor<1x1x4x8xf32>) -> tensor<1x4x4x8xf32>
  return %o : tensor<1x4x4x8xf32>
}

// -----

// K/V repeated in tile order (k.repeat(1, 2, 1, 1): head h reads h % 2) is
// not kiln.attention's grouping: the repeated tensors are kept (MHA).
// CHECK-LABEL: func @tiled_heads
// CHECK: %[[KR:.+]] = kiln.reshape %{{.+}} : tensor<1x2x2x4x8xf32> -> tensor<1x4x4x8xf32>
// CHECK: %[[VR:.+]] = kiln.reshape %{{.+}} : tensor<1x2x2x4x8xf32> -> tensor<1x4x4x8xf32>
// CHECK: kiln.attention %{{.+}}, %[[KR]], %[[VR]] {scale = 1.000000e+00 : f32} : (tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>)
func.func @tiled_heads(%q: tensor<1x4x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x4x4x8xf32> {
  %k5 = kiln.reshape %k : tensor<1x2x4x8xf32> -> tensor<1x1x2x4x8xf32>
  %kb = kiln.broadcast %k5 : tensor<1x1x2x4x8xf32> -> tensor<1x2x2x4x8xf32>
  %kr = kiln.reshape %kb : tensor<1x2x2x4x8xf32> -> tensor<1x4x4x8xf32>
  %v5 = kiln.reshape %v : tensor<1x2x4x8xf32> -> tensor<1x1x2x4x8xf32>
  %vb = kiln.broadcast %v5 : tensor<1x1x2x4x8xf32> -> tensor<1x2x2x4x8xf32>
  %vr = kiln.reshape %vb : tensor<1x2x2x4x8xf32> -> tensor<1x4x4x8xf32>
  %kt = kiln.transpose %kr {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x4x4x8xf32> -> tensor<1x4x8x4xf32>
  %s = kiln.matmul %q, %kt : (tensor<1x4x4x8xf32>, tensor<1x4x8x4xf32>) -> tensor<1x4x4x4xf32>
  // expected-remark @+1 {{raised attention (no mask, 4 heads, scale 1)}}
  %p = kiln.softmax %s {axis = 3 : i64} : tensor<1x4x4x4xf32>
  %o = kiln.matmul %p, %vr : (tensor<1x4x4x4xf32>, tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
  return %o : tensor<1x4x4x8xf32>
}

// -----

// 2-D scores get two leading unit dimensions.
// CHECK-LABEL: func @single_head_2d
// CHECK: %[[Q4:.+]] = kiln.reshape %{{.+}} : tensor<4x8xf32> -> tensor<1x1x4x8xf32>
// CHECK: %[[O:.+]], %{{.+}}, %{{.+}} = kiln.attention %[[Q4]]
// CHECK: %[[O2:.+]] = kiln.reshape %[[O]] : tensor<1x1x4x8xf32> -> tensor<4x8xf32>
// CHECK: return %[[O2]]
func.func @single_head_2d(%q: tensor<4x8xf32>, %kt: tensor<8x4xf32>, %v: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %s = kiln.matmul %q, %kt : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  // expected-remark @+1 {{raised attention (no mask, 1 head from 2-D scores, scale 1)}}
  %p = kiln.softmax %s {axis = 1 : i64} : tensor<4x4xf32>
  %o = kiln.matmul %p, %v : (tensor<4x4xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %o : tensor<4x8xf32>
}

// -----

// GPT-2's tril buffer, larger than the sequence and sliced to it, held as a
// resource blob (as the importer stores initializers of more than 256
// elements): read in place, it is exactly causal.
// CHECK-LABEL: func @tril_buffer_blob
// CHECK: kiln.attention %{{.+}}, %{{.+}}, %{{.+}} {mask_kind = #kiln.mask_kind<causal>, scale = 1.000000e+00 : f32}
func.func @tril_buffer_blob(%q: tensor<1x2x4x8xf32>, %kt: tensor<1x2x8x4xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %s = kiln.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %buf = arith.constant dense_resource<tril> : tensor<1x1x6x6xf32>
  %b = kiln.slice %buf {starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x1x6x6xf32> -> tensor<1x1x4x4xf32>
  %zero = arith.constant dense<0.000000e+00> : tensor<f32>
  %future = kiln.compare eq, %b, %zero : (tensor<1x1x4x4xf32>, tensor<f32>) -> tensor<1x1x4x4xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %m = kiln.select %future, %ninf, %s : (tensor<1x1x4x4xi1>, tensor<f32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  // expected-remark @+1 {{raised attention (causal, 2 heads, scale 1)}}
  %p = kiln.softmax %m {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = kiln.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

{-#
  dialect_resources: {
    builtin: {
      tril: "0x040000000000803F00000000000000000000000000000000000000000000803F0000803F000000000000000000000000000000000000803F0000803F0000803F0000000000000000000000000000803F0000803F0000803F0000803F00000000000000000000803F0000803F0000803F0000803F0000803F000000000000803F0000803F0000803F0000803F0000803F0000803F"
    }
  }
#-}

// -----

// A clamp at finfo.min changes nothing when the mask kind alone masks:
// every query keeps a key.
// CHECK-LABEL: func @clamp_causal
// CHECK: kiln.attention %{{.+}}, %{{.+}}, %{{.+}} {mask_kind = #kiln.mask_kind<causal>, scale = 1.000000e+00 : f32}
// CHECK-NOT: kiln.max
func.func @clamp_causal(%q: tensor<1x2x4x8xf32>, %kt: tensor<1x2x8x4xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %s = kiln.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %true = arith.constant dense<true> : tensor<4x4xi1>
  %future = kiln.trilu %true {diagonal = 1 : i64, upper = true} : tensor<4x4xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %m = kiln.select %future, %ninf, %s : (tensor<4x4xi1>, tensor<f32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %low = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %c = kiln.max %m, %low : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  // expected-remark @+1 {{raised attention (causal, 2 heads, scale 1)}}
  %p = kiln.softmax %c {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = kiln.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// A clamp applied before the mask (or at a value a score can reach) is
// not one that folds into the mask.
// CHECK-LABEL: func @clamp_then_mask
// CHECK-NOT: kiln.attention
func.func @clamp_then_mask(%q: tensor<1x2x4x8xf32>, %kt: tensor<1x2x8x4xf32>, %v: tensor<1x2x4x8xf32>, %mask: tensor<1x1x4x4xf32>) -> tensor<1x2x4x8xf32> {
  %s = kiln.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %low = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %c = kiln.max %s, %low : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %a = kiln.add %c, %mask : (tensor<1x2x4x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32>
  // expected-remark @+1 {{left attention: the scores are clamped before a mask, scale or softcap}}
  %p = kiln.softmax %a {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = kiln.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// A router's softmax over x @ W (a constant weight) is not attention: no
// remark, nothing changes.
// CHECK-LABEL: func @router
// CHECK: kiln.softmax
func.func @router(%x: tensor<4x8xf32>) -> tensor<4x3xf32> {
  %w = arith.constant dense<1.000000e+00> : tensor<8x3xf32>
  %l = kiln.matmul %x, %w : (tensor<4x8xf32>, tensor<8x3xf32>) -> tensor<4x3xf32>
  %p = kiln.softmax %l {axis = 1 : i64} : tensor<4x3xf32>
  return %p : tensor<4x3xf32>
}

// -----

// A sliding window built from positions (i - j in [0, 1]) becomes the mask
// kind: each query sees itself and the key before it.
// CHECK-LABEL: func @sliding_window
// CHECK: kiln.attention %{{.+}}, %{{.+}}, %{{.+}} {mask_kind = #kiln.mask_kind<sliding_window>, {{.*}}window_left = 1
// CHECK-NOT: kiln.select
func.func @sliding_window(%q: tensor<1x2x4x8xf32>, %kt: tensor<1x2x8x4xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %s = kiln.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %rows = arith.constant dense<[[0], [1], [2], [3]]> : tensor<4x1xi64>
  %cols = arith.constant dense<[[0, 1, 2, 3]]> : tensor<1x4xi64>
  %d = kiln.sub %rows, %cols : (tensor<4x1xi64>, tensor<1x4xi64>) -> tensor<4x4xi64>
  %zero = arith.constant dense<0> : tensor<i64>
  %one = arith.constant dense<1> : tensor<i64>
  %future = kiln.compare lt, %d, %zero : (tensor<4x4xi64>, tensor<i64>) -> tensor<4x4xi1>
  %far = kiln.compare gt, %d, %one : (tensor<4x4xi64>, tensor<i64>) -> tensor<4x4xi1>
  %out = kiln.or %future, %far : (tensor<4x4xi1>, tensor<4x4xi1>) -> tensor<4x4xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %m = kiln.select %out, %ninf, %s : (tensor<4x4xi1>, tensor<f32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  // expected-remark @+1 {{raised attention (sliding window, left 1, right 0, 2 heads, scale 1)}}
  %p = kiln.softmax %m {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = kiln.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// Gemma's softcap, 30 * tanh(s / 30), after the scale.
// CHECK-LABEL: func @softcap
// CHECK: kiln.attention %{{.+}}, %{{.+}}, %{{.+}} {scale = 1.250000e-01 : f32, softcap = 3.000000e+01 : f32}
// CHECK-NOT: kiln.tanh
func.func @softcap(%q: tensor<1x2x4x8xf32>, %kt: tensor<1x2x8x4xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %s = kiln.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %eighth = arith.constant dense<1.250000e-01> : tensor<f32>
  %sc = kiln.mul %s, %eighth : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %cap = arith.constant dense<3.000000e+01> : tensor<f32>
  %in = kiln.div %sc, %cap : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %t = kiln.tanh %in : tensor<1x2x4x4xf32>
  %c = kiln.mul %t, %cap : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  // expected-remark @+1 {{raised attention (no mask, 2 heads, scale 0.125, softcap 30)}}
  %p = kiln.softmax %c {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = kiln.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// HF's causal + padding mask: the causal triangle becomes the mask kind,
// the padding (a graph input) stays the mask operand.
// CHECK-LABEL: func @padding_causal
// CHECK-SAME: %[[PAD:[a-z0-9]+]]: tensor<1x1x1x4xf32>)
// CHECK: kiln.attention %{{.+}}, %{{.+}}, %{{.+}} mask %[[PAD]] {mask_kind = #kiln.mask_kind<causal>, scale = 1.000000e+00 : f32}
func.func @padding_causal(%q: tensor<1x2x4x8xf32>, %kt: tensor<1x2x8x4xf32>, %v: tensor<1x2x4x8xf32>, %pad: tensor<1x1x1x4xf32>) -> tensor<1x2x4x8xf32> {
  %s = kiln.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %true = arith.constant dense<true> : tensor<4x4xi1>
  %future = kiln.trilu %true {diagonal = 1 : i64, upper = true} : tensor<4x4xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %m = kiln.select %future, %ninf, %s : (tensor<4x4xi1>, tensor<f32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %mp = kiln.add %m, %pad : (tensor<1x2x4x4xf32>, tensor<1x1x1x4xf32>) -> tensor<1x2x4x4xf32>
  // expected-remark @+1 {{raised attention (causal + f32 mask operand, 2 heads, scale 1)}}
  %p = kiln.softmax %mp {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = kiln.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// HF's repeat_kv (unsqueeze, expand, reshape: head h reads h / 2) is GQA:
// the attention takes the two un-repeated key/value heads.
// CHECK-LABEL: func @repeat_kv
// CHECK-SAME: (%[[Q:.+]]: tensor<1x4x4x8xf32>, %[[K:.+]]: tensor<1x2x4x8xf32>, %[[V:.+]]: tensor<1x2x4x8xf32>)
// CHECK: kiln.attention %[[Q]], %[[K]], %[[V]] {scale = 1.000000e+00 : f32} : (tensor<1x4x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>)
func.func @repeat_kv(%q: tensor<1x4x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x4x4x8xf32> {
  %k5 = kiln.reshape %k : tensor<1x2x4x8xf32> -> tensor<1x2x1x4x8xf32>
  %kb = kiln.broadcast %k5 : tensor<1x2x1x4x8xf32> -> tensor<1x2x2x4x8xf32>
  %kr = kiln.reshape %kb : tensor<1x2x2x4x8xf32> -> tensor<1x4x4x8xf32>
  %v5 = kiln.reshape %v : tensor<1x2x4x8xf32> -> tensor<1x2x1x4x8xf32>
  %vb = kiln.broadcast %v5 : tensor<1x2x1x4x8xf32> -> tensor<1x2x2x4x8xf32>
  %vr = kiln.reshape %vb : tensor<1x2x2x4x8xf32> -> tensor<1x4x4x8xf32>
  %kt = kiln.transpose %kr {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x4x4x8xf32> -> tensor<1x4x8x4xf32>
  %s = kiln.matmul %q, %kt : (tensor<1x4x4x8xf32>, tensor<1x4x8x4xf32>) -> tensor<1x4x4x4xf32>
  // expected-remark @+1 {{raised attention (no mask, 4 heads on 2 kv heads, scale 1)}}
  %p = kiln.softmax %s {axis = 3 : i64} : tensor<1x4x4x4xf32>
  %o = kiln.matmul %p, %vr : (tensor<1x4x4x4xf32>, tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
  return %o : tensor<1x4x4x8xf32>
}

// -----

// torch.repeat_interleave(k, 2, dim=1) as exported: Split into heads, each
// unsqueezed, expanded and reshaped, Concat. Head h reads h / 2 again: GQA.
// CHECK-LABEL: func @repeat_interleave
// CHECK-SAME: (%[[Q:.+]]: tensor<1x4x4x8xf32>, %[[K:.+]]: tensor<1x2x4x8xf32>, %[[V:.+]]: tensor<1x2x4x8xf32>)
// CHECK: kiln.attention %[[Q]], %[[K]], %[[V]] {scale = 1.000000e+00 : f32} : (tensor<1x4x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>)
func.func @repeat_interleave(%q: tensor<1x4x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x4x4x8xf32> {
  %k0 = kiln.slice %k {starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x2x4x8xf32> -> tensor<1x1x4x8xf32>
  %k1 = kiln.slice %k {starts = array<i64: 0, 1, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x2x4x8xf32> -> tensor<1x1x4x8xf32>
  %k0u = kiln.reshape %k0 : tensor<1x1x4x8xf32> -> tensor<1x1x1x4x8xf32>
  %k0e = kiln.broadcast %k0u : tensor<1x1x1x4x8xf32> -> tensor<1x1x2x4x8xf32>
  %k0b = kiln.reshape %k0e : tensor<1x1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %k1u = kiln.reshape %k1 : tensor<1x1x4x8xf32> -> tensor<1x1x1x4x8xf32>
  %k1e = kiln.broadcast %k1u : tensor<1x1x1x4x8xf32> -> tensor<1x1x2x4x8xf32>
  %k1b = kiln.reshape %k1e : tensor<1x1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %kr = kiln.concat %k0b, %k1b {axis = 1 : i64} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x4x4x8xf32>
  %v0 = kiln.slice %v {starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x2x4x8xf32> -> tensor<1x1x4x8xf32>
  %v1 = kiln.slice %v {starts = array<i64: 0, 1, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x2x4x8xf32> -> tensor<1x1x4x8xf32>
  %v0u = kiln.reshape %v0 : tensor<1x1x4x8xf32> -> tensor<1x1x1x4x8xf32>
  %v0e = kiln.broadcast %v0u : tensor<1x1x1x4x8xf32> -> tensor<1x1x2x4x8xf32>
  %v0b = kiln.reshape %v0e : tensor<1x1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %v1u = kiln.reshape %v1 : tensor<1x1x4x8xf32> -> tensor<1x1x1x4x8xf32>
  %v1e = kiln.broadcast %v1u : tensor<1x1x1x4x8xf32> -> tensor<1x1x2x4x8xf32>
  %v1b = kiln.reshape %v1e : tensor<1x1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %vr = kiln.concat %v0b, %v1b {axis = 1 : i64} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x4x4x8xf32>
  %kt = kiln.transpose %kr {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x4x4x8xf32> -> tensor<1x4x8x4xf32>
  %s = kiln.matmul %q, %kt : (tensor<1x4x4x8xf32>, tensor<1x4x8x4xf32>) -> tensor<1x4x4x4xf32>
  // expected-remark @+1 {{raised attention (no mask, 4 heads on 2 kv heads, scale 1)}}
  %p = kiln.softmax %s {axis = 3 : i64} : tensor<1x4x4x4xf32>
  %o = kiln.matmul %p, %vr : (tensor<1x4x4x4xf32>, tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
  return %o : tensor<1x4x4x8xf32>
}

// -----

// GPT-NeoX: the scores are computed on merged heads ([B * H, S, L] by
// baddbmm: q @ kT * alpha + 0), then reshaped to [B, H, S, L] and masked by
// a where. The heads are split back: q and k are the [B, H, ..] tensors
// the exporter reshaped.
// CHECK-LABEL: func.func @merged_heads_scores
// CHECK-SAME: (%[[Q:.+]]: tensor<1x2x3x4xf32>, %[[K:.+]]: tensor<1x2x3x4xf32>, %[[V:.+]]: tensor<1x2x3x4xf32>)
// CHECK: kiln.attention %[[Q]], %[[K]], %[[V]]
// CHECK-SAME: mask_kind = #kiln.mask_kind<causal>
// CHECK-SAME: scale = 2.500000e-01
// CHECK-NOT: kiln.matmul
// CHECK: return
func.func @merged_heads_scores(%q: tensor<1x2x3x4xf32>, %k: tensor<1x2x3x4xf32>, %v: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %q3 = kiln.reshape %q : tensor<1x2x3x4xf32> -> tensor<2x3x4xf32>
  %k3 = kiln.reshape %k : tensor<1x2x3x4xf32> -> tensor<2x3x4xf32>
  %kt = kiln.transpose %k3 {permutation = array<i64: 0, 2, 1>} : tensor<2x3x4xf32> -> tensor<2x4x3xf32>
  %s = kiln.matmul %q3, %kt : (tensor<2x3x4xf32>, tensor<2x4x3xf32>) -> tensor<2x3x3xf32>
  %alpha = arith.constant dense<2.500000e-01> : tensor<f32>
  %scaled = kiln.mul %s, %alpha : (tensor<2x3x3xf32>, tensor<f32>) -> tensor<2x3x3xf32>
  %zeros = arith.constant dense<0.000000e+00> : tensor<2x3x3xf32>
  %plus = kiln.add %scaled, %zeros : (tensor<2x3x3xf32>, tensor<2x3x3xf32>) -> tensor<2x3x3xf32>
  %s4 = kiln.reshape %plus : tensor<2x3x3xf32> -> tensor<1x2x3x3xf32>
  %keep = arith.constant dense<[[[[true, false, false], [true, true, false], [true, true, true]]]]> : tensor<1x1x3x3xi1>
  %min = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %masked = kiln.select %keep, %s4, %min : (tensor<1x1x3x3xi1>, tensor<1x2x3x3xf32>, tensor<f32>) -> tensor<1x2x3x3xf32>
  // expected-remark @+1 {{raised attention (causal, 2 heads, scale 0.25)}}
  %p = kiln.softmax %masked {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o = kiln.matmul %p, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %o : tensor<1x2x3x4xf32>
}

// -----

// A mask added to the merged-head scores (before the heads are split) is
// not one kiln.attention can take: left, with the reason.
// CHECK-LABEL: func.func @merged_heads_masked_early
// CHECK: kiln.softmax
func.func @merged_heads_masked_early(%q: tensor<1x2x3x4xf32>, %k: tensor<1x2x3x4xf32>, %v: tensor<1x2x3x4xf32>, %bias: tensor<2x3x3xf32>) -> tensor<1x2x3x4xf32> {
  %q3 = kiln.reshape %q : tensor<1x2x3x4xf32> -> tensor<2x3x4xf32>
  %k3 = kiln.reshape %k : tensor<1x2x3x4xf32> -> tensor<2x3x4xf32>
  %kt = kiln.transpose %k3 {permutation = array<i64: 0, 2, 1>} : tensor<2x3x4xf32> -> tensor<2x4x3xf32>
  %s = kiln.matmul %q3, %kt : (tensor<2x3x4xf32>, tensor<2x4x3xf32>) -> tensor<2x3x3xf32>
  %plus = kiln.add %s, %bias : (tensor<2x3x3xf32>, tensor<2x3x3xf32>) -> tensor<2x3x3xf32>
  %s4 = kiln.reshape %plus : tensor<2x3x3xf32> -> tensor<1x2x3x3xf32>
  // expected-remark @+1 {{left attention: a mask is added to the scores before their heads are split}}
  %p = kiln.softmax %s4 {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o = kiln.matmul %p, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %o : tensor<1x2x3x4xf32>
}
