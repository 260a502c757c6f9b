"""Operating it (issue 16): the prometheus_client collector, the FastAPI admin routes and the
delivery of background events to ``logging`` when they happen."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Dict, Iterator, List

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest

import jwtgate
from jwtgate.fastapi import admin_router
from jwtgate.prometheus import JwtGateCollector

from conftest import AUDIENCE, ISSUER, JwksServer, jwks_for, mint

SCOPE = "jwtgate:admin"


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    assert value is not None, (name, labels)
    return value


# --- the collector --------------------------------------------------------------------------


def test_the_collector_reports_what_stats_reports(validator: jwtgate.Validator) -> None:
    token = mint()
    for _ in range(200):
        validator.validate(token)
    with pytest.raises(jwtgate.ExpiredTokenError):
        validator.validate(mint(lifetime=-120))
    registry = CollectorRegistry()
    registry.register(JwtGateCollector(validator))
    stats = validator.stats()

    assert sample(registry, "jwtgate_validations_total", outcome="ok", kind="") == stats["validations_ok"] == 200
    assert sample(registry, "jwtgate_validations_total", outcome="error", kind="expired") == 1
    assert sample(registry, "jwtgate_cache_hits_total") == stats["cache_hits"] == 199
    assert sample(registry, "jwtgate_cache_entries") == stats["cache_entries"]
    local = stats["latency"]["validation"]["local"]
    assert local["count"] == 2
    assert sample(registry, "jwtgate_validation_duration_seconds_count", path="local") == local["count"]
    assert sample(registry, "jwtgate_validation_duration_seconds_sum", path="local") == pytest.approx(local["sum_ns"] / 1e9)
    hit = stats["latency"]["validation"]["hit"]
    # Hits are sampled 1 in 64 per thread and counted 64 times: the count estimates them all.
    assert hit["count"] % 64 == 0 and abs(hit["count"] - 199) <= 64
    assert sample(registry, "jwtgate_validation_duration_seconds_count", path="hit") == hit["count"]
    assert sample(registry, "jwtgate_validation_duration_seconds_bucket", path="local", le="+Inf") == 2
    for bound, cumulative in local["buckets"]:
        le = str(bound / 1e9)
        assert registry.get_sample_value("jwtgate_validation_duration_seconds_bucket", {"path": "local", "le": le}) in (
            cumulative,
            None,  # prometheus_client spells some bounds differently ("1e-06"); the text test covers all
        )
    assert hit["p50_ns"] <= hit["p95_ns"] <= hit["p99_ns"]

    text = generate_latest(registry).decode()
    assert "# TYPE jwtgate_validation_duration_seconds histogram" in text
    assert "# TYPE jwtgate_provider_request_duration_seconds histogram" in text


def test_every_family_of_the_engine_text_is_collected(validator: jwtgate.Validator) -> None:
    validator.validate(mint())
    with pytest.raises(jwtgate.ExpiredTokenError):
        validator.validate(mint(lifetime=-120))
    registry = CollectorRegistry()
    registry.register(JwtGateCollector(validator, const_labels={"api": "orders"}))
    names = {m.name for m in registry.collect()}
    engine = {f["name"].removesuffix("_total") for f in validator.metric_families()}
    assert engine <= names, engine - names
    assert sample(registry, "jwtgate_validations_total", api="orders", outcome="ok", kind="") == 1


# --- the admin routes -----------------------------------------------------------------------


@pytest.fixture
def admin() -> Iterator[Dict[str, Any]]:
    v = jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks=jwks_for("rsa-a"))
    app = FastAPI()
    app.include_router(admin_router(v, scope=SCOPE), prefix="/admin")
    with TestClient(app) as client:
        yield {"v": v, "client": client, "token": mint(scope=SCOPE), "other": mint(scope="read:items")}


def auth(token: str) -> Dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "method,path",
    [("GET", "stats"), ("GET", "health"), ("GET", "metrics"), ("POST", "jwks/refresh"), ("POST", "cache/clear"), ("POST", "revoke")],
)
def test_admin_routes_need_the_admin_scope(admin: Dict[str, Any], method: str, path: str) -> None:
    client = admin["client"]
    none = client.request(method, f"/admin/{path}")
    assert none.status_code == 401
    assert none.headers["www-authenticate"] == "Bearer"
    wrong = client.request(method, f"/admin/{path}", headers=auth(admin["other"]))
    assert wrong.status_code == 403
    assert 'scope="jwtgate:admin"' in wrong.headers["www-authenticate"]
    bad = client.request(method, f"/admin/{path}", headers=auth(mint(lifetime=-120, scope=SCOPE)))
    assert bad.status_code == 401


def test_the_scope_is_required_and_never_empty() -> None:
    v = jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks=jwks_for("rsa-a"))
    with pytest.raises(TypeError):
        admin_router(v)  # type: ignore[call-arg]
    with pytest.raises(jwtgate.ConfigError):
        admin_router(v, scope="")
    with pytest.raises(jwtgate.ConfigError):
        admin_router(v, scope="a b")


def test_admin_routes_do_what_they_say(admin: Dict[str, Any]) -> None:
    client, v, h = admin["client"], admin["v"], auth(admin["token"])
    user = mint(sub="alice", jti="jti-1")
    v.validate(user)

    stats = client.get("/admin/stats", headers=h)
    assert stats.status_code == 200
    assert stats.json()["validations_ok"] == v.stats()["validations_ok"]
    assert stats.headers["cache-control"] == "no-store"

    health = client.get("/admin/health", headers=h)
    assert health.status_code == 200 and health.json()["status"] == "healthy"

    metrics = client.get("/admin/metrics", headers=h)
    assert metrics.status_code == 200
    assert "jwtgate_validation_duration_seconds_bucket" in metrics.text
    assert metrics.headers["content-type"].startswith("text/plain")

    entries = v.stats()["cache_entries"]
    assert entries >= 2
    cleared = client.post("/admin/cache/clear", headers=h)
    assert cleared.status_code == 200 and cleared.json() == {"removed": entries}
    assert v.stats()["cache_entries"] == 0

    v.validate(user)
    revoked = client.post("/admin/revoke", headers=h, json={"jti": "jti-1"})
    assert revoked.status_code == 200 and revoked.json() == {"revoked": "jti", "removed": 1}
    with pytest.raises(jwtgate.RevokedTokenError):
        v.validate(user)
    by_sub = client.post("/admin/revoke", headers=h, json={"sub": "bob"})
    assert by_sub.status_code == 200 and by_sub.json()["revoked"] == "sub"
    with pytest.raises(jwtgate.RevokedTokenError):
        v.validate(mint(sub="bob", iat=int(time.time()) - 10))

    refresh = client.post("/admin/jwks/refresh", headers=h)
    assert refresh.status_code == 200 and refresh.json() == {"refreshed": True}
    other = client.post("/admin/jwks/refresh", headers=h, json={"issuer": "https://elsewhere"})
    assert other.status_code == 400 and other.json()["kind"] == "config"

    page = client.get("/admin/dashboard")
    assert page.status_code == 200 and page.text.startswith("<!doctype html>")
    assert "connect-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    "body",
    [b"", b"[]", b"{", b'{"jti": 5}', b'{"jti": "a", "sub": "b"}', b'{"jti": "a", "extra": 1}', b'{"jti": "a", "jti": "b"}', b"\xff", b"{}", b'{"sub": "a", "until": 5}', b'{"jti": "' + b"x" * 20000 + b'"}'],
)
def test_revoke_refuses_bad_bodies_with_a_typed_400(admin: Dict[str, Any], body: bytes) -> None:
    r = admin["client"].post("/admin/revoke", headers=auth(admin["token"]), content=body)
    assert r.status_code == 400, r.text
    doc = r.json()
    assert doc["error"] == "invalid_request" and doc["kind"] == "invalid_request"
    assert admin["token"] not in r.text


def test_revoke_values_the_engine_refuses_are_a_config_400(admin: Dict[str, Any]) -> None:
    r = admin["client"].post("/admin/revoke", headers=auth(admin["token"]), json={"jti": "a", "until": 1})
    assert r.status_code == 400 and r.json()["kind"] == "config"


def test_health_is_503_while_keys_are_unavailable(jwks_server: JwksServer) -> None:
    jwks_server.status = 500
    v = jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks_uri=jwks_server.url, fetch_retries=0)
    # The admin token is checked by another validator (static keys) in this test only; the
    # routes report on `v`.
    app = FastAPI()
    admin_v = jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks=jwks_for("rsa-a"))
    router = admin_router(v, scope=SCOPE)
    # Swap the dependency's validator: the route table is the same.
    for route in router.routes:
        for dep in getattr(route, "dependencies", []):
            dep.dependency.validator = admin_v  # type: ignore[attr-defined]
    app.include_router(router, prefix="/admin")
    with TestClient(app) as client:
        r = client.get("/admin/health", headers=auth(mint(scope=SCOPE)))
        assert r.status_code == 503
        assert r.json()["status"] == "keys_unavailable"
        refresh = client.post("/admin/jwks/refresh", headers=auth(mint(scope=SCOPE)))
        assert refresh.status_code == 503
        assert "127.0.0.1" not in refresh.text  # CWE-209: the provider's URL stays in the log
        jwks_server.status = 200
        time.sleep(1.05)  # refresh_keys skips a set fetched less than a second ago
        assert client.post("/admin/jwks/refresh", headers=auth(mint(scope=SCOPE))).status_code == 200
        assert client.get("/admin/health", headers=auth(mint(scope=SCOPE))).status_code == 200


# --- events ---------------------------------------------------------------------------------


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: List[logging.LogRecord] = []
        self.arrived = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if getattr(record, "jwtgate_target", None) == "jwtgate::jwks":
            self.arrived.set()


def test_background_refresh_events_arrive_without_another_call(jwks_server: JwksServer) -> None:
    jwks_server.status = 500
    jwks_server.delay = 0.3  # the fetch ends well after validate_local has returned
    logger = logging.getLogger("jwtgate")
    handler = _Collect()
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        v = jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks_uri=jwks_server.url, fetch_retries=0)
        with pytest.raises(jwtgate.KeysNotLoadedError):
            v.validate_local(mint())  # starts the key load in the background and returns
        # No call into jwtgate from here on: the failed fetch's warning must still arrive.
        assert handler.arrived.wait(10), [r.getMessage() for r in handler.records]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    record = next(r for r in handler.records if getattr(r, "jwtgate_target", None) == "jwtgate::jwks")
    assert record.levelno == logging.WARNING
    assert record.threadName == "jwtgate-events"
    assert record.jwtgate_fields["issuer"] == ISSUER  # type: ignore[attr-defined]
