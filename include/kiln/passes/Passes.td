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

def QuantizeWeights : Pass<"kiln-quantize-weights"> {
  let summary = "Quantize constant float weights of linear layers (round to nearest)";
  let description = [{
    Rewrites every `kiln.linear`, and every `kiln.matmul` whose right operand
    is a 2-D constant (`x @ W`, as exporters write linear layers), with a
    float constant weight into a `kiln.qlinear` on quantized constants:

    | format | codes | scales |
    |---|---|---|
    | `int8` | i8, symmetric | f32 per output channel, max\|w\| / 127 |
    | `int4-g32`, `int4-g128` | i4, symmetric | f32 per group of 32/128 along K, max\|w\| / 7 |
    | `fp8-block` | f8E4M3FN | f32 per 128x128 block, max\|w\| / 448 |
    | `mxfp4` | f4E2M1FN | f8E8M0FNU per 32 along K, 2^(floor(log2 max\|w\|) - 2) |
    | `nvfp4` | f4E2M1FN | f8E4M3FN per 16 along K, and an f32 global scale max\|W\| / 2688 |

    Values round to nearest (ties to even) and saturate. Constant expert
    weights of `kiln.moe_experts` (`[E, N, K]`) are quantized the same way
    as one `[E * N, K]` matrix, stored quantized and dequantized by a
    `kiln.dequantize` in front of the op (fp8 blocks never span two
    experts). MoE router projections (whose result feeds `kiln.moe_route`),
    embedding tables, norms and other constants stay float. Each new op carries
    `kiln.quant_error`, the relative RMS error `||W - dequant(W)|| / ||W||`
    of its weight, for reports.

    Example:

    ```mlir
    %y = kiln.linear %x, %w : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
    // with format=int4-g32 becomes
    %y = kiln.qlinear %x, %q, %s {block_shape = array<i64: 1, 32>, kiln.quant_error = ...}
        : (tensor<4x64xf32>, tensor<32x64xi4>, tensor<32x2xf32>) -> tensor<4x32xf32>
    ```
  }];
  let options = [
    Option<"format", "format", "std::string", /*default=*/"\"int8\"",
           "int8, int4-g32, int4-g128, fp8-block, mxfp4 or nvfp4">,
    Option<"minElements", "min-elements", "int64_t", /*default=*/"0",
           "Leave weights with fewer elements in float">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def RaiseActivations : Pass<"kiln-raise-activations", "mlir::func::FuncOp"> {
  let summary = "Raise exported SiLU, GELU and SwiGLU to Kiln ops";
  let description = [{
    Recognizes activations that exporters spell out in elementary ops:

    - `x * sigmoid(x)` (torch exports `F.silu` so at opset 17) becomes
      `kiln.silu`; a sigmoid that multiplies another value is left.
    - GELU, `0.5 * x * (1 + erf(x / sqrt(2)))`, becomes `kiln.gelu`, and
      its tanh form, `0.5 * x * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`,
      `kiln.gelu approximation = tanh`. Both are recognized by value: the
      erf/tanh argument and the expression around it are evaluated as
      polynomials through any op order and association (torch's `F.gelu`,
      BERT's and GPT-2's hand-written forms, "fast" GELU), and every
      coefficient must equal the exact one within a tolerance suited to
      the element type (1e-6 relative for f32).
    - `silu(x @ Wg + bg) * (x @ Wu + bu)` (biases optional) becomes
      `kiln.swiglu(x @ [Wg | Wu] + [bg | bu])` when both weights (and
      biases) are constants; the fused weight is one constant, so the two
      projections become one matmul. Otherwise the silu stays.

    Every rewrite is exact up to float rounding. Each erf, each GELU-like
    tanh, each sigmoid feeding a product and each silu of a projection
    feeding a product is reported as raised or left, with the reason.

    Example (torch 1.13's `F.gelu`, after import):

    ```mlir
    %0 = kiln.div %x, %sqrt2 : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
    %1 = kiln.erf %0 : tensor<2x3xf32>
    %2 = kiln.add %1, %one : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
    %3 = kiln.mul %x, %2 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    %4 = kiln.mul %3, %half : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
    ```

    becomes

    ```mlir
    %4 = kiln.gelu %x : tensor<2x3xf32>
    ```
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def RaiseRmsNorm : Pass<"kiln-raise-rms-norm", "mlir::func::FuncOp"> {
  let summary = "Raise exported RMSNorm to kiln.rms_norm";
  let description = [{
    Recognizes RMSNorm as LLaMA/Mistral/Mixtral/T5 code writes it and
    torch exports it: `x * rsqrt(mean(x^2, trailing axes) + eps) * weight`,
    with the square as `Pow(x, 2)` or `x * x`, the inverse root as
    `Div(1, Sqrt)` (torch's `rsqrt`), `Reciprocal(Sqrt)` or `Rsqrt`, or a
    division `x / Sqrt(...)`, and the weight optional (either operand
    order; a weight over more than the normalized axes stays outside).
    The mixed-precision variant that casts x to f32 first and the result
    back before the weight becomes
    `cast(rms_norm(x32, cast(weight)), input type)`.

    The anchor is a `reduce_mean` of a square; a mean over other than the
    trailing axes, or without keepdims, is left with a remark, and so is a
    square whose root is not inverted as above.

    Example (torch export, after import):

    ```mlir
    %0 = kiln.pow %x, %two : (tensor<2x3x8xf32>, tensor<f32>) -> tensor<2x3x8xf32>
    %1 = kiln.reduce_mean %0 {axes = array<i64: 2>, keepdims = true}
        : tensor<2x3x8xf32> -> tensor<2x3x1xf32>
    %2 = kiln.add %1, %eps : (tensor<2x3x1xf32>, tensor<f32>) -> tensor<2x3x1xf32>
    %3 = kiln.sqrt %2 : tensor<2x3x1xf32>
    %4 = kiln.div %one, %3 : (tensor<f32>, tensor<2x3x1xf32>) -> tensor<2x3x1xf32>
    %5 = kiln.mul %x, %4 : (tensor<2x3x8xf32>, tensor<2x3x1xf32>) -> tensor<2x3x8xf32>
    %6 = kiln.mul %w, %5 : (tensor<8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
    ```

    becomes

    ```mlir
    %6 = kiln.rms_norm %x, %w {axis = -1 : i64, epsilon = 9.99999997E-7 : f32}
        : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
    ```
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def RaiseRope : Pass<"kiln-raise-rope", "mlir::func::FuncOp"> {
  let summary = "Raise exported rotary position embeddings to kiln.rope";
  let description = [{
    Recognizes `x * cos + rotate(x) * sin` where `rotate` is
    `rotate_half` (`Concat(Neg(x[..., d/2:]), x[..., :d/2])`, LLaMA and
    GPT-NeoX; `Concat(x[..., d/2:], Neg(x[..., :d/2]))` turns the other way
    and becomes kiln.rope with sin negated) or GPT-J's `rotate_every_two`
    (odd/even Slices with step 2, Neg, Unsqueeze, Concat, Reshape),
    optionally on the first `r` features
    only with the rest concatenated through (`rotary_dim = r`). Inputs are
    `[B, H, S, D]` with cos/sin broadcast over the heads, `[B, S, D]`, or
    GPT-J's `[B, S, H, D]` (transposed around the kiln.rope).

    cos/sin hold each angle twice (at `k` and `k + d/2`, or `2k` and
    `2k + 1`); kiln.rope takes each once. The repetition is proven before
    half is dropped: bit for bit for constant tables, by structure for
    computed ones (`cos(Concat(f, f))`, HF's `inv_freq @ position_ids`
    form, `repeat_interleave` as torch exports it: one Expand per angle).
    Tables gathered by position ids (`cos[position_ids]`, or a window of
    such rows as GPT-J's `split(table[position_ids])`) become `[P, d/2]`
    tables with kiln.rope's `positions` (negative ids wrapped as Gather
    wraps them); other tables become `[S, d/2]` or `[B, S, d/2]` caches.

    A rotate_half whose slices are not the two halves, cos/sin that vary
    over heads or whose copies differ, and combinations other than
    `x * cos + rotate(x) * sin` are left with a remark.

    Example (HF LLaMA, position ids gathering a [P, 8] cos/sin cache):

    ```mlir
    %c = kiln.gather %cos, %pos {axis = 0 : i64} : ... -> tensor<2x5x8xf32>
    %c4 = kiln.reshape %c : tensor<2x5x8xf32> -> tensor<2x1x5x8xf32>
    %0 = kiln.mul %q, %c4 : ...
    %1 = kiln.slice %q {starts = array<i64: 0, 0, 0, 0>, ...} : ... -> tensor<2x3x5x4xf32>
    %2 = kiln.slice %q {starts = array<i64: 0, 0, 0, 4>, ...} : ... -> tensor<2x3x5x4xf32>
    %3 = kiln.neg %2 : tensor<2x3x5x4xf32>
    %4 = kiln.concat %3, %1 {axis = 3 : i64} : ... -> tensor<2x3x5x8xf32>
    %5 = kiln.mul %4, %s4 : ...
    %6 = kiln.add %0, %5 : ...
    ```

    becomes

    ```mlir
    %6 = kiln.rope %q, %cos_half, %sin_half positions %pos
        {interleaved = false, rotary_dim = 0 : i64}
        : (tensor<2x3x5x8xf32>, tensor<5x4xf32>, tensor<5x4xf32>, tensor<2x5xi64>)
        -> tensor<2x3x5x8xf32>
    ```
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def RaiseAttention : Pass<"kiln-raise-attention", "mlir::func::FuncOp"> {
  let summary = "Raise exported scaled-dot-product attention to kiln.attention";
  let description = [{
    Recognizes attention as `torch.onnx.export` writes hand-written modules
    (PyTorch 1.13 has no `scaled_dot_product_attention`): `q @ kT`, scalar
    scales (a `mul` or `div` of the scores, or of `q` or `kT`), an optional
    softcap `cap * tanh(s / cap)`, masks (`add`, or `select` with `-inf` or
    a fill of -1e9 or less: `masked_fill`, ONNX `Where`), HF Llama's clamp
    `max(s, finfo.min)`, a softmax over the keys and `@ v`. The softmax is the anchor; scores of rank 2 to 4
    are supported (3-D ones, as `nn.MultiheadAttention` writes them, get
    unit leading dimensions).

    Constant mask terms (Trilu of ones, Range/Unsqueeze/compare position
    masks, sliced tril buffers, or matrices the importer already folded)
    are evaluated at compile time, a block of query rows at a time (ops a
    block cannot follow, such as a concat, are evaluated whole, up to
    `max-mask-elements`): when the allowed pairs are exactly causal or a
    sliding window (or every pair), the mask kind replaces them;
    otherwise, and for masks computed from inputs (padding), they become
    the explicit `mask` operand (`i1` when every term removes pairs, a
    float mask otherwise).
    K and V repeated to the query heads (HF's `repeat_kv`,
    `repeat_interleave`) are un-repeated into GQA. A mask computed from the
    scores, a softmax over another axis, or a scale after the softmax are
    left, with a remark.

    Example (a causal mask built with Trilu, after import):

    ```mlir
    %kt = kiln.transpose %k4 {permutation = array<i64: 0, 2, 3, 1>} : ...
    %s = kiln.matmul %q, %kt : ... -> tensor<2x2x8x8xf32>
    %d = kiln.div %s, %sqrt_d : (tensor<2x2x8x8xf32>, tensor<f32>) -> ...
    %m = kiln.trilu %true {diagonal = 1 : i64, upper = true} : tensor<8x8xi1>
    %w = kiln.select %m, %neg_inf, %d : ...
    %p = kiln.softmax %w {axis = 3 : i64} : tensor<2x2x8x8xf32>
    %o = kiln.matmul %p, %v : ...
    ```

    becomes

    ```mlir
    %k = kiln.transpose %k4 {permutation = array<i64: 0, 2, 1, 3>} : ...
    %o, %pk, %pv = kiln.attention %q, %k, %v
        {mask_kind = #kiln.mask_kind<causal>, scale = 0.353553385 : f32} : ...
    ```
  }];
  let options = [
    Option<"maxMaskElements", "max-mask-elements", "int64_t",
           /*default=*/"1 << 22",
           "Largest intermediate mask tensor evaluated whole (concat, "
           "general reshapes) to find a mask kind">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def RaiseMoE : Pass<"kiln-raise-moe", "mlir::func::FuncOp"> {
  let summary = "Raise exported mixture-of-experts blocks to moe_route + moe_experts";
  let description = [{
    Recognizes MoE blocks as `torch.onnx.export` writes them and rewrites
    each into `kiln.moe_route` + `kiln.moe_experts`, which computes only the
    routed (token, expert) pairs. The anchor is the `kiln.top_k` that picks
    each token's experts; from it the pass matches exactly:

    - the router: `softmax(logits)` or `sigmoid(logits)`, optionally plus a
      constant selection bias and masked to the best groups (DeepSeek-V3:
      a group scores the sum of its two best selection scores; the other
      experts are filled with a value no eligible expert falls below), or
      Mixtral's reference form (top-k of the logits, softmax of the k
      values);
    - the routing weights: the top-k values or the unbiased scores gathered
      at the chosen experts, optionally divided by their sum (an epsilon up
      to 1e-12 is dropped; `normalize`), optionally times a constant
      (`routed_scale`);
    - the dispatch: the weights scattered into a dense `[tokens, experts]`
      matrix (`ScatterElements` into zeros, or `sum(one_hot(idx) * w)`);
    - the experts: each column of that matrix scales one expert's FFN of
      the same tokens, and the products are summed; every FFN is
      `w2(silu(w1 x) * w3 x)` (SiLU as `sigmoid(g) * g`, `kiln.silu`, or
      `kiln.swiglu` of a fused projection) or `w2(act(w1 x))` with SiLU,
      GELU or ReLU, with constant weights (and biases) of one shape, which
      are stacked into `[E, F, H]` / `[E, H, F]` constants.

    Shared experts stay ordinary ops added to the result. Anything that
    does not match exactly is left as it was and reported with the reason
    (`kiln-compile --report-raising`). HF Mixtral's sparse-dispatch loop
    (`NonZero` per expert) reaches this pass in dense form: the ONNX
    importer rewrites it (lib/ONNX/SparseMoEDispatch.cpp).

    Example (Mixtral, top-2 of 4, after import):

    ```mlir
    %p = kiln.softmax %logits {axis = 1 : i64} : tensor<6x4xf32>
    %w, %i = kiln.top_k %p {axis = 1 : i64, k = 2 : i64} : ...
    %s = kiln.reduce_sum %w {axes = array<i64: 1>, keepdims = true} : ...
    %n = kiln.div %w, %s : ...
    %d = kiln.scatter_elements %zeros, %i, %n {axis = 1 : i64} : ...
    // for each expert e: ffn_e(%x) * kiln.slice %d [:, e:e+1], summed
    ```

    becomes

    ```mlir
    %w, %e, %c = kiln.moe_route %logits {k = 2 : i64, normalize = true}
        : (tensor<6x4xf32>) -> (tensor<6x2xf32>, tensor<6x2xi64>, tensor<4xi64>)
    %y = kiln.moe_experts %x, %e, %w, %gate, %down up %up
        {activation = #kiln.expert_activation<swiglu>} : ...
    ```
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

#endif // KILN_PASSES_TD
