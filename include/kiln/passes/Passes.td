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

    The exception is a producer that widens narrow stored values (its
    largest input has 8-bit or smaller elements, its result wider ones):
    dequantization. It is fused even through a projection, so a matmul
    reads int8/int4/fp8/fp4 weights and dequantizes them as it goes
    instead of reading a float copy; a `linalg.transpose` of such a
    producer is generalized so fusion can reach through it.
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

def LowerSubByteStorage : Pass<"kiln-lower-subbyte-storage", "mlir::ModuleOp"> {
  let summary = "Give sub-byte entry arguments and results their byte layouts";
  let description = [{
    Inside a function an `i4`, `i2` or `f4E2M1FN` element occupies one byte,
    but the artifact fixes the boundary layouts: weights (arguments carrying
    `kiln.weight`) are packed, `8 / bits` elements per byte with element 0
    in the low bits (ONNX's layout); inputs and outputs hold one element per
    byte (signed integers sign-extended; unsigned ones, named by the
    result's `kiln.dtype`, and fp4 codes zero-extended). This pass retypes
    those arguments and results as `i8` tensors and converts them with
    elementwise `linalg.generic` ops, which fusion then moves into their
    consumers. Run it after the artifact signature has been read.

    Example: a packed weight argument

    ```mlir
    func.func @main(%w: tensor<4x6xi4> {kiln.weight = ...})
    // becomes
    func.func @main(%w: tensor<12xi8> {kiln.weight = ...})
    //   %0 = linalg.generic ins(%w) ... (d0, d1) -> ((d0 * 6 + d1) floordiv 2)
    ```
  }];
  let options = [
    Option<"entryName", "entry", "std::string", /*default=*/"\"main\"",
           "Name of the entry function">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect"];
}

def ExpandSmallFloats : Pass<"kiln-expand-small-floats"> {
  let summary = "Implement fp8/fp4 conversions and arithmetic with integers and f32";
  let description = [{
    LLVM has no fp8 or fp4 types; the LLVM lowering stores them as integers
    of their width. This pass rewrites every scalar `arith` op that reads or
    produces `f8E4M3FN`, `f8E4M3FNUZ`, `f8E5M2`, `f8E5M2FNUZ`, `f8E8M0FNU`
    or `f4E2M1FN`: `extf` decodes the bit pattern exactly into f32, `truncf`
    encodes an f32 with round-to-nearest-even and saturation (values beyond
    the largest finite one, and infinities, become it; NaN stays NaN, and
    becomes +6 in fp4, which has no NaN), constants become integer bit
    patterns, and any other op runs on f32 values. Rounding to `f8E8M0FNU`
    is rejected. Run it on scalar code (after bufferization).

    Example:

    ```mlir
    %y = arith.extf %x : f8E4M3FN to f32
    // becomes integer operations on
    %b = arith.bitcast %x : f8E4M3FN to i8
    ```
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::math::MathDialect"];
}

#endif // KILN_PASSES_TD
