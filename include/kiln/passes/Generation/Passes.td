//===- Passes.td - Kiln Generation passes ------------------*- tablegen -*-===//
//
// A causal decoder turned into the step of a generation loop over a KV cache.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_GENERATION_PASSES_TD
#define KILN_PASSES_GENERATION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertDecoderToGenerationStep
    : Pass<"kiln-convert-decoder-to-generation-step", "mlir::ModuleOp"> {
  let summary = "Turn a raised causal decoder into one step of generation "
                "over a KV cache the compiler derives";
  let description = [{
    A decoder exported the usual way, `tokens` `[batch, seq]` in and
    `logits` `[batch, seq, vocab]` out with no past_key_values, recomputes
    every position on every call. This pass rewrites the entry into the
    step of a generation loop, which serves both the prefill (the prompt,
    `seq` tokens) and each decode step (one token):

    - a new input `past_length` `[batch]` (int64) holds how many positions
      each sequence already has in the cache;
    - each `kiln.attention` gets a key cache and a value cache, new inputs
      `cache.key.<i>` / `cache.value.<i>` of `[batch, kv_heads, max-seq,
      head_size]`: the step's keys and values are written at
      `past_length[b]` (`kiln.kv_cache_update`), and the attention reads
      the whole cache with `kv_seqlen = past_length + seq` and
      `query_start = past_length`, so its mask kind sees absolute
      positions; a decode step (`seq` = 1) takes an `scf.if` branch whose
      attention has the static query length 1, for kernels planned from
      static sizes;
    - each `kiln.rope` whose cos/sin are the first `seq` rows of a
      constant table reads the table at positions `past_length[b] + s`
      instead (the table must cover `max-seq` positions).

    A sliding-window attention looking `w` keys back (and a hierarchical
    one: its `G` global tokens, then the window) keeps only those: its
    caches are `[batch, kv_heads, w, head_size]` rings (`G + w` for a
    hierarchical one) when that is fewer than `max-seq`. It reads the
    step's keys followed by the ring as it was before the step, and the
    ring is written after it (a circular `kiln.kv_cache_update`); a decode
    step reads the first `1 + min(past_length, slots)` keys with no mask
    kind, a prefill a mask computed from each slot's position.

    The updated caches are returned as extra results tagged
    `kiln.state_of = "<input name>"` and the inputs `kiln.state`: the
    artifact writes them back into the input's buffer (see
    kiln-write-state-results-in-place), so a cache lives in the runtime's
    generation session and only the new positions are written. The entry
    records `kiln.generation` (max_seq and the names of the tokens,
    positions and logits), and the `seq` symbol's range is capped at
    `max-seq`.

    With `kv-block-size` P (a paged cache), each cache is instead a pool
    `[kv-blocks, kv_heads, P, head_size]` shared by the batch, and one
    more input `block_table` `[batch, max-seq / P]` (int64) names each
    sequence's blocks: the step writes with `kiln.paged_kv_cache_update`
    and the attention reads `kiln.paged_kv_gather`'s view of the pool, so
    a runtime can hand blocks to sequences as they grow, batch sequences
    of different lengths, and reuse a finished sequence's blocks
    (`kv_block_size`, `kv_blocks` and `block_table` join
    `kiln.generation`). A paged windowed attention keeps its ring in
    blocks too, in pools of their own (`[kv-window-blocks, kv_heads, P,
    head_size]`, inputs tagged `kiln.window_state`) found through a second
    table `window_block_table` `[batch, ceil(slots / P)]` (the widest
    ring's blocks): so a sequence holds only its window's blocks there,
    however long it grows. The step gathers the ring
    (`kiln.paged_kv_gather`), attends and writes it as above, and stores
    the ring back with `kiln.paged_kv_cache_update` (`window_blocks` and
    `window_block_table` join `kiln.generation`).

    A decoder exported with its KV cache (Hugging Face's
    `past_key_values.{i}.key/value` inputs `[batch, kv_heads, past,
    head_size]` and `present.{i}.key/value` outputs, `present = concat(past,
    new)` along the sequence) is recognized by that concat, which
    kiln-raise-attention made each attention's past_key / past_value with
    present results: the step keeps the cache instead, so those inputs and
    outputs are removed and the attention is rewritten as above on its new
    keys and values; a rope reading its table at position ids computed
    from the past length (`arange(past, past + seq)`) reads it at
    `past_length[b] + s`. Its signature is then the same as a plain
    decoder's.

    A model that is not such a decoder is reported, naming what does not
    fit: an input or output that is not the tokens, the logits or an
    attention's exported cache, a static sequence length, an attention that
    is not causal or has an explicit mask, positions computed for anything
    other than attention and RoPE (e.g. learned position embeddings).

    Example (one layer; `%k` is the step's keys `[?, 2, ?, 16]`):

    ```mlir
    // before
    %o, %pk, %pv = kiln.attention %q, %k, %v {mask_kind = #kiln.mask_kind<causal>, scale = 0.25 : f32} : ...
    // after, with %kc the new input cache.key.0 : tensor<?x2x64x16xf32>
    %kn = kiln.kv_cache_update %kc, %k, %past_length {axis = 2 : i64} : ...
    %o, %pk, %pv = kiln.attention %q, %kn, %vn kv_seqlen %lens query_start %past_length {mask_kind = #kiln.mask_kind<causal>, scale = 0.25 : f32} : ...
    ```
  }];
  let options = [
    Option<"entryName", "entry", "std::string", /*default=*/"\"main\"",
           "The decoder function">,
    Option<"maxSeq", "max-seq", "int64_t", /*default=*/"0",
           "Positions each sequence's KV cache holds (prompt and generated "
           "tokens together); required">,
    Option<"kvBlockSize", "kv-block-size", "int64_t", /*default=*/"0",
           "Positions per block of a paged KV cache (0: one contiguous "
           "cache per sequence); must divide max-seq">,
    Option<"kvBlocks", "kv-blocks", "int64_t", /*default=*/"0",
           "Blocks in each paged cache's pool (0: 8 sequences of max-seq, "
           "or the static batch's)">,
    Option<"kvWindowBlocks", "kv-window-blocks", "int64_t",
           /*default=*/"0",
           "Blocks in each paged windowed attention's pool (0: the rings of "
           "as many sequences as kv-blocks holds full ones, at least 8 or "
           "the static batch, at most kv-blocks)">,
  ];
  let dependentDialects = ["kiln::KilnDialect", "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect", "mlir::scf::SCFDialect"];
}

#endif // KILN_PASSES_GENERATION_PASSES_TD
