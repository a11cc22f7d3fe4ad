"""Generation from Python: kiln.compile(generate=True) turns a decoder
exported without past_key_values into a generation step, and
Model.generate decodes over its KV cache. The Mixtral-style decoder of
examples/mixtral (untrained, seed 0, batch and seq symbolic) must give
exactly PyTorch's greedy tokens, the reference recomputing every position.
"""

import os
import sys

import numpy as np
import pytest

import kiln

torch = pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "test", "e2e", "dynamic"))
sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))
import check_dynamic  # noqa: E402


@pytest.fixture(scope="module")
def decoder(tmp_path_factory):
    torch.manual_seed(0)
    net = check_dynamic.decoder().eval()
    path = str(tmp_path_factory.mktemp("generate") / "decoder.onnx")
    check_dynamic.export(net, torch.randint(0, 128, (1, 5)), path, "tokens",
                         {0: "batch", 1: "seq"})
    return net, path


@pytest.fixture(scope="module")
def generator(decoder):
    _, path = decoder
    return kiln.load(kiln.compile(path, generate=True, max_seq=32))


def greedy(net, prompt, steps):
    tokens = torch.from_numpy(prompt)
    made = []
    with torch.no_grad():
        for _ in range(steps):
            nxt = net(tokens)[:, -1].argmax(-1, keepdim=True)
            made.append(nxt)
            tokens = torch.cat([tokens, nxt], 1)
    return torch.cat(made, 1).numpy()


def test_signature_and_max_seq(generator):
    assert generator.max_seq == 32
    names = [i.name for i in generator.inputs]
    assert names[:2] == ["tokens", "past_length"]
    assert "cache.key.0" in names and "cache.value.1" in names
    assert [o.name for o in generator.outputs] == ["y"]


def test_greedy_equals_pytorch(decoder, generator):
    net, _ = decoder
    prompt = np.array([[3, 9, 27, 81 % 128, 115], [1, 1, 2, 3, 5]], np.int64)
    np.testing.assert_array_equal(generator.generate(prompt, 10),
                                  greedy(net, prompt, 10))


def test_one_sequence_and_torch_prompt(decoder, generator):
    net, _ = decoder
    prompt = torch.tensor([7, 10, 13])
    got = generator.generate(prompt, 6)
    assert got.shape == (6,) and got.dtype == np.int64
    np.testing.assert_array_equal(got, greedy(net, prompt.numpy()[None], 6)[0])


def test_sampling_is_seeded(generator):
    prompt = np.arange(4, dtype=np.int64).reshape(2, 2)
    a = generator.generate(prompt, 12, temperature=1.2, top_p=0.9, seed=5)
    b = generator.generate(prompt, 12, temperature=1.2, top_p=0.9, seed=5)
    np.testing.assert_array_equal(a, b)
    k1 = generator.generate(prompt, 12, temperature=3.0, top_k=1, seed=1)
    np.testing.assert_array_equal(k1, generator.generate(prompt, 12))


@pytest.fixture(scope="module")
def paged(decoder):
    _, path = decoder
    return kiln.load(kiln.compile(path, generate=True, max_seq=32,
                                  kv_block_size=8, kv_blocks=10))


def test_paged_cache(decoder, paged):
    _, path = decoder
    inputs = {i.name: i for i in paged.inputs}
    assert "block_table" in inputs
    # Every layer is windowed (5 keys back): each keeps its ring in one
    # block of 8 per sequence, in pools of 8 blocks (the rings of 8
    # sequences), not of kv_blocks.
    assert tuple(inputs["window_block_table"].shape)[1] == 1
    assert tuple(inputs["cache.key.0"].shape)[0] == 8
    assert tuple(inputs["cache.key.0"].shape)[2] == 8
    with pytest.raises(ValueError, match="kv_block_size needs generate=True"):
        kiln.compile(path, kv_block_size=8)
    with pytest.raises(ValueError, match="kv_blocks needs kv_block_size"):
        kiln.compile(path, generate=True, kv_blocks=4)
    with pytest.raises(kiln.CompileError, match="--kv-block-size 5 must divide"):
        kiln.compile(path, generate=True, max_seq=32, kv_block_size=5)


def test_serve_equals_pytorch(decoder, paged):
    """Six requests of different lengths joining at different steps, at
    most three at once, each keeping its windowed layers' rings in one
    block of 8 positions: each one's tokens are PyTorch's greedy ones, as
    if it had run alone."""
    net, _ = decoder
    rng = np.random.default_rng(3)
    lengths, news = [5, 1, 12, 3, 20, 7], [6, 9, 4, 8, 5, 10]
    prompts = [rng.integers(0, 128, n) for n in lengths]
    tokens, stats = paged.serve(prompts, news, arrivals=[0, 0, 2, 3, 3, 9],
                                max_batch=3, return_stats=True)
    assert len(tokens) == 6
    for prompt, n, got in zip(prompts, news, tokens):
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, greedy(net, prompt[None], n)[0])
    # No full pool (every layer is windowed); one ring block a request.
    assert stats["prefills"] == 6 and stats["total_blocks"] == 0
    assert stats["window_total_blocks"] == 8
    assert stats["window_peak_used_blocks"] <= 3
    assert stats["window_blocks_handed_out"] == 6
    # One number of new tokens for all; a stop token ends a request early.
    first = paged.serve([prompts[0]], 6)[0]
    stopped = paged.serve([prompts[0], prompts[1]], 6, stop_tokens=[first[1]])
    end = list(first).index(first[1]) + 1
    np.testing.assert_array_equal(stopped[0], first[:end])


def test_serve_refusals(generator, paged):
    with pytest.raises(kiln.RuntimeError, match="no paged KV cache"):
        generator.serve([[1, 2]], 3)
    with pytest.raises(kiln.RuntimeError, match="need 35 cache positions|max_seq"):
        paged.serve([np.zeros(30, np.int64)], 6)
    with pytest.raises(ValueError, match="arrivals has 1 entries for 2 prompts"):
        paged.serve([[1], [2]], 3, arrivals=[0])
    with pytest.raises(ValueError, match="max_new_tokens must be an integer >= 1"):
        paged.serve([[1]], [0])
    with pytest.raises(ValueError, match="non-empty 1-D array of integers"):
        paged.serve([[]], 3)


def test_refusals(decoder, generator, mixtral):
    _, path = decoder
    with pytest.raises(ValueError, match="max_seq needs generate=True"):
        kiln.compile(path, max_seq=16)
    with pytest.raises(kiln.RuntimeError, match="not a generation step"):
        mixtral.generate(np.zeros((1, 3), np.int64), 2)
    with pytest.raises(kiln.RuntimeError, match="need 34 cache positions"):
        generator.generate(np.zeros((1, 30), np.int64), 5)
    with pytest.raises(TypeError, match="tokens must be integers"):
        generator.generate(np.zeros((1, 3), np.float32), 2)
    with pytest.raises(kiln.CompileError, match="the tokens' sequence dimension is static"):
        kiln.compile(os.path.join(ROOT, "examples", "mixtral", "mixtral.onnx"), generate=True)
