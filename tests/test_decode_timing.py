"""Decode timing (issue: decode timing + dashboard, first part): the appended bytes decode, from memory,
to the same frames in the same order as PyAV's own decode of the source; every frame has a cost."""

from __future__ import annotations

import av
import numpy as np
import pytest

from msecli.errors import InputError
from msecli.media.decode_timing import summary, time_decode
from tests.media import SAMPLES, load_manifest


def source_frame_times(path, kind: str) -> list[float]:
    with av.open(str(path)) as container:
        stream = next(s for s in container.streams if s.type == kind)
        return [float(f.pts * stream.time_base) for f in container.decode(stream)]


@pytest.mark.parametrize("sample, fmt", [("h264-aac.mp4", "mp4"), ("vp9-opus.webm", "webm")])
def test_decoded_frames_match_pyav_decoding_the_source(segmented, sample, fmt):
    out = segmented(SAMPLES / sample, format=fmt)
    offset = load_manifest(out)["timelineOffset"]
    for track in load_manifest(out)["tracks"]:
        segments = [(out / s["file"]).read_bytes() for s in track["segments"]]
        timing = time_decode((out / track["init"]).read_bytes(), segments)
        expected = source_frame_times(SAMPLES / sample, track["kind"])
        assert len(timing.output_pts) == len(expected)
        assert np.allclose(np.array(timing.output_pts) - offset, expected, atol=2e-6)
        assert len(timing.pts) == sum(s["frames"] for s in track["segments"])  # one cost per coded frame
        assert (timing.wall_ns > 0).all() and (timing.cpu_ns >= 0).all()
        assert (np.diff(timing.segment) >= 0).all()
        assert np.bincount(timing.segment).tolist() == [s["frames"] for s in track["segments"]]


def test_summary_statistics_are_consistent(segmented):
    out = segmented(SAMPLES / "h264-aac.mp4")
    track = load_manifest(out)["tracks"][0]
    timing = time_decode(
        (out / track["init"]).read_bytes(), [(out / s["file"]).read_bytes() for s in track["segments"]]
    )
    report = summary(timing)
    assert report["frames"] == 300
    assert 0 < report["p50Ms"] <= report["p95Ms"] <= report["p99Ms"] <= report["maxMs"]
    slowest = [entry["ms"] for entry in report["slowest"]]
    assert slowest == sorted(slowest, reverse=True) and slowest[0] == report["maxMs"]
    assert [s["frames"] for s in report["segments"]] == [120, 120, 60]
    assert sum(report["histogram"]["counts"]) == len(timing.pts)
    assert report["realtimeFactor"] == pytest.approx(10.0 / (timing.wall_ns.sum() / 1e9), rel=0.01)


def test_bytes_pyav_cannot_open_are_an_input_error():
    with pytest.raises(InputError, match="PyAV cannot open"):
        time_decode(b"\x00" * 64, [b"\x00" * 64])
