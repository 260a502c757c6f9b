"""32 threads on one validator: the same answers as one thread, one key fetch."""

from __future__ import annotations

import threading
from typing import List

import jwtgate

from conftest import AUDIENCE, ISSUER, JwksServer, mint

THREADS = 32
ROUNDS = 40


def test_32_threads_validate_concurrently(jwks_server: JwksServer) -> None:
    validator = jwtgate.Validator(issuer=ISSUER, audience=AUDIENCE, jwks_uri=jwks_server.url)
    shared = [mint(sub=f"shared-{i}") for i in range(8)]
    expired = mint(lifetime=-3600)
    forged = shared[0][:-4] + ("AAAA" if not shared[0].endswith("AAAA") else "BBBB")
    barrier = threading.Barrier(THREADS)
    failures: List[str] = []
    counts = [0] * THREADS

    def work(index: int) -> None:
        own = [mint(sub=f"t{index}-{i}", kid="ec-p256" if i % 2 else "rsa-a") for i in range(4)]
        barrier.wait()
        try:
            for round_ in range(ROUNDS):
                token = shared[round_ % len(shared)]
                if validator.validate(token)["sub"] != f"shared-{round_ % len(shared)}":
                    failures.append("shared token: wrong claims")
                claims = validator.validate(own[round_ % len(own)])
                if claims["sub"] != f"t{index}-{round_ % len(own)}":
                    failures.append("own token: wrong claims")
                try:
                    validator.validate(expired if round_ % 2 else forged)
                    failures.append("a bad token was accepted")
                except jwtgate.InvalidTokenError:
                    pass
                counts[index] += 3
        except Exception as e:  # noqa: BLE001 (collected and asserted below)
            failures.append(repr(e))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert failures == []
    assert sum(counts) == THREADS * ROUNDS * 3
    stats = validator.stats()
    assert stats["validations_ok"] == THREADS * ROUNDS * 2
    assert stats["validations_failed"] == THREADS * ROUNDS
    # Single flight: 32 threads that all needed the keys at once, one request.
    assert jwks_server.requests == 1
    assert stats["jwks_fetches_ok"] == 1
