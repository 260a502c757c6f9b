"""Fork safety (gunicorn --preload, multiprocessing): a validator used in the parent keeps
working in a forked child, including key fetches on the runtime the core re-creates there."""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
from typing import Any, List

import pytest

import jwtgate

from conftest import AUDIENCE, ISSUER, JwksServer, jwks_for, mint

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="no fork on Windows")


def _child(validator: jwtgate.Validator, cached: str, new_kid: str, results: Any) -> None:
    try:
        # A hit on what the parent cached.
        assert validator.validate(cached).source == "cache"
        # A fresh token whose kid forces a fetch: needs a working runtime in the child.
        assert validator.validate(new_kid)["sub"] == "user-1"
        # The async path, and a new validator created in the child.
        fresh = jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks_uri=validator_url)
        assert asyncio.run(fresh.validate_async(mint()))["sub"] == "user-1"
        results.put("ok")
    except BaseException as e:  # noqa: BLE001 (reported to the parent)
        results.put(repr(e))


validator_url = ""


def test_validate_in_parent_then_in_forked_child(jwks_server: JwksServer) -> None:
    global validator_url
    validator_url = jwks_server.url
    validator = jwtgate.Validator(
        issuer=ISSUER, audience=AUDIENCE, jwks_uri=jwks_server.url, jwks_refresh_cooldown=0
    )
    cached = mint()
    assert validator.validate(cached)["sub"] == "user-1"
    assert jwks_server.requests == 1
    jwks_server.jwks = jwks_for("rsa-a", "rsa-b", "ec-p256")
    # Slow enough that the child's background load and its blocking wait share one fetch.
    jwks_server.delay = 0.3

    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_child, args=(validator, cached, mint(kid="rsa-b"), results))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    assert results.get(timeout=5) == "ok"
    # The child fetched twice (unknown kid, new validator) on its own runtime.
    assert jwks_server.requests == 3
    # The parent is unaffected and still works, network included.
    assert validator.validate(mint(kid="ec-p256"))["sub"] == "user-1"
    assert validator.validate(mint(kid="rsa-b"))["sub"] == "user-1"


def test_fork_during_a_breaker_probe() -> None:
    """Audit finding 12 (gunicorn --preload): a child forked while the parent's half-open
    breaker probe was in flight inherited "a probe is in flight" with no task that would ever
    report back, and refused every fetch forever. The child must send its own probe."""
    import os
    import threading
    import time
    import warnings

    from conftest import ScriptedServer

    jwks = jwks_for("rsa-a")
    server = ScriptedServer(
        [
            (500, 0.0, {}),  # opens the breaker (threshold 1)
            (500, 1.5, {}),  # the parent's half-open probe, in flight during the fork
            (200, 0.0, jwks),  # the child's own probe, and everything after
        ]
    )
    try:
        validator = jwtgate.Validator(
            issuer=ISSUER,
            audience=AUDIENCE,
            jwks_uri=server.url,
            fetch_retries=0,
            breaker_threshold=1,
            breaker_cooldown=0.1,
            jwks_refresh_cooldown=0,
        )
        token = mint()
        with pytest.raises(jwtgate.ProviderUnavailableError):
            validator.validate(token)
        time.sleep(0.2)  # past the cooldown: the next fetch is the half-open probe

        probe_result: List[str] = []

        def probe() -> None:
            try:
                validator.validate(token)
                probe_result.append("accepted")
            except jwtgate.JwtGateError as e:
                probe_result.append(e.kind)

        prober = threading.Thread(target=probe)
        prober.start()
        deadline = time.monotonic() + 10
        while server.requests < 2:
            assert time.monotonic() < deadline, "the probe never reached the server"
            time.sleep(0.01)

        with warnings.catch_warnings():
            # Python 3.12+ warns that forking a threaded process may deadlock; that is
            # exactly the situation under test.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: never return into pytest
            status = 1
            try:
                # A few tries (the parent's probe ends meanwhile, in the parent only): before
                # the fix every one was refused with "a probe is in flight".
                for _ in range(30):
                    try:
                        if validator.validate(token)["sub"] == "user-1":
                            status = 0
                            break
                    except jwtgate.ProviderUnavailableError:
                        time.sleep(0.1)
            finally:
                os._exit(status)

        deadline = time.monotonic() + 30
        while True:
            done, wait_status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                pytest.fail("the forked child hung")
            time.sleep(0.05)
        prober.join(timeout=10)
        assert os.waitstatus_to_exitcode(wait_status) == 0, "the child could not fetch keys"
        assert probe_result == ["jwks_unavailable"]
        assert server.requests >= 3
    finally:
        server.close()
