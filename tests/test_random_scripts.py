"""Random scripts (tests.random_scripts) through the simulation, both profiles: every step gives a record, and the
records obey the invariants a wrong program would break (the differential runs against Chromium are by hand: see the
module)."""

from __future__ import annotations

import json

import pytest

from msecli.sim.scenario import load_script, run_script
from tests.random_scripts import script

SETS = [("mp4", "h264-aac", 6), ("webm", "vp9-webm", 6), ("mp4-muxed", "muxed", 3), ("webm-muxed", "muxed-webm", 3),
        ("switch", "mp4-and-webm", 3), ("adts", "adts", 3), ("mp3", "mp3", 3)]
CASES = [(fmt, media_set, seed, False) for fmt, media_set, seeds in SETS for seed in range(seeds)]
CASES += [("mp4", "h264-aac", 22, True), ("webm-muxed", "muxed-webm", 15, True)]  # with duration and endOfStream()


@pytest.mark.parametrize("fmt, media_set, seed, extended", CASES)
def test_random_scripts_run_to_the_end_with_normalised_ranges(fmt, media_set, seed, extended, tmp_path, media):
    data = script(fmt, seed, extended)
    path = tmp_path / "script.json"
    path.write_text(json.dumps(data))
    loaded = load_script(path, media[media_set])
    for profile in ("spec", "chromium"):
        result = run_script(loaded, profile)
        assert len(result["steps"]) == len(data["steps"])
        for record in result["steps"]:
            for attributes in (record["sourceBuffers"] or {}).values():
                _assert_normalised(attributes.get("buffered") or [])
            _assert_normalised(record["element"]["buffered"])


def _assert_normalised(ranges: list[list[float]]) -> None:
    """TimeRanges are sorted, each start before its end, and a gap between neighbours (HTML's normalised ranges)."""
    for start, end in ranges:
        assert start < end
    for (_, end), (start, _) in zip(ranges, ranges[1:]):
        assert end < start
