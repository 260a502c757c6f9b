#!/usr/bin/env python3
"""Seed corpora for the fuzz targets from the shared vectors and the Wycheproof files
(`make fuzz` runs this first). Writes fuzz/corpus/<target>/ (ignored by git)."""

import hashlib
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"


def put(target: str, data: bytes) -> None:
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main() -> None:
    for path in sorted((ROOT / "tests" / "vectors").glob("*.json")):
        doc = json.loads(path.read_text())
        for config in doc.get("configs", {}).values():
            put("config", json.dumps(config).encode())
            if isinstance(config.get("jwks"), dict):
                put("jwks", json.dumps(config["jwks"]).encode())
                for key in config["jwks"].get("keys", []):
                    put("jwks", json.dumps(key).encode())
        for case in doc["cases"]:
            token = case.get("token")
            if token is None and case.get("authorization"):
                token = case["authorization"].split(" ")[-1]
            if token:
                for target in ("validate", "issuers"):
                    put(target, token.encode())
    for path in sorted((ROOT / "tests" / "wycheproof").glob("json_web_*.json")):
        doc = json.loads(path.read_text())
        for group in doc.get("testGroups", []):
            for name in ("public", "private", "publicKeyJwk"):
                if isinstance(group.get(name), dict):
                    put("jwks", json.dumps(group[name]).encode())
            for test in group.get("tests", []):
                if isinstance(test.get("jws"), str):
                    put("validate", test["jws"].encode())
    now = 1_800_000_000
    for answer in (
        {"active": True, "aud": "https://api.test", "iat": now - 10, "token_type": "Bearer"},
        {"active": True, "aud": ["https://api.test"], "iat": now, "exp": now + 60, "iss": "https://issuer.test"},
        {"active": False},
        {"active": True, "token_type": "refresh_token", "aud": "https://api.test", "iat": now},
    ):
        put("introspection", json.dumps(answer).encode())
    put("validate_structured", bytes(range(64)))
    print(f"seeded {CORPUS}")


if __name__ == "__main__":
    main()
