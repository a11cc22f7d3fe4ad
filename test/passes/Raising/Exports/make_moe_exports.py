#!/usr/bin/python3
"""Writes the MoE raising inputs: tiny MoE blocks exported by torch.onnx.

Each module below is a small Mixtral- or DeepSeek-style MoE block written
the way Hugging Face's modeling code writes it, exported with
torch.onnx.export (opset 17, Debian's python3-torch 1.13) to
Inputs/<name>.onnx. Beside each model, Inputs/<name>.npz keeps one input
`x` and the module's own output `y` (float32), so that the end-to-end
check (test/e2e/raising/check_raise_moe.py) compares against PyTorch
without needing PyTorch.

  moe_mixtral_dense      softmax -> top-2 -> renormalize; the weights
                         scattered into a dense [tokens, experts] matrix;
                         every expert (SwiGLU, sigmoid(x) * x) on every
                         token, scaled by its column, summed
  moe_mixtral_onehot     the same routing without renormalization, the
                         dense matrix built as sum(one_hot(idx) * w), the
                         experts' activation written as F.silu
  moe_mixtral_sparse     HF Mixtral's loop: one_hot -> permute -> per
                         expert torch.where (NonZero) -> gather tokens ->
                         expert -> * routing weight -> index_add_
  moe_mixtral_sparse_equal
                         the same loop selecting tokens by
                         torch.where(selected_experts == e) (Equal)
  moe_deepseek_sparse    the same loop with HF DeepSeek-V3's mask,
                         one_hot -> permute(2, 0, 1) (tokens first)
  moe_near_miss_sparse_mixing
                         moe_mixtral_sparse whose experts add the mean of
                         the tokens routed to them: not a function of each
                         token alone, so the dense form would differ and
                         the NonZero stays rejected
  moe_deepseek           DeepSeek-V3's gate: sigmoid scores, a selection
                         bias, 4 groups scored by their top-2 sum, 2 kept
                         (others masked with 0), top-2 experts, weights
                         gathered from the unbiased scores, normalized,
                         times 2.5; dense dispatch; a shared SwiGLU expert
  moe_near_miss_shapes   Mixtral dense form whose experts differ in
                         intermediate size (cannot be stacked)
  moe_near_miss_axis     the router's softmax taken over the token axis
                         instead of the experts
  moe_mixtral_reference  Mixtral's reference routing (top-k of the logits,
                         softmax of the k values), 5 ungated ReLU experts
                         whose linear layers have biases
  moe_near_miss_fill     moe_deepseek with partly negative selection biases:
                         the masked experts' fill 0 is above some eligible
                         selection scores, which moe_route cannot express
  moe_near_miss_biased_weights
                         moe_deepseek weighting the chosen experts by their
                         biased selection scores

Run from anywhere; rewrites every file it owns.
"""
import os
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F

from export_case import save_case

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "Inputs")


class ReLUExpert(nn.Module):
    """w2(relu(w1 x + b1)) + b2: an ungated expert with biases."""

    def __init__(self, hidden, inter):
        super().__init__()
        self.w1 = nn.Linear(hidden, inter)
        self.w2 = nn.Linear(inter, hidden)

    def forward(self, x):
        return self.w2(torch.relu(self.w1(x)))


class SwiGLUExpert(nn.Module):
    """w2(act(w1 x) * w3 x), Mixtral's MixtralBlockSparseTop2MLP."""

    def __init__(self, hidden, inter, use_silu):
        super().__init__()
        self.w1 = nn.Linear(hidden, inter, bias=False)
        self.w2 = nn.Linear(inter, hidden, bias=False)
        self.w3 = nn.Linear(hidden, inter, bias=False)
        self.use_silu = use_silu

    def forward(self, x):
        g = self.w1(x)
        act = F.silu(g) if self.use_silu else torch.sigmoid(g) * g
        return self.w2(act * self.w3(x))


class MixtralDense(nn.Module):
    def __init__(self, hidden=16, inter=8, experts=4, k=2, renormalize=True,
                 onehot=False, use_silu=False, inters=None, softmax_dim=1,
                 reference=False, relu=False):
        super().__init__()
        self.k, self.num_experts = k, experts
        self.renormalize, self.onehot = renormalize, onehot
        self.softmax_dim = softmax_dim
        self.reference = reference
        self.gate = nn.Linear(hidden, experts, bias=False)
        inters = inters or [inter] * experts
        self.experts = nn.ModuleList(
            [ReLUExpert(hidden, f) if relu else SwiGLUExpert(hidden, f, use_silu)
             for f in inters])

    def forward(self, x):
        b, s, h = x.shape
        x = x.view(-1, h)
        logits = self.gate(x)
        probs = F.softmax(logits, dim=self.softmax_dim, dtype=torch.float)
        if self.reference:
            # Mixtral's reference code: top-k of the logits, softmax of the
            # k chosen ones (the renormalized top-k probabilities).
            w, idx = torch.topk(logits, self.k, dim=-1)
            w = F.softmax(w, dim=1, dtype=torch.float)
        else:
            w, idx = torch.topk(probs, self.k, dim=-1)
        if self.renormalize:
            w = w / w.sum(dim=-1, keepdim=True)
        if self.onehot:
            dense = (F.one_hot(idx, self.num_experts) * w.unsqueeze(-1)).sum(1)
        else:
            dense = torch.zeros_like(probs).scatter(1, idx, w)
        out = torch.zeros_like(x)
        for e, expert in enumerate(self.experts):
            out = out + expert(x) * dense[:, e:e + 1]
        return out.view(b, s, h)


class TokenMixingExpert(SwiGLUExpert):
    """A SwiGLU expert plus the mean of the tokens it is given: its output
    for a token depends on which other tokens were routed with it."""

    def forward(self, x):
        return super().forward(x) + x.mean(dim=0, keepdim=True)


class MixtralSparse(nn.Module):
    """HF MixtralSparseMoeBlock.forward (transformers 4.36), verbatim, but
    for `mask`: "equal" selects each expert's tokens by
    torch.where(selected_experts == expert_idx), "deepseek" by HF
    DeepSeek-V3's one_hot(...).permute(2, 0, 1) mask (both [tokens, k], so
    where returns the tokens first)."""

    def __init__(self, hidden=16, inter=8, experts=4, k=2, mixing=False,
                 mask="mixtral"):
        super().__init__()
        self.mask = mask
        self.top_k, self.num_experts, self.hidden_dim = k, experts, hidden
        self.gate = nn.Linear(hidden, experts, bias=False)
        expert = TokenMixingExpert if mixing else SwiGLUExpert
        self.experts = nn.ModuleList(
            [expert(hidden, inter, True) for _ in range(experts)])

    def forward(self, hidden_states):
        batch_size, sequence_length, hidden_dim = hidden_states.shape
        hidden_states = hidden_states.view(-1, hidden_dim)
        router_logits = self.gate(hidden_states)
        routing_weights = F.softmax(router_logits, dim=1, dtype=torch.float)
        routing_weights, selected_experts = torch.topk(
            routing_weights, self.top_k, dim=-1)
        routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
        routing_weights = routing_weights.to(hidden_states.dtype)
        final_hidden_states = torch.zeros(
            (batch_size * sequence_length, hidden_dim),
            dtype=hidden_states.dtype, device=hidden_states.device)
        expert_mask = F.one_hot(
            selected_experts, num_classes=self.num_experts).permute(
                (2, 0, 1) if self.mask == "deepseek" else (2, 1, 0))
        for expert_idx in range(self.num_experts):
            expert_layer = self.experts[expert_idx]
            if self.mask == "equal":
                top_x, idx = torch.where(selected_experts == expert_idx)
            elif self.mask == "deepseek":
                top_x, idx = torch.where(expert_mask[expert_idx])
            else:
                idx, top_x = torch.where(expert_mask[expert_idx])
            current_state = hidden_states[None, top_x].reshape(-1, hidden_dim)
            current_hidden_states = (expert_layer(current_state)
                                     * routing_weights[top_x, idx, None])
            final_hidden_states.index_add_(
                0, top_x, current_hidden_states.to(hidden_states.dtype))
        return final_hidden_states.reshape(
            batch_size, sequence_length, hidden_dim)


class DeepSeekMoE(nn.Module):
    """DeepSeek-V3's MoEGate (noaux_tc) and DeepseekV3MoE, with the experts
    dispatched in dense form (moe_infer's argsort/bincount loop runs in
    NumPy and does not export)."""

    def __init__(self, hidden=16, inter=4, experts=8, k=2, n_group=4,
                 topk_group=2, scale=2.5, norm=True, fill=0.0,
                 bias_shift=0.0, weights_from_selection=False):
        super().__init__()
        self.top_k, self.n_routed_experts = k, experts
        self.n_group, self.topk_group = n_group, topk_group
        self.routed_scaling_factor, self.norm_topk_prob = scale, norm
        self.fill = fill
        self.weight = nn.Parameter(torch.randn(experts, hidden) * 0.5)
        # Positive, as trained correction biases mostly are; it must steer
        # selection visibly for the test to mean anything.
        self.e_score_correction_bias = nn.Parameter(
            torch.rand(experts) * 0.5 - bias_shift)
        self.weights_from_selection = weights_from_selection
        self.experts = nn.ModuleList(
            [SwiGLUExpert(hidden, inter, True) for _ in range(experts)])
        self.shared_experts = SwiGLUExpert(hidden, 2 * inter, True)

    def gate(self, hidden_states):
        bsz, seq_len, h = hidden_states.shape
        hidden_states = hidden_states.view(-1, h)
        logits = F.linear(hidden_states.type(torch.float32),
                          self.weight.type(torch.float32), None)
        scores = logits.sigmoid()
        scores_for_choice = (scores.view(bsz * seq_len, -1)
                             + self.e_score_correction_bias.unsqueeze(0))
        group_scores = (scores_for_choice.view(bsz * seq_len, self.n_group, -1)
                        .topk(2, dim=-1)[0].sum(dim=-1))
        group_idx = torch.topk(group_scores, k=self.topk_group, dim=-1,
                               sorted=False)[1]
        group_mask = torch.zeros_like(group_scores)
        group_mask.scatter_(1, group_idx, 1)
        score_mask = (group_mask.unsqueeze(-1)
                      .expand(bsz * seq_len, self.n_group,
                              self.n_routed_experts // self.n_group)
                      .reshape(bsz * seq_len, -1))
        tmp_scores = scores_for_choice.masked_fill(~score_mask.bool(),
                                                   self.fill)
        _, topk_idx = torch.topk(tmp_scores, k=self.top_k, dim=-1,
                                 sorted=False)
        source = scores_for_choice if self.weights_from_selection else scores
        topk_weight = source.gather(1, topk_idx)
        if self.top_k > 1 and self.norm_topk_prob:
            denominator = topk_weight.sum(dim=-1, keepdim=True) + 1e-20
            topk_weight = topk_weight / denominator
        topk_weight = topk_weight * self.routed_scaling_factor
        return topk_idx, topk_weight

    def forward(self, hidden_states):
        identity = hidden_states
        orig_shape = hidden_states.shape
        topk_idx, topk_weight = self.gate(hidden_states)
        x = hidden_states.view(-1, hidden_states.shape[-1])
        dense = torch.zeros(x.shape[0], self.n_routed_experts).scatter(
            1, topk_idx, topk_weight)
        y = torch.zeros_like(x)
        for e, expert in enumerate(self.experts):
            y = y + expert(x) * dense[:, e:e + 1]
        y = y.view(*orig_shape)
        return y + self.shared_experts(identity)


def check_deepseek_routing(model, x):
    """The stored input must exercise what the DeepSeek gate adds: some
    tokens' choice changes with the selection bias, and some with the group
    restriction, or the test could not tell them from plain top-k."""
    h = x.view(-1, x.shape[-1])
    scores = torch.sigmoid(h @ model.weight.t())
    biased = scores + model.e_score_correction_bias

    def chosen(s):
        return torch.topk(s, model.top_k).indices.sort(dim=-1).values

    grouped = model.gate(x)[0].sort(dim=-1).values
    by_bias = (chosen(scores) != chosen(biased)).any(-1).sum().item()
    by_group = (chosen(biased) != grouped).any(-1).sum().item()
    assert by_bias >= 2 and by_group >= 2, (by_bias, by_group)


MODELS = {
    "moe_mixtral_dense": lambda: MixtralDense(),
    "moe_mixtral_onehot": lambda: MixtralDense(renormalize=False, onehot=True,
                                               use_silu=True),
    "moe_mixtral_sparse": lambda: MixtralSparse(),
    "moe_mixtral_sparse_equal": lambda: MixtralSparse(mask="equal"),
    "moe_deepseek_sparse": lambda: MixtralSparse(mask="deepseek"),
    "moe_near_miss_sparse_mixing": lambda: MixtralSparse(mixing=True),
    "moe_deepseek": lambda: DeepSeekMoE(),
    "moe_near_miss_shapes": lambda: MixtralDense(inters=[8, 8, 4, 8]),
    "moe_near_miss_axis": lambda: MixtralDense(softmax_dim=0),
    "moe_mixtral_reference": lambda: MixtralDense(reference=True, relu=True,
                                                  experts=5, inter=6),
    "moe_near_miss_fill": lambda: DeepSeekMoE(bias_shift=0.3),
    "moe_near_miss_biased_weights": lambda: DeepSeekMoE(
        weights_from_selection=True),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, make in sorted(MODELS.items()):
        torch.manual_seed(zlib.crc32(name.encode()))  # stable per model
        model = make().eval()
        x = torch.randn(2, 8, 16)
        if name == "moe_deepseek":
            with torch.no_grad():
                check_deepseek_routing(model, x)
        save_case(OUT, name, model, {"x": x})


if __name__ == "__main__":
    main()
