//===- AttentionKeyRange.h - Key blocks a mask kind allows ------*- C++ -*-===//
//
// The attention kernels of both targets (CPU: kiln-cpu-convert-attention-
// to-tiled-loops, CUDA: kiln-gpu-convert-attention-to-kernels) walk only
// the key blocks that a block of query rows may attend under its mask kind
// (kiln.attention_mask's semantics), and mask only the blocks that cross
// an edge of the allowed region. This header builds both decisions as
// index arithmetic, so the kernels compute them the same way.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_KILNTOLINALG_ATTENTIONKEYRANGE_H
#define KILN_PASSES_KILNTOLINALG_ATTENTIONKEYRANGE_H

#include "kiln/dialects/Kiln/KilnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <algorithm>
#include <optional>

namespace kiln {

/// The positional part of a mask kind, for keys in blocks of `keyBlock`.
/// Query position p may attend keys [p - windowLeft, p + windowRight]; -1
/// leaves that side unbounded (causal is right = 0, none both -1).
/// hierarchical adds every pair whose key or query position is below
/// `globalTokens` (still bounded by windowRight).
struct AttentionWindow {
  int64_t keyBlock = 1;
  int64_t windowLeft = -1, windowRight = -1;
  bool hierarchical = false;
  int64_t globalTokens = 0;

  bool hasAnchors() const { return hierarchical && globalTokens > 0; }
};

/// The window of `op`'s positional mask kind (keyBlock left at 1): none
/// and block_sparse (whose layout is per block, not a window) leave both
/// sides unbounded, causal bounds the right at 0, sliding_window and
/// hierarchical take their attributes. Other kinds give std::nullopt.
inline std::optional<AttentionWindow> positionalWindow(AttentionOp op) {
  AttentionWindow w;
  switch (op.getMaskKind()) {
  case MaskKind::None:
  case MaskKind::BlockSparse:
    return w;
  case MaskKind::Causal:
    w.windowRight = 0;
    return w;
  case MaskKind::SlidingWindow:
  case MaskKind::Hierarchical:
    w.windowLeft = std::max<int64_t>(op.getWindowLeft(), -1);
    w.windowRight = std::max<int64_t>(op.getWindowRight(), -1);
    w.hierarchical = op.getMaskKind() == MaskKind::Hierarchical;
    w.globalTokens = w.hierarchical ? op.getNumGlobalTokens() : 0;
    return w;
  default:
    return std::nullopt;
  }
}

/// The keys and values `op` attends, [B, KVH, L, D]: its new ones after
/// its past ones when it has a KV cache (what it returns as present_key
/// and present_value).
inline std::pair<mlir::Value, mlir::Value>
attendedKeysAndValues(mlir::ImplicitLocOpBuilder &b, AttentionOp op) {
  mlir::Value keys = op.getKey(), values = op.getValue();
  if (!op.getPastKey())
    return {keys, values};
  mlir::IntegerAttr axis = b.getI64IntegerAttr(2);
  keys = ConcatOp::create(b, op.getPresentKey().getType(),
                          mlir::ValueRange{op.getPastKey(), keys}, axis);
  values = ConcatOp::create(b, op.getPresentValue().getType(),
                            mlir::ValueRange{op.getPastValue(), values}, axis);
  return {keys, values};
}

/// The key blocks a block of query rows may attend, visited as the
/// iterations [loopBegin, loopEnd) of the key loop; keys at or past keyEnd
/// (L, or kv_seqlen) are never valid. Iteration i visits block i, except:
///  - hierarchical: iterations [0, anchorBlocks) visit the blocks of the
///    global keys, then the window's blocks from windowStart on;
///  - block_sparse (CPU only): iteration i visits the i-th allowed block of
///    the layout row `layoutRow` (a table built at compile time).
struct KeyRange {
  mlir::Value loopBegin, loopEnd, keyEnd;
  mlir::Value anchorBlocks, windowStart; // hierarchical
  mlir::Value layoutRow, layoutTable;    // block_sparse
};

/// The key range of the query rows at positions [minPos, maxPos] (index
/// values) for every kind but block_sparse: the right bound ends the loop,
/// the left bound starts it, `keyEnd` caps it. An empty range gives
/// loopEnd <= loopBegin, or one block whose pairs are all masked.
inline KeyRange buildKeyRange(mlir::ImplicitLocOpBuilder &b,
                              const AttentionWindow &w, mlir::Value keyEnd,
                              mlir::Value minPos, mlir::Value maxPos) {
  using namespace mlir;
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  auto minIndex = [&](Value x, Value y) -> Value {
    return arith::MinSIOp::create(b, x, y);
  };
  auto maxIndex = [&](Value x, Value y) -> Value {
    return arith::MaxSIOp::create(b, x, y);
  };
  KeyRange range;
  range.keyEnd = keyEnd;
  Value end = keyEnd;
  if (w.windowRight >= 0)
    end = minIndex(end, arith::AddIOp::create(b, maxPos,
                                              index(w.windowRight + 1)));
  Value begin = index(0);
  if (w.windowLeft >= 0)
    begin = maxIndex(begin,
                     arith::SubIOp::create(b, minPos, index(w.windowLeft)));
  Value firstBlock = arith::DivSIOp::create(b, begin, index(w.keyBlock));
  Value endBlock = arith::CeilDivSIOp::create(b, end, index(w.keyBlock));
  range.loopBegin = firstBlock;
  range.loopEnd = endBlock;
  if (!w.hasAnchors())
    return range;
  // The global keys' blocks first (within the right bound), then the
  // window's from where the anchors end. A block with a global query row
  // attends every key up to the right bound: its window starts at 0.
  Value globalEnd = minIndex(index(w.globalTokens), end);
  range.anchorBlocks =
      minIndex(arith::CeilDivSIOp::create(b, maxIndex(globalEnd, index(0)),
                                          index(w.keyBlock)),
               maxIndex(endBlock, index(0)));
  Value globalRow = arith::CmpIOp::create(b, arith::CmpIPredicate::slt,
                                          minPos, index(w.globalTokens));
  Value windowFirst =
      arith::SelectOp::create(b, globalRow, index(0), firstBlock);
  range.windowStart = maxIndex(windowFirst, range.anchorBlocks);
  range.loopBegin = index(0);
  range.loopEnd = arith::AddIOp::create(
      b, range.anchorBlocks,
      maxIndex(arith::SubIOp::create(b, endBlock, range.windowStart),
               index(0)));
  return range;
}

/// The key block that iteration `iteration` of the key loop visits (every
/// kind but block_sparse).
inline mlir::Value keyBlockOfIteration(mlir::ImplicitLocOpBuilder &b,
                                       const KeyRange &range,
                                       mlir::Value iteration) {
  using namespace mlir;
  if (!range.anchorBlocks)
    return iteration;
  Value inAnchors = arith::CmpIOp::create(b, arith::CmpIPredicate::slt,
                                          iteration, range.anchorBlocks);
  Value inWindow = arith::AddIOp::create(
      b, arith::SubIOp::create(b, iteration, range.anchorBlocks),
      range.windowStart);
  return arith::SelectOp::create(b, inAnchors, iteration, inWindow);
}

/// Whether the key block starting at `blockStart` (read from `firstKey`,
/// which is earlier when the last block is shifted back to stay inside the
/// keys) crosses an edge of the region allowed to the query rows at
/// [minPos, maxPos]: then some of its pairs must be masked; otherwise all
/// are allowed. Edges: keyEnd, and for every row, the right bound (the
/// lowest row decides) or the left bound (the highest row decides; for
/// hierarchical, unless all the block's keys or all its rows are global).
inline mlir::Value blockCrossesMaskEdge(mlir::ImplicitLocOpBuilder &b,
                                        const AttentionWindow &w,
                                        mlir::Value keyEnd, mlir::Value minPos,
                                        mlir::Value maxPos,
                                        mlir::Value blockStart,
                                        mlir::Value firstKey) {
  using namespace mlir;
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  auto cmp = [&](arith::CmpIPredicate p, Value x, Value y) -> Value {
    return arith::CmpIOp::create(b, p, x, y);
  };
  Value endKey = arith::AddIOp::create(b, firstKey, index(w.keyBlock));
  Value nominalEnd = arith::AddIOp::create(b, blockStart, index(w.keyBlock));
  Value edge = cmp(arith::CmpIPredicate::sgt, nominalEnd, keyEnd);
  if (w.windowRight >= 0) {
    Value lastInside =
        arith::AddIOp::create(b, minPos, index(w.windowRight + 1));
    edge = arith::OrIOp::create(
        b, edge, cmp(arith::CmpIPredicate::sgt, endKey, lastInside));
  }
  if (w.windowLeft >= 0) {
    Value firstInside = arith::SubIOp::create(b, maxPos, index(w.windowLeft));
    Value crossesLeft = cmp(arith::CmpIPredicate::slt, firstKey, firstInside);
    if (w.hasAnchors()) {
      Value global = index(w.globalTokens);
      crossesLeft = arith::AndIOp::create(
          b, crossesLeft,
          arith::AndIOp::create(
              b, cmp(arith::CmpIPredicate::sgt, endKey, global),
              cmp(arith::CmpIPredicate::sge, maxPos, global)));
    }
    edge = arith::OrIOp::create(b, edge, crossesLeft);
  }
  return edge;
}

/// block_sparse: the key blocks each layout row allows, as constants for a
/// kernel's key loop. `layout` is the row-major [rows x rows] grid of
/// allowed cells of `cell` positions; key blocks are `keyBlock` keys, and
/// there are `keyBlocks` of them (a cell must hold whole blocks: `cell` a
/// multiple of `keyBlock`). `table` is [rows x most]: row r's allowed
/// block indices, in order, then zeros; `counts[r]` how many.
struct SparseKeyTables {
  int64_t most = 1;
  llvm::SmallVector<int32_t> table, counts;
};

inline SparseKeyTables buildSparseKeyTables(llvm::ArrayRef<bool> layout,
                                            int64_t rows, int64_t cell,
                                            int64_t keyBlock,
                                            int64_t keyBlocks) {
  int64_t perCell = cell / keyBlock;
  llvm::SmallVector<llvm::SmallVector<int32_t>> allowed(rows);
  SparseKeyTables tables;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < rows; ++c)
      if (layout[r * rows + c])
        for (int64_t kb = c * perCell;
             kb < std::min((c + 1) * perCell, keyBlocks); ++kb)
          allowed[r].push_back(kb);
    tables.most = std::max<int64_t>(tables.most, allowed[r].size());
  }
  tables.table.assign(rows * tables.most, 0);
  for (int64_t r = 0; r < rows; ++r) {
    llvm::copy(allowed[r], tables.table.begin() + r * tables.most);
    tables.counts.push_back(allowed[r].size());
  }
  return tables;
}

} // namespace kiln

#endif // KILN_PASSES_KILNTOLINALG_ATTENTIONKEYRANGE_H
