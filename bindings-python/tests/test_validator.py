"""The Validator and Claims API: configuration, results, errors, revocation, reports."""

from __future__ import annotations

import collections.abc
import datetime
import json
import pickle
import time
from typing import Any

import pytest

import jwtgate
from jwtgate import _errors, _native

from conftest import AUDIENCE, ISSUER, jwks_for, mint


def test_claims_are_a_read_only_mapping(validator: jwtgate.Validator) -> None:
    token = mint(sub="ada", roles=["reader", "editor"], nested={"a": [1, 2.5, None, True]})
    claims = validator.validate(token)
    assert isinstance(claims, collections.abc.Mapping)
    assert claims["sub"] == "ada"
    assert claims["roles"] == ["reader", "editor"]
    assert claims["nested"] == {"a": [1, 2.5, None, True]}
    assert claims.get("sub") == "ada"
    assert claims.get("missing") is None
    assert claims.get("missing", 7) == 7
    assert claims.get(42) is None
    assert "sub" in claims and "missing" not in claims and 42 not in claims
    with pytest.raises(KeyError):
        claims["missing"]
    with pytest.raises(KeyError):
        claims[1]  # type: ignore[index]
    as_dict = dict(claims)
    assert as_dict == claims.to_dict() == json.loads(claims.json)
    assert set(claims.keys()) == set(as_dict)
    assert sorted(claims) == sorted(as_dict)
    assert len(claims) == len(as_dict)
    assert dict(claims.items()) == as_dict
    assert list(claims.values()) == [as_dict[k] for k in claims.keys()]
    assert claims == as_dict and not (claims != as_dict)
    assert claims != {"sub": "someone else"}
    assert claims.header == {"alg": "RS256", "kid": "rsa-a", "typ": "at+jwt"}
    assert claims.scopes == ("read:items", "profile")
    assert claims.expires_at == float(as_dict["exp"])
    with pytest.raises(TypeError):
        claims["sub"] = "mallory"  # type: ignore[index]
    with pytest.raises(TypeError):
        hash(claims)
    assert "ada" in repr(claims)
    # A big integer past u64 still reads as a number (JSON has no integer limit).
    assert isinstance(validator.validate(mint(big=2**70))["big"], float)


def test_a_hit_comes_from_the_cache_and_shares_the_claims(validator: jwtgate.Validator) -> None:
    token = mint()
    first = validator.validate(token)
    second = validator.validate(token)
    assert first.source == "local"
    assert second.source == "cache"
    assert first == second
    stats = validator.stats()
    assert stats["cache_hits"] == 1
    assert stats["cache_misses"] == 1
    assert stats["validations_ok"] == 2


def test_validate_local_answers_with_static_keys(validator: jwtgate.Validator) -> None:
    claims = validator.validate_local(mint(kid="ec-p256"))
    assert claims["sub"] == "user-1"


def test_scopes(validator: jwtgate.Validator) -> None:
    claims = validator.validate(mint(scope="a b", scp=["c"]))
    assert claims.scopes == ("a", "b", "c")
    claims.require_scopes(["a", "c"])
    claims.require_scopes("a b")
    claims.require_scopes([])
    with pytest.raises(jwtgate.InsufficientScopeError) as info:
        claims.require_scopes(["a", "d"])
    assert info.value.kind == "insufficient_scope"
    assert info.value.status == 403
    assert "d" in info.value.message


def test_error_hierarchy(validator: jwtgate.Validator) -> None:
    with pytest.raises(jwtgate.ExpiredTokenError) as info:
        validator.validate(mint(lifetime=-3600))
    error = info.value
    assert isinstance(error, jwtgate.InvalidTokenError)
    assert isinstance(error, jwtgate.JwtGateError)
    assert (error.kind, error.code, error.status) == ("expired", 1200, 401)
    assert str(error).startswith("expired: ")
    assert type(error).__module__ == "jwtgate"

    with pytest.raises(jwtgate.SignatureError) as info:
        validator.validate(mint(kid="rsa-b"))  # rsa-b is not in the key set
    assert info.value.kind == "key_not_found"
    with pytest.raises(jwtgate.InvalidClaimsError) as info:
        validator.validate(mint(iss="https://evil.test"))
    assert info.value.kind == "issuer_mismatch"
    with pytest.raises(jwtgate.MalformedTokenError):
        validator.validate("not.a.jwt")


def test_every_core_class_has_its_python_class() -> None:
    # The kind -> class table is the core's (ErrorKind::class): every class name it uses, and
    # no other, names a class here.
    assert {row[6] for row in _native.ERROR_KINDS} == set(_errors._CLASS_BY_NAME), "update jwtgate/_errors.py"
    for kind, code, status, token_fault, unavailable, client_description, _ in _native.ERROR_KINDS:
        error = _errors._from_native(kind, "m")
        assert (error.kind, error.code, error.status) == (kind, code, status)
        assert isinstance(error, jwtgate.InvalidTokenError) == token_fault
        assert isinstance(error, jwtgate.ProviderUnavailableError) == unavailable
        assert error.client_description == client_description
        # The core's table: a fixed text wherever the message is for operators only.
        assert (client_description is None) == (status in (400, 401, 403)), kind
    # The families every face shares, including the HTTP edge's two kinds.
    assert type(_errors._from_native("missing_token", "m")) is jwtgate.InvalidTokenError
    bad_header = _errors._from_native("invalid_request", "m")
    assert type(bad_header) is jwtgate.MalformedTokenError and bad_header.status == 400


def test_errors_pickle_with_their_kind() -> None:
    error = _errors._from_native("expired", "token has expired")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is jwtgate.ExpiredTokenError
    assert (copy.kind, copy.code, copy.message) == ("expired", 1200, "token has expired")
    assert jwtgate.ExpiredTokenError("by hand").kind == "expired"


def test_configuration_errors_name_the_field() -> None:
    with pytest.raises(jwtgate.ConfigError) as info:
        jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks=jwks_for("rsa-a"), leeway=1000)
    assert info.value.message.startswith("leeway")
    assert isinstance(info.value, ValueError)
    with pytest.raises(jwtgate.ConfigError) as info:
        jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks=jwks_for("rsa-a"), leway=10)
    assert "leway" in info.value.message
    with pytest.raises(jwtgate.ConfigError) as info:
        jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks=jwks_for("rsa-a"), leeway=float("nan"))
    assert info.value.message.startswith("leeway")
    with pytest.raises(jwtgate.ConfigError) as info:
        jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks=jwks_for("rsa-a"), leeway=object())
    assert info.value.message.startswith("leeway")
    with pytest.raises(jwtgate.ConfigError):
        jwtgate.Validator(audience=AUDIENCE, jwks=jwks_for("rsa-a"))
    with pytest.raises(jwtgate.ConfigError):
        jwtgate.Validator.from_json("{not json")


def test_configuration_forms(validator: jwtgate.Validator) -> None:
    token = mint()
    as_text = jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks=json.dumps(jwks_for("rsa-a")))
    assert as_text.validate(token)["sub"] == "user-1"
    from_json = jwtgate.Validator.from_json(
        json.dumps({"issuer": ISSUER, "audience": [AUDIENCE], "jwks": jwks_for("rsa-a")})
    )
    assert from_json.validate(token)["sub"] == "user-1"
    durations = jwtgate.Validator(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks=jwks_for("rsa-a"),
        leeway=datetime.timedelta(seconds=5),
        algorithms={"RS256"},
    )
    assert durations.validate(token)["sub"] == "user-1"
    with pytest.raises(jwtgate.SignatureError) as info:
        durations.validate(mint(kid="ec-p256"))
    assert info.value.kind in ("algorithm_not_allowed", "key_not_found")
    assert "issuer.test" in repr(validator)


def test_revoke(validator: jwtgate.Validator) -> None:
    token = mint(jti="t-1", sub="alice")
    other = mint(sub="alice")
    validator.validate(token)
    validator.validate(other)
    assert validator.revoke(jti="t-1") == 1
    with pytest.raises(jwtgate.RevokedTokenError) as info:
        validator.validate(token)
    assert info.value.kind == "revoked"
    assert validator.validate(other)["sub"] == "alice"
    assert validator.revoke(sub="alice", issued_before=datetime.datetime.now(datetime.timezone.utc)) == 1
    with pytest.raises(jwtgate.RevokedTokenError):
        validator.validate(other)
    # Tokens issued after the cut-off are fine.
    later = mint(sub="alice", now=time.time() + 5)
    assert validator.validate(later)["sub"] == "alice"
    assert validator.revoke(jti="t-2", until=time.time() + 60) == 0
    with pytest.raises(TypeError):
        validator.revoke()
    with pytest.raises(TypeError):
        validator.revoke(jti="x", issued_before=1.0)
    with pytest.raises(TypeError):
        validator.revoke(sub="x", until=1.0)
    with pytest.raises(TypeError):
        validator.revoke(sub="x", issued_before="yesterday")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        pytest.param(lambda v: v.revoke(jti="t-1", until=float("nan")), "until", id="until-nan"),
        pytest.param(lambda v: v.revoke(jti="t-1", until=float("inf")), "until", id="until-inf"),
        pytest.param(lambda v: v.revoke(jti="t-1", until=time.time() - 60), "until", id="until-past"),
        pytest.param(lambda v: v.revoke_jti("t-1", float("nan")), "until", id="native-until-nan"),
        pytest.param(lambda v: v.revoke(jti=""), "jti", id="jti-empty"),
        pytest.param(lambda v: v.revoke(sub="alice", issued_before=float("nan")), "issued_before", id="before-nan"),
        pytest.param(lambda v: v.revoke(sub="alice", issued_before=-1), "issued_before", id="before-negative"),
        pytest.param(
            lambda v: v.revoke(sub="alice", issued_before=time.time() + 3600), "issued_before", id="before-future"
        ),
        pytest.param(lambda v: v.revoke_subject("alice", float("-inf")), "issued_before", id="native-before-inf"),
        pytest.param(lambda v: v.revoke(sub=""), "sub", id="sub-empty"),
    ],
)
def test_meaningless_revocations_are_refused(validator: jwtgate.Validator, call: Any, field: str) -> None:
    """Audit finding 5: revocation failed open on bad timestamps (``until=nan`` returned
    success and the token kept validating). Each is a ConfigError, also a ValueError; the
    token is unaffected, and a good revocation still works."""
    token = mint(jti="t-1", sub="alice")
    assert validator.validate(token)["sub"] == "alice"
    with pytest.raises(jwtgate.ConfigError) as info:
        call(validator)
    assert isinstance(info.value, ValueError)
    assert info.value.kind == "config"
    assert info.value.message.startswith(field), info.value.message
    assert validator.validate(token)["sub"] == "alice"
    assert validator.revoke(jti="t-1", until=time.time() + 60) == 1
    with pytest.raises(jwtgate.RevokedTokenError):
        validator.validate(token)


def test_id_and_logout_tokens_are_not_access_tokens(validator: jwtgate.Validator) -> None:
    """Audit finding 8 (RFC 8725 §3.11, RFC 9068 §4): without ``token_type``, an ID token
    whose ``aud`` names the API was accepted as an access token. It is refused by default,
    and accepted with ``access_tokens_only=False``; a plain ``typ: JWT`` access token passes."""
    id_token = mint(typ="JWT", nonce="n-0S6_WzA2Mj")
    logout_token = mint(typ="logout+jwt", events={"http://schemas.openid.net/event/backchannel-logout": {}})
    for token in (id_token, logout_token):
        with pytest.raises(jwtgate.InvalidClaimsError) as info:
            validator.validate(token)
        assert info.value.kind == "token_type_mismatch"
    assert validator.validate(mint(typ="JWT"))["sub"] == "user-1"
    lenient = jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks=jwks_for("rsa-a"), access_tokens_only=False)
    assert lenient.validate(id_token)["nonce"] == "n-0S6_WzA2Mj"


def test_numeric_secrets_are_not_echoed() -> None:
    """Audit finding 7: a numeric ``client_secret`` or ``shared_secret`` was echoed by the
    configuration error ("invalid type: integer `123456789123`")."""
    for config in (
        {"client_id": "x", "client_secret": 123456789123, "jwks": jwks_for("rsa-a")},
        {"shared_secret": 123456789123},
    ):
        with pytest.raises(jwtgate.ConfigError) as info:
            jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, **config)
        assert isinstance(info.value, ValueError)
        for text in (info.value.message, str(info.value), repr(info.value)):
            assert "123456789123" not in text, text
            assert "6789" not in text, text


def test_reports(validator: jwtgate.Validator) -> None:
    validator.validate(mint())
    with pytest.raises(jwtgate.ExpiredTokenError):
        validator.validate(mint(lifetime=-3600))
    stats = validator.stats()
    assert stats["validations_ok"] == 1
    assert stats["validations_failed"] == 1
    assert stats["failures_by_kind"] == {"expired": 1}
    metrics = validator.metrics_text()
    assert 'jwtgate_validations_total{outcome="ok"} 1' in metrics
    assert 'jwtgate_validations_total{outcome="error",kind="expired"} 1' in metrics
    health = validator.health()
    assert health["issuer"] == ISSUER
    assert health["key_source"] == "static"
    assert health["cache_entries"] == 1


def test_version() -> None:
    assert jwtgate.__version__.count(".") == 2
    for name in jwtgate.__all__:
        assert hasattr(jwtgate, name), name
