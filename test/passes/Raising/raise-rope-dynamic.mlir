// RUN: kiln-opt %s -kiln-raise-rope -split-input-file -verify-diagnostics | FileCheck %s

// kiln-raise-rope on graphs imported with a symbolic sequence length: the
// halves of rotate_half are tensor.extract_slices (every dimension but the
// last taken whole, compared symbolically), and HF's cos_cached[:seq]
// [position_ids] is a gather of the table's leading rows (a Slice with a
// run-time end) by Range(0, seq): the halved table's first seq rows.

#iota = affine_map<(d0) -> (d0)>

// CHECK-LABEL: func.func @rotate_half_of_a_run_time_length
// CHECK-SAME: (%[[X:.+]]: tensor<?x2x?x4xf32>
// CHECK-DAG: %[[COS:.+]] = arith.constant dense<{{\[\[}}1.000000e+00, 5.000000e-01]{{.+}}> : tensor<8x2xf32>
// CHECK-DAG: %[[SIN:.+]] = arith.constant dense<{{\[\[}}0.000000e+00, 1.000000e-01]{{.+}}> : tensor<8x2xf32>
// CHECK: %[[S:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x2x?x4xf32>
// CHECK-NEXT: %[[C:.+]] = tensor.extract_slice %[[COS]][0, 0] [%[[S]], 2] [1, 1] : tensor<8x2xf32> to tensor<?x2xf32>
// CHECK: %[[SS:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x2x?x4xf32>
// CHECK-NEXT: %[[SN:.+]] = tensor.extract_slice %[[SIN]][0, 0] [%[[SS]], 2] [1, 1] : tensor<8x2xf32> to tensor<?x2xf32>
// CHECK-NEXT: %[[R:.+]] = kiln.rope %[[X]], %[[C]], %[[SN]] : (tensor<?x2x?x4xf32>, tensor<?x2xf32>, tensor<?x2xf32>) -> tensor<?x2x?x4xf32>
// CHECK-NEXT: return %[[R]]
func.func @rotate_half_of_a_run_time_length(%x: tensor<?x2x?x4xf32> {kiln.dim_symbols = ["batch", "", "seq", ""]}) -> tensor<?x2x?x4xf32> attributes {kiln.dim_ranges = {batch = array<i64: 1, 4>, seq = array<i64: 1, 8>}} {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %b = tensor.dim %x, %c0 : tensor<?x2x?x4xf32>
  %s = tensor.dim %x, %c2 : tensor<?x2x?x4xf32>
  // Each angle twice: [a0, a1, a0, a1] per position.
  %cos = arith.constant dense<[[1.0, 0.5, 1.0, 0.5], [0.9, 0.4, 0.9, 0.4], [0.8, 0.3, 0.8, 0.3], [0.7, 0.2, 0.7, 0.2], [0.6, 0.1, 0.6, 0.1], [0.5, 0.0, 0.5, 0.0], [0.4, -0.1, 0.4, -0.1], [0.3, -0.2, 0.3, -0.2]]> : tensor<8x4xf32>
  %sin = arith.constant dense<[[0.0, 0.1, 0.0, 0.1], [0.2, 0.3, 0.2, 0.3], [0.4, 0.5, 0.4, 0.5], [0.6, 0.7, 0.6, 0.7], [0.8, 0.9, 0.8, 0.9], [1.0, 1.1, 1.0, 1.1], [1.2, 1.3, 1.2, 1.3], [1.4, 1.5, 1.4, 1.5]]> : tensor<8x4xf32>
  %cs = tensor.extract_slice %cos[0, 0] [%s, 4] [1, 1] : tensor<8x4xf32> to tensor<?x4xf32>
  %ss = tensor.extract_slice %sin[0, 0] [%s, 4] [1, 1] : tensor<8x4xf32> to tensor<?x4xf32>
  %e = tensor.empty(%s) : tensor<?xi64>
  %range = linalg.generic {indexing_maps = [#iota], iterator_types = ["parallel"]} outs(%e : tensor<?xi64>) {
  ^bb0(%o: i64):
    %i = linalg.index 0 : index
    %ii = arith.index_cast %i : index to i64
    %one = arith.constant 1 : i64
    %zero = arith.constant 0 : i64
    %m = arith.muli %ii, %one : i64
    %a = arith.addi %zero, %m : i64
    linalg.yield %a : i64
  } -> tensor<?xi64>
  %ids = tensor.expand_shape %range [[0, 1]] output_shape [1, %s] : tensor<?xi64> into tensor<1x?xi64>
  %cg = kiln.gather %cs, %ids {axis = 0 : i64} : (tensor<?x4xf32>, tensor<1x?xi64>) -> tensor<1x?x4xf32>
  %c4 = kiln.reshape %cg : tensor<1x?x4xf32> -> tensor<1x1x?x4xf32>
  %sg = kiln.gather %ss, %ids {axis = 0 : i64} : (tensor<?x4xf32>, tensor<1x?xi64>) -> tensor<1x?x4xf32>
  %s4 = kiln.reshape %sg : tensor<1x?x4xf32> -> tensor<1x1x?x4xf32>
  %x1 = tensor.extract_slice %x[0, 0, 0, 0] [%b, 2, %s, 2] [1, 1, 1, 1] : tensor<?x2x?x4xf32> to tensor<?x2x?x2xf32>
  %x2 = tensor.extract_slice %x[0, 0, 0, 2] [%b, 2, %s, 2] [1, 1, 1, 1] : tensor<?x2x?x4xf32> to tensor<?x2x?x2xf32>
  %n2 = kiln.neg %x2 : tensor<?x2x?x2xf32>
  // expected-remark @below {{raised rope (half rotation, all 4 features, cos/sin [?, 2])}}
  %rot = kiln.concat %n2, %x1 {axis = 3 : i64} : (tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32>) -> tensor<?x2x?x4xf32>
  %xc = kiln.mul %x, %c4 : (tensor<?x2x?x4xf32>, tensor<1x1x?x4xf32>) -> tensor<?x2x?x4xf32>
  %rs = kiln.mul %rot, %s4 : (tensor<?x2x?x4xf32>, tensor<1x1x?x4xf32>) -> tensor<?x2x?x4xf32>
  %y = kiln.add %xc, %rs : (tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) -> tensor<?x2x?x4xf32>
  return %y : tensor<?x2x?x4xf32>
}

// -----

#iota = affine_map<(d0) -> (d0)>

// HF's cos_cached[:past + seq][position_ids] of a decoder exported with its
// KV cache: the table sliced to past + seq rows, gathered by
// Range(past, past + seq) (whose count reads back as seq). The rope reads
// the whole halved table by those positions, a negative id wrapping by the
// slice's rows as the Gather's would.
// CHECK-LABEL: func.func @gathered_after_a_cache
// CHECK-SAME: (%[[X:.+]]: tensor<?x2x?x4xf32> {{.*}}, %[[PK:.+]]: tensor<?x2x?x4xf32>
// CHECK-DAG: %[[COS:.+]] = arith.constant dense<{{\[\[}}1.000000e+00, 5.000000e-01]{{.+}}> : tensor<8x2xf32>
// CHECK-DAG: %[[SIN:.+]] = arith.constant dense<{{\[\[}}0.000000e+00, 1.000000e-01]{{.+}}> : tensor<8x2xf32>
// CHECK: %[[END:.+]] = arith.addi
// CHECK: %[[ROWS:.+]] = arith.index_cast %[[END]] : i64 to index
// CHECK: %[[IDS:.+]] = tensor.expand_shape
// CHECK: %[[POS:.+]] = kiln.broadcast %[[IDS]] : tensor<1x?xi64> -> tensor<?x?xi64>
// CHECK: %[[N:.+]] = arith.index_cast %[[ROWS]] : index to i64
// CHECK: %[[NT:.+]] = tensor.from_elements %[[N]] : tensor<i64>
// CHECK: %[[NEG:.+]] = kiln.compare lt, %[[POS]]
// CHECK: %[[UP:.+]] = kiln.add %[[POS]], %[[NT]]
// CHECK: %[[WRAP:.+]] = kiln.select %[[NEG]], %[[UP]], %[[POS]]
// CHECK: kiln.rope %[[X]], %[[COS]], %[[SIN]] positions %[[WRAP]] : (tensor<?x2x?x4xf32>, tensor<8x2xf32>, tensor<8x2xf32>, tensor<?x?xi64>)
func.func @gathered_after_a_cache(%x: tensor<?x2x?x4xf32> {kiln.dim_symbols = ["batch", "", "seq", ""]}, %pk: tensor<?x2x?x4xf32> {kiln.dim_symbols = ["batch", "", "past", ""]}) -> tensor<?x2x?x4xf32> attributes {kiln.dim_ranges = {batch = array<i64: 1, 4>, past = array<i64: 0, 4>, seq = array<i64: 1, 4>}} {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %b = tensor.dim %x, %c0 : tensor<?x2x?x4xf32>
  %s = tensor.dim %x, %c2 : tensor<?x2x?x4xf32>
  %p = tensor.dim %pk, %c2 : tensor<?x2x?x4xf32>
  %s64 = arith.index_cast %s : index to i64
  %p64 = arith.index_cast %p : index to i64
  %end = arith.addi %s64, %p64 : i64
  %count = arith.subi %end, %p64 : i64
  %zero = arith.constant 0 : i64
  %n = arith.maxsi %count, %zero : i64
  %ni = arith.index_cast %n : i64 to index
  %endi = arith.index_cast %end : i64 to index
  %cos = arith.constant dense<[[1.0, 0.5, 1.0, 0.5], [0.9, 0.4, 0.9, 0.4], [0.8, 0.3, 0.8, 0.3], [0.7, 0.2, 0.7, 0.2], [0.6, 0.1, 0.6, 0.1], [0.5, 0.0, 0.5, 0.0], [0.4, -0.1, 0.4, -0.1], [0.3, -0.2, 0.3, -0.2]]> : tensor<8x4xf32>
  %sin = arith.constant dense<[[0.0, 0.1, 0.0, 0.1], [0.2, 0.3, 0.2, 0.3], [0.4, 0.5, 0.4, 0.5], [0.6, 0.7, 0.6, 0.7], [0.8, 0.9, 0.8, 0.9], [1.0, 1.1, 1.0, 1.1], [1.2, 1.3, 1.2, 1.3], [1.4, 1.5, 1.4, 1.5]]> : tensor<8x4xf32>
  %cs = tensor.extract_slice %cos[0, 0] [%endi, 4] [1, 1] : tensor<8x4xf32> to tensor<?x4xf32>
  %ss = tensor.extract_slice %sin[0, 0] [%endi, 4] [1, 1] : tensor<8x4xf32> to tensor<?x4xf32>
  %e = tensor.empty(%ni) : tensor<?xi64>
  %range = linalg.generic {indexing_maps = [#iota], iterator_types = ["parallel"]} outs(%e : tensor<?xi64>) {
  ^bb0(%o: i64):
    %i = linalg.index 0 : index
    %ii = arith.index_cast %i : index to i64
    %a = arith.addi %p64, %ii : i64
    linalg.yield %a : i64
  } -> tensor<?xi64>
  %ids = tensor.expand_shape %range [[0, 1]] output_shape [1, %ni] : tensor<?xi64> into tensor<1x?xi64>
  %cg = kiln.gather %cs, %ids {axis = 0 : i64} : (tensor<?x4xf32>, tensor<1x?xi64>) -> tensor<1x?x4xf32>
  %c4 = kiln.reshape %cg : tensor<1x?x4xf32> -> tensor<1x1x?x4xf32>
  %sg = kiln.gather %ss, %ids {axis = 0 : i64} : (tensor<?x4xf32>, tensor<1x?xi64>) -> tensor<1x?x4xf32>
  %s4 = kiln.reshape %sg : tensor<1x?x4xf32> -> tensor<1x1x?x4xf32>
  %x1 = tensor.extract_slice %x[0, 0, 0, 0] [%b, 2, %s, 2] [1, 1, 1, 1] : tensor<?x2x?x4xf32> to tensor<?x2x?x2xf32>
  %x2 = tensor.extract_slice %x[0, 0, 0, 2] [%b, 2, %s, 2] [1, 1, 1, 1] : tensor<?x2x?x4xf32> to tensor<?x2x?x2xf32>
  %n2 = kiln.neg %x2 : tensor<?x2x?x2xf32>
  // expected-remark @below {{raised rope (half rotation, all 4 features, [8, 2] tables indexed by positions)}}
  %rot = kiln.concat %n2, %x1 {axis = 3 : i64} : (tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32>) -> tensor<?x2x?x4xf32>
  %xc = kiln.mul %x, %c4 : (tensor<?x2x?x4xf32>, tensor<1x1x?x4xf32>) -> tensor<?x2x?x4xf32>
  %rs = kiln.mul %rot, %s4 : (tensor<?x2x?x4xf32>, tensor<1x1x?x4xf32>) -> tensor<?x2x?x4xf32>
  %y = kiln.add %xc, %rs : (tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) -> tensor<?x2x?x4xf32>
  return %y : tensor<?x2x?x4xf32>
}
