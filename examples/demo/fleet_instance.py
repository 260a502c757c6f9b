"""The demo's fleet scene, Python side: one jwtgate instance (a process of its own) that shares
a Redis with the Node instance (fleet_instance.mjs). run_demo.py drives it with JSON lines on
stdin; each answer is one JSON line on stdout. The configuration (argv[1]) is the canonical
snake_case JSON, with redis_url and fleet_secret.
"""

import json
import sys
import time

import jwtgate


def send(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


def main() -> None:
    v = jwtgate.Validator(**json.loads(sys.argv[1]))
    v.ready()  # keys loaded, and subscribed to the fleet's revocations
    send({"ready": True})
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "validate":
            try:
                claims = v.validate(cmd["token"])
                send({"ok": True, "sub": claims.get("sub")})
            except jwtgate.JwtGateError as e:
                send({"ok": False, "kind": e.kind})
        elif op == "revoke":
            # The time just before revoke() (CLOCK_MONOTONIC, the clock Node's hrtime reads).
            t0 = time.monotonic_ns()
            v.revoke(jti=cmd["jti"])
            send({"t0_ns": t0})
        elif op == "watch":
            # Answers at once, then asks validate_local every 0.1 ms until the token is refused.
            send({"watching": True})
            deadline = time.monotonic() + 5
            seen = None
            while time.monotonic() < deadline:
                try:
                    v.validate_local(cmd["token"])
                except jwtgate.JwtGateError as e:
                    if e.kind == "revoked":
                        seen = time.monotonic_ns()
                        break
                time.sleep(0.0001)
            send({"seen_ns": seen})
        elif op == "stats":
            send({"stats": v.stats(), "fleet": v.health()["fleet"]})


if __name__ == "__main__":
    main()
