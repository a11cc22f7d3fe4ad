//===- KilnTransformerOps.td - Attention, norms, rotary ---*- tablegen -*-===//
//
// The ops transformer blocks are made of. Included from KilnOps.td so the
// dialect keeps one TableGen target.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TRANSFORMER_OPS_TD
#define KILN_TRANSFORMER_OPS_TD

def Kiln_MaskKind : I32EnumAttr<"MaskKind",
    "which (query, key) positions attention may connect", [
      I32EnumAttrCase<"None", 0, "none">,
      I32EnumAttrCase<"Causal", 1, "causal">,
      I32EnumAttrCase<"SlidingWindow", 2, "sliding_window">,
      I32EnumAttrCase<"Hierarchical", 3, "hierarchical">,
      I32EnumAttrCase<"BlockSparse", 4, "block_sparse">
    ]> {
  let cppNamespace = "::kiln";
  let genSpecializedAttr = 0;
}
def Kiln_MaskKindAttr : EnumAttr<Kiln_Dialect, Kiln_MaskKind, "mask_kind"> {
  // Spelled #kiln.mask_kind<causal> in attribute dictionaries.
  let assemblyFormat = "`<` $value `>`";
}

def Kiln_ScoreStage : I32EnumAttr<"ScoreStage",
    "the point of kiln.attention at which its scores result is taken", [
      I32EnumAttrCase<"Scaled", 0, "scaled">,
      I32EnumAttrCase<"Softcapped", 1, "softcapped">,
      I32EnumAttrCase<"Masked", 2, "masked">,
      I32EnumAttrCase<"Probs", 3, "probs">
    ]> {
  let cppNamespace = "::kiln";
  let genSpecializedAttr = 0;
}
def Kiln_ScoreStageAttr
    : EnumAttr<Kiln_Dialect, Kiln_ScoreStage, "score_stage"> {
  // Spelled #kiln.score_stage<masked> in attribute dictionaries.
  let assemblyFormat = "`<` $value `>`";
}

// The attributes that describe a positional mask, shared by kiln.attention
// and kiln.attention_mask.
defvar Kiln_MaskAttributes = (ins
    DefaultValuedAttr<Kiln_MaskKindAttr, "::kiln::MaskKind::None">:$mask_kind,
    DefaultValuedAttr<I64Attr, "-1">:$window_left,
    DefaultValuedAttr<I64Attr, "-1">:$window_right,
    DefaultValuedAttr<I64Attr, "0">:$num_global_tokens,
    DefaultValuedAttr<I64Attr, "0">:$block_size,
    OptionalAttr<DenseBoolArrayAttr>:$block_layout);

def Kiln_AttentionOp : Kiln_Op<"attention",
    [Pure, Kiln_ReifiesShapes, AttrSizedOperandSegments]> {
  let summary = "scaled dot-product attention with a positional mask kind";
  let description = [{
    Multi-head attention over `query` `[B, Hq, S, D]`, `key` `[B, Hkv, T, D]`
    and `value` `[B, Hkv, T, Dv]`, with `Hq` a multiple of `Hkv` (MHA when
    equal, GQA otherwise, MQA when `Hkv` is 1; query head `h` uses key/value
    head `h / (Hq / Hkv)`).

    With a KV cache, `past_key` `[B, Hkv, P, D]` and `past_value` are
    prepended along the sequence: the keys are `concat(past_key, key)` of
    length `L = P + T`, and `present_key`/`present_value` return them (they
    equal `key`/`value` without a cache). Query `i` sits at absolute
    position `p = P + i`; key `j` at position `j`.

    `scores = (query @ key^T) * scale`; with `softcap > 0`,
    `scores = softcap * tanh(scores / softcap)`. Then the positional mask
    removes the pairs its kind rules out (see `kiln.attention_mask`), and
    the optional `mask` operand, broadcast to `[B, Hq, S, L]`, removes the
    pairs where it is false (`i1`) or is added to the scores (float). The
    softmax runs over the keys; a query with no key left yields zeros.

    With `kv_seqlen` (`[B]` integers), batch `b` has `kv_seqlen[b]` valid
    keys: the pairs with key `j >= kv_seqlen[b]` are removed as well (a
    padded batch of caches of different lengths). Like the mask kind, it
    lets a kernel skip whole tiles.

    With `query_start` (`[B]` integers), the queries of batch `b` sit at
    positions `query_start[b] + i` instead of `P + i`: the step of a
    generation program, whose `key` and `value` are a fixed-size cache
    that already holds this step's keys, each sequence at its own length
    (then `kv_seqlen[b]` is usually `query_start[b] + S`). It excludes
    `past_key`.

    Because the kind is an attribute, a kernel can skip whole tiles that
    it rules out, which a mask tensor cannot tell it.

    The optional fourth result `scores` `[B, Hq, S, L]` returns the
    attention scores at the stage `score_stage` names: `scaled`
    (`(query @ key^T) * scale`), `softcapped` (after the softcap; equal to
    `scaled` without one), `masked` (after the mask kind, `mask` and
    `kv_seqlen`, removed pairs holding `-inf`) or `probs` (the softmax,
    zero rows for queries with no key left). It exists for models that
    export their attention weights and forces the scores to be
    materialized.

    Example (GQA, sliding window of 128 keys to the left, decode step):

    ```mlir
    %out, %pk, %pv = kiln.attention %q, %k, %v past %past_k, %past_v
        {scale = 0.125 : f32, mask_kind = #kiln.mask_kind<sliding_window>,
         window_left = 128 : i64, window_right = 0 : i64}
        : (tensor<1x8x1x64xf32>, tensor<1x2x1x64xf32>, tensor<1x2x1x64xf32>,
           tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>)
        -> (tensor<1x8x1x64xf32>, tensor<1x2x201x64xf32>, tensor<1x2x201x64xf32>)
    ```

    Example (a generation step over a 512-position cache, each sequence at
    its own position):

    ```mlir
    %out, %pk, %pv = kiln.attention %q, %kc, %vc kv_seqlen %lens query_start %start
        {scale = 0.125 : f32, mask_kind = #kiln.mask_kind<causal>}
        : (tensor<2x8x1x64xf32>, tensor<2x8x512x64xf32>, tensor<2x8x512x64xf32>,
           tensor<2xi64>, tensor<2xi64>)
        -> (tensor<2x8x1x64xf32>, tensor<2x8x512x64xf32>, tensor<2x8x512x64xf32>)
    ```

    Example (a padded batch of two caches; the masked scores are returned):

    ```mlir
    %out, %pk, %pv, %scores = kiln.attention %q, %k, %v kv_seqlen %lens
        {scale = 0.125 : f32, score_stage = #kiln.score_stage<masked>}
        : (tensor<2x8x1x64xf32>, tensor<2x8x512x64xf32>, tensor<2x8x512x64xf32>,
           tensor<2xi64>)
        -> (tensor<2x8x1x64xf32>, tensor<2x8x512x64xf32>, tensor<2x8x512x64xf32>,
            tensor<2x8x1x512xf32>)
    ```
  }];
  let arguments = !con((ins Kiln_FloatTensor:$query, Kiln_FloatTensor:$key,
                            Kiln_FloatTensor:$value,
                            Optional<Kiln_Tensor>:$mask,
                            Optional<Kiln_FloatTensor>:$past_key,
                            Optional<Kiln_FloatTensor>:$past_value,
                            Optional<RankedTensorOf<[I64]>>:$global_indices,
                            Optional<Kiln_IndexTensor>:$kv_seqlen,
                            Optional<Kiln_IndexTensor>:$query_start,
                            F32Attr:$scale,
                            DefaultValuedAttr<F32Attr, "0.0f">:$softcap,
                            OptionalAttr<Kiln_ScoreStageAttr>:$score_stage),
                       Kiln_MaskAttributes);
  let results = (outs Kiln_FloatTensor:$output, Kiln_FloatTensor:$present_key,
                      Kiln_FloatTensor:$present_value,
                      Optional<Kiln_FloatTensor>:$scores);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`mask` $mask^)?
    (`past` $past_key^ `,` $past_value)? (`global` $global_indices^)?
    (`kv_seqlen` $kv_seqlen^)? (`query_start` $query_start^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Kiln_AttentionMaskOp : Kiln_Op<"attention_mask",
    [Pure, Kiln_ReifiesShapes, AllTypesMatch<["input", "result"]>, AttrSizedOperandSegments]> {
  let summary = "remove the (query, key) pairs a mask kind rules out";
  let description = [{
    Over the last two dimensions `[S, L]` of `input` (queries by keys),
    keeps `input[..., i, j]` where the pair is allowed and writes `-inf`
    elsewhere. The query at row `i` has position `p = query_offset + i`, or
    `p = query_start[b] + i` in batch `b` with `query_start` (`[B]`
    integers, like `kv_seqlen`):

    - `none`: every pair;
    - `causal`: `j <= p`;
    - `sliding_window`: `p - window_left <= j <= p + window_right`, a
      negative bound meaning unbounded on that side;
    - `hierarchical`: the sliding window, plus every pair where `j` or `p`
      is a global token, as long as `j <= p + window_right` when
      `window_right >= 0`. A position is global when it is below
      `num_global_tokens` or `global_flags[position]` is true;
    - `block_sparse`: `block_layout[p / block_size][j / block_size]`, the
      layout being a row-major `N x N` grid with `N = ceil(L / block_size)`.

    With `kv_seqlen` (`[B]` integers, `B` the first dimension of `input`,
    which then has rank 3 or more), the pairs of batch `b` with key
    `j >= kv_seqlen[b]` are removed too, whatever the kind.

    The mask is computed from indices where it is applied; no `[S, L]`
    tensor is built.

    Example:

    ```mlir
    %0 = kiln.attention_mask %scores {mask_kind = #kiln.mask_kind<causal>,
                                      query_offset = 0 : i64}
        : tensor<1x8x16x16xf32>
    %1 = kiln.attention_mask %scores kv_seqlen %lens : tensor<1xi64>
        : tensor<1x8x16x16xf32>
    ```
  }];
  let arguments = !con((ins Kiln_FloatTensor:$input,
                            Optional<RankedTensorOf<[I1]>>:$global_flags,
                            Optional<Kiln_IndexTensor>:$kv_seqlen,
                            Optional<Kiln_IndexTensor>:$query_start,
                            DefaultValuedAttr<I64Attr, "0">:$query_offset),
                       Kiln_MaskAttributes);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`global` $global_flags^ `:` type($global_flags))?
    (`kv_seqlen` $kv_seqlen^ `:` type($kv_seqlen))?
    (`query_start` $query_start^ `:` type($query_start))? attr-dict
    `:` type($result)
  }];
  let hasVerifier = 1;
}

def Kiln_RmsNormOp : Kiln_Op<"rms_norm", [Pure, Kiln_ReifiesShapes]> {
  let summary = "root-mean-square normalization over the trailing dimensions";
  let description = [{
    Normalizes over dimensions `[axis, rank)`:
    `x / sqrt(mean(x^2) + epsilon) * scale`, with `scale` broadcast against
    those dimensions. There is no mean subtraction and no bias.

    Example:

    ```mlir
    %0 = kiln.rms_norm %x, %gamma {axis = -1 : i64, epsilon = 1.0e-06 : f32}
        : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$scale,
                       I64Attr:$axis, F32Attr:$epsilon);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat =
      "$input `,` $scale attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getNormalizedAxis() {
      int64_t axis = getAxis();
      return axis < 0 ? axis + getType().getRank() : axis;
    }
  }];
}

def Kiln_RopeOp : Kiln_Op<"rope", [Pure, Kiln_ReifiesShapes, AllTypesMatch<["input", "result"]>]> {
  let summary = "rotary position embedding";
  let description = [{
    Rotates pairs of features of `input` `[B, H, S, D]` by position-dependent
    angles, over the first `rotary_dim` features (all `D` when 0); the rest
    pass through. Pair `k` (for `k < rotary_dim / 2`) is features
    `(k, k + rotary_dim / 2)` in half-rotation form, or `(2k, 2k + 1)` with
    `interleaved`. With `c = cos[.., k]` and `s = sin[.., k]` the pair
    `(x1, x2)` becomes `(c*x1 - s*x2, s*x1 + c*x2)`.

    The caches are looked up by position: with `positions` (`[B, S]`
    integers) the caches are tables `[P, rotary_dim / 2]` indexed by
    `positions[b, s]`; without, they are `[S, rotary_dim / 2]` or
    `[B, S, rotary_dim / 2]` indexed by the sequence position.

    Example:

    ```mlir
    %0 = kiln.rope %x, %cos, %sin positions %pos {interleaved = false, rotary_dim = 0 : i64}
        : (tensor<1x8x16x64xf32>, tensor<2048x32xf32>, tensor<2048x32xf32>, tensor<1x16xi64>)
        -> tensor<1x8x16x64xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$cos,
                       Kiln_FloatTensor:$sin,
                       Optional<Kiln_IndexTensor>:$positions,
                       DefaultValuedAttr<BoolAttr, "false">:$interleaved,
                       DefaultValuedAttr<I64Attr, "0">:$rotary_dim);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $cos `,` $sin (`positions` $positions^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The number of rotated features (rotary_dim, or D when 0).
    int64_t getRotatedFeatures() {
      int64_t r = getRotaryDim();
      return r == 0 ? getType().getDimSize(3) : r;
    }
  }];
}

def Kiln_KVCacheUpdateOp : Kiln_Op<"kv_cache_update",
    [Pure, Kiln_ReifiesShapes, AllTypesMatch<["cache", "result"]>]> {
  let summary = "write new keys or values into a fixed-size KV cache";
  let description = [{
    `cache` holds `M` positions along `axis` (dimension 0 is the batch);
    `update` has the same shape except `T` positions along `axis` (`T <= M`
    unless `circular`). For batch `b`, update position `s` lands at cache
    position `positions[b] + s`, or `(positions[b] + s) mod M` with
    `circular` (a ring: an update longer than `M` leaves its last `M`
    positions, and negative positions are not written). Positions outside
    the cache (linear mode) are not written. Everything else keeps the
    cache's value.

    Example (one decode step into a 4096-entry cache):

    ```mlir
    %0 = kiln.kv_cache_update %cache, %k, %pos {axis = 2 : i64, circular = false}
        : (tensor<1x8x4096x64xf32>, tensor<1x8x1x64xf32>, tensor<1xi64>)
        -> tensor<1x8x4096x64xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$cache, Kiln_Tensor:$update,
                       RankedTensorOf<[I64]>:$positions, I64Attr:$axis,
                       DefaultValuedAttr<BoolAttr, "false">:$circular);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$cache `,` $update `,` $positions attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_PagedKVCacheUpdateOp : Kiln_Op<"paged_kv_cache_update",
    [Pure, Kiln_ReifiesShapes, AllTypesMatch<["pool", "result"]>]> {
  let summary = "write new keys or values into a paged KV cache's block pool";
  let description = [{
    A paged KV cache keeps the positions of every sequence in one pool of
    fixed-size blocks, `pool` `[N, H, P, D]` (`N` blocks of `P` positions);
    `block_table` `[B, C]` (int64) lists, for each sequence `b`, the pool
    block of its positions `[c * P, (c + 1) * P)` in entry `c`, so a
    sequence holds at most `C * P` positions and owns only the blocks it
    has been given. `update` `[B, H, T, D]` is the step's keys (or values):
    position `s` of sequence `b` has the absolute position
    `p = positions[b] + s` and lands at
    `pool[block_table[b, p / P], :, p mod P, :]`. Positions outside
    `[0, C * P)` and table entries outside `[0, N)` are not written;
    everything else keeps the pool's value (other sequences' blocks
    included).

    Example (a decode step of a dynamic batch into 64 blocks of 16):

    ```mlir
    %0 = kiln.paged_kv_cache_update %pool, %k, %table, %pos
        : (tensor<64x2x16x8xf32>, tensor<?x2x1x8xf32>, tensor<?x4xi64>,
           tensor<?xi64>) -> tensor<64x2x16x8xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$pool, Kiln_Tensor:$update,
                       RankedTensorOf<[I64]>:$block_table,
                       RankedTensorOf<[I64]>:$positions);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$pool `,` $update `,` $block_table `,` $positions "
                       "attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_PagedKVGatherOp : Kiln_Op<"paged_kv_gather",
    [Pure, Kiln_ReifiesShapes]> {
  let summary = "each sequence's keys or values of a paged KV cache, in order";
  let description = [{
    The contiguous view of a paged KV cache (see
    `kiln.paged_kv_cache_update`): with `pool` `[N, H, P, D]` and
    `block_table` `[B, C]`, the result `[B, H, C * P, D]` holds
    `result[b, h, j, d] = pool[block_table[b, j / P], h, j mod P, d]`, and
    zeros where the table entry is outside `[0, N)`. An attention reads it
    with `kv_seqlen`, so entries past a sequence's length may name any
    block. The reference lowering materializes the view; the CPU attention
    kernel (kiln-convert-attention-to-tiled-loops) instead reads its key
    blocks through the table, and the view is never built.

    Example:

    ```mlir
    %keys = kiln.paged_kv_gather %pool, %table
        : (tensor<64x2x16x8xf32>, tensor<?x4xi64>) -> tensor<?x2x64x8xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$pool, RankedTensorOf<[I64]>:$block_table);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$pool `,` $block_table attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_SwiGLUOp : Kiln_Op<"swiglu", [Pure, Kiln_ReifiesShapes]> {
  let summary = "SiLU-gated linear unit over the two halves of the last dimension";
  let description = [{
    Splits the last dimension of `input` (`2F`) into `a = input[..., :F]`
    and `b = input[..., F:]` and returns `silu(a) * b`, shape `[..., F]`.

    Example:

    ```mlir
    %0 = kiln.swiglu %x : tensor<16x512xf32> -> tensor<16x256xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

#endif // KILN_TRANSFORMER_OPS_TD
