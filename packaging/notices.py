#!/usr/bin/env python3
"""THIRD_PARTY_NOTICES.md: the licenses of the crates linked into the shipped libraries.

    notices.py           rewrite THIRD_PARTY_NOTICES.md at the repository root
    notices.py --check   fail if the committed file is not what this writes now (`make test`)

Written from `cargo metadata` (the locked graph, normal dependencies of jwtgate-ffi, jwtgate-node
and jwtgate-python for x86_64-unknown-linux-gnu: build scripts and dev-dependencies are not
linked) and the license files each crate ships in its package. Every artifact carries this file
with LICENSE (the wheel and sdist, both npm packages, the C tarball, the Go module). Chosen over
`cargo about` because it needs nothing beyond cargo and Python (cargo-about would be one more
tool to build from source in a clean CI); identical license texts are printed once.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "THIRD_PARTY_NOTICES.md"
TARGET = "x86_64-unknown-linux-gnu"
ARTIFACTS = {"jwtgate-ffi": "C/Go", "jwtgate-node": "Node", "jwtgate-python": "Python"}
LICENSE_PREFIXES = ("license", "licence", "copying", "notice", "copyright", "unlicense")


def metadata() -> dict:
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", TARGET],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)


def linked_packages(meta: dict) -> dict[str, set[str]]:
    """Package id -> the artifacts that link it (normal dependencies only)."""
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    by_name = {p["name"]: p["id"] for p in meta["packages"] if p["id"] in set(meta["workspace_members"])}
    # Procedural macros run in the compiler and are not linked; nor is what only they use.
    proc_macros = {p["id"] for p in meta["packages"] if all("proc-macro" in t["kind"] for t in p["targets"])}
    used: dict[str, set[str]] = defaultdict(set)
    for root, artifact in ARTIFACTS.items():
        stack = [by_name[root]]
        seen: set[str] = set()
        while stack:
            pid = stack.pop()
            if pid in seen or pid in proc_macros:
                continue
            seen.add(pid)
            used[pid].add(artifact)
            for dep in nodes[pid]["deps"]:
                if any(k["kind"] is None for k in dep["dep_kinds"]):
                    stack.append(dep["pkg"])
    return used


MIT = """Copyright (c) <copyright holders>

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES
OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE."""


def license_texts(package: dict) -> list[tuple[str, str]]:
    root = Path(package["manifest_path"]).parent
    files = []
    if package.get("license_file"):
        files.append(root / package["license_file"])
    for f in sorted(root.iterdir()):
        if f.is_file() and f.name.lower().startswith(LICENSE_PREFIXES) and f not in files:
            files.append(f)
    texts = []
    if not files and package.get("license") == "MIT":
        # The MIT license asks for its text and the copyright notice; the crate ships neither
        # file, so the notice is the standard text with the authors the crate names.
        authors = ", ".join(a.split(" <")[0] for a in package.get("authors", [])) or package["name"] + " authors"
        return [("MIT (standard text)", MIT.replace("<copyright holders>", authors))]
    for f in files:
        try:
            texts.append((f.name, f.read_text(errors="replace").strip()))
        except OSError:
            continue
    return texts


def render(meta: dict) -> str:
    used = linked_packages(meta)
    members = set(meta["workspace_members"])
    packages = sorted(
        (p for p in meta["packages"] if p["id"] in used and p["id"] not in members),
        key=lambda p: (p["name"], p["version"]),
    )
    text_ids: dict[str, int] = {}
    texts: list[str] = []
    rows = []
    for p in packages:
        refs = []
        for name, text in license_texts(p):
            if text not in text_ids:
                text_ids[text] = len(texts) + 1
                texts.append(text)
            refs.append(f"[{name}](#text-{text_ids[text]})")
        where = ", ".join(sorted(used[p["id"]]))
        rows.append(f"| {p['name']} | {p['version']} | {p.get('license') or '?'} | {where} | "
                    f"{', '.join(refs) or 'no license file in the package: see its SPDX expression'} |")
    out = [
        "# Third-party notices",
        "",
        "jwtgate is Apache-2.0 (LICENSE). Its libraries link the Rust crates below (normal",
        f"dependencies for {TARGET}; the Go module links what the C library links). Generated by",
        "`packaging/notices.py` from `cargo metadata` and the license files each crate ships; do not",
        "edit by hand (`make notices` rewrites it, `make test` checks it is current).",
        "",
        "| crate | version | license | linked into | license text |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "## License texts",
        "",
    ]
    for i, text in enumerate(texts, 1):
        out += [f'<a id="text-{i}"></a>', f"### Text {i}", "", "```text", text, "```", ""]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    fresh = render(metadata())
    if args.check:
        if not OUT.exists() or OUT.read_text() != fresh:
            print("THIRD_PARTY_NOTICES.md is not current: run `make notices` and commit it", file=sys.stderr)
            return 1
        print("THIRD_PARTY_NOTICES.md is current")
        return 0
    OUT.write_text(fresh)
    print(f"wrote {OUT.relative_to(ROOT)}: {fresh.count(chr(10))} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
