#!/usr/bin/env python3
"""HTTP benchmark: a FastAPI app (uvicorn, 1 worker) and an Express app, each with one protected
route, once with jwtgate, once with the validator those users have today (PyJWT / jose) and once
with no auth at all; loaded from a second process on loopback with wrk. Writes
benches/http/RESULTS.md. Not a test: nothing is asserted. Run by `make bench` (after the faces'
release builds), or directly: python3 benches/http/run.py."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = ROOT / ".venv" / "bin" / "python"
DURATION = os.environ.get("BENCH_HTTP_SECONDS", "8")
CONNECTIONS = "32"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, token: str) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(req, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer 200")


def wrk(url: str, token: str, seconds: str) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-H", f"Authorization: Bearer {token}", url],
        capture_output=True, text=True, check=True,
    ).stdout
    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "p50": ms("50%"), "p99": ms("99%"), "errors": float(non2xx.group(1)) if non2xx else 0.0}


def run(name: str, cmd: list[str], env: dict[str, str], port: int, token: str) -> dict[str, float]:
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env, "PORT": str(port)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/items"
        wait_up(url, token)
        wrk(url, token, "2")  # warm-up: JIT, caches, connections
        result = wrk(url, token, DURATION)
        print(f"  {name:<28} {result['rps']:>9.0f} req/s   p50 {result['p50']:.2f} ms   p99 {result['p99']:.2f} ms", flush=True)
        return result
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    token = subprocess.run([str(PY), "examples/fastapi_app/mint_token.py", "--scope", "read:items", "--ttl", "3600"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    groups = {
        "FastAPI (uvicorn, 1 worker)": [
            (variant, [str(PY), "-m", "uvicorn", "fastapi_apps:app", "--app-dir", "benches/http", "--port", "{port}",
                       "--log-level", "warning", "--no-access-log"], {"BENCH_AUTH": variant})
            for variant in ("none", "noop", "jwtgate", "pyjwt")
        ],
        "Express (1 process)": [
            (variant, ["node", "benches/node/http_app.mjs"], {"BENCH_AUTH": variant})
            for variant in ("none", "jwtgate", "jose")
        ],
    }
    rows = []
    for group, variants in groups.items():
        print(group)
        results = {}
        for variant, cmd, env in variants:
            port = free_port()
            cmd = [c.replace("{port}", str(port)) for c in cmd]
            results[variant] = run(variant, cmd, env, port, token)
        base = results["none"]["rps"]
        for variant, r in results.items():
            rows.append((group, variant, r, 100 * r["rps"] / base))
    load = open("/proc/loadavg").read().split()[:3]
    lines = [
        "# HTTP benchmark",
        "",
        "Command: `python3 benches/http/run.py` (part of `make bench`). One protected route,",
        "`GET /items` (RS256 access token of ~1 KB, scope `read:items`), the same token on every",
        f"request; wrk 1 thread, {CONNECTIONS} connections, {DURATION} s after a 2 s warm-up, on loopback.",
        "The server and wrk share the machine's 2 cores: the ratios to the no-auth app are the result.",
        f"Load average at the end: {' '.join(load)}. Target: jwtgate apps >= 95 % of the no-auth app's req/s.",
        "",
        "`noop` (FastAPI only) is a Security dependency that reads the bearer token and the required",
        "scopes and checks nothing: what FastAPI itself charges for an auth dependency.",
        "",
        "| app | auth | req/s | % of no auth | p50 | p99 | non-2xx |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for group, variant, r, pct in rows:
        lines.append(f"| {group} | {variant} | {r['rps']:.0f} | {pct:.1f} % | {r['p50']:.2f} ms | {r['p99']:.2f} ms | {r['errors']:.0f} |")
    out = ROOT / "benches" / "http" / "RESULTS.md"
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
