#!/usr/bin/env python3
"""What the auth step costs inside a FastAPI app served by uvicorn under load, with the caches
as cold as a real server leaves them (inprocess.py runs the apps back to back, warmer).

One uvicorn process on one core serves several variants of fastapi_apps.py at once, each under
its own prefix (`/none/items`, `/jwtgate/items`, ...), each timed from the scope arriving to the
response starting (routing, middleware, dependencies, handler, serialisation; not uvicorn's HTTP
parsing nor the socket writes). wrk, on the other core, asks for the prefixes in turn,
request by request, so every variant meets the same moments of the core's speed (on a shared VM
it drifts by ±10-20 % within seconds) and the caches as the other variants leave them. The difference of a variant's app time to `none`'s is what
its auth step costs in a server; the server's CPU time per request for `none` is the whole
request. Their ratio predicts the req/s ratio run.py measures, without its noise.

    .venv/bin/python benches/http/fastapi_steps.py [--seconds 5] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[2]
PY = ROOT / ".venv" / "bin" / "python"
VARIANTS = ["none", "noop", "noop-dep", "jwtgate", "jwtgate-mw"]


def serve(port: int) -> None:
    """The server side (a child process, pinned by the parent)."""
    import uvicorn

    apps: Dict[str, Any] = {}
    for variant in VARIANTS:
        os.environ["BENCH_AUTH"] = variant
        spec = importlib.util.spec_from_file_location(f"fastapi_apps_{variant}", ROOT / "benches" / "http" / "fastapi_apps.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        apps[variant] = module.app
    times: Dict[str, List[float]] = {v: [] for v in VARIANTS}
    clock = time.perf_counter

    async def dispatch(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        if path == "/report":
            body = "\n".join(f"{v} {' '.join(f'{t:.2f}' for t in ts)}" for v, ts in times.items()).encode()
            for ts in times.values():
                ts.clear()
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        variant, _, rest = path[1:].partition("/")
        inner = {**scope, "path": "/" + rest, "raw_path": ("/" + rest).encode()}
        sink = times[variant]
        start = clock()

        async def timed_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                sink.append((clock() - start) * 1e6)
            await send(message)

        await apps[variant](inner, receive, timed_send)

    uvicorn.run(dispatch, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--server-cpu", default=os.environ.get("BENCH_HTTP_SERVER_CPU", "0"))
    parser.add_argument("--load-cpu", default=os.environ.get("BENCH_HTTP_LOAD_CPU", "1"))
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return

    import urllib.request

    token = subprocess.run([str(PY), "examples/fastapi_app/mint_token.py", "--scope", "read:items", "--ttl", "3600"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(["taskset", "-c", args.server_cpu, str(PY), __file__, "--serve", str(port)], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"

    def get(path: str) -> str:
        request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.read().decode()

    def cpu() -> float:
        fields = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wrk(variant: str, seconds: int) -> Dict[str, float]:
        before = cpu()
        out = subprocess.run(["taskset", "-c", args.load_cpu, "wrk", "-t1", "-c32", f"-d{seconds}s",
                              "-H", f"Authorization: Bearer {token}", f"{base}/{variant}/items"],
                             capture_output=True, text=True, check=True).stdout
        requests = int(re.search(r"(\d+) requests in", out).group(1))
        return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
                "cpu_us": (cpu() - before) / requests * 1e6}

    lua = Path(tempfile.mkstemp(suffix=".lua")[1])
    lua.write_text("local paths = {" + ", ".join(f'"/{v}/items"' for v in VARIANTS) + "}\n"
                   "local i = 0\n"
                   "request = function()\n  i = i + 1\n  return wrk.format(nil, paths[i % #paths + 1])\nend\n")

    def mixed(seconds: int) -> None:
        subprocess.run(["taskset", "-c", args.load_cpu, "wrk", "-t1", "-c32", f"-d{seconds}s", "-s", str(lua),
                        "-H", f"Authorization: Bearer {token}", base], capture_output=True, text=True, check=True)

    try:
        deadline = time.time() + 30
        while True:
            try:
                get("/none/items")
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        for variant in VARIANTS:
            wrk(variant, 1)
        get("/report")  # drop the warm-up's times
        app_times: Dict[str, List[float]] = {v: [] for v in VARIANTS}
        whole: List[Dict[str, float]] = []
        for _ in range(args.rounds):
            # All variants in one wrk run, request by request in turn: they share the same
            # moments of the core's speed, and each request finds the caches as the others left them.
            mixed(args.seconds)
            for line in get("/report").splitlines():
                variant, *values = line.split()
                app_times[variant].extend(float(v) for v in values)
            whole.append(wrk("none", 1))  # the whole request of the no-auth app, alone
            get("/report")
    finally:
        server.terminate()
        server.wait()
        lua.unlink()

    none_p50 = statistics.median(app_times["none"])
    none_mean = statistics.fmean(app_times["none"])
    none_cpu = statistics.median(r["cpu_us"] for r in whole)
    print(f"uvicorn, one process on CPU {args.server_cpu}; wrk on CPU {args.load_cpu}, all variants in turn, "
          f"{args.rounds} runs of {args.seconds} s. App time: from the scope to the response start.")
    print(f"The no-auth app alone: {statistics.median(r['rps'] for r in whole):.0f} req/s, "
          f"{none_cpu:.1f} µs of server CPU per request (median of {len(whole)} runs of 1 s).")
    print(f"  {'variant':<12} {'requests':>8} {'app p50':>9} {'- none':>8} {'app mean':>9} {'- none':>8}"
          f"   predicted % of none's req/s (its CPU/req against that plus the mean difference)")
    for variant in VARIANTS:
        ts = app_times[variant]
        p50, mean = statistics.median(ts), statistics.fmean(ts)
        print(f"  {variant:<12} {len(ts):>8} {p50:>7.1f}µs {p50 - none_p50:>+6.1f}µs "
              f"{mean:>7.1f}µs {mean - none_mean:>+6.1f}µs   {100 * none_cpu / (none_cpu + mean - none_mean):5.1f} %")


if __name__ == "__main__":
    sys.exit(main())
