"""Remote keys from a real JWKS server on loopback: sync and async fetch paths, readiness,
unavailable providers."""

from __future__ import annotations

import asyncio
import time

import pytest

import jwtgate

from conftest import AUDIENCE, ISSUER, JwksServer, free_port, jwks_for, mint


def remote(url: str, **extra: object) -> jwtgate.Validator:
    return jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks_uri=url, **extra)


def test_validate_fetches_the_keys_once(jwks_server: JwksServer) -> None:
    validator = remote(jwks_server.url)
    for _ in range(5):
        assert validator.validate(mint())["sub"] == "user-1"
    assert jwks_server.requests == 1
    assert validator.stats()["jwks_fetches_ok"] == 1
    assert validator.health()["key_source"] == "remote"


def test_validate_local_never_fetches_on_the_calling_thread(jwks_server: JwksServer) -> None:
    validator = remote(jwks_server.url)
    token = mint()
    with pytest.raises(jwtgate.KeysNotLoadedError) as info:
        validator.validate_local(token)
    assert info.value.kind == "keys_not_loaded"
    assert isinstance(info.value, jwtgate.ProviderUnavailableError)
    assert info.value.status == 503
    # ... but it started loading them in the background.
    deadline = time.monotonic() + 10
    while True:
        try:
            assert validator.validate_local(token)["sub"] == "user-1"
            break
        except jwtgate.KeysNotLoadedError:
            assert time.monotonic() < deadline, "background load did not finish"
            time.sleep(0.01)


def test_validate_async_fetches_through_the_executor(jwks_server: JwksServer) -> None:
    validator = remote(jwks_server.url)

    async def main() -> None:
        tokens = [mint() for _ in range(20)]
        results = await asyncio.gather(*(validator.validate_async(t) for t in tokens))
        assert all(c["sub"] == "user-1" for c in results)
        # Afterwards everything is answered on the loop's thread: a hit, then a local check.
        assert (await validator.validate_async(tokens[0])).source == "cache"
        assert (await validator.validate_async(mint())).source == "local"
        with pytest.raises(jwtgate.ExpiredTokenError):
            await validator.validate_async(mint(lifetime=-3600))

    asyncio.run(main())
    # Single flight: twenty concurrent validations, one request.
    assert jwks_server.requests == 1


def test_first_requests_race_the_first_fetch(jwks_server: JwksServer) -> None:
    # Validations that look while the first fetch is finishing must neither fail (a spurious
    # jwks_unavailable) nor fetch again: one request per validator, every token accepted.
    async def main(validator: jwtgate.Validator) -> None:
        results = await asyncio.gather(*(validator.validate_async(mint()) for _ in range(24)))
        assert all(c["sub"] == "user-1" for c in results)

    for round_ in range(20):
        asyncio.run(main(remote(jwks_server.url)))
        assert jwks_server.requests == round_ + 1


def test_ready_loads_the_keys(jwks_server: JwksServer) -> None:
    validator = remote(jwks_server.url)
    validator.ready()
    assert jwks_server.requests == 1
    assert validator.validate_local(mint())["sub"] == "user-1"

    other = remote(jwks_server.url)
    asyncio.run(other.ready_async())
    assert other.validate_local(mint())["sub"] == "user-1"


def test_key_rotation_picks_up_a_new_kid(jwks_server: JwksServer) -> None:
    validator = remote(jwks_server.url, jwks_refresh_cooldown=0)
    assert validator.validate(mint())["sub"] == "user-1"
    jwks_server.jwks = jwks_for("rsa-a", "rsa-b")
    # An unknown kid after the cooldown: validate_local defers, the async path fetches.
    token = mint(kid="rsa-b")

    async def main() -> jwtgate.Claims:
        return await validator.validate_async(token)

    assert asyncio.run(main())["sub"] == "user-1"
    assert jwks_server.requests == 2


def test_provider_down_is_503(jwks_server: JwksServer) -> None:
    jwks_server.status = 500
    validator = remote(jwks_server.url)
    with pytest.raises(jwtgate.ProviderUnavailableError) as info:
        validator.validate(mint())
    assert info.value.kind == "jwks_unavailable"
    assert info.value.status == 503


def test_nothing_listening_is_503() -> None:
    validator = remote(f"http://127.0.0.1:{free_port()}/jwks", fetch_timeout=2)
    started = time.monotonic()
    with pytest.raises(jwtgate.ProviderUnavailableError):
        asyncio.run(validator.validate_async(mint()))
    assert time.monotonic() - started < 5
