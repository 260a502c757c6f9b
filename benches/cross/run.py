#!/usr/bin/env python3
"""Cross-language micro benchmark: jwtgate from Rust, Python, Node, C and Go against the
validators of each language, five algorithms, hit and cold paths, in one interleaved run.

    make bench-cross                      # builds the drivers, then runs this
    python3 benches/cross/run.py [--quick] [--only rust,go] [--reps N] [--sample-ms MS]

How it measures and the driver protocol: benches/cross/README.md. Writes
benches/RESULTS.md (unless --out) and the raw samples to target/bench-cross.json.
Not a test: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import select
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "target"
sys.path.insert(0, str(Path(__file__).resolve().parent))
import spec as spec_module  # noqa: E402

LANGS = ("rust", "python", "node", "c", "go")
ALGS = spec_module.ALGS
LANG_NAMES = {"rust": "Rust", "python": "Python", "node": "Node", "c": "C", "go": "Go"}


def driver_command(lang: str, spec_path: str) -> List[str]:
    return {
        "rust": [str(TARGET / "release" / "cross_driver"), spec_path],
        "python": [
            str(ROOT / ".venv" / "bin" / "python"),
            str(ROOT / "benches" / "python" / "cross_driver.py"),
            spec_path,
            "--pyjwt-legacy",
            str(TARGET / "bench-pyjwt-2.13"),
        ],
        "node": ["node", str(ROOT / "benches" / "node" / "cross_driver.mjs"), spec_path],
        "c": [str(TARGET / "cross-driver-c"), spec_path],
        "go": [str(TARGET / "cross-driver-go"), spec_path],
    }[lang]


@dataclass
class Subject:
    id: str
    lang: str
    impl: str
    alg: str
    mode: str  # hit | cold
    role: str  # jwtgate | peer | floor
    iters: int = 0
    samples: List[float] = field(default_factory=list)  # ns per call, one per repetition

    def median(self) -> float:
        return statistics.median(self.samples)


class Driver:
    """One language's driver process, spoken to in JSON lines (one order at a time)."""

    def __init__(self, lang: str, spec_path: str) -> None:
        self.lang = lang
        # stderr to a file, not a pipe: a chatty driver must never block on a full pipe.
        self.stderr = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(
            driver_command(lang, spec_path),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            cwd=ROOT,
        )
        self.ready = self._read(timeout=180)

    def _read(self, timeout: float) -> dict:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.proc.kill()
            self.proc.wait()
            self.stderr.seek(0)
            err = self.stderr.read()
            sys.exit(f"cross: the {self.lang} driver stopped or timed out (status {self.proc.poll()}):\n{err}")
        return json.loads(line)

    def run(self, subject_id: str, iters: int) -> float:
        """Total wall-clock nanoseconds of `iters` calls."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"run": subject_id, "iters": iters}) + "\n")
        self.proc.stdin.flush()
        return float(self._read(timeout=300)["ns"])

    def close(self) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write('{"quit": true}\n')
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def calibrate(driver: Driver, s: Subject, sample_ns: float) -> None:
    """The number of calls that takes about `sample_ns` (at least 5)."""
    iters = 1
    while True:
        ns = driver.run(s.id, iters)
        if ns >= sample_ns / 8 or iters >= 1 << 24:
            break
        iters *= 4
    s.iters = max(5, int(sample_ns / (ns / iters)))


def command_version(cmd: List[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20, cwd=ROOT)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def cargo_lock_version(name: str) -> str:
    lines = (ROOT / "Cargo.lock").read_text().splitlines()
    for i, line in enumerate(lines):
        if line == f'name = "{name}"' and i + 1 < len(lines):
            return lines[i + 1].split('"')[1]
    return "?"


def machine() -> Dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "kernel": platform.release(),
        "rustc": command_version(["rustc", "-V"]),
    }


def us(ns: float) -> str:
    v = ns / 1000
    return f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:.0f}"


def ratio_text(r: Optional[float]) -> str:
    return "—" if r is None else f"{r:.2f}×" if r < 10 else f"{r:.1f}×"


def paired(a: Subject, b: Subject) -> float:
    """Median over repetitions of a ÷ b, each ratio from the two samples of one repetition."""
    return statistics.median(x / y for x, y in zip(a.samples, b.samples))


def report(subjects: List[Subject], ready: Dict[str, dict], args: argparse.Namespace,
           facts: Dict[str, str], load: Tuple[str, str], elapsed: float, spec: dict) -> str:
    by = {(s.lang, s.impl, s.alg, s.mode): s for s in subjects}
    langs = [l for l in LANGS if l in ready]
    out: List[str] = []
    w = out.append
    w("# Benchmarks: jwtgate against the validators of every language, one run")
    w("")
    w("Written by `benches/cross/run.py` (`make bench-cross`, part of `make bench`). The other "
      "results of `make bench`: [CORE.md](CORE.md) (the core under criterion: hit, 2 threads, cold "
      "÷ floor per algorithm), [LOAD.md](LOAD.md) (provider calls per traffic pattern, memory per "
      "cached token), [http/RESULTS.md](http/RESULTS.md) (FastAPI and Express under wrk), and the "
      "per-face runs in [python/](python/RESULTS.md), [node/](node/RESULTS.md), [go/](go/RESULTS.md).")
    w("")
    w(f"Command: `{args.command}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
      f"{elapsed:.0f} s). How it measures and what each driver does: [cross/README.md](cross/README.md).")
    w("")
    w(f"- Machine: {facts['cpu']}, {facts['cores']} cores, Linux {facts['kernel']}; "
      f"load average {load[0]} before, {load[1]} after.")
    w(f"- {args.reps} repetitions; each sample is about {args.sample_ms} ms of calls. A cell is "
      "the median over repetitions of the wall-clock time per call, in µs. A ratio is the median "
      "of per-repetition ratios of two samples taken seconds apart (pair by pair).")
    sizes = ", ".join(f"{a} {spec['algs'][a]['bytes']} B" for a in ALGS)
    w(f"- Tokens: `tests/vectors/valid.json`, {spec['algs']['RS256']['claims']} claims, typ at+jwt "
      f"({sizes}). Policy: the one algorithm, iss, aud, exp/nbf with {spec['leeway']} s leeway, typ.")
    w("- `hit`: the result cache answers (jwtgate's default; fast-jwt's `cache: true`). `cold`: every "
      "call verifies the signature and the claims (jwtgate `cache_max_entries = 0`; peers without a cache).")
    w("")
    w("| language | runtime and jwtgate | peers |")
    w("|---|---|---|")
    for l in langs:
        v = dict(ready[l]["versions"])
        runtime = [f"{k} {v.pop(k)}" for k in ("python", "node", "go", "cc") if k in v]
        if l == "rust":
            runtime.insert(0, facts["rustc"])
        runtime.append(f"jwtgate {v.pop('jwtgate', '?')}")
        if l == "rust":
            v["jsonwebtoken"] = f"{cargo_lock_version('jsonwebtoken')} (aws_lc_rs)"
            v["aws-lc-rs"] = cargo_lock_version("aws-lc-rs")
        peers = ", ".join(f"{k} {val}" for k, val in v.items()) or "—"
        w(f"| {LANG_NAMES[l]} | {', '.join(runtime)} | {peers} |")
    w("")
    w("## Headline")
    w("")
    w("RS256, µs per call; *speed-up* is the fastest peer ÷ jwtgate, paired per repetition "
      "(hit: the fastest peer in any mode, its cache included; cold: the fastest peer that "
      "validates in full).")
    w("")
    w("| language | jwtgate hit | jwtgate cold | fastest peer | hit speed-up | cold speed-up |")
    w("|---|---:|---:|---|---:|---:|")
    for l in langs:
        hit, cold = by.get((l, "jwtgate", "RS256", "hit")), by.get((l, "jwtgate", "RS256", "cold"))
        if not hit or not cold:
            continue
        group = [s for s in subjects if s.lang == l and s.alg == "RS256" and s.role == "peer"]
        best_any = min(group, key=Subject.median, default=None)
        best_cold = min((s for s in group if s.mode == "cold"), key=Subject.median, default=None)
        names = []
        shown = [x for x in (best_any, best_cold) if x is not None]
        for s in sorted({x.id: x for x in shown}.values(), key=Subject.median):
            names.append(f"{s.impl}{' (cache)' if s.mode == 'hit' else ''}: {us(s.median())}")
        w(f"| {LANG_NAMES[l]} | {us(hit.median())} | {us(cold.median())} | {'; '.join(names) or '—'} | "
          f"{ratio_text(paired(best_any, hit) if best_any else None)} | "
          f"{ratio_text(paired(best_cold, cold) if best_cold else None)} |")
    w("")
    w("Cold speed-up per algorithm (fastest full-validation peer ÷ jwtgate cold):")
    w("")
    w("| language | " + " | ".join(ALGS) + " |")
    w("|---|" + "---:|" * len(ALGS))
    for l in langs:
        cells = []
        for alg in ALGS:
            cold = by.get((l, "jwtgate", alg, "cold"))
            peers = [s for s in subjects if s.lang == l and s.alg == alg and s.role == "peer" and s.mode == "cold"]
            best = min(peers, key=Subject.median, default=None)
            cells.append(f"{ratio_text(paired(best, cold))} ({best.impl})" if best and cold else "—")
        if any(c != "—" for c in cells):
            w(f"| {LANG_NAMES[l]} | " + " | ".join(cells) + " |")
    w("")
    w("## jwtgate in every language (µs per call)")
    w("")
    w("| alg | " + " | ".join(f"{LANG_NAMES[l]} hit" for l in langs) + " | "
      + " | ".join(f"{LANG_NAMES[l]} cold" for l in langs) + " |")
    w("|---|" + "---:|" * (2 * len(langs)))
    for alg in ALGS:
        cells = []
        for mode in ("hit", "cold"):
            for l in langs:
                s = by.get((l, "jwtgate", alg, mode))
                cells.append(us(s.median()) if s else "—")
        w(f"| {alg} | " + " | ".join(cells) + " |")
    w("")

    w("## jwtgate against each language's validators")
    w("")
    w("µs per call. *best ÷ hit*: the fastest peer (any mode) ÷ jwtgate hit; *best ÷ cold*: the "
      "fastest peer that validates in full every call ÷ jwtgate cold. Above 1× jwtgate is faster.")
    for l in langs:
        peers = sorted({s.impl + (" (cache)" if s.mode == "hit" else "")
                        for s in subjects if s.lang == l and s.role == "peer"})
        floors = sorted({s.impl for s in subjects if s.lang == l and s.role == "floor"})
        w("")
        w(f"### {LANG_NAMES[l]}")
        w("")
        head = ["alg", "jwtgate hit", "jwtgate cold"] + peers + [f"{f} (floor)" for f in floors]
        has_peers = bool(peers)
        head += (["best ÷ hit", "best ÷ cold"] if has_peers else []) + (["cold ÷ floor"] if floors else [])
        w("| " + " | ".join(head) + " |")
        w("|---|" + "---:|" * (len(head) - 1))
        for alg in ALGS:
            hit = by.get((l, "jwtgate", alg, "hit"))
            cold = by.get((l, "jwtgate", alg, "cold"))
            row = [alg, us(hit.median()) if hit else "—", us(cold.median()) if cold else "—"]
            group = [s for s in subjects if s.lang == l and s.alg == alg and s.role == "peer"]
            for name in peers:
                impl, cached = (name[: -len(" (cache)")], "hit") if name.endswith(" (cache)") else (name, "cold")
                s = by.get((l, impl, alg, cached))
                row.append(us(s.median()) if s else "—")
            for f in floors:
                s = by.get((l, f, alg, "cold"))
                row.append(us(s.median()) if s else "—")
            best_any = min(group, key=Subject.median, default=None)
            best_cold = min((s for s in group if s.mode == "cold"), key=Subject.median, default=None)
            if has_peers:
                row.append(ratio_text(paired(best_any, hit) if best_any and hit else None))
                row.append(ratio_text(paired(best_cold, cold) if best_cold and cold else None))
            if floors:
                fl = by.get((l, floors[0], alg, "cold"))
                row.append(ratio_text(paired(cold, fl) if cold and fl else None))
            w("| " + " | ".join(row) + " |")
        skipped = ready[l].get("skipped") or []
        if skipped:
            w("")
            w("Not measured: " + "; ".join(skipped) + ".")
    w("")
    w("## What each peer checks")
    w("")
    w("Every subject was first shown to accept the good token (and return its `sub`) and to refuse "
      "the same token with one signature character changed. Keys are parsed once, up front.")
    w("")
    w("- jwtgate: algorithm bound to the key (RFC 8725 §3.1), typ, iss, aud, exp/nbf/iat with leeway, "
      "strict JSON (duplicate names refused); the claims are returned to the caller.")
    w("- Rust `jsonwebtoken`: `Validation` with iss, aud, exp, nbf, leeway; typ compared after decode. "
      "`aws-lc-rs verify`: only the signature (base64url decode + verify): the floor any validator pays.")
    w("- Python PyJWT `decode_complete` (iss, aud, exp, nbf, leeway; typ compared after) and joserfc "
      "`jwt.decode` + `JWTClaimsRegistry` (typ compared after).")
    w("- Node: jose `jwtVerify` (typ, iss, aud, exp, nbf, tolerance; awaited, as its users must); "
      "fast-jwt `createVerifier` and jsonwebtoken `verify` with a `KeyObject` check iss, aud, exp, "
      "nbf but cannot check typ (they do less work than jwtgate).")
    w("- Go: golang-jwt v5 `Parser` with valid methods, issuer, audience, leeway, expiration required, "
      "issued-at; typ and kid checked in the key function.")
    w("- C: `jwtgate_validate`, result check, `jwtgate_claims_free` per call.")
    w("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 repetitions of ~10 ms samples (smoke run)")
    parser.add_argument("--only", help="comma-separated languages (default: all)")
    parser.add_argument("--reps", type=int, help="repetitions (default 15)")
    parser.add_argument("--sample-ms", type=float, help="time per sample (default 50 ms)")
    parser.add_argument("--seed", type=int, default=None, help="shuffle seed (default: random)")
    parser.add_argument("--out", default=str(ROOT / "benches" / "RESULTS.md"))
    args = parser.parse_args()
    args.reps = args.reps or (3 if args.quick else 15)
    args.sample_ms = args.sample_ms or (10.0 if args.quick else 50.0)
    args.command = "python3 benches/cross/run.py" + "".join(f" {a}" for a in sys.argv[1:])
    langs = [l for l in (args.only.split(",") if args.only else LANGS)]
    for l in langs:
        if l not in LANGS:
            sys.exit(f"cross: unknown language {l!r} (one of {', '.join(LANGS)})")
    rng = random.Random(args.seed)

    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    started = time.monotonic()
    spec = spec_module.build()
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="jwtgate-cross-", delete=False) as f:
        json.dump(spec, f)
        spec_path = f.name
    drivers: Dict[str, Driver] = {}
    try:
        for l in langs:
            print(f"cross: starting the {l} driver", file=sys.stderr)
            drivers[l] = Driver(l, spec_path)
        subjects: List[Subject] = []
        for l, d in drivers.items():
            for s in d.ready["subjects"]:
                role = s.get("role") or ("jwtgate" if s["impl"] == "jwtgate" else "peer")
                subjects.append(Subject(s["id"], l, s["impl"], s["alg"], s["mode"], role))
        sample_ns = args.sample_ms * 1e6
        print(f"cross: {len(subjects)} subjects; calibrating", file=sys.stderr)
        for s in subjects:
            calibrate(drivers[s.lang], s, sample_ns)
            drivers[s.lang].run(s.id, s.iters)  # warm-up at full length
        groups: Dict[Tuple[str, str], List[Subject]] = {}
        for s in subjects:
            groups.setdefault((s.lang, s.alg), []).append(s)
        for rep in range(args.reps):
            print(f"cross: repetition {rep + 1}/{args.reps}", file=sys.stderr)
            order = list(groups)
            rng.shuffle(order)
            for key in order:
                members = list(groups[key])
                rng.shuffle(members)
                for s in members:
                    s.samples.append(drivers[s.lang].run(s.id, s.iters) / s.iters)
    finally:
        for d in drivers.values():
            d.close()
        os.unlink(spec_path)
    elapsed = time.monotonic() - started
    load_after = " ".join(Path("/proc/loadavg").read_text().split()[:3])

    ready = {l: d.ready for l, d in drivers.items()}
    text = report(subjects, ready, args, machine(), (load_before, load_after), elapsed, spec)
    Path(args.out).write_text(text)
    TARGET.mkdir(exist_ok=True)
    (TARGET / "bench-cross.json").write_text(json.dumps({
        "command": args.command,
        "versions": {l: r["versions"] for l, r in ready.items()},
        "subjects": [{"id": s.id, "iters": s.iters, "ns_per_call": s.samples} for s in subjects],
    }, indent=1))
    print(text)
    print(f"cross: wrote {args.out} and target/bench-cross.json", file=sys.stderr)


if __name__ == "__main__":
    main()
