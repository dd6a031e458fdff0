"""Playback semantics of `simulate`'s default workload, on constructed segment sets; every expected value
is computed by hand in the test from the segment sizes and times, the network and the message latency."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from msecli.mse.profiles import CHROMIUM, SPEC
from msecli.sim.network import Network
from msecli.sim.page import Page
from msecli.sim.workload import WorkloadOptions, plan_from_manifest, run_workload
from tests.media import SAMPLES
from tests.test_segment_errors import run_cli

MSG = Fraction(1, 1000)  # the default cross-context latency
LATENCY = Fraction(40, 1000)


def recorder(log: list[tuple[Fraction, str, Fraction]]):
    """An on_page hook: record (simulated time, event, currentTime) for every element event."""

    def on_page(page: Page) -> None:
        element = page.element
        element.listeners.append(lambda event: log.append((page.world.clock.now, event, element.current_time)))

    return on_page


def after_first_playing(log):
    first = next(i for i, (_, event, _) in enumerate(log) if event == "playing")
    return log[first:]


def test_a_one_second_gap_in_video_stalls_once_at_its_start(segmented):
    out = segmented(SAMPLES / "h264-aac.mp4", duration=1, reencode=True)  # keyframes on a 1 s grid
    tracks = plan_from_manifest(out)
    video = next(t for t in tracks if t.kind == "video")
    gap = next(s for s in video.segments if s.start == 4)
    assert gap.end == 5
    video.segments.remove(gap)
    log: list = []
    result = run_workload(tracks, SPEC, WorkloadOptions(), recorder(log))
    waiting = [(time, position) for time, event, position in after_first_playing(log) if event == "waiting"]
    assert [position for _, position in waiting] == [4]
    assert all(not (4 < position < 5) for _, _, position in log)
    assert result["summary"]["currentTime"] == 4.0
    assert result["summary"]["stallCount"] == 1 and not result["summary"]["ended"]
    assert result["summary"]["final"]["element"]["buffered"][:2] == [[0.0, 4.0], [5.0, 10.0]]


def test_bandwidth_below_the_bitrate_gives_the_hand_calculated_stalls(segmented):
    out = segmented(SAMPLES / "aac-tone.m4a")
    tracks = plan_from_manifest(out)
    (audio,) = tracks
    bandwidth = Fraction(40_000)
    # Fetches are serial from sourceopen (two message hops after start): each takes latency + bits/bandwidth.
    arrive = 2 * MSG + LATENCY + Fraction(audio.init.size * 8) / bandwidth
    arrivals = []
    for segment in audio.segments:
        arrive += LATENCY + Fraction(segment.size * 8) / bandwidth
        arrivals.append(arrive + MSG)  # the element hears of the append one hop later
    ends = [Fraction(s.end) for s in audio.segments]  # buffered ends of each segment (manifest, to 1 µs)
    clock, position, stalls = arrivals[0], Fraction(0), []  # playback starts when segment 1 is heard of
    for index in range(1, len(ends)):
        reach = clock + ends[index - 1] - position
        if arrivals[index] > reach:
            stalls.append((reach, arrivals[index] - reach))
            clock = arrivals[index]
        else:
            clock = reach
        position = ends[index - 1]
    assert len(stalls) == 2  # the constructed case: both later segments arrive late
    options = WorkloadOptions(network=Network.constant(bandwidth, LATENCY))
    summary = run_workload(tracks, SPEC, options)["summary"]
    assert summary["startupDelay"] == pytest.approx(float(arrivals[0]), abs=1e-6)
    assert summary["stallCount"] == len(stalls)
    assert summary["stallTime"] == pytest.approx(float(sum(d for _, d in stalls)), abs=2e-6)
    for got, (start, duration) in zip(summary["stalls"], stalls):
        assert got["start"] == pytest.approx(float(start), abs=2e-6)
        assert got["duration"] == pytest.approx(float(duration), abs=2e-6)
    assert summary["ended"]


def test_a_seek_into_unbuffered_time_waits_for_the_covering_append(segmented):
    out = segmented(SAMPLES / "h264-aac.mp4")
    log: list = []
    worker_log: list = []

    def on_page(page: Page) -> None:
        recorder(log)(page)
        page.worker.listeners.append(lambda target, event: worker_log.append((page.world.clock.now, target, event)))

    options = WorkloadOptions(network=Network.constant(Fraction(400_000), LATENCY), seeks=[(Fraction(9), Fraction(3))])
    result = run_workload(plan_from_manifest(out), SPEC, options, on_page)
    events = [(time, event) for time, event, _ in log if event not in ("timeupdate",)]
    seeking = next(i for i, (_, event) in enumerate(events) if event == "seeking")
    assert events[seeking][0] == 3
    assert [event for _, event in events[seeking : seeking + 3]] == ["seeking", "waiting", "seeked"]
    seeked_at = events[seeking + 2][0]
    # The covering append: the last updateend before seeked made both SourceBuffers cover 9 s.
    last_append = max(time for time, _, event in worker_log if event == "updateend" and time < seeked_at)
    assert seeked_at == last_append + MSG
    assert last_append > 3
    assert result["summary"]["ended"] and result["summary"]["currentTime"] == 10.0


@pytest.mark.parametrize("context", ["worker", "window"])
def test_ended_fires_once_at_duration(segmented, context):
    out = segmented(SAMPLES / "h264-aac.mp4")
    log: list = []
    result = run_workload(plan_from_manifest(out), CHROMIUM, WorkloadOptions(context=context), recorder(log))
    ended = [(event, position) for _, event, position in log if event == "ended"]
    assert ended == [("ended", 10)]
    assert result["summary"]["totalFrames"] == 300  # 10 s of 30 fps video, each frame presented once


def test_playback_ends_at_a_microsecond_duration_whose_double_lies_above_it(segmented):
    """Chromium profile, video only: each 30 fps frame's PTS and duration are truncated to whole microseconds,
    so the last frame ends at 9.966666 + 0.033333 = 9.999999 s, which endOfStream makes the duration. The
    double 9.999999 is a little above 9999999/10**6: playback reaching the buffered end must still end."""
    out = segmented(SAMPLES / "h264-aac.mp4")
    video = [t for t in plan_from_manifest(out) if t.kind == "video"]
    assert Fraction(9.999999) > Fraction(9_999_999, 10**6)
    log: list = []
    summary = run_workload(video, CHROMIUM, WorkloadOptions(), recorder(log))["summary"]
    assert [(event, position) for _, event, position in log if event == "ended"] == [("ended", Fraction(9_999_999, 10**6))]
    assert summary["ended"] and summary["stallCount"] == 0 and summary["currentTime"] == 9.999999


@pytest.mark.parametrize("context", ["worker", "window"])
def test_a_seek_into_media_already_buffered_fetches_nothing_again(segmented, context):
    """Chromium profile, 100 Mbit/s: everything is appended and endOfStream() called within a second; a seek at 1 s
    to 3 finds every segment buffered, though each range ends a microsecond short of its segment's exact end
    (times truncated to whole microseconds): nothing is fetched again, and playback ends at the end."""
    out = segmented(SAMPLES / "h264-aac.mp4")
    plan = plan_from_manifest(out)
    options = WorkloadOptions(context=context, network=Network.constant(Fraction(100_000_000), LATENCY),
                              seeks=[(Fraction(3), Fraction(1))])  # fmt: skip
    summary = run_workload(plan, CHROMIUM, options)["summary"]
    assert summary["bytesFetched"] == sum(t.init.size + sum(s.size for s in t.segments) for t in plan)
    assert summary["ended"] and summary["stallCount"] == 0


def test_the_player_ends_the_stream_again_after_it_reopens(segmented):
    """100 Mbit/s: everything is appended and endOfStream() called within a second. At 5 s the page's worker removes
    [0, 2) of both tracks (remove() reopens an ended MediaSource: sourceopen); at 9 s a seek back to 0.5 makes the
    player fetch segment 1 again. Each time, once nothing is left to append, the player must call endOfStream()
    again, or playback could never end."""
    out = segmented(SAMPLES / "h264-aac.mp4")
    options = WorkloadOptions(network=Network.constant(Fraction(100_000_000), LATENCY),
                              seeks=[(Fraction(1, 2), Fraction(9))])  # fmt: skip

    def remove_the_start(page: Page) -> None:
        def remove() -> None:
            for buffer in page.media_source.source_buffers:
                buffer.remove(0, 2)

        page.ms_context.loop.queue(remove, Fraction(5))

    result = run_workload(plan_from_manifest(out), SPEC, options, remove_the_start)
    states = [e["type"] for e in result["events"] if e["target"] == "ms" and e["type"] in ("sourceopen", "sourceended")]
    assert states == ["sourceopen", "sourceended"] * 3
    assert result["summary"]["ended"] and result["summary"]["currentTime"] == 10.0


def test_two_virtual_clock_runs_print_identical_json(tmp_path):
    """Deterministic with decode costs from a table (--decode model) or none; --decode pyav measures."""
    args = ("simulate", SAMPLES / "h264-aac.mp4", "--json", "--bandwidth", "600kbps", "--seek", "7@2", "--decode")
    first, second = run_cli(*args, "model"), run_cli(*args, "model")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    result = json.loads(first.stdout)
    assert set(result) == {"context", "summary", "decode", "eventCounts", "events"}
    assert {"startupDelay", "stallCount", "stallTime", "stalls", "droppedFrames", "totalFrames", "bufferAheadMin",
            "bufferAheadMean", "final"} <= set(result["summary"])  # fmt: skip
    assert result["events"][0] == {
        "time": 0.0,
        "context": "worker",
        "target": "postMessage->main",
        "type": "attach+transfer",
    }


def test_quota_exceeded_is_answered_by_removing_played_segments(segmented):
    """A 100 kB video quota holds two of the sample's ~46 kB video segments: the player meets
    QuotaExceededError, removes played segments (on segment boundaries) and still plays every frame."""
    import dataclasses

    out = segmented(SAMPLES / "h264-aac.mp4")
    summary = run_workload(plan_from_manifest(out), dataclasses.replace(SPEC, video_quota=100_000),
                           WorkloadOptions())["summary"]  # fmt: skip
    assert summary["quotaExceeded"] >= 1 and summary["failure"] is None
    assert summary["ended"] and summary["totalFrames"] == 300
    assert summary["final"]["sourceBuffers"]["video"]["buffered"][0][0] > 0  # played media was removed


def test_a_segment_larger_than_the_quota_is_reported(segmented):
    import dataclasses

    out = segmented(SAMPLES / "h264-aac.mp4")
    summary = run_workload(plan_from_manifest(out), dataclasses.replace(SPEC, video_quota=30_000),
                           WorkloadOptions())["summary"]  # fmt: skip
    assert (
        summary["failure"] == "QuotaExceededError on an empty SourceBuffer (video): a segment is larger than its quota"
    )
    assert summary["startupDelay"] is None


REMOVE_UNDER_THE_PLAYHEAD = {
    "name": "remove-under-the-playing-playhead", "context": "window",
    "steps": [
        {"op": "addSourceBuffer", "id": "v", "type": 'video/mp4; codecs="avc1.64001e"'},
        {"op": "append", "sb": "v", "file": "video/init.mp4"},
        {"op": "append", "sb": "v", "file": "video/seg-00001.m4s"},
        {"op": "append", "sb": "v", "file": "video/seg-00002.m4s"},
        {"op": "element", "call": "play"},
        {"op": "wait", "ms": 1000},
        {"op": "remove", "sb": "v", "start": 0, "end": 2},
        {"op": "append", "sb": "v", "file": "video/seg-00001.m4s"},
    ],
}  # fmt: skip
HOLE_UNDER_AUDIO = Path(__file__).parent / "scenarios" / "chromium-plays-through-a-video-hole-under-audio.json"


def run_steps(script: dict, media: Path, tmp_path: Path, profile: str) -> list[dict]:
    """The records of a scenario script given as a dict (files relative to `media`)."""
    from msecli.sim.scenario import load_script, run_script

    path = tmp_path / "script.json"
    path.write_text(json.dumps({k: v for k, v in script.items() if k != "expect"}))
    return run_script(load_script(path, media), profile)["steps"]


def hole_under_audio_then(*steps: dict) -> dict:
    """The hole scenario's first ten steps (paused at 1.5, inside the hole), then `steps`."""
    script = json.loads(HOLE_UNDER_AUDIO.read_text())
    return script | {"steps": script["steps"][:10] + list(steps)}


@pytest.mark.parametrize("profile, lowered_to", [("spec", 1), ("chromium", 2)])
def test_remove_under_the_playing_playhead_stalls_at_the_profiles_ready_state(media, tmp_path, profile, lowered_to):
    """spec: SourceBuffer monitoring (§10.3) with the position no longer buffered gives HAVE_METADATA. chromium
    (msecli verify, Chromium 156): the renderer's underflow gives HAVE_CURRENT_DATA, with waiting, once the few frames
    it had decoded have played (about 0.1 s later there, at once here: README, differences); the covering append
    then fires canplay, playing, canplaythrough in both."""
    steps = run_steps(REMOVE_UNDER_THE_PLAYHEAD, media["h264-aac"], tmp_path, profile)
    removed, appended = steps[6], steps[7]
    assert removed["element"]["buffered"] == [[2.0, 7.999999 if profile == "chromium" else 8.0]]
    assert (removed["element"]["readyState"], removed["elementEvents"]) == (lowered_to, ["waiting"])
    assert removed["element"]["currentTime"] == 1.0
    assert (appended["element"]["readyState"], appended["elementEvents"]) == (4, ["canplay", "playing", "canplaythrough"])


def test_chromium_video_waiting_in_a_hole_presents_nothing_and_drops_what_comes_late(media, tmp_path):
    """Chromium 156 (msecli verify on these steps): totalVideoFrames does not grow while playback runs through the
    hole on the audio, nor while stalled after the 3 s deferral; once the hole is filled, the video resumes at the
    first keyframe at or after where it ran out (2.0: keyframes every 2 s), and the frames from there to the
    position are decoded late and dropped. Expected values by hand: 30 fps, the video ran out at 0.999999 (30
    frames shown) and playback stalled at 3.999999, so [2.0, 3.999999) holds 60 late frames; then 2 s more shown."""
    steps = json.loads(HOLE_UNDER_AUDIO.read_text())["steps"]
    quality = {"op": "playbackQuality"}
    script = hole_under_audio_then(quality, steps[10], quality, steps[11], quality, steps[12], quality)
    records = run_steps(script, media["h264-aac"], tmp_path, "chromium")
    counts = [(r["value"]["totalVideoFrames"], r["value"]["droppedVideoFrames"]) for r in records if r["op"] == "playbackQuality"]
    assert counts == [(30, 0), (30, 0), (90, 60), (150, 60)]


def test_chromium_deferred_video_underflow_is_reported_while_paused(media, tmp_path):
    """Chromium 156 (msecli verify on these steps): paused in the video hole with the deferral running, readyState
    falls to HAVE_CURRENT_DATA when the 3 s are up, with no event (paused); play() then fires play and waiting, and
    a seek into the hole never completes (the video has nothing there)."""
    script = hole_under_audio_then({"op": "wait", "ms": 3500}, {"op": "play", "until": 3, "timeout": 2},
                                   {"op": "seek", "time": 1.2})  # fmt: skip
    records = run_steps(script, media["h264-aac"], tmp_path, "chromium")[9:]
    seen = [(r["ok"], r["element"]["readyState"], r["elementEvents"]) for r in records]
    assert seen == [(True, 4, ["play", "playing", "pause"]), (True, 2, []), (False, 2, ["play", "waiting", "pause"]),
                    (False, 1, ["seeking"])]  # fmt: skip
    assert records[1]["element"]["currentTime"] == 1.5


VIDEO = {"op": "addSourceBuffer", "id": "v", "type": 'video/mp4; codecs="avc1.64001e"'}
AUDIO = {"op": "addSourceBuffer", "id": "a", "type": 'audio/mp4; codecs="mp4a.40.2"'}


def _append(sb: str, file: str) -> dict:
    return {"op": "append", "sb": sb, "file": file}


@pytest.mark.parametrize("context", ["worker", "window"])
def test_chromium_paused_renderers_end_with_one_video_frame_and_no_audio_left(media, tmp_path, context):
    """paused_pipeline_ends_at_last_frame with audio and video, in both contexts (the end of stream crosses from the
    worker). Expected values from msecli verify runs in Chromium 156: after endOfStream(), video [0, 4) at 30 fps and
    AAC [0, 3.989333) in 1024/48000 s frames. At 3.97 and 3.985 the video has one frame left and the audio one:
    not ended. At 3.99 the audio has none: ended, with no event; a seek to 1 resets it."""
    script = {"context": context, "steps": [
        VIDEO, AUDIO, _append("v", "video/init.mp4"), _append("a", "audio/init.mp4"),
        _append("v", "video/seg-00001.m4s"), _append("a", "audio/seg-00001.m4s"), {"op": "endOfStream", "error": None},
        *({"op": "seek", "time": t} for t in (3.97, 3.985, 3.99, 1.0))]}  # fmt: skip
    records = run_steps(script, media["h264-aac"], tmp_path, "chromium")[7:]
    assert [(r["element"]["currentTime"], r["element"]["ended"]) for r in records] == [
        (3.97, False), (3.985, False), (3.99, True), (1.0, False)]  # fmt: skip
    assert all(r["elementEvents"] == ["seeking", "seeked", "canplay", "canplaythrough"] for r in records)
    spec = run_steps(script, media["h264-aac"], tmp_path, "spec")[7:]
    assert not any(r["element"]["ended"] for r in spec)


def test_chromium_paused_renderers_end_when_the_end_of_stream_completes_the_seek(media, tmp_path):
    """The check also runs when the end of stream arrives (Chromium 156, msecli verify, window and worker): a seek to
    3.99 before endOfStream() waits (Chromium's preroll wants 200 ms ahead); endOfStream() completes it, and with one
    video frame left the element reads ended, with no event of its own."""
    script = {"context": "worker", "steps": [
        VIDEO, _append("v", "video/init.mp4"), _append("v", "video/seg-00001.m4s"), {"op": "seek", "time": 3.99, "timeout": 1},
        {"op": "endOfStream", "error": None}]}  # fmt: skip
    sought, ended = run_steps(script, media["h264-aac"], tmp_path, "chromium")[3:]
    assert (sought["ok"], sought["element"]["ended"], sought["elementEvents"]) == (False, False, ["seeking"])
    assert (ended["element"]["ended"], ended["elementEvents"]) == (True, ["durationchange", "seeked", "canplay", "canplaythrough"])


@pytest.mark.parametrize("profile", [SPEC, CHROMIUM], ids=lambda p: p.name)
def test_the_player_removes_played_media_on_segment_boundaries_and_stops(profile):
    """--buffer-ahead 2 --buffer-behind 2 on the benchmark's synthetic segments (2 s video segments; AAC segments of
    94 frames, starting on 1024-sample boundaries, which are not whole microseconds). After each append the player
    removes up to the last segment start at least 2 s behind the playhead. Under chromium (times truncated to whole
    microseconds) the audio range then starts a microsecond short of that boundary; a player that removed again for
    that would remove nothing, for ever."""
    from bench.synthetic import segment_set

    tracks = segment_set(20)
    # 20 Mbps, as the benchmark: well above the 6 Mbps video, so playback never waits (the synthetic init segments
    # declare the sample's 10 s duration: a playhead that caught up with it would end there).
    network = Network.constant(Fraction(20_000_000), LATENCY)
    options = WorkloadOptions(network=network, buffer_ahead=Fraction(2), buffer_behind=Fraction(2), keep_events=False)
    result = run_workload(tracks, profile, options)
    summary = result["summary"]
    assert summary["ended"] and summary["currentTime"] >= 19.999999  # chromium: the video's end in whole microseconds
    starts = {track.kind: [float(s.start) for s in track.segments] for track in tracks}
    buffered = summary["final"]["sourceBuffers"]
    for kind in ("audio", "video"):
        (start, _), *_ = buffered[kind]["buffered"]
        assert start > 10  # played media went, up to near the end
        assert any(abs(start - boundary) <= 1e-6 for boundary in starts[kind])  # at one of its segment boundaries
