"""Random scripts (tests.random_scripts) through the simulation, both profiles: every step gives a record, and the
records obey the invariants a wrong program would break (the differential runs against Chromium are by hand: see the
module)."""

from __future__ import annotations

import json

import pytest

from msecli.sim.scenario import load_script, run_script
from tests.random_scripts import script

SETS = [("mp4", "h264-aac", 6), ("webm", "vp9-webm", 6), ("mp4-muxed", "muxed", 3), ("webm-muxed", "muxed-webm", 3),
        ("switch", "mp4-and-webm", 3), ("adts", "adts", 3), ("mp3", "mp3", 3), ("abr", "two-sizes", 3)]
CASES = [(fmt, media_set, seed, False) for fmt, media_set, seeds in SETS for seed in range(seeds)]
# under a 1 MiB quota, seeds whose appends fill it in both profiles
CASES += [("quota-mp4", "h264-aac", 3, False), ("quota-mp4", "h264-aac", 7, False), ("quota-webm", "vp9-webm", 1, False)]
CASES += [("mp4", "h264-aac", 22, True), ("webm-muxed", "muxed-webm", 15, True)]  # with duration and endOfStream()
RACY_OR_SEEKING = [("mp4", "h264-aac", 8, "racy"), ("webm", "vp9-webm", 3, "racy"), ("mp4-muxed", "muxed", 5, "racy"),
                   ("mp4", "h264-aac", 7, "seeks"), ("webm-muxed", "muxed-webm", 5, "seeks")]


@pytest.mark.parametrize("fmt, media_set, seed, extended", CASES)
def test_random_scripts_run_to_the_end_with_normalised_ranges(fmt, media_set, seed, extended, tmp_path, media):
    _run_both_profiles(script(fmt, seed, extended), tmp_path, media[media_set])


@pytest.mark.parametrize("fmt, media_set, seed, kind", RACY_OR_SEEKING)
def test_racy_and_seeking_scripts_run_to_the_end_with_normalised_ranges(fmt, media_set, seed, kind, tmp_path, media):
    data = script(fmt, seed, racy=kind == "racy", seeks=kind == "seeks")
    assert any(step["op"] == ("batch" if kind == "racy" else "seek") for step in data["steps"])
    _run_both_profiles(data, tmp_path, media[media_set])


def _run_both_profiles(data, tmp_path, media_dir):
    path = tmp_path / "script.json"
    path.write_text(json.dumps(data))
    loaded = load_script(path, media_dir)
    for profile in ("spec", "chromium"):
        result = run_script(loaded, profile)
        if "quota" in data:
            assert _evicted(data["steps"], result["steps"]), "a quota script that never filled its quota"
        assert len(result["steps"]) == len(data["steps"])
        for step, record in zip(data["steps"], result["steps"]):
            if step["op"] == "batch":
                _assert_refused_while_updating(step["steps"], record["value"])
        for record in result["steps"]:
            for attributes in (record["sourceBuffers"] or {}).values():
                _assert_normalised(attributes.get("buffered") or [])
            _assert_normalised(record["element"]["buffered"])


def _evicted(steps: list[dict], records: list[dict]) -> bool:
    """Did an append fail for the quota, or free media from before the time it appends to?"""
    before: dict = {}
    for step, record in zip(steps, records):
        now = {name: a["buffered"] for name, a in (record["sourceBuffers"] or {}).items()}
        if step["op"] == "append" and record["exception"] == "QuotaExceededError":
            return True
        if step["op"] == "append" and before.get(step["sb"]) and now.get(step["sb"]):
            if now[step["sb"]][0][0] > before[step["sb"]][0][0]:
                return True
        before = now
    return False


def _assert_refused_while_updating(steps: list[dict], results: list[dict]) -> None:
    """While an append or removal it started runs, every op on that SourceBuffer or the MediaSource throws
    InvalidStateError (the spec's "if updating"), but abort() during an append."""
    (first, during), (started, outcome) = steps, results
    if first["op"] in ("append", "remove") and started["ok"] and not (first["op"] == "append" and during["op"] == "abort"):
        assert outcome["exception"] == "InvalidStateError", (steps, results)


def _assert_normalised(ranges: list[list[float]]) -> None:
    """TimeRanges are sorted, each start before its end, and a gap between neighbours (HTML's normalised ranges)."""
    for start, end in ranges:
        assert start < end
    for (_, end), (start, _) in zip(ranges, ranges[1:]):
        assert end < start
