"""Checks kiln-inspect --json's kernel details and memory plan for what
must hold of any plan, from the numbers alone:

- a buffer's bytes are its type's elements times its element size;
- it lies inside the workspace, and two buffers that share bytes are never
  live during the same kernel (that would be a wrong plan);
- peak_bytes is the most bytes live during one kernel (peak_kernel's),
  never more than the workspace;
- first <= last < the number of kernels;
- on the CPU every kernel has a loop nest, and the kernels' code adds up
  to more than nothing (the machine code of the loop nests); on CUDA every
  launch's kernel has code in the cubin.

Usage: check_memory_plan.py REPORT.json [MIN_BUFFERS]
"""

import json
import sys

ELEMENT_BYTES = {"f64": 8, "f32": 4, "f16": 2, "bf16": 2, "i64": 8,
                 "i32": 4, "i16": 2, "i8": 1, "i1": 1, "index": 8}


def type_bytes(text):
    *dims, element = text.split("x")
    count = 1
    for dim in dims:
        count *= int(dim)
    return count * ELEMENT_BYTES[element]


def main():
    report = json.load(open(sys.argv[1]))
    min_buffers = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    kernels = report["kernels"]
    plan = report["memory_plan"]
    buffers = plan["buffers"]
    assert len(buffers) >= min_buffers, buffers
    assert plan["workspace_bytes"] == report["workspace_bytes"]["cpu"] or \
        plan["workspace_bytes"] == report["workspace_bytes"]["gpu"], plan
    live = [0] * len(kernels)
    for b in buffers:
        assert b["bytes"] == type_bytes(b["type"]), b
        assert 0 <= b["offset"] and \
            b["offset"] + b["bytes"] <= plan["workspace_bytes"], b
        assert 0 <= b["first_kernel"] <= b["last_kernel"] < len(kernels), b
        for k in range(b["first_kernel"], b["last_kernel"] + 1):
            live[k] += b["bytes"]
    for i, a in enumerate(buffers):
        for b in buffers[i + 1:]:
            share_bytes = a["offset"] < b["offset"] + b["bytes"] and \
                b["offset"] < a["offset"] + a["bytes"]
            share_time = a["first_kernel"] <= b["last_kernel"] and \
                b["first_kernel"] <= a["last_kernel"]
            assert not (share_bytes and share_time), (a, b)
    assert plan["peak_bytes"] == max(live), (plan["peak_bytes"], live)
    assert live[plan["peak_kernel"]] == plan["peak_bytes"], plan
    assert plan["peak_bytes"] <= plan["workspace_bytes"], plan
    if report["target"].startswith("cuda-"):
        # Every launch's kernel is a function of the cubin.
        assert all(k["code_bytes"] > 0 for k in kernels), kernels
    else:
        assert all(k["loop_nest"] for k in kernels), kernels
        assert sum(k["code_bytes"] for k in kernels) > 0, kernels
    print("plan ok: %d buffers, peak %d of %d bytes" %
          (len(buffers), plan["peak_bytes"], plan["workspace_bytes"]))


main()
