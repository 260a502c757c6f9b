"""jwtgate.fastapi through FastAPI's TestClient: the dependency, RFC 6750 answers, OpenAPI, the
middleware, and the example app."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib.util
import json
import logging
import sys
from typing import Any, Dict

import pytest
from fastapi import Depends, FastAPI, Request, Security, WebSocket
from fastapi.testclient import TestClient

import jwtgate
from jwtgate.fastapi import BearerAuth, JwtGateMiddleware, get_claims

from conftest import AUDIENCE, EXAMPLE_APP, ISSUER, ScriptedServer, free_port, jwks_for, mint


def bearer(token: str) -> Dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def app(validator: jwtgate.Validator) -> FastAPI:
    auth = BearerAuth(validator, realm="api")
    app = FastAPI()

    @app.get("/public")
    async def public() -> Dict[str, str]:
        return {"ok": "yes"}

    @app.get("/me")
    async def me(request: Request, claims: jwtgate.Claims = Depends(auth)) -> Dict[str, Any]:
        assert request.state.claims is claims
        return {"sub": claims["sub"], "source": claims.source}

    @app.get("/sync-me")
    def sync_me(claims: jwtgate.Claims = Depends(auth)) -> Dict[str, Any]:
        return {"sub": claims["sub"]}

    @app.get("/items")
    async def items(claims: jwtgate.Claims = Security(auth, scopes=["read:items"])) -> Dict[str, Any]:
        return {"sub": claims["sub"]}

    @app.post("/items")
    async def write(claims: jwtgate.Claims = Security(auth, scopes=["read:items", "write:items"])) -> Dict[str, Any]:
        return {"sub": claims["sub"]}

    # Returning the claims themselves: as the return type (pydantic serialises them as
    # their dict), or without an annotation (FastAPI's encoder takes the Mapping).
    @app.get("/claims")
    async def whole(claims: jwtgate.Claims = Depends(auth)) -> jwtgate.Claims:
        return claims

    @app.get("/claims-unannotated")
    async def whole_unannotated(claims: jwtgate.Claims = Depends(auth)):  # type: ignore[no-untyped-def]
        return claims

    optional = BearerAuth(validator, auto_error=False, scheme_name="OptionalBearer")

    @app.get("/maybe")
    async def maybe(claims: Any = Depends(optional)) -> Dict[str, Any]:
        return {"sub": claims["sub"] if claims else None}

    return app


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


def test_public_and_protected(client: TestClient) -> None:
    assert client.get("/public").json() == {"ok": "yes"}
    token = mint(sub="ada")
    first = client.get("/me", headers=bearer(token))
    assert first.status_code == 200
    assert first.json() == {"sub": "ada", "source": "local"}
    # The second request is a cache hit on the event loop's thread.
    assert client.get("/me", headers=bearer(token)).json() == {"sub": "ada", "source": "cache"}
    assert client.get("/sync-me", headers=bearer(token)).json() == {"sub": "ada"}
    assert client.get("/me", headers={"authorization": f"bearer {token}"}).status_code == 200
    for path in ("/claims", "/claims-unannotated"):
        whole = client.get(path, headers=bearer(token)).json()
        assert whole["sub"] == "ada" and whole["aud"] == AUDIENCE, path


def test_no_token_is_401_with_a_bare_challenge(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = client.get("/me", headers=headers)
        assert response.status_code == 401
        # RFC 6750 §3.1: no error code when the request had no bearer credentials.
        assert response.headers["www-authenticate"] == 'Bearer realm="api"'


def test_bad_token_is_401_invalid_token(client: TestClient) -> None:
    token = mint(lifetime=-3600)
    response = client.get("/me", headers=bearer(token))
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="api", error="invalid_token", error_description="')
    assert response.json()["detail"]["error"] == "invalid_token"
    assert response.json()["detail"]["kind"] == "expired"
    # The token is never echoed back.
    for part in token.split("."):
        assert part not in response.text
        assert part not in challenge
    forged = client.get("/me", headers=bearer(mint()[:-6] + "AAAAAA"))
    assert forged.status_code == 401
    assert 'error="invalid_token"' in forged.headers["www-authenticate"]


def test_malformed_header_is_400_invalid_request(client: TestClient) -> None:
    for value in ("Bearer", "Bearer ", "Bearer a b"):
        response = client.get("/me", headers={"Authorization": value})
        assert response.status_code == 400, value
        assert 'error="invalid_request"' in response.headers["www-authenticate"]


def test_missing_scope_is_403_insufficient_scope(client: TestClient) -> None:
    reader = mint(scope="read:items")
    assert client.get("/items", headers=bearer(reader)).status_code == 200
    response = client.post("/items", headers=bearer(reader))
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="read:items write:items"' in challenge
    assert response.json()["detail"]["kind"] == "insufficient_scope"
    writer = mint(scope="read:items write:items")
    assert client.post("/items", headers=bearer(writer)).status_code == 200
    # `scp` as an array counts too (Azure AD, Okta).
    scp = mint(scope=None, scp=["read:items", "write:items"])
    assert client.post("/items", headers=bearer(scp)).status_code == 200


def test_optional_auth(client: TestClient) -> None:
    assert client.get("/maybe").json() == {"sub": None}
    assert client.get("/maybe", headers=bearer(mint(sub="bo"))).json() == {"sub": "bo"}
    assert client.get("/maybe", headers=bearer("junk")).status_code == 401


def test_provider_unavailable_is_503() -> None:
    validator = jwtgate.Validator(
        issuer=ISSUER, audience=AUDIENCE, jwks_uri=f"http://127.0.0.1:{free_port()}/jwks", fetch_timeout=2
    )
    app = FastAPI()

    @app.get("/me")
    async def me(claims: jwtgate.Claims = Depends(BearerAuth(validator))) -> Dict[str, str]:
        return {"sub": claims["sub"]}

    response = TestClient(app).get("/me", headers=bearer(mint()))
    assert response.status_code == 503
    assert response.json()["detail"]["kind"] in ("jwks_unavailable", "provider_unavailable")
    assert "www-authenticate" not in response.headers


def test_openapi_shows_a_bearer_scheme(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["BearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert schema["paths"]["/me"]["get"]["security"] == [{"BearerAuth": []}]
    assert schema["paths"]["/items"]["get"]["security"] == [{"BearerAuth": ["read:items"]}]
    assert "security" not in schema["paths"]["/public"]["get"]
    # Swagger UI is served (its "Authorize" button reads the schemes above).
    assert client.get("/docs").status_code == 200


def test_challenge_values_are_header_safe(validator: jwtgate.Validator) -> None:
    # The core quotes the realm (RFC 9110 §5.6.4): `"`, `\` and non-ASCII cannot end the
    # quoted string or reach the header as they are.
    app = FastAPI()

    @app.get("/me")
    async def me(claims: jwtgate.Claims = Depends(BearerAuth(validator, realm='a"b\\c\u00e9'))) -> Dict[str, str]:
        return {"sub": claims["sub"]}

    response = TestClient(app).get("/me", headers=bearer(mint(lifetime=-3600)))
    assert response.headers["www-authenticate"] == (
        'Bearer realm="a?b?c?", error="invalid_token", error_description="token has expired"'
    )


@pytest.fixture
def protected_app(validator: jwtgate.Validator) -> FastAPI:
    app = FastAPI()
    app.add_middleware(
        JwtGateMiddleware,
        validator=validator,
        public_paths=["/health", "/static/*", "/docs", "/openapi.json"],
        realm="all",
    )

    @app.get("/health")
    async def health() -> Dict[str, str]:
        return {"status": "ok"}

    @app.get("/static/logo")
    async def logo() -> Dict[str, str]:
        return {"logo": "png"}

    @app.get("/data")
    async def data(request: Request) -> Dict[str, Any]:
        return {"sub": request.state.claims["sub"]}

    @app.get("/data2")
    async def data2(claims: jwtgate.Claims = Depends(get_claims)) -> Dict[str, Any]:
        return {"sub": claims["sub"]}

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(websocket.state.claims["sub"])
        await websocket.close()

    return app


def test_middleware(protected_app: FastAPI) -> None:
    client = TestClient(protected_app)
    assert client.get("/health").status_code == 200
    assert client.get("/static/logo").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    missing = client.get("/data")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="all"'
    assert missing.json()["error"] == "unauthorized"
    bad = client.get("/data", headers=bearer(mint(aud="https://other.test")))
    assert bad.status_code == 401
    assert bad.json()["kind"] == "audience_mismatch"
    assert 'error="invalid_token"' in bad.headers["www-authenticate"]
    token = mint(sub="cy")
    assert client.get("/data", headers=bearer(token)).json() == {"sub": "cy"}
    assert client.get("/data2", headers=bearer(token)).json() == {"sub": "cy"}
    # CORS preflights carry no credentials and pass through.
    preflight = client.options("/data", headers={"Origin": "https://x", "Access-Control-Request-Method": "GET"})
    assert preflight.status_code != 401
    # A plain OPTIONS is a request like any other.
    assert client.options("/data").status_code == 401


def test_middleware_websockets(protected_app: FastAPI) -> None:
    from starlette.websockets import WebSocketDisconnect

    client = TestClient(protected_app)
    with client.websocket_connect("/ws", headers=bearer(mint(sub="dee"))) as ws:
        assert ws.receive_text() == "dee"
    with pytest.raises(WebSocketDisconnect) as info:
        with client.websocket_connect("/ws") as ws:
            ws.receive_text()
    assert info.value.code == 1008


def test_middleware_scopes(validator: jwtgate.Validator) -> None:
    app = FastAPI()
    app.add_middleware(JwtGateMiddleware, validator=validator, scopes=["admin"])

    @app.get("/admin")
    async def admin() -> Dict[str, str]:
        return {"ok": "yes"}

    client = TestClient(app)
    response = client.get("/admin", headers=bearer(mint(scope="read:items")))
    assert response.status_code == 403
    assert 'scope="admin"' in response.headers["www-authenticate"]
    assert client.get("/admin", headers=bearer(mint(scope="admin"))).status_code == 200


def _load_example() -> Any:
    spec = importlib.util.spec_from_file_location("jwtgate_example_app", EXAMPLE_APP / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_example_app() -> None:
    client = TestClient(_load_example().app)
    assert client.get("/").status_code == 200
    assert client.get("/healthz").json()["key_source"] == "static"
    assert client.get("/me").status_code == 401
    # The engine's reading of the header, as in every face's example (tests/vectors/http.json).
    assert client.get("/me", headers={"Authorization": "Bearer abc$"}).status_code == 400
    reader = mint(scope="read:items")
    assert client.get("/me", headers=bearer(reader)).json()["sub"] == "user-1"
    assert client.get("/items", headers=bearer(reader)).status_code == 200
    assert client.post("/items", json={"name": "cup"}, headers=bearer(reader)).status_code == 403
    writer = mint(scope="read:items write:items", sub="ada")
    created = client.post("/items", json={"name": "cup"}, headers=bearer(writer))
    assert created.status_code == 201 and created.json()["owner"] == "ada"
    assert "jwtgate_validations_total" in client.get("/metrics").text
    # The demo config requires `typ: at+jwt` (RFC 9068): an ID-token-shaped JWT is refused.
    assert client.get("/me", headers=bearer(mint(typ=None))).status_code == 401
    assert jwks_for("rsa-a")["keys"][0]["kid"] == "rsa-a"


# The fast paths of the dependency and the middleware (validation without a coroutine, the
# header read from the ASGI scope, merged scopes remembered per route) answer as before.


def test_dependency_scopes_merge_per_route(validator: jwtgate.Validator) -> None:
    auth = BearerAuth(validator, scopes=["profile"])
    app = FastAPI()

    @app.get("/read")
    async def read(claims: jwtgate.Claims = Security(auth, scopes=["read:items"])) -> Dict[str, str]:
        return {"sub": claims["sub"]}

    @app.get("/write")
    async def write(claims: jwtgate.Claims = Security(auth, scopes=["write:items", "profile"])) -> Dict[str, str]:
        return {"sub": claims["sub"]}

    @app.get("/plain")
    async def plain(claims: jwtgate.Claims = Depends(auth)) -> Dict[str, str]:
        return {"sub": claims["sub"]}

    client = TestClient(app)
    reader = mint(scope="read:items profile")
    for _ in range(2):  # the second time from the remembered merge
        assert client.get("/read", headers=bearer(reader)).status_code == 200
        assert client.get("/plain", headers=bearer(reader)).status_code == 200
        refused = client.get("/write", headers=bearer(reader))
        assert refused.status_code == 403
        assert 'scope="profile write:items"' in refused.headers["www-authenticate"]
    assert client.get("/plain", headers=bearer(mint(scope="read:items"))).status_code == 403


def test_dependency_keeps_request_state(validator: jwtgate.Validator) -> None:
    auth = BearerAuth(validator)
    app = FastAPI()

    async def before(request: Request) -> None:
        request.state.seen = "before"

    @app.get("/me", dependencies=[Depends(before)])
    async def me(request: Request, claims: jwtgate.Claims = Depends(auth)) -> Dict[str, Any]:
        assert request.state.claims is claims
        return {"sub": request.state.claims["sub"], "seen": request.state.seen}

    assert TestClient(app).get("/me", headers=bearer(mint(sub="eve"))).json() == {"sub": "eve", "seen": "before"}


def test_dependency_waits_for_remote_keys_once_per_request(jwks_server: Any) -> None:
    validator = jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks_uri=jwks_server.url)
    app = FastAPI()

    @app.get("/me")
    async def me(claims: jwtgate.Claims = Depends(BearerAuth(validator))) -> Dict[str, str]:
        return {"sub": claims["sub"], "source": claims.source}

    client = TestClient(app)
    token = mint(sub="fay")
    # Keys not loaded yet: the request waits for them (through the executor), then a hit.
    assert client.get("/me", headers=bearer(token)).json() == {"sub": "fay", "source": "local"}
    assert client.get("/me", headers=bearer(token)).json() == {"sub": "fay", "source": "cache"}
    assert client.get("/me", headers=bearer(mint(lifetime=-3600))).status_code == 401
    stats = validator.stats()
    assert stats["validations_ok"] == 2
    assert stats["failures_by_kind"] == {"expired": 1}
    # One network-free attempt deferred to the executor: the first request's, counted once.
    assert stats["sync_deferred"] == 1
    assert jwks_server.requests == 1


def test_dependency_goes_through_an_overridden_validate_async(validator: jwtgate.Validator) -> None:
    calls = []

    class Audited(jwtgate.Validator):
        async def validate_async(self, token: str) -> jwtgate.Claims:
            calls.append(token)
            return await super().validate_async(token)

    audited = Audited(issuer=ISSUER, audience=AUDIENCE, jwks=jwks_for("rsa-a"))
    app = FastAPI()
    app.add_middleware(JwtGateMiddleware, validator=audited, public_paths=["/dep"])

    @app.get("/dep")
    async def dep(claims: jwtgate.Claims = Security(BearerAuth(audited), scopes=["read:items"])) -> Dict[str, str]:
        return {"sub": claims["sub"]}

    @app.get("/mw")
    async def mw(request: Request) -> Dict[str, str]:
        return {"sub": request.state.claims["sub"]}

    client = TestClient(app)
    token = mint(sub="gus")
    assert client.get("/dep", headers=bearer(token)).json() == {"sub": "gus"}
    assert client.get("/mw", headers=bearer(token)).json() == {"sub": "gus"}
    assert client.get("/dep", headers=bearer(mint(scope="other"))).status_code == 403
    assert len(calls) == 3


def test_middleware_reads_headers_of_any_iterable(validator: jwtgate.Validator) -> None:
    seen: Dict[str, Any] = {}

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen["claims"] = scope["state"]["claims"]
        seen["headers"] = scope["headers"]

    middleware = JwtGateMiddleware(inner, validator=validator)
    token = mint(sub="hal")

    async def call(headers: Any) -> None:
        scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}

        async def receive() -> Any:
            return {"type": "http.request", "body": b""}

        async def send(message: Any) -> None:
            raise AssertionError(f"refused: {message}")

        await middleware(scope, receive, send)

    raw = [(b"host", b"x"), (b"authorization", f"Bearer {token}".encode())]
    for headers in (list(raw), tuple(raw), iter(raw)):
        seen.clear()
        asyncio.run(call(headers))
        assert seen["claims"]["sub"] == "hal"
        assert seen["headers"] == raw  # a one-shot iterable was read once, into a list


# Audit findings 6 and 7: what reaches a client, and how much of it.


def _dependency_app(validator: jwtgate.Validator) -> FastAPI:
    app = FastAPI()

    @app.get("/me")
    async def me(claims: jwtgate.Claims = Depends(BearerAuth(validator, realm="api"))) -> Dict[str, str]:
        return {"sub": claims["sub"]}

    return app


def _middleware_app(validator: jwtgate.Validator) -> FastAPI:
    app = FastAPI()
    app.add_middleware(JwtGateMiddleware, validator=validator, realm="api")

    @app.get("/me")
    async def me(claims: jwtgate.Claims = Depends(get_claims)) -> Dict[str, str]:
        return {"sub": claims["sub"]}

    return app


INTEGRATIONS = [pytest.param(_dependency_app, id="BearerAuth"), pytest.param(_middleware_app, id="middleware")]

# What the engine's message says about the provider, and no client may read (CWE-209).
OPERATOR_DETAILS = ("http://", "127.0.0.1", "internal/", "os error", "refused", "client_id", "client_secret")


def _what_the_client_sees(response: Any) -> str:
    return response.text + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items())


class _Refusing401:
    """An introspection endpoint that refuses our credentials (the engine's message then
    hints at client_id/client_secret)."""

    def __enter__(self) -> str:
        self.server = ScriptedServer([(401, 0.0, {"error": "invalid_client"})], path="/internal/introspect")
        return self.server.url

    def __exit__(self, *exc: Any) -> None:
        self.server.close()


@pytest.mark.parametrize("make_app", INTEGRATIONS)
@pytest.mark.parametrize("provider", ["dead-jwks", "dead-introspection", "introspection-401"])
def test_503_answers_name_no_provider(make_app: Any, provider: str, caplog: pytest.LogCaptureFixture) -> None:
    """Audit finding 6 (CWE-209): a 503 carried the engine's message, which names the JWKS or
    introspection URL and the OS error ("http://127.0.0.1:9/internal/jwks: connection failed
    (Connection refused (os error 111))") or a hint to check client_id/client_secret. The
    client gets the engine's fixed description; the message goes to the `jwtgate` log."""
    with contextlib.ExitStack() as stack:
        if provider == "dead-jwks":
            validator = jwtgate.Validator(
                issuer=ISSUER, audience=AUDIENCE, jwks_uri="http://127.0.0.1:9/internal/jwks", fetch_retries=0
            )
            token = mint()
        else:
            endpoint = (
                "http://127.0.0.1:9/internal/introspect"
                if provider == "dead-introspection"
                else stack.enter_context(_Refusing401())
            )
            validator = jwtgate.Validator(
                issuer=ISSUER,
                audience=AUDIENCE,
                jwks=jwks_for("rsa-a"),
                client_id="api-client",
                client_secret="s3cret",
                introspection_endpoint=endpoint,
                fetch_retries=0,
            )
            token = "opaque-token-0123456789"
        with caplog.at_level(logging.WARNING, logger="jwtgate"):
            response = TestClient(make_app(validator)).get("/me", headers=bearer(token))

    assert response.status_code == 503
    detail = response.json().get("detail", response.json())
    assert detail["error"] == "temporarily_unavailable"
    assert detail["error_description"] == "the authorization server is unavailable; retry later"
    assert detail["kind"] in ("jwks_unavailable", "provider_unavailable")
    seen = _what_the_client_sees(response)
    for secret in OPERATOR_DETAILS:
        assert secret not in seen, (secret, seen)
    ours = [r for r in caplog.records if getattr(r, "jwtgate_target", None) == "jwtgate::fastapi"]
    assert len(ours) == 1, [r.getMessage() for r in caplog.records]
    assert ours[0].name == "jwtgate" and ours[0].levelno == logging.WARNING
    logged = ours[0].getMessage()
    assert ("client_id" if provider == "introspection-401" else "127.0.0.1:9/internal/") in logged, logged


def _duplicate_member_token(name_length: int = 5000) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    name = "n" * name_length
    header = '{"alg":"RS256","%s":1,"%s":2}' % (name, name)
    return ".".join((b64(header.encode()), b64(b'{"sub":"x"}'), b64(b"signature")))


@pytest.mark.parametrize("make_app", INTEGRATIONS)
def test_attacker_text_is_bounded(validator: jwtgate.Validator, make_app: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Audit finding 7: a duplicate header member's name was quoted in full: 5,000 attacker
    characters came back in the exception, the response body, the challenge and the log."""
    token = _duplicate_member_token()
    long_run = "n" * 300
    with pytest.raises(jwtgate.MalformedTokenError) as info:
        validator.validate(token)
    assert len(str(info.value)) < 300 and long_run not in str(info.value)
    assert "duplicate" in info.value.message

    with caplog.at_level(logging.DEBUG, logger="jwtgate"):
        response = TestClient(make_app(validator)).get("/me", headers=bearer(token))
    assert response.status_code == 401
    assert len(response.text) < 300, response.text
    assert len(response.headers["www-authenticate"]) < 300
    assert long_run not in _what_the_client_sees(response)
    records = [r for r in caplog.records if r.name == "jwtgate"]
    assert records, "the rejection is logged at DEBUG"
    for record in records:
        assert len(record.getMessage()) < 300 and long_run not in record.getMessage()


def test_example_app_tells_clients_nothing_about_the_provider(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Audit finding 6 in the example: its 503s, and its public /healthz (whose ``last_error``
    named the JWKS URL and the OS error), say nothing about where the provider lives."""
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "issuer": ISSUER,
                "audience": AUDIENCE,
                "jwks_uri": "http://127.0.0.1:9/internal/jwks",
                "fetch_retries": 0,
            }
        )
    )
    monkeypatch.setenv("JWTGATE_CONFIG", str(config))
    example = _load_example()
    client = TestClient(example.app)
    response = client.get("/me", headers=bearer(mint()))
    assert response.status_code == 503
    health = client.get("/healthz")
    assert health.json()["jwks"]["loaded"] is False
    assert "127.0.0.1" in json.dumps(example.validator.health()), "the full report keeps the detail"
    for answer in (response, health):
        seen = _what_the_client_sees(answer)
        for secret in OPERATOR_DETAILS:
            assert secret not in seen, (secret, seen)
