"""The cross-language benchmark's spec: tokens, keys and policy from tests/vectors/valid.json.

    python3 benches/cross/spec.py OUT.json     # what run.py does before starting the drivers

See benches/cross/README.md for the format.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

ROOT = Path(__file__).resolve().parents[2]
ALGS = ("RS256", "PS256", "ES256", "EdDSA", "HS256")
AUDIENCE = "https://api.test"


def b64json(segment: str) -> Dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def damage_signature(token: str) -> str:
    """The same token with one character in the middle of its signature changed (a byte of the
    signature itself, never only the padding bits of the last character)."""
    head, payload, sig = token.split(".")
    i = len(sig) // 2
    sig = sig[:i] + ("A" if sig[i] != "A" else "B") + sig[i + 1 :]
    return ".".join((head, payload, sig))


def public_pem(kid: str) -> str:
    """SubjectPublicKeyInfo PEM of a committed test key (tests/keys/<kid>.pem is PKCS#8)."""
    name = {"rsa-a": "rsa-a", "ec-p256": "ec-p256", "ed25519": "ed25519"}[kid]
    return subprocess.run(
        ["openssl", "pkey", "-in", str(ROOT / "tests" / "keys" / f"{name}.pem"), "-pubout"],
        check=True, capture_output=True, text=True,
    ).stdout


def build() -> Dict[str, Any]:
    vectors = json.loads((ROOT / "tests" / "vectors" / "valid.json").read_text())
    default, hmac = vectors["configs"]["default"], vectors["configs"]["hmac"]
    issuer = default["issuer"]
    assert hmac["issuer"] == issuer
    spec: Dict[str, Any] = {
        "issuer": issuer,
        "audience": AUDIENCE,
        "token_type": "at+jwt",
        "leeway": 30,
        "algs": {},
    }
    for alg in ALGS:
        # The first valid case of each algorithm: the same 15 claims, typ at+jwt, exp in 2100.
        case = next(
            c for c in vectors["cases"]
            if c["expect"]["valid"] and b64json(c["token"].split(".")[0]).get("alg") == alg
        )
        token = case["token"]
        header, claims = b64json(token.split(".")[0]), b64json(token.split(".")[1])
        assert AUDIENCE in ([claims["aud"]] if isinstance(claims["aud"], str) else claims["aud"])
        entry: Dict[str, Any] = {
            "token": token,
            "bad_token": damage_signature(token),
            "sub": claims["sub"],
            "claims": len(claims),
            "bytes": len(token),
        }
        config: Dict[str, Any] = {
            "issuer": issuer,
            "audience": AUDIENCE,
            "token_type": "at+jwt",
            "leeway": 30,
            "algorithms": [alg],
        }
        if alg.startswith("HS"):
            entry["secret"] = hmac["shared_secret"]
            config["shared_secret"] = hmac["shared_secret"]
        else:
            kid = header["kid"]
            jwk = next(k for k in default["jwks"]["keys"] if k.get("kid") == kid)
            entry["kid"] = kid
            entry["jwk"] = jwk
            entry["public_pem"] = public_pem(kid)
            config["jwks"] = {"keys": [jwk]}
        entry["config"] = config
        spec["algs"][alg] = entry
    return spec


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    Path(sys.argv[1]).write_text(json.dumps(build(), indent=1) + "\n")
