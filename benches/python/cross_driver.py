"""The Python driver of the cross-language benchmark (protocol: benches/cross/README.md).

    .venv/bin/python benches/python/cross_driver.py SPEC.json [--pyjwt-legacy DIR]

Subjects per algorithm: jwtgate with its result cache (`hit`) and without (`cold`,
`cache_max_entries=0`); PyJWT (the installed one, and 2.13.0 from `--pyjwt-legacy`, which is
~3x faster than 2.14+ because of a per-character base64url check, GHSA-hxm8-2xgr-2p9m); and
joserfc. Every peer gets a key parsed once up front and the same checks as jwtgate: the one
algorithm, iss, aud, exp and nbf with the spec's leeway, and the `typ` header.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

Call = Callable[[str], str]  # token -> its `sub`; raises when the token is refused


def load_pyjwt(legacy: Optional[str]) -> List[Any]:
    """The installed PyJWT, plus the one in `legacy` (another version) as a second module."""
    import jwt as current

    found = [current]
    if legacy:
        saved = {k: v for k, v in sys.modules.items() if k == "jwt" or k.startswith("jwt.")}
        for name in saved:
            del sys.modules[name]
        sys.path.insert(0, legacy)
        try:
            old = importlib.import_module("jwt")
            if old.__version__ != current.__version__:
                found.append(old)
        finally:
            sys.path.remove(legacy)
            for name in [k for k in sys.modules if k == "jwt" or k.startswith("jwt.")]:
                del sys.modules[name]
            sys.modules.update(saved)
    return found


def typ_matches(header: Dict[str, Any], wanted: str) -> bool:
    """`typ` compared as jwtgate does: case-insensitive, `application/` optional (RFC 7515 §4.1.9)."""
    typ = str(header.get("typ", "")).lower()
    return typ.removeprefix("application/") == wanted.lower()


def pyjwt_subject(module: Any, spec: Dict[str, Any], alg: str, entry: Dict[str, Any]) -> Call:
    from cryptography.hazmat.primitives import serialization

    key: Any = (
        entry["secret"].encode()
        if alg == "HS256"
        else serialization.load_pem_public_key(entry["public_pem"].encode())
    )
    issuer, audience, leeway, typ = spec["issuer"], spec["audience"], spec["leeway"], spec["token_type"]
    options = {"require": ["exp", "iss", "aud"]}

    def call(token: str) -> str:
        decoded = module.decode_complete(
            token, key, algorithms=[alg], audience=audience, issuer=issuer, leeway=leeway, options=options
        )
        if not typ_matches(decoded["header"], typ):
            raise ValueError("typ")
        return decoded["payload"]["sub"]

    return call


def joserfc_subject(spec: Dict[str, Any], alg: str, entry: Dict[str, Any]) -> Call:
    from joserfc import jwt as jose_jwt
    from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

    if alg == "HS256":
        key: Any = OctKey.import_key(entry["secret"])
    else:
        kind = {"RS256": RSAKey, "PS256": RSAKey, "ES256": ECKey, "EdDSA": OKPKey}[alg]
        key = kind.import_key(entry["public_pem"])
    registry = jose_jwt.JWTClaimsRegistry(
        leeway=spec["leeway"],
        iss={"essential": True, "value": spec["issuer"]},
        aud={"essential": True, "value": spec["audience"]},
        exp={"essential": True},
    )
    typ = spec["token_type"]

    def call(token: str) -> str:
        decoded = jose_jwt.decode(token, key, algorithms=[alg])
        if not typ_matches(decoded.header, typ):
            raise ValueError("typ")
        registry.validate(decoded.claims)  # exp, nbf (and iat) with leeway, iss, aud
        return decoded.claims["sub"]

    return call


def jwtgate_subject(entry: Dict[str, Any], cached: bool) -> Call:
    import jwtgate

    config = dict(entry["config"])
    if not cached:
        config["cache_max_entries"] = 0
    validator = jwtgate.Validator(**config)

    def call(token: str) -> str:
        return validator.validate(token)["sub"]

    return call


def main() -> None:
    import argparse
    import warnings

    parser = argparse.ArgumentParser()
    parser.add_argument("spec")
    parser.add_argument("--pyjwt-legacy", help="directory holding another PyJWT (2.13.0)")
    args = parser.parse_args()
    with open(args.spec) as f:
        spec = json.load(f)

    import joserfc

    import jwtgate
    from jwtgate import _native

    if getattr(_native, "BUILD_PROFILE", "release") != "release":
        sys.exit("jwtgate: the extension is a debug build; run `make -C bindings-python build-release`")
    pyjwts = load_pyjwt(args.pyjwt_legacy)
    # joserfc warns that EdDSA is deprecated in favour of Ed25519 (RFC 9864): still what issuers send.
    warnings.filterwarnings("ignore", module="joserfc")

    subjects: List[Tuple[Dict[str, str], Call, Dict[str, Any]]] = []
    for alg, entry in spec["algs"].items():
        def add(impl: str, mode: str, call: Call, role: str = "peer") -> None:
            meta = {"id": f"python/{impl}/{alg}/{mode}", "impl": impl, "alg": alg, "mode": mode, "role": role}
            subjects.append((meta, call, entry))

        add("jwtgate", "hit", jwtgate_subject(entry, True), "jwtgate")
        add("jwtgate", "cold", jwtgate_subject(entry, False), "jwtgate")
        for module in pyjwts:
            add(f"PyJWT {module.__version__}", "cold", pyjwt_subject(module, spec, alg, entry))
        add(f"joserfc {joserfc.__version__}", "cold", joserfc_subject(spec, alg, entry))

    # Every subject accepts the good token and refuses the damaged one before anything is timed.
    for meta, call, entry in subjects:
        got = call(entry["token"])
        if got != entry["sub"]:
            sys.exit(f"{meta['id']}: the good token gave sub {got!r}")
        try:
            call(entry["bad_token"])
        except Exception:
            pass
        else:
            sys.exit(f"{meta['id']}: accepted a token with a damaged signature")

    versions = {
        "python": sys.version.split()[0],
        "jwtgate": jwtgate.__version__,
        "joserfc": joserfc.__version__,
        "PyJWT": ", ".join(m.__version__ for m in pyjwts),
    }
    print(json.dumps({"lang": "python", "versions": versions, "subjects": [m for m, _, _ in subjects]}), flush=True)

    by_id = {meta["id"]: (call, entry["token"], entry["sub"]) for meta, call, entry in subjects}
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        if cmd.get("quit"):
            break
        call, token, sub = by_id[cmd["run"]]
        iters = int(cmd["iters"])
        last = ""
        start = time.perf_counter_ns()
        for _ in range(iters):
            last = call(token)  # a refusal raises and ends the driver with a traceback
        ns = time.perf_counter_ns() - start
        if last != sub:
            sys.exit(f"{cmd['run']}: returned sub {last!r} in the timed loop")
        print(json.dumps({"ns": ns}), flush=True)


if __name__ == "__main__":
    main()
