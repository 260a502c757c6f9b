"""The core's log and audit events reach Python's `logging` (logger `jwtgate`)."""

from __future__ import annotations

import logging

import pytest

import jwtgate
from jwtgate import _native

from conftest import AUDIENCE, ISSUER, JwksServer, mint


def _ours(caplog: pytest.LogCaptureFixture) -> list:
    return [r for r in caplog.records if r.name == "jwtgate"]


def test_audit_events(validator: jwtgate.Validator, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="jwtgate"):
        validator.revoke(jti="some-jti")
    records = _ours(caplog)
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.INFO
    assert "revoked by jti" in record.getMessage()
    assert record.jwtgate_target == "jwtgate::audit"  # type: ignore[attr-defined]
    assert record.jwtgate_fields == {"event": "revoke_jti", "removed": "0"}  # type: ignore[attr-defined]


def test_rejections_are_debug_events(validator: jwtgate.Validator, caplog: pytest.LogCaptureFixture) -> None:
    token = mint(lifetime=-3600)
    with caplog.at_level(logging.WARNING, logger="jwtgate"):
        with pytest.raises(jwtgate.ExpiredTokenError):
            validator.validate(token)
    assert _ours(caplog) == []  # below the logger's level: not even formatted

    with caplog.at_level(logging.DEBUG, logger="jwtgate"):
        with pytest.raises(jwtgate.ExpiredTokenError):
            validator.validate(token)
    records = _ours(caplog)
    assert len(records) == 1
    assert records[0].levelno == logging.DEBUG
    assert records[0].jwtgate_fields["kind"] == "expired"  # type: ignore[attr-defined]
    # Log lines never carry the token.
    assert token.split(".")[1] not in records[0].getMessage()


def test_events_from_io_threads(jwks_server: JwksServer, caplog: pytest.LogCaptureFixture) -> None:
    jwks_server.status = 503
    validator = jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks_uri=jwks_server.url)
    with caplog.at_level(logging.DEBUG, logger="jwtgate"):
        with pytest.raises(jwtgate.ProviderUnavailableError):
            validator.validate(mint())
    messages = [r.getMessage() for r in _ours(caplog)]
    # Emitted on jwtgate's tokio threads, forwarded on the calling thread.
    assert any("fetching JWKS" in m for m in messages), messages
    warnings = [r for r in _ours(caplog) if r.levelno == logging.WARNING]
    assert warnings and "JWKS fetch failed" in warnings[0].getMessage()
    assert warnings[0].jwtgate_target == "jwtgate::jwks"  # type: ignore[attr-defined]


def test_background_events_reach_logging(jwks_server: JwksServer, caplog: pytest.LogCaptureFixture) -> None:
    jwks_server.status = 500
    validator = jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks_uri=jwks_server.url)
    with caplog.at_level(logging.WARNING, logger="jwtgate"):
        with pytest.raises(jwtgate.KeysNotLoadedError):
            validator.validate_local(mint())  # starts a background load, which fails
        import time

        # Either the event thread (jwtgate._events) or a flush on this thread delivers the
        # event: which one wins is a race, so the test waits for the record, not for the count
        # (the thread may hold the drained record while this thread looks).
        deadline = time.monotonic() + 10
        while not any("JWKS fetch failed" in r.getMessage() for r in _ours(caplog)):
            assert time.monotonic() < deadline, "the background fetch's event never reached logging"
            _native.flush_logs()
            time.sleep(0.01)
    assert validator.stats()["jwks_fetches_failed"] >= 1
