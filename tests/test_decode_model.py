"""The simulated decoder (sim/decoder.py) driving playback: with a cost table that is deliberately too slow,
the dropped-frame count is the one the model's rule gives by hand; a table can be saved from a PyAV
measurement and read back."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from msecli.mse.profiles import SPEC
from msecli.sim.decoder import CostTable, DecoderModel, decode_summary
from msecli.sim.network import Network
from msecli.sim.workload import WorkloadOptions, plan_from_manifest, run_workload
from tests.media import SAMPLES
from tests.test_segment_errors import run_cli


def first_times(result: dict, *types: str) -> dict[str, Fraction]:
    """Simulated time of the first main-thread event of each type."""
    times: dict[str, Fraction] = {}
    for event in result["events"]:
        if event["context"] == "main" and event["type"] in types and event["type"] not in times:
            times[event["type"]] = Fraction(event["time"]).limit_denominator(10**6)
    return times


SLOW = CostTable([{"codec": "avc1", "height": 360, "keyMs": 50, "deltaMs": 50}])  # 20 fps against 30 fps video


def test_a_decoder_too_slow_for_the_frame_rate_drops_the_hand_calculated_frames(segmented):
    """Every frame costs 50 ms against a 33.3 ms budget (30 fps). The model: the keyframe at 0 is ready when
    the first frame is (loadeddata, time R); the decoder then finishes the k-th frame in decode order at
    R + 0.05 k; playback from `playing` (time P) presents the frame with PTS p at P + p; a frame is dropped when
    it is ready after that. (Underflow stalls are off here: the next test has them.)"""
    out = segmented(SAMPLES / "h264-aac.mp4")
    options = WorkloadOptions(network=Network.constant(Fraction(100_000_000), Fraction(0)), decode="model",
                              decode_table=SLOW, decode_underflow=None)  # fmt: skip
    pages = []
    result = run_workload(plan_from_manifest(out), SPEC, options, on_page=pages.append)
    summary = result["summary"]
    assert summary["stallCount"] == 0 and summary["ended"]
    times = first_times(result, "loadeddata", "playing")
    ready, playing = times["loadeddata"], times["playing"]
    video = pages[0].attachment.video_track()
    decode_order = [f.pts for f in video.frames]
    expected = sum(1 for k, pts in enumerate(decode_order) if k > 0 and ready + Fraction(5, 100) * k > playing + pts)
    assert 0 < expected < 300
    assert summary["droppedFrames"] == expected
    assert summary["totalFrames"] == 300  # dropped frames count in the total too
    report = result["decode"]["video"]
    assert report["frames"] == 300 and report["p50Ms"] == 50.0 and report["maxMs"] == 50.0
    assert report["realtimeFactor"] == round((1 / 30) / 0.05, 2)  # media seconds per decode second


def test_a_decoder_falling_half_a_second_behind_stalls_playback_until_it_catches_up(segmented):
    """Underflow: at each timeupdate wake-up (every 250 ms of playback, from `playing` at P), if the frame due at
    the position will be decoded more than 0.5 s from now, the element drops to HAVE_CURRENT_DATA (waiting) and
    resumes when that frame is decoded. With 50 ms a frame from R, the frame of decode index k is ready at
    R + 0.05 k: the first wake-up P + 0.25 m whose due frame is ready later than 0.5 s after it starts the stall."""
    out = segmented(SAMPLES / "h264-aac.mp4")
    options = WorkloadOptions(network=Network.constant(Fraction(100_000_000), Fraction(0)), decode="model",
                              decode_table=SLOW)  # fmt: skip
    pages = []
    result = run_workload(plan_from_manifest(out), SPEC, options, on_page=pages.append)
    times = first_times(result, "loadeddata", "playing")
    ready, playing = times["loadeddata"], times["playing"]  # the first of each
    decode_order = [f.pts for f in pages[0].attachment.video_track().frames]
    for m in range(1, 41):
        wake = playing + Fraction(m, 4)
        due = min((pts for pts in decode_order if pts >= Fraction(m, 4)), default=None)
        due_ready = ready + Fraction(5, 100) * decode_order.index(due)
        if due_ready - wake > Fraction(1, 2):
            break
    first = result["summary"]["stalls"][0]
    assert abs(first["start"] - float(wake)) < 1e-6
    assert abs(first["duration"] - float(due_ready - wake)) < 1e-6
    assert "waiting" in [e["type"] for e in result["events"] if e["context"] == "main"]


def test_a_fast_table_drops_nothing(segmented):
    out = segmented(SAMPLES / "h264-aac.mp4")
    options = WorkloadOptions(decode="model")  # the default table: 360p H.264 at 1-2.5 ms a frame
    result = run_workload(plan_from_manifest(out), SPEC, options)
    assert result["summary"]["droppedFrames"] == 0 and result["summary"]["totalFrames"] == 300


def test_a_measured_profile_is_saved_and_read_back(segmented, tmp_path):
    out = segmented(SAMPLES / "h264-aac.mp4")
    profile = tmp_path / "decode.json"
    measured = run_cli("simulate", out, "--json", "--decode", "pyav", "--decode-profile", profile)
    assert measured.returncode == 0, measured.stderr
    entries = json.loads(profile.read_text())["entries"]
    assert [(e["codec"], e["height"]) for e in entries] == [("avc1", 360)] and entries[0]["keyMs"] > 0
    assert json.loads(measured.stdout)["decode"]["video"]["frames"] == 300
    again = run_cli("simulate", out, "--json", "--decode", "pyav", "--decode-profile", profile)
    assert again.returncode == 2 and "--force" in again.stderr  # an existing profile is not overwritten
    reused = run_cli("simulate", out, "--json", "--decode", "model", "--decode-profile", profile)
    assert reused.returncode == 0, reused.stderr
    assert json.loads(reused.stdout)["decode"]["video"]["p50Ms"] == entries[0]["deltaMs"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"entries": [{"codec": "avc1"}]}')
    refused = run_cli("simulate", out, "--decode", "model", "--decode-profile", bad)
    assert refused.returncode == 1 and "not a decode profile" in refused.stderr


@given(st.lists(st.integers(0, 40_000_000), min_size=1, max_size=200))
def test_the_decode_block_counts_costs_as_numpy_does_frame_by_frame(costs_ns):
    """The block is built from distinct costs and their counts (memory flat in the frames decoded): its
    percentiles, maximum and histogram must be numpy's over the frame-by-frame costs."""
    wall_ns = np.array(costs_ns, np.int64)
    n = len(wall_ns)
    block = decode_summary(np.arange(n) / 30, np.zeros(n, bool), np.ones(n, np.int64), np.full(n, -1), wall_ns, n, n / 30)
    ms = wall_ns / 1e6
    for q in (50, 95, 99):
        assert block[f"p{q}Ms"] == round(float(np.percentile(ms, q)), 3)
    assert block["maxMs"] == round(float(ms.max()), 3)
    counts, edges = np.histogram(ms, bins=10)
    assert block["histogram"] == {"edgesMs": [round(float(e), 3) for e in edges], "counts": counts.tolist()}
    assert [s["ms"] for s in block["slowest"]] == sorted((round(c / 1e6, 3) for c in costs_ns), reverse=True)[:5]


def test_the_model_log_keeps_the_slowest_frames_in_decode_order_among_equals():
    model = DecoderModel(lambda pts, key, size: np.zeros(len(pts), np.int64))
    costs_ms = np.array([3, 7, 7, 1, 9, 7, 2, 9])
    index = np.arange(8)
    for batch in (slice(0, 4), slice(4, 8)):  # scheduled in two goes: ties still go to the earlier frame
        model.log.add_many(index[batch] / 30, index[batch] == 0, 100 + index[batch], costs_ms[batch] * 1_000_000)
    assert [(s["ms"], s["bytes"]) for s in model.report()["slowest"]] == [(9.0, 104), (9.0, 107), (7.0, 101), (7.0, 102), (7.0, 105)]
    assert model.report()["frames"] == 8 and model.report()["p50Ms"] == 7.0
