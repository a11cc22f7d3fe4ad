#!/usr/bin/python3
"""A partitioned model under mpirun, against one device and PyTorch.

examples/mixtral/mixtral.onnx (make_mixtral.py: a 2-layer Mixtral-style
decoder, 4 SwiGLU experts of which each token takes 2) is compiled

  - for one device,
  - with `--parallel ep=2` (expert parallelism over 2 ranks, 2 experts
    each), and
  - with `--parallel ep=4` (1 expert per rank),

and each partitioned artifact runs as `mpirun -np N kiln-run`. kiln-inspect
must show the plan, and each rank's artifact must store only its own
experts. Rank 0's
logits must equal the one-device run's and PyTorch's (logits_torch.npy)
within the CPU tests' tolerance (max |a - b| <= 1e-5 * max |b|, the same
argmax everywhere); the ranks run the same attention and routing and only
add their experts' shares in a different order.

examples/deepseek (grouped sigmoid routing, a shared expert, 8 routed
experts) runs with `--parallel ep=2` too, against PyTorch.

Pipeline parallelism: examples/mixtral4 (the same decoder with 4 layers,
make_mixtral.py --layers 4) is compiled with `--devices 2` (the
planner's choice among the splits that execute: pp=2, stages of 1 and 3
layers) and `--parallel pp=4` (1 layer each)
and runs as `mpirun -np 2` and
`-np 4`; rank 0's logits must equal the one-device run's and PyTorch's
within the same tolerance, `--print-signature` must name each stage's
layers, and rank 0 must store about its share of the weights; a stage
that hangs past --collective-timeout ends every rank.

Then the ways it can go wrong, each of which must end every rank with a
clear message and a non-zero exit, never a hang:

  - a partitioned model started without mpirun;
  - an MPI world of another size than the model's rank count (each of the
    3 ranks says so);
  - a rank that dies (SIGKILL in the middle of its runs);
  - a rank that hangs (SIGSTOP) past --collective-timeout (3 s).

Usage: check_parallel.py --bin BUILD/bin [--keep DIR]
Skips (exit 77) when mpirun is missing; prints one line per check and
`parallel: N passed, M failed`.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
MODEL = os.path.join(ROOT, "examples", "mixtral", "mixtral.onnx")
DEEPSEEK = os.path.join(ROOT, "examples", "deepseek")
TOKENS = os.path.join(ROOT, "examples", "mixtral", "tokens.npy")
TORCH = os.path.join(ROOT, "examples", "mixtral", "logits_torch.npy")
MIXTRAL4 = os.path.join(ROOT, "examples", "mixtral4")
TOLERANCE = 1e-5
MPIRUN = ["mpirun", "--oversubscribe", "--mca", "btl", "self,vader",
          "--mca", "btl_vader_single_copy_mechanism", "none"]
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1",
           OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def run(command, timeout=120):
    try:
        r = subprocess.run(command, capture_output=True, text=True, env=ENV,
                           timeout=timeout)
        return r.returncode, r.stdout + r.stderr
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"") + (e.stderr or b"")
        return "hang", out.decode(errors="replace") if isinstance(out, bytes) else out


def compare(name, logits, ref):
    if logits.shape != ref.shape:
        return "%s: shape %s, reference %s" % (name, logits.shape, ref.shape)
    err = float(np.abs(logits - ref).max()) / float(np.abs(ref).max())
    if err > TOLERANCE:
        return "%s: max error %.2e of max |logit| > %.0e" % (name, err, TOLERANCE)
    if not np.array_equal(logits.argmax(-1), ref.argmax(-1)):
        return "%s: a different argmax" % name
    return None


def check_ranks(run, report, kiln_run, artifact, name, np_, tokens, work,
                one, torch_logits):
    """`mpirun -np np_ kiln-run artifact`: its logits equal the one-device
    run's and PyTorch's, and rank 0 alone prints the output's summary."""
    out_dir = os.path.join(work, name + "_out")
    rc, out = run(MPIRUN + ["-np", str(np_), kiln_run, artifact,
                            "--input", "tokens=" + tokens,
                            "--output-dir", out_dir])
    if rc:
        report("mpirun -np %d %s" % (np_, name),
               "exit %s: %s" % (rc, out.strip()))
        return
    lines = [l for l in out.splitlines() if l.startswith("logits:")]
    logits = np.load(os.path.join(out_dir, "logits.npy"))
    problem = (compare("one device", logits, one) or
               compare("torch", logits, torch_logits) or
               (None if len(lines) == 1 else
                "%d ranks printed the outputs" % len(lines)))
    report("mpirun -np %d %s equals one device and PyTorch" % (np_, name),
           problem)


def check_pipeline(run, report, compile_, kiln_run, inspect, work):
    """examples/mixtral4 (4 layers) with --parallel pp=2 and pp=4 under
    mpirun against one device and PyTorch; each rank stores about its
    share of the layers' weights."""
    tokens = os.path.join(MIXTRAL4, "tokens.npy")
    torch_logits = np.load(os.path.join(MIXTRAL4, "logits_torch.npy"))
    artifacts = {}
    for name, flags in [("pp-one", []), ("pp2", ["--devices", "2"]),
                        ("pp4", ["--parallel", "pp=4"])]:
        path = os.path.join(work, name + ".kiln")
        rc, out = run([compile_, os.path.join(MIXTRAL4, "mixtral4.onnx"),
                       "-O1", "-o", path, *flags], 600)
        report("compile mixtral4 %s" % (" ".join(flags) or "for one device"),
               "exit %s: %s" % (rc, out.strip()) if rc else None)
        artifacts[name] = path
    rc, out = run([kiln_run, artifacts["pp-one"], "--quiet", "--input",
                   "tokens=" + tokens, "--output-dir",
                   os.path.join(work, "pp_one_out")])
    if rc:
        report("mixtral4 on one device", "exit %s: %s" % (rc, out.strip()))
        return
    one = np.load(os.path.join(work, "pp_one_out", "logits.npy"))
    report("mixtral4 one device vs PyTorch", compare("torch", one,
                                                     torch_logits))

    rc, out = run([kiln_run, artifacts["pp2"], "--print-signature"])
    # The planner balances the stages by estimated time: on the default
    # machine the send to the next stage costs more than a tiny layer, so
    # stage 0 takes 1 layer and the embedding, stage 1 the other 3.
    want = ["ranks: 2 (pipeline parallelism over 2 stages (pp=2; layers per "
            "stage 1, 3)); run it with mpirun -np 2",
            "rank 0: decoder layer 0 of 4 and what precedes (the "
            "embedding) (weights of the other stages not stored); sends its "
            "activations to rank 1",
            "rank 1: decoder layers 1-3 of 4 and what follows (the final "
            "norm and LM head) (weights of the other stages not stored); "
            "receives the activations from rank 0; sends the outputs to "
            "rank 0"]
    missing = [w for w in want if w not in out]
    report("--print-signature of pp2", "exit %s, missing %s in:\n%s" %
           (rc, missing, out) if rc or missing else None)

    # Rank 0 keeps the embedding and its stage's layers: with 4 layers of
    # 337.5 KiB and an embedding and LM head of 32 KiB each, about a
    # quarter of the weights (1 layer of 4) on either plan.
    total = None
    rc, out = run([inspect, artifacts["pp-one"], "--json"])
    if rc == 0:
        total = json.loads(out)["weights"]["bytes"]
    for name, np_, share in [("pp2", 2, 0.30), ("pp4", 4, 0.30)]:
        rc, out = run([inspect, artifacts[name], "--json"])
        d = json.loads(out) if rc == 0 else {}
        got = d.get("weights", {}).get("bytes")
        holds = d.get("ranks", {}).get("holds", [])
        report("kiln-inspect %s: %d ranks, rank 0 stores %s of %s weight "
               "bytes" % (name, len(holds), got, total),
               None if total and got and got < share * total and
               len(holds) == np_ else
               "expected under %.0f%% and %d ranks: %s" % (share * 100, np_,
                                                           d))

    for name, np_ in [("pp2", 2), ("pp4", 4)]:
        check_ranks(run, report, kiln_run, artifacts[name], name, np_, tokens,
                    work, one, torch_logits)

    # A stage that hangs (SIGSTOP after 2 s): rank 0 waits for the logits
    # from the last stage (or, past MPI's eager size, for its send of the
    # activations to be taken), times out after 3 s and ends every rank.
    script = ('if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then '
              '(sleep 2; kill -STOP $$) & fi; exec "$@"')
    rc, out = run(MPIRUN + ["-np", "2", "sh", "-c", script, "sh", kiln_run,
                            artifacts["pp2"], "--input", "tokens=" + tokens,
                            "--quiet", "--repeat", "1000000",
                            "--collective-timeout", "3"], 120)
    want = ("did not complete within 3 s (--collective-timeout): another "
            "rank died, hangs, or does not call it; ending every rank")
    said = ("kiln: rank 0: receive " + want in out or
            "kiln: rank 0: send " + want in out)
    report("a pipeline stage hangs past --collective-timeout",
           None if rc not in (0, "hang") and said else
           "exit %s: %s" % (rc, out.strip()))


class Harness:
    """What both parallel checks share: the command line (--bin, --keep),
    the work folder, the pass/fail count, the plans compiled beside a
    one-device build of examples/mixtral, that build's logits (against
    PyTorch), the weight bytes kiln-inspect reports, and the DeepSeek
    example on 2 ranks."""

    def __init__(self, prefix, description):
        parser = argparse.ArgumentParser(description=description)
        parser.add_argument("--bin", required=True)
        parser.add_argument("--keep")
        self.args = parser.parse_args()
        self.compile = os.path.join(self.args.bin, "kiln-compile")
        self.kiln_run = os.path.join(self.args.bin, "kiln-run")
        self.inspect = os.path.join(self.args.bin, "kiln-inspect")
        self.work = self.args.keep or tempfile.mkdtemp(prefix=prefix)
        os.makedirs(self.work, exist_ok=True)
        self.passed = self.failed = 0
        self.artifacts = {}
        self.torch_logits = np.load(TORCH)
        self.one = None

    def report(self, name, problem):
        if problem:
            self.failed += 1
            print("FAIL %s: %s" % (name, problem))
        else:
            self.passed += 1
            print("ok   %s" % name)

    def compile_plans(self, plans):
        """Compiles the one-device build and each (name, flags) of `plans`,
        then runs the one-device build; False when that run fails."""
        for name, flags in [("one", [])] + plans:
            path = os.path.join(self.work, name + ".kiln")
            rc, out = run([self.compile, MODEL, "-O1", "-o", path, *flags],
                          600)
            self.report("compile %s %s" % (name, " ".join(flags)),
                        "exit %s: %s" % (rc, out.strip()) if rc else None)
            self.artifacts[name] = path
        rc, out = run([self.kiln_run, self.artifacts["one"], "--quiet",
                       "--input", "tokens=" + TOKENS, "--output-dir",
                       os.path.join(self.work, "one_out")])
        if rc:
            self.report("one device", "exit %s: %s" % (rc, out.strip()))
            return False
        self.one = np.load(os.path.join(self.work, "one_out", "logits.npy"))
        self.report("one device vs PyTorch",
                    compare("torch", self.one, self.torch_logits))
        return True

    def check_rank0_bytes(self, plans, expected):
        """kiln-inspect --json of each (name, ranks) of `plans`: that many
        ranks, and rank 0 storing expected(one-device bytes, ranks)."""
        weights = {}
        for name in ["one"] + [name for name, _ in plans]:
            rc, out = run([self.inspect, self.artifacts[name], "--json"])
            weights[name] = json.loads(out) if rc == 0 else {}
        one_bytes = weights["one"].get("weights", {}).get("bytes", 0)
        for name, ranks in plans:
            d = weights[name]
            want = expected(one_bytes, ranks)
            got = d.get("weights", {}).get("bytes")
            holds = d.get("ranks", {}).get("holds", [])
            self.report("kiln-inspect %s: %d ranks, rank 0 stores %s of %d "
                        "weight bytes" % (name, len(holds), got, one_bytes),
                        None if got == want and len(holds) == ranks else
                        "expected %d bytes and %d ranks: %s"
                        % (want, ranks, d))

    def check_deepseek(self, plan):
        """The DeepSeek example compiled with --parallel `plan` (2 ranks),
        under mpirun -np 2, against PyTorch."""
        ds = os.path.join(self.work, "deepseek.kiln")
        rc, out = run([self.compile, os.path.join(DEEPSEEK, "deepseek.onnx"),
                       "-O1", "--parallel", plan, "-o", ds], 600)
        if rc == 0:
            rc, out = run(MPIRUN + [
                "-np", "2", self.kiln_run, ds, "--quiet", "--input",
                "tokens=" + os.path.join(DEEPSEEK, "tokens.npy"),
                "--output-dir", os.path.join(self.work, "ds_out")])
        self.report("deepseek --parallel %s under mpirun -np 2 equals PyTorch"
                    % plan, "exit %s: %s" % (rc, out.strip()) if rc else
                    compare("torch",
                            np.load(os.path.join(self.work, "ds_out",
                                                 "logits.npy")),
                            np.load(os.path.join(DEEPSEEK,
                                                 "logits_torch.npy"))))

    def finish(self, what):
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        print("%s: %d passed, %d failed" % (what, self.passed, self.failed))
        return 1 if self.failed else 0


def main():
    if not shutil.which("mpirun"):
        print("SKIP: mpirun not found (scripts/setup.sh installs openmpi-bin)")
        return 77
    h = Harness("kiln-parallel-", __doc__)
    report, compile_, kiln_run, work = h.report, h.compile, h.kiln_run, h.work
    if not h.compile_plans([("ep2", ["--parallel", "ep=2"]),
                            ("ep4", ["--parallel", "ep=4"])]):
        return 1
    artifacts, one, torch_logits = h.artifacts, h.one, h.torch_logits

    # --print-signature says the plan.
    rc, out = run([kiln_run, artifacts["ep2"], "--print-signature"])
    want = ["ranks: 2 (expert parallelism over 2 ranks (ep=2)); run it with "
            "mpirun -np 2",
            "rank 0: experts 0-1 of 4 in each of the 2 MoE layers",
            "rank 1: experts 2-3 of 4 in each of the 2 MoE layers"]
    missing = [w for w in want if w not in out]
    report("--print-signature of ep2", "exit %s, missing %s in:\n%s" %
           (rc, missing, out) if rc or missing else None)

    # kiln-inspect says the plan, and each rank stores only its experts:
    # rank 0's weights are the one-device weights less the other ranks'
    # experts (2 layers x gate, up, down x [96, 64] f32 per expert, 4
    # experts).
    expert_bytes = 2 * 3 * 96 * 64 * 4
    h.check_rank0_bytes([("ep2", 2), ("ep4", 4)], lambda one_bytes, np_:
                        one_bytes - expert_bytes * (4 - 4 // np_))

    for name, np_ in [("ep2", 2), ("ep4", 4)]:
        check_ranks(run, report, kiln_run, artifacts[name], name, np_, TOKENS,
                    work, one, torch_logits)

    # A DeepSeek-style decoder (grouped sigmoid routing, a shared expert,
    # 8 routed experts) on 2 ranks, against PyTorch.
    h.check_deepseek("ep=2")

    check_pipeline(run, report, compile_, kiln_run, h.inspect, work)

    ep2 = artifacts["ep2"]
    tokens = ["--input", "tokens=" + TOKENS]
    # Without mpirun.
    rc, out = run([kiln_run, ep2, *tokens])
    want = ("kiln-run: error: %s is partitioned for 2 ranks (expert "
            "parallelism over 2 ranks (ep=2)): run one process per rank, "
            "mpirun -np 2 kiln-run" % ep2)
    report("without mpirun", None if rc == 1 and want in out else
           "exit %s: %s" % (rc, out.strip()))

    # A world of the wrong size: every rank says so.
    rc, out = run(MPIRUN + ["-np", "3", kiln_run, ep2, *tokens], 120)
    said = out.count("the model is partitioned for 2 ranks (expert "
                     "parallelism over 2 ranks (ep=2)) but the MPI world has "
                     "3 processes: run it with mpirun -np 2")
    report("world size 3 for 2 ranks", None if rc not in (0, "hang") and
           said == 3 else "exit %s, said by %d ranks: %s" % (rc, said, out))

    # A rank that dies in the middle of its runs (SIGKILL after 2 s).
    forever = [*tokens, "--quiet", "--repeat", "1000000"]
    script = ('if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then '
              '(sleep 2; kill -KILL $$) & fi; exec "$@"')
    rc, out = run(MPIRUN + ["-np", "2", "sh", "-c", script, "sh", kiln_run,
                            ep2, *forever], 120)
    report("a rank dies", None if rc not in (0, "hang") and
           "signal 9" in out else "exit %s: %s" % (rc, out.strip()))

    # A rank that hangs (SIGSTOP after 2 s): rank 0's next all-reduce times
    # out after 3 s and ends every rank.
    script = ('if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then '
              '(sleep 2; kill -STOP $$) & fi; exec "$@"')
    rc, out = run(MPIRUN + ["-np", "2", "sh", "-c", script, "sh", kiln_run,
                            ep2, *forever, "--collective-timeout", "3"], 120)
    want = ("kiln: rank 0: all-reduce did not complete within 3 s "
            "(--collective-timeout): another rank died, hangs, or does not "
            "call it; ending every rank")
    report("a rank hangs past --collective-timeout",
           None if rc not in (0, "hang") and want in out else
           "exit %s: %s" % (rc, out.strip()))

    return h.finish("parallel")


if __name__ == "__main__":
    sys.exit(main())
