#!/usr/bin/python3
"""Data parallelism, alone and with tensor parallelism, under mpirun,
against one device and PyTorch.

examples/mixtral_b4/mixtral_b4.onnx is examples/mixtral's decoder exported
with a symbolic batch (make_mixtral.py --batch 4), with PyTorch's logits
for 4 sequences. It is compiled with `--dim batch=4` for one device and

  - with `--parallel dp=2` on 2 ranks: each rank is a replica that runs 2
    of the 4 sequences (the model imported again at batch 2), and one sum
    over the 2 replicas gathers the logits into rank 0's;
  - with `--parallel tp=2,dp=2` on 4 ranks: ranks 0-1 are replica 0 and
    2-3 replica 1, each replica's two ranks splitting its heads and expert
    columns (sums over its tp group); ranks 0 and 2, the replicas' first
    ranks, gather the logits over their dp group (ranks 1 and 3 join none).

Rank 0's logits must equal the one-device run's and PyTorch's within the
CPU tests' tolerance (max |a - b| <= 1e-5 * max |b|, the same argmax);
`--print-signature` must name each rank's replica and rows. The planner's
own choice for 4 devices at a batch of 2 (`--dim batch=2 --devices 4`:
pp=2,dp=2, the stage-1 ranks joining no dp group) runs under
`mpirun -np 4` against the first two sequences. Then: a batch that 3
replicas do not divide is a compile error, a world of 3 for the 2 ranks
of dp=2 makes every rank say so, and a replica's rank that dies or hangs
ends every rank.

Usage: check_data_parallel.py --bin BUILD/bin [--keep DIR]
Skips (exit 77) when mpirun is missing; prints one line per check and
`data parallel: N passed, M failed`.
"""
import argparse
import os
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_parallel import MPIRUN, ROOT, compare, run  # noqa: E402

MODEL_DIR = os.path.join(ROOT, "examples", "mixtral_b4")
MODEL = os.path.join(MODEL_DIR, "mixtral_b4.onnx")
TOKENS = os.path.join(MODEL_DIR, "tokens.npy")
BATCH = ["--dim", "batch=4"]

PLANS = [("dp2", ["--parallel", "dp=2"], 2),
         ("tp2dp2", ["--parallel", "tp=2,dp=2"], 4)]

SIGNATURES = {
    "dp2": [
        "ranks: 2 (data parallelism over 2 replicas (dp=2)); run it with "
        "mpirun -np 2",
        "rank 0: sequences 0-1 of the batch of 4 (its replica's results "
        "summed into rank 0's over the replicas)",
        "rank 1: sequences 2-3 of the batch of 4 (its replica's results"],
    "tp2dp2": [
        "ranks: 4 (tensor parallelism over 2 ranks in each of 2 "
        "data-parallel replicas (tp=2,dp=2)); run it with mpirun -np 4",
        "rank 1: replica 0, tp rank 1: sequences 0-1 of the batch of 4; and "
        "attention heads 2-3 of 4",
        "rank 2: replica 1, tp rank 0: sequences 2-3 of the batch of 4 (its "
        "replica's results summed into rank 0's over the replicas); and "
        "attention heads 0-1 of 4"],
}


class Checks:
    def __init__(self):
        parser = argparse.ArgumentParser(description=__doc__)
        parser.add_argument("--bin", required=True)
        parser.add_argument("--keep")
        self.args = parser.parse_args()
        self.compile = os.path.join(self.args.bin, "kiln-compile")
        self.kiln_run = os.path.join(self.args.bin, "kiln-run")
        self.work = self.args.keep or tempfile.mkdtemp(prefix="kiln-dp-")
        os.makedirs(self.work, exist_ok=True)
        self.passed = self.failed = 0

    def report(self, name, problem):
        if problem:
            self.failed += 1
            print("FAIL %s: %s" % (name, problem))
        else:
            self.passed += 1
            print("ok   %s" % name)

    def path(self, name):
        return os.path.join(self.work, name + ".kiln")

    def compile_all(self):
        for name, flags in [("one", [])] + [(n, f) for n, f, _ in PLANS]:
            rc, out = run([self.compile, MODEL, "-O1", *BATCH, "-o",
                           self.path(name), *flags], 600)
            self.report("compile %s %s" % (name, " ".join(flags)),
                        "exit %s: %s" % (rc, out.strip()) if rc else None)
            if rc:
                return False
        return True

    def logits(self, command, name):
        out_dir = os.path.join(self.work, name + "_out")
        rc, out = run(command + [
            "--input", "tokens=" + TOKENS, "--output-dir", out_dir])
        if rc:
            return None, "exit %s: %s" % (rc, out.strip())
        printed = [l for l in out.splitlines() if l.startswith("logits:")]
        if len(printed) != 1:
            return None, "%d ranks printed the outputs:\n%s" % (len(printed),
                                                               out)
        return np.load(os.path.join(out_dir, "logits.npy")), None

    def finish(self):
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        print("data parallel: %d passed, %d failed" % (self.passed,
                                                      self.failed))
        return 1 if self.failed else 0


def main():
    if not shutil.which("mpirun"):
        print("SKIP: mpirun not found (scripts/setup.sh installs openmpi-bin)")
        return 77
    c = Checks()
    torch_logits = np.load(os.path.join(MODEL_DIR, "logits_torch.npy"))
    if not c.compile_all():
        return c.finish()
    one, problem = c.logits([c.kiln_run, c.path("one")], "one")
    c.report("one device, batch 4, vs PyTorch",
             problem or compare("torch", one, torch_logits))
    if one is None:
        return c.finish()

    for name, want in SIGNATURES.items():
        rc, out = run([c.kiln_run, c.path(name), "--print-signature"])
        missing = [w for w in want if w not in out]
        c.report("--print-signature of %s" % name,
                 "exit %s, missing %s in:\n%s" % (rc, missing, out)
                 if rc or missing else None)

    for name, _, ranks in PLANS:
        logits, problem = c.logits(
            MPIRUN + ["-np", str(ranks), c.kiln_run, c.path(name)], name)
        c.report("mpirun -np %d %s equals one device and PyTorch" %
                 (ranks, name),
                 problem or compare("one device", logits, one) or
                 compare("torch", logits, torch_logits))

    # The planner's choice runs: on 4 devices with a batch of 2 (the same
    # ONNX file, its batch pinned to 2) the cost model prefers 2 replicas
    # of a 2-stage pipeline (pp=2,dp=2); rank 0's logits equal the first 2
    # sequences' on one device and in PyTorch.
    tokens2 = os.path.join(c.work, "tokens2.npy")
    np.save(tokens2, np.load(TOKENS)[:2])
    rc, out = run([c.compile, MODEL, "-O1", "--dim", "batch=2", "--devices",
                   "4", "--explain-plan", "-o", c.path("auto4")], 600)
    c.report("--devices 4 on a batch of 2 plans pp=2,dp=2 and compiles",
             None if rc == 0 and "plan: tp=1,ep=1,pp=2,dp=2:" in out else
             "exit %s: %s" % (rc, out.strip()))
    if rc == 0:
        out_dir = os.path.join(c.work, "auto4_out")
        rc, out = run(MPIRUN + ["-np", "4", c.kiln_run, c.path("auto4"),
                                "--input", "tokens=" + tokens2,
                                "--output-dir", out_dir])
        c.report("mpirun -np 4 of the planner's pp=2,dp=2 equals one device "
                 "and PyTorch",
                 "exit %s: %s" % (rc, out.strip()) if rc else
                 compare("one device",
                         np.load(os.path.join(out_dir, "logits.npy")),
                         one[:2]) or
                 compare("torch", np.load(os.path.join(out_dir,
                                                       "logits.npy")),
                         torch_logits[:2]))

    # A batch the replicas do not divide.
    rc, out = run([c.compile, MODEL, *BATCH, "--parallel", "dp=3", "-o",
                   c.path("dp3")], 600)
    want = ("kiln-compile: error: data parallelism over 3 replicas needs the "
            "batch (axis 0 of the inputs) to be a multiple of 3, found 4")
    c.report("dp=3 on a batch of 4", None if rc == 1 and want in out and
             not os.path.exists(c.path("dp3")) else
             "exit %s: %s" % (rc, out.strip()))

    # A world of the wrong size: every rank says so.
    rc, out = run(MPIRUN + ["-np", "3", c.kiln_run, c.path("dp2"), "--input",
                            "tokens=" + TOKENS], 120)
    said = out.count("the model is partitioned for 2 ranks (data "
                     "parallelism over 2 replicas (dp=2)) but the MPI world "
                     "has 3 processes: run it with mpirun -np 2")
    c.report("world size 3 for the 2 ranks of dp=2",
             None if rc not in (0, "hang") and said == 3 else
             "exit %s, said by %d ranks: %s" % (rc, said, out))

    # Replica 1's rank dies (SIGKILL after 2 s) or hangs (SIGSTOP after
    # 2 s) in the middle of its runs: mpirun ends every rank, or rank 0's
    # gather times out after 3 s and ends every rank.
    forever = [c.kiln_run, c.path("dp2"), "--input", "tokens=" + TOKENS,
               "--quiet", "--repeat", "1000000"]
    for signal, extra, want in [
            ("KILL", [], "signal 9"),
            ("STOP", ["--collective-timeout", "3"],
             "kiln: rank 0: all-reduce did not complete within 3 s "
             "(--collective-timeout)")]:
        script = ('if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then '
                  '(sleep 2; kill -%s $$) & fi; exec "$@"' % signal)
        rc, out = run(MPIRUN + ["-np", "2", "sh", "-c", script, "sh",
                                *forever, *extra], 120)
        c.report("dp=2: replica 1's rank gets SIG%s" % signal,
                 None if rc not in (0, "hang") and want in out else
                 "exit %s: %s" % (rc, out.strip()))
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
