"""Fleet mode from Python (docs/fleet.md): the options reach the core unchanged, Redis down
never fails a request, a revocation crosses validators through a real Redis, and a forked
child (gunicorn --preload) hears revocations even for results its parent cached.

The cross-face, cross-process checks (Python and Node sharing Redis and a Redis Cluster) are
in tests/fleet/run.py."""

from __future__ import annotations

import multiprocessing
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, Iterator

import pytest

import jwtgate

from conftest import AUDIENCE, ISSUER, free_port, jwks_for, mint

SECRET = "python-face-fleet-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing: `make test` installs it (make redis-deps)")
    port = free_port()
    directory = tempfile.mkdtemp(prefix="jwtgate-py-redis-")
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", directory],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 10
    while subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True).stdout.strip() != b"PONG":
        assert time.time() < deadline, "redis-server did not start"
        time.sleep(0.02)
    try:
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(directory, ignore_errors=True)


def fleet(url: str, **extra: Any) -> jwtgate.Validator:
    options: Dict[str, Any] = dict(issuer=ISSUER, audience=AUDIENCE, jwks=jwks_for("rsa-a"),
                                   redis_url=url, fleet_secret=SECRET, redis_timeout=0.5)
    options.update(extra)
    return jwtgate.Validator(**options)


def refused(v: jwtgate.Validator, token: str, seconds: float) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            v.validate_local(token)
        except jwtgate.InvalidTokenError as e:
            if e.kind == "revoked":
                return True
        time.sleep(0.002)
    return False


def test_fleet_options_are_checked_by_the_core() -> None:
    with pytest.raises(jwtgate.ConfigError) as missing:
        jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks=jwks_for("rsa-a"),
                          redis_url="redis://127.0.0.1:1")
    assert missing.value.kind == "config" and missing.value.args[0].startswith("fleet_secret")
    with pytest.raises(jwtgate.ConfigError) as bad_url:
        fleet("http://user:hunter2@127.0.0.1:1")
    assert bad_url.value.args[0].startswith("redis_url") and "hunter2" not in str(bad_url.value)
    with pytest.raises(jwtgate.ConfigError):
        fleet("redis://127.0.0.1:1", fleet_secret="too short")


def test_redis_down_never_fails_a_request() -> None:
    v = fleet(f"redis://127.0.0.1:{free_port()}", redis_timeout=0.05)
    v.ready()  # Redis unreachable: not an error
    started = time.time()
    for i in range(20):
        assert v.validate(mint(jti=f"j{i}"))["sub"] == "user-1"
    assert time.time() - started < 5
    assert v.revoke(jti="j1") == 1  # applies locally at once
    with pytest.raises(jwtgate.InvalidTokenError):
        v.validate(mint(jti="j1"))
    health = v.health()["fleet"]
    assert health["mode"] == "single" and health["connected"] is False
    # Kept for Redis (the send runs in the background and fails there).
    deadline = time.time() + 3
    while v.health()["fleet"]["pending_revocations"] != 1:
        assert time.time() < deadline, v.health()["fleet"]
        time.sleep(0.01)
    assert v.stats()["redis_errors"] >= 1


def test_a_revocation_crosses_validators(redis_url: str) -> None:
    a, b = fleet(redis_url), fleet(redis_url)
    a.ready()
    b.ready()
    token = mint(jti="crossing-1")
    assert b.validate(token).source == "local"
    assert b.validate(token).source == "cache"
    a.revoke(jti="crossing-1")
    assert refused(b, token, 2), "the revocation did not reach the other validator"
    assert b.stats()["redis_revocations_received"] == 1
    assert b.health()["fleet"]["subscribed"] is True


def _child(v: jwtgate.Validator, token: str, ready: Any, revoked: Any, results: Any) -> None:
    try:
        # Served from what the parent cached: the child never misses.
        assert v.validate_local(token).source == "cache"
        deadline = time.time() + 5
        while not v.health()["fleet"]["subscribed"]:
            assert time.time() < deadline, "the child did not subscribe"
            v.validate_local(token)
            time.sleep(0.01)
        ready.set()
        revoked.wait(10)
        results.put("ok" if refused(v, token, 5) else "the child kept serving the revoked token")
    except BaseException as e:  # noqa: BLE001 (reported to the parent)
        results.put(repr(e))


@pytest.mark.skipif(sys.platform == "win32", reason="no fork on Windows")
def test_a_forked_child_hears_revocations_of_what_its_parent_cached(redis_url: str) -> None:
    v = fleet(redis_url)
    v.ready()
    token = mint(jti="forked-1")
    assert v.validate(token)["sub"] == "user-1"
    context = multiprocessing.get_context("fork")
    ready, revoked, results = context.Event(), context.Event(), context.Queue()
    child = context.Process(target=_child, args=(v, token, ready, revoked, results))
    child.start()
    assert ready.wait(15), "the child did not come up"
    other = fleet(redis_url)
    other.ready()
    other.revoke(jti="forked-1")
    revoked.set()
    child.join(timeout=30)
    assert results.get(timeout=5) == "ok"
    assert child.exitcode == 0
