"""The bulk append path is an optimisation, not a second algorithm: for any sequence of operations, a
SourceBuffer that stores frames in bulk ends in exactly the state of one that walks the spec's coded frame
processing frame by frame (the oracle, `SourceBuffer.bulk_appends = False`)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msecli.mse.errors import DOMException
from msecli.mse.profiles import CHROMIUM, SPEC
from msecli.sim.page import attached_page
from tests.media import SAMPLES, load_manifest

OFFSETS = [0.0, 0.1, 1 / 3, -0.5, 2.0, 10.25, 1e-7]
TIMES = [0.0, 0.5, 1 / 3, 1.0, 2.5, 3.0, 4.1, 6.0, 1e9]
operation = st.one_of(
    st.tuples(st.just("append"), st.integers(0, 9), st.sampled_from([None, 1, 7, 100, -50])),
    st.tuples(st.just("offset"), st.sampled_from(OFFSETS)),
    st.tuples(st.just("mode"), st.sampled_from(["segments", "sequence"])),
    st.tuples(st.just("window"), st.sampled_from(TIMES[:6]), st.sampled_from(TIMES[1:])),
    st.tuples(st.just("remove"), st.sampled_from(TIMES[:6]), st.sampled_from(TIMES[1:])),
    st.tuples(st.just("abort")),
    st.tuples(st.just("reinit")),
)


def state(sb) -> dict:
    """Everything coded frame processing can change, exactly."""
    return {
        "buffered": sb.buffered_ranges().spans(),
        "offset": sb.timestamp_offset,
        "groupStart": sb.group_start_timestamp,
        "groupEnd": sb.group_end_timestamp,
        "tracks": {
            track_id: (
                track.frames,
                track.last_decode_timestamp,
                track.last_frame_duration,
                track.highest_end_timestamp,
                track.need_random_access_point_flag,
                track.bytes,
                track.max_frame_duration,
                track.max_interbuffer_distance,
                track.last_appended_pts,
            )
            for track_id, track in sb.track_buffers.items()
        },  # fmt: skip
    }


def run(track: dict, out: Path, operations: list, profile, bulk: bool) -> list:
    page = attached_page(profile)
    sb = page.media_source.add_source_buffer(track["mimeType"])
    sb.bulk_appends = bulk
    init = (out / track["init"]).read_bytes()
    segments = [(out / s["file"]).read_bytes() for s in track["segments"]]
    sb.append_buffer(init)
    page.loop.run_until_idle()
    seen = []
    for op in operations:
        try:
            if op[0] == "append":
                data = segments[op[1] % len(segments)]
                if op[2] is None:
                    sb.append_buffer(data)
                else:  # in two appends, split inside the segment
                    sb.append_buffer(data[: op[2]])
                    page.loop.run_until_idle()
                    sb.append_buffer(data[op[2] :])
            elif op[0] == "offset":
                sb.set_timestamp_offset(op[1])
            elif op[0] == "mode":
                sb.set_mode(op[1])
            elif op[0] == "window":
                sb.set_append_window_end(float("inf"))
                sb.set_append_window_start(op[1])
                sb.set_append_window_end(max(op[2], op[1] + 0.25))
            elif op[0] == "remove":
                sb.remove(op[1], max(op[2], op[1] + 0.1))
            elif op[0] == "abort":
                sb.abort()
            elif op[0] == "reinit":
                sb.append_buffer(init)
            page.loop.run_until_idle()
            seen.append(("ok", state(sb)))
        except DOMException as exc:
            page.loop.run_until_idle()
            seen.append((exc.name, state(sb)))
    return seen


CASES = [("h264-aac.mp4", {}), ("h264-aac.mp4", {"muxed": True}), ("vp9-opus.webm", {}), ("aac-tone.m4a", {})]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(CASES), st.integers(0, 3), st.lists(operation, min_size=1, max_size=8),
       st.sampled_from([SPEC, CHROMIUM]))  # fmt: skip
def test_bulk_appends_end_exactly_where_the_per_frame_walk_does(segmented, case, pick, operations, profile):
    name, options = case
    out = segmented(SAMPLES / name, **options)
    tracks = load_manifest(out)["tracks"]
    track = tracks[pick % len(tracks)]
    assert run(track, out, operations, profile, bulk=True) == run(track, out, operations, profile, bulk=False)


def test_in_order_appends_take_the_bulk_path(segmented, monkeypatch):
    """The equivalence above would hold trivially if the bulk path were never taken."""
    out = segmented(SAMPLES / "h264-aac.mp4")
    track = next(t for t in load_manifest(out)["tracks"] if t["kind"] == "video")
    from msecli.mse.source_buffer import SourceBuffer

    walked = []
    original = SourceBuffer._process_frame
    monkeypatch.setattr(SourceBuffer, "_process_frame", lambda self, *a: walked.append(1) or original(self, *a))
    seen = run(track, out, [("append", i, None) for i in range(len(track["segments"]))], SPEC, bulk=True)
    frames = len(seen[-1][1]["tracks"][1][0])
    assert frames == 300 and len(walked) == 0  # 10 s at 30 fps, none of it walked one by one


def test_a_zero_duration_last_frame_keeps_the_bulk_path_exact(segmented):
    """A zero duration still covers 1 µs in ranges, so storing it refines a 15360 Hz track's grid to microseconds;
    the frame's timestamps must still be read on the grid they were planned on. By hand from the bytes below:
    DTS 0, 512, 1024, 1536 ticks less the init's 1024-tick edit, PTS = DTS + 1024: the last frame has DTS 1/30 s
    and PTS 0.1 s with no duration, so the highest end timestamp is 0.1 s."""
    import numpy as np

    from msecli.formats.isobmff.write import TrackRun, media_segment_header

    out = segmented(SAMPLES / "h264-aac.mp4")
    track = next(t for t in load_manifest(out)["tracks"] if t["kind"] == "video")
    durations = np.array([512, 512, 512, 0], np.int64)
    run_ = TrackRun(1, 0, durations, np.full(4, 10, np.int64), np.arange(4) == 0, np.full(4, 1024, np.int64))
    media = media_segment_header(1, [run_]) + bytes(40)
    ends = {}
    for bulk in (True, False):
        page = attached_page(SPEC)
        sb = page.media_source.add_source_buffer(track["mimeType"])
        sb.bulk_appends = bulk
        for data in ((out / track["init"]).read_bytes(), media):
            sb.append_buffer(data)
            page.loop.run_until_idle()
        ends[bulk] = state(sb)
        (buffer,) = sb.track_buffers.values()
        assert (buffer.last_decode_timestamp, buffer.highest_end_timestamp) == (Fraction(1, 30), Fraction(1, 10))
    assert ends[True] == ends[False]
