#!/usr/bin/env python3
"""`make demo`: jwtgate end to end, on loopback.

Starts the test OpenID provider (tests/provider, oidc-provider), obtains real tokens from it
(a JWT access token, an opaque token, an ID token, an expired token, a revoked token, plus a
forged and a malformed one), starts the FastAPI, Express and Go examples protected by jwtgate,
runs the C example, sends every token to every face, and prints what each accepted or refused
and why (the RFC 6750 answers), with cache hit rates, provider calls and latencies. Then the
fleet scene, when redis-server is there (`make demo` installs it as the tests do): a Python and
a Node instance share one Redis; an opaque token is introspected once for both, and a token
revoked on one is refused by the other, with the time it took. Everything it starts is stopped
by PID at the end. Python standard library only.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
JWT_RESOURCE = "https://api.test/jwt"
OPAQUE_RESOURCE = "https://api.test/opaque"
SHORT_RESOURCE = "https://api.test/short"
ADMIN_SCOPE = "write:items"
API_CLIENT = ("api-client", "api-client-secret-0123456789abcdef")
RS_CLIENT = ("rs-client", "rs-client-secret-0123456789abcdef")
FLEET_SECRET = "demo-fleet-secret-the-same-on-every-instance-0123"

children: list[subprocess.Popen] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, stdout=subprocess.DEVNULL) -> subprocess.Popen:
    p = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=stdout, stderr=subprocess.DEVNULL)
    children.append(p)
    return p


def stop_all() -> None:
    for p in reversed(children):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.time() + 5
    for p in children:
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()


def http(method: str, url: str, headers: dict[str, str] | None = None, data: bytes | None = None) -> tuple[int, dict[str, str], bytes, float]:
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            body, status, hdrs = r.read(), r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        body, status, hdrs = e.read(), e.code, dict(e.headers)
    return status, hdrs, body, (time.perf_counter() - started) * 1e3


def wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            http("GET", url)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"demo: {url} did not come up in {seconds:.0f} s")


def origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def basic(client: tuple[str, str]) -> str:
    return "Basic " + b64encode(f"{client[0]}:{client[1]}".encode()).decode()


def token(issuer: str, resource: str, scope: str = "read:items") -> str:
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "resource": resource, "scope": scope}).encode()
    status, _, body, _ = http("POST", f"{issuer}/token", {"Authorization": basic(API_CLIENT), "Content-Type": "application/x-www-form-urlencoded"}, form)
    if status != 200:
        raise SystemExit(f"demo: token endpoint answered {status}: {body[:200]!r}")
    return json.loads(body)["access_token"]


def explain(status: int, headers: dict[str, str]) -> str:
    if status == 200:
        return "200 accepted"
    www = next((v for k, v in headers.items() if k.lower() == "www-authenticate"), "")
    error = re.search(r'error="([^"]+)"', www)
    desc = re.search(r'error_description="([^"]+)"', www)
    parts = [str(status)]
    if error:
        parts.append(error.group(1))
    if desc:
        parts.append(f"({desc.group(1)[:48]})")
    elif status == 401 and www:
        parts.append("(no token)")
    return " ".join(parts)


def metric(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


# ---- the fleet scene ------------------------------------------------------------------------


def counting_proxy(issuer: str) -> tuple[str, dict[str, int]]:
    """A loopback proxy in front of the provider that counts the calls reaching it."""
    counts: dict[str, int] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args) -> None:
            pass

        def forward(self) -> None:
            path = self.path.split("?", 1)[0]
            with lock:
                counts[path] = counts.get(path, 0) + 1
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type", "accept")}
            status, hdrs, data, _ = http(self.command, issuer + self.path, headers, body)
            self.send_response(status)
            for k, v in hdrs.items():
                if k.lower() in ("content-type", "cache-control"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", counts


class FleetInstance:
    """fleet_instance.py or fleet_instance.mjs: one jwtgate instance, driven by JSON lines."""

    def __init__(self, name: str, cmd: list[str], config: dict) -> None:
        self.name = name
        self.proc = subprocess.Popen(cmd + [json.dumps(config)], cwd=ROOT / "examples/demo", stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        children.append(self.proc)

    def send(self, op: str, **args) -> None:
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()

    def read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"demo: the {self.name} fleet instance ended (exit {self.proc.wait()})")
        return json.loads(line)

    def call(self, op: str, **args) -> dict:
        self.send(op, **args)
        return self.read()


def start_redis(work: Path) -> str:
    """redis-server on a free loopback port, nothing persisted (tests/testkit/src/redis.rs)."""
    port = free_port()
    directory = work / "redis"
    directory.mkdir()
    start(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(directory)], directory)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return f"redis://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"demo: redis-server on port {port} did not start")


def jwt_claim(tok: str, name: str) -> str:
    payload = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))[name]


def revoke_across(revoker: FleetInstance, watcher: FleetInstance, tok: str) -> str:
    """revoke() on one instance; the other polls validate_local until it refuses the token."""
    for inst in (revoker, watcher):
        if not inst.call("validate", token=tok)["ok"]:
            raise SystemExit(f"demo: the {inst.name} instance refused a fresh JWT")
    watcher.send("watch", token=tok)
    watcher.read()  # polling from now on
    t0 = revoker.call("revoke", jti=jwt_claim(tok, "jti"))["t0_ns"]
    seen = watcher.read()["seen_ns"]
    if seen is None:
        return f"NOT refused by {watcher.name} within 5 s"
    return f"refused by {watcher.name} (revoked) {(seen - t0) / 1e6:.1f} ms later"


def fleet_scene(issuer: str, config: dict, work: Path) -> None:
    print("\nFleet mode: two instances of different faces share one Redis (docs/fleet.md)\n")
    if shutil.which("redis-server") is None:
        print("  skipped: redis-server is not installed and `make redis-deps` could not install it;")
        print("  everything above ran as it does without Redis.")
        return
    redis_url = start_redis(work)
    proxy, counts = counting_proxy(issuer)
    _, _, body, _ = http("GET", f"{issuer}/.well-known/openid-configuration")
    meta = json.loads(body)
    fleet_config = {
        **config,
        # Through the counting proxy, so the provider's calls can be shown.
        "jwks_uri": meta["jwks_uri"].replace(issuer, proxy),
        "introspection_endpoint": meta["introspection_endpoint"].replace(issuer, proxy),
        "redis_url": redis_url,
        "fleet_secret": FLEET_SECRET,
    }
    jwks_path = urllib.parse.urlsplit(meta["jwks_uri"]).path
    intro_path = urllib.parse.urlsplit(meta["introspection_endpoint"]).path
    # Both start at once, as after a deploy.
    py = FleetInstance("Python", [str(PYTHON), "fleet_instance.py"], fleet_config)
    node = FleetInstance("Node", ["node", "fleet_instance.mjs"], fleet_config)
    for inst in (py, node):
        inst.read()
    subscribed = all(inst.call("stats")["fleet"]["subscribed"] for inst in (py, node))
    print(f"  {'Redis':<20} {redis_url}  (redis-server, stopped by PID at the end)")
    print(f"  {'instances':<20} Python (fleet_instance.py) and Node (fleet_instance.mjs), one process each;"
          f" {'both' if subscribed else 'NOT both'} subscribed to the fleet's revocations")
    fetched = counts.get(jwks_path, 0)
    print(f"  {'key set':<20} fetched from the provider {fetched} time{'' if fetched == 1 else 's'} for both instances"
          " (provider calls counted by a proxy in front of it)")

    opaque = token(issuer, OPAQUE_RESOURCE)
    first = py.call("validate", token=opaque)
    after_first = counts.get(intro_path, 0)
    second = node.call("validate", token=opaque)
    after_second = counts.get(intro_path, 0)
    print(f"  {'opaque token':<20} Python: {'accepted' if first['ok'] else first['kind']}"
          f"  -> provider introspection calls so far: {after_first}")
    print(f"  {'':<20} Node:   {'accepted' if second['ok'] else second['kind']}"
          f"  -> provider introspection calls so far: {after_second}"
          f" ({'the answer came from Redis' if after_second == after_first else 'Node asked the provider too'})")

    print(f"  {'revocation':<20} revoke(jti) on Python: {revoke_across(py, node, token(issuer, JWT_RESOURCE))}")
    print(f"  {'':<20} revoke(jti) on Node:   {revoke_across(node, py, token(issuer, JWT_RESOURCE))}")

    for inst in (py, node):
        st = inst.call("stats")["stats"]
        get = lambda k: st.get(k, st.get(re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), k), 0))  # noqa: E731
        print(f"  {inst.name + ' stats':<20} introspection requests {get('introspection_requests')}, key sets loaded"
              f" {get('jwks_fetches_ok')} (from Redis: {get('redis_jwks_shared')}), Redis L2 hits {get('redis_l2_hits')},"
              f" revocations published {get('redis_revocations_published')} / received {get('redis_revocations_received')}")
    print("\nShared through Redis: introspection answers, key sets, revocations (every value sealed with")
    print("fleet_secret). Not shared: validated JWT results, which each instance keeps in its own cache")
    print("(a local signature check costs about what a Redis lookup costs, and a JWT costs the provider")
    print("nothing but the key set, which is shared: benches/fleet/RESULTS.md).")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="jwtgate-demo-"))
    print("jwtgate demo: everything runs on 127.0.0.1 and stops at the end\n")

    # 1. The provider.
    provider = start(["node", str(ROOT / "tests/provider/server.mjs")], ROOT, {"PORT": "0", "KEYS_FILE": str(work / "keys.json")}, stdout=subprocess.PIPE)
    ready = json.loads(provider.stdout.readline())
    issuer = ready["issuer"]
    print(f"OpenID provider      {issuer}  (oidc-provider, tests/provider)")

    # 2. Real tokens.
    tokens: dict[str, str | None] = {}
    tokens["JWT access token"] = token(issuer, JWT_RESOURCE)
    tokens["opaque access token"] = token(issuer, OPAQUE_RESOURCE)
    _, _, body, _ = http("GET", f"{issuer}/test/id-token?sub=alice")
    tokens["ID token (not for APIs)"] = json.loads(body)["id_token"]
    short = token(issuer, SHORT_RESOURCE)
    revoked = token(issuer, OPAQUE_RESOURCE)
    form = urllib.parse.urlencode({"token": revoked}).encode()
    http("POST", f"{issuer}/token/revocation", {"Authorization": basic(API_CLIENT), "Content-Type": "application/x-www-form-urlencoded"}, form)
    tokens["revoked opaque token"] = revoked
    head, payload, sig = tokens["JWT access token"].split(".")
    tokens["forged signature"] = f"{head}.{payload}.{sig[:-4]}AAAA"
    tokens["not a token"] = "hello world"
    tokens["no token at all"] = None
    print("tokens               JWT, opaque, ID token, expired, revoked, forged, malformed: obtained")
    time.sleep(3)  # the short resource's 2 s tokens expire
    tokens["expired JWT"] = short

    config = {
        "issuer": issuer,
        "audience": [JWT_RESOURCE, OPAQUE_RESOURCE, SHORT_RESOURCE],
        "token_type": "at+jwt",
        "client_id": RS_CLIENT[0],
        "client_secret": RS_CLIENT[1],
        "leeway": 0,
    }
    config_file = work / "config.json"
    config_file.write_text(json.dumps(config))
    # The admin routes and the dashboard need a token with the admin scope; the test provider
    # grants read:items and write:items, so the demo makes write:items the admin scope.
    env = {"JWTGATE_CONFIG": str(config_file), "JWTGATE_ADMIN_SCOPE": ADMIN_SCOPE}

    # 3. The faces.
    faces: dict[str, str] = {}
    port = free_port()
    start([str(PYTHON), "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"], ROOT / "examples/fastapi_app", env)
    faces["FastAPI (Python)"] = f"http://127.0.0.1:{port}/items"
    port = free_port()
    start(["node", "server.js"], ROOT / "examples/express_app", {**env, "PORT": str(port)})
    faces["Express (Node)"] = f"http://127.0.0.1:{port}/api/items"
    port = free_port()
    start([str(ROOT / "target/jwtgate-example-go"), "-config", str(config_file), "-addr", f"127.0.0.1:{port}", "-admin-scope", ADMIN_SCOPE], ROOT / "examples/go")
    faces["net/http (Go)"] = f"http://127.0.0.1:{port}/items"
    for name, url in faces.items():
        wait_http(origin(url) + "/healthz")
        print(f"{name:<20} {url}")

    # 4. Every token to every face (twice: the second answer of a good token is a cache hit).
    results: dict[str, dict[str, str]] = {}
    first_ms: dict[str, list[float]] = {name: [] for name in faces}
    repeat_ms: dict[str, list[float]] = {name: [] for name in faces}
    for label, tok in tokens.items():
        results[label] = {}
        for name, url in faces.items():
            headers = {"Authorization": f"Bearer {tok}"} if tok is not None else {}
            status, hdrs, _, ms = http("GET", url, headers)
            status, hdrs, _, ms2 = http("GET", url, headers)
            results[label][name] = explain(status, hdrs)
            if status == 200:
                first_ms[name].append(ms)
                repeat_ms[name].append(ms2)
    # A burst of the same JWT: what a busy API sees (answered from the result cache).
    for name, url in faces.items():
        for _ in range(200):
            _, _, _, ms = http("GET", url, {"Authorization": f"Bearer {tokens['JWT access token']}"})
            repeat_ms[name].append(ms)

    # 5. The C example: validates tokens given on the command line.
    c_bin = ROOT / "target/examples-c/jwtgate-validate"
    c_args = [str(c_bin), str(config_file)] + [t for t in tokens.values() if t is not None]
    c_out = subprocess.run(c_args, capture_output=True, text=True, timeout=60).stdout.splitlines()
    c_labels = [label for label, t in tokens.items() if t is not None]
    for label, line in zip(c_labels, c_out):
        # "valid {claims}" or "invalid KIND (CODE, HTTP STATUS): message"
        words = line.split()
        results[label]["C (CLI)"] = "accepted" if words[:1] == ["valid"] else " ".join(["refused"] + words[1:2])
    results["no token at all"]["C (CLI)"] = "-"

    # 6. The summary.
    columns = list(faces) + ["C (CLI)"]
    width = 30
    print("\nWhat each face answered (the protected route needs scope read:items; RFC 6750 errors)\n")
    print(f"{'token':<26}" + "".join(f"{c:<{width}}" for c in columns))
    print("-" * (26 + width * len(columns)))
    for label, row in results.items():
        print(f"{label:<26}" + "".join(f"{row.get(c, '?')[:width - 2]:<{width}}" for c in columns))

    print("\nCache and provider, per face (from each app's /metrics)")
    for name, url in faces.items():
        _, _, body, _ = http("GET", origin(url) + "/metrics")
        text = body.decode()
        hits, misses = metric(text, "jwtgate_cache_hits_total"), metric(text, "jwtgate_cache_misses_total")
        fetches = metric(text, "jwtgate_jwks_fetches_total")
        intro = metric(text, "jwtgate_introspection_requests_total")
        rate = 100 * hits / max(1, hits + misses)
        first = max(first_ms[name]) if first_ms[name] else float("nan")
        repeat = sorted(repeat_ms[name])
        print(
            f"  {name:<18} cache hits {int(hits):>4} / misses {int(misses):>3} ({rate:5.1f} %)   JWKS fetches {int(fetches)}"
            f"   introspections {int(intro)}   HTTP round trip: slowest first request {first:.1f} ms,"
            f" repeat median {repeat[len(repeat) // 2]:.2f} ms"
        )
    print("\nEvery JWT was checked locally with cached keys (one JWKS fetch per face); only opaque")
    print("tokens went to introspection, once per token per face; repeated requests (and the burst of")
    print("200 with the same JWT) were answered from the result cache. Round trips include HTTP on")
    print("loopback and the web framework; a cache hit inside jwtgate is about a microsecond.")

    # 7. Many instances: the fleet scene.
    fleet_scene(issuer, config, work)

    # 8. The admin routes and the live dashboard of each face.
    admin = token(issuer, JWT_RESOURCE, f"read:items {ADMIN_SCOPE}")
    print(f"\nAdmin routes (scope {ADMIN_SCOPE}) and live dashboards")
    for name, url in faces.items():
        status, _, body, _ = http("GET", origin(url) + "/admin/stats", {"Authorization": f"Bearer {admin}"})
        none, _, _, _ = http("GET", origin(url) + "/admin/stats")
        ok = json.loads(body)["validations_ok"] if status == 200 else "?"
        print(f"  {name:<18} {origin(url)}/admin/dashboard   (GET /admin/stats: {status} with the admin token,"
              f" {none} without; validations ok {ok})")
    if os.environ.get("DEMO_KEEP") == "1":
        keep(issuer, faces, admin, tokens["JWT access token"])


def keep(issuer: str, faces: dict[str, str], admin: str, jwt: str | None) -> None:
    """DEMO_KEEP=1: the apps stay up with light traffic until Ctrl-C, for a look at the
    dashboards. The page asks for the admin token (it never goes in a URL)."""
    print("\nDEMO_KEEP=1: the apps stay up until Ctrl-C. Open a dashboard above and paste this admin")
    print("token (valid 5 minutes; a new one: the command below):\n")
    print(f"  {admin}\n")
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "resource": JWT_RESOURCE, "scope": f"read:items {ADMIN_SCOPE}"})
    print(f"  curl -s -u {API_CLIENT[0]}:{API_CLIENT[1]} -d '{form}' {issuer}/token\n")
    bad = [jwt, jwt, jwt, "not.a.token", None]
    i = 0
    try:
        while True:
            for url in faces.values():
                tok = bad[i % len(bad)]
                try:
                    http("GET", url, {"Authorization": f"Bearer {tok}"} if tok else {})
                except OSError:
                    pass
            i += 1
            if i % 600 == 0:  # the JWT lives 5 minutes: a fresh one
                jwt = token(issuer, JWT_RESOURCE)
                bad[:3] = [jwt] * 3
            time.sleep(0.1)
    except KeyboardInterrupt:
        print("\nstopping")


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all()
