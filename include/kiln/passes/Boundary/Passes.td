//===- Passes.td - Kiln Boundary passes --------------------*- tablegen -*-===//
//
// The entry function shaped into the artifact's calling convention.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_BOUNDARY_PASSES_TD
#define KILN_PASSES_BOUNDARY_PASSES_TD

include "mlir/Pass/PassBase.td"

def OutlineWeights : Pass<"kiln-outline-weights", "mlir::ModuleOp"> {
  let summary = "Turn large constants into leading arguments of the entry";
  let description = [{
    Replaces every `arith.constant` of the entry function whose tensor holds
    more than `min-elements` elements by a new leading function argument
    with the attribute `kiln.weight` holding the original value. The
    artifact writer stores those values in the artifact's weight section
    and the runtime passes pointers to them, mapped in place, so weights are
    never baked into code and never copied at load time. Mapped weights are
    read-only, so the arguments are also marked `bufferization.writable =
    false`: an op that updates a tensor in place (a scatter into a zeros
    constant) then writes into a copy.
  }];
  let options = [
    Option<"minElements", "min-elements", "int64_t", /*default=*/"64",
           "Constants with more elements than this become weights">,
    Option<"entryName", "entry", "std::string", /*default=*/"\"main\"",
           "Name of the entry function">
  ];
}

def ConvertSubByteBoundaryToBytes : Pass<"kiln-convert-subbyte-boundary-to-bytes", "mlir::ModuleOp"> {
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

#endif // KILN_PASSES_BOUNDARY_PASSES_TD
