//===- Passes.td - Kiln passes ----------------------------*- tablegen -*-===//

#ifndef KILN_PASSES_TD
#define KILN_PASSES_TD

include "mlir/Pass/PassBase.td"

def DecomposeCompositeOps : Pass<"kiln-decompose", "mlir::func::FuncOp"> {
  let summary = "Rewrite composite Kiln ops into primitive Kiln ops";
  let description = [{
    Expands ops whose meaning is a short formula over other Kiln ops:
    `softmax`, `log_softmax`, `layer_norm`, `linear` and `reduce_mean`. The
    rewrites are numerically careful (softmax subtracts the row maximum
    first). Later issues' fused kernels match the composite ops before this
    pass runs; the CPU reference path runs it so that the lowering to
    `linalg` only has to know primitive ops.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def ConvertKilnToLinalg : Pass<"kiln-lower-to-linalg", "mlir::func::FuncOp"> {
  let summary = "Lower primitive Kiln ops to linalg, tensor and arith";
  let description = [{
    The reference lowering of every primitive Kiln op, on tensors:
    elementwise ops become `linalg.generic` with broadcasting indexing maps
    (so `linalg-fuse-elementwise-ops` can fuse chains of them), matmuls
    become a `linalg.generic` ordered (batch, m, k, n) so the innermost loop
    is contiguous and vectorizes, reductions
    `linalg.generic` with reduction iterators, and data movement becomes
    `tensor` ops or index-computing generics. Composite ops must have been
    decomposed first (`kiln-decompose`); any Kiln op left over is an error.
  }];
  let dependentDialects = [
    "mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect",
    "mlir::arith::ArithDialect", "mlir::math::MathDialect"
  ];
}

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
    reaches across them.
  }];
  let dependentDialects = [
    "mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect",
    "mlir::affine::AffineDialect"
  ];
}

def OutlineWeights : Pass<"kiln-outline-weights", "mlir::ModuleOp"> {
  let summary = "Turn large constants into leading arguments of the entry";
  let description = [{
    Replaces every `arith.constant` of the entry function whose tensor holds
    more than `min-elements` elements by a new leading function argument
    with the attribute `kiln.weight` holding the original value. The
    artifact writer stores those values in the artifact's weight section
    and the runtime passes pointers to them, mapped in place, so weights are
    never baked into code and never copied at load time.
  }];
  let options = [
    Option<"minElements", "min-elements", "int64_t", /*default=*/"64",
           "Constants with more elements than this become weights">,
    Option<"entryName", "entry", "std::string", /*default=*/"\"main\"",
           "Name of the entry function">
  ];
}

def FlattenEmptyTensors : Pass<"kiln-flatten-empty-tensors", "mlir::ModuleOp"> {
  let summary = "Give zero-element entry arguments and results the type tensor<0xT>";
  let description = [{
    A tensor with a zero-sized dimension holds no data, but a shape such as
    `2x0x4` has no row-major strides, so the bare-pointer calling
    convention cannot pass it. This pass retypes such arguments and results
    of the entry function as `tensor<0xT>`: arguments are replaced inside the
    function by `tensor.empty` of their original shape, results by an empty
    `tensor<0xT>`. The artifact keeps the original shapes in its signature.
  }];
  let options = [
    Option<"entryName", "entry", "std::string", /*default=*/"\"main\"",
           "Name of the entry function">
  ];
  let dependentDialects = ["mlir::tensor::TensorDialect"];
}

def LowerStridedCopies : Pass<"kiln-lower-strided-copies"> {
  let summary = "Rewrite memref.copy of non-contiguous buffers as linalg.copy";
  let description = [{
    The LLVM lowering turns a `memref.copy` between contiguous buffers into
    `llvm.memcpy`, but one between strided views (a concat along an inner
    axis, an output that is a slice of an input) into a call to the MLIR
    runner library's `memrefCopy`, which a self-contained artifact does not
    have. This pass rewrites those copies as `linalg.copy`, which becomes
    plain loops.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

#endif // KILN_PASSES_TD
