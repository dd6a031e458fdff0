"""A synthetic segment set of any length: real fMP4 bytes (moof with a full trun, and an mdat of the
declared size, its H.264 samples each one well-formed NAL unit of zeros) for 1080p30 H.264 at 6 Mbps in 2 s GOPs and 128 kbps AAC, made as each segment is
fetched, so memory does not grow with the content. The init segments are real ones, from segmenting
the bundled sample (their stsd is 640x360; only the sizes here are 1080p's)."""

from __future__ import annotations

import functools
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

from msecli.formats.isobmff.write import TrackRun, media_segment_header
from msecli.sim.player import SegmentRef, TrackPlan

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "h264-aac.mp4"
VIDEO_RATE = 6_000_000
AUDIO_FRAME_BYTES = 341  # 128 kbps, 1024 samples at 48 kHz
GOP = 60  # frames of 30 fps video: one 2 s segment


def _inits() -> dict[str, bytes]:
    from msecli.media.segment import SegmentOptions, segment

    with tempfile.TemporaryDirectory() as temp:
        out = Path(temp) / "out"
        segment(SAMPLE, out, SegmentOptions())
        return {kind: (out / kind / "init.mp4").read_bytes() for kind in ("video", "audio")}


def _video_segment(index: int) -> bytes:
    timescale = 15360
    sizes = np.full(GOP, VIDEO_RATE * 2 // 8 // (GOP + 7), dtype=np.uint32)
    sizes[0] *= 8  # the keyframe
    run = TrackRun(
        1,
        index * GOP * 512,
        np.full(GOP, timescale // 30, np.uint32),
        sizes,
        np.arange(GOP) == 0,
        np.full(GOP, 1024, np.int64),
    )  # fmt: skip  (the init edit list subtracts 1024)
    header = media_segment_header(index + 1, [run])
    return header + _video_samples(tuple(int(size) for size in sizes))


def _audio_segment(first_frame: int, count: int) -> bytes:
    run = TrackRun(1, first_frame * 1024, np.full(count, 1024, np.uint32), np.full(count, AUDIO_FRAME_BYTES, np.uint32),
                   np.ones(count, bool), np.zeros(count, np.int64))  # fmt: skip
    return media_segment_header(first_frame + 1, [run]) + _zeros(run.data_size)


@functools.cache
def _video_samples(sizes: tuple[int, ...]) -> bytes:
    """The samples' bytes, made once: each one NAL unit with its 4-byte length, an IDR slice first, then non-IDR
    slices (what Chromium's MP4 parser checks of H.264 samples), the rest zeros."""
    data = np.zeros(sum(sizes), np.uint8)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    lengths = (np.array(sizes, np.int64) - 4).astype(">u4")
    for byte in range(4):
        data[starts + byte] = lengths.view(np.uint8).reshape(-1, 4)[:, byte]
    data[starts + 4] = 0x41
    data[0 + 4] = 0x65
    return data.tobytes()


@functools.cache
def _zeros(size: int) -> bytes:
    """Sample bytes, made once per size: fresh pages for every segment cost more than simulating it."""
    return bytes(size)


def segment_set(seconds: int) -> list[TrackPlan]:
    inits = _inits()
    video = []
    data_size = len(_video_segment(0))  # every video segment has the same size
    for index in range(seconds // 2):
        video.append(SegmentRef(Fraction(2 * index), Fraction(2 * index + 2), data_size,
                                lambda index=index: _video_segment(index)))  # fmt: skip
    audio = []
    frames_total = seconds * 48000 // 1024
    for first in range(0, frames_total, 94):
        count = min(94, frames_total - first)
        audio.append(SegmentRef(Fraction(first * 1024, 48000), Fraction((first + count) * 1024, 48000),
                                count * AUDIO_FRAME_BYTES + 200, lambda first=first, count=count: _audio_segment(first, count)))  # fmt: skip
    init = {k: SegmentRef(Fraction(0), Fraction(0), len(v), lambda v=v: v) for k, v in inits.items()}
    return [
        TrackPlan("video", "video", 'video/mp4; codecs="avc1.64001e"', init["video"], video),
        TrackPlan("audio", "audio", 'audio/mp4; codecs="mp4a.40.2"', init["audio"], audio),
    ]
