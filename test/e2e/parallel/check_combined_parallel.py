#!/usr/bin/python3
"""Splits combined: tensor parallelism with expert or pipeline
parallelism, and expert with pipeline parallelism, under mpirun, against
one device and PyTorch.

examples/mixtral/mixtral.onnx (make_mixtral.py: 2 layers, 4 query heads
and 2 KV heads of 16, 4 SwiGLU experts of intermediate size 96) is
compiled for one device and

  - with `--parallel tp=2,ep=2` on 4 ranks: each rank keeps 2 query heads
    and 1 KV head, and 2 of the 4 experts, each split in half; its
    attention and expert sums run over its tp group (ranks 0-1 or 2-3),
    and its experts' shares over its ep group (ranks 0 and 2, or 1 and 3);
  - with `--parallel tp=2,pp=2` on 4 ranks: stage 0 (ranks 0 and 1) runs
    layer 0 and the embedding, stage 1 (ranks 2 and 3) layer 1 and the LM
    head, each stage's two ranks splitting its heads and expert columns;
    rank 0 sends its activations to rank 2, rank 1 to rank 3, and the
    logits come back to rank 0;
  - with `--parallel ep=2,pp=2` on 4 ranks: stage 0 (ranks 0 and 1) and
    stage 1 (ranks 2 and 3) each spread the experts of their layer over
    their two ranks, whose shares are summed over the stage's ep group
    (ranks 0 and 1, or 2 and 3); rank 0 sends to rank 2, rank 1 to rank 3.

Both run as `mpirun -np 4 kiln-run`, whose runtime makes each rank's
groups at load (kiln/collectives.h's group_split). Rank 0's logits must
equal the one-device run's and PyTorch's (logits_torch.npy) within the CPU
tests' tolerance (max |a - b| <= 1e-5 * max |b|, the same argmax), and
`--print-signature` must name each rank's place in both splits.

Usage: check_combined_parallel.py --bin BUILD/bin [--keep DIR]
Skips (exit 77) when mpirun is missing; prints one line per check and
`combined parallel: N passed, M failed`.
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_parallel import Harness, TOKENS, check_ranks, run  # noqa: E402

PLANS = [("tp2ep2", ["--parallel", "tp=2,ep=2"]),
         ("tp2pp2", ["--parallel", "tp=2,pp=2"]),
         ("ep2pp2", ["--parallel", "ep=2,pp=2"])]

SIGNATURES = {
    "tp2ep2": [
        "ranks: 4 (tensor parallelism over 2 ranks in each of 2 expert "
        "groups (tp=2,ep=2)); run it with mpirun -np 4",
        "rank 3: tp rank 1, ep rank 1: attention heads 2-3 of 4",
        "; and experts 2-3 of 4 in each of the 2 MoE layers"],
    "tp2pp2": [
        "ranks: 4 (tensor parallelism over 2 ranks in each of 2 pipeline "
        "stages (tp=2,pp=2)); run it with mpirun -np 4",
        "rank 1: stage 0, tp rank 1: decoder layer 0 of 2 and what precedes "
        "(the embedding)",
        "sends its activations to rank 3; and attention heads 2-3 of 4",
        "rank 2: stage 1, tp rank 0: decoder layer 1 of 2",
        "receives the activations from rank 0",
        "sends the outputs to rank 0; and attention heads 0-1 of 4"],
    "ep2pp2": [
        "ranks: 4 (expert parallelism over 2 ranks in each of 2 pipeline "
        "stages (ep=2,pp=2)); run it with mpirun -np 4",
        "rank 1: stage 0, ep rank 1: decoder layer 0 of 2 and what precedes "
        "(the embedding)",
        "sends its activations to rank 3; and experts 2-3 of 4 in each of "
        "the 2 MoE layers",
        "rank 2: stage 1, ep rank 0: decoder layer 1 of 2",
        "sends the outputs to rank 0; and experts 0-1 of 4"],
}


def main():
    if not shutil.which("mpirun"):
        print("SKIP: mpirun not found (scripts/setup.sh installs openmpi-bin)")
        return 77
    h = Harness("kiln-combined-", __doc__)
    if not h.compile_plans(PLANS):
        return 1
    for name, want in SIGNATURES.items():
        rc, out = run([h.kiln_run, h.artifacts[name], "--print-signature"])
        missing = [w for w in want if w not in out]
        h.report("--print-signature of %s" % name,
                 "exit %s, missing %s in:\n%s" % (rc, missing, out)
                 if rc or missing else None)
    for name, _ in PLANS:
        check_ranks(run, h.report, h.kiln_run, h.artifacts[name], name, 4,
                    TOKENS, h.work, h.one, h.torch_logits)
    return h.finish("combined parallel")


if __name__ == "__main__":
    sys.exit(main())
