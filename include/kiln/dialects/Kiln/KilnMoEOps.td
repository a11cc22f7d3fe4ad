//===- KilnMoEOps.td - Mixture-of-experts routing and experts -*- tablegen -*-===//
//
// A MoE layer is kiln.moe_route (which experts each token goes to, with
// what weight) followed by kiln.moe_experts (the routed tokens through their
// experts' feed-forward networks, weighted and summed). Shared experts are
// ordinary dense layers added to the result. Included from KilnOps.td.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_MOE_OPS_TD
#define KILN_MOE_OPS_TD

def Kiln_RouterScoring : I32EnumAttr<"RouterScoring",
    "how router logits become expert scores", [
      I32EnumAttrCase<"Softmax", 0, "softmax">,
      I32EnumAttrCase<"Sigmoid", 1, "sigmoid">
    ]> {
  let cppNamespace = "::kiln";
  let genSpecializedAttr = 0;
}
def Kiln_RouterScoringAttr
    : EnumAttr<Kiln_Dialect, Kiln_RouterScoring, "router_scoring"> {
  let assemblyFormat = "`<` $value `>`";
}

def Kiln_GroupScoring : I32EnumAttr<"GroupScoring",
    "how a group of experts is scored for group-limited routing", [
      I32EnumAttrCase<"TopTwoSum", 0, "top2_sum">,
      I32EnumAttrCase<"Max", 1, "max">
    ]> {
  let cppNamespace = "::kiln";
  let genSpecializedAttr = 0;
}
def Kiln_GroupScoringAttr
    : EnumAttr<Kiln_Dialect, Kiln_GroupScoring, "group_scoring"> {
  let assemblyFormat = "`<` $value `>`";
}

def Kiln_ExpertActivation : I32EnumAttr<"ExpertActivation",
    "the nonlinearity inside each expert", [
      I32EnumAttrCase<"SwiGLU", 0, "swiglu">,
      I32EnumAttrCase<"GELU", 1, "gelu">,
      I32EnumAttrCase<"ReLU", 2, "relu">,
      I32EnumAttrCase<"SiLU", 3, "silu">,
      I32EnumAttrCase<"GELUTanh", 4, "gelu_tanh">,
      I32EnumAttrCase<"Identity", 5, "identity">
    ]> {
  let cppNamespace = "::kiln";
  let genSpecializedAttr = 0;
}
def Kiln_ExpertActivationAttr
    : EnumAttr<Kiln_Dialect, Kiln_ExpertActivation, "expert_activation"> {
  let assemblyFormat = "`<` $value `>`";
}

def Kiln_MoERouteOp : Kiln_Op<"moe_route", [Pure, Kiln_ReifiesShapes]> {
  let summary = "top-k expert routing with grouping, bias and capacity";
  let description = [{
    Routes each of `T` tokens to `k` of `E` experts from router `logits`
    `[T, E]`:

    1. `scores = softmax(logits)` over experts, or `sigmoid(logits)`.
    2. Selection scores are `scores + score_bias` (the optional `[E]` bias
       steers selection only; it never enters the weights).
    3. With `num_groups > 1`, experts form `num_groups` contiguous groups,
       each scored by `group_scoring`: `top2_sum` (the default,
       DeepSeek-V3's `noaux_tc`), the sum of its two highest selection
       scores (its only one when a group has one expert), or `max`
       (DeepSeek-V2's `group_limited_greedy`), its highest; per token only
       the `top_groups` best groups stay eligible.
    4. The `k` eligible experts with the highest selection scores are
       chosen, best first (ties: lower expert index first).
    5. `weights` are the chosen experts' `scores`; with `normalize` they are
       divided by their sum; then multiplied by `routed_scale`.
    6. With `capacity > 0`, each expert takes at most `capacity`
       assignments, in token order (token 0's choices first, and within a
       token in choice order); later ones are dropped: their weight becomes
       0 and their expert -1.

    `counts[e]` is the number of tokens routed to expert `e` before any
    drop, for load monitoring.

    Example (DeepSeek-style: sigmoid, bias, 8 groups keep 4):

    ```mlir
    %w, %e, %n = kiln.moe_route %logits bias %b {k = 8 : i64,
        scoring = #kiln.router_scoring<sigmoid>, normalize = true,
        num_groups = 8 : i64, top_groups = 4 : i64, routed_scale = 2.5 : f32}
        : (tensor<16x256xf32>, tensor<256xf32>)
        -> (tensor<16x8xf32>, tensor<16x8xi64>, tensor<256xi64>)
    ```

    DeepSeek-V2's groups, scored by their best expert:

    ```mlir
    %w, %e, %n = kiln.moe_route %logits {k = 6 : i64, num_groups = 8 : i64,
        top_groups = 3 : i64, group_scoring = #kiln.group_scoring<max>,
        routed_scale = 16.0 : f32}
        : (tensor<16x160xf32>) -> (tensor<16x6xf32>, tensor<16x6xi64>,
                                   tensor<160xi64>)
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$logits,
                       Optional<Kiln_FloatTensor>:$score_bias, I64Attr:$k,
                       DefaultValuedAttr<Kiln_RouterScoringAttr,
                           "::kiln::RouterScoring::Softmax">:$scoring,
                       DefaultValuedAttr<BoolAttr, "false">:$normalize,
                       DefaultValuedAttr<I64Attr, "1">:$num_groups,
                       DefaultValuedAttr<I64Attr, "1">:$top_groups,
                       DefaultValuedAttr<Kiln_GroupScoringAttr,
                           "::kiln::GroupScoring::TopTwoSum">:$group_scoring,
                       DefaultValuedAttr<I64Attr, "0">:$capacity,
                       DefaultValuedAttr<F32Attr, "1.0f">:$routed_scale);
  let results = (outs Kiln_FloatTensor:$weights,
                      RankedTensorOf<[I64]>:$experts,
                      RankedTensorOf<[I64]>:$counts);
  let assemblyFormat = [{
    $logits (`bias` $score_bias^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Kiln_MoEExpertsOp : Kiln_Op<"moe_experts",
    [Pure, Kiln_ReifiesShapes, AttrSizedOperandSegments]> {
  let summary = "routed tokens through their experts, weighted and summed";
  let description = [{
    For tokens `x` `[T, H]` routed by `experts` `[T, k]` (an expert index, or
    -1 for a dropped assignment) with `weights` `[T, k]`:

    `y[t] = sum over c with experts[t, c] >= 0 of
            weights[t, c] * FFN_e(x[t])`, `e = experts[t, c]`,

    where `FFN_e(v) = w_down[e] @ act(g) + b_down[e]` with
    `g = w_gate[e] @ v + b_gate[e]`. Weights are laid out as in PyTorch's
    `nn.Linear`: `w_gate`, `w_up` `[E, F, H]`, `w_down` `[E, H, F]`; the
    optional biases are `b_gate`, `b_up` `[E, F]` and `b_down` `[E, H]`
    (a missing bias is zero). The activation is one of:

    | activation | `act(g)` |
    |---|---|
    | `swiglu` | `G * sigmoid(swiglu_alpha * G) * (L + swiglu_beta)` |
    | `gelu` | `g * Phi(g)`, exact (erf) |
    | `gelu_tanh` | `g * Phi(g)`, tanh approximation |
    | `relu` | `max(g, 0)` |
    | `silu` | `g * sigmoid(g)` |
    | `identity` | `g` |

    For SwiGLU, `u = w_up[e] @ v + b_up[e]` and, with `swiglu_limit` set,
    `G = min(g, limit)` and `L = clamp(u, -limit, limit)`; without it
    `G = g` and `L = u`. The defaults (`swiglu_alpha = 1`,
    `swiglu_beta = 0`, no limit) give `silu(g) * u`; GPT-OSS uses
    `alpha = 1.702`, `beta = 1`, `limit = 7`. `w_up` (and `b_up`) are
    present exactly for SwiGLU, and the `swiglu_*` attributes are only
    allowed with it. Only routed tokens are computed.

    Example:

    ```mlir
    %y = kiln.moe_experts %x, %e, %w, %gate, %down up %up
        {activation = #kiln.expert_activation<swiglu>}
        : (tensor<16x64xf32>, tensor<16x2xi64>, tensor<16x2xf32>,
           tensor<8x128x64xf32>, tensor<8x64x128xf32>, tensor<8x128x64xf32>)
        -> tensor<16x64xf32>
    %z = kiln.moe_experts %x, %e, %w, %gate, %down gate_bias %bg
        down_bias %bd {activation = #kiln.expert_activation<gelu_tanh>}
        : (tensor<16x64xf32>, tensor<16x2xi64>, tensor<16x2xf32>,
           tensor<8x128x64xf32>, tensor<8x64x128xf32>, tensor<8x128xf32>,
           tensor<8x64xf32>) -> tensor<16x64xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, RankedTensorOf<[I64]>:$experts,
                       Kiln_FloatTensor:$weights, Kiln_FloatTensor:$w_gate,
                       Kiln_FloatTensor:$w_down,
                       Optional<Kiln_FloatTensor>:$w_up,
                       Optional<Kiln_FloatTensor>:$b_gate,
                       Optional<Kiln_FloatTensor>:$b_up,
                       Optional<Kiln_FloatTensor>:$b_down,
                       Kiln_ExpertActivationAttr:$activation,
                       OptionalAttr<F32Attr>:$swiglu_limit,
                       DefaultValuedAttr<F32Attr, "1.0f">:$swiglu_alpha,
                       DefaultValuedAttr<F32Attr, "0.0f">:$swiglu_beta);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $experts `,` $weights `,` $w_gate `,` $w_down
    (`up` $w_up^)? (`gate_bias` $b_gate^)? (`up_bias` $b_up^)?
    (`down_bias` $b_down^)? attr-dict `:` functional-type(operands, results)
  }];
  // The original form (no biases, default SwiGLU parameters), kept for
  // callers written before the biases existed.
  let builders = [
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$input,
                   "::mlir::Value":$experts, "::mlir::Value":$weights,
                   "::mlir::Value":$w_gate, "::mlir::Value":$w_down,
                   "::mlir::Value":$w_up, "::kiln::ExpertActivation":$activation), [{
      build($_builder, $_state, result, input, experts, weights, w_gate, w_down,
            w_up, /*b_gate=*/::mlir::Value(), /*b_up=*/::mlir::Value(),
            /*b_down=*/::mlir::Value(),
            ::kiln::ExpertActivationAttr::get($_builder.getContext(), activation),
            /*swiglu_limit=*/::mlir::FloatAttr(),
            $_builder.getF32FloatAttr(1.0f), $_builder.getF32FloatAttr(0.0f));
    }]>
  ];
  let hasVerifier = 1;
}

#endif // KILN_MOE_OPS_TD
