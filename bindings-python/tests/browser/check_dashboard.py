"""The dashboard in a real browser (issue 16): headless Chromium loads /admin/dashboard of the
FastAPI example app (examples/fastapi_app) while traffic runs, signs in with an admin token
the way a person does (the token field, never a URL), and checks that

- the charts move (the SVG paths change between two moments under traffic);
- once traffic stops, the numbers on the page are the validator's `stats()` (read through the
  app's own /admin/stats): refusals by kind, totals, cache figures, latency counts;
- the page made no request that left the host;

and saves a screenshot to target/dashboard.png. Run by `make -C bindings-python test`
(target `dashboard-test`); Chromium is Debian's `chromium` package, installed by that target
when missing. Exit status 0 on success. Chromium is driven over the DevTools protocol with a
small WebSocket client from the standard library (no driver package).
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, List, Optional

import jwt

ROOT = pathlib.Path(__file__).resolve().parents[3]
APP_DIR = ROOT / "examples" / "fastapi_app"
KEY = (ROOT / "tests" / "keys" / "rsa-a.pem").read_bytes()
SCREENSHOT = ROOT / "target" / "dashboard.png"
ADMIN_SCOPE = "jwtgate:admin"


def mint(scope: str = "read:items", lifetime: int = 3600) -> str:
    now = int(time.time())
    claims = {
        "iss": "https://issuer.test",
        "aud": "https://api.test",
        "sub": "browser-test",
        "scope": scope,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": "rsa-a", "typ": "at+jwt"})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, token: Optional[str] = None) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=5) as r:
        return json.loads(r.read())


# --- a WebSocket client, enough for the DevTools protocol (RFC 6455: client frames masked) ---


class WebSocket:
    def __init__(self, url: str) -> None:
        assert url.startswith("ws://")
        host_port, _, path = url[5:].partition("/")
        host, _, port = host_port.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(head.decode(errors="replace"))

    def _read(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("closed")
            out += chunk
        return out

    def send(self, text: str) -> None:
        data = text.encode()
        header = bytes([0x81])
        if len(data) < 126:
            header += bytes([0x80 | len(data)])
        elif len(data) < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(data))
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", len(data))
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self) -> str:
        message = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(n)
            opcode = b0 & 0x0F
            if opcode in (0x1, 0x0):
                message += payload
                if b0 & 0x80:
                    return message.decode()
            elif opcode == 0x8:
                raise ConnectionError("closed by the browser")


class Page:
    """One page target over the DevTools protocol."""

    def __init__(self, ws_url: str) -> None:
        self.ws = WebSocket(ws_url)
        self.next_id = 0
        self.events: List[Dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> Dict[str, Any]:
        self.next_id += 1
        mine = self.next_id
        self.ws.send(json.dumps({"id": mine, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mine:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def eval(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("chromium is not installed (make -C bindings-python dashboard-test installs it)")


def main() -> int:
    port = free_port()
    env = dict(os.environ, JWTGATE_ADMIN_SCOPE=ADMIN_SCOPE)
    app = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(APP_DIR), "--port", str(port), "--log-level", "warning", "app:app"],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    profile = tempfile.mkdtemp(prefix="jwtgate-chromium-")
    browser: Optional[subprocess.Popen[bytes]] = None
    stop = threading.Event()
    failures: List[str] = []

    def check(ok: bool, what: str) -> None:
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    try:
        for _ in range(100):
            try:
                get(base + "/")
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        admin = mint(ADMIN_SCOPE)
        users = [mint() for _ in range(5)]
        expired = mint(lifetime=-120)

        def traffic() -> None:
            i = 0
            while not stop.is_set():
                token = users[i % len(users)] if i % 10 else (expired if i % 20 else "garbage.token")
                if i % 37 == 0:
                    token = mint()  # a new token now and then: a cache miss, a local verification
                try:
                    urllib.request.urlopen(
                        urllib.request.Request(base + "/items", headers={"Authorization": f"Bearer {token}"}), timeout=5
                    ).read()
                except urllib.error.HTTPError:
                    pass
                i += 1
                time.sleep(0.004)

        threading.Thread(target=traffic, daemon=True).start()

        browser = subprocess.Popen(
            [
                chromium(),
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "--window-size=1400,1100",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        active = pathlib.Path(profile) / "DevToolsActivePort"
        for _ in range(300):
            if active.exists() and active.read_text().count("\n") >= 1:
                break
            time.sleep(0.1)
        devtools_port = int(active.read_text().split("\n")[0])
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{devtools_port}/json/list", timeout=5).read())
        page = Page(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"])
        page.call("Network.enable")
        page.call("Page.enable")
        page.call("Page.navigate", url=base + "/admin/dashboard")
        for _ in range(100):
            if page.eval("document.readyState") == "complete" and page.eval("!!window.jwtgateDashboard"):
                break
            time.sleep(0.1)
        check(page.eval("window.jwtgateDashboard.ticks") == 0, "no data before a token is given")
        # Sign in as a person does: the token in the field, then Connect.
        page.eval(f"document.getElementById('token').value = {json.dumps(admin)}; document.getElementById('login').requestSubmit(); true")
        for _ in range(100):
            if page.eval("window.jwtgateDashboard.ticks") >= 3:
                break
            time.sleep(0.1)
        check(page.eval("window.jwtgateDashboard.ticks") >= 3, "the page polls every second")
        check(page.eval("document.getElementById('token').value") == "", "the token field is emptied")
        first = page.eval("[document.getElementById('line-ok').getAttribute('d'), document.getElementById('line-p50').getAttribute('d')]")
        time.sleep(2.2)
        second = page.eval("[document.getElementById('line-ok').getAttribute('d'), document.getElementById('line-p50').getAttribute('d')]")
        check(bool(first[0]) and first[0] != second[0], "the rate chart moves under traffic")
        check(bool(second[1]), "the latency chart is drawn")
        rate = float(page.eval("document.getElementById('rate-ok').textContent") or 0)
        check(rate > 10, f"validations per second shown under traffic ({rate})")
        check(page.eval("document.getElementById('status').textContent") == "healthy", "status healthy")
        # The screenshot under traffic.
        shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        SCREENSHOT.write_bytes(base64.b64decode(shot["data"]))
        check(SCREENSHOT.stat().st_size > 10_000, f"screenshot saved to {SCREENSHOT}")

        stop.set()
        time.sleep(2.5)  # two polls after the last request of the traffic
        shown = page.eval(
            """(() => {
              const stat = (k) => Number(document.querySelector(`[data-stat="${k}"]`).textContent);
              const kinds = {};
              document.querySelectorAll('#rejections tr[data-kind]').forEach((tr) => { kinds[tr.dataset.kind] = Number(tr.children[1].textContent); });
              const lat = {};
              document.querySelectorAll('[data-lat]').forEach((td) => { lat[td.dataset.lat] = Number(td.dataset.value); });
              return { ok: stat('validations_ok'), failed: stat('validations_failed'), hits: stat('cache_hits'),
                       misses: stat('cache_misses'), entries: stat('cache_entries'), kinds, lat,
                       issuers: document.querySelectorAll('#issuers tr').length };
            })()"""
        )
        stats = get(base + "/admin/stats", admin)
        check(shown["failed"] == stats["validations_failed"], f"refused total {shown['failed']} == {stats['validations_failed']}")
        check(shown["kinds"] == stats["failures_by_kind"], f"refusals by kind {shown['kinds']} == {stats['failures_by_kind']}")
        check(shown["misses"] == stats["cache_misses"], f"misses {shown['misses']} == {stats['cache_misses']}")
        check(shown["entries"] == stats["cache_entries"], f"entries {shown['entries']} == {stats['cache_entries']}")
        local = stats["latency"]["validation"]["local"]
        check(shown["lat"]["local.count"] == local["count"], f"local verifications {shown['lat']['local.count']} == {local['count']}")
        check(shown["lat"]["local.p99_ns"] == local["p99_ns"], "local p99 as stats() says")
        # The page's own polls validate the admin token (cache hits): ok and hits run ahead of
        # what the page last showed by at most the polls since (2 per second).
        check(0 <= stats["validations_ok"] - shown["ok"] <= 6, f"ok total {shown['ok']} ~ {stats['validations_ok']}")
        check(0 <= stats["cache_hits"] - shown["hits"] <= 6, f"hits {shown['hits']} ~ {stats['cache_hits']}")
        check(stats["failures_by_kind"].get("expired", 0) > 0 and stats["failures_by_kind"].get("unsupported_token", 0) > 0, "traffic had refusals of two kinds")
        check(shown["issuers"] >= 2, "the key-set table has the issuer")

        requests = [e["params"]["request"]["url"] for e in page.events if e.get("method") == "Network.requestWillBeSent"]
        check(all(u.startswith(base + "/admin/") for u in requests), f"no request left the host ({len(requests)} requests)")
        check(not any(admin in u for u in requests), "the token is never in a URL")

    finally:
        stop.set()
        if browser is not None:
            browser.terminate()
            browser.wait(10)
        app.terminate()
        app.wait(10)
        shutil.rmtree(profile, ignore_errors=True)
    print(f"dashboard: {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
