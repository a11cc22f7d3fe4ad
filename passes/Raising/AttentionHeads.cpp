//===- AttentionHeads.cpp - K/V head repeats traced to their source -------===//
//
// kiln-raise-attention's GQA step (Attention.h). Exporters repeat K and V
// to the query's heads before the matmuls:
//
//   HF repeat_kv         [B, KVH, T, D] -> reshape [B, KVH, 1, T, D]
//                        -> broadcast [B, KVH, n, T, D] -> reshape [B, H, T, D]
//   repeat_interleave    Split along the heads, each piece expanded as
//                        above, Concat along the heads
//   a tile               as repeat_kv with the broadcast on the other axis
//
// headSource follows those ops and says, for each head of the result,
// which head of the un-repeated tensor it reads.
//
//===----------------------------------------------------------------------===//

#include "Attention.h"
#include "RaisingUtils.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::attention;

namespace {

/// Whether `o` is [B, *, T, D] with the B, T and D of `t`.
bool sameExceptHeads(RankedTensorType o, RankedTensorType t) {
  return o.getRank() == 4 && o.getDimSize(0) == t.getDimSize(0) &&
         o.getDimSize(2) == t.getDimSize(2) &&
         o.getDimSize(3) == t.getDimSize(3);
}

/// Whether `o` is [B, a1, a2, T, D] with the B, T and D of `t` ([B, ...,
/// T, D]).
bool splitHeadsOf(RankedTensorType o, RankedTensorType t) {
  int64_t r = t.getRank();
  return o.getRank() == 5 && o.getDimSize(0) == t.getDimSize(0) &&
         o.getDimSize(3) == t.getDimSize(r - 2) &&
         o.getDimSize(4) == t.getDimSize(r - 1);
}

/// torch.repeat_interleave: per-head pieces concatenated along the heads.
std::optional<HeadSource> concatOfHeads(ConcatOp cat, unsigned depth) {
  if (cat.getAxis() != 1)
    return std::nullopt;
  HeadSource joined;
  for (Value in : cat.getInputs()) {
    HeadSource part = headSource(in, depth + 1);
    if (joined.base && part.base != joined.base)
      return std::nullopt;
    joined.base = part.base;
    llvm::append_range(joined.heads, part.heads);
  }
  return joined;
}

/// A range of heads (ONNX Split along the heads).
std::optional<HeadSource> sliceOfHeads(SliceOp sl, unsigned depth) {
  auto t = sl.getType();
  if (!sameExceptHeads(sl.getInput().getType(), t))
    return std::nullopt;
  ArrayRef<int64_t> starts = sl.getStarts(), steps = sl.getSteps();
  for (int64_t d : {0, 2, 3})
    if (starts[d] != 0 || steps[d] != 1)
      return std::nullopt;
  HeadSource inner = headSource(sl.getInput(), depth + 1);
  HeadSource result{inner.base, {}};
  for (int64_t o = 0; o < t.getDimSize(1); ++o)
    result.heads.push_back(inner.heads[starts[1] + o * steps[1]]);
  return result;
}

/// [B, a1, a2, T, D] -> [B, a1 * a2, T, D], the 5-D tensor a broadcast of
/// a reshape of [B, b1 * b2, T, D] with b1 in {1, a1}, b2 in {1, a2}:
/// repeat_kv's unsqueeze + expand + reshape (b2 = 1), or a tile (b1 = 1).
std::optional<HeadSource> mergedHeads(Value merged, Value input,
                                      unsigned depth) {
  auto t = cast<RankedTensorType>(merged.getType());
  auto xt = cast<RankedTensorType>(input.getType());
  if (!splitHeadsOf(xt, t))
    return std::nullopt;
  int64_t a1 = xt.getDimSize(1), a2 = xt.getDimSize(2);
  Value y = input;
  if (Value stretched = raising::broadcastInput(y))
    y = stretched;
  auto yt = cast<RankedTensorType>(y.getType());
  if (!splitHeadsOf(yt, xt))
    return std::nullopt;
  int64_t b1 = yt.getDimSize(1), b2 = yt.getDimSize(2);
  if ((b1 != 1 && b1 != a1) || (b2 != 1 && b2 != a2))
    return std::nullopt;
  Value split = raising::reshapeInput(y);
  auto st = split ? dyn_cast<RankedTensorType>(split.getType())
                  : RankedTensorType();
  if (!st || !sameExceptHeads(st, t) || st.getDimSize(1) != b1 * b2)
    return std::nullopt;
  HeadSource inner = headSource(split, depth + 1);
  HeadSource result{inner.base, {}};
  for (int64_t i1 = 0; i1 < a1; ++i1)
    for (int64_t i2 = 0; i2 < a2; ++i2)
      result.heads.push_back(
          inner.heads[(b1 == 1 ? 0 : i1) * b2 + (b2 == 1 ? 0 : i2)]);
  return result;
}

} // namespace

HeadSource kiln::attention::headSource(Value v, unsigned depth) {
  auto t = cast<RankedTensorType>(v.getType());
  HeadSource self{v, {}};
  if (t.getRank() != 4)
    return self;
  for (int64_t h = 0; h < t.getDimSize(1); ++h)
    self.heads.push_back(h);
  Operation *op = v.getDefiningOp();
  if (!op || depth > 16)
    return self;
  std::optional<HeadSource> traced =
      llvm::TypeSwitch<Operation *, std::optional<HeadSource>>(op)
          .Case([&](ConcatOp cat) { return concatOfHeads(cat, depth); })
          .Case([&](SliceOp slice) { return sliceOfHeads(slice, depth); })
          .Default([&](Operation *) -> std::optional<HeadSource> {
            if (Value input = raising::reshapeInput(v))
              return mergedHeads(v, input, depth);
            return std::nullopt;
          });
  return traced ? *traced : self;
}

int64_t kiln::attention::groupedHeads(const HeadSource &s) {
  int64_t kv = cast<RankedTensorType>(s.base.getType()).getDimSize(1);
  int64_t h = s.heads.size();
  if (kv == 0 || h % kv != 0)
    return 0;
  for (int64_t o = 0; o < h; ++o)
    if (s.heads[o] != o / (h / kv))
      return 0;
  return kv;
}
