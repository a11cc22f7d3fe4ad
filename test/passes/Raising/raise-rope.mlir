// kiln-raise-rope on forms beside torch's exports (real exports:
// test/passes/Raising/Exports/rope.test): a computed interleaved table, batch-shaped
// constant tables, rotations that must be left, and at the end the exported
// forms written small: interleaved pairs, partial rotary, [B, S, H, D].
// RUN: kiln-opt %s --kiln-raise-rope -split-input-file -verify-diagnostics | FileCheck %s

// cos/sin from a graph input cannot be checked for repetition: left.
// CHECK-LABEL: func.func @table_is_input(
// CHECK-NOT: kiln.rope
func.func @table_is_input(%x: tensor<1x2x3x4xf32>, %cos: tensor<3x4xf32>, %sin: tensor<3x4xf32>) -> tensor<1x2x3x4xf32> {
  %0 = kiln.mul %x, %cos : (tensor<1x2x3x4xf32>, tensor<3x4xf32>) -> tensor<1x2x3x4xf32>
  %1 = kiln.slice %x {starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x2x3x4xf32> -> tensor<1x2x3x2xf32>
  %2 = kiln.slice %x {starts = array<i64: 0, 0, 0, 2>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x2x3x4xf32> -> tensor<1x2x3x2xf32>
  %3 = kiln.neg %2 : tensor<1x2x3x2xf32>
  // expected-remark @below {{left rope: the cos values come from an input of the graph: their repetition cannot be checked}}
  %4 = kiln.concat %3, %1 {axis = 3 : i64} : (tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32>) -> tensor<1x2x3x4xf32>
  %5 = kiln.mul %4, %sin : (tensor<1x2x3x4xf32>, tensor<3x4xf32>) -> tensor<1x2x3x4xf32>
  %6 = kiln.add %0, %5 : (tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %6 : tensor<1x2x3x4xf32>
}

// -----

// cos/sin that vary over both the heads and the sequence are no kiln.rope
// caches in either layout ([B, H, S, D] or [B, S, H, D]).
// CHECK-LABEL: func.func @per_head_tables(
// CHECK-NOT: kiln.rope
func.func @per_head_tables(%x: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %cos = arith.constant dense<0.5> : tensor<1x2x3x4xf32>
  %sin = arith.constant dense<0.25> : tensor<1x2x3x4xf32>
  %0 = kiln.mul %x, %cos : (tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  %1 = kiln.slice %x {starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x2x3x4xf32> -> tensor<1x2x3x2xf32>
  %2 = kiln.slice %x {starts = array<i64: 0, 0, 0, 2>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x2x3x4xf32> -> tensor<1x2x3x2xf32>
  %3 = kiln.neg %2 : tensor<1x2x3x2xf32>
  // expected-remark @below {{left rope: cos [1, 2, 3, 4] is not a [batch or 1, 1, seq, dim] table}}
  %4 = kiln.concat %3, %1 {axis = 3 : i64} : (tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32>) -> tensor<1x2x3x4xf32>
  %5 = kiln.mul %4, %sin : (tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  %6 = kiln.add %0, %5 : (tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %6 : tensor<1x2x3x4xf32>
}

// -----

// A rotate_half that splits the features at 1 of 4 is not a rotation of
// pairs.
// CHECK-LABEL: func.func @uneven_split(
// CHECK-NOT: kiln.rope
func.func @uneven_split(%x: tensor<1x1x2x4xf32>) -> tensor<1x1x2x4xf32> {
  %1 = kiln.slice %x {starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x1x2x4xf32> -> tensor<1x1x2x1xf32>
  %2 = kiln.slice %x {starts = array<i64: 0, 0, 0, 1>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x1x2x4xf32> -> tensor<1x1x2x3xf32>
  %3 = kiln.neg %2 : tensor<1x1x2x3xf32>
  // expected-remark @below {{left rope: rotate_half's slices are not the two halves of the last dimension}}
  %4 = kiln.concat %3, %1 {axis = 3 : i64} : (tensor<1x1x2x3xf32>, tensor<1x1x2x1xf32>) -> tensor<1x1x2x4xf32>
  return %4 : tensor<1x1x2x4xf32>
}

// -----

// A [B, 1, S, D] constant (one table per batch entry) becomes [B, S, D/2]
// caches; cos scaled by a constant (HF's attention_scaling) is halved
// through the product.
// CHECK-LABEL: func.func @batch_tables_scaled(
// CHECK-SAME: %[[X:[^:]+]]: tensor<2x1x1x4xf32>
// CHECK-DAG: %[[S:.+]] = arith.constant dense<{{\[\[\[\[}}0.000000e+00, 5.000000e-01]]], {{\[\[\[}}1.000000e+00, 2.500000e-01]]]]> : tensor<2x1x1x2xf32>
// CHECK-DAG: %[[C:.+]] = arith.constant dense<{{\[\[\[\[}}1.000000e+00, 5.000000e-01]]], {{\[\[\[}}0.000000e+00, 7.500000e-01]]]]> : tensor<2x1x1x2xf32>
// CHECK-DAG: %[[K:.+]] = arith.constant dense<2.000000e+00> : tensor<f32>
// CHECK: %[[CS:.+]] = kiln.mul %[[C]], %[[K]] : (tensor<2x1x1x2xf32>, tensor<f32>) -> tensor<2x1x1x2xf32>
// CHECK-NEXT: %[[CB:.+]] = kiln.reshape %[[CS]] : tensor<2x1x1x2xf32> -> tensor<2x1x2xf32>
// CHECK-NEXT: %[[SS:.+]] = kiln.mul %[[S]], %[[K]] : (tensor<2x1x1x2xf32>, tensor<f32>) -> tensor<2x1x1x2xf32>
// CHECK-NEXT: %[[SB:.+]] = kiln.reshape %[[SS]] : tensor<2x1x1x2xf32> -> tensor<2x1x2xf32>
// CHECK-NEXT: kiln.rope %[[X]], %[[CB]], %[[SB]] : (tensor<2x1x1x4xf32>, tensor<2x1x2xf32>, tensor<2x1x2xf32>) -> tensor<2x1x1x4xf32>
func.func @batch_tables_scaled(%x: tensor<2x1x1x4xf32>) -> tensor<2x1x1x4xf32> {
  %cos0 = arith.constant dense<[[[[1.0, 0.5, 1.0, 0.5]]], [[[0.0, 0.75, 0.0, 0.75]]]]> : tensor<2x1x1x4xf32>
  %sin0 = arith.constant dense<[[[[0.0, 0.5, 0.0, 0.5]]], [[[1.0, 0.25, 1.0, 0.25]]]]> : tensor<2x1x1x4xf32>
  %k = arith.constant dense<2.0> : tensor<f32>
  %cos = kiln.mul %cos0, %k : (tensor<2x1x1x4xf32>, tensor<f32>) -> tensor<2x1x1x4xf32>
  %sin = kiln.mul %sin0, %k : (tensor<2x1x1x4xf32>, tensor<f32>) -> tensor<2x1x1x4xf32>
  %0 = kiln.mul %cos, %x : (tensor<2x1x1x4xf32>, tensor<2x1x1x4xf32>) -> tensor<2x1x1x4xf32>
  %1 = kiln.slice %x {starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<2x1x1x4xf32> -> tensor<2x1x1x2xf32>
  %2 = kiln.slice %x {starts = array<i64: 0, 0, 0, 2>, steps = array<i64: 1, 1, 1, 1>} : tensor<2x1x1x4xf32> -> tensor<2x1x1x2xf32>
  %3 = kiln.neg %2 : tensor<2x1x1x2xf32>
  // expected-remark @below {{raised rope (half rotation, all 4 features, cos/sin [2, 1, 2])}}
  %4 = kiln.concat %3, %1 {axis = 3 : i64} : (tensor<2x1x1x2xf32>, tensor<2x1x1x2xf32>) -> tensor<2x1x1x4xf32>
  %5 = kiln.mul %sin, %4 : (tensor<2x1x1x4xf32>, tensor<2x1x1x4xf32>) -> tensor<2x1x1x4xf32>
  %6 = kiln.add %5, %0 : (tensor<2x1x1x4xf32>, tensor<2x1x1x4xf32>) -> tensor<2x1x1x4xf32>
  return %6 : tensor<2x1x1x4xf32>
}

// -----

// Position ids shared by the batch ([1, S]) are broadcast to kiln.rope's
// [B, S] once for cos and sin, and wrapped as Gather wraps negative ids.
// CHECK-LABEL: func.func @shared_position_ids(
// CHECK-SAME: %[[X:[^:]+]]: tensor<2x1x3x4xf32>, %[[IDS:[^:]+]]: tensor<1x3xi64>
// CHECK: %[[B:.+]] = kiln.broadcast %[[IDS]] : tensor<1x3xi64> -> tensor<2x3xi64>
// CHECK: %[[NEG:.+]] = kiln.compare lt, %[[B]], %{{.+}}
// CHECK: %[[UP:.+]] = kiln.add %[[B]], %{{.+}}
// CHECK: %[[POS:.+]] = kiln.select %[[NEG]], %[[UP]], %[[B]]
// CHECK: kiln.rope %[[X]], %{{.+}}, %{{.+}} positions %[[POS]] : (tensor<2x1x3x4xf32>, tensor<5x2xf32>, tensor<5x2xf32>, tensor<2x3xi64>) -> tensor<2x1x3x4xf32>
// CHECK-NOT: kiln.gather
func.func @shared_position_ids(%x: tensor<2x1x3x4xf32>, %ids: tensor<1x3xi64>) -> tensor<2x1x3x4xf32> {
  %cost = arith.constant dense<[[1.0, 1.0, 1.0, 1.0], [0.5, 0.9, 0.5, 0.9], [0.1, 0.8, 0.1, 0.8], [-0.4, 0.7, -0.4, 0.7], [-0.6, 0.6, -0.6, 0.6]]> : tensor<5x4xf32>
  %sint = arith.constant dense<[[0.0, 0.0, 0.0, 0.0], [0.8, 0.4, 0.8, 0.4], [0.9, 0.6, 0.9, 0.6], [0.9, 0.7, 0.9, 0.7], [-0.8, 0.8, -0.8, 0.8]]> : tensor<5x4xf32>
  %cg = kiln.gather %cost, %ids {axis = 0 : i64} : (tensor<5x4xf32>, tensor<1x3xi64>) -> tensor<1x3x4xf32>
  %sg = kiln.gather %sint, %ids {axis = 0 : i64} : (tensor<5x4xf32>, tensor<1x3xi64>) -> tensor<1x3x4xf32>
  %cos = kiln.reshape %cg : tensor<1x3x4xf32> -> tensor<1x1x3x4xf32>
  %sin = kiln.reshape %sg : tensor<1x3x4xf32> -> tensor<1x1x3x4xf32>
  %0 = kiln.mul %x, %cos : (tensor<2x1x3x4xf32>, tensor<1x1x3x4xf32>) -> tensor<2x1x3x4xf32>
  %1 = kiln.slice %x {starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<2x1x3x4xf32> -> tensor<2x1x3x2xf32>
  %2 = kiln.slice %x {starts = array<i64: 0, 0, 0, 2>, steps = array<i64: 1, 1, 1, 1>} : tensor<2x1x3x4xf32> -> tensor<2x1x3x2xf32>
  %3 = kiln.neg %2 : tensor<2x1x3x2xf32>
  // expected-remark @below {{raised rope (half rotation, all 4 features, [5, 2] tables indexed by positions)}}
  %4 = kiln.concat %3, %1 {axis = 3 : i64} : (tensor<2x1x3x2xf32>, tensor<2x1x3x2xf32>) -> tensor<2x1x3x4xf32>
  %5 = kiln.mul %4, %sin : (tensor<2x1x3x4xf32>, tensor<1x1x3x4xf32>) -> tensor<2x1x3x4xf32>
  %6 = kiln.add %0, %5 : (tensor<2x1x3x4xf32>, tensor<2x1x3x4xf32>) -> tensor<2x1x3x4xf32>
  return %6 : tensor<2x1x3x4xf32>
}

// -----

// rotate_half written Concat(x2, -x1) rotates the other way: kiln.rope with
// sin negated (exact: c x1 - (-s) x2 = c x1 + s x2).
// CHECK-LABEL: func.func @reversed_rotate_half(
// CHECK-SAME: %[[X:[^:]+]]: tensor<1x1x2x4xf32>
// CHECK-DAG: %[[S:.+]] = arith.constant dense<{{\[\[}}0.000000e+00, 5.000000e-01], [2.500000e-01, 7.500000e-01]]> : tensor<2x2xf32>
// CHECK-DAG: %[[C:.+]] = arith.constant dense<{{\[\[}}1.000000e+00, 5.000000e-01], [7.500000e-01, 2.500000e-01]]> : tensor<2x2xf32>
// CHECK: %[[NS:.+]] = kiln.neg %[[S]] : tensor<2x2xf32>
// CHECK-NEXT: kiln.rope %[[X]], %[[C]], %[[NS]] : (tensor<1x1x2x4xf32>, tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<1x1x2x4xf32>
func.func @reversed_rotate_half(%x: tensor<1x1x2x4xf32>) -> tensor<1x1x2x4xf32> {
  %cos = arith.constant dense<[[1.0, 0.5, 1.0, 0.5], [0.75, 0.25, 0.75, 0.25]]> : tensor<2x4xf32>
  %sin = arith.constant dense<[[0.0, 0.5, 0.0, 0.5], [0.25, 0.75, 0.25, 0.75]]> : tensor<2x4xf32>
  %0 = kiln.mul %x, %cos : (tensor<1x1x2x4xf32>, tensor<2x4xf32>) -> tensor<1x1x2x4xf32>
  %1 = kiln.slice %x {starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x1x2x4xf32> -> tensor<1x1x2x2xf32>
  %2 = kiln.slice %x {starts = array<i64: 0, 0, 0, 2>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x1x2x4xf32> -> tensor<1x1x2x2xf32>
  %3 = kiln.neg %1 : tensor<1x1x2x2xf32>
  // expected-remark @below {{raised rope (half rotation the other way (sin negated), all 4 features, cos/sin [2, 2])}}
  %4 = kiln.concat %2, %3 {axis = 3 : i64} : (tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>) -> tensor<1x1x2x4xf32>
  %5 = kiln.mul %4, %sin : (tensor<1x1x2x4xf32>, tensor<2x4xf32>) -> tensor<1x1x2x4xf32>
  %6 = kiln.add %0, %5 : (tensor<1x1x2x4xf32>, tensor<1x1x2x4xf32>) -> tensor<1x1x2x4xf32>
  return %6 : tensor<1x1x2x4xf32>
}

// -----

// Interleaved pairs (GPT-J's rotate_every_two): step-2 slices, the odd ones
// negated, each pair stacked on a new last axis and flattened back; the
// tables repeat each angle twice, side by side.
// CHECK-LABEL: func.func @interleaved(
// CHECK-DAG: %[[SIN:.+]] = arith.constant dense<{{\[\[}}0.000000e+00, 0.000000e+00], [2.500000e-01, 1.250000e-01]]> : tensor<2x2xf32>
// CHECK-DAG: %[[COS:.+]] = arith.constant dense<{{\[\[}}1.000000e+00, 1.000000e+00], [5.000000e-01, 7.500000e-01]]> : tensor<2x2xf32>
// CHECK: %[[R:.+]] = kiln.rope %arg0, %[[COS]], %[[SIN]] {interleaved = true} : (tensor<1x1x2x4xf32>, tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<1x1x2x4xf32>
// CHECK-NEXT: return %[[R]]
func.func @interleaved(%x: tensor<1x1x2x4xf32>) -> tensor<1x1x2x4xf32> {
  %cos = arith.constant dense<[[[[1.0, 1.0, 1.0, 1.0], [0.5, 0.5, 0.75, 0.75]]]]> : tensor<1x1x2x4xf32>
  %sin = arith.constant dense<[[[[0.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.125, 0.125]]]]> : tensor<1x1x2x4xf32>
  %0 = kiln.mul %x, %cos : (tensor<1x1x2x4xf32>, tensor<1x1x2x4xf32>) -> tensor<1x1x2x4xf32>
  %1 = kiln.slice %x {starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 2>} : tensor<1x1x2x4xf32> -> tensor<1x1x2x2xf32>
  %2 = kiln.slice %x {starts = array<i64: 0, 0, 0, 1>, steps = array<i64: 1, 1, 1, 2>} : tensor<1x1x2x4xf32> -> tensor<1x1x2x2xf32>
  %3 = kiln.neg %2 : tensor<1x1x2x2xf32>
  %4 = kiln.reshape %3 : tensor<1x1x2x2xf32> -> tensor<1x1x2x2x1xf32>
  %5 = kiln.reshape %1 : tensor<1x1x2x2xf32> -> tensor<1x1x2x2x1xf32>
  // expected-remark @below {{raised rope (interleaved, all 4 features, cos/sin [2, 2])}}
  %6 = kiln.concat %4, %5 {axis = 4 : i64} : (tensor<1x1x2x2x1xf32>, tensor<1x1x2x2x1xf32>) -> tensor<1x1x2x2x2xf32>
  %7 = kiln.reshape %6 : tensor<1x1x2x2x2xf32> -> tensor<1x1x2x4xf32>
  %8 = kiln.mul %7, %sin : (tensor<1x1x2x4xf32>, tensor<1x1x2x4xf32>) -> tensor<1x1x2x4xf32>
  %9 = kiln.add %0, %8 : (tensor<1x1x2x4xf32>, tensor<1x1x2x4xf32>) -> tensor<1x1x2x4xf32>
  return %9 : tensor<1x1x2x4xf32>
}

// -----

// Partial rotary (GPT-NeoX's rotary_pct): the first 4 of 8 features
// rotate, the rest pass through and are concatenated back.
// CHECK-LABEL: func.func @partial(
// CHECK: %[[R:.+]] = kiln.rope %arg0, %{{.+}}, %{{.+}} {rotary_dim = 4 : i64} : (tensor<1x2x2x8xf32>, tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<1x2x2x8xf32>
// CHECK-NEXT: return %[[R]]
func.func @partial(%x: tensor<1x2x2x8xf32>) -> tensor<1x2x2x8xf32> {
  %cos = arith.constant dense<[[[[1.0, 1.0, 1.0, 1.0], [0.5, 0.75, 0.5, 0.75]]]]> : tensor<1x1x2x4xf32>
  %sin = arith.constant dense<[[[[0.0, 0.0, 0.0, 0.0], [0.25, 0.125, 0.25, 0.125]]]]> : tensor<1x1x2x4xf32>
  %rot = kiln.slice %x {starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x2x2x8xf32> -> tensor<1x2x2x4xf32>
  %pass = kiln.slice %x {starts = array<i64: 0, 0, 0, 4>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x2x2x8xf32> -> tensor<1x2x2x4xf32>
  %0 = kiln.mul %rot, %cos : (tensor<1x2x2x4xf32>, tensor<1x1x2x4xf32>) -> tensor<1x2x2x4xf32>
  %1 = kiln.slice %rot {starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x2x2x4xf32> -> tensor<1x2x2x2xf32>
  %2 = kiln.slice %rot {starts = array<i64: 0, 0, 0, 2>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x2x2x4xf32> -> tensor<1x2x2x2xf32>
  %3 = kiln.neg %2 : tensor<1x2x2x2xf32>
  // expected-remark @below {{raised rope (half rotation, first 4 of 8 features, cos/sin [2, 2])}}
  %4 = kiln.concat %3, %1 {axis = 3 : i64} : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x2x2x4xf32>
  %5 = kiln.mul %4, %sin : (tensor<1x2x2x4xf32>, tensor<1x1x2x4xf32>) -> tensor<1x2x2x4xf32>
  %6 = kiln.add %0, %5 : (tensor<1x2x2x4xf32>, tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32>
  %7 = kiln.concat %6, %pass {axis = 3 : i64} : (tensor<1x2x2x4xf32>, tensor<1x2x2x4xf32>) -> tensor<1x2x2x8xf32>
  return %7 : tensor<1x2x2x8xf32>
}

// -----

// The [B, S, H, D] layout (GPT-J's keys): the tables are [1, S, 1, D] and
// broadcast over the heads in dimension 2.
// CHECK-LABEL: func.func @bshd(
// CHECK: %[[T:.+]] = kiln.transpose %arg0 {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x2x3x4xf32> -> tensor<1x3x2x4xf32>
// CHECK: %[[R:.+]] = kiln.rope %[[T]], %{{.+}}, %{{.+}} : (tensor<1x3x2x4xf32>, tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<1x3x2x4xf32>
// CHECK: %[[B:.+]] = kiln.transpose %[[R]] {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x3x2x4xf32> -> tensor<1x2x3x4xf32>
// CHECK-NEXT: return %[[B]]
func.func @bshd(%x: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %cos = arith.constant dense<[[[[1.0, 1.0, 1.0, 1.0]], [[0.5, 0.75, 0.5, 0.75]]]]> : tensor<1x2x1x4xf32>
  %sin = arith.constant dense<[[[[0.0, 0.0, 0.0, 0.0]], [[0.25, 0.125, 0.25, 0.125]]]]> : tensor<1x2x1x4xf32>
  %0 = kiln.mul %x, %cos : (tensor<1x2x3x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x3x4xf32>
  %1 = kiln.slice %x {starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x2x3x4xf32> -> tensor<1x2x3x2xf32>
  %2 = kiln.slice %x {starts = array<i64: 0, 0, 0, 2>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x2x3x4xf32> -> tensor<1x2x3x2xf32>
  %3 = kiln.neg %2 : tensor<1x2x3x2xf32>
  // expected-remark @below {{raised rope (half rotation on [batch, seq, heads, dim], all 4 features, cos/sin [2, 2])}}
  %4 = kiln.concat %3, %1 {axis = 3 : i64} : (tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32>) -> tensor<1x2x3x4xf32>
  %5 = kiln.mul %4, %sin : (tensor<1x2x3x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x3x4xf32>
  %6 = kiln.add %0, %5 : (tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %6 : tensor<1x2x3x4xf32>
}
