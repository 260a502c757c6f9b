"""One FastAPI route, GET /items (scope read:items), for the HTTP benchmark
(benches/http/run.py): BENCH_AUTH=jwtgate | pyjwt | none | noop. Same token, same policy
(RS256, issuer, audience, exp, typ at+jwt, scope). `noop` is a Security dependency reading the
bearer token and the required scopes without checking anything: FastAPI's own cost of an auth
dependency, which any validator pays."""

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

elif AUTH == "noop":
    noop_bearer = HTTPBearer()

    async def noop(scopes: SecurityScopes, credentials: HTTPAuthorizationCredentials = Depends(noop_bearer)) -> str:
        return credentials.credentials

    @app.get("/items")
    async def items(token: str = Security(noop, scopes=["read:items"])) -> Any:
        return ITEMS

else:

    @app.get("/items")
    async def items() -> Any:
        return ITEMS
