"""FastAPI / Starlette integration.

``BearerAuth`` is a dependency for ``Depends(...)`` and ``Security(..., scopes=[...])``: it
reads the ``Authorization: Bearer`` header, validates the token and returns its ``Claims``.
It appears in OpenAPI as an HTTP bearer scheme, so Swagger UI's "Authorize" button works.

``JwtGateMiddleware`` protects every route of an app except public paths and puts the claims
in ``request.state.claims``.

``admin_router(validator, scope="jwtgate:admin")`` is an ``APIRouter`` of the admin routes
(stats, health, metrics, JWKS refresh, cache clear, revoke, the dashboard), each protected by
``BearerAuth`` with the admin scope; the route rules and answers are the engine's
(``jwtgate::admin``).

Reading the header and answering a refusal are the engine's (``jwtgate::edge``, the same in
every face and held to ``tests/vectors/http.json``); this module adds only Starlette's side.
Errors follow RFC 6750 §3: no token → 401 with ``WWW-Authenticate: Bearer``; a bad token →
401 with ``error="invalid_token"``; a missing scope → 403 with ``error="insufficient_scope"``
and ``scope="..."``; an ``Authorization: Bearer`` value that is not one ``b64token`` → 400
``invalid_request``; the provider unreachable → 503. Error descriptions never contain the
token, and a 503 never carries the engine's message (it names the provider's URL and the OS
error: CWE-209): the client gets the engine's fixed description, the message goes to the
``jwtgate`` logger.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable, Dict, Iterable, List, MutableMapping, Optional, Sequence, Tuple

try:
    from fastapi import APIRouter, Depends, HTTPException, Request, Response
    from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
    from fastapi.security import SecurityScopes
    from fastapi.security.base import SecurityBase
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import HTTPConnection
except ImportError:  # pragma: no cover (depends on the environment)
    # Raised inside the handler: the original error stays attached as the context.
    raise ImportError("jwtgate.fastapi needs FastAPI: pip install 'jwtgate[fastapi]'")

from ._errors import ConfigError, InternalError, JwtGateError, KeysNotLoadedError
from ._native import Claims, admin_check_scope, admin_routes, bearer_token, edge_answer
from ._validator import Validator

__all__ = ["BearerAuth", "JwtGateMiddleware", "admin_router", "get_claims"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The engine's own logger (its records are forwarded there too): operators find the reason
# for a 503 next to the engine's JWKS and introspection warnings.
_log = logging.getLogger("jwtgate")
# Distinct scope lists a BearerAuth remembers merged (one per `Security(..., scopes=...)` use).
_MERGED_MAX = 256
# The core's kind for a request without bearer credentials (answered with a bare challenge).
_NO_CREDENTIALS = "missing_token"

Answer = Tuple[int, Dict[str, str], str]


def _authorization(scope: Scope) -> Optional[bytes]:
    """The ``Authorization`` header as ``Headers(scope=scope).get("authorization")`` reads it
    (the first one; names are lower-case in ASGI), as bytes, without building ``Headers``."""
    headers = scope["headers"]
    if type(headers) is not list:
        # What Starlette's Headers does: the scope may hold any iterable; read it once.
        headers = scope["headers"] = list(headers)
    for name, value in headers:
        if name == b"authorization":
            return value  # type: ignore[no-any-return]
    return None


_VALIDATE_ASYNC = Validator.validate_async


async def _claims_later(validator: Validator, header: Optional[bytes], scopes: Sequence[str]) -> Optional[Claims]:
    """What ``Validator._authorize`` (the one native call of a request) leaves to a coroutine:
    a validation that waits for keys, or one through a subclass's own ``validate_async``
    (always called when there is one)."""
    token = bearer_token(header)
    if token is None:
        return None
    if type(validator).validate_async is _VALIDATE_ASYNC:
        claims = await validator._validate_fetching(token)
    else:
        claims = await validator.validate_async(token)
    claims.require_scopes(scopes)
    return claims


def _answer(kind: str, message: str, realm: Optional[str], scopes: Sequence[str]) -> Answer:
    """The core's answer (RFC 6750 §3): status, headers (the challenge) and JSON body."""
    status, challenge, body = edge_answer(kind, message, realm, scopes)
    return status, ({"WWW-Authenticate": challenge} if challenge is not None else {}), body


def _refusal(e: JwtGateError, realm: Optional[str], scopes: Sequence[str]) -> Optional[Answer]:
    """The answer to a validation error; ``None`` for ConfigError and InternalError, faults of
    the server rather than answers to the client: they propagate and become 500s (the framework
    answers those without the message, and logs them). Where the core gives the client a fixed
    description instead of the message (CWE-209: an unreachable provider's message names its
    URL, the OS error or a credentials hint), the message goes to the log for operators."""
    if isinstance(e, (ConfigError, InternalError)):
        return None
    answer = _answer(e.kind, e.message, realm, scopes)
    if e.client_description is not None:
        _log.warning(
            "answering %s: %s: %s",
            answer[0],
            e.kind,
            e.message,
            extra={"jwtgate_target": "jwtgate::fastapi", "jwtgate_fields": {"kind": e.kind, "status": str(answer[0])}},
        )
    return answer


def _http_exception(answer: Answer) -> HTTPException:
    status, headers, body = answer
    return HTTPException(status, detail=json.loads(body), headers=headers)


def _merge(*groups: Iterable[str]) -> Tuple[str, ...]:
    merged: List[str] = []
    for group in groups:
        for scope in group:
            if scope not in merged:
                merged.append(scope)
    return tuple(merged)


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
        # The route's scopes -> this dependency's and the route's, merged.
        self._merged: Dict[Tuple[str, ...], Tuple[str, ...]] = {}

    async def __call__(self, request: HTTPConnection, security_scopes: SecurityScopes) -> Optional[Claims]:
        # The hot path of every protected request: no coroutine besides this one, one dict
        # lookup for the scopes, the header read from the ASGI scope, one native call.
        validator = self.validator
        header = _authorization(request.scope)
        route_scopes = tuple(security_scopes.scopes)
        scopes = self._merged.get(route_scopes)
        if scopes is None:
            scopes = _merge(self.scopes, route_scopes)
            if len(self._merged) < _MERGED_MAX:
                self._merged[route_scopes] = scopes
        try:
            if type(validator).validate_async is _VALIDATE_ASYNC:
                try:
                    claims = validator._authorize(header, scopes)
                except KeysNotLoadedError:
                    claims = await _claims_later(validator, header, scopes)
            else:
                claims = await _claims_later(validator, header, scopes)
        except JwtGateError as e:
            answer = _refusal(e, self.realm, scopes)
            if answer is None:
                raise
            raise _http_exception(answer) from None
        if claims is None:
            if not self.auto_error:
                return None
            raise _http_exception(_answer(_NO_CREDENTIALS, "", self.realm, scopes))
        # What `request.state.claims = claims` does, without building the State object.
        request.scope.setdefault("state", {})["claims"] = claims
        return claims


def get_claims(request: HTTPConnection) -> Claims:
    """A dependency returning the claims ``JwtGateMiddleware`` stored for this request."""
    claims = getattr(request.state, "claims", None)
    if claims is None:
        raise _http_exception(_answer(_NO_CREDENTIALS, "", None, ()))
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
        validator = self.validator
        header = _authorization(scope)
        scopes = self.scopes
        try:
            if type(validator).validate_async is _VALIDATE_ASYNC:
                try:
                    claims = validator._authorize(header, scopes)
                except KeysNotLoadedError:
                    claims = await _claims_later(validator, header, scopes)
            else:
                claims = await _claims_later(validator, header, scopes)
        except JwtGateError as e:
            answer = _refusal(e, self.realm, scopes)
            if answer is None:
                raise
            await _refuse(kind, send, answer)
            return
        if claims is None:
            await _refuse(kind, send, _answer(_NO_CREDENTIALS, "", self.realm, scopes))
            return
        scope.setdefault("state", {})["claims"] = claims
        await self.app(scope, receive, send)


async def _refuse(kind: str, send: Send, answer: Answer) -> None:
    """Sends ``answer``: as JSON to an HTTP request; a WebSocket is closed with 1008 (policy
    violation) before the handshake completes, the OAuth error as the reason."""
    status, headers, body = answer
    if kind == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": json.loads(body)["error"]})
        return
    payload = body.encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"cache-control", b"no-store"),
    ]
    raw_headers.extend((name.lower().encode(), value.encode("latin-1")) for name, value in headers.items())
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


# The engine refuses larger admin bodies; reading stops one byte past it.
_ADMIN_MAX_BODY = 16 * 1024


async def _admin_body(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _ADMIN_MAX_BODY:
            break
    return body


def admin_router(
    validator: Validator,
    *,
    scope: str,
    realm: Optional[str] = None,
    tags: Sequence[str] = ("jwtgate admin",),
) -> APIRouter:
    """The admin routes as an ``APIRouter``; mount it under a prefix of your choice:

        app.include_router(admin_router(validator, scope="jwtgate:admin"), prefix="/admin")

    ``GET stats``, ``GET health`` (503 while keys are unavailable), ``GET metrics`` (through
    ``jwtgate.prometheus`` when ``prometheus_client`` is installed, else the engine's text),
    ``POST jwks/refresh``, ``POST cache/clear``, ``POST revoke`` (``{"jti": ...}`` or
    ``{"sub": ...}``, anything else is a typed 400) and ``GET dashboard``. Every route but the
    dashboard page needs a bearer token that ``validator`` accepts and that carries ``scope``:
    none → 401, another scope → 403. ``scope`` has no default and cannot be empty: the routes
    are never open. The page holds no data: its script asks for a token and sends it in the
    ``Authorization`` header of its polls.
    """
    if not isinstance(scope, str):
        raise TypeError("scope must be a str")
    admin_check_scope(scope)
    auth = BearerAuth(validator, scopes=(scope,), realm=realm, scheme_name="jwtgateAdmin")
    router = APIRouter(tags=list(tags))
    metrics = _metrics_renderer(validator)
    for method, path, needs_token in admin_routes():
        router.add_api_route(
            "/" + path,
            _admin_endpoint(validator, method, path, metrics),
            methods=[method],
            dependencies=[Depends(auth)] if needs_token else [],
            include_in_schema=path != "dashboard",
            name=f"jwtgate_admin_{path.replace('/', '_')}",
        )
    return router


def _metrics_renderer(validator: Validator) -> Optional[Callable[[], Tuple[bytes, str]]]:
    try:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        from .prometheus import JwtGateCollector
    except ImportError:
        return None
    registry = CollectorRegistry(auto_describe=False)
    registry.register(JwtGateCollector(validator))
    return lambda: (generate_latest(registry), CONTENT_TYPE_LATEST)


def _admin_endpoint(
    validator: Validator,
    method: str,
    path: str,
    metrics: Optional[Callable[[], Tuple[bytes, str]]],
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        if path == "metrics" and metrics is not None:
            body, content_type = metrics()
            return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
        data = await _admin_body(request) if method == "POST" else b""
        if path == "jwks/refresh":
            # Blocks on the provider (GIL released): a worker thread, not the event loop.
            reply = await run_in_threadpool(validator._admin, method, path, data)
        else:
            reply = validator._admin(method, path, data)
        if reply is None:  # pragma: no cover (the table and the router come from one list)
            return Response(status_code=404)
        status, content_type, headers, text = reply
        return Response(text, status_code=status, headers=dict(headers), media_type=content_type)

    return endpoint
