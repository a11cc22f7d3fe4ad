// RUN: kiln-opt %s -pass-pipeline='builtin.module(kiln-partition-pipeline{rank=0 ranks=2})' | FileCheck %s --check-prefix=FIRST
// RUN: kiln-opt %s -pass-pipeline='builtin.module(kiln-partition-pipeline{rank=1 ranks=2 layers=2,1})' | FileCheck %s --check-prefix=LAST
// RUN: kiln-opt %s -pass-pipeline='builtin.module(kiln-partition-pipeline{rank=1 ranks=3})' | FileCheck %s --check-prefix=MIDDLE
// RUN: kiln-opt %s -pass-pipeline='builtin.module(kiln-partition-pipeline{rank=0 ranks=2 layers=1,2})' | FileCheck %s --check-prefix=UNEVEN
// RUN: kiln-opt %s -pass-pipeline='builtin.module(kiln-partition-pipeline{rank=0 ranks=1})' | FileCheck %s --check-prefix=ONE
// RUN: kiln-opt %s -pass-pipeline='builtin.module(kiln-partition-pipeline{rank=1 ranks=2 layers=2,1 stage-offset=1 stage-stride=2 world-ranks=4})' | FileCheck %s --check-prefix=WORLD

// A pre-norm decoder of 3 layers in miniature: the embedding, then per
// layer a norm (times a per-layer weight and a mask computed from the
// tokens), attention, a residual add, an FFN (times a per-layer weight)
// and a second residual add; then the LM head. Layer i's weights hold
// i + 1, the LM head's 9.

// 2 stages split the 3 layers 2 + 1. Stage 0 keeps the embedding and
// layers 0 and 1, sends the residual stream after layer 1 (one tensor: the
// cut is after the FFN's residual add, before the next norm) and receives
// the logits from the last stage. It stores no weight of layer 2 or of the
// LM head.
// FIRST-LABEL: func.func @decoder
// FIRST-NOT: 3.000000e+00
// FIRST-NOT: 9.000000e+00
// FIRST: kiln.gather %{{.+}}, %arg0
// FIRST: kiln.attention
// FIRST: kiln.attention
// FIRST: arith.addf
// FIRST: %[[H2:.+]] = arith.addf
// FIRST-NEXT: kiln.send %[[H2]] {peer = 1 : i64, ranks = 2 : i64} : tensor<1x2x8x16xf32>
// FIRST-NEXT: %[[L:.+]] = kiln.recv {peer = 1 : i64, ranks = 2 : i64} : tensor<1x2x8x16xf32>
// FIRST-NEXT: return %[[L]]

// Stage 1 receives the residual stream first, computes the mask from the
// tokens itself (it is not sent), runs layer 2 and the LM head, and sends
// the logits to rank 0. It stores layer 2's weights and the LM head's only.
// LAST-LABEL: func.func @decoder
// LAST-NOT: 1.000000e+00
// LAST-NOT: 2.000000e+00
// LAST-DAG: arith.constant dense<3.000000e+00>
// LAST-DAG: arith.constant dense<9.000000e+00>
// LAST-DAG: %[[MASK:.+]] = kiln.gather %{{.+}}, %arg0
// LAST-DAG: %[[H:.+]] = kiln.recv {peer = 0 : i64, ranks = 2 : i64} : tensor<1x2x8x16xf32>
// LAST: arith.mulf %[[H]], %{{.+}}
// LAST: arith.mulf %{{.+}}, %[[MASK]]
// LAST: kiln.attention
// LAST-NOT: kiln.attention
// LAST: arith.addf
// LAST: arith.addf
// LAST-NEXT: %[[LOGITS:.+]] = arith.mulf
// LAST-NEXT: kiln.send %[[LOGITS]] {peer = 0 : i64, ranks = 2 : i64} : tensor<1x2x8x16xf32>
// LAST-NEXT: return %[[LOGITS]]

// The same stage as rank 1 of a tp group of 2 (tp=2,pp=2: world rank 3):
// its pipeline's stage 0 is world rank 1, so it receives from rank 1 and
// sends the logits there, in a world of 4.
// WORLD: kiln.recv {peer = 1 : i64, ranks = 4 : i64} : tensor<1x2x8x16xf32>
// WORLD: kiln.send %{{.+}} {peer = 1 : i64, ranks = 4 : i64} : tensor<1x2x8x16xf32>

// A middle stage receives from the one before, sends to the one after,
// and returns zeros (rank 0 returns the results).
// MIDDLE-LABEL: func.func @decoder
// MIDDLE-NOT: 1.000000e+00
// MIDDLE-NOT: 3.000000e+00
// MIDDLE-NOT: 9.000000e+00
// MIDDLE: %[[H:.+]] = kiln.recv {peer = 0 : i64, ranks = 3 : i64}
// MIDDLE: kiln.attention
// MIDDLE-NOT: kiln.attention
// MIDDLE: arith.addf
// MIDDLE: %[[OUT:.+]] = arith.addf
// MIDDLE-NEXT: kiln.send %[[OUT]] {peer = 2 : i64, ranks = 3 : i64}
// MIDDLE: %[[Z:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x2x8x16xf32>)
// MIDDLE-NEXT: return %[[Z]]

// layers=1,2 puts the cut after layer 0.
// UNEVEN-LABEL: func.func @decoder
// UNEVEN: kiln.attention
// UNEVEN-NOT: kiln.attention
// UNEVEN: arith.addf
// UNEVEN: %[[H1:.+]] = arith.addf
// UNEVEN-NEXT: kiln.send %[[H1]] {peer = 1 : i64, ranks = 2 : i64}

// ONE-LABEL: func.func @decoder
// ONE-NOT: kiln.send
// ONE-NOT: kiln.recv
// ONE-COUNT-3: kiln.attention
func.func @decoder(%tokens: tensor<1x2x8xi64>) -> tensor<1x2x8x16xf32> {
  %table = arith.constant dense<0.5> : tensor<128x16xf32>
  %masks = arith.constant dense<0.25> : tensor<128x16xf32>
  %w0 = arith.constant dense<1.0> : tensor<1x2x8x16xf32>
  %w1 = arith.constant dense<2.0> : tensor<1x2x8x16xf32>
  %w2 = arith.constant dense<3.0> : tensor<1x2x8x16xf32>
  %head = arith.constant dense<9.0> : tensor<1x2x8x16xf32>
  %h0 = kiln.gather %table, %tokens {axis = 0 : i64} : (tensor<128x16xf32>, tensor<1x2x8xi64>) -> tensor<1x2x8x16xf32>
  %mask = kiln.gather %masks, %tokens {axis = 0 : i64} : (tensor<128x16xf32>, tensor<1x2x8xi64>) -> tensor<1x2x8x16xf32>
  // layer 0
  %n0a = arith.mulf %h0, %w0 : tensor<1x2x8x16xf32>
  %n0 = arith.mulf %n0a, %mask : tensor<1x2x8x16xf32>
  %o0, %k0, %v0 = kiln.attention %n0, %n0, %n0 {scale = 0.25 : f32} : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>)
  %r0 = arith.addf %h0, %o0 : tensor<1x2x8x16xf32>
  %f0 = arith.mulf %r0, %w0 : tensor<1x2x8x16xf32>
  %h1 = arith.addf %r0, %f0 : tensor<1x2x8x16xf32>
  // layer 1
  %n1a = arith.mulf %h1, %w1 : tensor<1x2x8x16xf32>
  %n1 = arith.mulf %n1a, %mask : tensor<1x2x8x16xf32>
  %o1, %k1, %v1 = kiln.attention %n1, %n1, %n1 {scale = 0.25 : f32} : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>)
  %r1 = arith.addf %h1, %o1 : tensor<1x2x8x16xf32>
  %f1 = arith.mulf %r1, %w1 : tensor<1x2x8x16xf32>
  %h2 = arith.addf %r1, %f1 : tensor<1x2x8x16xf32>
  // layer 2
  %n2a = arith.mulf %h2, %w2 : tensor<1x2x8x16xf32>
  %n2 = arith.mulf %n2a, %mask : tensor<1x2x8x16xf32>
  %o2, %k2, %v2 = kiln.attention %n2, %n2, %n2 {scale = 0.25 : f32} : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>)
  %r2 = arith.addf %h2, %o2 : tensor<1x2x8x16xf32>
  %f2 = arith.mulf %r2, %w2 : tensor<1x2x8x16xf32>
  %h3 = arith.addf %r2, %f2 : tensor<1x2x8x16xf32>
  %logits = arith.mulf %h3, %head : tensor<1x2x8x16xf32>
  return %logits : tensor<1x2x8x16xf32>
}
