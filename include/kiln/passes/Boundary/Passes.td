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

def CopyRepeatedResults : Pass<"kiln-copy-repeated-results", "mlir::ModuleOp"> {
  let summary = "Give every result of the entry a tensor of its own";
  let description = [{
    An ONNX graph may name one value as two outputs (an output and an
    Identity of it), and `kiln-compile --dump` may keep a value that is also
    an output. After bufferization, buffer-results-to-out-params writes each
    result into its own out-parameter and needs each returned buffer to be
    a different one. This pass copies the second and later occurrences of a
    repeated result of the entry into a new tensor:

    ```mlir
    return %sum, %sum : tensor<2x3xf32>, tensor<2x3xf32>
    ```

    becomes

    ```mlir
    %empty = tensor.empty() : tensor<2x3xf32>
    %copy = linalg.copy ins(%sum : tensor<2x3xf32>)
                        outs(%empty : tensor<2x3xf32>) -> tensor<2x3xf32>
    return %sum, %copy : tensor<2x3xf32>, tensor<2x3xf32>
    ```
  }];
  let options = [
    Option<"entryName", "entry", "std::string", /*default=*/"\"main\"",
           "Name of the entry function">
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def NameOutputDims : Pass<"kiln-name-output-dims", "mlir::ModuleOp"> {
  let summary = "Name each dynamic output dimension after the input symbol it equals";
  let description = [{
    An entry function with symbolic input dimensions records them as the
    importer wrote them: `kiln.dim_ranges` on the function, and
    `kiln.dim_symbols` on each argument with a dynamic dimension. The
    runtime sizes each output from the symbols' values, so this pass
    evaluates each dynamic output dimension (SymbolicDims: through
    `tensor.dim`, the ops' reified result shapes, loops that update a
    tensor in place and index arithmetic) and records the symbol it equals
    on the result as `kiln.dim_symbols`. A dimension that is no symbol (a
    NonZero's count, a Reshape to a shape the input data gives, a product
    of two symbols) is named `<output>_dim<d>` and listed in the function's
    `kiln.computed_dims`: the entry reports its value after the run. The
    pass also replaces every `tensor.dim` of a symbolic argument dimension
    by the one value of its symbol, so that equal sizes are one SSA value
    for the passes after it. Run it on linalg-on-tensors IR, before the
    signature is read.

    Example:

    ```mlir
    func.func @main(%x: tensor<?x16xf32> {kiln.dim_symbols = ["batch", ""]})
        -> tensor<?x8xf32> attributes {kiln.dim_ranges = {batch = array<i64: 1, 64>}}
    // the result gains {kiln.dim_symbols = ["batch", ""]}
    ```
  }];
  let options = [
    Option<"entryName", "entry", "std::string", /*default=*/"\"main\"",
           "Name of the entry function">
  ];
  let dependentDialects = ["mlir::tensor::TensorDialect"];
}

def WriteStateResultsInPlace : Pass<"kiln-write-state-results-in-place", "mlir::ModuleOp"> {
  let summary = "Write each state result into the input it updates and drop it from the results";
  let description = [{
    A generation step (kiln-convert-decoder-to-generation-step) returns
    each updated KV cache as a result tagged `kiln.state_of = "<input>"`,
    whose input is tagged `kiln.state`: the artifact's contract is that the
    step updates that input's buffer in place, and the result is not an
    output. Run after one-shot-bufferize (function boundaries bufferized,
    the state inputs writable) and before buffer-results-to-out-params: a
    state result that bufferization already computed in the input's buffer
    is dropped; any other is copied into it (`memref.copy`) first. Only the
    positions a step writes then touch memory when the update bufferized in
    place.

    Example:

    ```mlir
    func.func @main(..., %cache: memref<?x2x64x16xf32> {kiln.name = "cache.key.0", kiln.state})
        -> (memref<?x?x128xf32>, memref<?x2x64x16xf32> {kiln.state_of = "cache.key.0"}) {
      ...
      return %logits, %cache : ...
    }
    // becomes
    func.func @main(..., %cache: memref<?x2x64x16xf32> {...}) -> memref<?x?x128xf32> {
      ...
      return %logits : memref<?x?x128xf32>
    }
    ```
  }];
  let options = [
    Option<"entryName", "entry", "std::string", /*default=*/"\"main\"",
           "Name of the entry function">
  ];
  let dependentDialects = ["mlir::memref::MemRefDialect"];
}

def ConvertDynamicArgumentsToSymbolValues : Pass<"kiln-convert-dynamic-arguments-to-symbol-values", "mlir::ModuleOp"> {
  let summary = "Read dynamic argument sizes from a trailing symbol-values argument";
  let description = [{
    The artifact's entry receives one pointer per buffer (the bare-pointer
    calling convention), which carries no sizes, and then, for a model with
    symbolic or computed dimensions, a pointer to an `int64_t` array: this
    run's value of each input symbol (`kiln.dim_ranges` order), a slot per
    computed dimension (`kiln.computed_dims` order), the capacity in
    elements of each output with a computed dimension, and a status word
    (kiln/artifact_format.h). Run after bufferization and workspace
    planning: this pass appends that argument (`memref<Nxi64>`, attribute
    `kiln.symbol_values`) and retypes every memref argument with dynamic
    dimensions as a rank-0 memref, the address of its first element,
    rebuilt in the body by a `memref.reinterpret_cast` with the symbols'
    sizes and row-major strides. An output with a computed dimension is
    rebuilt where its one writer (the copy of the result) runs: the dims
    are stored in their slots, and the data is written only when it fits
    the capacity; otherwise the status becomes 1 and the runtime runs again
    with room for the reported size.

    Example:

    ```mlir
    func.func @main(%x: memref<?x16xf32> {kiln.dim_symbols = ["batch", ""]}, ...)
    // becomes
    func.func @main(%x: memref<f32> {...}, ..., %s: memref<1xi64> {kiln.symbol_values})
    //   %b = index cast of memref.load %s[0]
    //   %x2 = memref.reinterpret_cast %x to offset: [0], sizes: [%b, 16], strides: [16, 1]
    ```
  }];
  let options = [
    Option<"entryName", "entry", "std::string", /*default=*/"\"main\"",
           "Name of the entry function">
  ];
  let dependentDialects = ["mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect"];
}

#endif // KILN_PASSES_BOUNDARY_PASSES_TD
