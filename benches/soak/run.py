"""Soak (issue 17): every face at full speed for SOAK_SECONDS, mixed traffic, faults, and
what must hold afterwards. `make soak` runs it (README.md in this directory says how).

One process per face (Python, Node, Go; the Go package goes through the C ABI, so it stands for
C too), all in fleet mode on one Redis, all against the test OpenID provider
(tests/provider/server.mjs) for discovery, keys and tokens, and against a small introspection
proxy in this process that can hang. Traffic (instance.py has the details):

  JWT loop, full speed: hot (the 50 newest provider JWTs: cache hits, new ones every 0.5 s),
  fresh (a pool of 8,000 tokens signed with the provider's current key, larger than the cache:
  every use is a cold verify), expired, forged (another token's signature), unknown kid (a new
  kid every time), revoked (provider JWTs revoked by jti in every instance);
  opaque loop, bounded rate: active opaque tokens from the provider, random opaque tokens,
  opaque tokens revoked at the provider.

Faults (at fractions of the duration): the provider restarted with a rotated key (0.20, 0.85),
the introspection endpoint hangs (0.35, 0.70), Redis killed and restarted empty (0.55).

Sampled every second per instance: RSS, threads, fds (/proc), validations per second and
failures by kind (stats()), and every instance's own outcome counts per traffic category.
Checks (exit 1 if one fails): memory flat on the second half, no thread or fd growth, every
error kind explained by the traffic or a fault window, stats() agrees with the instance's
counts, no crash. Writes target/soak/ (samples, logs), benches/soak/soak.png and
benches/soak/RESULTS.md.
"""

from __future__ import annotations

import argparse
import base64
import csv
import http.client
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
import threading
import time
import urllib.parse
from collections import deque
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = ROOT / "target" / "soak"
PROVIDER = ROOT / "tests" / "provider" / "server.mjs"
JWT_AUD = "https://api.test/jwt"
OPAQUE_AUD = "https://api.test/opaque"
API_CLIENT = ("api-client", "api-client-secret-0123456789abcdef")
RS_CLIENT = ("rs-client", "rs-client-secret-0123456789abcdef")
FLEET_SECRET = "soak-fleet-secret-0123456789-0123456789-abcdef"

CACHE_MAX_ENTRIES = 5000
FRESH_POOL = 8000  # > the cache (5,056 after rounding to 64 shards): every fresh use is a miss
EXPIRED_POOL = 300
HOT = 50
INTROSPECTION_TTL = 5.0
COOLDOWN = 5.0  # jwks_refresh_cooldown and breaker_cooldown
FETCH_DEADLINE = 2.0
RSS_GROWTH_LIMIT_MIB = 16.0
# Threads and fds: the level (median) of the last quarter may exceed the first half's by 1, a
# peak the first half's peak by 2 (connections of the HTTP pool and to Redis come and go with
# the faults; a leak grows with requests or faults and passes both bounds within minutes).
LEVEL_SLACK = 1
PEAK_SLACK = 2

JWT_CATEGORIES = ["hot", "fresh", "expired", "forged", "unknown_kid", "revoked"]
OPAQUE_CATEGORIES = ["opaque", "opaque_garbage", "opaque_revoked"]
# What each category must answer, faults aside.
EXPECTED = {
    "hot": {"ok"},
    "fresh": {"ok"},
    "expired": {"expired"},
    "forged": {"signature_invalid"},
    "unknown_kid": {"key_not_found"},
    "revoked": {"revoked"},
    "opaque": {"ok"},
    "opaque_garbage": {"inactive"},
    "opaque_revoked": {"inactive"},
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 55000:
            return port


def b64json(segment: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


# ---- the test provider ---------------------------------------------------------------------


class Provider:
    def __init__(self, directory: Path) -> None:
        self.keys_file = directory / "provider-keys.json"
        self.log = open(directory / "provider.log", "ab")
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.issuer = ""

    def start(self, rotate: bool) -> None:
        env = {**os.environ, "PORT": str(self.port), "KEYS_FILE": str(self.keys_file)}
        if rotate:
            env["ROTATE"] = "1"
        self.proc = subprocess.Popen(["node", str(PROVIDER)], env=env, stdout=subprocess.PIPE,
                                     stderr=self.log)
        assert self.proc.stdout
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the provider did not start (see target/soak/provider.log)")
        ready = json.loads(line)
        self.port, self.issuer = ready["port"], ready["issuer"]

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def post(self, path: str, form: dict[str, str], client: tuple[str, str]) -> tuple[int, bytes]:
        body = urllib.parse.urlencode(form)
        auth = base64.b64encode(f"{client[0]}:{client[1]}".encode()).decode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("POST", path, body, {"Authorization": "Basic " + auth,
                                              "Content-Type": "application/x-www-form-urlencoded"})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def token(self, resource: str) -> str | None:
        try:
            status, body = self.post("/token", {"grant_type": "client_credentials", "resource": resource,
                                                "scope": "read:items write:items"}, API_CLIENT)
        except OSError:
            return None
        return json.loads(body)["access_token"] if status == 200 else None

    def revoke(self, token: str) -> bool:
        try:
            status, _ = self.post("/token/revocation", {"token": token}, API_CLIENT)
        except OSError:
            return False
        return status == 200

    def signing_key(self) -> tuple[str, Any]:
        import jwt  # PyJWT, from the venv

        first = json.loads(self.keys_file.read_text())["keys"][0]
        return first["kid"], jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(first))


# ---- the introspection proxy: forwards to the provider, or holds requests unanswered --------


class IntrospectionProxy:
    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.hang_until = 0.0
        self.held = 0
        self.forwarded = 0
        self.failed = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if time.time() < proxy.hang_until:
                    proxy.held += 1
                    while time.time() < proxy.hang_until:
                        time.sleep(0.05)
                    self.close_connection = True
                    return  # the caller has long given up: answer nothing
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("authorization", "content-type")}
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", proxy.provider.port, timeout=5)
                    conn.request("POST", "/token/introspection", body, headers)
                    resp = conn.getresponse()
                    status, data, ctype = resp.status, resp.read(), resp.getheader("Content-Type", "application/json")
                    conn.close()
                    proxy.forwarded += 1
                except OSError:
                    status, data, ctype = 502, b'{"error":"bad_gateway"}', "application/json"
                    proxy.failed += 1
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token/introspection"


# ---- Redis -----------------------------------------------------------------------------------


class Redis:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.dir = directory / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()  # SIGKILL: a crash, not a shutdown
            self.proc.wait()
            self.proc = None


# ---- the token feed the instances read ------------------------------------------------------


class Feed:
    """What the instances validate, written to target/soak/feed/feed.json (atomically)."""

    def __init__(self, directory: Path, provider: Provider, seconds: float) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.provider = provider
        self.exp = int(time.time() + seconds + 900)
        self.lock = threading.Lock()
        self.hot: deque[str] = deque(maxlen=HOT)
        self.opaque: deque[str] = deque(maxlen=20)
        self.revoked: deque[str] = deque()
        self.revoke_jtis: list[str] = []
        self.opaque_revoked: deque[str] = deque(maxlen=20)
        self.opaque_pending: list[tuple[float, str]] = []
        self.opaque_to_revoke: list[tuple[float, str]] = []
        self.to_revoke: list[tuple[float, str]] = []
        self.fresh_file = ""
        self.expired: list[str] = []
        self.generation = 0
        self.pool_generation = 0
        self.stop = threading.Event()
        self.token_failures = 0

    def mint_pools(self) -> str:
        """Fresh and expired tokens signed with the provider's current key (from its key file:
        the provider signs with the first key, so these are what it would issue)."""
        import jwt

        kid, key = self.provider.signing_key()
        now = int(time.time())
        rng = random.Random()

        def claims(iat: int, exp: int) -> dict[str, Any]:
            return {"iss": self.provider.issuer, "sub": API_CLIENT[0], "client_id": API_CLIENT[0],
                    "aud": JWT_AUD, "scope": "read:items write:items", "iat": iat, "exp": exp,
                    "jti": "%032x" % rng.getrandbits(128)}

        headers = {"kid": kid, "typ": "at+jwt"}
        fresh = [jwt.encode(claims(now, self.exp), key, algorithm="RS256", headers=headers)
                 for _ in range(FRESH_POOL)]
        expired = [jwt.encode(claims(now - 7200, now - 3600), key, algorithm="RS256", headers=headers)
                   for _ in range(EXPIRED_POOL)]
        self.pool_generation += 1
        name = f"fresh-{self.pool_generation}.json"
        (self.dir / name).write_text(json.dumps(fresh))
        with self.lock:
            self.fresh_file, self.expired = name, expired
        self.write()
        return kid

    def write(self) -> None:
        with self.lock:
            now = time.time()
            # A revoked JWT past its exp answers `expired`: keep those with 30 s left.
            while self.revoked and b64json(self.revoked[0].split(".")[1])["exp"] < now + 30:
                self.revoked.popleft()
            self.generation += 1
            data = {"generation": self.generation, "fresh_file": self.fresh_file, "hot": list(self.hot),
                    "expired": self.expired, "revoked": list(self.revoked),
                    "revoke_jtis": self.revoke_jtis, "opaque": list(self.opaque),
                    "opaque_revoked": list(self.opaque_revoked)}
            # Under the lock: the feed thread and the fault schedule both write, and two writers
            # of one temporary file lose a rename (seen in a 30-minute run: the feed thread died).
            tmp = self.dir / "feed.json.tmp"
            tmp.write_text(json.dumps(data))
            tmp.rename(self.dir / "feed.json")

    def clear_opaque(self) -> None:
        """The provider forgets its opaque tokens when it restarts."""
        with self.lock:
            self.opaque.clear()
            self.opaque_pending.clear()
            self.opaque_to_revoke.clear()
        self.write()

    def run(self) -> None:
        """New provider tokens (a JWT every 0.5 s, an opaque token every 1 s), a revocation of
        each kind every 10 s / 15 s."""
        tick = 0
        last_jwt_revocation = last_opaque_revocation = time.time()
        while not self.stop.wait(0.5):
            tick += 1
            now = time.time()
            token = self.provider.token(JWT_AUD)
            if token is None:
                self.token_failures += 1
            else:
                with self.lock:
                    self.hot.append(token)
            if tick % 2 == 0:
                token = self.provider.token(OPAQUE_AUD)
                if token is not None:
                    with self.lock:
                        self.opaque.append(token)
            # JWT revocation in two steps: out of `hot` first, so that no instance meets it as
            # a hot token after another instance's revocation reached it through Redis.
            if now - last_jwt_revocation >= 10 and len(self.hot) >= HOT // 2:
                last_jwt_revocation = now
                with self.lock:
                    victim = self.hot.popleft()
                    self.to_revoke.append((now + 3, victim))
            with self.lock:
                due = [t for when, t in self.to_revoke if when <= now]
                self.to_revoke = [(w, t) for w, t in self.to_revoke if w > now]
                for t in due:
                    self.revoke_jtis.append(b64json(t.split(".")[1])["jti"])
                    self.revoked.append(t)
            # Opaque revocation at the provider, in steps too: out of `opaque` first, revoked
            # 3 s later (every instance has reloaded the feed by then), and into
            # `opaque_revoked` once every cached answer (local and in Redis,
            # INTROSPECTION_TTL) has expired.
            if now - last_opaque_revocation >= 15 and len(self.opaque) >= 5:
                last_opaque_revocation = now
                with self.lock:
                    self.opaque_to_revoke.append((now + 3, self.opaque.popleft()))
            with self.lock:
                due = [t for when, t in self.opaque_to_revoke if when <= now]
                self.opaque_to_revoke = [(w, t) for w, t in self.opaque_to_revoke if w > now]
            for victim in due:
                if self.provider.revoke(victim):
                    with self.lock:
                        self.opaque_pending.append((now + 2 * INTROSPECTION_TTL + 5, victim))
            with self.lock:
                ready = [t for when, t in self.opaque_pending if when <= now]
                self.opaque_pending = [(w, t) for w, t in self.opaque_pending if w > now]
                self.opaque_revoked.extend(ready)
            self.write()


# ---- instances -------------------------------------------------------------------------------


def snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


class Instance:
    def __init__(self, face: str, argv: list[str], env: dict[str, str], t0: list[float]) -> None:
        self.face = face
        self.stderr = open(OUT / f"{face}.stderr", "wb")
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True, bufsize=1)
        assert self.proc.stdout
        hello = self.proc.stdout.readline()
        if not hello:
            raise RuntimeError(f"the {face} instance did not start (see target/soak/{face}.stderr)")
        self.pid = json.loads(hello)["pid"]
        self.t0 = t0
        self.latest: dict[str, Any] | None = None
        self.final: dict[str, Any] | None = None
        self.prev: dict[tuple[str, str], int] = {}
        self.last: tuple[float, int] | None = None
        self.rate = 0.0  # validations per second between the last two reports
        self.events: list[tuple[float, str, str, int]] = []  # (t, category, kind, delta)
        self.lock = threading.Lock()
        threading.Thread(target=self.read, daemon=True).start()

    def read(self) -> None:
        assert self.proc.stdout
        for line in self.proc.stdout:
            msg = json.loads(line)
            t = time.monotonic() - self.t0[0]
            msg["stats"] = {snake(k): v for k, v in msg["stats"].items()}
            done = msg["stats"]["validations_ok"] + msg["stats"]["validations_failed"]
            with self.lock:
                if self.last is not None:
                    self.rate = (done - self.last[1]) / max(1e-3, t - self.last[0])
                self.last = (t, done)
                for category, by_kind in msg["outcomes"].items():
                    for kind, n in by_kind.items():
                        d = n - self.prev.get((category, kind), 0)
                        if d:
                            self.events.append((t, category, kind, d))
                            self.prev[(category, kind)] = n
                self.latest = msg
                if msg.get("final"):
                    self.final = msg

    def proc_sample(self) -> dict[str, Any] | None:
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
            rss = int(next(l for l in status.splitlines() if l.startswith("VmRSS:")).split()[1])
            threads = len(os.listdir(f"/proc/{self.pid}/task"))
            fds = len(os.listdir(f"/proc/{self.pid}/fd"))
        except (OSError, StopIteration):
            return None
        return {"rss_kib": rss, "threads": threads, "fds": fds}

    def stop(self) -> int | None:
        assert self.proc.stdin
        self.proc.stdin.close()
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


# ---- the run ---------------------------------------------------------------------------------


class Windows:
    """Fault windows: times (seconds since t0) during which more kinds are explained."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, name: str, start: float, end: float, extra: dict[str, set[str]]) -> None:
        self.items.append({"name": name, "start": start, "end": end, "extra": extra})

    def explain(self, t: float, category: str, kind: str) -> str | None:
        for w in self.items:
            if w["start"] <= t <= w["end"] and kind in w["extra"].get(category, set()):
                return w["name"]
        return None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", "600")))
    ap.add_argument("--faces", default="python,node,go")
    ap.add_argument("--go-instance", default=str(OUT / "go-instance"))
    ap.add_argument("--plot-lib", default=str(ROOT / "target" / "soak-plot"))
    ap.add_argument("--results", default=str(HERE / "RESULTS.md"))
    ap.add_argument("--command", default="make soak")
    args = ap.parse_args()
    T = args.seconds
    faces = args.faces.split(",")
    if OUT.exists():
        for p in OUT.iterdir():
            if p.name != "go-instance":
                shutil.rmtree(p) if p.is_dir() else p.unlink()
    OUT.mkdir(parents=True, exist_ok=True)
    started_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_start = os.getloadavg()

    # Copies of the faces: a rebuild by someone else during the run must not swap the library.
    faces_dir = OUT / "faces"
    shutil.copytree(ROOT / "bindings-python" / "python" / "jwtgate", faces_dir / "python" / "jwtgate")
    (faces_dir / "node").mkdir(parents=True)
    for p in [ROOT / "bindings-node" / "package.json", ROOT / "bindings-node" / "index.js",
              *(ROOT / "bindings-node").glob("jwtgate.*.node")]:
        shutil.copy2(p, faces_dir / "node")

    redis = Redis(OUT)
    redis.start()
    provider = Provider(OUT)
    provider.start(rotate=False)
    proxy = IntrospectionProxy(provider)
    feed = Feed(OUT / "feed", provider, T)
    log(f"provider {provider.issuer}, redis {redis.port}, introspection proxy {proxy.url}")
    kid = feed.mint_pools()
    for _ in range(HOT):
        t = provider.token(JWT_AUD)
        if t:
            feed.hot.append(t)
    for _ in range(10):
        t = provider.token(OPAQUE_AUD)
        if t:
            feed.opaque.append(t)
    feed.write()
    log(f"pools minted with {kid}")

    config = {
        "issuer": provider.issuer, "audience": [JWT_AUD, OPAQUE_AUD], "token_type": "at+jwt",
        "client_id": RS_CLIENT[0], "client_secret": RS_CLIENT[1],
        "introspection_endpoint": proxy.url, "introspection_cache_ttl": INTROSPECTION_TTL,
        "cache_max_entries": CACHE_MAX_ENTRIES, "jwks_refresh_cooldown": COOLDOWN,
        "breaker_cooldown": COOLDOWN, "fetch_timeout": 1.0, "fetch_deadline": FETCH_DEADLINE,
        "redis_url": f"redis://127.0.0.1:{redis.port}", "fleet_secret": FLEET_SECRET,
    }
    t0 = [time.monotonic()]
    env = dict(os.environ)
    instances: dict[str, Instance] = {}
    feed_dir = str(OUT / "feed")
    for face in faces:
        cfg = json.dumps({**config, "soak_name": face})
        if face == "python":
            argv = [sys.executable, str(HERE / "instance.py"), cfg, feed_dir]
            e = {**env, "PYTHONPATH": str(faces_dir / "python")}
        elif face == "node":
            argv = ["node", str(HERE / "instance.mjs"), cfg, feed_dir]
            e = {**env, "JWTGATE_NODE": str(faces_dir / "node" / "index.js")}
        elif face == "go":
            argv = [args.go_instance, cfg, feed_dir]
            e = env
        else:
            raise SystemExit(f"unknown face {face}")
        instances[face] = Instance(face, argv, e, t0)
        log(f"{face} instance pid {instances[face].pid}")
    feeder = threading.Thread(target=feed.run, daemon=True)
    feeder.start()

    windows = Windows()
    fault_s = max(5.0, min(30.0, 0.05 * T))
    jwt_fault = {c: {"key_not_found", "jwks_unavailable"} for c in JWT_CATEGORIES}
    opaque_fault = {"opaque": {"provider_unavailable", "inactive"},
                    "opaque_garbage": {"provider_unavailable"},
                    "opaque_revoked": {"provider_unavailable"}}
    schedule = [(0.20, "restart"), (0.35, "hang"), (0.55, "redis"), (0.70, "hang"), (0.85, "restart")]
    pending_until: list[tuple[float, str, Any]] = []
    samples: list[dict[str, Any]] = []
    crashed: dict[str, str] = {}
    restarts = 0
    t0[0] = time.monotonic()
    log(f"soak: {T:.0f} s, faces {', '.join(faces)}")
    next_sample = 1.0
    while True:
        now = time.monotonic() - t0[0]
        if now >= T:
            break
        # faults
        while schedule and now >= schedule[0][0] * T:
            _, what = schedule.pop(0)
            start = time.monotonic() - t0[0]
            if what == "restart":
                restarts += 1

                def restart(n: int = restarts, start: float = start) -> None:
                    # In a thread: the sampling goes on while the provider is down.
                    feed.clear_opaque()
                    provider.stop()
                    provider.start(rotate=True)
                    ready = time.monotonic() - t0[0]
                    log(f"provider restarted with a rotated key ({ready - start:.1f} s down)")
                    windows.add(f"provider restart {n}", start,
                                ready + 2 * COOLDOWN + INTROSPECTION_TTL + 10, {**jwt_fault, **opaque_fault})
                    kid = feed.mint_pools()
                    t = time.monotonic() - t0[0]
                    log(f"fresh and expired pools now signed with {kid}")
                    windows.add(f"new key in the pools {n}", t, t + 2 * COOLDOWN + 10, jwt_fault)

                threading.Thread(target=restart, daemon=True).start()
            elif what == "hang":
                proxy.hang_until = time.time() + fault_s
                log(f"introspection hangs for {fault_s:.0f} s")
                windows.add("introspection hang", start,
                            start + fault_s + COOLDOWN + FETCH_DEADLINE + 10,
                            {c: {"provider_unavailable"} for c in OPAQUE_CATEGORIES})
            elif what == "redis":
                redis.kill()
                log(f"redis killed for {fault_s:.0f} s")
                windows.add("redis down", start, start + fault_s, {})
                pending_until.append((start + fault_s, "redis_start", None))
        for item in list(pending_until):
            if now >= item[0]:
                pending_until.remove(item)
                redis.start()
                log("redis restarted (empty)")
        # samples
        if now >= next_sample:
            next_sample += 1.0
            for face, inst in instances.items():
                if inst.proc.poll() is not None and face not in crashed:
                    crashed[face] = f"exited with {inst.proc.returncode} at {now:.0f} s"
                    log(f"{face} instance DIED: {crashed[face]}")
                p = inst.proc_sample()
                latest = inst.latest
                if p is None or latest is None:
                    continue
                st = latest["stats"]
                samples.append({"t": round(now, 2), "face": face, **p,
                                "validations": st["validations_ok"] + st["validations_failed"],
                                "rate": round(inst.rate, 1),
                                "failed": st["validations_failed"],
                                "cache_entries": st["cache_entries"],
                                "failures_by_kind": json.dumps(st["failures_by_kind"], sort_keys=True)})
        time.sleep(0.05)

    log("stopping the instances")
    feeder_alive = feeder.is_alive()
    feed.stop.set()
    codes = {face: inst.stop() for face, inst in instances.items()}
    time.sleep(0.5)
    provider.stop()
    redis.kill()
    proxy.server.shutdown()

    result = analyse(T, faces, instances, samples, windows, codes, crashed)
    result["checks"].append({"ok": feeder_alive,
                             "what": "the token feed ran to the end (new tokens, revocations)"})
    result.update({"started_at": started_at, "seconds": T, "fault_seconds": fault_s,
                   "windows": [{k: w[k] for k in ("name", "start", "end")} for w in windows.items],
                   "proxy": {"held": proxy.held, "forwarded": proxy.forwarded, "failed": proxy.failed},
                   "token_failures": feed.token_failures, "command": args.command,
                   "load": [round(load_start[1], 1), round(os.getloadavg()[1], 1)]})
    (OUT / "result.json").write_text(json.dumps(result, indent=2))
    with open(OUT / "samples.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(samples[0].keys()))
        w.writeheader()
        w.writerows(samples)
    png = HERE / "soak.png"
    plot(samples, faces, result["windows"], png, args.plot_lib, T)
    write_results(Path(args.results), result, faces)
    for c in result["checks"]:
        print(("  ok    " if c["ok"] else "  FAIL  ") + c["what"], flush=True)
    failed = [c for c in result["checks"] if not c["ok"]]
    print(f"soak: {len(failed)} check(s) failed" if failed else "soak: every check passed", flush=True)
    return 1 if failed else 0


# ---- analysis --------------------------------------------------------------------------------


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def analyse(T: float, faces: list[str], instances: dict[str, Instance], samples: list[dict[str, Any]],
            windows: Windows, codes: dict[str, int | None], crashed: dict[str, str]) -> dict[str, Any]:
    checks: list[dict[str, Any]] = []

    def check(ok: bool, what: str) -> None:
        checks.append({"ok": bool(ok), "what": what})

    rows: dict[str, Any] = {}
    for face in faces:
        s = [x for x in samples if x["face"] == face]
        inst = instances[face]
        half = [x for x in s if x["t"] >= T / 2]
        first = [x for x in s if 0.1 * T <= x["t"] < T / 2]
        last_q = [x for x in s if x["t"] >= 0.75 * T]
        win = min(30.0, T / 10)
        rss_mid = median([x["rss_kib"] for x in half if x["t"] < T / 2 + win]) / 1024
        rss_end = median([x["rss_kib"] for x in s if x["t"] >= T - win]) / 1024
        growth = rss_end - rss_mid
        # least-squares slope over the second half, MiB per hour (for the record)
        if len(half) > 2:
            ts = [x["t"] for x in half]
            rs = [x["rss_kib"] / 1024 for x in half]
            mt, mr = sum(ts) / len(ts), sum(rs) / len(rs)
            slope = sum((a - mt) * (b - mr) for a, b in zip(ts, rs)) / max(1e-9, sum((a - mt) ** 2 for a in ts)) * 3600
        else:
            slope = float("nan")
        rates = [x["rate"] for x in s[1:]]
        v_half = (half[-1]["validations"] - half[0]["validations"]) if len(half) > 1 else 0
        # cache full: the first sample where cache_entries reached the bound (rounded to 64)
        bound = -(-CACHE_MAX_ENTRIES // 64) * 64
        full_at = next((x["t"] for x in s if x["cache_entries"] >= bound * 0.95), None)
        thr_first = max((x["threads"] for x in first), default=0)
        thr_last = max((x["threads"] for x in last_q), default=0)
        fd_first = max((x["fds"] for x in first), default=0)
        fd_last = max((x["fds"] for x in last_q), default=0)
        thr_first_med = median([x["threads"] for x in first])
        thr_last_med = median([x["threads"] for x in last_q])
        fd_first_med = median([x["fds"] for x in first])
        fd_last_med = median([x["fds"] for x in last_q])
        # How long tokens of the rotated key were refused (key_not_found on hot tokens) after
        # each restart: the forged-kid traffic spends the refresh an unknown kid may cause.
        rotation_delays = []
        for w in windows.items:
            if w["name"].startswith("provider restart"):
                ts = [t for t, c, k, _ in inst.events if c == "hot" and k == "key_not_found"
                      and w["start"] <= t <= w["end"]]
                rotation_delays.append(round(max(ts) - min(ts) + 1, 1) if ts else 0.0)
        # error kinds: every delta a category answered, explained or not
        kinds: dict[str, dict[str, Any]] = {}
        unexplained: dict[str, int] = {}
        outcomes: dict[str, dict[str, int]] = {}
        for t, category, kind, d in inst.events:
            outcomes.setdefault(category, {})
            outcomes[category][kind] = outcomes[category].get(kind, 0) + d
            if kind in EXPECTED.get(category, set()):
                why = "traffic"
            else:
                why = windows.explain(t, category, kind) or "UNEXPLAINED"
            key = f"{category}: {kind}"
            k = kinds.setdefault(key, {"n": 0, "why": {}})
            k["n"] += d
            k["why"][why] = k["why"].get(why, 0) + d
            if why == "UNEXPLAINED":
                unexplained[key] = unexplained.get(key, 0) + d
        final = inst.final["stats"] if inst.final else None
        own_failures: dict[str, int] = {}
        own_total = 0
        for category, by_kind in (inst.final or {}).get("outcomes", {}).items():
            for kind, n in by_kind.items():
                own_total += n
                if kind != "ok":
                    own_failures[kind] = own_failures.get(kind, 0) + n
        stats_total = (final["validations_ok"] + final["validations_failed"]) if final else -1
        stats_failures = {k: v for k, v in (final or {}).get("failures_by_kind", {}).items() if v}
        panics = "panicked" in (OUT / f"{face}.stderr").read_text(errors="replace")
        rows[face] = {
            "samples": len(s), "validations": s[-1]["validations"] if s else 0,
            "rate_median": median(rates), "rate_p5": sorted(rates)[len(rates) // 20] if rates else 0,
            "rss_start": s[0]["rss_kib"] / 1024 if s else 0, "rss_mid": rss_mid, "rss_end": rss_end,
            "rss_max": max(x["rss_kib"] for x in s) / 1024 if s else 0,
            "rss_growth": growth, "rss_slope_mib_h": slope,
            "bytes_per_validation_half": growth * 1048576 / v_half if v_half else float("nan"),
            "cache_full_at": full_at,
            "threads_first_half_max": thr_first, "threads_last_quarter_max": thr_last,
            "threads_first_half_median": thr_first_med, "threads_last_quarter_median": thr_last_med,
            "fds_first_half_median": fd_first_med, "fds_last_quarter_median": fd_last_med,
            "rotation_delays": rotation_delays,
            "threads_end": s[-1]["threads"] if s else 0,
            "fds_first_half_max": fd_first, "fds_last_quarter_max": fd_last, "fds_end": s[-1]["fds"] if s else 0,
            "kinds": kinds, "outcomes": outcomes, "unexplained": unexplained,
            "exit_code": codes.get(face), "stats_total": stats_total, "own_total": own_total,
            "stats_failures": stats_failures, "own_failures": own_failures,
            "final_stats": final,
        }
        check(face not in crashed and codes.get(face) == 0 and not panics,
              f"{face}: no crash (ran {T:.0f} s, exit code {codes.get(face)} on stdin closed, no panic in stderr)"
              + (f" [{crashed[face]}]" if face in crashed else ""))
        check(full_at is not None and full_at < T / 2,
              f"{face}: the result cache was full ({bound} entries) before the second half"
              f" (at {full_at if full_at is None else round(full_at)} s)")
        check(growth <= RSS_GROWTH_LIMIT_MIB,
              f"{face}: RSS flat on the second half: {rss_mid:.1f} -> {rss_end:.1f} MiB"
              f" ({growth:+.1f} MiB, limit {RSS_GROWTH_LIMIT_MIB:.0f})")
        check(thr_last_med <= thr_first_med + LEVEL_SLACK and thr_last <= thr_first + PEAK_SLACK,
              f"{face}: no thread growth (last quarter median {thr_last_med:g} / max {thr_last};"
              f" first half {thr_first_med:g} / {thr_first})")
        check(fd_last_med <= fd_first_med + LEVEL_SLACK and fd_last <= fd_first + PEAK_SLACK,
              f"{face}: no fd growth (last quarter median {fd_last_med:g} / max {fd_last};"
              f" first half {fd_first_med:g} / {fd_first})")
        check(not unexplained, f"{face}: every error kind explained by the traffic or a fault"
              + (f" (unexplained: {unexplained})" if unexplained else ""))
        check(stats_total == own_total and stats_failures == own_failures,
              f"{face}: stats() agrees with the instance's own counts ({stats_total} validations)")
    return {"faces": rows, "checks": checks}


# ---- plot and RESULTS.md ---------------------------------------------------------------------


def plot(samples: list[dict[str, Any]], faces: list[str], windows: list[dict[str, Any]], png: Path,
         lib: str, T: float) -> None:
    sys.path.insert(0, lib)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 1, figsize=(11, 12), sharex=True)
    panels = [("rss_kib", "RSS (MiB)", 1 / 1024), ("threads", "threads", 1), ("fds", "open fds", 1),
              ("rate", "validations / s", 1)]
    colors = {"python": "tab:blue", "node": "tab:green", "go": "tab:orange"}
    for face in faces:
        s = [x for x in samples if x["face"] == face]
        ts = [x["t"] for x in s]
        for ax, (key, label, scale) in zip(axes, panels):
            ys = [x[key] * scale for x in s]
            ax.plot(ts, ys, label=face, color=colors.get(face), linewidth=0.9)
            ax.set_ylabel(label)
    shades = {"provider": "tab:red", "introspection": "tab:purple", "new key": "tab:gray"}
    for ax in axes:
        for w in windows:
            color = next((c for k, c in shades.items() if w["name"].startswith(k)), "tab:gray")
            ax.axvspan(w["start"], w["end"], color=color, alpha=0.08)
        ax.grid(alpha=0.3)
    redis = [w for w in windows if w["name"].startswith("redis")]
    for ax in axes:
        for w in redis:
            ax.axvspan(w["start"], w["end"], color="tab:brown", alpha=0.15)
    axes[0].legend(loc="upper left")
    axes[0].set_ylim(bottom=0)
    axes[-1].set_xlim(0, T)
    axes[-1].set_xlabel("seconds (shaded: fault windows; red provider restart, purple introspection "
                        "hang, brown Redis down, grey new key in the pools)")
    fig.tight_layout()
    fig.savefig(png, dpi=90)


NOTES_MARK = "<!-- notes below this line are kept when the soak rewrites this file -->"


def write_results(path: Path, r: dict[str, Any], faces: list[str]) -> None:
    old_notes = ""
    if path.exists() and NOTES_MARK in path.read_text():
        old_notes = path.read_text().split(NOTES_MARK, 1)[1].strip()
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    mem = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    go = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
    redis = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2]
    F = r["faces"]
    L = []
    L.append("# Soak: every face at full speed under mixed traffic and faults")
    L.append("")
    L.append("Written by `benches/soak/run.py` (`make soak`; how it works: [README.md](README.md)).")
    L.append("")
    L.append(f"- **Command**: `{r['command']}` — {r['seconds']:.0f} s, started {r['started_at']}")
    L.append(f"- **Machine**: {cpu}, {os.cpu_count()} cores (shared with other sessions), "
             f"{mem / 1048576:.0f} GiB; {platform.system()} {platform.release()}; load average (5 min) "
             f"{r['load'][0]} at the start, {r['load'][1]} at the end (other sessions' builds, tests and "
             "fuzzing: the rates below are shared-machine rates)")
    L.append(f"- **Builds**: **debug** faces (`make -C bindings-python build`, `make -C bindings-node build`, "
             f"`make -C bindings-ffi lib`), copied to target/soak before the run; commit {rev}"
             + (" with uncommitted changes of other sessions in the tree" if dirty else ""))
    L.append(f"- **Versions**: Python {platform.python_version()}, Node {node}, {go.replace('go version ', '')}, "
             f"redis-server {redis.replace('v=', '')}, oidc-provider (tests/provider)")
    L.append(f"- **Faces**: {', '.join(faces)}, one process each, all in fleet mode on one Redis. The Go "
             "instance calls the C ABI (libjwtgate_ffi.a through cgo): it stands for the C face.")
    L.append(f"- **Configuration**: `cache_max_entries` {CACHE_MAX_ENTRIES}, `introspection_cache_ttl` "
             f"{INTROSPECTION_TTL:g}, `jwks_refresh_cooldown` and `breaker_cooldown` {COOLDOWN:g}, "
             f"`fetch_timeout` 1, `fetch_deadline` {FETCH_DEADLINE:g}, `token_type` at+jwt, Redis + `fleet_secret`")
    L.append("")
    L.append("## Faults")
    L.append("")
    L.append("| window | from (s) | to (s) |")
    L.append("|---|---:|---:|")
    for w in r["windows"]:
        L.append(f"| {w['name']} | {w['start']:.0f} | {w['end']:.0f} |")
    L.append("")
    L.append(f"A window runs from the fault to the time its effects may last (the fault, then "
             f"cooldowns, retries and caches: {COOLDOWN:g} s cooldowns, {INTROSPECTION_TTL:g} s introspection "
             f"cache, 10 s slack); only there may the kinds the fault causes appear. Redis down has "
             f"no window: it must cause no failure at all. Hang length {r['fault_seconds']:.0f} s; "
             f"the proxy held {r['proxy']['held']} requests, forwarded {r['proxy']['forwarded']}, "
             f"failed {r['proxy']['failed']} (provider down).")
    L.append("")
    L.append("## Per face")
    L.append("")
    L.append("| | " + " | ".join(faces) + " |")
    L.append("|---|" + "---:|" * len(faces))

    def row(label: str, fmt: Any) -> None:
        L.append(f"| {label} | " + " | ".join(fmt(F[f]) for f in faces) + " |")

    row("validations", lambda x: f"{x['validations']:,}")
    row("validations/s, median (p5) of 1 s samples", lambda x: f"{x['rate_median']:,.0f} ({x['rate_p5']:,.0f})")
    row("result cache full at", lambda x: f"{x['cache_full_at']:.0f} s" if x["cache_full_at"] is not None else "never")
    row("RSS at start / max, MiB", lambda x: f"{x['rss_start']:.1f} / {x['rss_max']:.1f}")
    row("RSS second half: first 30 s → last 30 s (medians), MiB", lambda x: f"{x['rss_mid']:.1f} → {x['rss_end']:.1f}")
    row("RSS growth over the second half", lambda x: f"{x['rss_growth']:+.1f} MiB")
    row("least-squares RSS slope, second half", lambda x: f"{x['rss_slope_mib_h']:+.1f} MiB/h")
    row("growth per validation, second half", lambda x: f"{x['bytes_per_validation_half']:+.3f} B")
    row("threads, median / max: first half → last quarter", lambda x: f"{x['threads_first_half_median']:g} / {x['threads_first_half_max']} → {x['threads_last_quarter_median']:g} / {x['threads_last_quarter_max']}")
    row("fds, median / max: first half → last quarter", lambda x: f"{x['fds_first_half_median']:g} / {x['fds_first_half_max']} → {x['fds_last_quarter_median']:g} / {x['fds_last_quarter_max']}")
    row("rotated key refused (hot `key_not_found`) after each restart", lambda x: ", ".join(f"{d:g} s" for d in x["rotation_delays"]))
    row("exit code on stdin closed", lambda x: str(x["exit_code"]))
    L.append("")
    L.append("![RSS, threads, fds and validations per second per face](soak.png)")
    L.append("")
    L.append("## Outcomes by traffic category")
    L.append("")
    L.append("Each instance's own count of what `validate` answered, per category; "
             "*why* says what explains each kind that is not the category's expected answer.")
    L.append("")
    L.append("| face | category: kind | count | why |")
    L.append("|---|---|---:|---|")
    for f in faces:
        for key in sorted(F[f]["kinds"]):
            k = F[f]["kinds"][key]
            why = ", ".join(f"{w} {n:,}" if len(k["why"]) > 1 else w for w, n in sorted(k["why"].items()))
            L.append(f"| {f} | {key} | {k['n']:,} | {why} |")
    L.append("")
    L.append("## Checks")
    L.append("")
    for c in r["checks"]:
        L.append(f"- {'**FAIL**' if not c['ok'] else 'ok'}: {c['what']}")
    L.append("")
    L.append(NOTES_MARK)
    L.append("")
    if old_notes:
        L.append(old_notes)
        L.append("")
    path.write_text("\n".join(L))


if __name__ == "__main__":
    sys.exit(main())
