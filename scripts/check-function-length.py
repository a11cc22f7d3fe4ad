#!/usr/bin/env python3
"""Lists C and C++ functions longer than a limit, and source files longer
than another (issue 10: "no function over ~150 lines, no source file over
1,000 lines").

What it detects, and how: a scan of each .c/.cpp/.h/.inc file that skips
comments, string and character literals (raw strings included) and
preprocessor lines, and matches braces. A brace opened where no function is
open is a function body when the text before it (since the last ';', '{' or
'}') has a parenthesis and does not start with namespace, class, struct,
union, enum, extern or template-of-those, and is not an initializer (no '='
at its top level). Everything until the matching brace (lambdas, local
classes included) is that function. Its length is counted from the line of
the opening brace to the line of the closing one, blank and comment lines
included. Bodies of classes and namespaces are scanned for functions inside.

What it does not: it does not preprocess, so a function whose braces are
split across #if branches can confuse it; a function-like macro body
expanded elsewhere is not counted; generated files (.inc from tablegen in
the build directory) are not scanned because only the source folders are.

Usage: check-function-length.py [--max-function N] [--max-file N] [DIR...]
Exits 1 when anything is over a limit, and lists it as path:line: what.
"""
import argparse
import os
import re
import sys

DEFAULT_DIRS = ["dialects", "lib", "passes", "runtime", "tools",
                "python-bindings/src", "include"]
EXTENSIONS = (".c", ".cpp", ".cc", ".h", ".hpp")
CONTAINER = re.compile(
    r"^(?:template\s*<.*>\s*)?(?:namespace|class|struct|union|enum|extern)\b",
    re.S)


def strip(text):
    """Returns text with comments, literals and preprocessor lines blanked
    (newlines kept, so line numbers hold)."""
    out = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c in " \t":
            out.append(c)
            i += 1
            continue
        if line_start and c == "#":
            # A preprocessor line, with its continuations.
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    out.append("\n")
                    i += 2
                    continue
                i += 1
            continue
        line_start = False
        if c == "\n":
            line_start = True
            out.append(c)
            i += 1
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("\n" * text.count("\n", i, end))
            i = end
        elif c == "R" and text.startswith('R"', i) and (
                i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            open_paren = text.find("(", i + 2)
            delim = ")" + text[i + 2:open_paren] + '"'
            end = text.find(delim, open_paren)
            end = n if end < 0 else end + len(delim)
            out.append('""' + "\n" * text.count("\n", i, end))
            i = end
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum():
                # A digit separator (1'000), not a character literal.
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(text):
    """Yields (name, first line, last line) of each function body."""
    code = strip(text)
    line = 1
    # Stack of (kind, start line, header); kind is 'function' or 'scope'.
    stack = []
    header_start = 0
    for i, c in enumerate(code):
        if c == "\n":
            line += 1
        elif c in ";{}" and stack and stack[-1][0] == "function":
            # Inside a function only the braces matter.
            if c == "{":
                stack.append(("inner", line, ""))
            elif c == "}":
                kind, start, header = stack.pop()
                if kind == "function":
                    yield header, start, line
                header_start = i + 1
        elif c == "{" and stack and stack[-1][0] == "inner":
            stack.append(("inner", line, ""))
        elif c == "}" and stack and stack[-1][0] == "inner":
            stack.pop()
            if stack and stack[-1][0] == "function":
                pass
        elif stack and stack[-1][0] == "inner":
            continue
        elif c == ";":
            header_start = i + 1
        elif c == "{":
            header = " ".join(code[header_start:i].split())
            is_function = ("(" in header and not CONTAINER.match(header)
                           and not re.search(r"(?<![=!<>])=(?!=)",
                                             re.sub(r"\(.*\)", "", header)))
            stack.append(("function" if is_function else "scope", line,
                          header))
            header_start = i + 1
        elif c == "}":
            if stack:
                stack.pop()
            header_start = i + 1


def name_of(header):
    match = re.search(r"([~\w:<>]+)\s*\(", header)
    return match.group(1) if match else header[:60]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-function", type=int, default=150)
    parser.add_argument("--max-file", type=int, default=1000)
    parser.add_argument("dirs", nargs="*", default=DEFAULT_DIRS)
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    problems = []
    for top in args.dirs:
        top = os.path.join(root, top) if not os.path.isabs(top) else top
        for folder, _, files in sorted(os.walk(top)):
            for file in sorted(files):
                if not file.endswith(EXTENSIONS):
                    continue
                path = os.path.join(folder, file)
                rel = os.path.relpath(path, root)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                lines = text.count("\n")
                if lines > args.max_file:
                    problems.append(f"{rel}:1: file of {lines} lines")
                for header, start, end in functions(text):
                    length = end - start + 1
                    if length > args.max_function:
                        problems.append(f"{rel}:{start}: {name_of(header)} "
                                        f"is {length} lines")
    for problem in problems:
        print(problem)
    print(f"{len(problems)} over the limits (functions over "
          f"{args.max_function} lines, files over {args.max_file})",
          file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
