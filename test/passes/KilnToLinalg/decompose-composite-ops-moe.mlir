// RUN: kiln-opt %s -kiln-decompose-composite-ops -split-input-file | FileCheck %s

// kiln-decompose-composite-ops rewrites kiln.moe_route into Kiln ops: the scores (a
// softmax, itself decomposed, or a sigmoid), the optional selection bias and
// group restriction, top_k for the experts, gather_elements for their
// weights (always read from the un-biased scores), the optional
// normalization and routed_scale, counts as one_hot + reduce_sum, and the
// capacity drop as an exclusive cumsum over the one-hot assignments.
// kiln.swiglu becomes silu(first half) * second half.

// Softmax, top-2, normalized: the weights are divided by their sum; counts
// sum the one-hot rows of the T*k = 8 flattened assignments.
// CHECK-LABEL: func @softmax_top2_normalize
// CHECK-SAME: (%[[L:[a-z0-9]+]]: tensor<4x8xf32>)
// CHECK-NOT: kiln.softmax
// CHECK: %[[MAX:.+]] = kiln.reduce_max %[[L]] {axes = array<i64: 1>, keepdims = true} : tensor<4x8xf32> -> tensor<4x1xf32>
// CHECK: %[[SH:.+]] = kiln.sub %[[L]], %[[MAX]] : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
// CHECK: %[[EXP:.+]] = kiln.exp %[[SH]] : tensor<4x8xf32>
// CHECK: %[[DEN:.+]] = kiln.reduce_sum %[[EXP]] {axes = array<i64: 1>, keepdims = true} : tensor<4x8xf32> -> tensor<4x1xf32>
// CHECK: %[[S:.+]] = kiln.div %[[EXP]], %[[DEN]] : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
// CHECK: %{{.+}}, %[[E:[a-z0-9_]+]] = kiln.top_k %[[S]] {axis = 1 : i64, k = 2 : i64} : tensor<4x8xf32> -> (tensor<4x2xf32>, tensor<4x2xi64>)
// CHECK: %[[G:.+]] = kiln.gather_elements %[[S]], %[[E]] {axis = 1 : i64} : (tensor<4x8xf32>, tensor<4x2xi64>) -> tensor<4x2xf32>
// CHECK: %[[SUM:.+]] = kiln.reduce_sum %[[G]] {axes = array<i64: 1>, keepdims = true} : tensor<4x2xf32> -> tensor<4x1xf32>
// CHECK: %[[W:.+]] = kiln.div %[[G]], %[[SUM]] : (tensor<4x2xf32>, tensor<4x1xf32>) -> tensor<4x2xf32>
// CHECK-NOT: kiln.mul
// CHECK: %[[FLAT:.+]] = kiln.reshape %[[E]] : tensor<4x2xi64> -> tensor<8xi64>
// CHECK: %[[HOT:.+]] = kiln.one_hot %[[FLAT]] {axis = 1 : i64, depth = 8 : i64, off_value = 0.000000e+00 : f64, on_value = 1.000000e+00 : f64} : tensor<8xi64> -> tensor<8x8xi64>
// CHECK: %[[N:.+]] = kiln.reduce_sum %[[HOT]] {axes = array<i64: 0>} : tensor<8x8xi64> -> tensor<8xi64>
// CHECK-NOT: kiln.cumsum
// CHECK: return %[[W]], %[[E]], %[[N]] : tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>
// CHECK-NOT: kiln.moe_route
func.func @softmax_top2_normalize(%l: tensor<4x8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>) {
  %w, %e, %n = kiln.moe_route %l {k = 2 : i64, normalize = true} : (tensor<4x8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>)
  return %w, %e, %n : tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>
}

// -----

// Sigmoid with a bias: the bias is added for the selection only; the weights
// gather the un-biased sigmoid scores. Not normalized: no division.
// CHECK-LABEL: func @sigmoid_bias
// CHECK-SAME: (%[[L:[a-z0-9]+]]: tensor<4x8xf32>, %[[B:[a-z0-9]+]]: tensor<8xf32>)
// CHECK: %[[S:.+]] = kiln.sigmoid %[[L]] : tensor<4x8xf32>
// CHECK: %[[SEL:.+]] = kiln.add %[[S]], %[[B]] : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
// CHECK: %{{.+}}, %[[E:[a-z0-9_]+]] = kiln.top_k %[[SEL]] {axis = 1 : i64, k = 2 : i64} : tensor<4x8xf32> -> (tensor<4x2xf32>, tensor<4x2xi64>)
// CHECK: %[[W:.+]] = kiln.gather_elements %[[S]], %[[E]] {axis = 1 : i64} : (tensor<4x8xf32>, tensor<4x2xi64>) -> tensor<4x2xf32>
// CHECK-NOT: kiln.div
// CHECK-NOT: kiln.mul
// CHECK: %[[FLAT:.+]] = kiln.reshape %[[E]] : tensor<4x2xi64> -> tensor<8xi64>
// CHECK: %[[HOT:.+]] = kiln.one_hot %[[FLAT]] {{.+}} : tensor<8xi64> -> tensor<8x8xi64>
// CHECK: %[[N:.+]] = kiln.reduce_sum %[[HOT]] {axes = array<i64: 0>} : tensor<8x8xi64> -> tensor<8xi64>
// CHECK: return %[[W]], %[[E]], %[[N]]
// CHECK-NOT: kiln.moe_route
func.func @sigmoid_bias(%l: tensor<4x8xf32>, %b: tensor<8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>) {
  %w, %e, %n = kiln.moe_route %l bias %b {k = 2 : i64, scoring = #kiln.router_scoring<sigmoid>} : (tensor<4x8xf32>, tensor<8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>)
  return %w, %e, %n : tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>
}

// -----

// Grouped routing, DeepSeek-style: 8 experts in 4 groups of 2, keep 2
// groups, k = 3. The biased selection scores are reshaped to [T, G, E/G]; a
// group's score is the sum of its two best; the 2 best groups become a
// [T, G, 1] mask (one_hot + reduce_max over the kept slots), and the experts
// of the other groups are replaced by -inf before the final top_k. The
// weights still gather the un-biased scores.
// CHECK-LABEL: func @grouped
// CHECK-SAME: (%[[L:[a-z0-9]+]]: tensor<4x8xf32>, %[[B:[a-z0-9]+]]: tensor<8xf32>)
// CHECK: %[[NEGINF:.+]] = arith.constant dense<0xFF800000> : tensor<f32>
// CHECK: %[[S:.+]] = kiln.sigmoid %[[L]] : tensor<4x8xf32>
// CHECK: %[[SEL:.+]] = kiln.add %[[S]], %[[B]] : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
// CHECK: %[[GR:.+]] = kiln.reshape %[[SEL]] : tensor<4x8xf32> -> tensor<4x4x2xf32>
// CHECK: %[[BEST2:[a-z0-9_]+]], %{{.+}} = kiln.top_k %[[GR]] {axis = 2 : i64, k = 2 : i64} : tensor<4x4x2xf32> -> (tensor<4x4x2xf32>, tensor<4x4x2xi64>)
// CHECK: %[[GS1:.+]] = kiln.reduce_sum %[[BEST2]] {axes = array<i64: 2>, keepdims = true} : tensor<4x4x2xf32> -> tensor<4x4x1xf32>
// CHECK: %[[GS:.+]] = kiln.reshape %[[GS1]] : tensor<4x4x1xf32> -> tensor<4x4xf32>
// CHECK: %{{.+}}, %[[KEPT:[a-z0-9_]+]] = kiln.top_k %[[GS]] {axis = 1 : i64, k = 2 : i64} : tensor<4x4xf32> -> (tensor<4x2xf32>, tensor<4x2xi64>)
// CHECK: %[[GHOT:.+]] = kiln.one_hot %[[KEPT]] {axis = 2 : i64, depth = 4 : i64, {{.+}}} : tensor<4x2xi64> -> tensor<4x2x4xi1>
// CHECK: %[[MASK1:.+]] = kiln.reduce_max %[[GHOT]] {axes = array<i64: 1>, keepdims = true} : tensor<4x2x4xi1> -> tensor<4x1x4xi1>
// CHECK: %[[MASK:.+]] = kiln.reshape %[[MASK1]] : tensor<4x1x4xi1> -> tensor<4x4x1xi1>
// CHECK: %[[MASKED:.+]] = kiln.select %[[MASK]], %[[GR]], %[[NEGINF]] : (tensor<4x4x1xi1>, tensor<4x4x2xf32>, tensor<f32>) -> tensor<4x4x2xf32>
// CHECK: %[[ELIG:.+]] = kiln.reshape %[[MASKED]] : tensor<4x4x2xf32> -> tensor<4x8xf32>
// CHECK: %{{.+}}, %[[E:[a-z0-9_]+]] = kiln.top_k %[[ELIG]] {axis = 1 : i64, k = 3 : i64} : tensor<4x8xf32> -> (tensor<4x3xf32>, tensor<4x3xi64>)
// CHECK: %[[W:.+]] = kiln.gather_elements %[[S]], %[[E]] {axis = 1 : i64} : (tensor<4x8xf32>, tensor<4x3xi64>) -> tensor<4x3xf32>
// CHECK: %[[FLAT:.+]] = kiln.reshape %[[E]] : tensor<4x3xi64> -> tensor<12xi64>
// CHECK: %[[HOT:.+]] = kiln.one_hot %[[FLAT]] {axis = 1 : i64, depth = 8 : i64, {{.+}}} : tensor<12xi64> -> tensor<12x8xi64>
// CHECK: %[[N:.+]] = kiln.reduce_sum %[[HOT]] {axes = array<i64: 0>} : tensor<12x8xi64> -> tensor<8xi64>
// CHECK: return %[[W]], %[[E]], %[[N]]
// CHECK-NOT: kiln.moe_route
func.func @grouped(%l: tensor<4x8xf32>, %b: tensor<8xf32>) -> (tensor<4x3xf32>, tensor<4x3xi64>, tensor<8xi64>) {
  %w, %e, %n = kiln.moe_route %l bias %b {k = 3 : i64, scoring = #kiln.router_scoring<sigmoid>, num_groups = 4 : i64, top_groups = 2 : i64} : (tensor<4x8xf32>, tensor<8xf32>) -> (tensor<4x3xf32>, tensor<4x3xi64>, tensor<8xi64>)
  return %w, %e, %n : tensor<4x3xf32>, tensor<4x3xi64>, tensor<8xi64>
}

// -----

// DeepSeek-V2's group scoring: a group scores its best expert, a max over
// the group's axis, with no top_k inside the groups.
// CHECK-LABEL: func @grouped_by_max
// CHECK: %[[S:.+]] = kiln.div
// CHECK: %[[GR:.+]] = kiln.reshape %[[S]] : tensor<4x8xf32> -> tensor<4x4x2xf32>
// CHECK-NOT: kiln.top_k {{.+}} {axis = 2 : i64
// CHECK: %[[BEST:.+]] = kiln.reduce_max %[[GR]] {axes = array<i64: 2>, keepdims = true} : tensor<4x4x2xf32> -> tensor<4x4x1xf32>
// CHECK: %[[GS:.+]] = kiln.reshape %[[BEST]] : tensor<4x4x1xf32> -> tensor<4x4xf32>
// CHECK: kiln.top_k %[[GS]] {axis = 1 : i64, k = 2 : i64} : tensor<4x4xf32> -> (tensor<4x2xf32>, tensor<4x2xi64>)
// CHECK-NOT: kiln.moe_route
func.func @grouped_by_max(%l: tensor<4x8xf32>) -> (tensor<4x3xf32>, tensor<4x3xi64>, tensor<8xi64>) {
  %w, %e, %n = kiln.moe_route %l {k = 3 : i64, num_groups = 4 : i64, top_groups = 2 : i64, group_scoring = #kiln.group_scoring<max>} : (tensor<4x8xf32>) -> (tensor<4x3xf32>, tensor<4x3xi64>, tensor<8xi64>)
  return %w, %e, %n : tensor<4x3xf32>, tensor<4x3xi64>, tensor<8xi64>
}

// -----

// One expert per group (8 groups of 1): a group's score is its only expert's,
// so there is no top_k inside the groups, just reshapes.
// CHECK-LABEL: func @one_expert_per_group
// CHECK-SAME: (%[[L:[a-z0-9]+]]: tensor<4x8xf32>)
// CHECK: %[[NEGINF:.+]] = arith.constant dense<0xFF800000> : tensor<f32>
// CHECK: %[[S:.+]] = kiln.div
// CHECK: %[[GR:.+]] = kiln.reshape %[[S]] : tensor<4x8xf32> -> tensor<4x8x1xf32>
// CHECK-NOT: kiln.top_k {{.+}} {axis = 2 : i64
// CHECK-NOT: kiln.reduce_sum
// CHECK: %[[GS:.+]] = kiln.reshape %[[GR]] : tensor<4x8x1xf32> -> tensor<4x8xf32>
// CHECK: %{{.+}}, %[[KEPT:[a-z0-9_]+]] = kiln.top_k %[[GS]] {axis = 1 : i64, k = 3 : i64} : tensor<4x8xf32> -> (tensor<4x3xf32>, tensor<4x3xi64>)
// CHECK: %[[GHOT:.+]] = kiln.one_hot %[[KEPT]] {axis = 2 : i64, depth = 8 : i64, {{.+}}} : tensor<4x3xi64> -> tensor<4x3x8xi1>
// CHECK: %[[MASK1:.+]] = kiln.reduce_max %[[GHOT]] {axes = array<i64: 1>, keepdims = true} : tensor<4x3x8xi1> -> tensor<4x1x8xi1>
// CHECK: %[[MASK:.+]] = kiln.reshape %[[MASK1]] : tensor<4x1x8xi1> -> tensor<4x8x1xi1>
// CHECK: %[[MASKED:.+]] = kiln.select %[[MASK]], %[[GR]], %[[NEGINF]] : (tensor<4x8x1xi1>, tensor<4x8x1xf32>, tensor<f32>) -> tensor<4x8x1xf32>
// CHECK: %[[ELIG:.+]] = kiln.reshape %[[MASKED]] : tensor<4x8x1xf32> -> tensor<4x8xf32>
// CHECK: %{{.+}}, %[[E:[a-z0-9_]+]] = kiln.top_k %[[ELIG]] {axis = 1 : i64, k = 2 : i64} : tensor<4x8xf32> -> (tensor<4x2xf32>, tensor<4x2xi64>)
// CHECK: kiln.gather_elements %[[S]], %[[E]] {axis = 1 : i64} : (tensor<4x8xf32>, tensor<4x2xi64>) -> tensor<4x2xf32>
// CHECK-NOT: kiln.moe_route
func.func @one_expert_per_group(%l: tensor<4x8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>) {
  %w, %e, %n = kiln.moe_route %l {k = 2 : i64, num_groups = 8 : i64, top_groups = 3 : i64} : (tensor<4x8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>)
  return %w, %e, %n : tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>
}

// -----

// Capacity 3 with routed_scale 2.5: the weights are scaled first; then an
// assignment's slot is the exclusive cumsum (in token, then choice order)
// of the one-hot assignments, read at its own expert; those with slot >= 3
// get weight 0 and expert -1. Counts are taken before the drop.
// CHECK-LABEL: func @capacity
// CHECK-SAME: (%[[L:[a-z0-9]+]]: tensor<4x8xf32>)
// CHECK-DAG: %[[MINUS1:.+]] = arith.constant dense<-1> : tensor<i64>
// CHECK-DAG: %[[ZERO:.+]] = arith.constant dense<0.000000e+00> : tensor<f32>
// CHECK-DAG: %[[CAP:.+]] = arith.constant dense<3> : tensor<i64>
// CHECK-DAG: %[[SCALE:.+]] = arith.constant dense<2.500000e+00> : tensor<f32>
// CHECK: %[[S:.+]] = kiln.div
// CHECK: %{{.+}}, %[[E:[a-z0-9_]+]] = kiln.top_k %[[S]] {axis = 1 : i64, k = 2 : i64} : tensor<4x8xf32> -> (tensor<4x2xf32>, tensor<4x2xi64>)
// CHECK: %[[G:.+]] = kiln.gather_elements %[[S]], %[[E]] {axis = 1 : i64} : (tensor<4x8xf32>, tensor<4x2xi64>) -> tensor<4x2xf32>
// CHECK: %[[SCALED:.+]] = kiln.mul %[[G]], %[[SCALE]] : (tensor<4x2xf32>, tensor<f32>) -> tensor<4x2xf32>
// CHECK: %[[FLAT:.+]] = kiln.reshape %[[E]] : tensor<4x2xi64> -> tensor<8xi64>
// CHECK: %[[HOT:.+]] = kiln.one_hot %[[FLAT]] {axis = 1 : i64, depth = 8 : i64, {{.+}}} : tensor<8xi64> -> tensor<8x8xi64>
// CHECK: %[[N:.+]] = kiln.reduce_sum %[[HOT]] {axes = array<i64: 0>} : tensor<8x8xi64> -> tensor<8xi64>
// CHECK: %[[BEFORE:.+]] = kiln.cumsum %[[HOT]] {axis = 0 : i64, exclusive = true} : tensor<8x8xi64>
// CHECK: %[[COL:.+]] = kiln.reshape %[[FLAT]] : tensor<8xi64> -> tensor<8x1xi64>
// CHECK: %[[SLOT1:.+]] = kiln.gather_elements %[[BEFORE]], %[[COL]] {axis = 1 : i64} : (tensor<8x8xi64>, tensor<8x1xi64>) -> tensor<8x1xi64>
// CHECK: %[[SLOT:.+]] = kiln.reshape %[[SLOT1]] : tensor<8x1xi64> -> tensor<4x2xi64>
// CHECK: %[[FITS:.+]] = kiln.compare lt, %[[SLOT]], %[[CAP]] : (tensor<4x2xi64>, tensor<i64>) -> tensor<4x2xi1>
// CHECK: %[[W:.+]] = kiln.select %[[FITS]], %[[SCALED]], %[[ZERO]] : (tensor<4x2xi1>, tensor<4x2xf32>, tensor<f32>) -> tensor<4x2xf32>
// CHECK: %[[KEPT:.+]] = kiln.select %[[FITS]], %[[E]], %[[MINUS1]] : (tensor<4x2xi1>, tensor<4x2xi64>, tensor<i64>) -> tensor<4x2xi64>
// CHECK: return %[[W]], %[[KEPT]], %[[N]] : tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>
func.func @capacity(%l: tensor<4x8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>) {
  %w, %e, %n = kiln.moe_route %l {k = 2 : i64, capacity = 3 : i64, routed_scale = 2.5 : f32} : (tensor<4x8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>)
  return %w, %e, %n : tensor<4x2xf32>, tensor<4x2xi64>, tensor<8xi64>
}

// -----

// routed_scale multiplies the normalized weights, as a rank-0 constant of
// the logits' element type (bf16 here).
// CHECK-LABEL: func @routed_scale_normalized
// CHECK: %[[SCALE:.+]] = arith.constant dense<2.500000e+00> : tensor<bf16>
// CHECK: %[[G:.+]] = kiln.gather_elements %{{.+}}, %{{.+}} {axis = 1 : i64} : (tensor<2x4xbf16>, tensor<2x2xi64>) -> tensor<2x2xbf16>
// CHECK: %[[SUM:.+]] = kiln.reduce_sum %[[G]] {axes = array<i64: 1>, keepdims = true} : tensor<2x2xbf16> -> tensor<2x1xbf16>
// CHECK: %[[NORM:.+]] = kiln.div %[[G]], %[[SUM]] : (tensor<2x2xbf16>, tensor<2x1xbf16>) -> tensor<2x2xbf16>
// CHECK: %[[W:.+]] = kiln.mul %[[NORM]], %[[SCALE]] : (tensor<2x2xbf16>, tensor<bf16>) -> tensor<2x2xbf16>
// CHECK: return %[[W]],
func.func @routed_scale_normalized(%l: tensor<2x4xbf16>) -> (tensor<2x2xbf16>, tensor<2x2xi64>, tensor<4xi64>) {
  %w, %e, %n = kiln.moe_route %l {k = 2 : i64, scoring = #kiln.router_scoring<sigmoid>, normalize = true, routed_scale = 2.5 : f32} : (tensor<2x4xbf16>) -> (tensor<2x2xbf16>, tensor<2x2xi64>, tensor<4xi64>)
  return %w, %e, %n : tensor<2x2xbf16>, tensor<2x2xi64>, tensor<4xi64>
}

// -----

// swiglu: two slices of the last dimension (starting at 0 and at F), silu of
// the first, times the second.
// CHECK-LABEL: func @swiglu
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<2x3x8xf32>)
// CHECK: %[[A:.+]] = kiln.slice %[[X]] {starts = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>} : tensor<2x3x8xf32> -> tensor<2x3x4xf32>
// CHECK: %[[SA:.+]] = kiln.silu %[[A]] : tensor<2x3x4xf32>
// CHECK: %[[B:.+]] = kiln.slice %[[X]] {starts = array<i64: 0, 0, 4>, steps = array<i64: 1, 1, 1>} : tensor<2x3x8xf32> -> tensor<2x3x4xf32>
// CHECK: %[[Y:.+]] = kiln.mul %[[SA]], %[[B]] : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
// CHECK: return %[[Y]] : tensor<2x3x4xf32>
// CHECK-NOT: kiln.swiglu
func.func @swiglu(%x: tensor<2x3x8xf32>) -> tensor<2x3x4xf32> {
  %0 = kiln.swiglu %x : tensor<2x3x8xf32> -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// 1-D swiglu of f16.
// CHECK-LABEL: func @swiglu_1d
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<6xf16>)
// CHECK: %[[A:.+]] = kiln.slice %[[X]] {starts = array<i64: 0>, steps = array<i64: 1>} : tensor<6xf16> -> tensor<3xf16>
// CHECK: %[[SA:.+]] = kiln.silu %[[A]] : tensor<3xf16>
// CHECK: %[[B:.+]] = kiln.slice %[[X]] {starts = array<i64: 3>, steps = array<i64: 1>} : tensor<6xf16> -> tensor<3xf16>
// CHECK: kiln.mul %[[SA]], %[[B]] : (tensor<3xf16>, tensor<3xf16>) -> tensor<3xf16>
func.func @swiglu_1d(%x: tensor<6xf16>) -> tensor<3xf16> {
  %0 = kiln.swiglu %x : tensor<6xf16> -> tensor<3xf16>
  return %0 : tensor<3xf16>
}
