//===- Passes.td - Kiln Fusion passes ----------------------*- tablegen -*-===//
//
// Linalg ops grouped into fewer loop nests (kernels).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_FUSION_PASSES_TD
#define KILN_PASSES_FUSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def FuseElementwise : Pass<"kiln-fuse-elementwise", "mlir::func::FuncOp"> {
  let summary = "Fuse elementwise linalg producers that are computed only once";
  let description = [{
    Upstream `linalg-fuse-elementwise-ops`, with one rule added: a producer
    is fused into its consumer only when the consumer reads it through a
    permutation of all its loops. A producer read through a projection (a
    matmul reading its lhs inside the (m, k, n) nest, a per-row value read
    by every column) would otherwise be recomputed once per iteration of
    the loops it does not index, e.g. an erf per output column.
    Reshapes are propagated by expansion under the same rule, so fusion
    reaches across them, except a collapse that merges several dimensions
    of sizes only the run knows: its expansion would split the consumer's
    other operands into several dynamic sizes, a `memref.expand_shape`
    that MLIR 22's `expand-strided-metadata` crashes on.

    The exception is a producer that widens narrow stored values (its
    largest input has 8-bit or smaller elements, its result wider ones):
    dequantization. It is fused through a projection when the loops it is
    projected out of have one iteration (a matmul with one row, as in
    decoding), so that matmul reads int8/int4/fp8/fp4 weights and
    dequantizes them as it goes instead of reading a float copy; a
    `linalg.transpose` of such a producer is generalized so fusion can
    reach through it. With more rows the float copy is made once.
  }];
  let dependentDialects = [
    "mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect",
    "mlir::affine::AffineDialect"
  ];
}

#endif // KILN_PASSES_FUSION_PASSES_TD
