#!/usr/bin/env python3
"""`make interop`: jwtgate's Python face against real OpenID providers, on loopback.

Keycloak (the Quarkus distribution from Maven Central, dev mode, in-memory database), Ory Hydra
(built from the Go module proxy by build_hydra.sh, in-memory database) and the project's own
test provider (tests/provider, oidc-provider) are started on 127.0.0.1, configured through
their admin APIs, and every step a user would meet is checked through `jwtgate.Validator`:
discovery, JWT access tokens, ID-token refusal, introspection, key rotation, a wrong issuer,
and the provider going down. The results table is printed and written, with versions,
durations and the date, to target/interop/results.md (docs/providers.md quotes it).

Not part of `make test`: the first run downloads ~180 MB (Keycloak) and builds Hydra (several
minutes); later runs reuse target/interop/. Nothing but loopback and the package registries
(Maven Central, the Go module proxy, PyPI for maturin) is contacted; Hydra's telemetry is
turned off. Every process started here is stopped by its PID, also on failure or Ctrl-C.

    python3 tests/interop/run.py [--only keycloak,hydra,oidc-provider]

It bootstraps itself: a venv in target/interop/venv with maturin, a wheel of the Python face
built from this tree (so the run tests the code as it is), then re-executes under that venv.
A step that cannot run here is reported as SKIP with the reason, never as a pass.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import http.cookiejar
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
OUT = ROOT / "target" / "interop"
LOGS = OUT / "logs"
VENV = OUT / "venv"
VENV_PY = VENV / "bin" / "python"

KEYCLOAK_VERSION = "26.7.3"
HYDRA_VERSION = "v2.3.0"
MATURIN = "maturin==1.16.0"  # the version bindings-python/requirements-dev.txt pins
PROVIDERS = ("oidc-provider", "hydra", "keycloak")

# What an API built on jwtgate would use as its audience with each provider.
HYDRA_AUDIENCE = "https://api.jwtgate.test"


# ------------------------------------------------------------------ bootstrap


def bootstrap(argv: list[str]) -> None:
    """Re-executes under target/interop/venv with a wheel of this tree's Python face."""
    if os.environ.get("JWTGATE_INTEROP_CHILD") == "1":
        return
    OUT.mkdir(parents=True, exist_ok=True)
    if not VENV_PY.exists():
        print("interop: creating target/interop/venv", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV_PY), "-m", "pip", "install", "-q", "--disable-pip-version-check", MATURIN], check=True)
    wheels = OUT / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    print("interop: building the Python face (maturin build, debug)", flush=True)
    env = {**os.environ, "CARGO_TARGET_DIR": str(ROOT / "target")}
    subprocess.run(
        [str(VENV / "bin" / "maturin"), "build", "-q", "-m", str(ROOT / "bindings-python" / "Cargo.toml"), "--out", str(wheels)],
        check=True,
        env=env,
    )
    wheel = next(wheels.glob("jwtgate-*.whl"))
    subprocess.run(
        [str(VENV_PY), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--force-reinstall", "--no-deps", str(wheel)],
        check=True,
    )
    os.environ["JWTGATE_INTEROP_CHILD"] = "1"
    os.execv(str(VENV_PY), [str(VENV_PY), str(Path(__file__).resolve()), *argv])


# ------------------------------------------------------------------ results


class Skip(Exception):
    """A step that cannot run here; the message says why."""


class Step:
    def __init__(self) -> None:
        self.detail = ""


class Results:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, float, str]] = []

    @contextlib.contextmanager
    def step(self, provider: str, name: str) -> Iterator[Step]:
        s = Step()
        t0 = time.monotonic()
        try:
            yield s
        except Skip as e:
            self._add(provider, name, "SKIP", t0, str(e))
        except Exception as e:  # a failed step is recorded; the next steps still run
            self._add(provider, name, "FAIL", t0, f"{type(e).__name__}: {e}")
        else:
            self._add(provider, name, "PASS", t0, s.detail)

    def skip(self, provider: str, name: str, why: str) -> None:
        self.rows.append((provider, name, "SKIP", 0.0, why))
        print(f"  SKIP  {provider:13} {name}: {why}", flush=True)

    def _add(self, provider: str, name: str, result: str, t0: float, detail: str) -> None:
        seconds = time.monotonic() - t0
        detail = " ".join(detail.split())
        self.rows.append((provider, name, result, seconds, detail))
        print(f"  {result:4}  {provider:13} {name} ({seconds:.1f} s){': ' + detail if detail else ''}", flush=True)

    def failed(self) -> int:
        return sum(1 for r in self.rows if r[2] == "FAIL")

    def table(self) -> str:
        lines = ["| provider | step | result | time | detail |", "|---|---|---|---:|---|"]
        for provider, name, result, seconds, detail in self.rows:
            detail = detail.replace("|", "\\|")
            if len(detail) > 300:
                detail = detail[:297] + "..."
            lines.append(f"| {provider} | {name} | {result} | {seconds:.1f} s | {detail} |")
        return "\n".join(lines)


# ------------------------------------------------------------------ processes


class Processes:
    """Every process this run starts, each in its own process group, stopped by PID."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, cmd: list[str], *, env: Optional[dict[str, str]] = None, cwd: Optional[Path] = None,
              stdout_pipe: bool = False) -> subprocess.Popen[bytes]:
        LOGS.mkdir(parents=True, exist_ok=True)
        log = open(LOGS / f"{name}.log", "ab")
        log.write(f"\n=== {datetime.datetime.now().isoformat()} {' '.join(cmd)}\n".encode())
        log.flush()
        p = subprocess.Popen(
            cmd,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else log,
            stderr=log,
            start_new_session=True,  # its own group: kc.sh's java child is stopped with it
        )
        log.close()
        self.running.append(p)
        return p

    def stop(self, p: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)  # kc.sh forwards it to its java child
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left of the group this run created (the leader's pgid is its PID).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=5)
        if p.stdout:
            p.stdout.close()
        if p in self.running:
            self.running.remove(p)

    def stop_all(self) -> None:
        for p in reversed(list(self.running)):
            self.stop(p, timeout=20)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------ HTTP (loopback only)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Http:
    """A tiny client: no proxies, no redirects followed, cookies kept when asked."""

    def __init__(self, cookies: bool = False) -> None:
        handlers: list[Any] = [urllib.request.ProxyHandler({}), NoRedirect()]
        if cookies:
            handlers.append(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.opener = urllib.request.build_opener(*handlers)

    def request(self, method: str, url: str, *, form: Optional[dict[str, str]] = None, body: Any = None,
                basic: Optional[tuple[str, str]] = None, bearer: Optional[str] = None,
                timeout: float = 30.0) -> tuple[int, dict[str, str], bytes]:
        host = urllib.parse.urlsplit(url).hostname
        if host not in ("127.0.0.1", "localhost"):
            raise RuntimeError(f"refusing to contact {host}: loopback only")
        headers = {"Accept": "application/json"}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if basic:
            # RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
            pair = f"{urllib.parse.quote(basic[0], safe='')}:{urllib.parse.quote(basic[1], safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with self.opener.open(req, timeout=timeout) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def json(self, method: str, url: str, *, expect: tuple[int, ...] = (200,), **kw: Any) -> Any:
        status, _, raw = self.request(method, url, **kw)
        if status not in expect:
            raise RuntimeError(f"{method} {url}: HTTP {status}: {raw[:300].decode(errors='replace')}")
        return json.loads(raw) if raw else None


HTTP = Http()


def wait_until(what: str, check: Callable[[], bool], timeout: float, proc: Optional[subprocess.Popen[bytes]] = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {proc.returncode} (see target/interop/logs/)")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{what}: not ready after {timeout:.0f} s")


def jose_header(token: str) -> dict[str, Any]:
    part = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def jose_payload(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


# ------------------------------------------------------------------ checks shared by every provider


def expect_error(call: Callable[[], Any], kind: str) -> Any:
    """Runs `call`, which must raise a jwtgate error of `kind`; returns the error."""
    import jwtgate

    try:
        call()
    except jwtgate.JwtGateError as e:
        if e.kind != kind:
            raise AssertionError(f"expected kind {kind}, got {e.kind}: {e}") from None
        return e
    raise AssertionError(f"expected kind {kind}, but it was accepted")


def fetches(v: Any) -> int:
    return int(v.stats()["jwks_fetches_ok"])


def check_wrong_issuer(v_factory: Callable[[str], Any], wrong: str, right: str) -> str:
    """ready() with a wrong issuer must raise ConfigError naming the expected and found value."""
    import jwtgate

    v = v_factory(wrong)
    try:
        v.ready()
    except jwtgate.ConfigError as e:
        message = str(e)
        if e.kind != "config":
            raise AssertionError(f"kind {e.kind}, not config: {message}") from None
        for value in (wrong, right):
            if value not in message:
                raise AssertionError(f"message does not name {value!r}: {message}") from None
        problem = v.health()["jwks"]["problem"]
        if problem != "misconfiguration":
            raise AssertionError(f'health()["jwks"]["problem"] is {problem!r}, not "misconfiguration"') from None
        named = message[message.find("expected"):] if "expected" in message else message
        return f'ready(): ConfigError (kind config) "...{named}"; health()["jwks"]["problem"]: misconfiguration'
    except jwtgate.JwtGateError as e:
        raise AssertionError(f"ready() raised {type(e).__name__} (kind {e.kind}), not ConfigError: {e}") from None
    raise AssertionError(f"ready() accepted issuer {wrong!r}")


def check_rotation(v: Any, new_token: str, old_kid: str) -> str:
    kid = jose_header(new_token).get("kid")
    if kid == old_kid:
        raise AssertionError(f"the new token is still signed with {old_kid}: the provider did not rotate")
    before = fetches(v)
    v.validate(new_token)
    delta = fetches(v) - before
    if delta != 1:
        raise AssertionError(f"the new kid {kid} cost {delta} JWKS fetches, not exactly 1")
    return f"kid {old_kid} -> {kid}: accepted with exactly 1 more JWKS fetch (jwks_fetches_ok {before} -> {before + delta})"


def check_no_cache_lifetime(make: Callable[..., Any], token: str) -> str:
    """A JWKS served with `Cache-Control: no-cache` lives jwks_min_ttl: with 5 s, a validation
    4.5 s after the fetch finds the keys due (80 % of the lifetime) and refreshes them in the
    background. (With the default 60 s that is every ~48 s; with max-age it would be later.)"""
    v = make(jwks_min_ttl=5)
    v.ready()
    before = fetches(v)
    time.sleep(4.5)
    v.validate(token)
    deadline = time.monotonic() + 5
    while fetches(v) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    if fetches(v) != before + 1:
        raise AssertionError(f"{fetches(v) - before} fetches after 80 % of jwks_min_ttl, not 1")
    return "with jwks_min_ttl 5: refetched in the background 4.5 s after the first fetch (the lifetime is jwks_min_ttl)"


def check_refresh_keys(v: Any) -> str:
    if not hasattr(v, "refresh_keys"):
        raise Skip("Validator.refresh_keys is not in this build of the Python face yet")
    before = fetches(v)
    time.sleep(1.1)  # refresh_keys() skips a fetch when one started within the last second
    v.refresh_keys()
    delta = fetches(v) - before
    if delta != 1:
        raise AssertionError(f"refresh_keys() made {delta} fetches, not 1")
    return "refresh_keys(): exactly 1 JWKS fetch"


def check_provider_down(v_local: Any, seen: str, unseen: str, v_introspect: Optional[Any], opaque: str) -> str:
    """The provider is stopped: cached and known-key JWTs keep validating, a new opaque token
    (which only the provider can judge) fails as provider_unavailable."""
    c = v_local.validate(seen)
    if c.source != "cache":
        raise AssertionError(f"the token seen before came from {c.source!r}, not the cache")
    c = v_local.validate(unseen)
    if c.source != "local":
        raise AssertionError(f"the unseen JWT came from {c.source!r}, not local validation")
    detail = "seen JWT: cache; unseen JWT with a known kid: local"
    if v_introspect is not None:
        t0 = time.monotonic()
        expect_error(lambda: v_introspect.validate(opaque), "provider_unavailable")
        detail += f"; new opaque token: provider_unavailable in {time.monotonic() - t0:.2f} s"
    return detail


# ------------------------------------------------------------------ oidc-provider (tests/provider)


def run_oidc_provider(results: Results, procs: Processes) -> dict[str, str]:
    import jwtgate

    P = "oidc-provider"
    info = {"version": json.loads((ROOT / "tests/provider/node_modules/oidc-provider/package.json").read_text())["version"]}
    keys = OUT / "oidc-provider-keys.json"
    keys.unlink(missing_ok=True)
    jwt_resource, opaque_resource = "https://api.test/jwt", "https://api.test/opaque"
    api_client = ("api-client", "api-client-secret-0123456789abcdef")
    rs_client = ("rs-client", "rs-client-secret-0123456789abcdef")

    def start(port: int = 0, rotate: bool = False) -> tuple[subprocess.Popen[bytes], str, int]:
        env = {"PORT": str(port), "KEYS_FILE": str(keys), "ROTATE": "1" if rotate else "0"}
        p = procs.start("oidc-provider", ["node", str(ROOT / "tests/provider/server.mjs")], env=env, stdout_pipe=True)
        assert p.stdout is not None
        line = p.stdout.readline()
        if not line:
            raise RuntimeError(f"the provider exited with {p.wait()} (see target/interop/logs/oidc-provider.log)")
        ready = json.loads(line)
        return p, ready["issuer"], ready["port"]

    def token(issuer: str, resource: str) -> str:
        return HTTP.json("POST", f"{issuer}/token", basic=api_client,
                         form={"grant_type": "client_credentials", "resource": resource, "scope": "read:items write:items"})["access_token"]

    proc: Optional[subprocess.Popen[bytes]] = None
    issuer, port = "", 0
    with results.step(P, "start") as s:
        t0 = time.monotonic()
        proc, issuer, port = start()
        s.detail = f"{issuer} in {time.monotonic() - t0:.1f} s"
    if proc is None:
        return info

    recipe = dict(issuer=issuer, audience=jwt_resource, token_type="at+jwt")
    v = jwtgate.Validator(**recipe)
    jwt1 = jwt2 = ""
    with results.step(P, "discovery (issuer only)") as s:
        v.ready()
        h = v.health()["jwks"]
        s.detail = f"keys {h['kids']} via {issuer}/.well-known/openid-configuration"
    with results.step(P, "JWT access token (at+jwt)") as s:
        jwt1, jwt2 = token(issuer, jwt_resource), token(issuer, jwt_resource)
        c = v.validate(jwt1)
        assert jose_header(jwt1)["typ"] == "at+jwt", jose_header(jwt1)
        assert c["aud"] == jwt_resource and c.source == "local", (c.to_dict(), c.source)
        s.detail = f"typ at+jwt, scopes {list(c.scopes)}, token_type: at+jwt"
    with results.step(P, "ID token refused") as s:
        id_token = HTTP.json("GET", f"{issuer}/test/id-token?sub=alice")["id_token"]
        e = expect_error(lambda: v.validate(id_token), "token_type_mismatch")
        # Without token_type the default rule has nothing to go on (no typ, no nonce/at_hash):
        # a validator whose audience the ID token names accepts it. Hence token_type in the recipe.
        jwtgate.Validator(issuer=issuer, audience="api-client").validate(id_token)
        s.detail = (f"no typ header: token_type_mismatch ('{e.message}'); without token_type, a validator for "
                    "the audience it names accepts it (no typ, no ID-token claims for access_tokens_only to see)")
    with results.step(P, "introspection (opaque token)") as s:
        vi = jwtgate.Validator(issuer=issuer, audience=opaque_resource, client_id=rs_client[0], client_secret=rs_client[1])
        opaque = token(issuer, opaque_resource)
        c = vi.validate(opaque)
        assert c.source == "introspection", c.source
        s.detail = f"active, aud {c['aud']}, client_id {c['client_id']} (client_secret_basic as rs-client)"
    with results.step(P, "introspection of a JWT refused by the provider") as s:
        vj = jwtgate.Validator(issuer=issuer, audience=jwt_resource, token_type="at+jwt", mode="introspect",
                               client_id=rs_client[0], client_secret=rs_client[1])
        expect_error(lambda: vj.validate(token(issuer, jwt_resource)), "provider_unavailable")
        misconfigured = vj.health()["introspection"]["misconfigured"]
        assert misconfigured is True, vj.health()["introspection"]
        s.detail = "HTTP 400 unsupported_token_type -> provider_unavailable, introspection health misconfigured: true (use mode auto)"
    with results.step(P, "key rotation (restart with a new key within 2 s of a fetch)") as s:
        vr = jwtgate.Validator(**recipe)
        vr.ready()
        vr.validate(jwt1)
        old_kid = jose_header(jwt1)["kid"]
        procs.stop(proc)
        proc, issuer2, _ = start(port=port, rotate=True)
        assert issuer2 == issuer
        s.detail = check_rotation(vr, token(issuer, jwt_resource), old_kid)
        assert vr.validate(jwt2).source == "local"  # the old key is still published
        s.detail += "; old-key tokens still valid"
        v = vr
    with results.step(P, "refresh_keys()") as s:
        s.detail = check_refresh_keys(v)
    with results.step(P, "wrong issuer (trailing slash)") as s:
        s.detail = check_wrong_issuer(lambda i: jwtgate.Validator(issuer=i, audience=jwt_resource), issuer + "/", issuer)
    with results.step(P, "provider down") as s:
        vi = jwtgate.Validator(issuer=issuer, audience=jwt_resource, token_type="at+jwt", client_id=rs_client[0], client_secret=rs_client[1])
        vi.ready()
        seen, unseen = token(issuer, jwt_resource), token(issuer, jwt_resource)
        v.validate(seen)
        opaque = token(issuer, opaque_resource)
        procs.stop(proc)
        s.detail = "stopped by PID; " + check_provider_down(v, seen, unseen, vi, opaque)
    if proc is not None:
        procs.stop(proc)
    return info


# ------------------------------------------------------------------ Ory Hydra


def hydra_binary() -> Path:
    binary = OUT / f"hydra-{HYDRA_VERSION}"
    if not binary.exists():
        if shutil.which("go") is None:
            raise Skip("no Go toolchain to build Hydra from the Go module proxy")
        print(f"interop: building Ory Hydra {HYDRA_VERSION} from the Go module proxy (several minutes, once)", flush=True)
        with open(LOGS / "hydra-build.log", "ab") as log:
            subprocess.run(["nice", str(HERE / "build_hydra.sh"), str(binary), HYDRA_VERSION], check=True, stdout=log, stderr=log)
    return binary


def hydra_code_flow(public: str, admin: str, client: tuple[str, str], redirect: str, audience: str) -> dict[str, Any]:
    """The authorization code flow with the login and consent steps accepted through the admin
    API, as a login/consent app would: Hydra issues ID tokens only there."""
    browser = Http(cookies=True)
    state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    query = urllib.parse.urlencode({"client_id": client[0], "response_type": "code", "scope": "openid read",
                                    "redirect_uri": redirect, "state": state, "nonce": nonce, "audience": audience})

    def follow(url: str, param: str) -> str:
        status, headers, raw = browser.request("GET", url)
        location = headers.get("location", "")
        if status not in (302, 303) or param not in location:
            raise RuntimeError(f"GET {url}: HTTP {status} to {location!r} (wanted {param}): {raw[:200]!r}")
        return urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)[param][0]

    login = follow(f"{public}/oauth2/auth?{query}", "login_challenge")
    nxt = HTTP.json("PUT", f"{admin}/admin/oauth2/auth/requests/login/accept?login_challenge={urllib.parse.quote(login)}",
                    body={"subject": "alice", "remember": False})["redirect_to"]
    consent = follow(nxt, "consent_challenge")
    nxt = HTTP.json("PUT", f"{admin}/admin/oauth2/auth/requests/consent/accept?consent_challenge={urllib.parse.quote(consent)}",
                    body={"grant_scope": ["openid", "read"], "grant_access_token_audience": [audience], "remember": False})["redirect_to"]
    code = follow(nxt, "code")
    return HTTP.json("POST", f"{public}/oauth2/token", basic=client,
                     form={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect})


def run_hydra(results: Results, procs: Processes) -> dict[str, str]:
    import jwtgate

    P = "hydra"
    info = {"version": HYDRA_VERSION}
    with results.step(P, "build (Go module proxy)") as s:
        t0 = time.monotonic()
        binary = hydra_binary()
        s.detail = subprocess.run([str(binary), "version"], capture_output=True, text=True).stdout.splitlines()[0].strip()
        s.detail += f" ({time.monotonic() - t0:.0f} s; cached in target/interop/)"
    if not (OUT / f"hydra-{HYDRA_VERSION}").exists():
        return info

    pub_port, admin_port = free_port(), free_port()
    public, admin = f"http://127.0.0.1:{pub_port}", f"http://127.0.0.1:{admin_port}"
    issuer = public + "/"
    env = {
        "DSN": "memory",
        "STRATEGIES_ACCESS_TOKEN": "jwt",
        "SERVE_PUBLIC_HOST": "127.0.0.1", "SERVE_PUBLIC_PORT": str(pub_port),
        "SERVE_ADMIN_HOST": "127.0.0.1", "SERVE_ADMIN_PORT": str(admin_port),
        "URLS_SELF_ISSUER": issuer,
        # Never visited: the flow stops at the redirect and is accepted through the admin API.
        "URLS_LOGIN": f"{public}/interop/login", "URLS_CONSENT": f"{public}/interop/consent",
        "SECRETS_SYSTEM": secrets.token_hex(16),
        "SQA_OPT_OUT": "true",
        "LOG_LEVEL": "warn",
    }
    proc = None
    with results.step(P, "start") as s:
        t0 = time.monotonic()
        proc = procs.start("hydra", [str(OUT / f"hydra-{HYDRA_VERSION}"), "serve", "all", "--dev", "--sqa-opt-out"], env=env)
        wait_until("hydra", lambda: HTTP.request("GET", f"{admin}/health/ready")[0] == 200, 60, proc)
        s.detail = f"DSN=memory serve all --dev, STRATEGIES_ACCESS_TOKEN=jwt; public :{pub_port}, admin :{admin_port}; {time.monotonic() - t0:.1f} s"
    if proc is None or proc.poll() is not None:
        return info

    def new_client(**extra: Any) -> tuple[str, str]:
        secret = secrets.token_urlsafe(24)
        body = {"client_secret": secret, "grant_types": ["client_credentials", "authorization_code"],
                "response_types": ["code"], "scope": "openid read write", "audience": [HYDRA_AUDIENCE],
                "token_endpoint_auth_method": "client_secret_basic", **extra}
        created = HTTP.json("POST", f"{admin}/admin/clients", body=body, expect=(201,))
        return created["client_id"], secret

    def token(client: tuple[str, str], audience: Optional[str] = HYDRA_AUDIENCE) -> str:
        form = {"grant_type": "client_credentials", "scope": "read write"}
        if audience:
            form["audience"] = audience
        return HTTP.json("POST", f"{public}/oauth2/token", basic=client, form=form)["access_token"]

    redirect = f"http://127.0.0.1:{free_port()}/callback"
    jwt_client = new_client(redirect_uris=[redirect])
    opaque_client = new_client(access_token_strategy="opaque")
    recipe = dict(issuer=issuer, audience=HYDRA_AUDIENCE)
    introspection = dict(introspection_endpoint=f"{admin}/admin/oauth2/introspect", client_id="jwtgate-api", client_auth="none")

    v = jwtgate.Validator(**recipe)
    with results.step(P, "discovery (issuer with the trailing slash)") as s:
        v.ready()
        _, headers, _ = HTTP.request("GET", f"{public}/.well-known/jwks.json")
        s.detail = (f"issuer {issuer}: {v.health()['jwks']['keys']} key(s) (ID-token and access-token sets); "
                    f"JWKS Cache-Control: {headers.get('cache-control')!r}")
    jwt1 = token(jwt_client)
    with results.step(P, "JWT access token (audience requested)") as s:
        c = v.validate(jwt1)
        header = jose_header(jwt1)
        assert c.source == "local"
        assert isinstance(c["scp"], list), c.to_dict()
        s.detail = f"typ {header.get('typ')}, aud {c['aud']}, scp {c['scp']} -> scopes {list(c.scopes)}"
    with results.step(P, "JWKS no-cache: lifetime jwks_min_ttl") as s:
        s.detail = check_no_cache_lifetime(lambda **kw: jwtgate.Validator(**recipe, **kw), token(jwt_client))
    with results.step(P, "JWT without `audience` at the token endpoint") as s:
        bare = token(jwt_client, audience=None)
        kind = None
        try:
            v.validate(bare)
        except jwtgate.JwtGateError as e:
            kind = e.kind
        assert kind in ("audience_mismatch", "missing_claim"), kind
        s.detail = f"aud {jose_payload(bare).get('aud')!r}: refused as {kind}"
    with results.step(P, "ID token refused") as s:
        answer = hydra_code_flow(public, admin, jwt_client, redirect, HYDRA_AUDIENCE)
        id_token = answer["id_token"]
        e = expect_error(lambda: jwtgate.Validator(issuer=issuer, audience=[HYDRA_AUDIENCE, jwt_client[0]]).validate(id_token),
                         "token_type_mismatch")
        jwtgate.Validator(issuer=issuer, audience=jwt_client[0], access_tokens_only=False).validate(id_token)
        claims = sorted(k for k in jose_payload(id_token) if k in ("nonce", "at_hash", "c_hash"))
        s.detail = (f"code flow, login/consent accepted via the admin API; typ {jose_header(id_token).get('typ')}, "
                    f"claims {claims}: token_type_mismatch ('{e.message}'); accepted without the type rule (control)")
    with results.step(P, "introspection (opaque token, admin port, client_auth none)") as s:
        vi = jwtgate.Validator(**recipe, **introspection)
        c = vi.validate(token(opaque_client))
        assert c.source == "introspection", c.source
        s.detail = f"active, aud {c['aud']}, client_id {c['client_id']}, token_type {c.get('token_type')}"
    with results.step(P, "introspection (JWT, mode introspect)") as s:
        vm = jwtgate.Validator(**recipe, **introspection, mode="introspect")
        c = vm.validate(token(jwt_client))
        assert c.source == "introspection", c.source
        s.detail = "local checks, then active at /admin/oauth2/introspect"
    with results.step(P, "key rotation (new key in hydra.jwt.access-token)") as s:
        vr = jwtgate.Validator(**recipe)
        vr.ready()
        vr.validate(jwt1)
        old_kid = jose_header(jwt1)["kid"]
        old_unseen = token(jwt_client)
        time.sleep(1.1)  # Hydra signs with the newest key by created_at (second resolution)
        HTTP.json("POST", f"{admin}/admin/keys/hydra.jwt.access-token", expect=(201,),
                  body={"alg": "RS256", "use": "sig", "kid": f"rotated-{secrets.token_hex(4)}"})
        s.detail = check_rotation(vr, token(jwt_client), old_kid)
        # The old key is still published: its tokens keep validating, cached or not.
        assert vr.validate(jwt1).source == "cache" and vr.validate(old_unseen).source == "local"
        s.detail += "; old-key tokens still valid"
        v = vr
    with results.step(P, "refresh_keys()") as s:
        s.detail = check_refresh_keys(v)
    with results.step(P, "wrong issuer (no trailing slash)") as s:
        s.detail = check_wrong_issuer(lambda i: jwtgate.Validator(issuer=i, audience=HYDRA_AUDIENCE), public, issuer)
    with results.step(P, "provider down") as s:
        vi = jwtgate.Validator(**recipe, **introspection)
        vi.ready()
        seen, unseen = token(jwt_client), token(jwt_client)
        v.validate(seen)
        opaque = token(opaque_client)
        procs.stop(proc)
        s.detail = "stopped by PID; " + check_provider_down(v, seen, unseen, vi, opaque)
    procs.stop(proc)
    return info


# ------------------------------------------------------------------ Keycloak


def keycloak_home() -> Path:
    home = OUT / f"keycloak-{KEYCLOAK_VERSION}"
    if (home / "bin" / "kc.sh").exists():
        return home
    download = OUT / "kc-download"
    archive = download / f"keycloak-quarkus-dist-{KEYCLOAK_VERSION}.zip"
    if not archive.exists():
        if shutil.which("mvn") is None:
            raise Skip("no mvn to download Keycloak from Maven Central")
        print(f"interop: downloading Keycloak {KEYCLOAK_VERSION} from Maven Central (~180 MB, once)", flush=True)
        subprocess.run(["mvn", "-q", "dependency:copy", f"-Dartifact=org.keycloak:keycloak-quarkus-dist:{KEYCLOAK_VERSION}:zip",
                        f"-DoutputDirectory={download}"], check=True)
    with zipfile.ZipFile(archive) as z:
        z.extractall(OUT)
    for script in (home / "bin").glob("*.sh"):
        script.chmod(0o755)
    return home


class KeycloakAdmin:
    """The admin REST API with a master-realm admin token (admin-cli tokens live 60 s)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.token = ""
        self.got = 0.0

    def call(self, method: str, path: str, *, expect: tuple[int, ...] = (200, 201, 204), body: Any = None) -> Any:
        if time.monotonic() - self.got > 30:
            self.token = HTTP.json("POST", f"{self.base}/realms/master/protocol/openid-connect/token", form={
                "grant_type": "password", "client_id": "admin-cli", "username": "admin", "password": "admin"})["access_token"]
            self.got = time.monotonic()
        status, headers, raw = HTTP.request(method, f"{self.base}/admin{path}", body=body, bearer=self.token)
        if status not in expect:
            raise RuntimeError(f"{method} /admin{path}: HTTP {status}: {raw[:300].decode(errors='replace')}")
        return json.loads(raw) if raw and headers.get("content-type", "").startswith("application/json") else None


def start_keycloak(procs: Processes) -> tuple[subprocess.Popen[bytes], str]:
    home = keycloak_home()
    port, management = free_port(), free_port()
    env = {"KC_BOOTSTRAP_ADMIN_USERNAME": "admin", "KC_BOOTSTRAP_ADMIN_PASSWORD": "admin"}
    cmd = [str(home / "bin" / "kc.sh"), "start-dev", f"--http-port={port}", "--http-host=127.0.0.1",
           f"--http-management-port={management}", "--http-management-host=127.0.0.1",
           "--hostname-strict=false", "--db=dev-mem"]
    return procs.start("keycloak", cmd, env=env, cwd=home), f"http://127.0.0.1:{port}"


def run_keycloak(results: Results, procs: Processes, started: Optional[tuple[subprocess.Popen[bytes], str, float]]) -> dict[str, str]:
    import jwtgate

    P = "keycloak"
    info = {"version": KEYCLOAK_VERSION}
    proc = None
    with results.step(P, "start (dev mode, in-memory database)") as s:
        if started is None:
            raise RuntimeError("Keycloak could not be prepared (see the log above)")
        proc, base, t0 = started
        wait_until("keycloak", lambda: HTTP.request("GET", f"{base}/realms/master/.well-known/openid-configuration")[0] == 200,
                   300, proc)
        s.detail = f"{base}, ready {time.monotonic() - t0:.0f} s after start"
    if proc is None or proc.poll() is not None:
        return info

    realm = "jwtgate"
    issuer = f"{base}/realms/{realm}"
    api = ("jwtgate-api", secrets.token_urlsafe(24))  # the API itself: the audience, and the introspecting client
    caller = ("jwtgate-caller", secrets.token_urlsafe(24))  # a service that calls the API
    caller9068 = ("jwtgate-caller-rfc9068", secrets.token_urlsafe(24))  # the same with at+jwt
    password = secrets.token_urlsafe(16)
    audience_mapper = {"name": "audience jwtgate-api", "protocol": "openid-connect", "protocolMapper": "oidc-audience-mapper",
                       "config": {"included.client.audience": api[0], "access.token.claim": "true",
                                  "id.token.claim": "false", "introspection.token.claim": "true"}}
    kc = KeycloakAdmin(base)
    with results.step(P, "realm, clients, audience mapper, user (admin REST API)") as s:
        kc.call("POST", "/realms", body={"realm": realm, "enabled": True})
        kc.call("POST", f"/realms/{realm}/clients", body={
            "clientId": api[0], "secret": api[1], "publicClient": False, "standardFlowEnabled": False,
            "directAccessGrantsEnabled": False, "serviceAccountsEnabled": False})
        for client, attributes in ((caller, {}), (caller9068, {"access.token.header.type.rfc9068": "true"})):
            kc.call("POST", f"/realms/{realm}/clients", body={
                "clientId": client[0], "secret": client[1], "publicClient": False, "standardFlowEnabled": False,
                "directAccessGrantsEnabled": True, "serviceAccountsEnabled": True, "attributes": attributes,
                "protocolMappers": [audience_mapper]})
        kc.call("POST", f"/realms/{realm}/users", body={
            "username": "alice", "enabled": True, "email": "alice@example.test", "emailVerified": True,
            "firstName": "Alice", "lastName": "Example",
            "credentials": [{"type": "password", "value": password, "temporary": False}]})
        s.detail = f"realm {realm}; {api[0]} (confidential, no flows), {caller[0]} and {caller9068[0]} (client credentials, audience mapper)"

    def token(client: tuple[str, str] = caller) -> str:
        return HTTP.json("POST", f"{issuer}/protocol/openid-connect/token", basic=client,
                         form={"grant_type": "client_credentials"})["access_token"]

    recipe = dict(issuer=issuer, audience=api[0])
    v = jwtgate.Validator(**recipe)
    with results.step(P, "discovery (realm issuer)") as s:
        v.ready()
        _, headers, _ = HTTP.request("GET", f"{issuer}/protocol/openid-connect/certs")
        s.detail = f"issuer {issuer}: {v.health()['jwks']['keys']} key(s); JWKS Cache-Control: {headers.get('cache-control')!r}"
    jwt1 = token()
    with results.step(P, "JWT access token (client credentials, audience mapper)") as s:
        c = v.validate(jwt1)
        assert c.source == "local"
        s.detail = f"header typ {jose_header(jwt1).get('typ')}, payload typ {c.get('typ')}, aud {c['aud']}, azp {c.get('azp')}"
    with results.step(P, "JWKS no-cache: lifetime jwks_min_ttl") as s:
        s.detail = check_no_cache_lifetime(lambda **kw: jwtgate.Validator(**recipe, **kw), token())
    with results.step(P, "at+jwt (access.token.header.type.rfc9068)") as s:
        strict = jwtgate.Validator(**recipe, token_type="at+jwt")
        at = token(caller9068)
        assert jose_header(at).get("typ") == "at+jwt", jose_header(at)
        strict.validate(at)
        e = expect_error(lambda: strict.validate(jwt1), "token_type_mismatch")
        s.detail = f"typ at+jwt accepted with token_type: at+jwt; a typ JWT token refused ({e})"
    with results.step(P, "ID token refused") as s:
        answer = HTTP.json("POST", f"{issuer}/protocol/openid-connect/token", basic=caller,
                           form={"grant_type": "password", "username": "alice", "password": password, "scope": "openid"})
        id_token = answer["id_token"]
        payload = jose_payload(id_token)
        e = expect_error(lambda: jwtgate.Validator(issuer=issuer, audience=[api[0], caller[0]]).validate(id_token),
                         "token_type_mismatch")
        jwtgate.Validator(issuer=issuer, audience=caller[0], access_tokens_only=False).validate(id_token)
        s.detail = (f"password grant, scope openid; header typ {jose_header(id_token).get('typ')}, payload typ {payload.get('typ')}, "
                    f"aud {payload.get('aud')}: token_type_mismatch ('{e.message}'); accepted without the type rule (control)")
    with results.step(P, "introspection (JWT, mode introspect, the API in aud)") as s:
        vi = jwtgate.Validator(**recipe, mode="introspect", client_id=api[0], client_secret=api[1])
        c = vi.validate(token())
        assert c.source == "introspection", c.source
        s.detail = f"active for {api[0]} (client_secret_basic); opaque tokens: Keycloak issues none"
    with results.step(P, "introspection by a client not in aud") as s:
        vo = jwtgate.Validator(**recipe, mode="introspect", client_id=caller9068[0], client_secret=caller9068[1])
        expect_error(lambda: vo.validate(token()), "inactive")
        s.detail = f"{caller9068[0]} is not in the token's aud: Keycloak answers active:false -> inactive"
    with results.step(P, "introspection with a wrong secret") as s:
        vw = jwtgate.Validator(**recipe, mode="introspect", client_id=api[0], client_secret="wrong-" + api[1])
        expect_error(lambda: vw.validate(token()), "provider_unavailable")
        ih = vw.health()["introspection"]
        assert ih["misconfigured"] is True, ih
        s.detail = "HTTP 401 -> provider_unavailable; introspection health misconfigured: true"
    with results.step(P, "key rotation (new active RSA key, components API)") as s:
        vr = jwtgate.Validator(**recipe)
        vr.ready()
        vr.validate(jwt1)
        old_kid = jose_header(jwt1)["kid"]
        old_unseen = token()
        realm_id = kc.call("GET", f"/realms/{realm}")["id"]
        kc.call("POST", f"/realms/{realm}/components", expect=(201,), body={
            "name": "rsa-rotated", "providerId": "rsa-generated", "providerType": "org.keycloak.keys.KeyProvider",
            "parentId": realm_id, "config": {"priority": ["200"], "enabled": ["true"], "active": ["true"],
                                             "keySize": ["2048"], "algorithm": ["RS256"]}})
        s.detail = check_rotation(vr, token(), old_kid)
        # The old key is still published: its tokens keep validating, cached or not.
        assert vr.validate(jwt1).source == "cache" and vr.validate(old_unseen).source == "local"
        s.detail += "; old-key tokens still valid"
        v = vr
    with results.step(P, "refresh_keys()") as s:
        s.detail = check_refresh_keys(v)
    with results.step(P, "wrong issuer (trailing slash)") as s:
        s.detail = check_wrong_issuer(lambda i: jwtgate.Validator(issuer=i, audience=api[0]), issuer + "/", issuer)
    with results.step(P, "localhost for 127.0.0.1") as s:
        local = issuer.replace("127.0.0.1", "localhost")
        vl = jwtgate.Validator(issuer=local, audience=api[0])
        vl.ready()  # Keycloak names the issuer after the Host header: discovery through localhost agrees
        expect_error(lambda: vl.validate(token()), "issuer_mismatch")
        s.detail = "ready() passes (the metadata follows the Host header), tokens got via 127.0.0.1: issuer_mismatch"
    with results.step(P, "provider down") as s:
        vi = jwtgate.Validator(**recipe, client_id=api[0], client_secret=api[1])
        vi.ready()
        seen, unseen = token(), token()
        v.validate(seen)
        procs.stop(proc)
        s.detail = "stopped by PID; " + check_provider_down(v, seen, unseen, vi, secrets.token_urlsafe(32))
    procs.stop(proc)
    return info


# ------------------------------------------------------------------ main


DOCS = ROOT / "docs" / "providers.md"
DOCS_SECTION = "## The last `make interop` run"


def update_docs(lines: list[str]) -> None:
    """Replaces docs/providers.md from its last section's heading to the end with this run."""
    text = DOCS.read_text()
    at = text.find(DOCS_SECTION)
    if at < 0:
        raise SystemExit(f"{DOCS.relative_to(ROOT)} has no '{DOCS_SECTION}' section")
    body = "\n".join(lines[2:])  # without results.md's own title
    DOCS.write_text(text[:at] + DOCS_SECTION + "\n\n" + body.strip() + "\n")
    print(f"updated {DOCS.relative_to(ROOT)}")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(PROVIDERS), help="comma-separated subset of " + ", ".join(PROVIDERS))
    parser.add_argument("--docs", action="store_true",
                        help="also replace the last section of docs/providers.md with this run's results")
    args = parser.parse_args()
    only = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(only) - set(PROVIDERS)
    if unknown:
        parser.error(f"unknown provider(s): {', '.join(sorted(unknown))}")
    bootstrap(sys.argv[1:])

    import jwtgate

    # Ctrl-C or SIGTERM still runs the finally below: nothing started here outlives the run.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    LOGS.mkdir(parents=True, exist_ok=True)
    started_at = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    results, procs = Results(), Processes()
    versions: dict[str, str] = {}
    try:
        keycloak, keycloak_skipped = None, False
        if "keycloak" in only:
            # Keycloak takes the longest to start (~50 s the first time): it boots while the others run.
            try:
                proc, base = start_keycloak(procs)
                keycloak = (proc, base, time.monotonic())
            except Skip as e:
                results.skip("keycloak", "all steps", str(e))
                keycloak_skipped = True
            except Exception as e:
                print(f"interop: keycloak: {type(e).__name__}: {e}", flush=True)
        if "oidc-provider" in only:
            versions["oidc-provider"] = run_oidc_provider(results, procs)["version"]
        if "hydra" in only:
            versions["Ory Hydra"] = run_hydra(results, procs)["version"]
        if "keycloak" in only and not keycloak_skipped:
            versions["Keycloak"] = run_keycloak(results, procs, keycloak)["version"]
    finally:
        procs.stop_all()

    duration = time.monotonic() - t0
    commit = git("rev-parse", "--short", "HEAD")
    dirty = " with uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    lines = [
        "# `make interop`: the last run",
        "",
        f"- date: {started_at:%Y-%m-%d %H:%M} UTC; command: `make interop` "
        f"(`python3 tests/interop/run.py{''.join(' ' + a for a in sys.argv[1:])}`)",
        f"- jwtgate {jwtgate.__version__} at {commit}{dirty}, Python face "
        f"(debug wheel) on Python {platform.python_version()}, {platform.system()} {platform.machine()}",
        "- " + ", ".join(f"{name} {version}" for name, version in versions.items()) + "; Java "
        + subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.split('"')[1],
        f"- {sum(r[2] == 'PASS' for r in results.rows)} passed, {results.failed()} failed, "
        f"{sum(r[2] == 'SKIP' for r in results.rows)} skipped in {duration:.0f} s",
        "",
        results.table(),
        "",
    ]
    (OUT / "results.md").write_text("\n".join(lines))
    if args.docs:
        update_docs(lines)
    print()
    print("\n".join(lines))
    print(f"written to {OUT.relative_to(ROOT)}/results.md; provider logs in {LOGS.relative_to(ROOT)}/")
    return 1 if results.failed() else 0


if __name__ == "__main__":
    sys.exit(main())
