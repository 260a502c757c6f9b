"""FastAPI / Starlette integration.

``BearerAuth`` is a dependency for ``Depends(...)`` and ``Security(..., scopes=[...])``: it
reads the ``Authorization: Bearer`` header, validates the token and returns its ``Claims``.
It appears in OpenAPI as an HTTP bearer scheme, so Swagger UI's "Authorize" button works.

``JwtGateMiddleware`` protects every route of an app except public paths and puts the claims
in ``request.state.claims``.

Errors follow RFC 6750 §3: no token → 401 with ``WWW-Authenticate: Bearer``; a bad token →
401 with ``error="invalid_token"``; a missing scope → 403 with ``error="insufficient_scope"``
and ``scope="..."``; a malformed ``Authorization`` header → 400 ``invalid_request``; the
provider unreachable → 503. Error descriptions never contain the token, and a 503 never
carries the engine's message (it names the provider's URL and the OS error: CWE-209): the
client gets the engine's fixed description, the message goes to the ``jwtgate`` logger.
"""

from __future__ import annotations

import json
import logging
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

from ._errors import (
    InsufficientScopeError,
    InvalidTokenError,
    JwtGateError,
    KeysNotLoadedError,
    ProviderUnavailableError,
)
from ._native import Claims
from ._validator import Validator

__all__ = ["BearerAuth", "JwtGateMiddleware", "bearer_challenge", "get_claims"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_MAX_DESCRIPTION = 200
# The engine's own logger (its records are forwarded there too): operators find the reason
# for a 503 next to the engine's JWKS and introspection warnings.
_log = logging.getLogger("jwtgate")
# Distinct scope lists a BearerAuth remembers merged (one per `Security(..., scopes=...)` use).
_MERGED_MAX = 256


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
        if description is not None:
            # The engine bounds what it quotes from the token; this bounds the whole text, so
            # no body carries more than a challenge would.
            description = description[:_MAX_DESCRIPTION]
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


def _authorization(scope: Scope) -> Optional[str]:
    """The ``Authorization`` header as ``Headers(scope=scope).get("authorization")`` reads it
    (the first one; names are lower-case in ASGI), without building the ``Headers`` object."""
    headers = scope["headers"]
    if type(headers) is not list:
        # What Starlette's Headers does: the scope may hold any iterable; read it once.
        headers = scope["headers"] = list(headers)
    for name, value in headers:
        if name == b"authorization":
            return value.decode("latin-1")  # type: ignore[no-any-return]
    return None


def _bearer_token(header: Optional[str], realm: Optional[str]) -> Optional[str]:
    """The bearer token of an ``Authorization`` value, ``None`` when it carries no Bearer
    credentials."""
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


_VALIDATE_ASYNC = Validator.validate_async


def _claims_now(validator: Validator, token: str) -> Optional[Claims]:
    """``await validator.validate_async(token)`` without the coroutine when it would not have
    awaited anything: a cache hit, or a token checked with keys already loaded (every request
    but those that wait for keys). ``None`` when it would have: then ``await _claims_later``.
    Raises what ``validate_async`` raises."""
    if type(validator).validate_async is not _VALIDATE_ASYNC:
        return None  # a subclass with its own validate_async: always through it
    try:
        return validator.validate_local(token)
    except KeysNotLoadedError:
        return None


async def _claims_later(validator: Validator, token: str) -> Claims:
    """The rest of ``validate_async`` after ``_claims_now`` answered ``None``."""
    if type(validator).validate_async is not _VALIDATE_ASYNC:
        return await validator.validate_async(token)
    return await validator._validate_fetching(token)


def _client_description(e: JwtGateError) -> str:
    """What the client is told about ``e``: the message when it is about the token, else the
    engine's fixed description, with the message logged for operators (CWE-209: a provider's
    message names its URL, the OS error or a credentials hint)."""
    if e.client_description is None:
        return e.message
    _log.warning(
        "answering %s: %s: %s",
        e.status,
        e.kind,
        e.message,
        extra={"jwtgate_target": "jwtgate::fastapi", "jwtgate_fields": {"kind": e.kind, "status": str(e.status)}},
    )
    return e.client_description


def _refusal(e: JwtGateError, scopes: Sequence[str], realm: Optional[str]) -> Optional[_Denied]:
    """The answer to a validation error; ``None`` for ConfigError and InternalError, faults of
    the server rather than answers to the client: they propagate and become 500s (the
    framework answers those without the message)."""
    if isinstance(e, InvalidTokenError):
        return _Denied(401, error="invalid_token", description=_client_description(e), kind=e.kind, realm=realm)
    if isinstance(e, InsufficientScopeError):
        return _Denied(
            403,
            error="insufficient_scope",
            description=_client_description(e),
            scope=" ".join(scopes),
            kind=e.kind,
            realm=realm,
        )
    if isinstance(e, ProviderUnavailableError):
        return _Denied(503, error="temporarily_unavailable", description=_client_description(e), kind=e.kind)
    return None


def _check_now(validator: Validator, token: str, scopes: Sequence[str], realm: Optional[str]) -> Optional[Claims]:
    """The claims, checked against ``scopes``, when no await is needed (see ``_claims_now``);
    ``None`` otherwise: then ``await _check_later``. A refusal raises ``_Denied``."""
    try:
        claims = _claims_now(validator, token)
        if claims is not None and scopes:
            claims.require_scopes(scopes)
        return claims
    except JwtGateError as e:
        denied = _refusal(e, scopes, realm)
        if denied is None:
            raise
        raise denied from None


async def _check_later(validator: Validator, token: str, scopes: Sequence[str], realm: Optional[str]) -> Claims:
    """``_check_now`` for the requests it left: validation that waits for keys."""
    try:
        claims = await _claims_later(validator, token)
        if scopes:
            claims.require_scopes(scopes)
        return claims
    except JwtGateError as e:
        denied = _refusal(e, scopes, realm)
        if denied is None:
            raise
        raise denied from None


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
        self._merged: Dict[Tuple[Tuple[str, ...], Tuple[str, ...]], Tuple[str, ...]] = {}

    async def __call__(self, request: HTTPConnection, security_scopes: SecurityScopes) -> Optional[Claims]:
        # The hot path of every protected request: no coroutine besides this one, one dict
        # lookup for the scopes, the header read from the ASGI scope.
        realm = self.realm
        try:
            token = _bearer_token(_authorization(request.scope), realm)
            if token is None:
                if not self.auto_error:
                    return None
                raise _Denied(401, realm=realm, description="bearer token required")
            scopes = self._required(security_scopes.scopes)
            claims = _check_now(self.validator, token, scopes, realm)
            if claims is None:
                claims = await _check_later(self.validator, token, scopes, realm)
        except _Denied as denied:
            raise HTTPException(denied.status, detail=denied.body(), headers=denied.headers) from None
        # What `request.state.claims = claims` does, without building the State object.
        request.scope.setdefault("state", {})["claims"] = claims
        return claims

    def _required(self, route_scopes: List[str]) -> Sequence[str]:
        """This dependency's scopes and the route's, merged once per distinct pair."""
        key = (self.scopes, tuple(route_scopes))
        merged = self._merged.get(key)
        if merged is None:
            merged = tuple(_merge(*key))
            if len(self._merged) < _MERGED_MAX:
                self._merged[key] = merged
        return merged


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
        if (
            self.allow_preflight
            and kind == "http"
            and scope["method"] == "OPTIONS"
            and "access-control-request-method" in HTTPConnection(scope).headers
        ):
            await self.app(scope, receive, send)
            return
        try:
            token = _bearer_token(_authorization(scope), self.realm)
            if token is None:
                raise _Denied(401, realm=self.realm, description="bearer token required")
            claims = _check_now(self.validator, token, self.scopes, self.realm)
            if claims is None:
                claims = await _check_later(self.validator, token, self.scopes, self.realm)
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
