"""Keys and issuers: refresh_keys / refresh_keys_async, clear_cache, many issuers in one
validator (issuers=...), and a provider misconfiguration told apart from an outage. Remote keys
come from real JWKS servers on loopback."""

from __future__ import annotations

import asyncio
import time
import types
from typing import Any, Dict, Iterator

import pytest

import jwtgate

from conftest import AUDIENCE, ISSUER, JwksServer, ScriptedServer, jwks_for, mint

ISSUER_A = "https://a.issuer.test"
ISSUER_B = "https://b.issuer.test"

# refresh_keys skips a key set whose fetch started less than this long ago (core rule).
MANUAL_REFRESH_SPACING = 1.05


def remote(url: str, **extra: Any) -> jwtgate.Validator:
    return jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks_uri=url, **extra)


@pytest.fixture
def second_jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.close()


# --- refresh_keys -------------------------------------------------------------------------


def test_refresh_keys_loads_a_key_the_provider_added(jwks_server: JwksServer) -> None:
    jwks_server.jwks = jwks_for("rsa-a")
    validator = remote(jwks_server.url)
    assert validator.validate(mint())["sub"] == "user-1"
    assert jwks_server.requests == 1

    jwks_server.jwks = jwks_for("rsa-a", "rsa-b")
    time.sleep(MANUAL_REFRESH_SPACING)
    validator.refresh_keys()
    assert jwks_server.requests == 2
    # validate_local never fetches: the new kid validates with the keys refresh_keys loaded.
    assert validator.validate_local(mint(kid="rsa-b"))["sub"] == "user-1"
    assert jwks_server.requests == 2
    assert "rsa-b" in validator.health()["jwks"]["kids"]
    assert validator.stats()["jwks_refreshes"]["manual"] == 1

    # A second call right after the first fetches nothing (one fetch per second at most).
    validator.refresh_keys()
    assert jwks_server.requests == 2


def test_refresh_keys_drops_a_withdrawn_key_and_what_it_verified(jwks_server: JwksServer) -> None:
    jwks_server.jwks = jwks_for("rsa-a", "rsa-b")
    validator = remote(jwks_server.url)
    token = mint(kid="rsa-a")
    assert validator.validate(token)["sub"] == "user-1"
    assert validator.validate(token).source == "cache"

    jwks_server.jwks = jwks_for("rsa-b")
    time.sleep(MANUAL_REFRESH_SPACING)
    validator.refresh_keys()
    # The cached result went with the key: the token is checked again and refused.
    with pytest.raises(jwtgate.SignatureError) as info:
        validator.validate(token)
    assert info.value.kind == "key_not_found"
    assert validator.validate(mint(kid="rsa-b"))["sub"] == "user-1"


def test_refresh_keys_of_an_issuer_that_is_not_configured_is_a_config_error(
    jwks_server: JwksServer,
) -> None:
    validator = remote(jwks_server.url)
    with pytest.raises(jwtgate.ConfigError) as info:
        validator.refresh_keys("https://not-configured")
    assert info.value.kind == "config"
    assert isinstance(info.value, ValueError)
    assert "not-configured" in info.value.message
    assert jwks_server.requests == 0

    with pytest.raises(jwtgate.ConfigError):
        asyncio.run(validator.refresh_keys_async("https://not-configured"))
    assert jwks_server.requests == 0

    with pytest.raises(TypeError):
        validator.refresh_keys(42)  # type: ignore[arg-type]


def test_refresh_keys_async(jwks_server: JwksServer) -> None:
    validator = remote(jwks_server.url)

    async def main() -> None:
        await validator.refresh_keys_async()
        assert jwks_server.requests == 1
        # The keys are in: the validation is answered on the loop's thread, no executor.
        assert (await validator.validate_async(mint())).source == "local"

    asyncio.run(main())
    refreshes = validator.stats()["jwks_refreshes"]
    assert refreshes["manual"] == 1 and sum(refreshes.values()) == 1


def test_refresh_keys_when_the_provider_is_down_is_503(jwks_server: JwksServer) -> None:
    jwks_server.status = 500
    validator = remote(jwks_server.url, fetch_retries=0)
    with pytest.raises(jwtgate.ProviderUnavailableError) as info:
        validator.refresh_keys(ISSUER)
    assert info.value.kind == "jwks_unavailable"
    jwks = validator.health()["jwks"]
    assert jwks["problem"] == "outage"
    assert jwks["fetches_failed"] == 1 and jwks["fetches_ok"] == 0


# --- clear_cache --------------------------------------------------------------------------


def test_clear_cache_drops_every_result(validator: jwtgate.Validator) -> None:
    tokens = [mint() for _ in range(3)]
    for token in tokens:
        validator.validate(token)
    assert validator.validate(tokens[0]).source == "cache"
    assert validator.stats()["cache_entries"] == 3

    assert validator.clear_cache() == 3
    assert validator.stats()["cache_entries"] == 0
    misses = validator.stats()["cache_misses"]
    again = validator.validate(tokens[0])
    assert again.source == "local"
    assert validator.stats()["cache_misses"] == misses + 1
    assert validator.validate(tokens[0]).source == "cache"
    assert validator.clear_cache() == 1
    assert validator.clear_cache() == 0


def test_clear_cache_is_logged_as_an_audit_event(
    validator: jwtgate.Validator, caplog: pytest.LogCaptureFixture
) -> None:
    validator.validate(mint())
    with caplog.at_level("INFO", logger="jwtgate"):
        assert validator.clear_cache() == 1
    records = [r for r in caplog.records if r.name == "jwtgate"]
    assert [r.jwtgate_target for r in records] == ["jwtgate::audit"]  # type: ignore[attr-defined]
    assert records[0].jwtgate_fields["removed"] == "1"  # type: ignore[attr-defined]


# --- many issuers -------------------------------------------------------------------------


def two_issuers(a: JwksServer, b: JwksServer, **extra: Any) -> jwtgate.Validator:
    a.jwks = jwks_for("rsa-a")
    b.jwks = jwks_for("ec-p256")
    return jwtgate.Validator(
        issuers=[
            {"issuer": ISSUER_A, "audience": AUDIENCE, "jwks_uri": a.url},
            # Any mapping works, not only a dict.
            types.MappingProxyType(
                {"issuer": ISSUER_B, "audience": AUDIENCE, "jwks_uri": b.url, "algorithms": ["ES256"]}
            ),
        ],
        leeway=10,
        **extra,
    )


def test_two_issuers_each_with_its_own_keys(
    jwks_server: JwksServer, second_jwks_server: JwksServer
) -> None:
    a, b = jwks_server, second_jwks_server
    validator = two_issuers(a, b)
    assert "a.issuer.test" in repr(validator) and "b.issuer.test" in repr(validator)

    # An issuer that is not configured: refused before any request to anyone.
    with pytest.raises(jwtgate.InvalidClaimsError) as info:
        validator.validate(mint(iss="https://elsewhere.test"))
    assert info.value.kind == "issuer_mismatch"
    assert info.value.status == 401
    with pytest.raises(jwtgate.InvalidClaimsError):
        asyncio.run(validator.validate_async(mint(iss="https://elsewhere.test")))
    assert (a.requests, b.requests) == (0, 0)

    assert validator.validate(mint(iss=ISSUER_A, kid="rsa-a"))["iss"] == ISSUER_A
    assert (a.requests, b.requests) == (1, 0)
    assert asyncio.run(validator.validate_async(mint(iss=ISSUER_B, kid="ec-p256")))["iss"] == ISSUER_B
    assert (a.requests, b.requests) == (1, 1)

    # Keys never cross issuers: B's key does not verify a token that claims A.
    with pytest.raises(jwtgate.SignatureError):
        validator.validate(mint(iss=ISSUER_A, kid="ec-p256"))
    assert b.requests == 1

    health = validator.health()
    by_issuer: Dict[str, Any] = {i["issuer"]: i for i in health["issuers"]}
    assert sorted(by_issuer) == [ISSUER_A, ISSUER_B]
    assert by_issuer[ISSUER_A]["key_source"] == "remote"
    assert by_issuer[ISSUER_A]["jwks"]["kids"] == ["rsa-a"]
    assert by_issuer[ISSUER_B]["jwks"]["kids"] == ["ec-p256"]
    for part in by_issuer.values():
        assert part["jwks"]["problem"] is None
        assert part["jwks"]["fetches_ok"] >= 1


def test_refresh_keys_of_one_issuer_fetches_only_its_keys(
    jwks_server: JwksServer, second_jwks_server: JwksServer
) -> None:
    a, b = jwks_server, second_jwks_server
    validator = two_issuers(a, b)
    validator.refresh_keys(ISSUER_B)
    assert (a.requests, b.requests) == (0, 1)
    asyncio.run(validator.refresh_keys_async(ISSUER_A))
    assert (a.requests, b.requests) == (1, 1)
    assert validator.validate_local(mint(iss=ISSUER_A, kid="rsa-a"))["iss"] == ISSUER_A
    assert validator.validate_local(mint(iss=ISSUER_B, kid="ec-p256"))["iss"] == ISSUER_B


def test_issuers_with_static_keys_and_a_tuple() -> None:
    validator = jwtgate.Validator(
        issuers=(
            {"issuer": ISSUER_A, "audience": AUDIENCE, "jwks": jwks_for("rsa-a")},
            {"issuer": ISSUER_B, "audience": "https://other-api.test", "jwks": jwks_for("ec-p256")},
        ),
    )
    assert validator.validate(mint(iss=ISSUER_A))["iss"] == ISSUER_A
    # Each issuer its own policy: B's audience is not A's.
    with pytest.raises(jwtgate.InvalidClaimsError) as info:
        validator.validate(mint(iss=ISSUER_B, kid="ec-p256"))
    assert info.value.kind == "audience_mismatch"
    token = mint(iss=ISSUER_B, kid="ec-p256", aud="https://other-api.test")
    assert validator.validate(token)["iss"] == ISSUER_B
    assert [i["key_source"] for i in validator.health()["issuers"]] == ["static", "static"]
    # Static keys are always ready; refreshing them is a no-op.
    validator.refresh_keys()
    validator.refresh_keys(ISSUER_B)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"issuer": ISSUER, "issuers": [{"issuer": ISSUER_A, "jwks": jwks_for("rsa-a")}]}, "issuers"),
        ({"audience": AUDIENCE, "issuers": [{"issuer": ISSUER_A, "jwks": jwks_for("rsa-a")}]}, "audience"),
        ({"issuers": []}, "issuers"),
        # A global option inside an entry.
        ({"issuers": [{"issuer": ISSUER_A, "jwks": jwks_for("rsa-a"), "leeway": 5}]}, "leeway"),
    ],
)
def test_issuers_configuration_mistakes(config: Dict[str, Any], field: str) -> None:
    with pytest.raises(jwtgate.ConfigError) as info:
        jwtgate.Validator(**config)
    assert field in info.value.message


def test_issuers_that_are_not_json_name_the_option() -> None:
    with pytest.raises(jwtgate.ConfigError) as info:
        jwtgate.Validator(issuers=[{"issuer": ISSUER_A, "jwks": object()}])
    assert info.value.message.startswith("issuers:")


def test_single_issuer_health_lists_it_too(validator: jwtgate.Validator) -> None:
    health = validator.health()
    assert [i["issuer"] for i in health["issuers"]] == [ISSUER]
    assert health["issuers"][0]["key_source"] == health["key_source"] == "static"


# --- misconfiguration is not an outage ----------------------------------------------------


def test_a_provider_that_names_another_issuer_is_a_config_error() -> None:
    # Discovery answers with the issuer plus a trailing slash: retrying will not fix that.
    provider = ScriptedServer([(200, 0.0, {})])
    issuer = provider.url.rstrip("/")
    provider.answers = [(200, 0.0, {"issuer": issuer + "/", "jwks_uri": issuer + "/jwks"})]
    try:
        validator = jwtgate.Validator(issuer=issuer, audience=AUDIENCE, fetch_retries=0)
        for attempt in (validator.ready, validator.refresh_keys):
            with pytest.raises(jwtgate.ConfigError) as info:
                attempt()
            assert f'expected "{issuer}"' in info.value.message
            assert issuer + "/" in info.value.message
        assert validator.health()["jwks"]["problem"] == "misconfiguration"
        # A client is not at fault: its token is answered 503, not 401.
        with pytest.raises(jwtgate.ProviderUnavailableError) as refused:
            validator.validate(mint(iss=issuer))
        assert refused.value.status == 503
    finally:
        provider.close()
