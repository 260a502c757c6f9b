"""The example app in a real uvicorn server on 127.0.0.1, driven over HTTP with httpx: static
keys, and remote keys fetched from a JWKS server while requests are in flight."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from typing import Dict, Iterator, Optional

import httpx
import pytest

from conftest import AUDIENCE, EXAMPLE_APP, ISSUER, JwksServer, free_port, mint


# uvicorn shuts down gracefully on SIGTERM and then re-raises the signal (0.29+).
CLEAN_EXIT = (0, -signal.SIGTERM)


class Server:
    def __init__(self, config: Optional[pathlib.Path] = None) -> None:
        self.port = free_port()
        self.output = ""
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        if config is not None:
            env["JWTGATE_CONFIG"] = str(config)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app:app",
                "--app-dir",
                str(EXAMPLE_APP),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {self.proc.stdout.read() if self.proc.stdout else ''}")
            try:
                httpx.get(self.base + "/", timeout=1)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("uvicorn did not start within 30 s") from None
                time.sleep(0.05)

    def stop(self) -> int:
        # Stopped by its own PID, never by name.
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        if self.proc.stdout is not None and not self.proc.stdout.closed:
            self.output = self.proc.stdout.read()
            self.proc.stdout.close()
        return self.proc.returncode


@pytest.fixture
def static_server() -> Iterator[Server]:
    server = Server()
    yield server
    server.stop()


def bearer(token: str) -> Dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_real_server_static_keys(static_server: Server) -> None:
    with httpx.Client(base_url=static_server.base, timeout=10) as client:
        assert client.get("/").status_code == 200
        missing = client.get("/me")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        reader = mint(scope="read:items", sub="ada")
        me = client.get("/me", headers=bearer(reader))
        assert me.status_code == 200 and me.json()["sub"] == "ada"
        assert client.get("/me", headers=bearer(reader)).json()["source"] == "cache"
        assert client.get("/items", headers=bearer(reader)).status_code == 200
        denied = client.post("/items", json={"name": "cup"}, headers=bearer(reader))
        assert denied.status_code == 403
        assert 'error="insufficient_scope"' in denied.headers["www-authenticate"]
        expired = client.get("/me", headers=bearer(mint(lifetime=-3600)))
        assert expired.status_code == 401
        assert 'error="invalid_token"' in expired.headers["www-authenticate"]
        metrics = client.get("/metrics").text
        # /me twice, /items, POST /items with one token: one check, three hits.
        assert "jwtgate_cache_hits_total 3" in metrics
    assert static_server.stop() in CLEAN_EXIT, static_server.output


def test_real_server_remote_keys(jwks_server: JwksServer, tmp_path: pathlib.Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"issuer": ISSUER, "audience": AUDIENCE, "jwks_uri": jwks_server.url}))
    jwks_server.delay = 0.2
    server = Server(config)
    try:
        tokens = [mint(sub=f"u{i}") for i in range(16)]

        async def burst() -> None:
            import asyncio

            async with httpx.AsyncClient(base_url=server.base, timeout=10) as client:
                responses = await asyncio.gather(*(client.get("/me", headers=bearer(t)) for t in tokens))
                assert [r.json()["sub"] for r in responses] == [f"u{i}" for i in range(16)]
                # The event loop stayed responsive while keys were fetched.
                assert (await client.get("/")).status_code == 200

        import asyncio

        asyncio.run(burst())
        assert jwks_server.requests == 1
        health = httpx.get(server.base + "/healthz", timeout=10).json()
        assert health["jwks"]["loaded"] is True
    finally:
        assert server.stop() in CLEAN_EXIT, server.output
