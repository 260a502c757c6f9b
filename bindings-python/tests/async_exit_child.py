"""One fresh interpreter for test_async_exit.py: validate through `await validate_async(...)`
in one of several shapes, then exit at once. The parent checks the exit status."""

import asyncio
import sys

import jwtgate


async def main(scenario: str, jwks_uri: str, slow_uri: str, token: str) -> None:
    config = {"issuer": "https://issuer.test", "audience": "https://api.test"}
    validator = jwtgate.Validator(**config, jwks_uri=jwks_uri)
    if scenario == "fetch":
        # Keys not loaded: the executor thread waits for jwtgate's runtime to fetch them.
        assert (await validator.validate_async(token))["sub"] == "user-1"
    elif scenario == "fetch-then-hit":
        await validator.validate_async(token)
        assert (await validator.validate_async(token)).source == "cache"
    elif scenario == "gather":
        results = await asyncio.gather(*(validator.validate_async(token) for _ in range(16)))
        assert all(c["sub"] == "user-1" for c in results)
    elif scenario == "exit-during-fetch":
        # A background fetch (started by the network-free path) is still in flight on a
        # tokio thread, and will log from there, when the interpreter shuts down.
        slow = jwtgate.Validator(**config, jwks_uri=slow_uri)
        try:
            slow.validate_local(token)
        except jwtgate.KeysNotLoadedError:
            pass
        assert (await validator.validate_async(token))["sub"] == "user-1"
    elif scenario == "events-at-exit":
        # Every event logged (DEBUG, a handler): background fetches, in flight and finishing
        # while the interpreter shuts down, queue events for the event thread (jwtgate._events)
        # that the exit hook stops and joins.
        import logging

        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
        for _ in range(4):
            slow = jwtgate.Validator(**config, jwks_uri=slow_uri)
            try:
                slow.validate_local(token)
            except jwtgate.KeysNotLoadedError:
                pass
        assert (await validator.validate_async(token))["sub"] == "user-1"
        validator.clear_cache()
    elif scenario == "abandoned-task":
        # A validation left running in the executor when the loop closes.
        slow = jwtgate.Validator(**config, jwks_uri=slow_uri, fetch_timeout=3)
        asyncio.ensure_future(slow.validate_async(token))
        await asyncio.sleep(0.05)
        assert (await validator.validate_async(token))["sub"] == "user-1"
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    print("ok", flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
