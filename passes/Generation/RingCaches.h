//===- RingCaches.h - The KV cache of a windowed attention ------*- C++ -*-===//
//
// A sliding-window attention reads only the last `window` keys, and a
// hierarchical one those plus its leading global tokens (anchors), so a
// generation step keeps only those positions for it: a ring buffer behind
// the anchors, instead of --max-seq positions.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_GENERATION_RINGCACHES_H
#define KILN_PASSES_GENERATION_RINGCACHES_H

#include "kiln/dialects/Kiln/KilnOps.h"

#include "mlir/IR/Builders.h"

#include <optional>

namespace kiln::generation {

/// `v` with its query (or key) length, dimension 2, cast to the static 1.
mlir::Value castToOnePosition(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value v);

/// An attention's output of type `outType`: with a dynamic query length
/// (dimension 2), an `scf.if (seq == 1)` whose decode branch yields
/// `decode(outType with query length 1)` cast back, which a target's kernel
/// can plan for from static sizes, and whose other branch yields
/// `general()`; with a static one, `general()`. Leaves the builder after it.
mlir::Value
branchOnDecode(mlir::OpBuilder &b, mlir::Location loc, mlir::Value seq,
               mlir::RankedTensorType outType,
               llvm::function_ref<mlir::Value(mlir::RankedTensorType)> decode,
               llvm::function_ref<mlir::Value()> general);

/// The slots of a windowed attention's cache: `anchors` positions `[0,
/// anchors)` and a ring of the last `ring` positions at or past them
/// (position `p >= anchors` in slot `anchors + (p - anchors) mod ring`).
struct RingShape {
  int64_t anchors = 0, ring = 0;
  int64_t slots() const { return anchors + ring; }
};

/// The ring an attention's cache can be instead of `cacheLength` positions:
/// a sliding window or hierarchical mask looking `window_left` keys back
/// keeps the `window_left` positions before the query (the query's own key
/// is the step's), after `num_global_tokens` anchors for a hierarchical
/// one. None when that is not fewer than `cacheLength`, or the kind reads
/// every position (causal).
std::optional<RingShape> ringFor(AttentionOp op, int64_t cacheLength);

/// Replaces `op` by attention over its own keys and values (the step's)
/// followed by the caches `keyCache` / `valueCache` as they were before this
/// step: the queries sit at `pastLength[b] + i`, and a mask built from each
/// slot's position keeps what `op`'s mask kind keeps. A decode step (`seq`
/// is 1) needs no mask: every slot written so far is inside the window, so
/// it reads the first `1 + min(past_length, slots)` keys. Returns the new
/// output; the caches' updates go after it (they overwrite slots it reads).
mlir::Value attendOverRing(mlir::OpBuilder &b, mlir::Location loc,
                           AttentionOp op, mlir::Value keyCache,
                           mlir::Value valueCache, mlir::Value pastLength,
                           mlir::Value seq, RingShape shape);

/// `cache` (a ring cache of `shape`, `[batch, kv_heads, slots, head]`) with
/// the step's keys or values `update` written: positions below the anchors
/// into their own slots, the others into the ring (an update longer than
/// the ring leaves its last positions).
mlir::Value writeRing(mlir::OpBuilder &b, mlir::Location loc, mlir::Value cache,
                      mlir::Value update, mlir::Value pastLength,
                      RingShape shape);

/// A paged ring: the ring caches of a windowed attention kept in a pool of
/// blocks (`pool` `[N, kv_heads, P, head]`), each sequence's slots in the
/// blocks its row of `table` (`[batch, ceil(slots / P)]`) names, slot `t`
/// at `pool[table[b, t / P], :, t mod P, :]`. So a sequence holds only the
/// blocks of its window, whatever its length. Returns the ring
/// `[batch, kv_heads, slots, head]` (kiln.paged_kv_gather, then the first
/// `slots` positions).
mlir::Value readPagedRing(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value pool, mlir::Value table, RingShape shape);

/// The columns of `windowTable` (`[batch, W]`, the widest ring's blocks)
/// that a ring of `shape` spans in blocks of `blockSize`: its first
/// `ceil(slots / blockSize)`.
mlir::Value ringTable(mlir::OpBuilder &b, mlir::Location loc,
                      mlir::Value windowTable, RingShape shape,
                      int64_t blockSize);

/// `pool` with the ring `ring` (readPagedRing's shape, written by
/// writeRing) stored back into each sequence's blocks: the whole ring, as
/// positions `[0, slots)` of a kiln.paged_kv_cache_update at past length
/// 0 (blocks a sequence was not given, entries outside the pool, are not
/// written). Costs `slots` positions per sequence, like reading it.
mlir::Value writePagedRing(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value pool, mlir::Value table,
                           mlir::Value ring, mlir::Value pastLength);

} // namespace kiln::generation

#endif // KILN_PASSES_GENERATION_RINGCACHES_H
