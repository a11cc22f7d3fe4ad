//===- Attention.h - The parts of kiln-raise-attention ----------*- C++ -*-===//
//
// Private to passes/Raising: the steps RaiseAttention.cpp runs, one file
// each (see RaiseAttention.cpp for the pattern):
//
//   AttentionScores.cpp  from the softmax back to q @ kT: scale, softcap,
//                        masks, Llama's clamp
//   AttentionHeads.cpp   K/V head repeats (repeat_kv, repeat_interleave)
//                        traced back to the un-repeated heads (GQA)
//   AttentionMask.cpp    constant masks evaluated and matched to a mask
//                        kind; the rest combined into the mask operand
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_RAISING_ATTENTION_H
#define KILN_PASSES_RAISING_ATTENTION_H

#include "kiln/dialects/Kiln/KilnEvaluate.h"
#include "kiln/dialects/Kiln/KilnOps.h"

#include "mlir/IR/Builders.h"

#include <optional>
#include <string>

namespace kiln::attention {

/// A fill at or below this removes a key: exp(fill - max) is exactly 0 in
/// f32 for any scores smaller than about 1e8 in magnitude.
constexpr double kRemovingFill = -1e9;

/// A clamp max(scores, C) folds into an additive mask as max(mask, C) only
/// when scores + C rounds to C, i.e. C is huge (finfo(f32).min is -3.4e38).
constexpr double kClampFloor = -1e30;

//===----------------------------------------------------------------------===//
// The scores (AttentionScores.cpp)
//===----------------------------------------------------------------------===//

/// One mask applied to the scores between the matmul and the softmax.
struct MaskTerm {
  enum Kind {
    Add,       // scores + value
    Remove,    // select(value, -inf, scores)
    Keep,      // select(value, scores, -inf)
    FillIf,    // select(value, fill, scores), fill <= kRemovingFill
    FillIfNot, // select(value, scores, fill)
  } kind;
  mlir::Value value;
  double fill = 0;
};

struct AttentionMatch {
  SoftmaxOp softmax;
  MatmulOp scores, output;
  mlir::Value query, keyT;
  /// When the scores were computed on merged heads ([B * H, S, L], then
  /// reshaped: GPT-NeoX's baddbmm), query and keyT are the [B, H, ..]
  /// tensors before the merge, and kT's dim i is keyT's dim keyTPerm[i]
  /// (empty: keyT is kT).
  llvm::SmallVector<int64_t> keyTPerm;
  double scale = 1, softcap = 0;
  llvm::SmallVector<MaskTerm> masks;
  /// HF Llama's torch.max(scores, finfo.min) after the masks, if any.
  std::optional<double> clamp;
};

/// The value of a splat float constant.
std::optional<double> splatValue(mlir::Value v);

/// A constant, or data movement of one (a weight, not an activation).
bool isConstantLike(mlir::Value v, unsigned depth = 0);

/// Whether `v` is q @ kT of two activations, possibly scaled, capped or
/// masked: the scores of an attention.
bool reachesScores(mlir::Value v, unsigned depth = 0);

/// Walks back from the softmax input to the q @ kT matmul, collecting the
/// scale, the softcap and the masks in kiln.attention's order (scale, then
/// softcap, then masks). Returns why it fails, or "".
std::string matchScores(AttentionMatch &m);

//===----------------------------------------------------------------------===//
// K/V heads (AttentionHeads.cpp)
//===----------------------------------------------------------------------===//

/// Where each head of a [B, H, T, D] tensor comes from: head `o` is head
/// `heads[o]` of `base`, through the repeats PyTorch exports.
struct HeadSource {
  mlir::Value base;
  llvm::SmallVector<int64_t> heads;
};

HeadSource headSource(mlir::Value v, unsigned depth = 0);

/// The number of key/value heads when `s` is kiln.attention's grouping of
/// its base (output head o reads base head o / group), or 0.
int64_t groupedHeads(const HeadSource &s);

//===----------------------------------------------------------------------===//
// Masks (AttentionMask.cpp)
//===----------------------------------------------------------------------===//

/// How the masks become kiln.attention operands and attributes.
struct MaskPlan {
  MaskKind kind = MaskKind::None;
  int64_t left = -1, right = -1;
  llvm::SmallVector<MaskTerm> operandTerms; // combined into the mask operand

  /// The kind of a band that keeps the keys from `left` positions before
  /// each query to `right` after it (none: unbounded on that side): none,
  /// causal, or a sliding window.
  void setBand(std::optional<int64_t> keepLeft,
               std::optional<int64_t> keepRight) {
    if (!keepLeft && !keepRight) {
      kind = MaskKind::None;
    } else if (!keepLeft && keepRight == 0) {
      kind = MaskKind::Causal;
    } else {
      kind = MaskKind::SlidingWindow;
      left = keepLeft.value_or(-1);
      right = keepRight.value_or(-1);
    }
  }
};

/// Whether computing `v` involves `target` (conservatively yes when the
/// search grows too large).
bool dependsOn(mlir::Value v, mlir::Operation *target);

/// Splits the masks of `m` (scores [.., s, l]) into a mask kind and the
/// terms of the mask operand: constant positional terms that together are
/// exactly causal or a sliding window become the kind. Fails (with the
/// reason) when a mask depends on the scores. With `pastKeys` (the keys
/// are `concat(pastKeys, new)`, which kiln.attention takes as its cache)
/// a mask kind is only chosen where it holds with the queries placed after
/// the cache; other masks become the operand, over all the keys.
std::string planMasks(const AttentionMatch &m, int64_t s, int64_t l,
                      BlockEvaluator &evaluator, MaskPlan &plan,
                      mlir::Value pastKeys);

/// planMasks' positional step for a run-time sequence length: the terms
/// built from indices alone (Range, Trilu of a fill, compares, Where,
/// Expand, reshapes) are read symbolically as functions of j - i
/// (AttentionMaskBands.cpp); when together they are a mask kind at every
/// length it goes into `plan`. The other terms, and all of them when they
/// are no mask kind, are added to the plan's operand terms. With
/// `pastKeys`, a mask concatenated from a constant over the past keys and
/// a mask over the new ones is read as the new part, and the kind must be
/// causal or none with every past key kept.
void planPositionalBands(llvm::ArrayRef<MaskTerm> terms, MaskPlan &plan,
                         mlir::Value pastKeys);

/// The one mask operand the remaining terms make: i1 (true keeps a pair)
/// when all of them remove pairs, else a float mask added to the scores;
/// with a clamp, max(sum of the terms as additive masks, clamp).
mlir::Value buildMaskOperand(mlir::OpBuilder &b, mlir::Location loc,
                             llvm::ArrayRef<MaskTerm> terms, mlir::Type elt,
                             std::optional<double> clamp);

} // namespace kiln::attention

#endif // KILN_PASSES_RAISING_ATTENTION_H
