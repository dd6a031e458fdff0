"""The fast path (sample tables + byte ranges) and the general path (PyAV's demuxer) agree to the byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from msecli.formats.isobmff.sample_tables import Edit
from msecli.media import direct_mp4
from msecli.media import segment as segment_module
from msecli.media.segment import SegmentOptions, segment
from msecli.media.source import open_source
from tests.media import SAMPLES


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", ["h264-aac.mp4", "aac-tone.m4a"])
@pytest.mark.parametrize("muxed", [False, True])
def test_fast_path_is_taken_and_matches_the_demuxer_path(tmp_path, monkeypatch, name, muxed):
    source = open_source(SAMPLES / name)
    assert direct_mp4.plan_direct(source, source.tracks) is not None  # the fast path applies here
    source.close()
    segment(SAMPLES / name, tmp_path / "fast", SegmentOptions(muxed=muxed, duration=3))
    monkeypatch.setattr(segment_module, "plan_direct", lambda *args: None)
    segment(SAMPLES / name, tmp_path / "demuxer", SegmentOptions(muxed=muxed, duration=3))
    fast, demuxer = tree(tmp_path / "fast"), tree(tmp_path / "demuxer")
    assert fast.keys() == demuxer.keys()
    for path in fast:
        assert fast[path] == demuxer[path], path


def test_fast_path_declines_edit_lists_it_does_not_model(tmp_path):
    """Two non-empty edits: FFmpeg splices the media; the sample tables alone cannot say how."""
    source = open_source(SAMPLES / "h264-aac.mp4")
    movie = direct_mp4._read_movie(source.path)
    video = movie.tracks[0]
    two_edits = [Edit(5000, 1024, 1.0), Edit(5000, 80000, 1.0)]
    assert direct_mp4._edit_shift(video, movie) == -1024
    assert direct_mp4._edit_shift(type(video)(**{**video.__dict__, "edits": two_edits}), movie) is None
    source.close()
