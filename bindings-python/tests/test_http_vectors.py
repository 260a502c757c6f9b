"""tests/vectors/http.json through jwtgate.fastapi: for an Authorization value, a realm and a
route's required scopes, the dependency and the middleware answer what every face answers (the
status, the WWW-Authenticate challenge and the JSON body), or let the request through with the
token's claims."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

import pytest
from fastapi import FastAPI, Request, Security
from fastapi.testclient import TestClient

import jwtgate
from jwtgate import _native
from jwtgate.fastapi import BearerAuth, JwtGateMiddleware

from conftest import VECTORS

DOC = json.loads((VECTORS / "http.json").read_text())
CASES: List[Dict[str, Any]] = DOC["cases"]
_VALIDATORS: Dict[str, jwtgate.Validator] = {}


def _validator(config: str) -> jwtgate.Validator:
    # One per configuration, as an app has; `provider_down`'s fetches fail fast (port 9,
    # no retries, a 0.5 s timeout).
    if config not in _VALIDATORS:
        _VALIDATORS[config] = jwtgate.Validator(**DOC["configs"][config])
    return _VALIDATORS[config]


def _dependency_app(validator: jwtgate.Validator, realm: Optional[str], scopes: List[str]) -> FastAPI:
    auth = BearerAuth(validator, realm=realm)
    app = FastAPI()

    @app.get("/resource")
    async def resource(request: Request, claims: jwtgate.Claims = Security(auth, scopes=scopes)) -> Dict[str, Any]:
        assert request.state.claims is claims
        return {"sub": claims["sub"]}

    return app


def _middleware_app(validator: jwtgate.Validator, realm: Optional[str], scopes: List[str]) -> FastAPI:
    app = FastAPI()
    app.add_middleware(JwtGateMiddleware, validator=validator, realm=realm, scopes=scopes)

    @app.get("/resource")
    async def resource(request: Request) -> Dict[str, Any]:
        return {"sub": request.state.claims["sub"]}

    return app


def test_the_vectors_are_there() -> None:
    assert DOC["suite"] == "http"
    assert len(CASES) >= 10, "tests/vectors/http.json is missing cases"
    assert {c["expect"]["status"] for c in CASES} >= {200, 400, 401, 403, 503}


@pytest.mark.parametrize("form", ["BearerAuth", "middleware"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_http_vector(case: Dict[str, Any], form: str) -> None:
    make_app = _dependency_app if form == "BearerAuth" else _middleware_app
    app = make_app(_validator(case["config"]), case["realm"], case["scopes"])
    headers = {} if case["authorization"] is None else {"Authorization": case["authorization"]}
    response = TestClient(app).get("/resource", headers=headers)

    expect = case["expect"]
    assert response.status_code == expect["status"], response.text
    if expect["status"] == 200:
        assert response.json() == {"sub": expect["sub"]}
        assert "www-authenticate" not in response.headers
        return
    assert response.headers.get("www-authenticate") == expect["challenge"]
    assert response.headers["content-type"] == "application/json"
    # FastAPI's idiom for a dependency's refusal is HTTPException: the body under "detail".
    body = response.json()["detail"] if form == "BearerAuth" else response.json()
    assert body == expect["body"]


def test_the_header_reads_the_same_as_bytes_or_str() -> None:
    # ASGI hands the header over as bytes, other frameworks as str: one reading for both.
    for case in CASES:
        value = case["authorization"]
        expect = case["expect"]
        outcomes = []
        for form in (value,) if value is None else (value, value.encode("latin-1")):
            try:
                outcomes.append(_native.bearer_token(form))
            except jwtgate.MalformedTokenError as e:
                assert (e.kind, e.status) == ("invalid_request", 400)
                outcomes.append(e.message)
        assert len(set(outcomes)) == 1, case["name"]
        if expect["status"] == 400:
            assert outcomes[0] == expect["body"]["error_description"], case["name"]
        elif expect.get("body", {}).get("kind") == "missing_token":
            assert outcomes[0] is None, case["name"]
        else:
            assert outcomes[0] and value is not None and value.endswith(outcomes[0]), case["name"]
    # Not valid UTF-8: read as the ASCII grammar reads it, never an error of its own.
    with pytest.raises(jwtgate.MalformedTokenError):
        _native.bearer_token(b"Bearer \xff")
    assert _native.bearer_token(b"\xffasic x") is None
    with pytest.raises(TypeError):
        _native.bearer_token(42)  # type: ignore[arg-type]
