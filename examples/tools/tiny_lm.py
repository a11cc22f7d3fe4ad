"""What the example decoders share: the toy task they are trained on, the
training loop, the ONNX export and the reference outputs.

The task is arithmetic progressions modulo the vocabulary: a sequence
`a, a+d, a+2d, ...` (mod V) with a random start `a` and step `d` in 1..4.
After two tokens the next one is determined, so a few hundred steps of
training give a model whose greedy continuation of `5 8 11 14` is
`17 20 23 ...`: the demo's output can be read at a glance, and the logits
have clear winners, which makes top-1 agreement after quantization a
meaningful check (random weights give near-ties everywhere).

Every model takes `tokens` [1, SEQ] int64 and returns `logits`
[1, SEQ, vocab]; the shape is static (Kiln compiles static shapes).
"""
import os

import numpy as np
import torch
from torch import nn

SEQ = 16
PROMPT = [5, 8, 11, 14]  # the demo's and the references' prompt
MAX_STEP = 4


# The building blocks both decoders take from Hugging Face's Llama family
# (RMSNorm, a cached rotary table, RoPE by halves), written as HF writes them
# so the exports have HF's node patterns.
class RMSNorm(nn.Module):
    def __init__(self, hidden_size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(torch.float32)
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states.to(input_dtype)


class RotaryEmbedding(nn.Module):
    def __init__(self, dim, max_position_embeddings, base):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
        t = torch.arange(max_position_embeddings, dtype=torch.float32)
        freqs = torch.outer(t, inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos_cached", emb.cos(), persistent=False)
        self.register_buffer("sin_cached", emb.sin(), persistent=False)

    def forward(self, x, seq_len):
        return self.cos_cached[:seq_len].to(x.dtype), self.sin_cached[:seq_len].to(x.dtype)


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


class DecoderLayer(nn.Module):
    """Pre-norm residual block: attention, then the feed-forward block
    (stored as attribute `ffn_name`, the name HF's model gives it, so the
    export's node names are HF's)."""

    def __init__(self, config, attention, ffn_name, ffn):
        super().__init__()
        self.self_attn = attention
        self.ffn_name = ffn_name
        setattr(self, ffn_name, ffn)
        self.input_layernorm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)

    def forward(self, hidden_states, attention_mask, position_ids):
        residual = hidden_states
        hidden_states = self.input_layernorm(hidden_states)
        hidden_states = self.self_attn(hidden_states, attention_mask, position_ids)
        hidden_states = residual + hidden_states

        residual = hidden_states
        hidden_states = self.post_attention_layernorm(hidden_states)
        hidden_states = getattr(self, self.ffn_name)(hidden_states)
        return residual + hidden_states


class CausalLM(nn.Module):
    """Token embedding, `config.num_hidden_layers` layers made by
    `make_layer()`, a final norm and the LM head; `make_mask(input_ids,
    dtype)` builds the additive attention mask."""

    def __init__(self, config, make_layer, make_mask):
        super().__init__()
        self.config = config
        self.make_mask = make_mask
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(
            [make_layer() for _ in range(config.num_hidden_layers)])
        self.norm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)

    def forward(self, input_ids):
        seq_length = input_ids.shape[1]
        position_ids = torch.arange(seq_length, dtype=torch.long).unsqueeze(0)
        hidden_states = self.embed_tokens(input_ids)
        attention_mask = self.make_mask(input_ids, hidden_states.dtype)
        for decoder_layer in self.layers:
            hidden_states = decoder_layer(hidden_states, attention_mask, position_ids)
        hidden_states = self.norm(hidden_states)
        return self.lm_head(hidden_states).float()


def batch(rng, vocab, size, seq=SEQ):
    start = rng.integers(0, vocab, size=(size, 1))
    step = rng.integers(1, MAX_STEP + 1, size=(size, 1))
    return torch.from_numpy((start + step * np.arange(seq)) % vocab)


def train(model, vocab, steps=300, lr=3e-3, seed=0, after_step=None, log=print):
    """Next-token cross-entropy on the progressions; positions 0 and 1 are
    unpredictable and left out of the loss. `after_step(model)` runs after
    each optimizer step."""
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    model.train()
    for step in range(steps):
        x = batch(rng, vocab, 32)
        logits = model(x[:, :-1])
        loss = torch.nn.functional.cross_entropy(
            logits[:, 1:].reshape(-1, vocab), x[:, 2:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if after_step:
            after_step(model)
        if step % 100 == 0 or step == steps - 1:
            log("step %4d  loss %.4f" % (step, loss.item()))
    model.eval()


def prompt_tokens(prompt=PROMPT, seq=SEQ):
    """The prompt right-padded with zeros to [1, seq]. Causal attention
    makes the padding irrelevant to the logits at the prompt's positions."""
    tokens = np.zeros((1, seq), dtype=np.int64)
    tokens[0, :len(prompt)] = prompt
    return tokens


def reference_tokens(vocab, seq=SEQ, batch_size=1):
    """The fixed input the references are computed on: a full-length
    progression (every position is a real token); with `batch_size` > 1,
    one progression per sequence, each with its own start and step."""
    rows = [(7 + 5 * b + (3 + b % MAX_STEP) * np.arange(seq)) % vocab
            if b else (7 + 3 * np.arange(seq)) % vocab
            for b in range(batch_size)]
    return np.stack(rows).astype(np.int64)


def export(model, path, seq=SEQ, dynamic_batch=False):
    """torch.onnx.export at opset 17, static [1, seq] input; with
    `dynamic_batch`, [batch, seq] (the batch a dim_param, `--dim batch=N`
    pins it)."""
    dummy = torch.zeros((1, seq), dtype=torch.int64)
    axes = ({"tokens": {0: "batch"}, "logits": {0: "batch"}}
            if dynamic_batch else None)
    torch.onnx.export(model, (dummy,), path, opset_version=17,
                      input_names=["tokens"], output_names=["logits"],
                      do_constant_folding=True, dynamic_axes=axes)


def save_reference(model, out_dir, vocab, batch_size=1):
    """tokens.npy and PyTorch's logits for them (logits_torch.npy)."""
    tokens = reference_tokens(vocab, batch_size=batch_size)
    with torch.no_grad():
        logits = model(torch.from_numpy(tokens)).numpy().astype(np.float32)
    np.save(os.path.join(out_dir, "tokens.npy"), tokens)
    np.save(os.path.join(out_dir, "logits_torch.npy"), logits)
    return tokens, logits


def greedy(model, prompt=PROMPT, steps=8, seq=SEQ):
    """PyTorch's greedy continuation, decoded the way the demo decodes with
    Kiln: the fixed-length model on the padded prompt, read at the last
    real position."""
    tokens = list(prompt)
    with torch.no_grad():
        for _ in range(steps):
            logits = model(torch.from_numpy(prompt_tokens(tokens, seq)))
            tokens.append(int(logits[0, len(tokens) - 1].argmax()))
    return tokens[len(prompt):]
