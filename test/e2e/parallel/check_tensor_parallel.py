#!/usr/bin/python3
"""Tensor parallelism under mpirun, against one device and PyTorch.

examples/mixtral/mixtral.onnx (make_mixtral.py: 2 layers, 4 query heads
and 2 KV heads of 16, 4 SwiGLU experts of intermediate size 96) is
compiled for one device, with `--parallel tp=2` (2 query heads and 1 KV
head per rank, 48 of each expert's 96 columns) and with `--parallel tp=4`
(1 query head per rank; the 2 KV heads each shared by 2 ranks; 24
columns), and each partitioned artifact runs as `mpirun -np N kiln-run`.
Rank 0's logits must equal the one-device run's and PyTorch's
(logits_torch.npy) within the CPU tests' tolerance (max |a - b| <= 1e-5 *
max |b|, the same argmax); the ranks add their heads' and columns' partial
sums in another order than one device does. `--print-signature` must name
each rank's heads, and each rank must store only its share of the
attention and expert weights (kiln-inspect).

examples/deepseek (a shared expert, which is a dense SwiGLU FFN, beside 8
routed experts of intermediate size 32) runs with `--parallel tp=2` too,
against PyTorch: its dense FFN is split as well.

Usage: check_tensor_parallel.py --bin BUILD/bin [--keep DIR]
Skips (exit 77) when mpirun is missing; prints one line per check and
`tensor parallel: N passed, M failed`.
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_parallel import Harness, TOKENS, check_ranks, run  # noqa: E402

# Per layer of examples/mixtral, in f32: q and o [64, 64], k and v
# [32, 64] (2 KV heads of 16), 4 experts x (gate, up, down) of 96 x 64.
LAYERS = 2
QO_BYTES = 2 * 64 * 64 * 4
KV_BYTES = 2 * 32 * 64 * 4
EXPERT_BYTES = 4 * 3 * 96 * 64 * 4


def stored_by_rank0(one_bytes, tp):
    """Rank 0's weight bytes: the one-device weights less the other ranks'
    query and output heads, expert columns, and KV heads (2 KV heads: with
    tp=4 each rank keeps 1 of 2)."""
    kv_kept = 1.0 / min(tp, 2)
    removed = LAYERS * ((QO_BYTES + EXPERT_BYTES) * (1 - 1.0 / tp) +
                        KV_BYTES * (1 - kv_kept))
    return one_bytes - int(removed)


def main():
    if not shutil.which("mpirun"):
        print("SKIP: mpirun not found (scripts/setup.sh installs openmpi-bin)")
        return 77
    h = Harness("kiln-tp-", __doc__)
    report, kiln_run, work = h.report, h.kiln_run, h.work
    if not h.compile_plans([("tp2", ["--parallel", "tp=2"]),
                            ("tp4", ["--parallel", "tp=4"])]):
        return 1
    artifacts = h.artifacts

    rc, out = run([kiln_run, artifacts["tp2"], "--print-signature"])
    want = ["ranks: 2 (tensor parallelism over 2 ranks (tp=2)); run it with "
            "mpirun -np 2",
            "rank 0: attention heads 0-1 of 4 in each of the 2 layers, 1/2 "
            "of every expert's FFN columns in each of the 2 MoE layers",
            "rank 1: attention heads 2-3 of 4 in each of the 2 layers"]
    missing = [w for w in want if w not in out]
    report("--print-signature of tp2", "exit %s, missing %s in:\n%s" %
           (rc, missing, out) if rc or missing else None)

    h.check_rank0_bytes([("tp2", 2), ("tp4", 4)], stored_by_rank0)

    for name, np_ in [("tp2", 2), ("tp4", 4)]:
        check_ranks(run, report, kiln_run, artifacts[name], name, np_, TOKENS,
                    work, h.one, h.torch_logits)

    # DeepSeek-style: the shared expert is a dense FFN, split as well.
    h.check_deepseek("tp=2")
    return h.finish("tensor parallel")


if __name__ == "__main__":
    sys.exit(main())
