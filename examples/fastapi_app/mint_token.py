"""Prints a token the demo configuration accepts, signed with the committed TEST key
tests/keys/rsa-a.pem (never use these keys outside tests and demos).

    python mint_token.py                       # scope "read:items"
    python mint_token.py --scope "read:items write:items" --sub ada --ttl 600
"""

from __future__ import annotations

import argparse
import pathlib
import time
import uuid

import jwt  # PyJWT, with its "crypto" extra

ROOT = pathlib.Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scope", default="read:items")
    parser.add_argument("--sub", default="demo-user")
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (negative: expired)")
    args = parser.parse_args()
    now = int(time.time())
    claims = {
        "iss": "https://issuer.test",
        "aud": "https://api.test",
        "sub": args.sub,
        "scope": args.scope,
        "iat": now,
        "exp": now + args.ttl,
        "jti": uuid.uuid4().hex,
    }
    key = (ROOT / "tests" / "keys" / "rsa-a.pem").read_bytes()
    print(jwt.encode(claims, key, algorithm="RS256", headers={"kid": "rsa-a", "typ": "at+jwt"}))


if __name__ == "__main__":
    main()
