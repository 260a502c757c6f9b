"""Fork safety (gunicorn --preload, multiprocessing): a validator used in the parent keeps
working in a forked child, including key fetches on the runtime the core re-creates there."""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
from typing import Any

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
