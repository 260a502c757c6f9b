"""The exception hierarchy, and the one table from the core's error kinds to its classes.

Every error carries the core's stable ``kind`` (e.g. ``"expired"``), its numeric ``code`` and
the HTTP ``status`` a resource server should answer with. Messages never contain the token,
key material or secrets, and quoted input is bounded: they are safe to log. They are safe to
return to a client only where ``client_description`` is ``None`` (token faults): a provider's
unavailability names its URL and the OS error, which an unauthenticated client must not learn
(CWE-209); answer with ``client_description`` and log the message.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Type

from . import _native

#: kind -> (code, http_status, client_description), as the core defines them.
_KINDS: Dict[str, Tuple[int, int, Optional[str]]] = {
    kind: (code, status, client_description)
    for kind, code, status, _, _, client_description, _ in _native.ERROR_KINDS
}


class JwtGateError(Exception):
    """Base class of every jwtgate error.

    ``kind`` is the stable snake_case name, ``code`` the stable number, ``status`` the HTTP
    status to answer with and ``message`` the human-readable text. ``client_description`` is
    what to tell an HTTP client in place of ``message`` (the core's fixed text, e.g. "the
    authorization server is unavailable; retry later"), ``None`` when ``message`` is about the
    token and safe to return.
    """

    #: The kind an instance gets when it is raised by hand without one.
    default_kind = "internal"

    kind: str
    code: int
    status: int
    message: str
    client_description: Optional[str]

    def __init__(self, message: str = "", *, kind: Optional[str] = None) -> None:
        kind = kind if kind is not None else self.default_kind
        code, status, client_description = _KINDS.get(kind, _KINDS["internal"])
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.code = code
        self.status = status
        self.client_description = client_description

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}" if self.message else self.kind

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, kind={self.kind!r})"

    def __reduce__(self) -> Tuple[Any, ...]:
        # Pickles (multiprocessing, concurrent.futures) keep the kind.
        return (_rebuild, (type(self), self.message, self.kind))


def _rebuild(cls: Type[JwtGateError], message: str, kind: str) -> JwtGateError:
    return cls(message, kind=kind)


class InvalidTokenError(JwtGateError):
    """The token itself is bad (RFC 6750 ``invalid_token``, HTTP 401)."""

    default_kind = "malformed"


class MalformedTokenError(InvalidTokenError):
    """Not a well-formed compact JWS, too large, or with a header we refuse; or (kind
    ``invalid_request``, HTTP 400) an ``Authorization`` value that names the Bearer scheme but
    is not one RFC 6750 ``b64token``."""

    default_kind = "malformed"


class SignatureError(InvalidTokenError):
    """The signature does not verify, no key matches, or the algorithm is not allowed."""

    default_kind = "signature_invalid"


class ExpiredTokenError(InvalidTokenError):
    """``exp`` has passed (RFC 7519 §4.1.4)."""

    default_kind = "expired"


class InvalidClaimsError(InvalidTokenError):
    """A registered claim or the ``typ`` header fails the policy (issuer, audience, ...)."""

    default_kind = "invalid_claim"


class RevokedTokenError(InvalidTokenError):
    """Revoked by ``jti`` or subject, or reported inactive by introspection."""

    default_kind = "revoked"


class InsufficientScopeError(JwtGateError):
    """The token is valid but lacks a required scope (RFC 6750 §3.1, HTTP 403)."""

    default_kind = "insufficient_scope"


class ProviderUnavailableError(JwtGateError):
    """The provider or its keys cannot be reached (HTTP 503); retrying later may succeed."""

    default_kind = "provider_unavailable"


class KeysNotLoadedError(ProviderUnavailableError):
    """A network-free call (``validate_local``) needed keys that are not loaded yet."""

    default_kind = "keys_not_loaded"


class ConfigError(JwtGateError, ValueError):
    """The validator's configuration is invalid; the message starts with the field's name."""

    default_kind = "config"


class InternalError(JwtGateError):
    """A bug in jwtgate. Please report it."""

    default_kind = "internal"


#: The core's class names (``ErrorKind::class``), one per class of this hierarchy; a test
#: checks that every name the core uses is here.
_CLASS_BY_NAME: Dict[str, Type[JwtGateError]] = {
    "invalid_token": InvalidTokenError,
    "malformed": MalformedTokenError,
    "signature": SignatureError,
    "expired": ExpiredTokenError,
    "invalid_claims": InvalidClaimsError,
    "revoked": RevokedTokenError,
    "insufficient_scope": InsufficientScopeError,
    "provider_unavailable": ProviderUnavailableError,
    "keys_not_loaded": KeysNotLoadedError,
    "config": ConfigError,
    "internal": InternalError,
}

#: The one table from kind to class, read from the core: a kind lands in the same family in
#: every face.
_CLASS_BY_KIND: Dict[str, Type[JwtGateError]] = {
    kind: _CLASS_BY_NAME.get(class_name, JwtGateError) for kind, *_, class_name in _native.ERROR_KINDS
}


def _from_native(kind: str, message: str) -> JwtGateError:
    """Called by the extension module for every core error it raises."""
    return _CLASS_BY_KIND.get(kind, JwtGateError)(message, kind=kind)


# Shown as `jwtgate.ExpiredTokenError` in tracebacks and reprs, and pickled under that name.
for _cls in (JwtGateError, *_CLASS_BY_NAME.values()):
    _cls.__module__ = "jwtgate"
del _cls
