"""One Python instance of the fleet benchmark (benches/fleet/run.py starts it).

A jwtgate Validator in its own process, driven by JSON lines on stdin; every answer is one
JSON line on stdout (the "watch" command answers twice: once when it starts polling, once
when it sees the revocation). The protocol is the one of instance.mjs, command by command.

jwtgate comes from JWTGATE_PY (a copy of the release build that `make bench-fleet` takes, so a
debug build made meanwhile in bindings-python does not end up in the figures); redis-py from
benches/fleet/.venv, whose interpreter runs this script.

Clock: every timestamp is time.monotonic_ns(), i.e. CLOCK_MONOTONIC, one clock for the whole
machine on Linux; the driver checks that it agrees with its own and with Node's
process.hrtime.bigint() (libuv reads the same clock) before it compares times across
processes.
"""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.environ["JWTGATE_PY"])

import jwtgate  # noqa: E402
import redis  # noqa: E402

FACE = "python"


def send(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def outcome(call, token: str) -> str:
    try:
        call(token)
        return "ok"
    except jwtgate.JwtGateError as e:
        return e.kind


def timed(n: int, before, call) -> list[int]:
    """n samples of `call()` in ns, `before()` (untimed) ahead of each."""
    samples = []
    for _ in range(n):
        before()
        t0 = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - t0)
    return samples


def main() -> None:
    v: jwtgate.Validator | None = None
    send({"hello": FACE, "pid": os.getpid()})
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "start":
            t0 = time.monotonic_ns()
            v = jwtgate.Validator(**cmd["config"])
            v.ready()
            send({"ok": True, "ready_ms": (time.monotonic_ns() - t0) / 1e6})
        elif op == "now":
            send({"mono_ns": time.monotonic_ns()})
        elif op == "validate":
            counts: dict[str, int] = {}
            for token in cmd["tokens"]:
                k = outcome(v.validate, token)
                counts[k] = counts.get(k, 0) + 1
            send({"counts": counts})
        elif op == "watch":
            # Answers at once, then polls validate_local until the token is refused as revoked.
            token, poll = cmd["token"], cmd["poll_us"] / 1e6
            deadline = time.monotonic_ns() + int(cmd["seconds"] * 1e9)
            before = outcome(v.validate_local, token)
            send({"watching": True, "before": before})
            seen, other, polls = None, None, 0
            while time.monotonic_ns() < deadline:
                polls += 1
                try:
                    v.validate_local(token)
                except jwtgate.JwtGateError as e:
                    if e.kind == "revoked":
                        seen = time.monotonic_ns()
                        break
                    other = e.kind
                if poll:
                    time.sleep(poll)
            send({"seen_ns": seen, "polls": polls, "other": other})
        elif op == "revoke":
            t0 = time.monotonic_ns()
            v.revoke(jti=cmd["jti"])
            send({"t0_ns": t0, "t1_ns": time.monotonic_ns()})
        elif op == "stats":
            send({"stats": v.stats(), "health": v.health()})
        elif op == "l2":
            # An opaque token answered after the in-process cache was emptied: from Redis in
            # fleet mode, from the provider without it. clear_cache() is not timed.
            token = cmd["token"]
            kinds = {outcome(v.validate, token)}
            samples = timed(cmd["n"], v.clear_cache, lambda: kinds.add(outcome(v.validate, token)))
            send({"samples_ns": samples, "outcomes": sorted(kinds)})
        elif op == "bare_get":
            client = redis.Redis.from_url(cmd["url"])
            key = cmd["key"]
            size = len(client.get(key) or b"")
            samples = timed(cmd["n"], lambda: None, lambda: client.get(key))
            client.close()
            send({"samples_ns": samples, "size": size, "client": f"redis-py {redis.__version__}"})
        elif op == "local":
            # A full local verify per call (result cache off), and a result-cache hit.
            cold = jwtgate.Validator(**cmd["config"], cache_max_entries=0)
            warm = jwtgate.Validator(**cmd["config"])
            out = {}
            for alg, token in cmd["tokens"].items():
                for _ in range(20):
                    cold.validate_local(token)
                out[alg] = timed(cmd["n"], lambda: None, lambda: cold.validate_local(token))
            token = next(iter(cmd["tokens"].values()))
            warm.validate_local(token)
            out["l1_hit"] = timed(cmd["n"], lambda: None, lambda: warm.validate_local(token))
            send({"samples_ns": out})
        elif op == "exit":
            send({"bye": True})
            return
        else:
            send({"error": f"unknown op {op}"})


if __name__ == "__main__":
    main()
