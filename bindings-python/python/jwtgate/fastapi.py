"""FastAPI / Starlette integration.

``BearerAuth`` is a dependency for ``Depends(...)`` and ``Security(..., scopes=[...])``: it
reads the ``Authorization: Bearer`` header, validates the token and returns its ``Claims``.
It appears in OpenAPI as an HTTP bearer scheme, so Swagger UI's "Authorize" button works.

``JwtGateMiddleware`` protects every route of an app except public paths and puts the claims
in ``request.state.claims``.

Errors follow RFC 6750 §3: no token → 401 with ``WWW-Authenticate: Bearer``; a bad token →
401 with ``error="invalid_token"``; a missing scope → 403 with ``error="insufficient_scope"``
and ``scope="..."``; a malformed ``Authorization`` header → 400 ``invalid_request``; the
provider unreachable → 503. Error descriptions never contain the token.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Mapping, MutableMapping, Optional, Sequence, Tuple

try:
    from fastapi import HTTPException
    from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
    from fastapi.security import SecurityScopes
    from fastapi.security.base import SecurityBase
    from starlette.requests import HTTPConnection
except ImportError:  # pragma: no cover (depends on the environment)
    # Raised inside the handler: the original error stays attached as the context.
    raise ImportError("jwtgate.fastapi needs FastAPI: pip install 'jwtgate[fastapi]'")

from ._errors import InsufficientScopeError, InvalidTokenError, ProviderUnavailableError
from ._native import Claims
from ._validator import Validator

__all__ = ["BearerAuth", "JwtGateMiddleware", "bearer_challenge", "get_claims"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_MAX_DESCRIPTION = 200


def _quoted(text: str) -> str:
    # RFC 6750 §3: error_description and scope values are limited to %x20-21 / %x23-5B /
    # %x5D-7E (printable ASCII without `"` and `\`); anything else would break the header.
    cleaned = "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in text)
    return cleaned[:_MAX_DESCRIPTION]


def bearer_challenge(
    *,
    realm: Optional[str] = None,
    error: Optional[str] = None,
    description: Optional[str] = None,
    scope: Optional[str] = None,
) -> str:
    """A ``WWW-Authenticate`` value for the Bearer scheme (RFC 6750 §3)."""
    params = []
    if realm:
        params.append(f'realm="{_quoted(realm)}"')
    if error:
        params.append(f'error="{error}"')
    if description:
        params.append(f'error_description="{_quoted(description)}"')
    if scope:
        params.append(f'scope="{_quoted(scope)}"')
    return "Bearer " + ", ".join(params) if params else "Bearer"


class _Denied(Exception):
    """A refusal, with everything needed to answer it in either integration."""

    def __init__(
        self,
        status: int,
        *,
        error: Optional[str] = None,
        description: Optional[str] = None,
        scope: Optional[str] = None,
        kind: Optional[str] = None,
        realm: Optional[str] = None,
    ) -> None:
        super().__init__(description or error or "unauthorized")
        self.status = status
        self.error = error
        self.description = description
        self.kind = kind
        headers: Dict[str, str] = {}
        if status in (400, 401, 403):
            # RFC 6750 §3.1: without an error code (no credentials at all), no description.
            headers["WWW-Authenticate"] = bearer_challenge(
                realm=realm, error=error, description=description if error else None, scope=scope
            )
        self.headers = headers

    def body(self) -> Dict[str, Any]:
        body: Dict[str, Any] = {"error": self.error or "unauthorized"}
        if self.description:
            body["error_description"] = self.description
        if self.kind:
            body["kind"] = self.kind
        return body


def _token_from(connection: HTTPConnection, realm: Optional[str]) -> Optional[str]:
    """The bearer token, ``None`` when the request carries no Bearer credentials."""
    header = connection.headers.get("authorization")
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer":
        # RFC 6750 §3.1: another scheme is "no authentication information": no error code.
        return None
    token = credentials.strip(" ")
    if not token or " " in token:
        raise _Denied(
            400,
            error="invalid_request",
            description="the Authorization header must be 'Bearer <token>'",
            realm=realm,
        )
    return token


async def _check(
    validator: Validator, token: str, scopes: Sequence[str], realm: Optional[str]
) -> Claims:
    try:
        claims = await validator.validate_async(token)
        if scopes:
            claims.require_scopes(scopes)
        return claims
    except InvalidTokenError as e:
        raise _Denied(401, error="invalid_token", description=e.message, kind=e.kind, realm=realm) from None
    except InsufficientScopeError as e:
        raise _Denied(
            403,
            error="insufficient_scope",
            description=e.message,
            scope=" ".join(scopes),
            kind=e.kind,
            realm=realm,
        ) from None
    # ConfigError and InternalError are faults of the server, not answers to the client: they
    # propagate and become 500s.
    except ProviderUnavailableError as e:
        raise _Denied(503, error="temporarily_unavailable", description=e.message, kind=e.kind) from None


def _merge(*groups: Iterable[str]) -> List[str]:
    merged: List[str] = []
    for group in groups:
        for scope in group:
            if scope not in merged:
                merged.append(scope)
    return merged


class BearerAuth(SecurityBase):
    """A FastAPI security dependency that validates the request's bearer token.

    ``Depends(auth)`` requires a valid token; ``Security(auth, scopes=["items:read"])`` also
    requires those scopes (read from the ``scope`` claim, space-separated, or ``scp``, an
    array). The dependency's value is the token's ``Claims``, also stored in
    ``request.state.claims``.

    ``auto_error=False`` returns ``None`` instead of answering 401 when the request carries no
    bearer token at all (optional authentication); a bad token is still refused.
    """

    def __init__(
        self,
        validator: Validator,
        *,
        scopes: Sequence[str] = (),
        scheme_name: Optional[str] = None,
        description: Optional[str] = None,
        realm: Optional[str] = None,
        auto_error: bool = True,
    ) -> None:
        self.validator = validator
        self.scopes = tuple(scopes)
        self.model = HTTPBearerModel(bearerFormat="JWT", description=description)
        self.scheme_name = scheme_name or type(self).__name__
        self.realm = realm
        self.auto_error = auto_error

    async def __call__(self, request: HTTPConnection, security_scopes: SecurityScopes) -> Optional[Claims]:
        try:
            token = _token_from(request, self.realm)
            if token is None:
                if not self.auto_error:
                    return None
                raise _Denied(401, realm=self.realm, description="bearer token required")
            claims = await _check(
                self.validator, token, _merge(self.scopes, security_scopes.scopes), self.realm
            )
        except _Denied as denied:
            raise HTTPException(denied.status, detail=denied.body(), headers=denied.headers) from None
        request.state.claims = claims
        return claims


def get_claims(request: HTTPConnection) -> Claims:
    """A dependency returning the claims ``JwtGateMiddleware`` stored for this request."""
    claims = getattr(request.state, "claims", None)
    if claims is None:
        raise HTTPException(
            401,
            detail={"error": "unauthorized", "error_description": "bearer token required"},
            headers={"WWW-Authenticate": "Bearer"},
        )
    return claims  # type: ignore[no-any-return]


def _path_matcher(paths: Iterable[str]) -> Callable[[str], bool]:
    exact = set()
    prefixes: List[str] = []
    for path in paths:
        if path.endswith("*"):
            prefixes.append(path[:-1])
        else:
            exact.add(path)
    frozen_prefixes: Tuple[str, ...] = tuple(prefixes)
    return lambda path: path in exact or (bool(frozen_prefixes) and path.startswith(frozen_prefixes))


class JwtGateMiddleware:
    """ASGI middleware that requires a valid bearer token on every HTTP and WebSocket request,
    except ``public_paths`` (exact paths, or prefixes ending in ``*``: ``"/static/*"``) and
    CORS preflight requests.

    The claims go to ``request.state.claims`` (use ``get_claims`` as a dependency). Refused
    HTTP requests get the RFC 6750 answer as JSON; refused WebSockets are closed with 1008
    (policy violation) before the handshake completes.

        app.add_middleware(JwtGateMiddleware, validator=validator,
                           public_paths=["/health", "/docs", "/openapi.json"])
    """

    def __init__(
        self,
        app: ASGIApp,
        validator: Validator,
        *,
        public_paths: Iterable[str] = (),
        scopes: Sequence[str] = (),
        realm: Optional[str] = None,
        allow_preflight: bool = True,
    ) -> None:
        self.app = app
        self.validator = validator
        self.is_public = _path_matcher(public_paths)
        self.scopes = tuple(scopes)
        self.realm = realm
        self.allow_preflight = allow_preflight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket") or self.is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        if (
            self.allow_preflight
            and kind == "http"
            and scope["method"] == "OPTIONS"
            and "access-control-request-method" in connection.headers
        ):
            await self.app(scope, receive, send)
            return
        try:
            token = _token_from(connection, self.realm)
            if token is None:
                raise _Denied(401, realm=self.realm, description="bearer token required")
            claims = await _check(self.validator, token, self.scopes, self.realm)
        except _Denied as denied:
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1008, "reason": denied.error or ""})
            else:
                await _send_json(send, denied.status, denied.body(), denied.headers)
            return
        scope.setdefault("state", {})["claims"] = claims
        await self.app(scope, receive, send)


async def _send_json(send: Send, status: int, body: Mapping[str, Any], headers: Mapping[str, str]) -> None:
    payload = json.dumps(body).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"cache-control", b"no-store"),
    ]
    raw_headers.extend((name.lower().encode(), value.encode("latin-1")) for name, value in headers.items())
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})
