"""60 fresh interpreters `await validate_async(...)` and exit: zero crashes.

pyo3-async-runtimes completes asyncio futures from tokio threads, which crashes when that
happens during interpreter shutdown (PyO3/pyo3-async-runtimes#40; 13 of 20 runs here). jwtgate
never lets a foreign thread touch the loop or the interpreter; this test holds it to that,
including with fetches in flight and validations abandoned at exit.
"""

from __future__ import annotations

import concurrent.futures
import os
import pathlib
import signal
import subprocess
import sys
from typing import Tuple

from conftest import JwksServer, mint

CHILD = pathlib.Path(__file__).with_name("async_exit_child.py")
SCENARIOS = ["fetch", "fetch-then-hit", "gather", "exit-during-fetch", "abandoned-task", "events-at-exit"]
RUNS = 60


def _run(scenario: str, server: JwksServer, token: str) -> Tuple[str, int, str, str]:
    slow = server.url.replace("/jwks", "/slow")
    proc = subprocess.run(
        [sys.executable, str(CHILD), scenario, server.url, slow, token],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )
    return scenario, proc.returncode, proc.stdout, proc.stderr


def test_60_fresh_interpreters_exit_cleanly(jwks_server: JwksServer) -> None:
    token = mint()
    runs = [SCENARIOS[i % len(SCENARIOS)] for i in range(RUNS)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda s: _run(s, jwks_server, token), runs))
    failures = []
    for scenario, code, out, err in results:
        if code != 0 or out.strip() != "ok" or "Fatal Python error" in err or "panicked" in err:
            how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
            failures.append(f"{scenario}: {how}\n{err[-2000:]}")
    assert len(results) == RUNS
    assert not failures, f"{len(failures)} of {RUNS} runs failed:\n" + "\n".join(failures)
