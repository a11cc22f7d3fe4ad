//===- Passes.td - Kiln KilnToLinalg passes ----------------*- tablegen -*-===//
//
// The reference lowering of every Kiln op to linalg, on tensors.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_KILNTOLINALG_PASSES_TD
#define KILN_PASSES_KILNTOLINALG_PASSES_TD

include "mlir/Pass/PassBase.td"

def RecordOpKindsInLocations : Pass<"kiln-record-op-kinds-in-locations", "mlir::func::FuncOp"> {
  let summary = "Tag each Kiln op's location with the op's kind";
  let description = [{
    Wraps the location of every Kiln op (constants excepted) in a `FusedLoc`
    whose metadata is the op's name, so that the loops it is lowered to
    still say what they compute: the CPU target's kernel table lists each
    kernel's op kinds and ONNX nodes from these locations
    (`kiln/dialects/Kiln/Provenance.h`). It changes nothing else. Runs
    first in each target's tensor pipeline.

    Example (`--mlir-print-debuginfo`):

    ```mlir
    %0 = kiln.rms_norm %x, %w {...} loc(#loc1)   // #loc1 = loc("norm_0")
    // becomes
    %0 = kiln.rms_norm %x, %w {...} loc(#loc2)
    // #loc2 = loc(fused<"kiln.rms_norm">["norm_0"])
    ```
  }];
}

def DecomposeCompositeOps : Pass<"kiln-decompose-composite-ops", "mlir::func::FuncOp"> {
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

def ConvertKilnToLinalg : Pass<"kiln-convert-kiln-to-linalg", "mlir::func::FuncOp"> {
  let summary = "Lower primitive Kiln ops to linalg, tensor and arith";
  let description = [{
    The reference lowering of every primitive Kiln op, on tensors:
    elementwise ops become `linalg.generic` with broadcasting indexing maps
    (so `linalg-fuse-elementwise-ops` can fuse chains of them), matmuls
    become a `linalg.generic` ordered (batch, m, k, n) so the innermost loop
    is contiguous and vectorizes, reductions
    `linalg.generic` with reduction iterators, and data movement becomes
    `tensor` ops or index-computing generics. Composite ops must have been
    decomposed first (`kiln-decompose-composite-ops`); any Kiln op left over is an error.
  }];
  let dependentDialects = [
    "mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect",
    "mlir::arith::ArithDialect", "mlir::math::MathDialect",
    "mlir::scf::SCFDialect"
  ];
}

#endif // KILN_PASSES_KILNTOLINALG_PASSES_TD
