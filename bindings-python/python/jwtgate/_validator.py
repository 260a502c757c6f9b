"""``Validator``: keyword-argument configuration, async validation and revocation on top of
the native validator."""

from __future__ import annotations

import asyncio
import datetime
import json
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

from . import _native
from ._errors import ConfigError, KeysNotLoadedError
from ._native import Claims

Timestamp = Union[int, float, datetime.datetime]


def _json_default(value: Any) -> Any:
    # Durations are seconds in the canonical schema; sets (e.g. of algorithms) are lists.
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    # Any mapping or sequence stands for a JSON object or array (`issuers` is typed
    # `Sequence[Mapping[str, Any]]`: a tuple of `MappingProxyType`s must work like a list of
    # dicts).
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def config_json(config: "dict[str, Any]") -> str:
    """The canonical JSON configuration for keyword arguments.

    Every option is passed through as is, so options the core adds later work without a
    change here; the core refuses unknown names (a typo must not silently turn a check off).
    """
    for name, value in config.items():
        try:
            json.dumps(value, allow_nan=False, default=_json_default)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{name}: {e}", kind="config") from None
    return json.dumps(config, allow_nan=False, default=_json_default)


def _seconds(name: str, value: Optional[Timestamp]) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"{name} must be Unix seconds or a datetime, not {type(value).__name__}")


class Validator(_native.Validator):
    """Validates bearer tokens for one issuer and policy, or for several (``issuers=``).

    ``Validator(issuer=..., audience=..., jwks_uri=...)`` takes the canonical options
    (docs/config.md). ``Validator(issuers=[{"issuer": ..., "audience": ...}, ...], leeway=...)``
    routes each token by its ``iss`` to that issuer's keys and policy; the global options (cache,
    timeouts, ...) stay keyword arguments. Thread-safe: share one per API and call it from any
    thread.
    """

    __slots__ = ()

    def __new__(
        cls, *, issuers: Optional[Sequence[Mapping[str, Any]]] = None, **config: Any
    ) -> "Validator":
        # Named only to be typed: it goes to the core like every other option.
        if issuers is not None:
            config["issuers"] = issuers
        return super().__new__(cls, config_json(config))

    @classmethod
    def from_json(cls, config: str) -> "Validator":
        """Builds a validator from the canonical JSON configuration text."""
        if not isinstance(config, str):
            raise TypeError(f"config must be str, not {type(config).__name__}")
        try:
            config.encode("utf-8")
        except UnicodeEncodeError:
            raise ConfigError("invalid configuration: not valid Unicode text", kind="config") from None
        return super().__new__(cls, config)

    async def validate_async(self, token: str) -> Claims:
        """Validates a token without blocking the event loop.

        A cache hit, or a token checked with keys already loaded, is answered at once on the
        calling thread. Only when keys must be fetched does the call move to the loop's
        default executor (the fetch itself runs on jwtgate's runtime; the executor thread
        waits for it with the GIL released). Asyncio futures are only ever completed by
        asyncio itself: no foreign thread touches the loop, so nothing can crash at exit.
        """
        try:
            return self.validate_local(token)
        except KeysNotLoadedError:
            pass
        return await self._validate_fetching(token)

    async def _validate_fetching(self, token: str) -> Claims:
        # The second half of validate_async (jwtgate.fastapi runs the first half inline).
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.validate, token)

    async def ready_async(self) -> None:
        """``ready()`` without blocking the event loop."""
        await asyncio.get_running_loop().run_in_executor(None, self.ready)

    async def refresh_keys_async(self, issuer: Optional[str] = None) -> None:
        """``refresh_keys()`` without blocking the event loop (a thread of the loop's default
        executor waits for the fetch, GIL released, as in ``ready_async``)."""
        await asyncio.get_running_loop().run_in_executor(None, self.refresh_keys, issuer)

    def revoke(
        self,
        *,
        jti: Optional[str] = None,
        sub: Optional[str] = None,
        issued_before: Optional[Timestamp] = None,
        until: Optional[Timestamp] = None,
    ) -> int:
        """Revokes tokens; returns how many cached results were dropped.

        ``jti=``: that token, until ``until`` (default: for the validator's lifetime).
        ``sub=``: every token of the subject issued at or before ``issued_before``
        (default: now).

        Raises ``ConfigError`` (a ``ValueError``) for an empty ``jti`` or ``sub``, an ``until``
        that is not finite or already past, or an ``issued_before`` that is not finite,
        negative or in the future: a revocation never fails open as a silent no-op.
        """
        if jti is None and sub is None:
            raise TypeError("revoke() needs jti= or sub=")
        if until is not None and jti is None:
            raise TypeError("until= applies to jti=")
        if issued_before is not None and sub is None:
            raise TypeError("issued_before= applies to sub=")
        removed = 0
        if jti is not None:
            removed += self.revoke_jti(jti, _seconds("until", until))
        if sub is not None:
            removed += self.revoke_subject(sub, _seconds("issued_before", issued_before))
        return removed
