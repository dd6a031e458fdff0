"""Coded frames as numpy structured arrays, and the tracks they belong to (both byte stream formats)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FRAME_DTYPE = np.dtype(
    [("dts", "i8"), ("pts", "i8"), ("duration", "i8"), ("size", "i8"), ("offset", "i8"), ("key", "?")]
)


@dataclass
class TrackInfo:
    """What an initialization segment says about a track."""

    id: int
    kind: str  # video, audio, text, other
    timescale: int  # ticks per second of this track's timestamps
    codecs: str = ""
    media_time: int = 0  # ISO BMFF edit list: PTS = CT - media_time
    defaults: dict[str, int] = field(default_factory=dict)  # trex defaults / WebM DefaultDuration (ticks)
    codec_delay: int = 0  # ticks a decoder discards at its start: WebM CodecDelay, MP3's 529 samples
    seek_preroll_ns: int = 0  # WebM SeekPreRoll: what a decoder must decode before a seek target (Opus: 80 ms)
    width: int = 0  # video: coded picture size from the sample entry / PixelWidth
    height: int = 0
    annexb_parameter_sets: int = 0  # H.264 in ISO BMFF: its avcC's SPS and PPS as Annex B NAL units, bytes
    nal_length_size: int = 0  # H.264 or HEVC in ISO BMFF: bytes of each NAL unit's length prefix (avcC, hvcC)


def empty_frames() -> np.ndarray:
    return np.zeros(0, dtype=FRAME_DTYPE)


def concat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else empty_frames()
