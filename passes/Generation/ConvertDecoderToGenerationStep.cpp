//===- ConvertDecoderToGenerationStep.cpp - A decoder as a generation step ===//
//
// Everything a causal decoder does with positions is, after raising, in two
// ops: kiln.attention (its mask kind) and kiln.rope (the rows of its
// cos/sin tables). So a decoder exported without past_key_values becomes a
// step over a KV cache by rewriting just those: the attention writes the
// step's keys and values into a cache the step receives and reads the whole
// cache at the sequence's absolute positions; the rope reads its tables at
// those positions. What else might depend on positions (a learned position
// embedding gathered by a range) is detected and refused rather than
// silently computed at positions 0..seq-1.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/Generation/Passes.h"

#include "RingCaches.h"

#include "kiln/dialects/Kiln/KilnConstants.h"
#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/dtype.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringSet.h"

namespace kiln {
#define GEN_PASS_DEF_CONVERTDECODERTOGENERATIONSTEP
#include "kiln/passes/Generation/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

constexpr llvm::StringLiteral kPastLengthName = "past_length";
constexpr llvm::StringLiteral kBlockTableName = "block_table";
constexpr llvm::StringLiteral kWindowBlockTableName = "window_block_table";

/// The entry's `tokens [batch, seq]` and `logits [batch, seq, vocab]`, and
/// the names of their symbolic dims ("" for a static batch).
/// Without --kv-blocks, a paged cache's pool holds this many full-length
/// sequences (a dynamic batch; a static one holds the batch).
constexpr int64_t kDefaultPagedSequences = 8;

struct DecoderBoundary {
  BlockArgument tokens;
  std::string batchSymbol, seqSymbol;
  std::string tokensName, logitsName;
};

std::string typeString(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << type;
  return text;
}

std::string symbolOf(func::FuncOp entry, unsigned arg, unsigned dim) {
  auto names = entry.getArgAttrOfType<ArrayAttr>(arg, "kiln.dim_symbols");
  if (!names || names.size() <= dim)
    return "";
  auto name = dyn_cast<StringAttr>(names[dim]);
  return name ? name.str() : "";
}

/// An argument's or result's `kiln.name`, or `fallback`.
std::string nameIn(DictionaryAttr attrs, const Twine &fallback) {
  auto n = attrs ? attrs.getAs<StringAttr>("kiln.name") : StringAttr();
  return n ? n.str() : fallback.str();
}

std::string argumentName(func::FuncOp fn, unsigned i) {
  return nameIn(fn.getArgAttrDict(i), "input" + Twine(i));
}

std::string resultName(func::FuncOp fn, unsigned i) {
  return nameIn(fn.getResultAttrDict(i), "output" + Twine(i));
}

/// The tokens are the entry's first input and the logits its first output;
/// any others must be an exported KV cache (matchExportedCache).
FailureOr<DecoderBoundary> readBoundary(func::FuncOp entry) {
  auto fail = [&](const Twine &why) {
    return emitError(entry.getLoc()) << "--generate: " << why;
  };
  if (entry.getNumArguments() == 0)
    return fail("the decoder must take the tokens [batch, seq] as its first "
                "input; it takes none");
  DecoderBoundary d;
  d.tokens = entry.getArgument(0);
  auto tokens = dyn_cast<RankedTensorType>(d.tokens.getType());
  if (!tokens || tokens.getRank() != 2 ||
      !tokens.getElementType().isInteger())
    return fail("the input must be integer tokens [batch, seq], got " +
                Twine(typeString(d.tokens.getType())));
  if (!tokens.isDynamicDim(1))
    return fail("the tokens' sequence dimension is static (" +
                Twine(tokens.getDimSize(1)) +
                "); export the decoder with a symbolic one (dynamic_axes)");
  d.seqSymbol = symbolOf(entry, 0, 1);
  if (tokens.isDynamicDim(0))
    d.batchSymbol = symbolOf(entry, 0, 0);
  if (d.seqSymbol.empty() || (tokens.isDynamicDim(0) && d.batchSymbol.empty()))
    return fail("the tokens' dynamic dimensions need kiln.dim_symbols");
  if (entry.getNumResults() == 0)
    return fail("the decoder must return the logits [batch, seq, vocab] as "
                "its first output; it returns none");
  auto logits = dyn_cast<RankedTensorType>(entry.getResultTypes()[0]);
  if (!logits || logits.getRank() != 3 ||
      !isa<FloatType>(logits.getElementType()))
    return fail("the output must be float logits [batch, seq, vocab], got " +
                Twine(typeString(entry.getResultTypes()[0])));
  d.tokensName = argumentName(entry, 0);
  d.logitsName = resultName(entry, 0);
  return d;
}

/// Whether the attention is one the step can take over: causal (or a
/// window that looks only backwards), no explicit mask, its scores unused,
/// and either no cache of its own or the export's (past_key / past_value
/// inputs, present outputs: matchExportedCache checks those).
LogicalResult checkAttention(AttentionOp op) {
  auto fail = [&](const Twine &why) {
    return op.emitOpError("--generate: ") << why;
  };
  // (Raising leaves the mask kind none for a mask it cannot place after
  // the cache.)
  if (op.getMask() && op.getPastKey())
    return fail("the attention's mask over its exported cache is an "
                "explicit mask operand (no causal kind over the past keys "
                "too: a sliding window? a padding mask?), which a "
                "generation step cannot extend");
  MaskKind kind = op.getMaskKind();
  bool backwards = kind == MaskKind::Causal ||
                   ((kind == MaskKind::SlidingWindow ||
                     kind == MaskKind::Hierarchical) &&
                    op.getWindowRight() == 0);
  if (!backwards)
    return fail("the attention is not causal (mask kind " +
                Twine(stringifyMaskKind(kind)) +
                "); a decoder's attention must only look back");
  if (op.getKvSeqlen() || op.getQueryStart())
    return fail("the attention already reads a KV cache by lengths");
  if (op.getMask())
    return fail("the attention has an explicit mask operand (a padding "
                "mask input?), which a generation step cannot extend");
  if (op.getGlobalIndices() || op.getScores())
    return fail("the attention has global token indices or returns its "
                "scores");
  if (!op.getPastKey() &&
      (!op.getPresentKey().use_empty() || !op.getPresentValue().use_empty()))
    return fail("the attention's keys and values are used elsewhere");
  RankedTensorType k = op.getKey().getType(), v = op.getValue().getType();
  if (k.isDynamicDim(1) || k.isDynamicDim(3) || v.isDynamicDim(3))
    return fail("the key/value heads and head sizes must be static");
  return success();
}

/// A decoder exported with its KV cache (Hugging Face's past_key_values)
/// takes past keys and values `[batch, kv_heads, past, head]` and returns
/// `present = concat(past, new)`. Raising recognized that concat feeding
/// each attention and made `past` its past_key / past_value and `present`
/// its present results (kiln-raise-attention), so here every input after
/// the tokens must be one attention's past keys or values and every output
/// after the logits that attention's present ones. The step then keeps the
/// cache itself: `pastArguments` gets the inputs to erase and
/// `presentResults` the outputs to drop.
LogicalResult matchExportedCache(func::FuncOp fn,
                                 ArrayRef<AttentionOp> attentions,
                                 llvm::BitVector &pastArguments,
                                 llvm::BitVector &presentResults) {
  pastArguments = llvm::BitVector(fn.getNumArguments());
  presentResults = llvm::BitVector(fn.getNumResults());
  Operation *ret = fn.getBody().front().getTerminator();
  for (AttentionOp op : attentions) {
    if (!op.getPastKey())
      continue;
    for (Value past : {op.getPastKey(), op.getPastValue()}) {
      auto arg = dyn_cast<BlockArgument>(past);
      if (!arg || arg.getOwner()->getParentOp() != fn || arg.getArgNumber() == 0)
        return op.emitOpError("--generate: the attention's past keys or "
                              "values are not an input of the model");
      if (pastArguments.test(arg.getArgNumber()))
        return op.emitOpError("--generate: input '")
               << argumentName(fn, arg.getArgNumber())
               << "' is the past of more than one attention";
      pastArguments.set(arg.getArgNumber());
    }
    for (Value present : {op.getPresentKey(), op.getPresentValue()})
      for (OpOperand &use : present.getUses()) {
        if (use.getOwner() != ret)
          return op.emitOpError("--generate: the attention's present keys "
                                "or values are used other than as outputs");
        presentResults.set(use.getOperandNumber());
      }
  }
  for (unsigned i = 1; i < fn.getNumArguments(); ++i)
    if (!pastArguments.test(i))
      return emitError(fn.getLoc())
             << "--generate: input '" << argumentName(fn, i)
             << "' is not the past keys or values of an attention; besides "
                "the tokens a decoder may only take its KV cache, each "
                "`present = concat(past, new)` along the sequence feeding "
                "an attention";
  for (unsigned i = 1; i < fn.getNumResults(); ++i)
    if (!presentResults.test(i))
      return emitError(fn.getLoc())
             << "--generate: output '" << resultName(fn, i)
             << "' is not the present keys or values of an attention; "
                "besides the logits a decoder may only return its KV cache";
  if (presentResults.test(0))
    return emitError(fn.getLoc())
           << "--generate: the first output must be the logits, not an "
              "attention's present keys or values";
  return success();
}

/// Whether `positions` are computed from the length of an exported cache
/// (`pastArguments`) and shapes alone: the ops it comes from read the
/// entry's inputs only through tensor.dim, and at least one reads a past
/// input's length. That is Hugging Face's `arange(past, past + seq)`,
/// which the step replaces with `past_length[b] + s`.
bool readsPastLength(func::FuncOp fn, Value positions,
                     const llvm::BitVector &pastArguments) {
  bool readsPast = false;
  SmallVector<Value> worklist = {positions};
  DenseSet<Value> seen;
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    if (!seen.insert(v).second)
      continue;
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      if (arg.getOwner()->getParentOp() == fn)
        return false; // an input's data
      continue;       // a region's own argument
    }
    Operation *op = v.getDefiningOp();
    if (auto dim = dyn_cast<tensor::DimOp>(op)) {
      auto arg = dyn_cast<BlockArgument>(dim.getSource());
      if (arg && arg.getOwner()->getParentOp() == fn) {
        readsPast |= pastArguments.test(arg.getArgNumber());
        llvm::append_range(worklist, ValueRange{dim.getIndex()});
        continue;
      }
    }
    llvm::append_range(worklist, op->getOperands());
    SetVector<Value> captured;
    getUsedValuesDefinedAbove(op->getRegions(), captured);
    llvm::append_range(worklist, captured);
    if (seen.size() > 4096)
      return false;
  }
  return readsPast;
}

/// The constant table a rope's cos or sin is the first `seq` rows of:
/// `tensor.extract_slice %table[0, 0] [seq, n] [1, 1]`.
Value ropeTable(Value cos) {
  auto slice = cos.getDefiningOp<tensor::ExtractSliceOp>();
  if (!slice || slice.getSourceType().getRank() != 2 ||
      slice.getType().getRank() != 2 || !slice.hasUnitStride() ||
      !slice.hasZeroOffset() ||
      slice.getStaticSizes()[1] != slice.getSourceType().getDimSize(1))
    return Value();
  return slice.getSource();
}

/// The table a rope's cos or sin reads: with positions (an export with a
/// KV cache) the cos/sin operand itself, or the table it is the first rows
/// of; without, the table it is the first `seq` rows of.
Value positionedTable(RopeOp op, Value cos) {
  if (!op.getPositions())
    return ropeTable(cos);
  if (Value table = ropeTable(cos))
    return table;
  return cos;
}

LogicalResult checkRope(RopeOp op, int64_t maxSeq,
                        const llvm::BitVector &pastArguments, Value &cos,
                        Value &sin) {
  auto fail = [&](const Twine &why) {
    return op.emitOpError("--generate: ") << why;
  };
  if (op.getPositions() &&
      !readsPastLength(op->getParentOfType<func::FuncOp>(), op.getPositions(),
                       pastArguments))
    return fail("the rope reads its tables by position ids that are not "
                "computed from the exported cache's length");
  cos = positionedTable(op, op.getCos());
  sin = positionedTable(op, op.getSin());
  if (!cos || !sin)
    return fail("the rope's cos/sin are not the first rows of a table, so "
                "their positions cannot be offset");
  int64_t rows = cast<RankedTensorType>(cos.getType()).getDimSize(0);
  if (ShapedType::isDynamic(rows) || rows < maxSeq)
    return fail("the rotary table holds " +
                Twine(ShapedType::isDynamic(rows) ? std::string("?")
                                                  : std::to_string(rows)) +
                " positions, fewer than --max-seq " + Twine(maxSeq));
  return success();
}

/// Whether `op` makes positions from nothing: a generic without inputs
/// whose body reads linalg.index (the importer's Range, an iota).
bool isPositionSource(Operation *op) {
  auto generic = dyn_cast<linalg::GenericOp>(op);
  if (!generic || generic.getNumDpsInputs() != 0)
    return false;
  return !generic.getBody()->getOps<linalg::IndexOp>().empty();
}

/// Erases side-effect-free ops whose results are unused, until none is left.
void eraseDeadOps(func::FuncOp entry) {
  bool changed = true;
  while (changed) {
    changed = false;
    SmallVector<Operation *> dead;
    entry.walk([&](Operation *op) {
      if (op->getParentOp() == entry && isOpTriviallyDead(op))
        dead.push_back(op);
    });
    for (Operation *op : llvm::reverse(dead)) {
      op->erase();
      changed = true;
    }
  }
}

/// Replaces `op` by an attention over the caches `keys` and `values` (each
/// sequence's `lengths` keys, its queries at `pastLength` on). With a
/// dynamic query length, a decode step (`seq` is 1) takes an attention of
/// the static query length 1, which a target's kernel can plan for.
/// The ops it adds around the new attentions are at `loc` (the function's).
///
/// With a paged cache (`blockTable` set), `keys` and `values` are the
/// pools: each branch reads them through its own `keyView` / `valueView`
/// (paged_kv_gather) next to its attention, so that the decode branch's
/// kernel can read the pool through the table instead and its view is
/// never built.
void attendOverCaches(OpBuilder &b, Location loc, AttentionOp op, Value keys,
                      Value values, Value lengths, Value pastLength, Value seq,
                      Value blockTable = Value(),
                      RankedTensorType keyView = {},
                      RankedTensorType valueView = {}) {
  auto attend = [&](Value query, Type outType) {
    Value k = keys, v = values;
    if (blockTable) {
      k = PagedKVGatherOp::create(b, loc, keyView, keys, blockTable);
      v = PagedKVGatherOp::create(b, loc, valueView, values, blockTable);
    }
    return AttentionOp::create(
               b, op.getLoc(), outType, k.getType(), v.getType(),
               Type(), query, k, v,
               /*mask=*/Value(), /*past_key=*/Value(),
               /*past_value=*/Value(), /*global_indices=*/Value(), lengths,
               pastLength, op.getScaleAttr(), op.getSoftcapAttr(),
               ScoreStageAttr(), op.getMaskKindAttr(), op.getWindowLeftAttr(),
               op.getWindowRightAttr(), op.getNumGlobalTokensAttr(),
               op.getBlockSizeAttr(), op.getBlockLayoutAttr())
        .getOutput();
  };
  // A decode step (one token per sequence) gets an attention whose query
  // length is the static 1; the prefill keeps the general one.
  Value output = generation::branchOnDecode(
      b, loc, seq, op.getOutput().getType(),
      [&](RankedTensorType oneType) {
        return attend(generation::castToOnePosition(b, loc, op.getQuery()),
                      oneType);
      },
      [&]() { return attend(op.getQuery(), op.getOutput().getType()); });
  op.getOutput().replaceAllUsesWith(output);
  op.erase();
}

/// The KV caches a step adds: per cache, a state argument (`[batch,
/// kv_heads, max_seq, head]`, or with paging a pool `[blocks, kv_heads,
/// block, head]` read through the block table) that the step writes and
/// returns as a state result after the function's own results.
struct CacheBuilder {
  func::FuncOp fn;
  OpBuilder &b;
  int64_t batch, cacheLength, numBlocks;
  int64_t blockSize; // 0: a contiguous cache
  StringRef batchSymbol;
  Value pastLength, blockTable;
  /// Paged windowed attentions: their pools' blocks and table.
  int64_t windowBlocks = 0;
  Value windowTable;
  SmallVector<Value> results;
  SmallVector<DictionaryAttr> resultAttrs;

  /// Adds the state input `name` of `type` (a dynamic batch named).
  Value addState(RankedTensorType type, const std::string &name) {
    MLIRContext *ctx = fn.getContext();
    NamedAttrList attrs;
    attrs.set("kiln.name", StringAttr::get(ctx, name));
    attrs.set("kiln.state", UnitAttr::get(ctx));
    attrs.set("bufferization.writable", BoolAttr::get(ctx, true));
    if (ShapedType::isDynamic(batch) && !blockSize) {
      SmallVector<Attribute> names(4, StringAttr::get(ctx, ""));
      names[0] = StringAttr::get(ctx, batchSymbol);
      attrs.set("kiln.dim_symbols", ArrayAttr::get(ctx, names));
    }
    unsigned index = fn.getNumArguments();
    (void)fn.insertArgument(index, type, attrs.getDictionary(ctx), fn.getLoc());
    return fn.getArgument(index);
  }

  /// Returns `updated` as the new value of state input `name`.
  void addResult(Value updated, const std::string &name) {
    MLIRContext *ctx = fn.getContext();
    results.push_back(updated);
    NamedAttrList resultAttr;
    resultAttr.set("kiln.state_of", StringAttr::get(ctx, name));
    resultAttrs.push_back(resultAttr.getDictionary(ctx));
  }

  /// The cache type of `step`'s keys or values, `slots` positions long.
  RankedTensorType cacheType(RankedTensorType step, int64_t slots) const {
    return RankedTensorType::get(
        {batch, step.getDimSize(1), slots, step.getDimSize(3)},
        step.getElementType());
  }

  /// Adds cache `name`, into which the step writes `update` (its keys or
  /// values, of type `step`). Returns the updated cache (or pool) and sets
  /// `view` to the type an attention reads it as.
  Value add(RankedTensorType step, const std::string &name, Value update,
            RankedTensorType &view) {
    Location loc = fn.getLoc();
    RankedTensorType type = cacheType(step, cacheLength);
    RankedTensorType stateType =
        blockSize ? RankedTensorType::get({numBlocks, step.getDimSize(1),
                                           blockSize, step.getDimSize(3)},
                                          step.getElementType())
                  : type;
    Value state = addState(stateType, name);
    b.setInsertionPointAfterValue(update);
    Value updated;
    if (blockSize)
      updated = PagedKVCacheUpdateOp::create(b, loc, stateType, state, update,
                                             blockTable, pastLength);
    else
      updated =
          KVCacheUpdateOp::create(b, loc, type, state, update, pastLength,
                                  b.getI64IntegerAttr(2), b.getBoolAttr(false));
    view = type;
    addResult(updated, name);
    return updated;
  }

  /// Writes `update` into the ring cache `state` (addState) at the
  /// builder's insertion point and returns the result as its new value.
  void writeRing(Value state, Value update, generation::RingShape shape,
                 const std::string &name) {
    addResult(
        generation::writeRing(b, fn.getLoc(), state, update, pastLength, shape),
        name);
  }
};

/// Appends an int64 argument `name` of `shape` to `fn`; a dynamic first
/// dim is the batch, named `batchSymbol`.
FailureOr<Value> addInt64Argument(func::FuncOp fn, StringRef name,
                                  ArrayRef<int64_t> shape,
                                  StringRef batchSymbol) {
  MLIRContext *ctx = fn.getContext();
  auto type = RankedTensorType::get(shape, IntegerType::get(ctx, 64));
  NamedAttrList attrs;
  attrs.set("kiln.name", StringAttr::get(ctx, name));
  attrs.set("kiln.dtype",
            IntegerAttr::get(IntegerType::get(ctx, 32), KILN_DTYPE_INT64));
  if (ShapedType::isDynamic(shape[0])) {
    SmallVector<Attribute> names(shape.size(), StringAttr::get(ctx, ""));
    names[0] = StringAttr::get(ctx, batchSymbol);
    attrs.set("kiln.dim_symbols", ArrayAttr::get(ctx, names));
  }
  unsigned index = fn.getNumArguments();
  if (failed(fn.insertArgument(index, type, attrs.getDictionary(ctx),
                               fn.getLoc())))
    return failure();
  return fn.getArgument(index);
}

/// Anything still computing positions from nothing reads positions
/// 0..seq-1, which is wrong at every step but the first: an error.
LogicalResult checkNoStrayPositions(func::FuncOp fn) {
  eraseDeadOps(fn);
  Operation *stray = nullptr;
  fn.walk([&](Operation *op) {
    // (The positions the step builds read past_length: not a source.)
    if (!stray && op->getParentOp() == fn && isPositionSource(op))
      stray = op;
  });
  if (stray)
    return stray->emitError(
        "--generate: the model computes token positions for something "
        "other than attention and RoPE (a learned position embedding?), "
        "which a generation step cannot offset yet");
  return success();
}

/// An exported cache's inputs, once the step keeps the cache: nothing may
/// read them any more (checkNoStrayPositions erased the dead masks and
/// positions that read their lengths), and they are erased, with the
/// ranges of symbols (the past and total lengths) nothing else names.
LogicalResult erasePastArguments(func::FuncOp fn,
                                 llvm::BitVector pastArguments) {
  pastArguments.resize(fn.getNumArguments());
  for (unsigned i : pastArguments.set_bits())
    if (!fn.getArgument(i).use_empty())
      return emitError(fn.getArgument(i).getUsers().begin()->getLoc())
             << "--generate: the model reads input '" << argumentName(fn, i)
             << "' other than as an attention's past keys or values and "
                "the length of its positions";
  if (failed(fn.eraseArguments(pastArguments)))
    return failure();
  auto ranges = fn->getAttrOfType<DictionaryAttr>("kiln.dim_ranges");
  if (!ranges || pastArguments.none())
    return success();
  llvm::StringSet<> named;
  auto collect = [&](DictionaryAttr attrs) {
    auto symbols =
        attrs ? attrs.getAs<ArrayAttr>("kiln.dim_symbols") : ArrayAttr();
    for (Attribute a : symbols ? symbols : ArrayAttr::get(fn.getContext(), {}))
      if (auto name = dyn_cast<StringAttr>(a))
        named.insert(name.getValue());
  };
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    collect(fn.getArgAttrDict(i));
  for (unsigned i = 0; i < fn.getNumResults(); ++i)
    collect(fn.getResultAttrDict(i));
  NamedAttrList kept;
  for (NamedAttribute range : ranges)
    if (named.contains(range.getName().getValue()))
      kept.push_back(range);
  fn->setAttr("kiln.dim_ranges", kept.getDictionary(fn.getContext()));
  return success();
}

/// The symbols' ranges: seq (`seqSymbol`) never exceeds the cache.
LogicalResult limitSeqRange(func::FuncOp fn, StringRef seqSymbol,
                            int64_t cacheLength) {
  auto ranges = fn->getAttrOfType<DictionaryAttr>("kiln.dim_ranges");
  if (!ranges)
    return success();
  NamedAttrList updated(ranges);
  if (auto seqRange =
          llvm::dyn_cast_or_null<DenseI64ArrayAttr>(updated.get(seqSymbol))) {
    int64_t lo = seqRange[0], hi = std::min<int64_t>(seqRange[1], cacheLength);
    if (lo > hi)
      return emitError(fn.getLoc())
             << "--generate: the sequence dimension's range starts at " << lo
             << ", past --max-seq " << cacheLength;
    updated.set(seqSymbol, DenseI64ArrayAttr::get(fn.getContext(), {lo, hi}));
  }
  fn->setAttr("kiln.dim_ranges", updated.getDictionary(fn.getContext()));
  return success();
}

/// positions [batch, seq] = past_length[b] + s.
Value buildPositions(OpBuilder &b, Location loc, Value pastLength, Value seq) {
  MLIRContext *ctx = b.getContext();
  Type i64 = b.getI64Type();
  int64_t batch = cast<RankedTensorType>(pastLength.getType()).getDimSize(0);
  SmallVector<Value> dynamic;
  if (ShapedType::isDynamic(batch))
    dynamic.push_back(tensor::DimOp::create(b, loc, pastLength, 0));
  dynamic.push_back(seq);
  auto positionsType =
      RankedTensorType::get({batch, ShapedType::kDynamic}, i64);
  Value init = tensor::EmptyOp::create(b, loc, positionsType, dynamic);
  MLIRContext *c = ctx;
  AffineMap perRow = AffineMap::get(2, 0, {getAffineDimExpr(0, c)}, c);
  Value positions =
      linalg::GenericOp::create(
          b, loc, positionsType, ValueRange{pastLength}, ValueRange{init},
          {perRow, AffineMap::getMultiDimIdentityMap(2, c)},
          {utils::IteratorType::parallel, utils::IteratorType::parallel},
          [&](OpBuilder &nb, Location l, ValueRange args) {
            Value s = linalg::IndexOp::create(nb, l, 1);
            Value s64 = arith::IndexCastOp::create(nb, l, i64, s);
            linalg::YieldOp::create(
                nb, l, ValueRange{arith::AddIOp::create(nb, l, args[0], s64)});
          })
          .getResult(0);
  return positions;
}

struct ConvertDecoderToGenerationStepPass
    : public kiln::impl::ConvertDecoderToGenerationStepBase<
          ConvertDecoderToGenerationStepPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto entryFn = module.lookupSymbol<func::FuncOp>(entryName);
    if (!entryFn || entryFn.isExternal()) {
      module.emitError() << "--generate: no function @" << entryName;
      return signalPassFailure();
    }
    if (failed(convert(entryFn)))
      signalPassFailure();
  }

  /// The positions each sequence's cache holds: --max-seq, or without it
  /// the length of the shortest rotary table.
  FailureOr<int64_t> chooseCacheLength(func::FuncOp fn,
                                       ArrayRef<RopeOp> ropes) {
    int64_t cacheLength = maxSeq;
    if (cacheLength > 0)
      return cacheLength;
    for (RopeOp rope : ropes)
      if (Value table = positionedTable(rope, rope.getCos())) {
        int64_t rows = cast<RankedTensorType>(table.getType()).getDimSize(0);
        if (!ShapedType::isDynamic(rows) &&
            (cacheLength <= 0 || rows < cacheLength))
          cacheLength = rows;
      }
    if (cacheLength <= 0)
      return emitError(fn.getLoc())
             << "--generate needs --max-seq, the positions each "
                "sequence's KV cache holds (the model has no rotary "
                "table to take it from)";
    return cacheLength;
  }

  /// A paged cache (--kv-block-size): the positions of every sequence in
  /// one pool of `numBlocks` blocks, found through a block table of
  /// `columns` blocks per sequence. Checks the flags; leaves both 0 for a
  /// contiguous cache.
  LogicalResult choosePaging(func::FuncOp fn, const DecoderBoundary &boundary,
                             int64_t cacheLength, int64_t &columns,
                             int64_t &numBlocks) {
    if (kvBlockSize < 0 || kvBlocks < 0)
      return emitError(fn.getLoc())
             << "--generate: --kv-block-size and --kv-blocks must not be "
                "negative, got "
             << int64_t(kvBlockSize) << " and " << int64_t(kvBlocks);
    if (kvBlockSize == 0) {
      if (kvBlocks > 0)
        return emitError(fn.getLoc())
               << "--generate: --kv-blocks needs --kv-block-size (a paged "
                  "cache)";
      return success();
    }
    if (cacheLength % kvBlockSize != 0)
      return emitError(fn.getLoc())
             << "--generate: --kv-block-size " << int64_t(kvBlockSize)
             << " must divide the cache's positions per sequence "
             << cacheLength << " (--max-seq)";
    columns = cacheLength / kvBlockSize;
    int64_t batch =
        cast<RankedTensorType>(boundary.tokens.getType()).getDimSize(0);
    int64_t sequences =
        ShapedType::isDynamic(batch) ? kDefaultPagedSequences : batch;
    numBlocks = kvBlocks > 0 ? kvBlocks : sequences * columns;
    if (numBlocks > (int64_t(1) << 31))
      return emitError(fn.getLoc()) << "--generate: --kv-blocks " << numBlocks
                                    << " is more than 2^31";
    return success();
  }

  /// Gives the attention `op` (layer `layer`) caches of every position
  /// (contiguous or paged) and replaces it by attention over them.
  void attendOverFullCaches(CacheBuilder &caches, AttentionOp op,
                            const std::string &layer, Value lengths,
                            Value seq) {
    RankedTensorType keyView, valueView;
    Value keys = caches.add(op.getKey().getType(), "cache.key." + layer,
                            op.getKey(), keyView);
    Value values = caches.add(op.getValue().getType(), "cache.value." + layer,
                              op.getValue(), valueView);
    // The caches' updates follow the keys' and values' definitions, which
    // precede the attention.
    caches.b.setInsertionPoint(op);
    attendOverCaches(caches.b, caches.fn.getLoc(), op, keys, values, lengths,
                     caches.pastLength, seq, caches.blockTable, keyView,
                     valueView);
  }

  /// Gives the windowed attention `op` (layer `layer`) ring caches of
  /// `ring`'s slots and replaces it by attention over them.
  void attendOverRingCaches(CacheBuilder &caches, AttentionOp op,
                            const std::string &layer,
                            generation::RingShape ring, Value seq) {
    OpBuilder &b = caches.b;
    Value key = op.getKey(), value = op.getValue();
    std::string keyName = "cache.key." + layer,
                valueName = "cache.value." + layer;
    Value keyCache = caches.addState(
        caches.cacheType(op.getKey().getType(), ring.slots()), keyName);
    Value valueCache = caches.addState(
        caches.cacheType(op.getValue().getType(), ring.slots()), valueName);
    b.setInsertionPoint(op);
    Value output =
        generation::attendOverRing(b, caches.fn.getLoc(), op, keyCache,
                                   valueCache, caches.pastLength, seq, ring);
    // The rings are written after the attention read them.
    b.setInsertionPointAfterValue(output);
    caches.writeRing(keyCache, key, ring, keyName);
    caches.writeRing(valueCache, value, ring, valueName);
  }

  /// Gives the windowed attention `op` (layer `layer`) of a paged cache
  /// ring caches of `ring`'s slots in pools of their own
  /// (`[window blocks, kv_heads, P, head]`, each sequence's blocks in its
  /// row of the window block table) and replaces it by attention over
  /// them, as attendOverRingCaches does with contiguous rings.
  void attendOverPagedRingCaches(CacheBuilder &caches, AttentionOp op,
                                 const std::string &layer,
                                 generation::RingShape ring, Value seq) {
    OpBuilder &b = caches.b;
    Location loc = caches.fn.getLoc();
    Value key = op.getKey(), value = op.getValue();
    std::string keyName = "cache.key." + layer,
                valueName = "cache.value." + layer;
    auto poolType = [&](Value step) {
      auto t = cast<RankedTensorType>(step.getType());
      return RankedTensorType::get({caches.windowBlocks, t.getDimSize(1),
                                    caches.blockSize, t.getDimSize(3)},
                                   t.getElementType());
    };
    Value keyPool = caches.addState(poolType(key), keyName);
    Value valuePool = caches.addState(poolType(value), valueName);
    for (Value pool : {keyPool, valuePool})
      caches.fn.setArgAttr(cast<BlockArgument>(pool).getArgNumber(),
                           "kiln.window_state", b.getUnitAttr());
    b.setInsertionPoint(op);
    Value table = generation::ringTable(b, loc, caches.windowTable, ring,
                                        caches.blockSize);
    Value keyRing = generation::readPagedRing(b, loc, keyPool, table, ring);
    Value valueRing = generation::readPagedRing(b, loc, valuePool, table, ring);
    Value output = generation::attendOverRing(b, loc, op, keyRing, valueRing,
                                              caches.pastLength, seq, ring);
    // The rings are written after the attention read them.
    b.setInsertionPointAfterValue(output);
    for (auto [pool, ringValue, step, name] :
         {std::make_tuple(keyPool, keyRing, key, keyName),
          std::make_tuple(valuePool, valueRing, value, valueName)}) {
      Value written = generation::writeRing(b, loc, ringValue, step,
                                            caches.pastLength, ring);
      caches.addResult(generation::writePagedRing(b, loc, pool, table, written,
                                                  caches.pastLength),
                       name);
    }
  }

  /// The window block table's columns (the most blocks a paged windowed
  /// attention's ring spans; 0 when none is windowed) and its pools'
  /// blocks: --kv-window-blocks, or by default as many sequences' rings as
  /// the full pool holds sequences (at least the default sequences), never
  /// more blocks than the full pool.
  LogicalResult chooseWindowPaging(func::FuncOp fn,
                                   ArrayRef<AttentionOp> attentions,
                                   int64_t cacheLength, int64_t columns,
                                   int64_t numBlocks, int64_t batch,
                                   int64_t &windowColumns,
                                   int64_t &windowBlocks) {
    windowColumns = 0;
    for (AttentionOp op : attentions)
      if (std::optional<generation::RingShape> ring =
              generation::ringFor(op, cacheLength))
        windowColumns = std::max(
            windowColumns,
            int64_t(llvm::divideCeil(ring->slots(), int64_t(kvBlockSize))));
    if (kvWindowBlocks < 0 || kvWindowBlocks > (int64_t(1) << 31))
      return emitError(fn.getLoc())
             << "--generate: --kv-window-blocks must be in [0, 2^31], got "
             << int64_t(kvWindowBlocks);
    if (kvWindowBlocks > 0 && !windowColumns)
      return emitError(fn.getLoc())
             << "--generate: --kv-window-blocks needs a paged cache and a "
                "sliding-window or hierarchical attention whose window is "
                "shorter than --max-seq";
    if (!windowColumns)
      return success();
    int64_t sequences =
        ShapedType::isDynamic(batch) ? kDefaultPagedSequences : batch;
    sequences =
        std::max(sequences, int64_t(llvm::divideCeil(numBlocks, columns)));
    windowBlocks = kvWindowBlocks > 0
                       ? int64_t(kvWindowBlocks)
                       : std::min(numBlocks, sequences * windowColumns);
    return success();
  }

  /// The inputs a step adds besides its caches: past_length [batch] and,
  /// paged, block_table [batch, max_seq / block_size] and for windowed
  /// attentions window_block_table, all int64.
  struct StepArguments {
    Value pastLength, blockTable, windowTable;
    int64_t windowBlocks = 0;
  };
  LogicalResult addStepArguments(func::FuncOp fn, int64_t batch,
                                 StringRef batchSymbol,
                                 ArrayRef<AttentionOp> attentions,
                                 int64_t cacheLength, int64_t columns,
                                 int64_t numBlocks, StepArguments &out) {
    FailureOr<Value> pastLength =
        addInt64Argument(fn, kPastLengthName, {batch}, batchSymbol);
    if (failed(pastLength))
      return failure();
    out.pastLength = *pastLength;
    if (!kvBlockSize) {
      if (kvWindowBlocks)
        return emitError(fn.getLoc())
               << "--generate: --kv-window-blocks needs --kv-block-size (a "
                  "paged cache)";
      return success();
    }
    int64_t windowColumns = 0;
    FailureOr<Value> table =
        addInt64Argument(fn, kBlockTableName, {batch, columns}, batchSymbol);
    if (failed(table) || failed(chooseWindowPaging(
                             fn, attentions, cacheLength, columns, numBlocks,
                             batch, windowColumns, out.windowBlocks)))
      return failure();
    out.blockTable = *table;
    if (!windowColumns)
      return success();
    table = addInt64Argument(fn, kWindowBlockTableName, {batch, windowColumns},
                             batchSymbol);
    if (failed(table))
      return failure();
    out.windowTable = *table;
    return success();
  }

  LogicalResult convert(func::FuncOp fn) {
    FailureOr<DecoderBoundary> boundary = readBoundary(fn);
    if (failed(boundary))
      return failure();
    eraseDeadOps(fn);
    SmallVector<AttentionOp> attentions;
    SmallVector<RopeOp> ropes;
    bool ok = true;
    fn.walk([&](Operation *op) {
      if (auto a = dyn_cast<AttentionOp>(op)) {
        attentions.push_back(a);
        ok &= succeeded(checkAttention(a));
      } else if (auto r = dyn_cast<RopeOp>(op)) {
        ropes.push_back(r);
      }
    });
    if (!ok)
      return failure();
    llvm::BitVector pastArguments, presentResults;
    if (failed(matchExportedCache(fn, attentions, pastArguments,
                                  presentResults)))
      return failure();
    if (attentions.empty())
      return emitError(fn.getLoc())
             << "--generate: the model has no attention that raising "
                "recognized (see --report-raising), so there is no KV cache "
                "to derive";
    FailureOr<int64_t> maybeCacheLength = chooseCacheLength(fn, ropes);
    if (failed(maybeCacheLength))
      return failure();
    int64_t cacheLength = *maybeCacheLength;
    bool paged = kvBlockSize > 0;
    int64_t columns = 0, numBlocks = 0;
    if (failed(choosePaging(fn, *boundary, cacheLength, columns, numBlocks)))
      return failure();
    SmallVector<std::pair<Value, Value>> tables(ropes.size());
    for (auto [rope, table] : llvm::zip(ropes, tables))
      if (failed(checkRope(rope, cacheLength, pastArguments, table.first,
                           table.second)))
        return failure();

    MLIRContext *ctx = fn.getContext();
    Block &body = fn.getBody().front();
    Location loc = fn.getLoc();
    auto tokensType = cast<RankedTensorType>(boundary->tokens.getType());
    int64_t batch = tokensType.getDimSize(0);
    Type i64 = IntegerType::get(ctx, 64);
    auto str = [&](StringRef s) { return StringAttr::get(ctx, s); };
    StringRef batchSymbol = boundary->batchSymbol;

    StepArguments args;
    if (failed(addStepArguments(fn, batch, batchSymbol, attentions, cacheLength,
                                columns, numBlocks, args)))
      return failure();
    Value pastLength = args.pastLength, blockTable = args.blockTable,
          windowTable = args.windowTable;
    int64_t windowBlocks = args.windowBlocks;

    OpBuilder b(ctx);
    b.setInsertionPointToStart(&body);
    // seq, and each sequence's length after this step.
    Value seq = tensor::DimOp::create(b, loc, boundary->tokens, 1);
    Value seq64 = arith::IndexCastOp::create(b, loc, i64, seq);
    Value seqTensor = tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get({}, i64), ValueRange{seq64});
    Value lengths =
        AddOp::create(b, loc, pastLength.getType(), pastLength, seqTensor);

    // The caches: arguments, updated by the step, returned as state. An
    // exported cache's present outputs are dropped: the step's caches
    // replace them.
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    CacheBuilder caches{
        fn,           b,          batch,
        cacheLength,  numBlocks,  paged ? int64_t(kvBlockSize) : 0,
        batchSymbol,  pastLength, blockTable,
        windowBlocks, windowTable};
    for (unsigned i = 0; i < fn.getNumResults(); ++i)
      if (!presentResults.test(i)) {
        caches.results.push_back(ret.getOperand(i));
        caches.resultAttrs.push_back(fn.getResultAttrDict(i));
      }
    ret->eraseOperands(presentResults);
    for (auto [i, op] : llvm::enumerate(attentions)) {
      std::string layer = std::to_string(i);
      // A windowed attention's cache is a ring of its window (paged: in
      // blocks of a pool of its own).
      std::optional<generation::RingShape> ring =
          generation::ringFor(op, cacheLength);
      if (ring && paged)
        attendOverPagedRingCaches(caches, op, layer, *ring, seq);
      else if (ring)
        attendOverRingCaches(caches, op, layer, *ring, seq);
      else
        attendOverFullCaches(caches, op, layer, lengths, seq);
    }

    // positions [batch, seq] = past_length[b] + s, for the ropes.
    if (!ropes.empty()) {
      b.setInsertionPointAfterValue(lengths);
      Value positions = buildPositions(b, loc, pastLength, seq);
      for (auto [rope, table] : llvm::zip(ropes, tables)) {
        b.setInsertionPoint(rope);
        auto replaced = RopeOp::create(
            b, rope.getLoc(), rope.getType(), rope.getInput(), table.first,
            table.second, positions, rope.getInterleavedAttr(),
            rope.getRotaryDimAttr());
        rope.getResult().replaceAllUsesWith(replaced.getResult());
        rope.erase();
      }
    }

    // The new signature: logits, then the updated caches.
    b.setInsertionPoint(ret);
    func::ReturnOp::create(b, ret.getLoc(), caches.results);
    ret.erase();
    SmallVector<Type> resultTypes;
    for (Value v : caches.results)
      resultTypes.push_back(v.getType());
    fn.setType(FunctionType::get(ctx, body.getArgumentTypes(), resultTypes));
    fn.setAllResultAttrs(caches.resultAttrs);

    if (failed(checkNoStrayPositions(fn)) ||
        failed(erasePastArguments(fn, pastArguments)) ||
        failed(limitSeqRange(fn, boundary->seqSymbol, cacheLength)))
      return failure();
    NamedAttrList generation;
    generation.set("max_seq", b.getI64IntegerAttr(cacheLength));
    generation.set("tokens", str(boundary->tokensName));
    generation.set("positions", str(kPastLengthName));
    generation.set("logits", str(boundary->logitsName));
    if (paged) {
      generation.set("kv_block_size", b.getI64IntegerAttr(kvBlockSize));
      generation.set("kv_blocks", b.getI64IntegerAttr(numBlocks));
      generation.set("block_table", str(kBlockTableName));
      if (windowTable) {
        generation.set("window_blocks", b.getI64IntegerAttr(windowBlocks));
        generation.set("window_block_table", str(kWindowBlockTableName));
      }
    }
    fn->setAttr("kiln.generation", generation.getDictionary(ctx));
    return success();
  }
};

} // namespace
