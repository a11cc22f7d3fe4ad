"""One Model used from several Python threads at once, compiles on several
threads, and objects freed in any order."""

import gc
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import kiln
from conftest import FLOAT_TOLERANCE, relative_error


def test_threads_share_one_model(mixtral, tokens, logits_torch):
    # Different inputs per thread: each must get its own result back.
    inputs = [(tokens + i) % 128 for i in range(8)]
    expected = [mixtral.run({"tokens": t})["logits"].copy() for t in inputs]
    assert relative_error(expected[0], logits_torch) <= FLOAT_TOLERANCE
    barrier = threading.Barrier(4)

    def work(i):
        barrier.wait() if i < 4 else None
        out = []
        for r in range(5):
            j = (i + r) % len(inputs)
            out.append((j, mixtral.run({"tokens": inputs[j]})["logits"]))
        return out

    with ThreadPoolExecutor(max_workers=4) as pool:
        for results in pool.map(work, range(8)):
            for j, logits in results:
                np.testing.assert_array_equal(logits, expected[j])


def ticks_inside(call):
    """Runs `call` while another thread records times, and returns how many
    were recorded well inside the call: none if it held the GIL."""
    ticks = []
    done = threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        time.sleep(0.01)
        start = time.monotonic()
        call()
        end = time.monotonic()
    finally:
        done.set()
        t.join()
    assert end - start > 0.2, "the call is too short to tell"
    return sum(start + 0.05 < x < end - 0.05 for x in ticks)


def slow_graph():
    g = kiln.Graph()
    x = g.input("x", (256, 256))
    w = np.eye(256, dtype=np.float32)
    for _ in range(24):
        x = g.silu(x @ w)
    g.output("y", x)
    return g


def test_compile_releases_the_gil():
    assert ticks_inside(lambda: kiln.compile(slow_graph())) > 0


def test_run_releases_the_gil():
    model = kiln.load(kiln.compile(slow_graph(), opt_level=0), threads=1)
    x = np.ones((256, 256), np.float32)

    def run_a_while():
        # As many runs as fill 0.4 s: how fast one run is depends on the
        # machine and the code generated.
        end = time.monotonic() + 0.4
        while time.monotonic() < end:
            model.run({"x": x})

    assert ticks_inside(run_a_while) > 0


def test_compiles_on_threads():
    def build(scale):
        g = kiln.Graph()
        x = g.input("x", (2, 2))
        g.output("y", x * float(scale))
        return kiln.load(kiln.compile(g, opt_level=0))

    with ThreadPoolExecutor(max_workers=3) as pool:
        models = list(pool.map(build, [1, 2, 3]))
    x = np.ones((2, 2), np.float32)
    for scale, m in zip([1, 2, 3], models):
        assert np.array_equal(m.run({"x": x})["y"], x * scale)


def test_outputs_outlive_model(add_model, mixtral_artifact, tokens, logits_torch):
    model = kiln.load(mixtral_artifact)
    out = model.run({"tokens": tokens})["logits"]
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None
    # The session (and through it the runtime's model) lives on in `out`.
    assert relative_error(out, logits_torch) <= FLOAT_TOLERANCE
    out[...] = 0
    del out
    gc.collect()


def test_results_are_independent(add_model):
    x1, x2 = np.zeros((2, 3), np.float32), np.ones((2, 3), np.float32)
    y1 = add_model.run({"x": x1})["y"]
    y2 = add_model.run({"x": x2})["y"]
    assert not np.shares_memory(y1, y2)
    y1[...] = -1  # writing one result never changes another
    assert np.array_equal(y2, x2 + np.arange(3, dtype=np.float32))
    # Inputs are copied: changing them afterwards changes nothing.
    x = np.zeros((2, 3), np.float32)
    y = add_model.run({"x": x})["y"]
    x[...] = 100
    assert np.array_equal(y, np.tile(np.arange(3, dtype=np.float32), (2, 1)))


@pytest.mark.parametrize("order", ["model-array-view", "view-model-array", "array-view-model"])
def test_free_in_any_order(mixtral_artifact, tokens, order):
    torch = pytest.importorskip("torch")
    objects = {}
    objects["model"] = kiln.load(mixtral_artifact)
    objects["array"] = objects["model"].run({"tokens": tokens})["logits"]
    objects["view"] = torch.from_dlpack(objects["array"])
    expect = objects["array"].copy()
    for name in order.split("-"):
        if name != "view" and "view" in objects:
            assert torch.equal(objects["view"], torch.from_numpy(expect))
        del objects[name]
        gc.collect()
    assert not objects


def test_tensor_info(add_model):
    (x,) = add_model.inputs
    assert x == kiln.TensorInfo("x", np.dtype(np.float32), (2, 3))
    assert "x" in repr(add_model) and "float32" in repr(x)


def test_thread_counts_agree():
    # 64x512 @ 512x512 is above the CPU target's bar for threads (2^21
    # multiply-adds), so its column blocks are split over the threads;
    # every count must compute the same numbers (each output element is
    # one thread's sum) and match NumPy.
    rng = np.random.default_rng(3)
    w = rng.standard_normal((512, 512)).astype(np.float32)
    x = rng.standard_normal((64, 512)).astype(np.float32)
    g = kiln.Graph()
    g.output("y", g.input("x", (64, 512)) @ w)
    artifact = kiln.compile(g)
    results = [kiln.load(artifact, threads=n).run({"x": x})["y"] for n in (1, 2, 0)]
    np.testing.assert_allclose(results[0], x.astype(np.float64) @ w, rtol=1e-4, atol=1e-4)
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


@pytest.mark.parametrize("threads", [-1, 4097, 1.5, True])
def test_bad_thread_count(mixtral_artifact, threads):
    with pytest.raises(ValueError):
        kiln.load(mixtral_artifact, threads=threads)
