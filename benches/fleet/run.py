#!/usr/bin/env python3
"""Fleet-mode benchmark (issue #10): four jwtgate instances, two Python and two Node
processes, with and without a shared Redis (plus a Go instance for the latency table).

    make bench-fleet            # release builds, venv, npm ci, redis-server, then this
    benches/fleet/.venv/bin/python benches/fleet/run.py [--quick] [--out PATH]

Measures, on loopback:
1. provider calls (a counting JWKS + introspection server in this process): per new opaque
   token (the four instances at once, and one after another), per key rotation, at start-up,
   and per 10,000 requests of a stated mix;
2. revocation propagation: `revoke` on one instance until each of the three others refuses
   the token (they poll validate_local every --poll-us), p50/p99 over --revocations;
3. latency of an opaque token answered from Redis (L2, after clear_cache) against a bare GET
   of the same size with the language's usual client (redis-py, ioredis, go-redis), an introspection
   call to the provider, and a local JWT verify per algorithm (RS256, ES256, EdDSA).

Writes benches/fleet/RESULTS.md (or --out) and the raw figures to target/bench-fleet.json.
Not a test: nothing here asserts a timing. Every process it starts (redis-server, the
instances) is stopped by PID at the end.
"""

from __future__ import annotations

import argparse
import datetime
import http.server
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import jwt  # PyJWT, benches/fleet/.venv
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
KEYS = ROOT / "tests" / "keys"
FACES_DIR = ROOT / "target" / "bench-fleet" / "faces"
ISSUER = "https://issuer.fleet.bench"
AUDIENCE = "https://api.fleet.bench"
SECRET = "fleet-secret-of-the-benchmark-0123456789abcdef"
CLIENT = ("bench-api", "bench-api-secret")

children: list[subprocess.Popen] = []


# ---- the provider: JWKS (rotatable) and introspection, counting every call ------------------


def load_key(name: str) -> Any:
    return serialization.load_pem_private_key((KEYS / name).read_bytes(), password=None)


def public_jwk(key: Any, kid: str, alg: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(key.public_key()))
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    return jwk


class Provider:
    """GET /jwks and POST /introspect (active for any token), on a free loopback port."""

    def __init__(self) -> None:
        self.keys: list[tuple[Any, str]] = []  # (private key, kid), newest first
        self.jwks: dict[str, Any] = {"keys": []}
        self.hits = {"/jwks": 0, "/introspect": 0}
        self.lock = threading.Lock()
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in two writes: without this, Nagle's algorithm and the
            # client's delayed ACK add 40 ms to every keep-alive answer.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def reply(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def count(self, path: str) -> None:
                with provider.lock:
                    provider.hits[path] = provider.hits.get(path, 0) + 1

            def do_GET(self) -> None:
                self.count(self.path)
                with provider.lock:
                    body = provider.jwks
                self.reply(body)

            def do_POST(self) -> None:
                self.count(self.path)
                length = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                token = form.get("token", [""])[0]
                now = int(time.time())
                self.reply({
                    "active": True, "iss": ISSUER, "aud": AUDIENCE, "token_type": "Bearer",
                    "client_id": "svc", "scope": "read:items", "sub": "svc-" + token[-12:],
                    "jti": "op-" + token[-12:], "iat": now, "exp": now + 900,
                })

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.rotate(load_key("rsa-a.pem"), "key-a")

    def rotate(self, key: Any, kid: str) -> None:
        """The new key signs from now on; the previous one stays listed (a normal rotation)."""
        with self.lock:
            self.keys = [(key, kid)] + self.keys[:1]
            self.jwks = {"keys": [public_jwk(k, i, "RS256") for k, i in self.keys]}

    def counts(self) -> dict[str, int]:
        with self.lock:
            return dict(self.hits)

    def jwt(self, jti: str, sub: str | None = None) -> str:
        key, kid = self.keys[0]
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub or "user-" + jti, "jti": jti,
                  "iat": now, "exp": now + 1800, "scope": "read:items"}
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


# ---- Redis -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """redis-server on a free loopback port (the flags of tests/testkit/src/redis.rs)."""

    def __init__(self, scratch: Path) -> None:
        self.port = free_port()
        self.dir = scratch / f"redis-{self.port}"
        self.dir.mkdir(parents=True)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        children.append(self.proc)
        self.url = f"redis://127.0.0.1:{self.port}"
        self.client = redis.Redis.from_url(self.url)
        deadline = time.time() + 10
        while True:
            try:
                if self.client.ping():
                    break
            except redis.exceptions.ConnectionError:
                if time.time() > deadline:
                    raise SystemExit(f"bench-fleet: redis-server on port {self.port} did not start")
                time.sleep(0.02)

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# ---- the instances ------------------------------------------------------------------------------


class Instance:
    def __init__(self, face: str, name: str) -> None:
        self.face, self.name = face, name
        env = {**os.environ, "JWTGATE_PY": str(FACES_DIR / "python"), "JWTGATE_NODE": str(FACES_DIR / "node")}
        cmd = {"python": [sys.executable, str(HERE / "instance.py")],
               "node": ["node", str(HERE / "instance.mjs")],
               "go": [str(FACES_DIR / "go" / "instance")]}[face]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=HERE)
        children.append(self.proc)
        hello = self.read()
        assert hello.get("hello") == face, hello

    def send(self, op: str, **args: Any) -> None:
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()

    def read(self) -> dict[str, Any]:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"bench-fleet: instance {self.name} ended (exit {self.proc.wait()})")
        answer = json.loads(line)
        if "error" in answer:
            raise SystemExit(f"bench-fleet: instance {self.name}: {answer['error']}")
        return answer

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        self.send(op, **args)
        return self.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.call("exit")
                self.proc.wait(timeout=5)
            except (OSError, ValueError, SystemExit, subprocess.TimeoutExpired):
                self.proc.kill()


def all_at_once(instances: list[Instance], op: str, per: list[dict[str, Any]] | None = None, **args: Any) -> list[dict[str, Any]]:
    """The same command to every instance before reading any answer: they work in parallel."""
    for i, inst in enumerate(instances):
        inst.send(op, **(per[i] if per else args))
    return [inst.read() for inst in instances]


def fleet(faces: list[str], config: dict[str, Any]) -> list[Instance]:
    counter: dict[str, int] = {}
    instances = []
    for face in faces:
        counter[face] = counter.get(face, 0) + 1
        instances.append(Instance(face, f"{face}-{counter[face]}"))
    answers = all_at_once(instances, "start", config=config)
    for inst, a in zip(instances, answers):
        if not a.get("ok"):
            raise SystemExit(f"bench-fleet: {inst.name} did not start: {a}")
    return instances


def merge(counts: list[dict[str, Any]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for a in counts:
        for k, n in a["counts"].items():
            total[k] = total.get(k, 0) + n
    return total


# ---- measurements -------------------------------------------------------------------------------


def check_clock(instances: list[Instance]) -> dict[str, Any]:
    """Each instance's clock read between two of ours: the same clock iff it falls inside."""
    widths, inside = [], True
    for inst in instances:
        for _ in range(50):
            before = time.monotonic_ns()
            theirs = inst.call("now")["mono_ns"]
            after = time.monotonic_ns()
            inside &= before <= theirs <= after
            widths.append(after - before)
    return {"same_clock": inside, "bracket_us_median": statistics.median(widths) / 1e3}


def provider_calls(provider: Provider, instances: list[Instance], args: argparse.Namespace, tag: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    errors: dict[str, int] = {}

    def note(totals: dict[str, int]) -> None:
        for k, n in totals.items():
            if k != "ok":
                errors[k] = errors.get(k, 0) + n

    # A new opaque token met by the four at the same moment.
    c0 = provider.counts()
    for i in range(args.opaque):
        note(merge(all_at_once(instances, "validate", tokens=[f"opq-{tag}-together-{i:06d}-{random.randbytes(8).hex()}"])))
    out["opaque_together"] = (provider.counts()["/introspect"] - c0["/introspect"]) / args.opaque
    # ... and one after another (the second to fourth find it in Redis, when there is one).
    c0 = provider.counts()
    for i in range(args.opaque):
        token = f"opq-{tag}-sequential-{i:06d}-{random.randbytes(8).hex()}"
        for inst in instances:
            note(inst.call("validate", tokens=[token])["counts"])
    out["opaque_sequential"] = (provider.counts()["/introspect"] - c0["/introspect"]) / args.opaque

    # Key rotations: a token signed with a kid none of them knows, to the four at once.
    c0 = provider.counts()
    for i in range(args.rotations):
        time.sleep(1.1)  # jwks_refresh_cooldown is 1 s here: each rotation starts a new period
        provider.rotate(rsa.generate_private_key(public_exponent=65537, key_size=2048), f"rot-{tag}-{i}")
        note(merge(all_at_once(instances, "validate", tokens=[provider.jwt(f"rot-{tag}-{i}")])))
    out["per_rotation"] = (provider.counts()["/jwks"] - c0["/jwks"]) / args.rotations

    # 10,000 requests: the mix (stated in RESULTS.md).
    rng = random.Random(10)
    jwts = [provider.jwt(f"mix-{tag}-{i:05d}") for i in range(args.mix_jwt_pool)]
    opaque = [f"opq-{tag}-mix-{i:05d}-{rng.randbytes(8).hex()}" for i in range(args.mix_opaque_pool)]
    first_half = [rng.choice(jwts) if rng.random() < 0.7 else rng.choice(opaque) for _ in range(args.mix // 2)]
    c0 = provider.counts()
    for start in range(0, len(first_half), 1000):
        chunk = first_half[start:start + 1000]
        note(merge(all_at_once(instances, "validate", per=[{"tokens": chunk[k::4]} for k in range(4)])))
    # Half-way: a key rotation; the second half's JWTs are signed with the new key.
    time.sleep(1.1)
    provider.rotate(rsa.generate_private_key(public_exponent=65537, key_size=2048), f"mix-rot-{tag}")
    jwts2 = [provider.jwt(f"mix2-{tag}-{i:05d}") for i in range(args.mix_jwt_pool)]
    second_half = [rng.choice(jwts2) if rng.random() < 0.7 else rng.choice(opaque) for _ in range(args.mix - len(first_half))]
    for start in range(0, len(second_half), 1000):
        chunk = second_half[start:start + 1000]
        note(merge(all_at_once(instances, "validate", per=[{"tokens": chunk[k::4]} for k in range(4)])))
    c1 = provider.counts()
    scale = 10_000 / args.mix
    out["mix_introspection"] = (c1["/introspect"] - c0["/introspect"]) * scale
    out["mix_jwks"] = (c1["/jwks"] - c0["/jwks"]) * scale
    out["mix_distinct_opaque"] = len({t for t in first_half + second_half if t.startswith("opq-")})
    out["errors"] = errors
    return out


def percentile(samples: list[float], p: float) -> float:
    s = sorted(samples)
    if not s:
        return float("nan")
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


def revocations(provider: Provider, instances: list[Instance], args: argparse.Namespace) -> dict[str, Any]:
    n = args.revocations
    tokens = [provider.jwt(f"rev-{i:05d}") for i in range(n)]
    # Every instance has every token in its result cache first: the revocation must purge it.
    for a in all_at_once(instances, "validate", tokens=tokens):
        assert a["counts"] == {"ok": n}, a
    last_ms, one_ms, missed, pairs = [], [], 0, {}
    for i, token in enumerate(tokens):
        revoker = instances[i % len(instances)]
        watchers = [w for w in instances if w is not revoker]
        for w in watchers:
            w.send("watch", token=token, seconds=args.watch_seconds, poll_us=args.poll_us)
        for w in watchers:
            ack = w.read()
            assert ack["watching"] and ack["before"] == "ok", (w.name, ack)
        t0 = revoker.call("revoke", jti=f"rev-{i:05d}")["t0_ns"]
        seen = [(w, w.read()) for w in watchers]
        times = []
        for w, s in seen:
            if s["seen_ns"] is None:
                missed += 1
                continue
            ms = (s["seen_ns"] - t0) / 1e6
            times.append(ms)
            one_ms.append(ms)
            pairs.setdefault(f"{revoker.face} → {w.face}", []).append(ms)
        if len(times) == len(watchers):
            last_ms.append(max(times))
    return {"n": n, "last_ms": last_ms, "one_ms": one_ms, "missed": missed, "pairs": pairs}


def latencies(provider: Provider, fleet_instances: list[Instance], lone: list[Instance], server: RedisServer, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # One opaque token introspected once (by the first instance): in Redis from then on.
    token = f"opq-l2-{random.randbytes(12).hex()}"
    fleet_instances[0].call("validate", tokens=[token])
    keys = [k for k in server.client.scan_iter(match=b"jwtgate:introspection:*") if not k.endswith(b":lease")]
    sizes = sorted(server.client.strlen(k) for k in keys)
    size = sizes[len(sizes) // 2]
    server.client.set("bench:bare", os.urandom(size))
    out["value_bytes"] = size
    for inst in fleet_instances:
        before = inst.call("stats")["stats"]
        l2 = inst.call("l2", token=token, n=args.latency_n)
        after = inst.call("stats")["stats"]
        hits = after.get("redis_l2_hits", after.get("redisL2Hits", 0)) - before.get("redis_l2_hits", before.get("redisL2Hits", 0))
        calls = after.get("introspection_requests", after.get("introspectionRequests", 0)) - before.get("introspection_requests", before.get("introspectionRequests", 0))
        bare = inst.call("bare_get", url=server.url, key="bench:bare", n=args.latency_n)
        rec = out.setdefault(inst.face, {"l2": [], "bare": [], "l2_hits": 0, "l2_provider_calls": 0, "outcomes": set()})
        rec["l2"] += l2["samples_ns"]
        rec["bare"] += bare["samples_ns"]
        rec["l2_hits"] += hits
        rec["l2_provider_calls"] += calls
        rec["outcomes"] |= set(l2["outcomes"])
        rec["client"] = bare["client"]
    # The same, without Redis: an introspection call to the provider each time.
    token = f"opq-provider-{random.randbytes(12).hex()}"
    for inst in lone:
        rec = out[inst.face]
        rec.setdefault("provider", [])
        rec["provider"] += inst.call("l2", token=token, n=args.latency_n)["samples_ns"]
    # Local verifies, per algorithm, with static keys (no network at all).
    keys = {"RS256": ("rsa-a.pem", "RS256"), "ES256": ("ec-p256.pem", "ES256"), "EdDSA": ("ed25519.pem", "EdDSA")}
    jwks, tokens = {"keys": []}, {}
    now = int(time.time())
    for alg, (file, name) in keys.items():
        key = load_key(file)
        jwks["keys"].append(public_jwk(key, f"k-{alg}", name))
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "jti": f"local-{alg}", "iat": now, "exp": now + 3600}
        tokens[alg] = jwt.encode(claims, key, algorithm=name, headers={"kid": f"k-{alg}"})
    local_config = {"issuer": ISSUER, "audience": AUDIENCE, "jwks": jwks}
    for inst in lone:
        samples = inst.call("local", config=local_config, tokens=tokens, n=args.local_n)["samples_ns"]
        rec = out[inst.face]
        for k, s in samples.items():
            rec.setdefault("local", {}).setdefault(k, []).extend(s)
    return out


# ---- the report ----------------------------------------------------------------------------------


def us(ns: list[int], p: float) -> str:
    v = percentile(ns, p) / 1e3
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


def ms(values: list[float], p: float) -> str:
    return f"{percentile(values, p):.2f}"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def version(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def builds() -> str:
    """When the release builds were copied, and from which commit (written by make bench-fleet)."""
    stamp = FACES_DIR / "BUILD"
    copied = datetime.datetime.fromtimestamp((FACES_DIR / "node" / "index.js").stat().st_mtime, datetime.timezone.utc)
    text = f"release builds copied to target/bench-fleet/faces at {copied:%Y-%m-%d %H:%M} UTC"
    if stamp.exists():
        commit, dirty = (stamp.read_text().split() + ["?", "?"])[:2]
        text += f" from commit {commit}" + (f" with uncommitted changes in {dirty} files of core/ or the faces" if dirty not in ("0", "?") else "")
    return text


def calls(v: float) -> str:
    return f"{v:g}" if v == int(v) else f"{v:.2f}"


def report(r: dict[str, Any], args: argparse.Namespace) -> str:
    no, yes = r["calls"]["none"], r["calls"]["redis"]
    rev = r["revocations"]
    lat = r["latency"]
    faces = " + ".join(f"{args.faces.count(f)} {f.capitalize()}" for f in dict.fromkeys(args.faces))
    lines = [
        "# Fleet mode: provider calls, revocation propagation, Redis lookups",
        "",
        "Written by `benches/fleet/run.py` (`make bench-fleet`, part of `make bench`). Not a test:",
        "nothing asserts a timing. What it measures and how: the docstring of `run.py`.",
        "",
        f"- Command: `{r['command']}`",
        f"- Date: {r['date']}",
        f"- Machine: {r['machine']}",
        f"- Software: {r['software']}",
        f"- Builds: {r['builds']}",
        f"- Instances: {faces} processes (release builds of the faces), one redis-server on"
        " loopback, one counting JWKS + introspection server (Python `http.server`, in the driver)."
        + (f" For the latency table only, one more {' and one more '.join(f.capitalize() for f in args.latency_faces)}"
           " instance in the fleet (and one without Redis)." if args.latency_faces else ""),
        f"- Counts: {args.opaque} new opaque tokens per scenario, {args.rotations} rotations,"
        f" {args.mix:,} mixed requests, {rev['n']} revocations (poll every {args.poll_us} µs),"
        f" {args.latency_n} L2 lookups and bare GETs per instance, {args.local_n} local verifies per"
        " algorithm per instance.",
        f"- Shared machine: {r['load']}",
        "",
        "## Provider calls",
        "",
        "| | 4 instances, no Redis | 4 instances, one Redis |",
        "|---|---:|---:|",
        f"| JWKS fetches at start-up (the four start at once) | {no['startup_jwks']} | {yes['startup_jwks']} |",
        f"| introspection calls per new opaque token, met by the four at once | {calls(no['opaque_together'])} | {calls(yes['opaque_together'])} |",
        f"| introspection calls per new opaque token, met one after another | {calls(no['opaque_sequential'])} | {calls(yes['opaque_sequential'])} |",
        f"| JWKS fetches per key rotation (a new kid, met by the four at once) | {calls(no['per_rotation'])} | {calls(yes['per_rotation'])} |",
        f"| provider calls per 10,000 requests (mix below): introspection + JWKS | {no['mix_introspection']:.0f} + {no['mix_jwks']:.0f} | {yes['mix_introspection']:.0f} + {yes['mix_jwks']:.0f} |",
        f"| requests refused or failed (all scenarios) | {sum(no['errors'].values())} | {sum(yes['errors'].values())} |",
        "",
        f"The mix: {args.mix:,} requests, each a JWT (70 %, drawn from {args.mix_jwt_pool:,} distinct"
        f" RS256 tokens) or an opaque token (30 %, from {args.mix_opaque_pool:,} distinct tokens;"
        f" {yes['mix_distinct_opaque']} of them occur), uniformly at random (fixed seed), dealt"
        " round-robin to the four instances in rounds of 1,000 that the four process in parallel."
        " Half-way the provider rotates its key: the second half's JWTs carry the new kid. JWTs"
        " are verified locally (one JWKS fetch per rotation is their only provider cost); each"
        " distinct opaque token costs one introspection per instance that meets it without Redis,"
        " one per fleet with it. Introspection rate limit off (`introspection_rate_limit: 0`),"
        " `jwks_refresh_cooldown: 1` (rotations are 1.1 s apart).",
        "",
        "With Redis, figures above 1 call per token or rotation are races in the distributed single"
        " flight, traced with `redis-cli monitor`. Before commit bb947ce (2026-12-01), 7 of 300 tokens"
        " met by four at once cost two calls: an instance missed in Redis just before the lease holder"
        " stored its answer, then took the lease just after the holder's `DEL`. bb947ce added a second"
        " look after `SET NX`, which closed that for introspection; for key sets it opened another:"
        " the second look finds the *previous* key set (still valid in Redis), releases the lease"
        " (`Lease::Answered`), finds that set not newer, and fetches from the provider with no lease"
        " held, so the next instance takes the free lease and fetches too (15 rotations met by four"
        " at once: 26 provider fetches). Since commit 4275a51 the second look releases the lease"
        " only for a value its caller takes (an introspection answer; a key set newer than its own),"
        " and keeps it otherwise (`core/tests/fleet.rs`:"
        " `a_rotation_met_by_many_instances_at_once_is_fetched_once`). The builds line above says"
        " which code this run measured.",
        "",
        "## Revocation propagation",
        "",
        "`revoke(jti=...)` on one instance (each in turn) until the others refuse the token as"
        " `revoked`. Every instance had the token in its result cache, so the revocation also has"
        " to purge it.",
        "",
        "| | revocations | p50 ms | p90 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|",
        f"| until **every** other instance refuses (the slowest of three) | {len(rev['last_ms'])} | {ms(rev['last_ms'], 50)} | {ms(rev['last_ms'], 90)} | {ms(rev['last_ms'], 99)} | {ms(rev['last_ms'], 100)} |",
        f"| until one given instance refuses (all pairs) | {len(rev['one_ms'])} | {ms(rev['one_ms'], 50)} | {ms(rev['one_ms'], 90)} | {ms(rev['one_ms'], 99)} | {ms(rev['one_ms'], 100)} |",
    ]
    for pair, values in sorted(rev["pairs"].items()):
        lines.append(f"| {pair} | {len(values)} | {ms(values, 50)} | {ms(values, 90)} | {ms(values, 99)} | {ms(values, 100)} |")
    lines += [
        "",
        f"Not seen within {args.watch_seconds} s: {rev['missed']}. The issue's target is p99 under 10 ms on loopback.",
        "",
        "How it is timed: the driver sends `watch` to the three other instances; each answers, then"
        f" calls `validate_local` (`validateSync` in Node) on the token every {args.poll_us} µs"
        " (a sleep between calls: three processes spinning on two cores would starve the threads"
        " that carry the revocation) and notes the time it first gets `revoked`. Once all three"
        " answered, the revoker notes the time and calls `revoke`. Every time is CLOCK_MONOTONIC,"
        " one clock for the machine: Python's `time.monotonic_ns()` and Node's"
        " `process.hrtime.bigint()` (libuv's `uv_hrtime`) both read it; the driver checked that"
        f" each instance's reading falls between two of its own ({'it always did' if r['clock']['same_clock'] else 'IT DID NOT: the figures are suspect'},"
        f" median bracket {r['clock']['bracket_us_median']:.0f} µs). A figure includes up to one"
        " poll interval of delay and the time the watcher's process waits for a core.",
        "",
        "## Lookup latency: Redis (L2) against a bare GET and against a local verify",
        "",
        f"Per call, in µs, in each face's process (median / p99). The L2 row is `validate` of an"
        f" opaque token after `clear_cache()` (not timed): jwtgate computes the key (HMAC), GETs"
        f" the sealed answer ({lat['value_bytes']} bytes), checks the seal and the claims, and"
        " fills its L1. The bare GET reads a value of the same size with the language's usual"
        " client. The provider row is the same `validate` without Redis: an introspection call"
        " to the counting server (a Python `http.server` on loopback; a provider across a network"
        " costs milliseconds). Local verifies: a validator with static keys and"
        " the result cache off (`cache_max_entries: 0`), one token per algorithm; the L1 hit is a"
        " cached RS256 token.",
        "",
        "| per call, µs (median / p99) | " + " | ".join(f.capitalize() for f in lat["faces"]) + " |",
        "|---|" + "---:|" * len(lat["faces"]),
    ]

    def row(label: str, get) -> str:
        cells = []
        for f in lat["faces"]:
            s = get(lat[f])
            cells.append(f"{us(s, 50)} / {us(s, 99)}" if s else "-")
        return f"| {label} | " + " | ".join(cells) + " |"

    lines.append(row("opaque token from Redis (jwtgate L2 hit)", lambda x: x["l2"]))
    lines.append(row("bare GET, same size (" + " / ".join(lat[f]["client"] for f in lat["faces"]) + ")", lambda x: x["bare"]))
    lines.append(row("opaque token from the provider (introspection, no Redis)", lambda x: x.get("provider")))
    for alg in ("RS256", "ES256", "EdDSA"):
        lines.append(row(f"JWT, local verify {alg} (result cache off)", lambda x, a=alg: x["local"][a]))
    lines.append(row("JWT, result-cache hit (L1)", lambda x: x["local"]["l1_hit"]))
    checks = "; ".join(
        f"{f}: {lat[f]['l2_hits']} L2 hits, {lat[f]['l2_provider_calls']} provider calls, outcomes {sorted(lat[f]['outcomes'])}"
        for f in lat["faces"])
    lines += [
        "",
        f"Check that the L2 rows were answered from Redis (stats deltas): {checks}.",
        "",
        decision(lat),
        "",
    ]
    return "\n".join(lines)


def decision(lat: dict[str, Any]) -> str:
    """The JWT-results-in-Redis question, in this run's figures."""
    med = lambda xs: percentile(xs, 50) / 1e3  # noqa: E731
    parts, slower = [], []
    for f in lat["faces"]:
        x = lat[f]
        l2 = med(x["l2"])
        verifies = []
        for alg in ("RS256", "ES256", "EdDSA"):
            v = med(x["local"][alg])
            verifies.append(f"{alg} {v:.0f} µs")
            if v > l2:
                slower.append((f"{alg} in {f.capitalize()}", v - l2))
        parts.append(f"{f.capitalize()}: an L2 hit {l2:.0f} µs (a bare GET alone {med(x['bare']):.0f} µs), a local"
                     f" verify {', '.join(verifies)}, an L1 hit {med(x['local']['l1_hit']):.1f} µs")
    text = ("**JWT results stay in the in-process cache only** (the lead's decision, `core/src/fleet/mod.rs`)."
            " Medians of this run: " + "; ".join(parts) + ". ")
    if slower:
        worst = max(d for _, d in slower)
        text += ("A local verify costs less than an L2 hit except for " + ", ".join(n for n, _ in slower)
                 + f", where a result from Redis would save at most {worst:.0f} µs, once per token and instance"
                 " (every later request is an L1 hit), at the price of a Redis round trip and a Redis dependency"
                 " on the JWT path. ")
    else:
        text += "A local verify costs less than an L2 hit for every algorithm, in both faces. "
    text += ("Sharing JWT results would save no provider call either: a JWT costs the provider only its key"
             " set, which the fleet shares already. The figures make no case for putting JWT results in Redis;"
             " the introspection answer, which the fleet does share, replaces a provider round trip (the"
             " provider row) with an L2 hit.")
    return text


# ---- main ----------------------------------------------------------------------------------------


def stats_of(instances: list[Instance]) -> list[dict[str, Any]]:
    return [inst.call("stats") for inst in instances]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small counts, to try the script")
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"))
    ap.add_argument("--faces", default="python,python,node,node", help="the four instances")
    ap.add_argument("--latency-faces", default="go",
                    help="faces measured in the latency tables only (one more fleet member each)")
    ap.add_argument("--opaque", type=int, default=50)
    ap.add_argument("--rotations", type=int, default=5)
    ap.add_argument("--mix", type=int, default=10_000)
    ap.add_argument("--mix-jwt-pool", type=int, default=2_000)
    ap.add_argument("--mix-opaque-pool", type=int, default=1_000)
    ap.add_argument("--revocations", type=int, default=240)
    ap.add_argument("--poll-us", type=int, default=100)
    ap.add_argument("--watch-seconds", type=float, default=2.0)
    ap.add_argument("--latency-n", type=int, default=1_000)
    ap.add_argument("--local-n", type=int, default=2_000)
    ap.add_argument("--from-json", metavar="PATH", help="only rewrite the report from a run's raw figures (target/bench-fleet.json)")
    args = ap.parse_args()
    if args.quick:
        args.opaque, args.rotations, args.mix = 5, 2, 2_000
        args.mix_jwt_pool, args.mix_opaque_pool = 400, 200
        args.revocations, args.latency_n, args.local_n = 20, 100, 200
    args.faces = args.faces.split(",")
    args.latency_faces = [f for f in args.latency_faces.split(",") if f and f not in args.faces]
    if len(args.faces) != 4 or not set(args.faces + args.latency_faces) <= {"python", "node", "go"}:
        raise SystemExit("bench-fleet: --faces takes four of python,node,go")
    needs = {"python": FACES_DIR / "python" / "jwtgate", "node": FACES_DIR / "node" / "index.js", "go": FACES_DIR / "go" / "instance"}
    for need in (needs[f] for f in dict.fromkeys(args.faces + args.latency_faces)):
        if not need.exists():
            raise SystemExit(f"bench-fleet: {need} missing: run `make bench-fleet` (it copies the release builds there)")
    if shutil.which("redis-server") is None:
        raise SystemExit("bench-fleet: redis-server missing: `make redis-deps` installs it")

    if args.from_json:
        Path(args.out).write_text(report(json.loads(Path(args.from_json).read_text()), args))
        print(f"bench-fleet: rewrote {args.out} from {args.from_json}")
        return
    scratch = Path(tempfile.mkdtemp(prefix="jwtgate-bench-fleet-"))
    results: dict[str, Any] = {
        "command": "make bench-fleet" if os.environ.get("MAKELEVEL") else " ".join(["benches/fleet/.venv/bin/python benches/fleet/run.py"] + sys.argv[1:]),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs (nproc), {cpu_model()}, Linux {platform.release()}",
        "software": f"{version(['redis-server', '--version'])}; Python {platform.python_version()}; Node {version(['node', '--version'])}; {version(['go', 'version'])}",
        "builds": builds(),
        "load": f"load average {os.getloadavg()[0]:.2f} at the start (other builds and tests may share the cores)",
        "calls": {},
    }
    provider = Provider()
    base = {
        "issuer": ISSUER, "audience": AUDIENCE, "jwks_uri": provider.url + "/jwks",
        "introspection_endpoint": provider.url + "/introspect",
        "client_id": CLIENT[0], "client_secret": CLIENT[1],
        "introspection_rate_limit": 0, "jwks_refresh_cooldown": 1,
    }
    try:
        # 1. Without Redis.
        print("bench-fleet: 4 instances without Redis", flush=True)
        c0 = provider.counts()
        lone = fleet(args.faces, base)
        results["calls"]["none"] = {"startup_jwks": provider.counts()["/jwks"] - c0["/jwks"]}
        results["calls"]["none"].update(provider_calls(provider, lone, args, "none"))
        print(f"  {results['calls']['none']}", flush=True)

        # 2. With one Redis.
        server = RedisServer(scratch)
        print(f"bench-fleet: 4 instances sharing redis-server on port {server.port}", flush=True)
        fleet_config = {**base, "redis_url": server.url, "fleet_secret": SECRET}
        c0 = provider.counts()
        shared = fleet(args.faces, fleet_config)
        results["calls"]["redis"] = {"startup_jwks": provider.counts()["/jwks"] - c0["/jwks"]}
        for s in stats_of(shared):
            fh = s["health"].get("fleet") or {}
            if not fh.get("subscribed"):
                print(f"  warning: an instance reports fleet health {fh}", flush=True)
        results["clock"] = check_clock(shared)
        results["calls"]["redis"].update(provider_calls(provider, shared, args, "redis"))
        print(f"  {results['calls']['redis']}", flush=True)

        print(f"bench-fleet: {args.revocations} revocations", flush=True)
        rev = revocations(provider, shared, args)
        results["revocations"] = rev
        print(f"  every other instance refuses: p50 {ms(rev['last_ms'], 50)} ms, p99 {ms(rev['last_ms'], 99)} ms, missed {rev['missed']}", flush=True)

        print("bench-fleet: lookup latencies", flush=True)
        extra_shared = fleet(args.latency_faces, fleet_config) if args.latency_faces else []
        extra_lone = fleet(args.latency_faces, base) if args.latency_faces else []
        lat = latencies(provider, shared + extra_shared, lone + extra_lone, server, args)
        lat["faces"] = list(dict.fromkeys(args.faces + args.latency_faces))
        results["latency"] = lat
        results["load"] += f", {os.getloadavg()[0]:.2f} at the end"
        results["final_stats"] = {inst.name: s for inst, s in zip(shared, stats_of(shared))}
        for inst in shared + lone + extra_shared + extra_lone:
            inst.stop()
        server.stop()
    finally:
        stop_all()
        shutil.rmtree(scratch, ignore_errors=True)

    text = report(results, args)
    Path(args.out).write_text(text)
    raw = ROOT / "target" / "bench-fleet.json"
    raw.parent.mkdir(exist_ok=True)
    raw.write_text(json.dumps(results, default=sorted, indent=1))
    print(f"bench-fleet: wrote {args.out} and {raw}")
    print(text)


def stop_all() -> None:
    for p in reversed(children):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in children:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()


if __name__ == "__main__":
    main()
