"""Hostile and wrong-typed inputs: a TypeError or an InvalidTokenError, never a crash."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import jwtgate

from conftest import mint

ONE_MIB = "a" * (1 << 20)

BAD_INPUTS = [
    pytest.param(None, TypeError, id="None"),
    pytest.param(b"eyJhbGciOiJSUzI1NiJ9.e30.c2ln", TypeError, id="bytes"),
    pytest.param(bytearray(b"x.y.z"), TypeError, id="bytearray"),
    pytest.param(42, TypeError, id="int"),
    pytest.param(["a.b.c"], TypeError, id="list"),
    pytest.param(object(), TypeError, id="object"),
    pytest.param(ONE_MIB, jwtgate.InvalidTokenError, id="1MiB-str"),
    pytest.param("." * (1 << 20), jwtgate.InvalidTokenError, id="1MiB-dots"),
    pytest.param("\ud800", jwtgate.InvalidTokenError, id="lone-surrogate"),
    pytest.param("eyJhbGciOiJSUzI1NiJ9.\udc00.sig", jwtgate.InvalidTokenError, id="surrogate-in-token"),
    pytest.param("", jwtgate.InvalidTokenError, id="empty"),
    pytest.param("\x00.\x00.\x00", jwtgate.InvalidTokenError, id="nul"),
    pytest.param("é.ü.ß", jwtgate.InvalidTokenError, id="non-ascii"),
    pytest.param("a.b.c.d.e", jwtgate.InvalidTokenError, id="five-segments"),
]


@pytest.mark.parametrize(("token", "error"), BAD_INPUTS)
def test_bad_input_is_refused(validator: jwtgate.Validator, token: Any, error: type) -> None:
    with pytest.raises(error):
        validator.validate(token)
    with pytest.raises(error):
        validator.validate_local(token)
    with pytest.raises(error):
        asyncio.run(validator.validate_async(token))


def test_type_error_names_the_type(validator: jwtgate.Validator) -> None:
    with pytest.raises(TypeError, match="token must be str, not bytes"):
        validator.validate(b"x")  # type: ignore[arg-type]


def test_a_str_subclass_is_a_str(validator: jwtgate.Validator) -> None:
    class Token(str):
        pass

    assert validator.validate(Token(mint()))["sub"] == "user-1"


def test_too_large_is_its_own_kind(validator: jwtgate.Validator) -> None:
    with pytest.raises(jwtgate.MalformedTokenError) as info:
        validator.validate(ONE_MIB)
    assert info.value.kind == "token_too_large"
    # The message never echoes the token.
    assert "aaaa" not in str(info.value)


def test_validator_keeps_working_after_bad_inputs(validator: jwtgate.Validator) -> None:
    for token, _ in [(p.values[0], p.values[1]) for p in BAD_INPUTS]:
        try:
            validator.validate(token)
        except (TypeError, jwtgate.InvalidTokenError):
            pass
    assert validator.validate(mint())["sub"] == "user-1"


def test_bad_configuration_types() -> None:
    with pytest.raises(jwtgate.ConfigError):
        jwtgate.Validator(issuer=None)
    with pytest.raises(jwtgate.ConfigError):
        jwtgate.Validator(issuer=b"https://x")
    with pytest.raises(jwtgate.ConfigError):
        jwtgate.Validator(issuer="https://x", audience="a", jwks="{not json")
    with pytest.raises(jwtgate.ConfigError):
        jwtgate.Validator(issuer="https://x", audience="a", jwks={"keys": "nope"})
    with pytest.raises(TypeError):
        jwtgate.Validator.from_json(None)  # type: ignore[arg-type]
    with pytest.raises(jwtgate.ConfigError):
        jwtgate.Validator.from_json("\ud800")
