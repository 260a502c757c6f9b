"""One FastAPI route, GET /items (scope read:items), for the HTTP benchmark
(benches/http/run.py). BENCH_AUTH selects the protection; same token, same policy (RS256,
issuer, audience, exp, typ at+jwt, scope):

- ``none``: no auth at all (the baseline);
- ``noop``: the usual hand-written auth dependency shape, ``Security(dep, scopes=...)`` over
  FastAPI's ``HTTPBearer`` (two dependencies), checking nothing;
- ``noop-dep``: one ``Security`` dependency with exactly ``jwtgate.fastapi.BearerAuth``'s
  shape (a ``SecurityBase`` whose ``async __call__`` takes the connection and the security
  scopes) that reads the bearer token and checks nothing: FastAPI's own cost of the dependency
  jwtgate uses, which no validator written as a dependency can avoid;
- ``jwtgate``: ``Security(BearerAuth(validator), scopes=["read:items"])``;
- ``jwtgate-mw``: ``JwtGateMiddleware(validator, scopes=["read:items"])``, the ASGI middleware
  (no FastAPI dependency);
- ``pyjwt``: PyJWT in a sync ``def`` dependency over ``HTTPBearer``, as its users write it
  (FastAPI runs a sync dependency in its threadpool)."""

from __future__ import annotations

import os
import pathlib
from typing import Any, Dict

from fastapi import Depends, FastAPI, HTTPException, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG = ROOT / "examples" / "fastapi_app" / "demo-config.json"
ITEMS = [{"id": 1, "name": "teapot"}]
AUTH = os.environ.get("BENCH_AUTH", "jwtgate")
app = FastAPI()

if AUTH == "jwtgate":
    import jwtgate
    from jwtgate.fastapi import BearerAuth

    auth = BearerAuth(jwtgate.Validator.from_json(CONFIG.read_text()))

    @app.get("/items")
    async def items(claims: Any = Security(auth, scopes=["read:items"])) -> Any:
        return ITEMS

elif AUTH == "pyjwt":
    import jwt
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    private = load_pem_private_key((ROOT / "tests" / "keys" / "rsa-a.pem").read_bytes(), password=None)
    public = private.public_key()  # parsed once, as a careful PyJWT user would
    bearer = HTTPBearer()

    def check(credentials: HTTPAuthorizationCredentials = Depends(bearer)) -> Dict[str, Any]:
        token = credentials.credentials
        try:
            if jwt.get_unverified_header(token).get("typ", "").lower() not in ("at+jwt", "application/at+jwt"):
                raise jwt.InvalidTokenError("typ")
            claims: Dict[str, Any] = jwt.decode(
                token, public, algorithms=["RS256"], audience="https://api.test", issuer="https://issuer.test",
                options={"require": ["exp", "iss", "aud"]}, leeway=30,
            )
        except jwt.PyJWTError as e:
            raise HTTPException(401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from e
        if "read:items" not in str(claims.get("scope", "")).split():
            raise HTTPException(403)
        return claims

    @app.get("/items")
    async def items(claims: Dict[str, Any] = Depends(check)) -> Any:
        return ITEMS

elif AUTH == "jwtgate-mw":
    import jwtgate
    from jwtgate.fastapi import JwtGateMiddleware

    app.add_middleware(
        JwtGateMiddleware, validator=jwtgate.Validator.from_json(CONFIG.read_text()), scopes=["read:items"]
    )

    @app.get("/items")
    async def items() -> Any:
        return ITEMS

elif AUTH == "noop-dep":
    from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
    from fastapi.security.base import SecurityBase
    from starlette.requests import HTTPConnection

    class NoopAuth(SecurityBase):
        def __init__(self) -> None:
            self.model = HTTPBearerModel(bearerFormat="JWT")
            self.scheme_name = "NoopAuth"

        async def __call__(self, request: HTTPConnection, security_scopes: SecurityScopes) -> str:
            header = request.headers.get("authorization") or ""
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise HTTPException(401, headers={"WWW-Authenticate": "Bearer"})
            return token

    noop_auth = NoopAuth()

    @app.get("/items")
    async def items(token: str = Security(noop_auth, scopes=["read:items"])) -> Any:
        return ITEMS

elif AUTH == "noop":
    noop_bearer = HTTPBearer()

    async def noop(scopes: SecurityScopes, credentials: HTTPAuthorizationCredentials = Depends(noop_bearer)) -> str:
        return credentials.credentials

    @app.get("/items")
    async def items(token: str = Security(noop, scopes=["read:items"])) -> Any:
        return ITEMS

elif AUTH == "none":

    @app.get("/items")
    async def items() -> Any:
        return ITEMS

else:
    raise SystemExit(f"BENCH_AUTH={AUTH!r}: not a variant")
