"""A FastAPI app protected by jwtgate: public, protected and scoped routes.

Configuration: the canonical JSON schema (docs/config.md), read from the file named by
JWTGATE_CONFIG, else from demo-config.json next to this file (the committed test keys;
mint tokens for it with mint_token.py). Run: see README.md.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any, Dict, List

from fastapi import Depends, FastAPI, Security
from fastapi.responses import PlainTextResponse

import jwtgate
from jwtgate.fastapi import BearerAuth, admin_router

HERE = pathlib.Path(__file__).resolve().parent
CONFIG = pathlib.Path(os.environ.get("JWTGATE_CONFIG", HERE / "demo-config.json"))

validator = jwtgate.Validator.from_json(CONFIG.read_text())
auth = BearerAuth(validator, description="An access token from the issuer in the config")

app = FastAPI(title="jwtgate FastAPI example")

# The admin routes (stats, health, metrics, jwks/refresh, cache/clear, revoke) and the live
# dashboard under /admin: tokens with the `jwtgate:admin` scope only (JWTGATE_ADMIN_SCOPE).
# Open /admin/dashboard and paste such a token (python mint_token.py --scope jwtgate:admin).
ADMIN_SCOPE = os.environ.get("JWTGATE_ADMIN_SCOPE", "jwtgate:admin")
app.include_router(admin_router(validator, scope=ADMIN_SCOPE), prefix="/admin")

ITEMS: List[Dict[str, Any]] = [{"id": 1, "name": "teapot"}]


@app.get("/")
async def index() -> Dict[str, str]:
    """Public: no token needed."""
    return {"service": "jwtgate example", "jwtgate": jwtgate.__version__}


def _without_operator_details(value: Any) -> Any:
    """``health()`` minus what only operators may see (CWE-209): ``last_error`` names the
    provider's URL and the OS error, ``introspection.endpoint`` the provider's URL."""
    if isinstance(value, dict):
        return {
            key: _without_operator_details(item)
            for key, item in value.items()
            if key != "last_error" and not (key == "endpoint" and isinstance(item, str) and "://" in item)
        }
    if isinstance(value, list):
        return [_without_operator_details(item) for item in value]
    return value


@app.get("/healthz")
def healthz() -> Dict[str, Any]:
    """Public: the validator's health (key source, JWKS state, cache size), without error
    details; the full report (``validator.health()``) belongs behind authentication."""
    public: Dict[str, Any] = _without_operator_details(validator.health())
    return public


@app.get("/metrics", response_class=PlainTextResponse)
def metrics() -> str:
    """Public here for the demo: Prometheus counters."""
    return validator.metrics_text()


@app.get("/me")
async def me(claims: jwtgate.Claims = Depends(auth)) -> Dict[str, Any]:
    """Protected: any valid token."""
    return {"sub": claims["sub"], "scopes": list(claims.scopes), "source": claims.source}


@app.get("/items")
async def list_items(claims: jwtgate.Claims = Security(auth, scopes=["read:items"])) -> List[Dict[str, Any]]:
    """Scoped: needs `read:items`."""
    return ITEMS


@app.post("/items", status_code=201)
def create_item(item: Dict[str, Any], claims: jwtgate.Claims = Security(auth, scopes=["write:items"])) -> Dict[str, Any]:
    """Scoped: needs `write:items`. A sync route: FastAPI runs it in its threadpool, the
    (async) dependency still validates on the event loop."""
    created = {"id": len(ITEMS) + 1, "name": str(item.get("name", "")), "owner": claims["sub"]}
    ITEMS.append(created)
    return created
