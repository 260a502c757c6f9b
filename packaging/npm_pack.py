#!/usr/bin/env python3
"""Stage and `npm pack` the Node packages the way napi-rs projects publish them.

    npm_pack.py --out dist/npm --addon linux-x64-gnu=path/to/jwtgate.linux-x64-gnu.node [...]

- one package per platform, `jwtgate-<platform>`, holding only the prebuilt `.node`, with the
  `os`, `cpu` and `libc` fields npm uses to install only the matching one;
- the main package `jwtgate`: the JS loader, typings and every other entry (`jwtgate/express`,
  ...), with the platform packages as `optionalDependencies` at the same version. Every
  top-level JS/TS file of bindings-node/ ships (a new entry file needs no change here), and
  bindings-node/package.json is the manifest, minus what only the repository needs: the
  `install` script (it builds from source with cargo), the other scripts and devDependencies.

Versions come from the workspace (packaging/versions.py), never from a second place.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "bindings-node"
sys.path.insert(0, str(Path(__file__).parent))
from versions import workspace_version  # noqa: E402

ENTRY_PATTERNS = ["*.js", "*.mjs", "*.cjs", "*.d.ts", "*.d.mts", "*.d.cts"]
DOCS = [ROOT / "LICENSE", ROOT / "THIRD_PARTY_NOTICES.md", ROOT / "CHANGELOG.md"]
# napi-rs's platform names -> npm's os / cpu / libc fields.
PLATFORMS = {
    "linux-x64-gnu": (["linux"], ["x64"], ["glibc"]),
    "linux-x64-musl": (["linux"], ["x64"], ["musl"]),
    "linux-arm64-gnu": (["linux"], ["arm64"], ["glibc"]),
    "linux-arm64-musl": (["linux"], ["arm64"], ["musl"]),
    "darwin-x64": (["darwin"], ["x64"], None),
    "darwin-arm64": (["darwin"], ["arm64"], None),
    "win32-x64-msvc": (["win32"], ["x64"], None),
}


def pack(stage: Path, out: Path) -> Path:
    result = subprocess.run(["npm", "pack", "--json", "--pack-destination", str(out.resolve())],
                            cwd=stage, check=True, capture_output=True, text=True)
    tarball = out / json.loads(result.stdout)[0]["filename"]
    print(f"{tarball.relative_to(out.parent)}: {tarball.stat().st_size / 1e6:.2f} MB")
    return tarball


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--stage", type=Path, required=True, help="a scratch directory (emptied)")
    parser.add_argument("--addon", action="append", default=[], metavar="PLATFORM=FILE")
    args = parser.parse_args()
    version = workspace_version()
    manifest = json.loads((NODE / "package.json").read_text())
    name = manifest["name"]
    if manifest["version"] != version:
        sys.exit(f"bindings-node/package.json says {manifest['version']}, the workspace {version}")
    if args.stage.exists():
        shutil.rmtree(args.stage)
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.tgz"):
        old.unlink()

    common = {k: manifest[k] for k in ("license", "engines", "repository") if k in manifest}
    optional = {}
    for spec in args.addon:
        platform, _, file = spec.partition("=")
        os_, cpu, libc = PLATFORMS[platform]
        binary = f"{manifest['napi']['binaryName']}.{platform}.node"
        stage = args.stage / f"{name}-{platform}"
        stage.mkdir(parents=True)
        shutil.copy2(file, stage / binary)
        for doc in DOCS:
            shutil.copy2(doc, stage)
        platform_manifest = {
            "name": f"{name}-{platform}",
            "version": version,
            "description": f"The {platform} native addon of {name} (install `{name}`, not this package)",
            "main": binary,
            "files": [binary, "LICENSE", "THIRD_PARTY_NOTICES.md", "CHANGELOG.md"],
            "os": os_,
            "cpu": cpu,
            **({"libc": libc} if libc else {}),
            **common,
        }
        (stage / "package.json").write_text(json.dumps(platform_manifest, indent=2) + "\n")
        (stage / "README.md").write_text(
            f"# {name}-{platform}\n\nThe prebuilt native addon of [`{name}`](https://www.npmjs.com/package/{name}) "
            f"for {platform}. Install `{name}`: npm picks this package when it matches the machine.\n")
        pack(stage, args.out)
        optional[f"{name}-{platform}"] = version

    stage = args.stage / name
    stage.mkdir(parents=True)
    entries = sorted({f for pattern in ENTRY_PATTERNS for f in NODE.glob(pattern) if f.is_file()})
    for f in entries + [NODE / "README.md"] + DOCS:
        shutil.copy2(f, stage)
    main_manifest = dict(manifest)
    main_manifest.pop("devDependencies", None)
    main_manifest.pop("scripts", None)  # `install` would build from source with cargo
    main_manifest["files"] = ENTRY_PATTERNS + ["LICENSE", "THIRD_PARTY_NOTICES.md", "CHANGELOG.md"]
    main_manifest["optionalDependencies"] = {**manifest.get("optionalDependencies", {}), **optional}
    (stage / "package.json").write_text(json.dumps(main_manifest, indent=2) + "\n")
    pack(stage, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
