"""Shared fixtures: the committed test keys, a token minter (PyJWT), and a real JWKS server on
loopback (http.server in a thread) for everything that needs remote keys."""

from __future__ import annotations

import http.server
import json
import pathlib
import socket
import threading
import time
import uuid
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

import jwtgate

ROOT = pathlib.Path(__file__).resolve().parents[2]
KEYS = ROOT / "tests" / "keys"
VECTORS = ROOT / "tests" / "vectors"
EXAMPLE_APP = ROOT / "examples" / "fastapi_app"

ISSUER = "https://issuer.test"
AUDIENCE = "https://api.test"


def private_key(name: str) -> Any:
    return serialization.load_pem_private_key((KEYS / f"{name}.pem").read_bytes(), password=None)


def public_jwk(name: str, kid: str, alg: str) -> Dict[str, Any]:
    key = private_key(name).public_key()
    if alg.startswith(("RS", "PS")):
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    elif alg.startswith("ES"):
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key))
    else:
        jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key))
    jwk.update(kid=kid, alg=alg, use="sig")
    return jwk


SIGNERS = {
    # kid: (key file, alg)
    "rsa-a": ("rsa-a", "RS256"),
    "rsa-b": ("rsa-b", "RS256"),
    "ec-p256": ("ec-p256", "ES256"),
}


def jwks_for(*kids: str) -> Dict[str, Any]:
    return {"keys": [public_jwk(SIGNERS[k][0], k, SIGNERS[k][1]) for k in kids]}


_PRIVATE: Dict[str, Any] = {}


def mint(
    *,
    kid: str = "rsa-a",
    typ: Optional[str] = "at+jwt",
    lifetime: float = 3600,
    now: Optional[float] = None,
    **claims: Any,
) -> str:
    """A signed token with sensible defaults; `claim=None` leaves a claim out."""
    file, alg = SIGNERS[kid]
    key = _PRIVATE.get(file)
    if key is None:
        key = _PRIVATE[file] = private_key(file)
    now = time.time() if now is None else now
    payload: Dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "iat": int(now),
        "exp": int(now + lifetime),
        "jti": uuid.uuid4().hex,
        "scope": "read:items profile",
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    headers: Dict[str, Any] = {"kid": kid}
    if typ is not None:
        headers["typ"] = typ
    return jwt.encode(payload, key, algorithm=alg, headers=headers)


@pytest.fixture
def validator() -> jwtgate.Validator:
    return jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks=jwks_for("rsa-a", "ec-p256"))


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that exit mid-request (the async-exit test does so on purpose) are expected.
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class JwksServer:
    """A JWKS endpoint on 127.0.0.1 with knobs: the document, a failure status, a delay."""

    def __init__(self) -> None:
        self.jwks: Dict[str, Any] = jwks_for("rsa-a", "ec-p256")
        self.status = 200
        self.delay = 0.0
        self.requests = 0
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                with server._lock:
                    server.requests += 1
                delay = server.delay
                if self.path.startswith("/slow"):
                    delay = max(delay, 1.0)
                if delay:
                    time.sleep(delay)
                body = json.dumps(server.jwks).encode()
                status = server.status
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "max-age=300")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class ScriptedServer:
    """An HTTP endpoint on 127.0.0.1 that gives its answers in order, for GET and POST alike:
    answer i is `answers[i]` (the last one repeats), each `(status, delay_seconds, body)`."""

    def __init__(self, answers: List[Tuple[int, float, Dict[str, Any]]], path: str = "/") -> None:
        self.answers = answers
        self.requests = 0
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                if length:
                    self.rfile.read(length)
                with server._lock:
                    index = min(server.requests, len(server.answers) - 1)
                    server.requests += 1
                status, delay, document = server.answers[index]
                if delay:
                    time.sleep(delay)
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = _answer  # noqa: N815 (http.server's names)
            do_POST = _answer  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def minter() -> Callable[..., str]:
    return mint
