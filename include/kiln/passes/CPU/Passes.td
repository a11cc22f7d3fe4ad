//===- Passes.td - Kiln CPU passes -------------------------*- tablegen -*-===//
//
// Fix-ups the CPU code generation needs on its way to LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_CPU_PASSES_TD
#define KILN_PASSES_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertStridedCopiesToLinalg : Pass<"kiln-convert-strided-copies-to-linalg"> {
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

def ExpandSmallFloats : Pass<"kiln-expand-small-floats"> {
  let summary = "Implement fp8/fp4 conversions and arithmetic with integers and f32";
  let description = [{
    LLVM has no fp8 or fp4 types; the LLVM lowering stores them as integers
    of their width. This pass rewrites every scalar `arith` op that reads or
    produces `f8E4M3FN`, `f8E4M3FNUZ`, `f8E5M2`, `f8E5M2FNUZ`, `f8E8M0FNU`
    or `f4E2M1FN`: `extf` decodes the bit pattern exactly into f32, `truncf`
    encodes an f32 with round-to-nearest-even and saturation (values beyond
    the largest finite one, and infinities, become it; NaN stays NaN, and
    becomes code 0x8 in fp4, which has no NaN, as in ONNX), constants become integer bit
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

#endif // KILN_PASSES_CPU_PASSES_TD
