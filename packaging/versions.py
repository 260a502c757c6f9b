#!/usr/bin/env python3
"""One version for every jwtgate artifact: the workspace `version` of the root Cargo.toml.

    versions.py              check every manifest in the tree against it (part of `make test`)
    versions.py --print      print it (the Makefiles read it from here)
    versions.py --dist DIR   check the built artifacts in DIR (part of `make dist-check`)

The manifests that carry a version of their own are checked, not trusted: a release bumps
Cargo.toml, runs this, and fixes what it names. Generated manifests (the npm platform packages
and optionalDependencies, the pkg-config file, the Go module's tag) are written from the
workspace version by `make dist` and checked again in the artifacts with --dist.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GO_MODULE = "github.com/jwtgate/jwtgate-go"


def workspace_version() -> str:
    with open(ROOT / "Cargo.toml", "rb") as f:
        return tomllib.load(f)["workspace"]["package"]["version"]


def check_tree(version: str) -> list[str]:
    problems: list[str] = []
    with open(ROOT / "Cargo.toml", "rb") as f:
        members = tomllib.load(f)["workspace"]["members"]
    for member in members:
        with open(ROOT / member / "Cargo.toml", "rb") as f:
            package = tomllib.load(f)["package"]
        if package.get("version") != {"workspace": True}:
            problems.append(f"{member}/Cargo.toml: version must be `version.workspace = true`, is {package.get('version')!r}")

    # Python: maturin takes the version from the crate (dynamic), so there is none to drift.
    with open(ROOT / "bindings-python/pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    if "version" in project or "version" not in project.get("dynamic", []):
        problems.append("bindings-python/pyproject.toml: the version must be dynamic (from Cargo.toml), not set")

    package_json = json.loads((ROOT / "bindings-node/package.json").read_text())
    if package_json.get("version") != version:
        problems.append(f"bindings-node/package.json: version {package_json.get('version')!r}, workspace {version!r}")
    for name, spec in package_json.get("optionalDependencies", {}).items():
        if name.startswith("jwtgate-") and spec != version:
            problems.append(f"bindings-node/package.json: optionalDependencies {name} {spec!r}, workspace {version!r}")
    lock = json.loads((ROOT / "bindings-node/package-lock.json").read_text())
    for where, value in (("version", lock.get("version")), ('packages[""].version', lock.get("packages", {}).get("", {}).get("version"))):
        if value != version:
            problems.append(f"bindings-node/package-lock.json: {where} {value!r}, workspace {version!r}")

    changelog = (ROOT / "CHANGELOG.md").read_text()
    released = re.findall(r"^## \[?(\d+\.\d+\.\d+[^\]\s]*)\]?", changelog, re.M)
    if not released or released[0] != version:
        problems.append(f"CHANGELOG.md: the newest release heading is {released[:1]}, workspace {version!r}")

    # Go: a module's version is its tag, written by `make dist`; in-tree importers must name the
    # module by its published path (and reach the source through a replace directive).
    for gomod in sorted(ROOT.glob("**/go.mod")):
        if "target" in gomod.parts or "node_modules" in gomod.parts:
            continue
        text = gomod.read_text()
        if re.search(r"^\s*(require\s+)?jwtgate\s+v", text, re.M):
            problems.append(f"{gomod.relative_to(ROOT)}: requires the old module path `jwtgate`, not {GO_MODULE}")
    return problems


def check_dist(version: str, dist: Path) -> list[str]:
    problems: list[str] = []

    def one(pattern: str) -> Path | None:
        found = sorted(dist.glob(pattern))
        if len(found) != 1:
            problems.append(f"{dist}/{pattern}: expected one file, found {[p.name for p in found]}")
            return None
        return found[0]

    for wheel in sorted(dist.glob("jwtgate-*.whl")) or [None]:
        if wheel is None:
            problems.append(f"{dist}: no wheel")
            break
        if not wheel.name.startswith(f"jwtgate-{version}-"):
            problems.append(f"{wheel.name}: not version {version}")
        with zipfile.ZipFile(wheel) as z:
            metadata = z.read(f"jwtgate-{version}.dist-info/METADATA").decode() if f"jwtgate-{version}.dist-info/METADATA" in z.namelist() else ""
        if f"\nVersion: {version}\n" not in metadata:
            problems.append(f"{wheel.name}: METADATA does not say Version: {version}")
    sdist = one("jwtgate-[0-9]*.tar.gz")
    if sdist is not None and sdist.name != f"jwtgate-{version}.tar.gz":
        problems.append(f"{sdist.name}: not jwtgate-{version}.tar.gz")

    for tgz in sorted(dist.glob("npm/*.tgz")):
        with tarfile.open(tgz) as t:
            manifest = json.load(t.extractfile("package/package.json"))  # type: ignore[arg-type]
        if manifest["version"] != version:
            problems.append(f"{tgz.name}: version {manifest['version']!r}")
        for name, spec in manifest.get("optionalDependencies", {}).items():
            if spec != version:
                problems.append(f"{tgz.name}: optionalDependencies {name} {spec!r}")
    if not list(dist.glob("npm/*.tgz")):
        problems.append(f"{dist}/npm: no tarballs")

    for c_tarball in sorted(dist.glob("libjwtgate-*.tar.gz")) or [None]:
        if c_tarball is None:
            problems.append(f"{dist}: no C tarball")
            break
        with tarfile.open(c_tarball) as t:
            pcs = [m for m in t.getmembers() if m.name.endswith("lib/pkgconfig/jwtgate.pc")]
            pc = t.extractfile(pcs[0]).read().decode() if pcs else ""  # type: ignore[union-attr]
            names = t.getnames()
        if f"\nVersion: {version}\n" not in pc:
            problems.append(f"{c_tarball.name}: jwtgate.pc does not say Version: {version}")
        if not any(n.endswith(f"lib/libjwtgate.so.{version}") for n in names):
            problems.append(f"{c_tarball.name}: no lib/libjwtgate.so.{version}")

    modules = sorted((dist / "goproxy").glob("**/@v/list"))
    if not modules:
        problems.append(f"{dist}/goproxy: no module")
    for listing in modules:
        if listing.read_text().split() != [f"v{version}"]:
            problems.append(f"{listing}: lists {listing.read_text().split()}, expected v{version}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--print", action="store_true", help="print the workspace version")
    parser.add_argument("--dist", type=Path, help="check the artifacts in this directory")
    args = parser.parse_args()
    version = workspace_version()
    if args.print:
        print(version)
        return 0
    problems = check_dist(version, args.dist) if args.dist else check_tree(version)
    for p in problems:
        print(f"version check: {p}", file=sys.stderr)
    if not problems:
        print(f"version check: every {'artifact' if args.dist else 'manifest'} says {version}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
