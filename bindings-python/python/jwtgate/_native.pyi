"""The extension module (Rust). Use the names re-exported by ``jwtgate`` instead."""

from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, Sequence, ValuesView
from typing import Any, ClassVar, final, overload

from typing_extensions import Self, disjoint_base

__all__ = [
    "BUILD_PROFILE",
    "Claims",
    "ERROR_KINDS",
    "Validator",
    "__version__",
    "bearer_token",
    "edge_answer",
    "flush_logs",
    "_set_release_gil",
    "_after_fork",
    "_events_fd",
    "_wake_events",
    "admin_check_scope",
    "admin_routes",
]

__version__: str
BUILD_PROFILE: str
"""``"release"`` or ``"debug"``: how the extension was compiled."""
ERROR_KINDS: tuple[tuple[str, int, int, bool, bool, str | None, str], ...]
"""``(kind, code, http_status, is_token_fault, is_unavailable, client_description, class)`` for
every core error kind; ``client_description`` is ``None`` for token faults, ``class`` the
core's class name (``"malformed"``, ``"expired"``, ...)."""

@final
class Claims(Mapping[str, Any]):
    """The verified claims of a token: a read-only mapping, shared with the result cache."""

    def __getitem__(self, key: str, /) -> Any: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[str]: ...
    def __contains__(self, key: object, /) -> bool: ...
    @overload
    def get(self, key: str, default: None = None) -> Any | None: ...
    @overload
    def get(self, key: str, default: Any) -> Any: ...
    def keys(self) -> KeysView[str]: ...
    def values(self) -> ValuesView[Any]: ...
    def items(self) -> ItemsView[str, Any]: ...
    def to_dict(self) -> dict[str, Any]:
        """The claims as a new ``dict``."""
    @property
    def json(self) -> str:
        """The payload JSON exactly as the token carried it."""
    @property
    def header(self) -> dict[str, Any]:
        """The protected header (``alg``, ``kid``, ``typ``, ...)."""
    @property
    def scopes(self) -> tuple[str, ...]:
        """Granted scopes: ``scope`` (space-separated) and ``scp`` (array or string)."""
    @property
    def source(self) -> str:
        """Where the answer came from: ``"cache"`` (the result cache), ``"local"`` (signature
        and claims checked for this call) or ``"introspection"`` (the provider asked)."""
    @property
    def expires_at(self) -> float | None:
        """``exp`` as Unix seconds."""
    def require_scopes(self, scopes: str | Iterable[str]) -> None:
        """Raises ``InsufficientScopeError`` unless every scope was granted."""
    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """Pydantic/FastAPI serialise claims as their dict."""
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@disjoint_base
class Validator:
    """The native validator; ``jwtgate.Validator`` adds keyword configuration and async."""

    def __new__(cls, config_json: str) -> Self: ...
    def validate(self, token: str) -> Claims:
        """Validates a token, fetching keys first when needed (GIL released past the cache)."""
    def validate_local(self, token: str) -> Claims:
        """Validates without network I/O; ``KeysNotLoadedError`` where a fetch is needed."""
    def _authorize(self, authorization: bytes | str | None, scopes: Sequence[str]) -> Claims | None:
        """The HTTP integrations' one call per request: the bearer token of an
        ``Authorization`` value, ``validate_local``, then the required scopes. ``None`` when
        the request carries no bearer credentials."""
    def ready(self) -> None:
        """Loads remote keys now (blocking, bounded by ``fetch_timeout``)."""
    def refresh_keys(self, issuer: str | None = None) -> None:
        """Fetches the key sets now, every issuer's or (with ``issuer``) that issuer's, unless a
        fetch of that set started in the last second (blocking, bounded by ``fetch_timeout``).
        Fails like ``ready``; an issuer that is not configured raises ``ConfigError``."""
    def clear_cache(self) -> int:
        """Drops every cached result; returns how many."""
    def revoke_jti(self, jti: str, until: float | None = None) -> int:
        """Revokes a token by ``jti`` until ``until`` (Unix seconds; ``None``: for the
        validator's lifetime); returns how many cached results were dropped. An empty ``jti``
        or an ``until`` that is not finite or already past raises ``ConfigError``."""
    def revoke_subject(self, sub: str, issued_before: float | None = None) -> int:
        """Revokes every token of ``sub`` issued at or before ``issued_before`` (Unix seconds;
        ``None``: now); returns how many cached results were dropped. An empty ``sub`` or an
        ``issued_before`` that is not finite, negative or in the future raises
        ``ConfigError``."""
    def stats(self) -> dict[str, Any]:
        """Counters: validations, cache, JWKS fetches (``jwks_refreshes`` by reason), ..."""
    def metrics_text(self) -> str:
        """The counters in Prometheus text format."""
    def health(self) -> dict[str, Any]:
        """Issuer, key source, JWKS state, cache size; ``issuers``: every issuer's part."""
    def metric_families(self) -> list[dict[str, Any]]:
        """The Prometheus text's families as data: ``name``, ``help``, ``type``, ``samples``
        (``name``, ``labels`` as ``(name, value)`` pairs, ``value``)."""
    def _admin(
        self, method: str, path: str, body: bytes
    ) -> tuple[int, str, list[tuple[str, str]], str] | None:
        """An admin route's answer ``(status, content type, headers, body)``; blocks for
        ``jwks/refresh``."""

def bearer_token(authorization: bytes | str | None) -> str | None:
    """The token of a bearer ``Authorization`` value (RFC 6750 §2.1); ``None`` without bearer
    credentials; ``MalformedTokenError`` (``invalid_request``) when it is not one b64token."""

def edge_answer(
    kind: str, message: str, realm: str | None, scopes: Sequence[str]
) -> tuple[int, str | None, str]:
    """The core's answer to a refusal: ``(status, WWW-Authenticate value or None, JSON body)``."""

def flush_logs() -> None:
    """Forwards log records queued by jwtgate's I/O threads to ``logging``."""

def admin_routes() -> list[tuple[str, str, bool]]:
    """The admin routes: ``(method, path, needs_token)``."""

def admin_check_scope(scope: str) -> None:
    """``ConfigError`` unless ``scope`` is one scope token."""

def _events_fd() -> int:
    """A new socket for the event thread; the descriptor to read."""

def _wake_events() -> None:
    """Wakes the event thread."""

def _set_release_gil(release: bool) -> None:
    """Benchmark only: ``False`` keeps the GIL during ``validate_local``'s signature checks."""

def _after_fork() -> None:
    """Called in a forked child: fleet-mode validators restart their Redis subscription."""
