//===- Passes.td - Kiln Raising passes ---------------------*- tablegen -*-===//
//
// Decomposed subgraphs as exporters write them -> Kiln's semantic ops.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_RAISING_PASSES_TD
#define KILN_PASSES_RAISING_PASSES_TD

include "mlir/Pass/PassBase.td"

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
    float mask otherwise). With a sequence length known only at run time
    the masks cannot be evaluated; terms built from positions alone
    (Range, Trilu of a fill, compares, Where, Expand, reshapes) are read
    symbolically as functions of key - query position instead, which
    gives the same mask kinds for every length.
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

#endif // KILN_PASSES_RAISING_PASSES_TD
