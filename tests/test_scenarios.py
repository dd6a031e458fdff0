"""The scenario suite: every step's expected values were worked out from the spec by hand (each
scenario's "why" fields say how); the run must match them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from msecli.sim.scenario import load_script, run_script

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.json"))


def matches(expected, actual, path="") -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        return [m for key, value in expected.items() for m in matches(value, actual.get(key, "<missing>"), f"{path}.{key}")]
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [m for i, (e, a) in enumerate(zip(expected, actual)) for m in matches(e, a, f"{path}[{i}]")]
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        return [] if abs(expected - actual) <= 1e-6 else [f"{path}: expected {expected}, got {actual}"]
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path, media: dict[str, Path]) -> None:
    data = json.loads(path.read_text())
    assert len(data["expect"]) == len(data["steps"]), "one expectation per step"
    result = run_script(load_script(path, media[data.get("media", "aac-tone")]), data.get("profile", "spec"))
    problems = []
    for index, (expected, record) in enumerate(zip(data["expect"], result["steps"])):
        problems += [f"step {index} ({record['op']}){m}" for m in matches(expected, record)]
    assert not problems, "\n".join(problems)
