#!/usr/bin/env python3
"""Where a FastAPI request's time goes, without the HTTP server: every variant of
fastapi_apps.py called as an ASGI app (a prepared GET /items with the bearer token, a no-op
`send`), in batches interleaved in random order, on one pinned core. The difference to `none` is
what the auth step costs inside the app; the HTTP benchmark (run.py) adds the server's own cost
(uvicorn, h11, asyncio, the kernel), the same for every variant.

Then the auth steps alone: `BearerAuth.__call__` (after FastAPI has built the Request and its
headers, as it does before calling a dependency) and `JwtGateMiddleware` around an empty ASGI
app. To compare with another jwtgate, put its package first: PYTHONPATH=/path/to/python.

    .venv/bin/python benches/http/inprocess.py [--rounds 15] [--cpu 0] [--clock cpu]

`--clock cpu` times with the thread's CPU clock instead of the wall clock: on a machine shared
with other work, time the thread spent descheduled does not count.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = ["none", "noop", "noop-dep", "jwtgate", "jwtgate-mw", "pyjwt"]


def load(variant: str) -> Any:
    os.environ["BENCH_AUTH"] = variant
    spec = importlib.util.spec_from_file_location(f"fastapi_apps_{variant}", ROOT / "benches" / "http" / "fastapi_apps.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def request_scope(token: str) -> Dict[str, Any]:
    # What uvicorn (h11) hands the app for wrk's request.
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": "GET", "scheme": "http", "path": "/items", "raw_path": b"/items", "root_path": "",
        "query_string": b"", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 50000), "state": {},
        "headers": [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Bearer {token}".encode())],
    }


CLOCK = time.perf_counter


async def timed(n: int, one: Callable[[], Any]) -> float:
    start = CLOCK()
    for _ in range(n):
        await one()
    return (CLOCK() - start) / n * 1e6


def summary(name: str, values: List[float], base: float | None) -> str:
    values = sorted(values)
    extra = f"   {values[0] - base:+6.2f} µs vs none (min)" if base is not None else ""
    return f"  {name:<34} min {values[0]:7.2f} µs   median {statistics.median(values):7.2f} µs{extra}"


async def main(rounds: int) -> None:
    token = subprocess.run([sys.executable, "examples/fastapi_app/mint_token.py", "--scope", "read:items", "--ttl", "3600"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    base_scope = request_scope(token)
    statuses: List[int] = []

    async def receive() -> Dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    def call(app: Any) -> Callable[[], Any]:
        return lambda: app({**base_scope, "state": {}}, receive, send)

    apps = {v: call(load(v)) for v in VARIANTS}
    # ~0.1 s per batch
    batch = {}
    for variant, one in apps.items():
        per_request = await timed(200, one)
        batch[variant] = max(50, int(0.1e6 / per_request))

    import jwtgate
    from fastapi.security import SecurityScopes
    from jwtgate.fastapi import BearerAuth, JwtGateMiddleware
    from starlette.requests import Request

    validator = jwtgate.Validator.from_json((ROOT / "examples" / "fastapi_app" / "demo-config.json").read_text())
    auth = BearerAuth(validator)
    route_scopes = SecurityScopes(scopes=["read:items"])

    async def empty_app(scope: Any, receive: Any, send: Any) -> None:
        return None

    middleware = JwtGateMiddleware(empty_app, validator=validator, scopes=["read:items"])

    async def request_only() -> None:
        Request({**base_scope, "state": {}}).headers

    async def dependency() -> None:
        request = Request({**base_scope, "state": {}})
        request.headers  # FastAPI builds these before it calls a dependency
        await auth(request, route_scopes)

    async def middleware_only() -> None:
        await middleware({**base_scope, "state": {}}, receive, send)

    parts = {"Request + headers (baseline)": request_only, "BearerAuth.__call__ + baseline": dependency,
             "JwtGateMiddleware alone": middleware_only}

    results: Dict[str, List[float]] = {name: [] for name in [*apps, *parts]}
    for _ in range(rounds):
        order = list(apps) + list(parts)
        random.shuffle(order)
        for name in order:
            statuses.clear()
            if name in apps:
                results[name].append(await timed(batch[name], apps[name]))
                assert set(statuses) == {200}, (name, set(statuses))
            else:
                results[name].append(await timed(20000, parts[name]))

    print(f"jwtgate from {Path(jwtgate.__file__).parent}, build {getattr(jwtgate._native, 'BUILD_PROFILE', '?')}; "
          f"{rounds} interleaved batches per line, {CLOCK.__name__}")
    print("Whole app (ASGI call, no server), per request:")
    base = min(results["none"])
    for variant in apps:
        print(summary(variant, results[variant], base if variant != "none" else None))
    print("The auth step alone, per call:")
    baseline = min(results["Request + headers (baseline)"])
    for name in parts:
        line = summary(name, results[name], None)
        if name.startswith("BearerAuth"):
            line += f"   ({min(results[name]) - baseline:.2f} µs without the baseline)"
        print(line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--cpu", type=int, default=0, help="the core to pin to (-1: no pinning)")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    args = parser.parse_args()
    if args.clock == "cpu":
        CLOCK = time.thread_time
    if args.cpu >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    asyncio.run(main(args.rounds))
