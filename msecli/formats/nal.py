"""Length-prefixed NAL units in MP4 samples (H.264 avcC, HEVC hvcC), read as Chromium's MP4 parser reads them before
a sample is buffered: the conversion to Annex B (AVC::ConvertFrameToAnnexB) and, for H.264, the keyframe analysis
(AVC::AnalyzeAnnexB). Vectorised across samples: one pass per NAL unit index, not per unit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from msecli.formats import Buffer

VCL = (1, 2, 3, 4, 5)  # slice NAL unit types; 5 is an IDR slice
# NAL unit types AVC::AnalyzeAnnexB lets come before the first slice (SEI, SPS, PPS, prefix, subset SPS, DPS, 17, 18);
# an AUD only as the first unit, an SPS extension only after an SPS. Any other type there ends the analysis.
BEFORE_FIRST_SLICE = (6, 7, 8, 14, 15, 16, 17, 18)
AUD, SPS, SPS_EXTENSION = 9, 7, 13


@dataclass(frozen=True)
class SampleCheck:
    converts: np.ndarray  # bool: the units' lengths add up to the sample exactly, none of length 0
    first_header: np.ndarray  # int: the first unit's header byte, -1 for an empty sample
    idr: np.ndarray  # int: 1 or 0 when the first slice was reached (an IDR slice or another), else -1


def check_samples(data: Buffer, offsets: np.ndarray, sizes: np.ndarray, length_size: int) -> SampleCheck:
    """Each sample (offsets, sizes in `data`) walked unit by unit as Chromium walks it."""
    count = len(offsets)
    buf = np.frombuffer(data, np.uint8)
    offsets, sizes = offsets.astype(np.int64), sizes.astype(np.int64)
    ends = offsets + sizes
    converts = np.ones(count, bool)
    first_header = np.full(count, -1, np.int64)
    idr = np.full(count, -1, np.int64)
    if length_size not in (1, 2, 4):  # RCHECK in ConvertFrameToAnnexB
        converts[sizes > 0] = False
        return SampleCheck(converts, first_header, idr)
    converts[(sizes > 0) & (sizes <= length_size)] = False  # the loop never runs: ends short of the sample's end
    position = offsets.copy()
    active = sizes > length_size
    analysing = active.copy()  # the keyframe analysis has not stopped
    previous = np.full(count, -1, np.int64)  # the previous unit's type
    while active.any():
        index = np.nonzero(active)[0]
        at = position[index]
        lengths = np.zeros(len(index), np.int64)
        for byte in range(length_size):
            lengths = (lengths << 8) | buf[at + byte]
        empty = lengths == 0
        converts[index[empty]] = False
        header = np.where(empty, -1, buf[at + length_size].astype(np.int64))  # at + length_size < the end
        first = first_header[index] < 0
        first_header[index[first & ~empty]] = header[first & ~empty]
        _analyse(index[~empty], header[~empty], first[~empty], analysing, previous, idr)
        position[index] = at + length_size + lengths
        active[index] = ~empty & (ends[index] - position[index] > length_size)
    converts &= (sizes == 0) | (position == ends)
    return SampleCheck(converts, first_header, idr)


def _analyse(index: np.ndarray, header: np.ndarray, first: np.ndarray, analysing: np.ndarray, previous: np.ndarray,
             idr: np.ndarray) -> None:  # fmt: skip
    """One step of AVC::AnalyzeAnnexB for the samples still being analysed: the first slice decides; a unit with
    its forbidden bit set (H264Parser: invalid stream) or out of the allowed order before it ends the analysis."""
    live = analysing[index] & (idr[index] < 0)
    index, header, first = index[live], header[live], first[live]
    kind = header & 0x1F
    forbidden = header >= 0x80
    slice_ = np.isin(kind, VCL) & ~forbidden
    idr[index[slice_]] = (kind[slice_] == 5).astype(np.int64)
    allowed = np.isin(kind, BEFORE_FIRST_SLICE) | ((kind == AUD) & first) | ((kind == SPS_EXTENSION) & (previous[index] == SPS))
    analysing[index[forbidden | (~slice_ & ~allowed)]] = False
    previous[index] = kind
