"""One Python instance of the soak (benches/soak/run.py starts it).

argv[1]: the configuration (snake_case JSON); argv[2]: the feed directory the driver writes.
The traffic itself is in traffic (the same rules in instance.mjs and go/main.go):

- the main thread validates JWTs at full speed with `validate` (blocking, local for a token
  whose keys are loaded): a fixed cycle of categories, see MIX;
- a second thread validates opaque tokens through introspection at a bounded rate (active ones
  from the provider, garbage ones, ones revoked at the provider), so an introspection endpoint
  that hangs slows that thread and not the JWT loop;
- once a second the main thread reloads the feed when it changed (applying new revocations
  with `revoke(jti=...)`), and prints one JSON line: stats() and its own outcome counts per
  category (cumulative).

stdin closed: the instance prints a last line {"final": true, ...} and exits 0.
"""

from __future__ import annotations

import base64
import json
import os
import random
import string
import sys
import threading
import time

import jwtgate

# Per 100 JWT validations (the same cycle in every face).
MIX = [("hot", 50), ("fresh", 15), ("expired", 8), ("forged", 9), ("unknown_kid", 9), ("revoked", 9)]
MIX_NAMES = [name for name, _ in MIX]
OPAQUE_PERIOD = 0.02  # one active opaque token every 20 ms
GARBAGE_PERIOD = 0.2  # one random opaque token every 200 ms (inactive at the provider)
OPAQUE_REVOKED_PERIOD = 0.5  # one token revoked at the provider every 500 ms
B64 = string.ascii_letters + string.digits + "-_"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cycle() -> list[str]:
    out = [name for name, n in MIX for _ in range(n)]
    random.Random(17).shuffle(out)
    return out


class Feed:
    def __init__(self, directory: str) -> None:
        self.dir = directory
        self.mtime = 0
        self.fresh_name = ""
        self.data: dict = {}
        self.fresh: list[str] = []
        self.revoked_applied: set[str] = set()

    def reload(self, v: jwtgate.Validator) -> None:
        path = os.path.join(self.dir, "feed.json")
        mtime = os.stat(path).st_mtime_ns
        if mtime == self.mtime:
            return
        with open(path) as f:
            data = json.load(f)
        self.mtime = mtime
        if data["fresh_file"] != self.fresh_name:
            with open(os.path.join(self.dir, data["fresh_file"])) as f:
                self.fresh = json.load(f)
            self.fresh_name = data["fresh_file"]
        for jti in data["revoke_jtis"]:
            if jti not in self.revoked_applied:
                v.revoke(jti=jti)
                self.revoked_applied.add(jti)
        self.data = data


def opaque_worker(v: jwtgate.Validator, feed: Feed, counts: dict, stop: threading.Event) -> None:
    rng = random.Random()
    i = 0
    next_garbage = next_revoked = time.monotonic()
    while not stop.is_set():
        now = time.monotonic()
        if now >= next_garbage:
            next_garbage = now + GARBAGE_PERIOD
            category, token = "opaque_garbage", "".join(rng.choice(B64) for _ in range(43))
        elif now >= next_revoked and feed.data.get("opaque_revoked"):
            next_revoked = now + OPAQUE_REVOKED_PERIOD
            pool = feed.data["opaque_revoked"]
            category, token = "opaque_revoked", pool[i % len(pool)]
        elif feed.data.get("opaque"):
            pool = feed.data["opaque"]
            category, token = "opaque", pool[i % len(pool)]
        else:
            stop.wait(OPAQUE_PERIOD)
            continue
        i += 1
        try:
            v.validate(token)
            kind = "ok"
        except jwtgate.JwtGateError as e:
            kind = e.kind
        except Exception:  # noqa: BLE001 - counted: the driver fails the run on it
            kind = "exception"
        by_kind = counts.setdefault(category, {})
        by_kind[kind] = by_kind.get(kind, 0) + 1
        if category == "opaque":
            stop.wait(OPAQUE_PERIOD)


def main() -> None:
    config, feed_dir = json.loads(sys.argv[1]), sys.argv[2]
    name = config.pop("soak_name")
    v = jwtgate.Validator(**config)
    v.ready()
    feed = Feed(feed_dir)
    feed.reload(v)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    counts: dict[str, dict[str, int]] = {}
    opaque_counts: dict[str, dict[str, int]] = {}
    worker = threading.Thread(target=opaque_worker, args=(v, feed, opaque_counts, stop))
    worker.start()
    print(json.dumps({"ready": True, "face": "python", "pid": os.getpid()}), flush=True)

    def report(final: bool = False) -> None:
        both = {**counts, **{k: dict(d) for k, d in list(opaque_counts.items())}}
        print(json.dumps({"final": final, "stats": v.stats(), "outcomes": both}), flush=True)

    order = cycle()
    n = 0
    # One index per category: the cycle is 100 long, so one shared index would only ever pick
    # the pool entries congruent to a category's positions (a fifth of the fresh pool).
    ix = dict.fromkeys(MIX_NAMES, 0)
    next_report = time.monotonic() + 1
    while not stop.is_set():
        category = order[n % len(order)]
        n += 1
        i = ix[category] = ix[category] + 1
        d = feed.data
        fresh = feed.fresh
        if category == "hot":
            token = d["hot"][i % len(d["hot"])]
        elif category == "fresh":
            token = fresh[i % len(fresh)]
        elif category == "expired":
            token = d["expired"][i % len(d["expired"])]
        elif category == "revoked":
            if not d["revoked"]:
                continue
            token = d["revoked"][i % len(d["revoked"])]
        elif category == "forged":
            # The payload of one fresh token with the signature of another (same key).
            a, b = fresh[i % len(fresh)], fresh[(i + 1) % len(fresh)]
            token = a[: a.rindex(".")] + b[b.rindex(".") :]
        else:  # unknown_kid: a kid never published, new each time
            a = fresh[i % len(fresh)]
            header = b64(json.dumps({"alg": "RS256", "typ": "at+jwt", "kid": f"{name}-unknown-{i}"},
                                    separators=(",", ":")).encode())
            token = header + a[a.index(".") :]
        try:
            v.validate(token)
            kind = "ok"
        except jwtgate.JwtGateError as e:
            kind = e.kind
        except Exception:  # noqa: BLE001
            kind = "exception"
        by_kind = counts.setdefault(category, {})
        by_kind[kind] = by_kind.get(kind, 0) + 1
        if n & 255 == 0 and time.monotonic() >= next_report:
            next_report += 1
            feed.reload(v)
            report()
    worker.join()
    report(final=True)


if __name__ == "__main__":
    main()
