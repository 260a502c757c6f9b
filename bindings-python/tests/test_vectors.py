"""The shared vectors (tests/vectors/*.json) through the Python face: every face must reach
the same outcome as the core for every case."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

import pytest

import jwtgate

from conftest import VECTORS


def _cases() -> List[Tuple[str, Dict[str, Any], Dict[str, Any]]]:
    cases = []
    for path in sorted(VECTORS.glob("*.json")):
        doc = json.loads(path.read_text())
        if doc.get("suite") == "http":
            continue  # HTTP answers, not tokens: test_http_vectors.py
        for case in doc["cases"]:
            cases.append((f"{path.stem}: {case['name']}", doc["configs"][case["config"]], case))
    return cases


CASES = _cases()


def test_the_vectors_are_there() -> None:
    assert len(CASES) >= 150, "tests/vectors is missing cases"


def _outcome(config: Dict[str, Any], token: str, *, sync: bool) -> Any:
    try:
        validator = jwtgate.Validator(**config)
    except jwtgate.ConfigError as e:
        return e
    try:
        if sync:
            return validator.validate(token)
        import asyncio

        return asyncio.run(validator.validate_async(token))
    except jwtgate.JwtGateError as e:
        return e


@pytest.mark.parametrize(("name", "config", "case"), CASES, ids=[c[0] for c in CASES])
def test_vector(name: str, config: Dict[str, Any], case: Dict[str, Any]) -> None:
    expect = case["expect"]
    for sync in (True, False):
        outcome = _outcome(config, case["token"], sync=sync)
        if expect["valid"]:
            assert isinstance(outcome, jwtgate.Claims), f"rejected: {outcome!r}"
            # First, before anything builds the parsed object: `sub` and `jti` are read from
            # what the engine keeps, and must say what the payload says.
            for name in ("sub", "jti"):
                assert outcome.get(name) == expect["claims"].get(name)
                if name in expect["claims"]:
                    assert outcome[name] == expect["claims"][name]
                else:
                    with pytest.raises(KeyError):
                        outcome[name]
            assert dict(outcome) == expect["claims"]
            assert outcome == expect["claims"]
            assert json.loads(outcome.json) == expect["claims"]
        else:
            assert isinstance(outcome, jwtgate.JwtGateError), f"accepted, expected {expect['error']}"
            assert outcome.kind == expect["error"], str(outcome)
            # The class follows the kind's family.
            if outcome.kind == "config":
                assert isinstance(outcome, jwtgate.ConfigError)
            else:
                assert isinstance(outcome, jwtgate.InvalidTokenError)
                assert outcome.status == 401
