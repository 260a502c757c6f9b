"""jwtgate: bearer-token (JWT) validation for Python APIs.

    import jwtgate

    validator = jwtgate.Validator(
        issuer="https://id.example.com",
        audience="https://api.example.com",
        token_type="at+jwt",
    )
    claims = validator.validate(token)          # or: await validator.validate_async(token)
    claims["sub"]

The engine is Rust (``jwtgate._native``); FastAPI integration is in ``jwtgate.fastapi``.
"""

import os as _os
import collections.abc as _abc

from . import _native
from ._errors import (
    ConfigError,
    ExpiredTokenError,
    InsufficientScopeError,
    InternalError,
    InvalidClaimsError,
    InvalidTokenError,
    JwtGateError,
    KeysNotLoadedError,
    MalformedTokenError,
    ProviderUnavailableError,
    RevokedTokenError,
    SignatureError,
)
from ._native import Claims, __version__
from ._validator import Validator

# `Claims` is a native class; registering it makes `isinstance(claims, Mapping)` true, so
# code (and FastAPI's encoder) that expects a Mapping takes it as one.
_abc.Mapping.register(Claims)

# Log records that the core's I/O threads produce (background key refreshes) are forwarded to
# `logging` when they happen, by the package's event thread (`_events`), which also forwards
# the last ones at exit while the interpreter can still run `logging`.
from . import _events

_events.start()
# Fleet mode: a forked child (gunicorn --preload, multiprocessing) restarts its Redis revocation
# subscription before it serves a result its parent cached.
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_native._after_fork)

__all__ = [
    "Claims",
    "ConfigError",
    "ExpiredTokenError",
    "InsufficientScopeError",
    "InternalError",
    "InvalidClaimsError",
    "InvalidTokenError",
    "JwtGateError",
    "KeysNotLoadedError",
    "MalformedTokenError",
    "ProviderUnavailableError",
    "RevokedTokenError",
    "SignatureError",
    "Validator",
    "__version__",
]
