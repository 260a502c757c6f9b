#!/usr/bin/env python3
"""HTTP benchmark: a FastAPI app (uvicorn, 1 worker) and an Express app, each with one protected
route, with no auth, with a do-nothing auth step, with jwtgate and with the validator those users
have today (PyJWT / jose); loaded with wrk over loopback. Writes benches/http/RESULTS.md. Not a
test: nothing is asserted beyond each app answering as its variant should. Run by `make bench`
(after the faces' release builds), or directly: python3 benches/http/run.py.

How it measures (2-core machines are the common case here):
- every server is pinned to one core and wrk to another (taskset), so they do not compete;
- EPOCHS times, all servers start (in a random order) and are warmed up, then ROUNDS/EPOCHS
  rounds load every server for SECONDS, in a fresh random order. Every server idles as long as
  every other between its runs (Node, idle for a while, starts slower: a baseline loaded more
  often than the variants would favour itself). Many short rounds: the core's speed on a shared
  VM drifts by ±10-20 % within seconds, and random order turns that drift into noise, which the
  median over rounds reduces, rather than into a bias. New processes every epoch: two processes
  of one app differ by a few per cent (JIT decisions, hash seeds, memory layout);
- per variant: the median over rounds of req/s, p50 and p99 latency, and the median of the
  per-round ratios to the same round's no-auth app (the target is a ratio), with their
  interquartile range;
- per run, the server's CPU time (utime + stime of its process, all threads) per request and its
  share of the core during the run (below ~95 %: something else ran on the server's core);
- `none-b`, a second no-auth server measured like any variant, is an A/A control: its ratio
  to `none` shows how far the run's noise alone moves a ratio.

Where the time goes inside the apps, without this run's noise: inprocess.py (FastAPI apps
called in a loop), fastapi_steps.py and express_steps.mjs (the auth step timed inside a loaded
server, all variants requested in turn).

Environment: BENCH_HTTP_EPOCHS (2), BENCH_HTTP_ROUNDS (16, spread over the epochs),
BENCH_HTTP_SECONDS (1), BENCH_HTTP_CONNECTIONS (32), BENCH_HTTP_SERVER_CPU (0),
BENCH_HTTP_LOAD_CPU (1), BENCH_HTTP_ONLY (comma-separated groups: fastapi,express),
BENCH_HTTP_OUT (the Markdown file to write; default RESULTS.md here), BENCH_HTTP_ALLOW_DEBUG=1
(time debug builds anyway)."""

from __future__ import annotations

import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[2]
PY = ROOT / ".venv" / "bin" / "python"
EPOCHS = int(os.environ.get("BENCH_HTTP_EPOCHS", "2"))
ROUNDS = EPOCHS * max(1, int(os.environ.get("BENCH_HTTP_ROUNDS", "16")) // EPOCHS)
SECONDS = int(os.environ.get("BENCH_HTTP_SECONDS", "1"))
WARMUP_SECONDS = 3  # Node needs ~3 s to reach its steady speed
CONNECTIONS = int(os.environ.get("BENCH_HTTP_CONNECTIONS", "32"))
SERVER_CPU = os.environ.get("BENCH_HTTP_SERVER_CPU", "0")
LOAD_CPU = os.environ.get("BENCH_HTTP_LOAD_CPU", "1")
ONLY = [g for g in os.environ.get("BENCH_HTTP_ONLY", "fastapi,express").split(",") if g]
OUT = Path(os.environ.get("BENCH_HTTP_OUT", str(ROOT / "benches" / "http" / "RESULTS.md")))
CLK_TCK = os.sysconf("SC_CLK_TCK")

UVICORN = [str(PY), "-m", "uvicorn", "fastapi_apps:app", "--app-dir", "benches/http", "--port", "{port}",
           "--log-level", "warning", "--no-access-log"]
EXPRESS = ["node", "benches/node/http_app.mjs"]
# (label, BENCH_AUTH, command). `none-b` is a second, identical no-auth server: its ratio to
# `none` is the noise floor of the run (an A/A test).
GROUPS = {
    "fastapi": ("FastAPI (uvicorn, 1 worker)", [
        ("none", "none", UVICORN), ("none-b", "none", UVICORN), ("noop", "noop", UVICORN),
        ("noop-dep", "noop-dep", UVICORN), ("jwtgate", "jwtgate", UVICORN),
        ("jwtgate-mw", "jwtgate-mw", UVICORN), ("pyjwt", "pyjwt", UVICORN),
    ]),
    "express": ("Express (1 process)", [
        ("none", "none", EXPRESS), ("none-b", "none", EXPRESS), ("noop", "noop", EXPRESS),
        ("jwtgate", "jwtgate", EXPRESS), ("jose", "jose", EXPRESS),
    ]),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_of(url: str, token: Optional[str]) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def cpu_seconds(pid: int) -> float:
    # /proc/PID/stat fields 14 and 15 (utime, stime) cover every thread of the process.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def pinned(cpu: str, cmd: List[str]) -> List[str]:
    return ["taskset", "-c", cpu, *cmd] if PINNING else cmd


@dataclass
class Server:
    group: str
    variant: str
    url: str
    proc: subprocess.Popen  # type: ignore[type-arg]


def start(group: str, variant: str, auth: str, cmd: List[str]) -> Server:
    port = free_port()
    cmd = [c.replace("{port}", str(port)) for c in cmd]
    env = {**os.environ, "BENCH_AUTH": auth, "PORT": str(port)}
    proc = subprocess.Popen(pinned(SERVER_CPU, cmd), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return Server(group, variant, f"http://127.0.0.1:{port}/items", proc)


def wait_up(server: Server, token: str) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        if server.proc.poll() is not None:
            raise SystemExit(f"{server.group}/{server.variant} exited: {server.proc.stderr.read() if server.proc.stderr else ''}")
        try:
            if status_of(server.url, token) == 200:
                break
        except OSError:
            pass
        time.sleep(0.2)
    else:
        raise SystemExit(f"{server.group}/{server.variant}: {server.url} did not answer 200")
    # An auth variant that let a request without a token through would measure nothing.
    refused = status_of(server.url, None)
    open_app = server.variant.startswith("none")
    if open_app and refused != 200 or not open_app and refused not in (401, 403):
        raise SystemExit(f"{server.group}/{server.variant}: a request without a token got {refused}")


def wrk(server: Server, token: str, seconds: int) -> Dict[str, float]:
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency",
           "-H", f"Authorization: Bearer {token}", server.url]
    cpu0, t0 = cpu_seconds(server.proc.pid), time.monotonic()
    out = subprocess.run(pinned(LOAD_CPU, cmd), capture_output=True, text=True, check=True).stdout
    cpu1, t1 = cpu_seconds(server.proc.pid), time.monotonic()

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    done = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)\b", out)
    requests = int(done.group(1))
    # wrk's own measuring time: the subprocess's also covers its start and exit (server idle)
    busy = float(done.group(2)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[done.group(3)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms("50%"),
        "p99": ms("99%"),
        "errors": float(non2xx.group(1)) if non2xx else 0.0,
        "socket_errors": float(sum(int(g) for g in socket_errors.groups())) if socket_errors else 0.0,
        "cpu_us": (cpu1 - cpu0) / max(requests, 1) * 1e6,
        "cpu_share": (cpu1 - cpu0) / (busy or (t1 - t0)),
    }


def stop(server: Server) -> None:
    server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


def run_text(cmd: List[str]) -> str:
    try:
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def facts() -> Dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    py_versions = run_text([str(PY), "-c", (
        "import importlib.util as u, fastapi, starlette, uvicorn, jwt, platform, jwtgate._native as n;"
        "print(platform.python_version(), fastapi.__version__, starlette.__version__, uvicorn.__version__, jwt.__version__,"
        " getattr(n, 'BUILD_PROFILE', '?'), 'httptools' if u.find_spec('httptools') else 'h11',"
        " 'uvloop' if u.find_spec('uvloop') else 'asyncio')")]).split()
    node_versions = run_text(["node", "-e", (
        "const r=require('node:module').createRequire(process.cwd()+'/examples/express_app/package.json');"
        "const j=r('jwtgate');const b=r('node:module').createRequire(process.cwd()+'/benches/node/package.json');"
        "console.log(process.version, r('express/package.json').version, b('jose/package.json').version,"
        " j[Symbol.for('jwtgate.internal')].buildProfile)")]).split()
    keys = ["python", "fastapi", "starlette", "uvicorn", "pyjwt", "py_profile", "http_impl", "loop"]
    out = dict(zip(keys, py_versions)) if len(py_versions) == len(keys) else {k: "?" for k in keys}
    nkeys = ["node", "express", "jose", "node_profile"]
    out.update(dict(zip(nkeys, node_versions)) if len(node_versions) == len(nkeys) else {k: "?" for k in nkeys})
    out.update(cpu=cpu, cores=str(os.cpu_count()), kernel=platform.release(),
               wrk=run_text(["wrk", "--version"]).split("[")[0].strip() or "wrk")
    return out


def median(values: List[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    global PINNING
    PINNING = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    info = facts()
    if "debug" in (info["py_profile"], info["node_profile"]) and os.environ.get("BENCH_HTTP_ALLOW_DEBUG") != "1":
        raise SystemExit(f"debug builds (python: {info['py_profile']}, node: {info['node_profile']}): run "
                         "`make -C bindings-python build-release` and `make -C bindings-node release` first")
    token = subprocess.run([str(PY), "examples/fastapi_app/mint_token.py", "--scope", "read:items", "--ttl", "3600"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    load_start = open("/proc/loadavg").read().split()[:3]
    started = time.monotonic()
    specs = [(GROUPS[g][0], variant, auth, cmd) for g in ONLY for variant, auth, cmd in GROUPS[g][1]]
    # (group, variant) -> its runs, and its group's no-auth run of the same round
    runs: Dict["tuple[str, str]", List[Dict[str, float]]] = {(g, v): [] for g, v, _, _ in specs}
    pairs: Dict["tuple[str, str]", List["tuple[Dict[str, float], Dict[str, float]]"]] = {k: [] for k in runs}
    round_no = 0
    for epoch in range(1, EPOCHS + 1):
        # New processes every epoch, started in a new order: two processes of the same app differ
        # by a few per cent (JIT decisions, hash seeds, memory layout); epochs average that out.
        random.shuffle(specs)
        servers = [start(*spec) for spec in specs]
        try:
            for server in servers:
                wait_up(server, token)
            for server in servers:  # JIT, caches, lazily built middleware stacks, the token cache
                wrk(server, token, WARMUP_SECONDS)
            print(f"epoch {epoch}/{EPOCHS}: {len(servers)} servers up (server CPU {SERVER_CPU if PINNING else '-'}, "
                  f"wrk CPU {LOAD_CPU if PINNING else '-'}); {ROUNDS // EPOCHS} rounds of {len(servers)} runs of "
                  f"{SECONDS} s", flush=True)
            for _ in range(ROUNDS // EPOCHS):
                round_no += 1
                order = servers[:]
                random.shuffle(order)
                results = {}
                for server in order:
                    result = results[server.group, server.variant] = wrk(server, token, SECONDS)
                    print(f"  round {round_no:>2}  {server.group:<28} {server.variant:<10} {result['rps']:>6.0f} req/s"
                          f"  p50 {result['p50']:5.2f} ms  p99 {result['p99']:6.2f} ms  server CPU/req"
                          f" {result['cpu_us']:5.1f} µs, {100 * result['cpu_share']:3.0f} % of its core", flush=True)
                for (group, variant), result in results.items():
                    runs[group, variant].append(result)
                    pairs[group, variant].append((result, results[group, "none"]))
        finally:
            for server in servers:
                stop(server)
    elapsed = time.monotonic() - started
    load_end = open("/proc/loadavg").read().split()[:3]

    rows = []
    for group, variant in [(g, v) for g in ONLY for v, _, _ in GROUPS[g][1]]:
        group = GROUPS[group][0]
        own, paired = runs[group, variant], pairs[group, variant]
        ratios = [100 * r["rps"] / b["rps"] for r, b in paired]
        q1, q3 = quartiles(ratios)
        rows.append({
            "group": group, "variant": variant, "runs": len(own),
            "rps": median([r["rps"] for r in own]),
            "ratio": median(ratios), "q1": q1, "q3": q3,
            "p50": median([r["p50"] for r in own]), "p99": median([r["p99"] for r in own]),
            "cpu_us": median([r["cpu_us"] for r in own]),
            "cpu_extra": median([r["cpu_us"] - b["cpu_us"] for r, b in paired]),
            "share": min(r["cpu_share"] for r in own),
            "errors": sum(r["errors"] + r["socket_errors"] for r in own),
            "per_round": [round(x, 1) for x in ratios] if variant != "none" else [],
        })
    print()
    for r in rows:
        print(f"{r['group']:<28} {r['variant']:<10} {r['rps']:>7.0f} req/s  {r['ratio']:5.1f} % of none "
              f"(IQR {r['q1']:.1f}-{r['q3']:.1f})  {r['cpu_us']:6.1f} µs CPU/req ({r['cpu_extra']:+.1f})")
    write(rows, info, load_start, load_end, elapsed)


def quartiles(values: List[float]) -> "tuple[float, float]":
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def write(rows: List[dict], info: Dict[str, str], load_start: List[str], load_end: List[str], elapsed: float) -> None:
    env = " ".join(f"{k}={os.environ[k]}" for k in sorted(os.environ) if k.startswith("BENCH_HTTP_"))
    command = f"{env + ' ' if env else ''}python3 benches/http/run.py"
    pin = (f"server pinned to CPU {SERVER_CPU}, wrk to CPU {LOAD_CPU} (taskset)" if PINNING
           else "NOT pinned (fewer than 2 cores or no taskset): server and wrk share the cores")
    lines = [
        "# HTTP benchmark",
        "",
        f"Command: `{command}` (part of `make bench`; release builds of both faces). "
        f"Took {elapsed:.0f} s.",
        "",
        "One protected route, `GET /items` (RS256 access token of ~1 KB, scope `read:items`), the",
        f"same token on every request; wrk 1 thread, {CONNECTIONS} connections, on loopback; {pin}.",
        f"{EPOCHS} epochs: all servers start (in a random order), get a {WARMUP_SECONDS} s warm-up each, then "
        f"{ROUNDS // EPOCHS} rounds load",
        f"every server for {SECONDS} s in a new random order; {ROUNDS} rounds in all. All servers idle alike between",
        "their runs; the core's speed on this VM drifts by ±10-20 % within seconds, which the random",
        "order turns into noise rather than bias; new processes every epoch average out the few per",
        "cent two processes of one app differ by. \"% of none\": the median of a variant's per-round",
        "ratios to the same round's no-auth app (interquartile range in brackets). req/s, p50, p99 and",
        "\"CPU/req\" (the server process's CPU time, all threads, per request): medians over the rounds;",
        "\"vs none\": the median per-round difference of CPU/req. \"share\": the lowest fraction of its",
        "core the server got in any run (below ~95 %: something else ran on the server's core).",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, Linux {info['kernel']}; load average "
        f"{' '.join(load_start)} at the start, {' '.join(load_end)} at the end. "
        f"Python {info['python']}, FastAPI {info['fastapi']}, Starlette {info['starlette']}, uvicorn "
        f"{info['uvicorn']} ({info['http_impl']}, {info['loop']} loop), PyJWT {info['pyjwt']}, jwtgate "
        f"{info['py_profile']} build; Node {info['node']}, Express {info['express']}, jose {info['jose']}, "
        f"jwtgate {info['node_profile']} build; {info['wrk']}.",
        "",
        "Target: jwtgate apps >= 95 % of the no-auth app's req/s.",
        "",
        "| app | auth | runs | req/s | % of none | p50 | p99 | server CPU/req | vs none | share | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['group']} | {r['variant']} | {r['runs']} | {r['rps']:.0f} | {r['ratio']:.1f} % "
            f"({r['q1']:.1f}–{r['q3']:.1f}) | {r['p50']:.2f} ms | {r['p99']:.2f} ms | "
            f"{r['cpu_us']:.1f} µs | {r['cpu_extra']:+.1f} µs | {100 * r['share']:.0f} % | {r['errors']:.0f} |")
    lines += [
        "",
        "Variants. Both apps: `none` no auth; `none-b` a second, identical no-auth server (an A/A",
        "control: its spread is the noise floor of the run). FastAPI: `noop` the usual hand-written",
        "shape, `Security(dep)` over FastAPI's `HTTPBearer` (two dependencies), checking nothing;",
        "`noop-dep` one `Security` dependency of exactly `BearerAuth`'s shape that reads the token and",
        "checks nothing (FastAPI's own cost of the dependency jwtgate uses); `jwtgate`",
        "`Security(BearerAuth(validator), scopes=[\"read:items\"])`; `jwtgate-mw`",
        "`JwtGateMiddleware(validator, scopes=[\"read:items\"])`, the ASGI middleware; `pyjwt` PyJWT in a",
        "sync `def` dependency over `HTTPBearer` (FastAPI runs it in its threadpool). Express: `noop` two",
        "middlewares of jwtgate's shape (read the token into `req.auth`, look at `req.auth`), checking",
        "nothing; `jwtgate` `jwtAuth({ validator })` + `requiredScopes('read:items')`; `jose` `jwtVerify`",
        "in the handler.",
        "",
        "Per-round ratios to none (round order):",
        "",
    ]
    for r in rows:
        if r["variant"] != "none":
            lines.append(f"- {r['group']} / {r['variant']}: {', '.join(f'{x}' for x in r['per_round'])} %")
    # The hand-written reading below the marker survives a new run (it may then need updating).
    reading = ""
    if OUT.exists() and MARKER in OUT.read_text():
        reading = OUT.read_text().split(MARKER, 1)[1]
    OUT.write_text("\n".join(lines) + "\n\n" + MARKER + (reading or "\n"))
    print(f"wrote {OUT}")


MARKER = "<!-- run.py writes everything above this line; the reading below is kept as is. -->"
PINNING = False

if __name__ == "__main__":
    sys.exit(main())
