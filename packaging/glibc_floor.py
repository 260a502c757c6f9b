#!/usr/bin/env python3
"""Fail if a shipped binary needs a newer glibc than the floor we promise.

    glibc_floor.py --max 2.17 lib.so addon.node wheel.whl ...

The floor is the newest GLIBC_x.y symbol version a binary references (readelf, which reads every
architecture's ELF, unlike this machine's objdump); a wheel is
checked through the shared objects inside it. 2.17 is manylinux2014's floor, and the one the
C library, the Node addon and the Go module's static library are built for (`make dist`).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path


def floor(binary: Path) -> tuple[int, ...]:
    out = subprocess.run(["readelf", "--dyn-syms", "-W", str(binary)], check=True, capture_output=True, text=True).stdout
    versions = {tuple(int(x) for x in v.split(".")) for v in re.findall(r"GLIBC_(\d+(?:\.\d+)+)", out)}
    return max(versions, default=(0,))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max", required=True)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    limit = tuple(int(x) for x in args.max.split("."))
    bad = False
    with tempfile.TemporaryDirectory() as tmp:
        for f in args.files:
            binaries = [f]
            if f.suffix == ".whl":
                with zipfile.ZipFile(f) as z:
                    names = [n for n in z.namelist() if n.endswith(".so")]
                    z.extractall(tmp, names)
                binaries = [Path(tmp) / n for n in names]
            for b in binaries:
                needed = floor(b)
                text = ".".join(map(str, needed))
                ok = needed <= limit
                bad |= not ok
                print(f"{'ok' if ok else 'TOO NEW'}: {f.name}{'' if b == f else ':' + b.name} needs glibc {text} (floor {args.max})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
