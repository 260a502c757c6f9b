"""Opaque tokens through RFC 7662 introspection, configured with the core's options as plain
keyword arguments (the Python face passes every option through unchanged)."""

from __future__ import annotations

import asyncio
import base64
import http.server
import json
import threading
import time
import urllib.parse
from typing import Any, Dict, Iterator, List

import pytest

import jwtgate

from conftest import AUDIENCE, ISSUER, jwks_for, mint


class Introspection:
    """An RFC 7662 endpoint on 127.0.0.1 that knows two opaque tokens."""

    def __init__(self) -> None:
        self.requests: List[Dict[str, Any]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                outer.requests.append({"form": form, "authorization": self.headers.get("Authorization")})
                token = form.get("token", [""])[0]
                if token == "opaque-good":
                    answer: Dict[str, Any] = {
                        "active": True,
                        "sub": "service-7",
                        "scope": "read:items",
                        "client_id": "batch-job",
                        "iss": ISSUER,
                        "aud": AUDIENCE,
                        "exp": int(time.time()) + 600,
                    }
                else:
                    answer = {"active": False}
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/introspect"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def endpoint() -> Iterator[Introspection]:
    server = Introspection()
    yield server
    server.close()


def introspecting(endpoint: Introspection) -> jwtgate.Validator:
    return jwtgate.Validator(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks=jwks_for("rsa-a"),
        client_id="api",
        client_secret="s3cret",
        introspection_endpoint=endpoint.url,
    )


def test_opaque_tokens_are_introspected(endpoint: Introspection) -> None:
    validator = introspecting(endpoint)
    claims = validator.validate("opaque-good")
    assert claims["sub"] == "service-7"
    assert claims.scopes == ("read:items",)
    assert claims.source == "introspection"
    assert validator.validate("opaque-good").source == "cache"
    assert len(endpoint.requests) == 1
    sent = endpoint.requests[0]
    assert sent["form"]["token"] == ["opaque-good"]
    assert sent["authorization"] == "Basic " + base64.b64encode(b"api:s3cret").decode()
    with pytest.raises(jwtgate.RevokedTokenError) as info:
        validator.validate("opaque-gone")
    assert info.value.kind == "inactive"
    # JWTs are still validated locally.
    assert validator.validate(mint()).source == "local"
    assert len(endpoint.requests) == 2


def test_introspection_on_the_async_path(endpoint: Introspection) -> None:
    validator = introspecting(endpoint)

    async def main() -> None:
        with pytest.raises(jwtgate.KeysNotLoadedError):
            validator.validate_local("opaque-good")  # would need the network
        claims = await validator.validate_async("opaque-good")
        assert claims["client_id"] == "batch-job"
        assert (await validator.validate_async("opaque-good")).source == "cache"
        with pytest.raises(jwtgate.RevokedTokenError):
            await validator.validate_async("opaque-gone")

    asyncio.run(main())


def test_without_client_id_opaque_tokens_are_unsupported() -> None:
    validator = jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks=jwks_for("rsa-a"))
    with pytest.raises(jwtgate.MalformedTokenError) as info:
        validator.validate("opaque-good")
    assert info.value.kind == "unsupported_token"


def test_introspection_rate_limit(endpoint: Introspection) -> None:
    """Audit finding 10: `introspection_rate_limit` (calls per second, 0 = unlimited) reaches
    the engine as a plain keyword argument: beyond it a new opaque token fails fast with
    `provider_unavailable` and no request, while cached answers keep validating."""
    assert introspecting(endpoint).stats()["introspection_throttled"] == 0
    validator = jwtgate.Validator(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks=jwks_for("rsa-a"),
        client_id="api",
        client_secret="s3cret",
        introspection_endpoint=endpoint.url,
        introspection_rate_limit=1,
    )
    assert validator.validate("opaque-good")["sub"] == "service-7"
    with pytest.raises(jwtgate.ProviderUnavailableError) as info:
        validator.validate("opaque-garbage-1")
    assert info.value.kind == "provider_unavailable"
    assert validator.validate("opaque-good").source == "cache"
    assert len(endpoint.requests) == 1
    assert validator.stats()["introspection_throttled"] == 1
    with pytest.raises(jwtgate.ConfigError) as config:
        jwtgate.Validator(
            issuer=ISSUER,
            audience=AUDIENCE,
            client_id="api",
            client_secret="s3cret",
            introspection_endpoint=endpoint.url,
            introspection_rate_limit=-1,
        )
    assert config.value.message.startswith("introspection_rate_limit")
