"""One Python instance of the fleet test: a jwtgate Validator driven by JSON lines.

argv[1] is the configuration (snake_case JSON). Each stdin line is a command, each stdout
line its answer: {"op": "validate" | "validate_local", "token": ...} -> {"ok": true, "sub": ...}
or {"ok": false, "kind": ...}; {"op": "revoke", "jti": ...}; {"op": "stats"}; {"op": "health"};
{"op": "poll_revoked", "token": ..., "seconds": ...} -> time until validate_local says revoked.
"""

import json
import sys
import time

import jwtgate


def main() -> None:
    v = jwtgate.Validator(**json.loads(sys.argv[1]))
    v.ready()
    print(json.dumps({"ready": True, "face": "python"}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        try:
            if op in ("validate", "validate_local"):
                claims = getattr(v, op)(cmd["token"])
                out = {"ok": True, "sub": claims.get("sub"), "source": claims.source}
            elif op == "revoke":
                out = {"ok": True, "removed": v.revoke(jti=cmd["jti"])}
            elif op == "stats":
                out = {"ok": True, "stats": v.stats()}
            elif op == "health":
                out = {"ok": True, "health": v.health()}
            elif op == "poll_revoked":
                start = time.monotonic()
                deadline = start + cmd["seconds"]
                out = {"ok": False, "kind": "timeout"}
                while time.monotonic() < deadline:
                    try:
                        v.validate_local(cmd["token"])
                    except jwtgate.JwtGateError as e:
                        if e.kind == "revoked":
                            out = {"ok": True, "after": time.monotonic() - start}
                            break
                    time.sleep(0.001)
            else:
                out = {"ok": False, "kind": "unknown_op"}
        except jwtgate.JwtGateError as e:
            out = {"ok": False, "kind": e.kind}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
