#!/usr/bin/env python3
"""Where a face's validation spends its time: a CPU profile of each face's hit and cold loops.

    make bench-border      # release builds, then this script
    python3 benches/border/run.py [--seconds S] [--only python,node,go,express] [--paths hit,cold]

`make bench-cross` times the faces' cache hits and cold validations against the core's (hits:
Python 1.35x, Node 1.50x, Go 1.18x the core's 1.09 us; cold: 1.20x, 1.24x, 1.11x the core's
24.3 us in its last run). This script shows where the difference goes: it runs each face's call
in a loop of the same shape as its cross driver (RS256, the first valid case of
tests/vectors/valid.json, the claims' `sub` read back; `cold` sets `cache_max_entries = 0`, as
the cross driver does) under `perf record -e cpu-clock`
(software sampling: this VM exposes no hardware counters), then sorts every sample's symbol into
one of these buckets:

- core: the engine (`jwtgate::...`) and what it runs (blake3, hashbrown, parking_lot, aws-lc, and
  the JSON and base64 decoding of the token: only the core decodes on these paths);
- face glue: the face's own Rust (`_native::`, `jwtgate_node::`, `jwtgate_ffi::`) and its binding
  library (`pyo3::`, `napi::`), and the Go package's side of cgo;
- Rust std (either side): `std::`, `core::`, `alloc::` code in the library (clock reads,
  hashing, UTF-8 checks, vectors) that both the core and the glue call;
- allocator: malloc/free (either side: sampled without call stacks, they cannot be attributed);
- runtime: the language's own machinery (the CPython interpreter and its object allocator, V8
  and Node, the Go runtime and standard library), including the benchmark loop itself, whoever
  calls it: without
  call stacks a sample in Go's map lookup or CPython's object allocator cannot be told apart
  from the face's use of it; the cgo crossing itself (`runtime.cgocall`, `asmcgocall`) counts
  as face glue;
- kernel: the kernel on behalf of the process (timer interrupts, the Go runtime's threads).

Written to benches/border/RESULTS.md. Not a test: nothing asserts a share or a timing.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benches/border/RESULTS.md"
WORK = ROOT / "target/bench-border"

PYTHON_LOOP = r"""
import json, sys, time
import jwtgate
case = json.load(open(sys.argv[1]))
if sys.argv[3] == "cold":                # every call verifies: no result cache
    case["config"]["cache_max_entries"] = 0
v = jwtgate.Validator(**case["config"])
def call(token):                       # the cross driver's shape
    return v.validate(token)["sub"]
token = case["token"]
assert call(token) == case["sub"]
# The floor: the same loop and call shape over a dict that already holds the answer.
memo = {token: {"sub": case["sub"]}}
def floor(token):
    return memo[token]["sub"]
fn, t0 = 0, time.monotonic()
while sys.argv[3] == "floor" and time.monotonic() - t0 < 1.0:
    for _ in range(10000):
        floor(token)
    fn += 10000
floor_ns = (time.monotonic() - t0) * 1e9 / max(fn, 1)
if sys.argv[3] == "floor":
    print(json.dumps({"calls": 0, "floor_ns": floor_ns}))
    sys.exit(0)
n, end = 0, time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    for _ in range(10000):
        call(token)
    n += 10000
print(json.dumps({"calls": n, "floor_ns": floor_ns}))
"""

NODE_LOOP = r"""
const fs = require('node:fs')
const { Validator } = require(process.argv[2])
const c = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'))
const camel = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/_([a-z])/g, (_, x) => x.toUpperCase()), v]))
if (process.argv[5] === 'cold') c.config.cache_max_entries = 0   // every call verifies
const v = new Validator(camel(c.config))
const call = (t) => v.validateSync(t).sub   // the cross driver's shape
if (call(c.token) !== c.sub) throw new Error('not accepted')
// The floor: the same loop and call shape over a Map that already holds the answer.
const memo = new Map([[c.token, { sub: c.sub }]])
const floor = (t) => memo.get(t).sub
let fn = 0, sink = 0
const t0 = performance.now()
while (process.argv[5] === 'floor' && performance.now() - t0 < 1000) {
  for (let i = 0; i < 10000; i++) sink += floor(c.token).length
  fn += 10000
}
const floorNs = (performance.now() - t0) * 1e6 / Math.max(fn, 1)
if (process.argv[5] === 'floor') {
  console.log(JSON.stringify({ calls: 0, floor_ns: floorNs, sink }))
  process.exit(0)
}
let n = 0
const end = performance.now() + Number(process.argv[4]) * 1000
while (performance.now() < end) {
  for (let i = 0; i < 10000; i++) call(c.token)
  n += 10000
}
console.log(JSON.stringify({ calls: n, floor_ns: floorNs, sink }))
"""

GO_LOOP = r"""
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/jwtgate/jwtgate-go"
)

func main() {
	raw, _ := os.ReadFile(os.Args[1])
	var c struct {
		Config json.RawMessage `json:"config"`
		Token  string          `json:"token"`
		Sub    string          `json:"sub"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		panic(err)
	}
	if os.Args[3] == "cold" { // every call verifies: no result cache
		var config map[string]any
		if err := json.Unmarshal(c.Config, &config); err != nil {
			panic(err)
		}
		config["cache_max_entries"] = 0
		c.Config, _ = json.Marshal(config)
	}
	v, err := jwtgate.NewFromJSON(c.Config)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	call := func(t string) string { // the cross driver's shape
		claims, err := v.Validate(ctx, t)
		if err != nil {
			panic(err)
		}
		return claims.Subject()
	}
	if call(c.Token) != c.Sub {
		panic("not accepted")
	}
	// The floor: the same loop and call shape over a map that already holds the answer.
	memo := map[string]*struct{ sub string }{c.Token: {c.Sub}}
	floor := func(t string) string { return memo[t].sub }
	fn, sink, t0 := 0, 0, time.Now()
	for os.Args[3] == "floor" && time.Since(t0) < time.Second {
		for i := 0; i < 10000; i++ {
			sink += len(floor(c.Token))
		}
		fn += 10000
	}
	floorNs := float64(time.Since(t0).Nanoseconds()) / float64(max(fn, 1))
	if os.Args[3] == "floor" {
		fmt.Printf("{\"calls\": 0, \"floor_ns\": %.1f, \"sink\": %d}\n", floorNs, sink)
		return
	}
	secs, _ := strconv.ParseFloat(os.Args[2], 64)
	n, end := 0, time.Now().Add(time.Duration(secs*float64(time.Second)))
	for time.Now().Before(end) {
		for i := 0; i < 10000; i++ {
			call(c.Token)
		}
		n += 10000
	}
	fmt.Printf("{\"calls\": %d, \"floor_ns\": %.1f, \"sink\": %d}\n", n, floorNs, sink)
}
"""

GO_MOD = """module jwtgate-bench-border

go 1.23

require github.com/jwtgate/jwtgate-go v0.0.0

replace github.com/jwtgate/jwtgate-go => {path}
"""

CORE = re.compile(r"^(<)?(jwtgate::|blake3|hashbrown|parking_lot|aws_lc|<jwtgate::|.*jwtgate::)")
CORE_C = re.compile(r"^(aws_lc_|__bn_|bn_|blake3_|RSA_|EVP_|SHA256|sha256)")
# Reading the token is the core's work: only the core deserializes JSON and base64 on these
# paths (the faces hand claims out as the core's text or as lazy views), and the B-trees are
# serde_json's maps, which the core builds and drops (the faces only read them).
CORE_PARSE = re.compile(r"^(<)?(&mut )?(serde_json::de|serde_json::read|<serde_json::de|<serde_json::read|base64::|<base64::|"
                        r"serde_core::de|alloc::collections::btree|<alloc::collections::btree)")
GLUE = re.compile(r"^(<)?(github.com/jwtgate/|_native::|jwtgate_node::|jwtgate_ffi::|pyo3|napi|<pyo3|<napi|_cgo_|jwtgate_validate|jwtgate_claims|jwtgate_result|jwtgate_free|jwtgate_string)")
RUST_RT = re.compile(r"^(<)?(alloc::|core::|std::|<alloc|<core|<std|__rust|serde_json::|<serde_json)")
GO_CGO = re.compile(r"^(runtime\.(cgocall|asmcgocall|entersyscall|exitsyscall|reentersyscall|cgoCheck|cgoIsGoPointer)|_cgo_|x_cgo_|crosscall)")
GO_RT = re.compile(r"^(runtime\.|main\.|time\.|sync\.|internal/|encoding/|strconv\.|strings\.|unicode/|reflect\.|"
                   r"bytes\.|slices\.|math\.|aeshash|memeqbody|indexbyte|cmpbody|gcWriteBarrier|gogo|mcall|morestack)")
ALLOC = re.compile(r"^(malloc|free|cfree|_int_malloc|_int_free|__libc_malloc|__libc_free|tcache|malloc_consolidate|__GI___libc_free|__GI___libc_malloc|_int_free_merge_chunk|_int_free_create_chunk|__memcpy|__memmove|memcpy|memmove|__memcmp|memcmp|__strlen|strlen)")


def classify(dso: str, sym: str, face_dso: str) -> str:
    sym = sym.strip()
    if ALLOC.match(sym):
        return "allocator and libc (malloc, free, memcpy)"
    if dso == face_dso or dso.startswith("libjwtgate") or face_dso in dso:
        if GO_CGO.match(sym):
            return "face glue"  # the cgo crossing itself
        if GO_RT.match(sym):
            return "runtime"  # the Go program's loop and runtime, linked into the same binary
        if CORE.match(sym) or CORE_C.match(sym) or CORE_PARSE.match(sym):
            return "core"
        if GLUE.match(sym):
            return "face glue"
        # Rust's std, core and alloc code (time, hashing, UTF-8 checks, vectors) and anything
        # else in the library: both sides call it, and without call stacks a sample cannot be
        # given to either.
        return "Rust std (either side)"
    if dso in ("[kernel.kallsyms]", "[kernel]") or sym.startswith("0xffff"):
        return "kernel"
    return "runtime"


def perf_report(data: Path) -> list[tuple[float, str, str]]:
    out = subprocess.run(
        ["perf", "report", "-i", str(data), "--stdio", "--no-children", "--sort", "dso,sym",
         "--percent-limit", "0", "-q", "--demangle"],
        capture_output=True, text=True, check=True,
    ).stdout
    rows = []
    for line in out.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*)$", line)
        if m:
            rows.append((float(m.group(1)), m.group(2), m.group(3)))
    return rows


def profile(face: str, cmd: list[str], face_dso: str, seconds: float, env: dict, path: str) -> dict:
    """One face's loop on one path (`hit` or `cold`) under perf; the language's floor with the hit."""
    floor_ns = None
    if path == "hit":
        floor = subprocess.run([*cmd, "floor"], capture_output=True, text=True, env=env, check=True)
        floor_ns = json.loads(floor.stdout.strip().splitlines()[-1])["floor_ns"]
    data = WORK / f"{face}-{path}.perf.data"
    res = subprocess.run(
        ["perf", "record", "-q", "-e", "cpu-clock", "-F", "10000", "-o", str(data), "--", *cmd, path],
        capture_output=True, text=True, env=env,
    )
    if res.returncode != 0:
        raise SystemExit(f"{face}: {res.stderr[-2000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    calls = out["calls"]
    rows = perf_report(data)
    buckets: dict[str, float] = collections.defaultdict(float)
    top: list[tuple[float, str, str, str]] = []
    for pct, dso, sym in rows:
        b = classify(dso, sym, face_dso)
        buckets[b] += pct
        top.append((pct, b, dso, sym))
    top.sort(reverse=True)
    # The core's few hottest symbols, then the hottest of everything else: what the face adds
    # is what this profile is for, and on the cold path the core's RSA arithmetic fills any list.
    core = [t for t in top if t[1] == "core"][:5]
    rest = [t for t in top if t[1] != "core"][:12]
    return {"calls": calls, "seconds": seconds, "floor_ns": floor_ns, "buckets": dict(buckets),
            "top": sorted(core + rest, reverse=True)}


# ---- Express under load: where jwtgate's extra server CPU per request goes ----

def wait_port(port: int, timeout: float = 20.0) -> None:
    import socket
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def express_round(variant: str, token: str, seconds: int, addon: str) -> dict:
    """One server of benches/node/http_app.mjs on CPU 0, wrk on CPU 1; perf attached to the
    server for the measured run only (after a warm-up): CPU ns per request by bucket."""
    port = free_port()
    env = {**os.environ, "BENCH_AUTH": variant, "PORT": str(port)}
    server = subprocess.Popen(["taskset", "-c", "0", "node", str(ROOT / "benches/node/http_app.mjs")],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_port(port)
        wrk = ["taskset", "-c", "1", "wrk", "-t1", "-c32", "-H", f"Authorization: Bearer {token}",
               f"http://127.0.0.1:{port}/items"]
        subprocess.run([*wrk[:-1], "-d2s", wrk[-1]], capture_output=True, check=True)  # warm-up
        data = WORK / f"express-{variant}.perf.data"
        perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "10000", "-o", str(data),
                                 "-p", str(server.pid), "--", "sleep", str(seconds + 1)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.3)
        out = subprocess.run([*wrk[:-1], f"-d{seconds}s", wrk[-1]], capture_output=True, text=True, check=True).stdout
        perf.wait()
        m = re.search(r"(\d+) requests in", out)
        requests = int(m.group(1))
        if re.search(r"Non-2xx", out):
            raise SystemExit(f"express {variant}: non-2xx answers\n{out}")
    finally:
        server.terminate()
        server.wait()
    buckets: dict[str, float] = collections.defaultdict(float)
    for pct, dso, sym in perf_report(data):
        buckets[classify(dso, sym, addon)] += pct
    # cpu-clock samples carry their period in ns: their sum is the CPU time sampled.
    periods = subprocess.run(["perf", "script", "-i", str(data), "-F", "period"],
                             capture_output=True, text=True, check=True).stdout
    total_ns = sum(int(x) for x in periods.split() if x.isdigit())
    per_request = total_ns / requests
    return {"requests": requests, "cpu_ns": per_request,
            "buckets": {b: pct / 100 * per_request for b, pct in buckets.items()}}


def express(rounds: int, seconds: int) -> dict:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    token = subprocess.run([str(ROOT / ".venv/bin/python"), str(ROOT / "examples/fastapi_app/mint_token.py"),
                            "--scope", "read:items", "--ttl", "3600"], capture_output=True, text=True, check=True).stdout.strip()
    addon = next((ROOT / "bindings-node").glob("jwtgate.*.node")).name
    runs: dict[str, list] = {"noop": [], "jwtgate": []}
    for _ in range(rounds):
        for variant in ("noop", "jwtgate"):
            runs[variant].append(express_round(variant, token, seconds, addon))
    return runs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--only", default="python,node,go,express")
    ap.add_argument("--paths", default="hit,cold", help="the validation paths to profile: hit, cold or both")
    ap.add_argument("--express-rounds", type=int, default=3)
    ap.add_argument("--express-seconds", type=int, default=5)
    args = ap.parse_args()
    if not shutil.which("perf"):
        raise SystemExit("perf is not installed (Debian package linux-perf)")
    WORK.mkdir(parents=True, exist_ok=True)
    vectors = json.loads((ROOT / "tests/vectors/valid.json").read_text())
    case = next(c for c in vectors["cases"] if c["expect"].get("valid") and c["config"] == "default")
    spec = {"config": vectors["configs"][case["config"]], "token": case["token"], "sub": case["expect"]["claims"]["sub"]}
    spec_path = WORK / "case.json"
    spec_path.write_text(json.dumps(spec))
    env = dict(os.environ)
    results: dict[str, dict] = {}
    faces = args.only.split(",")
    paths = args.paths.split(",")
    if "python" in faces:
        (WORK / "loop.py").write_text(PYTHON_LOOP)
        py = ROOT / ".venv/bin/python"
        native = subprocess.run([str(py), "-c", "import jwtgate._native as n; print(n.__file__)"],
                                capture_output=True, text=True, check=True).stdout.strip()
        for path in paths:
            results.setdefault(path, {})["python"] = profile(
                "python", [str(py), str(WORK / "loop.py"), str(spec_path), str(args.seconds)],
                Path(native).name, args.seconds, env, path)
    if "node" in faces:
        (WORK / "loop.js").write_text(NODE_LOOP)
        addon = next((ROOT / "bindings-node").glob("jwtgate.*.node"))
        for path in paths:
            results.setdefault(path, {})["node"] = profile(
                "node", ["node", str(WORK / "loop.js"), str(ROOT / "bindings-node"), str(spec_path), str(args.seconds)],
                addon.name, args.seconds, env, path)
    if "go" in faces:
        godir = WORK / "go"
        godir.mkdir(exist_ok=True)
        (godir / "main.go").write_text(GO_LOOP)
        (godir / "go.mod").write_text(GO_MOD.format(path=ROOT / "bindings-ffi/go"))
        lib = ROOT / "target/release/libjwtgate_ffi.a"
        subprocess.run(["go", "build", "-tags", "jwtgate_release",
                        f"-ldflags=-X=github.com/jwtgate/jwtgate-go.linkedLibrary={lib.stat().st_mtime_ns}",
                        "-o", "border-go", "."], cwd=godir, check=True)
        for path in paths:
            results.setdefault(path, {})["go"] = profile(
                "go", [str(godir / "border-go"), str(spec_path), str(args.seconds)],
                "border-go", args.seconds, env, path)
    http = express(args.express_rounds, args.express_seconds) if "express" in faces else None
    write(results, http)
    return 0


ORDER = ["core", "face glue", "Rust std (either side)", "allocator and libc (malloc, free, memcpy)", "runtime", "kernel"]


def median(xs: list) -> float:
    xs = sorted(xs)
    return xs[(len(xs) - 1) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


PATHS = {
    "hit": "the cache hit (the result cache holds the token)",
    "cold": "the cold path (`cache_max_entries = 0`: every call parses, verifies RS256 and checks the claims)",
}


def write(results: dict, http: dict | None) -> None:
    lines = [
        "# Where a face's validation spends its time",
        "",
        "Written by `benches/border/run.py` (`make bench-border`). Not a test. Method: the script's",
        "docstring. Each face's loop (the cross driver's call: validate an RS256 token, read `sub`)",
        "runs for a few seconds under `perf record -e cpu-clock -F 10000` (software sampling, no call",
        "stacks), once with the result cache (hit) and once without it (cold); every sample's symbol",
        "goes to a bucket.",
        "",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: {os.cpu_count()} CPUs, {platform.platform()}",
        f"- Load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        "",
    ]
    for path, by_face in results.items():
        lines += [
            f"## {PATHS[path][0].upper()}{PATHS[path][1:]}",
            "",
            "| face | calls | ns per call | floor ns | " + " | ".join(ORDER) + " | face ÷ core |",
            "|---|---:|---:|---:|" + "---:|" * (len(ORDER) + 1),
        ]
        for face, r in by_face.items():
            ns = r["seconds"] * 1e9 / r["calls"]
            cells = []
            for b in ORDER:
                pct = r["buckets"].get(b, 0.0)
                cells.append(f"{pct:.1f} % ({pct * ns / 100:.0f} ns)")
            floor = f"{r['floor_ns']:.0f}" if r["floor_ns"] is not None else "—"
            core = r["buckets"].get("core", 0.0)
            ratio = f"{100 / core:.2f}" if core else "—"
            lines.append(f"| {face} | {r['calls']:,} | {ns:.0f} | {floor} | " + " | ".join(cells) + f" | {ratio} |")
        lines.append("")
    lines += [
        "`ns per call`: the loop's wall-clock time per call under perf (the loop included).",
        "`floor ns`: the same loop and call shape over the language's own hash map holding the",
        "answer (Python `dict`, JS `Map`, Go `map`), in a process of its own without perf: what the",
        "call costs in that language before any validator runs. The ns in brackets are each",
        "bucket's share times the time per call. `face ÷ core`: the loop's time over the core's",
        "share of it, an upper bound of the face ÷ core ratio `make bench-cross` reports (the loop",
        "and the `sub` read count here).",
        "",
    ]
    for path, by_face in results.items():
        for face, r in by_face.items():
            lines += [f"### {face}, {path}: the hottest symbols", "", "| % | bucket | object | symbol |",
                      "|---:|---|---|---|"]
            for pct, b, dso, sym in r["top"]:
                sym = sym if len(sym) < 110 else sym[:107] + "..."
                lines.append(f"| {pct:.1f} | {b} | `{dso}` | `{sym.replace('|', '/')}` |")
            lines.append("")
    if http:
        n = len(http["noop"])
        lines += [
            "## Express under load: where jwtgate's extra server CPU per request goes",
            "",
            "`benches/node/http_app.mjs` (the HTTP benchmark's app) with `noop` (two middlewares of",
            "jwtgate's shape that check nothing) and with `jwtgate` (`jwtAuth` + `requiredScopes`), one",
            "server at a time on CPU 0, wrk (1 thread, 32 connections, the same RS256 token) on CPU 1;",
            "after a 2 s warm-up, `perf record -p` samples the server's CPU for one wrk run. A cell is the",
            f"server's CPU ns per request in that bucket, median of {n} alternating rounds; `extra` is",
            "jwtgate's median minus noop's.",
            "",
            "| bucket | noop | jwtgate | extra |",
            "|---|---:|---:|---:|",
        ]
        for b in ["all", *ORDER]:
            def val(run):
                return run["cpu_ns"] if b == "all" else run["buckets"].get(b, 0.0)
            a = median([val(r) for r in http["noop"]])
            j = median([val(r) for r in http["jwtgate"]])
            lines.append(f"| {b} | {a:,.0f} | {j:,.0f} | {j - a:+,.0f} |")
        reqs = ", ".join(f"{r['requests']:,}" for r in http["noop"] + http["jwtgate"])
        lines += ["", f"Requests per measured run (noop runs, then jwtgate runs): {reqs}.", ""]
    text = "\n".join(lines)
    marker = "<!-- run.py writes everything above this line; the reading below is kept as is. -->"
    if OUT.exists() and marker in OUT.read_text():
        text += "\n" + marker + OUT.read_text().split(marker, 1)[1]
    else:
        text += "\n" + marker + "\n"
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
