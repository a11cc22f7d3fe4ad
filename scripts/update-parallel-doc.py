#!/usr/bin/env python3
"""Regenerates the kiln-compile outputs quoted in docs/parallel.md.

Each quoted run is a block

    <!-- kiln-compile ARGS -->
    ```text
    $ kiln-compile ARGS
    ...its stdout and stderr...
    ```
    <!-- end -->

ARGS are run from the repository root. Without --check the blocks are
rewritten in place; with --check the script prints a diff and exits 1 when
the document no longer matches what kiln-compile prints (a lit test runs
it so), 0 otherwise.
"""
import argparse
import difflib
import os
import re
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCK = re.compile(
    r"<!-- kiln-compile (?P<args>.*?) -->\n```text\n.*?```\n<!-- end -->",
    re.S)


def run(kiln_compile, args):
    proc = subprocess.run([kiln_compile] + shlex.split(args), cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    out = proc.stdout
    if not out.endswith("\n"):
        out += "\n"
    status = "" if proc.returncode == 0 else f"(exit status {proc.returncode})\n"
    return (f"<!-- kiln-compile {args} -->\n```text\n$ kiln-compile {args}\n"
            f"{out}{status}```\n<!-- end -->")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiln-compile", default="kiln-compile",
                        help="the kiln-compile to run (default: from PATH)")
    parser.add_argument("--doc", default=os.path.join(ROOT, "docs",
                                                       "parallel.md"))
    parser.add_argument("--check", action="store_true",
                        help="compare instead of rewriting")
    opts = parser.parse_args()
    with open(opts.doc) as f:
        text = f.read()
    blocks = list(BLOCK.finditer(text))
    if not blocks:
        print(f"{opts.doc}: no '<!-- kiln-compile ... -->' blocks",
              file=sys.stderr)
        return 1
    new = BLOCK.sub(lambda m: run(opts.kiln_compile, m.group("args")), text)
    if opts.check:
        if new == text:
            print(f"{opts.doc}: {len(blocks)} runs up to date")
            return 0
        sys.stdout.writelines(difflib.unified_diff(
            text.splitlines(True), new.splitlines(True), opts.doc,
            "kiln-compile now"))
        print(f"{opts.doc} is out of date: run scripts/update-parallel-doc.py "
              "--kiln-compile build/bin/kiln-compile", file=sys.stderr)
        return 1
    with open(opts.doc, "w") as f:
        f.write(new)
    print(f"{opts.doc}: {len(blocks)} runs regenerated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
