#!/usr/bin/env python3
"""Write a file-system Go module proxy (GOPROXY=file://DIR) holding jwtgate's Go modules.

    goproxy.py --out dist/goproxy --version 0.1.0 --lib libjwtgate.a --header jwtgate.h

Every go.mod under bindings-ffi/go/ is one module (a nested module, such as an integration
package with dependencies of its own, is published beside its parent, never inside its zip),
all at one version, the workspace's. The layout is the GOPROXY protocol's
(`<module>/@v/list`, `.info`, `.mod`, `.zip`), so `go get` fetches from it exactly as from
proxy.golang.org, and a real release tags the same tree.

What the published tree differs in from the repository, and why:
- files that link the repository's build outputs (`${SRCDIR}/../../target/...`: link_debug.go,
  link_release.go) are left out; the module that had them gets packaging/go/link_*.go, the
  header under include/ and the release static library under lib/linux_amd64/ instead (the
  wasmtime-go way: `go build` needs no Rust toolchain);
- tests are left out: they read the repository's shared vectors (../../tests/vectors);
- go.mod: a requirement on a sibling module gets this version, and a replace directive that
  points a sibling at its in-repository directory is dropped (replace is for development;
  consumers ignore it anyway, but the requirement must name a version the proxy has);
- LICENSE and THIRD_PARTY_NOTICES.md are added to every module.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GO_ROOT = ROOT / "bindings-ffi/go"
PACKAGING = ROOT / "packaging/go"
IN_REPO_LINK = "${SRCDIR}/../../target/"
# Zip entries get one fixed time, so the same tree gives the same zip (and the same go.sum line).
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def escape(path: str) -> str:
    """The proxy protocol's case encoding: an upper-case letter becomes '!' + lower case."""
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), path)


def module_path(gomod: Path) -> str:
    m = re.search(r"^module\s+(\S+)", gomod.read_text(), re.M)
    if not m:
        sys.exit(f"{gomod}: no module line")
    return m.group(1).strip('"')


def published_gomod(text: str, siblings: set[str], version: str) -> str:
    out = []
    in_replace_block = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("replace ("):
            in_replace_block = True
            out.append(line)
            continue
        if in_replace_block and stripped == ")":
            in_replace_block = False
        words = stripped.removeprefix("replace ").split()
        if (stripped.startswith("replace ") or in_replace_block) and words and words[0] in siblings:
            continue
        req = re.match(r"^(\s*(?:require\s+)?)(\S+)(\s+)v\S+(.*)$", line)
        if req and req.group(2) in siblings:
            line = f"{req.group(1)}{req.group(2)}{req.group(3)}v{version}{req.group(4)}"
        out.append(line)
    text = "\n".join(out) + "\n"
    return re.sub(r"replace \(\s*\)\n", "", text)


def module_files(mod_dir: Path, nested: set[Path]) -> list[Path]:
    files = []
    for f in sorted(mod_dir.rglob("*")):
        if not f.is_file() or any(n in f.parents for n in nested):
            continue
        rel = f.relative_to(mod_dir)
        if f.name.endswith("_test.go") or "testdata" in rel.parts or f.name == "go.mod":
            continue
        if f.suffix == ".go" and IN_REPO_LINK in f.read_text():
            continue
        files.append(f)
    return files


def write_module(out: Path, mod_dir: Path, nested: set[Path], siblings: set[str], version: str,
                 lib: Path, header: Path, commit_time: str) -> Path:
    path = module_path(mod_dir / "go.mod")
    vdir = out / escape(path) / "@v"
    vdir.mkdir(parents=True, exist_ok=True)
    gomod = published_gomod((mod_dir / "go.mod").read_text(), siblings, version)
    (vdir / f"v{version}.mod").write_text(gomod)
    (vdir / f"v{version}.info").write_text(json.dumps({"Version": f"v{version}", "Time": commit_time}) + "\n")
    (vdir / "list").write_text(f"v{version}\n")

    files = module_files(mod_dir, nested)
    extra: dict[str, Path] = {"LICENSE": ROOT / "LICENSE", "THIRD_PARTY_NOTICES.md": ROOT / "THIRD_PARTY_NOTICES.md"}
    links_in_repo = any(f.suffix == ".go" and IN_REPO_LINK in f.read_text()
                        for f in mod_dir.glob("*.go"))
    if links_in_repo:
        for f in sorted(PACKAGING.glob("link_*.go")):
            extra[f.name] = f
        extra["include/jwtgate.h"] = header
        extra["lib/linux_amd64/libjwtgate.a"] = lib
    prefix = f"{path}@v{version}/"
    zpath = vdir / f"v{version}.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
        def add(name: str, data: bytes) -> None:
            info = zipfile.ZipInfo(prefix + name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
        add("go.mod", gomod.encode())
        for f in files:
            add(f.relative_to(mod_dir).as_posix(), f.read_bytes())
        for name, src in sorted(extra.items()):
            add(name, src.read_bytes())
    print(f"{path} v{version}: {zpath.stat().st_size / 1e6:.1f} MB")
    return zpath


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--lib", type=Path, required=True, help="the release libjwtgate.a for linux/amd64")
    parser.add_argument("--header", type=Path, default=ROOT / "bindings-ffi/include/jwtgate.h")
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    mod_dirs = sorted(p.parent for p in GO_ROOT.rglob("go.mod"))
    siblings = {module_path(d / "go.mod") for d in mod_dirs}
    commit_time = subprocess.run(["git", "log", "-1", "--format=%cI"], cwd=ROOT, capture_output=True,
                                 text=True).stdout.strip() or "2026-01-01T00:00:00Z"
    for d in mod_dirs:
        nested = {n for n in mod_dirs if n != d and d in n.parents}
        write_module(args.out, d, nested, siblings, args.version, args.lib, args.header, commit_time)
    return 0


if __name__ == "__main__":
    sys.exit(main())
