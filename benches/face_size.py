#!/usr/bin/env python3
"""Each face's size against the core's: the faces are meant to be thin translations of one
engine (under a quarter of the core each).

    python3 benches/face_size.py

Counts code lines of the files git tracks: no blank lines, no comment lines (`//`, `/* */`,
`#`, Python docstrings), no tests (test directories, `_test.go`, `*.test.*`, and a Rust file's
`#[cfg(test)] mod tests` to the end of the file), no examples, benches, generated type
declarations (`.d.ts`) or data. Python's hand-written `.pyi` stubs are counted apart. Not a
test: it prints, nothing asserts a ratio.
"""

from __future__ import annotations

import collections
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREES = ["core/src", "bindings-python/src", "bindings-python/python", "bindings-node",
         "bindings-ffi/src", "bindings-ffi/go", "bindings-ffi/build.rs", "bindings-node/build.rs"]
SKIP = re.compile(r"(^|/)(tests?|examples?|benches|npm|__tests__)/|_test\.go$|\.test\.")
CODE = re.compile(r"\.(rs|py|pyi|js|mjs|go)$")


def code_lines(path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".rs":
        m = re.search(r"^#\[cfg\(test\)\]\s*\nmod tests", text, re.M)
        if m:
            text = text[: m.start()]
    python = path.suffix in (".py", ".pyi")
    n, in_block, in_doc = 0, False, False
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        if python:
            if s.startswith("#"):
                continue
            if in_doc:
                in_doc = '"""' not in s
                continue
            if s.startswith('"""'):
                in_doc = s.count('"""') == 1
                continue
        else:
            if in_block:
                in_block = "*/" not in s
                continue
            if s.startswith("/*"):
                in_block = "*/" not in s
                continue
            if s.startswith("//") or s.startswith("*"):
                continue
        n += 1
    return n


def face_of(path: str) -> str:
    if path.startswith("bindings-ffi/"):
        return "Go package (bindings-ffi/go)" if path.endswith(".go") else "C ABI (bindings-ffi/src)"
    return {"core": "core", "bindings-python": "Python", "bindings-node": "Node"}[path.split("/")[0]]


def main() -> None:
    files = subprocess.run(["git", "ls-files", *TREES], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    lines: collections.Counter[tuple[str, str]] = collections.Counter()
    for f in files:
        if SKIP.search(f) or not CODE.search(f):
            continue
        kind = "stubs" if f.endswith(".pyi") else Path(f).suffix.lstrip(".")
        lines[(face_of(f), kind)] += code_lines(ROOT / f)
    core = sum(n for (face, _), n in lines.items() if face == "core")
    print(f"core: {core} code lines")
    for face in ("Python", "Node", "C ABI (bindings-ffi/src)", "Go package (bindings-ffi/go)"):
        parts = {k: n for (f, k), n in lines.items() if f == face and k != "stubs"}
        total = sum(parts.values())
        detail = ", ".join(f"{k} {n} ({n / core:.2f})" for k, n in sorted(parts.items()))
        stubs = lines.get((face, "stubs"), 0)
        extra = f"; stubs {stubs}" if stubs else ""
        print(f"{face}: {total} ({total / core:.2f} of the core): {detail}{extra}")


if __name__ == "__main__":
    main()
