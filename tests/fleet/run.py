"""Fleet mode across processes and faces (issue #10): Python and Node instances share one
Redis (and then a 3-master Redis Cluster) and one counting provider.

What must hold, each checked below:
- an opaque token seen by both faces costs one provider call; a rotated key set is fetched
  once for both;
- `revoke` in one process is refused by the other (time measured);
- Redis killed mid-run and restarted: no request fails because of it, and a revocation made
  while it was down reaches the other instance once it is back;
- a value tampered in Redis (an introspection answer, a revocation deleted) is never trusted;
- Redis Cluster: keys spread over the masters; a master killed and the fleet keeps answering.

Run by `make test-fleet` (part of `make test`) with the Python venv's interpreter (PyJWT mints
the tokens). redis-server comes from `make redis-deps`; every server is started on a free
loopback port and stopped by PID.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, Callable

import jwt  # PyJWT, from the venv
from cryptography.hazmat.primitives import serialization

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
KEYS = ROOT / "tests" / "keys"
ISSUER = "https://issuer.fleet.test"
AUDIENCE = "https://api.fleet.test"
SECRET = "fleet-secret-shared-by-every-instance-0123456789"

failures: list[str] = []


def check(cond: bool, what: str) -> None:
    print(("  ok    " if cond else "  FAIL  ") + what, flush=True)
    if not cond:
        failures.append(what)


# ---- the provider: JWKS (rotatable) and introspection, counting calls ----------------------


def private_key(name: str) -> Any:
    return serialization.load_pem_private_key((KEYS / name).read_bytes(), password=None)


def public_jwk(key: Any, kid: str, alg: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(key.public_key()))
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    return jwk


KEY_A = private_key("rsa-a.pem")
KEY_B = private_key("ec-p256.pem")


class Provider:
    def __init__(self) -> None:
        self.jwks = {"keys": [public_jwk(KEY_A, "key-a", "RS256")]}
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def reply(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def count(self) -> None:
                with provider.lock:
                    provider.hits[self.path] = provider.hits.get(self.path, 0) + 1

            def do_GET(self) -> None:
                self.count()
                self.reply(provider.jwks)

            def do_POST(self) -> None:
                self.count()
                length = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                token = form.get("token", [""])[0]
                now = int(time.time())
                self.reply({
                    "active": True, "iss": ISSUER, "aud": AUDIENCE, "token_type": "Bearer",
                    "sub": "svc-" + token[-6:], "iat": now, "exp": now + 600,
                })

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def count(self, path: str) -> int:
        with self.lock:
            return self.hits.get(path, 0)


def jwt_for(key: Any, kid: str, alg: str, jti: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-" + jti, "jti": jti,
              "iat": now, "exp": now + 600}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


# ---- Redis: servers on free ports, and a minimal RESP client for tampering ------------------


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 55000:
            return port


class Redis:
    def __init__(self, directory: Path, cluster: bool = False) -> None:
        self.port = free_port()
        self.dir = directory / str(self.port)
        self.dir.mkdir(parents=True)
        self.cluster = cluster
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.dir)]
        if self.cluster:
            args += ["--cluster-enabled", "yes", "--cluster-node-timeout", "2000",
                     "--cluster-config-file", f"nodes-{self.port}.conf",
                     "--cluster-require-full-coverage", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                if self.command("PING") == b"PONG":
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server on {self.port} did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def command(self, *args: str | bytes) -> Any:
        """One RESP command (enough for GET/SET/KEYS/HDEL/HEXISTS in the tamper checks)."""
        out = b"*%d\r\n" % len(args)
        for a in args:
            b = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(b), b)
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(out)
            f = s.makefile("rb")
            return read_resp(f)


def read_resp(f: Any) -> Any:
    line = f.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:]
    if kind in (b"+",):
        return rest
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        return [read_resp(f) for _ in range(int(rest))]
    raise RuntimeError(f"unexpected RESP {line!r}")


# ---- instances ----------------------------------------------------------------------------


def snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


class Instance:
    def __init__(self, face: str, config: dict[str, Any]) -> None:
        self.face = face
        if face == "python":
            argv = [sys.executable, str(HERE / "instance.py"), json.dumps(config)]
        else:
            argv = ["node", str(HERE / "instance.mjs"), json.dumps(config)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        hello = self.proc.stdout.readline() if self.proc.stdout else ""
        if not hello:
            raise RuntimeError(f"the {face} instance did not start")

    def ask(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.face} instance died")
        return json.loads(line)

    def validate(self, token: str) -> dict[str, Any]:
        return self.ask(op="validate", token=token)

    def stats(self) -> dict[str, Any]:
        return {snake(k): v for k, v in self.ask(op="stats")["stats"].items()}

    def health(self) -> dict[str, Any]:
        return self.ask(op="health")["health"]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def config(provider: Provider, redis: dict[str, Any]) -> dict[str, Any]:
    return {
        "issuer": ISSUER, "audience": AUDIENCE, "jwks_uri": provider.url + "/jwks",
        "introspection_endpoint": provider.url + "/introspect", "client_id": "api",
        "client_secret": "api-secret", "fetch_timeout": 2, "fetch_deadline": 3,
        "fleet_secret": SECRET, "redis_timeout": 0.5, **redis,
    }


def wait_until(cond: Callable[[], bool], seconds: float) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


# ---- the scenes ---------------------------------------------------------------------------


def single_node(tmp: Path) -> None:
    print("fleet on one Redis: Python and Node instances", flush=True)
    redis = Redis(tmp)
    provider = Provider()
    cfg = config(provider, {"redis_url": redis.url})
    py, node = Instance("python", cfg), Instance("node", cfg)
    try:
        check(provider.count("/jwks") == 1, "the key set was fetched once for both instances")

        token = "opaque-token-seen-by-both-000001"
        a, b = py.validate(token), node.validate(token)
        check(a.get("ok") and b.get("ok") and a["sub"] == b["sub"] == "svc-000001",
              f"both faces accept the opaque token ({a}, {b})")
        check(provider.count("/introspect") == 1,
              f"one introspection for the fleet (provider saw {provider.count('/introspect')})")
        check(node.stats()["redis_l2_hits"] >= 1, "the Node instance answered from Redis")

        provider.jwks = {"keys": provider.jwks["keys"] + [public_jwk(KEY_B, "key-b", "ES256")]}
        rotated = jwt_for(KEY_B, "key-b", "ES256", "rotated-1")
        check(node.validate(rotated).get("ok", False), "the Node instance accepts a token of the rotated key")
        check(py.validate(rotated).get("ok", False), "the Python instance accepts it too")
        check(provider.count("/jwks") == 2, f"the rotated set was fetched once (JWKS fetches: {provider.count('/jwks')})")

        revoked = jwt_for(KEY_A, "key-a", "RS256", "revoke-me-1")
        check(py.validate(revoked)["ok"] and node.validate(revoked)["ok"], "both accept the token before its revocation")
        py.ask(op="revoke", jti="revoke-me-1")
        seen = node.ask(op="poll_revoked", token=revoked, seconds=2)
        check(seen.get("ok", False), f"revoked in Python, refused by Node after {seen.get('after', 0) * 1000:.2f} ms")

        # Tampering: rewrite the shared answer's subject; a new instance must not trust it.
        forged_token = "opaque-token-to-be-forged-000002"
        py.validate(forged_token)
        keys = [k for k in redis.command("KEYS", "jwtgate:introspection:*")]
        target = None
        for k in keys:
            value = redis.command("GET", k)
            if value and b"svc-000002" in value:
                target = (k, value)
        check(target is not None, "the answer is in Redis under a keyed name")
        if target:
            check(forged_token.encode() not in target[0] + target[1], "the token itself is not in Redis")
            redis.command("SET", target[0], target[1].replace(b"svc-000002", b"svc-admin0"))
        fresh = Instance("node", cfg)
        before = provider.count("/introspect")
        answer = fresh.validate(forged_token)
        check(answer.get("sub") == "svc-000002", f"the forged answer is not used ({answer})")
        check(provider.count("/introspect") == before + 1, "the forgery was a miss: the provider was asked")
        check(fresh.stats()["redis_tampered"] >= 1, "and it was counted as redis_tampered")

        # A revocation deleted from Redis is written back by the instances that know it.
        redis.command("HDEL", "jwtgate:revocations", "jti:revoke-me-1")
        check(wait_until(lambda: redis.command("HEXISTS", "jwtgate:revocations", "jti:revoke-me-1") == 1, 8),
              "a revocation deleted from Redis was written back")
        late = Instance("python", cfg)
        check(late.validate(revoked).get("kind") == "revoked", "an instance started later refuses the revoked token")
        fresh.close()
        late.close()

        # Redis down: nothing fails; a revocation made meanwhile reaches the other instance.
        outage = jwt_for(KEY_A, "key-a", "RS256", "revoked-during-outage")
        check(py.validate(outage)["ok"], "the Python instance accepts the token before the outage")
        redis.kill()
        ok = True
        for i in range(20):
            started = time.time()
            for inst in (py, node):
                ok &= inst.validate(jwt_for(KEY_A, "key-a", "RS256", f"outage-{i}"))["ok"]
                ok &= inst.validate(f"opaque-token-during-outage-{i:06d}")["ok"]
            ok &= time.time() - started < 2
        check(ok, "with Redis down, JWTs and opaque tokens keep validating in both faces")
        node.ask(op="revoke", jti="revoked-during-outage")
        check(node.validate(outage).get("kind") == "revoked", "the revocation applies at once where it was made")
        check(node.health()["fleet"]["connected"] is False, "health says Redis is unreachable")
        redis.start()  # empty: nothing was persisted
        seen = py.ask(op="poll_revoked", token=outage, seconds=15)
        check(seen.get("ok", False), f"after Redis returned, the Python instance refused it ({seen.get('after', 0):.2f} s)")
    finally:
        py.close()
        node.close()
        redis.kill()
        provider.server.shutdown()


def cluster(tmp: Path) -> None:
    print("fleet on a 3-master Redis Cluster", flush=True)
    nodes = [Redis(tmp / "cluster", cluster=True) for _ in range(3)]
    subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{n.port}" for n in nodes],
                    "--cluster-replicas", "0", "--cluster-yes"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    check(wait_until(lambda: all(b"cluster_state:ok" in n.command("CLUSTER", "INFO") for n in nodes), 20),
          "the cluster is up")
    provider = Provider()
    cfg = config(provider, {"redis_cluster_urls": [n.url for n in nodes]})
    py, node = Instance("python", cfg), Instance("node", cfg)
    try:
        for i in range(30):
            py.validate(f"opaque-token-cluster-{i:06d}")
        oks = [node.validate(f"opaque-token-cluster-{i:06d}")["ok"] for i in range(30)]
        check(all(oks) and provider.count("/introspect") == 30,
              f"30 tokens, 30 provider calls for two instances ({provider.count('/introspect')})")
        sizes = [n.command("DBSIZE") for n in nodes]
        check(sum(1 for s in sizes if s > 0) >= 2, f"keys spread over the masters {sizes}")
        nodes[0].kill()
        oks = [inst.validate(f"opaque-token-after-loss-{i:06d}")["ok"] for i in range(20) for inst in (py, node)]
        check(all(oks), "a master killed: both instances keep answering")
        token = jwt_for(KEY_A, "key-a", "RS256", "cluster-revoked")
        node.validate(token)
        py.ask(op="revoke", jti="cluster-revoked")
        seen = node.ask(op="poll_revoked", token=token, seconds=10)
        check(seen.get("ok", False), f"a revocation still crosses the fleet ({seen.get('after', 0) * 1000:.1f} ms)")
    finally:
        py.close()
        node.close()
        for n in nodes:
            n.kill()
        provider.server.shutdown()


def main() -> int:
    for tool in ("redis-server", "redis-cli", "node"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing (make test-fleet installs redis-server)", file=sys.stderr)
            return 2
    tmp = Path(tempfile.mkdtemp(prefix="jwtgate-fleet-"))
    try:
        single_node(tmp)
        cluster(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"tests/fleet: {len(failures)} check(s) failed", flush=True)
        return 1
    print("tests/fleet: every check passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
