"""Checks a kiln-bench --trace file: Chrome's Trace Event Format, one
complete ("X") event per profiled run and per kernel call, kernels inside
their run, and each kernel event naming the nodes kiln-inspect lists for
that kernel. Usage: check_trace.py TRACE.json MODEL.kiln"""
import json
import subprocess
import sys

trace = json.load(open(sys.argv[1]))
kernels = json.loads(subprocess.check_output(
    ["kiln-inspect", sys.argv[2], "--json"]))["kernels"]
assert trace["displayTimeUnit"] == "ms", trace.keys()
events = [e for e in trace["traceEvents"] if e["ph"] == "X"]
runs = [e for e in events if e["cat"] == "run"]
assert runs and [e["name"] for e in runs] == [f"run {i}" for i in range(len(runs))], runs
categories = {"attention", "moe routing", "experts", "norms", "matmuls", "other"}
for e in events:
    for field in ("name", "cat", "ts", "dur", "pid", "tid", "args"):
        assert field in e, (field, e)
    assert e["dur"] >= 0 and e["ts"] >= 0, e
    if e["cat"] == "run":
        continue
    assert e["cat"] in categories, e
    k = kernels[e["args"]["kernel"]]
    assert e["name"] == k["name"] and e["args"]["nodes"] == k["nodes"], (e, k)
    run = runs[e["args"]["run"]]
    assert run["ts"] <= e["ts"] and e["ts"] + e["dur"] <= run["ts"] + run["dur"] + 1e-3, (e, run)
calls = len(events) - len(runs)
assert calls == len(runs) * len(kernels), (calls, len(runs), len(kernels))
assert any(node.startswith("/layers.1/") for e in events if e["cat"] != "run"
           for node in e["args"]["nodes"])
print(f"trace ok: {len(runs)} runs")
