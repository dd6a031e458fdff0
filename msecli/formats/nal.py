"""Length-prefixed NAL units in MP4 samples (H.264 avcC, HEVC hvcC), read as Chromium's MP4 parser reads them before
a sample is buffered: the conversion to Annex B (AVC::ConvertFrameToAnnexB) and, for H.264, the keyframe analysis
(AVC::AnalyzeAnnexB). Vectorised across samples: one pass per NAL unit index, not per unit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from msecli.formats import Buffer

VCL = (1, 2, 3, 4, 5)  # slice NAL unit types; 5 is an IDR slice
IGNORED = (0, 12)  # unspecified and filler data: skipped wherever they are (H.264 7.4.2.7)
# NAL unit types AVC::AnalyzeAnnexB lets come before the first slice (SEI, SPS, PPS, prefix, subset SPS, DPS, 17, 18);
# an AUD only before any other unit but ignored ones, an SPS extension only after an SPS. Any other type there ends the
# analysis.
BEFORE_FIRST_SLICE = (6, 7, 8, 14, 15, 16, 17, 18)
SEI, AUD, SPS, SPS_EXTENSION = 6, 9, 7, 13
RECOVERY_POINT = 6  # SEI payload type (H.264 D.1.8)
SCALAR_AFTER, SCALAR_SAMPLES = 8, 4  # past this many unit steps, this few samples left are walked one at a time


@dataclass(frozen=True)
class SampleCheck:
    converts: np.ndarray  # bool: the units' lengths add up to the sample exactly, none of length 0
    first_header: np.ndarray  # int: the first unit's header byte, -1 for an empty sample
    # int: 1 when the bitstream makes the sample a keyframe (an IDR slice first, or a non-IDR one after a recovery
    # point SEI with recovery_frame_cnt 0), 0 when its first slice says otherwise, -1 when no slice was reached
    keyframe: np.ndarray


def check_samples(data: Buffer, offsets: np.ndarray, sizes: np.ndarray, length_size: int) -> SampleCheck:
    """Each sample (offsets, sizes in `data`) walked unit by unit as Chromium walks it."""
    count = len(offsets)
    buf = np.frombuffer(data, np.uint8)
    offsets, sizes = offsets.astype(np.int64), sizes.astype(np.int64)
    ends = offsets + sizes
    converts = np.ones(count, bool)
    first_header = np.full(count, -1, np.int64)
    keyframe = np.full(count, -1, np.int64)
    if length_size not in (1, 2, 4):  # RCHECK in ConvertFrameToAnnexB
        converts[sizes > 0] = False
        return SampleCheck(converts, first_header, keyframe)
    converts[(sizes > 0) & (sizes <= length_size)] = False  # the loop never runs: ends short of the sample's end
    position = offsets.copy()
    active = sizes > length_size
    state = _Analysis(count)
    steps = 0
    while active.any():
        index = np.nonzero(active)[0]
        steps += 1
        if steps > SCALAR_AFTER and len(index) <= SCALAR_SAMPLES:  # a few samples of many units: one at a time
            for sample in index.tolist():
                position[sample], converts[sample] = _walk_one(data, int(position[sample]), int(ends[sample]),
                                                               length_size, sample, state)  # fmt: skip
            break
        at = position[index]
        lengths = np.zeros(len(index), np.int64)
        for byte in range(length_size):
            lengths = (lengths << 8) | buf[at + byte]
        empty = lengths == 0
        converts[index[empty]] = False
        header = np.where(empty, -1, buf[at + length_size].astype(np.int64))  # at + length_size < the end
        first = first_header[index] < 0
        first_header[index[first & ~empty]] = header[first & ~empty]
        units = ~empty
        state.step(index[units], header[units], at[units] + length_size, lengths[units])
        position[index] = at + length_size + lengths
        active[index] = ~empty & (ends[index] - position[index] > length_size)
    converts &= (sizes == 0) | (position == ends)
    keyframe[:] = state.slice_keyframe
    for sample, start, length in state.sei_units:
        if keyframe[sample] == 0 and recovery_frame_count(bytes(buf[start + 1 : start + length])) == 0:
            keyframe[sample] = 1  # Chromium 156: an I picture after a recovery point with recovery_frame_cnt 0
    return SampleCheck(converts, first_header, keyframe)


def _walk_one(data: Buffer, position: int, end: int, length_size: int, sample: int, state: _Analysis) -> tuple[int, bool]:
    """The rest of one sample's units, in a plain loop (numpy's per-call cost would dominate); the analysis sees them
    while it is live. Returns where the walk stopped and whether no unit had length 0."""
    while end - position > length_size:
        length = int.from_bytes(data[position : position + length_size], "big")
        if length == 0:
            return position + length_size, False
        if state.analysing[sample] and state.slice_keyframe[sample] < 0:
            state.step_one(sample, data[position + length_size], position + length_size, length)
        position += length_size + length
    return position, True


class _Analysis:
    """AVC::AnalyzeAnnexB for every sample at once, one NAL unit index per step: the first slice decides; a unit with
    its forbidden bit set (H264Parser: invalid stream) or out of the allowed order before it ends the analysis. The
    SEI units met before the first slice are noted for their recovery points."""

    def __init__(self, count: int) -> None:
        self.analysing = np.ones(count, bool)
        self.previous = np.full(count, -1, np.int64)  # the previous unit's type
        self.slice_keyframe = np.full(count, -1, np.int64)
        self.sei_units: list[tuple[int, int, int]] = []  # (sample, first byte, length)

    def step(self, index: np.ndarray, header: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> None:
        live = self.analysing[index] & (self.slice_keyframe[index] < 0)
        index, header, starts, lengths = index[live], header[live], starts[live], lengths[live]
        kind = header & 0x1F
        forbidden = header >= 0x80
        slice_ = np.isin(kind, VCL) & ~forbidden
        self.slice_keyframe[index[slice_]] = (kind[slice_] == 5).astype(np.int64)
        allowed = (np.isin(kind, BEFORE_FIRST_SLICE + IGNORED) | ((kind == AUD) & (self.previous[index] < 0))
                   | ((kind == SPS_EXTENSION) & (self.previous[index] == SPS)))  # fmt: skip
        self.analysing[index[forbidden | (~slice_ & ~allowed)]] = False
        sei = (kind == SEI) & ~forbidden
        self.sei_units += zip(index[sei].tolist(), starts[sei].tolist(), lengths[sei].tolist())
        ignored = np.isin(kind, IGNORED)
        self.previous[index[~ignored]] = kind[~ignored]

    def step_one(self, sample: int, header: int, start: int, length: int) -> None:
        """`step` for one unit of one live sample, without numpy's per-call cost."""
        kind, forbidden = header & 0x1F, header >= 0x80
        if kind in VCL and not forbidden:
            self.slice_keyframe[sample] = int(kind == 5)
            return
        previous = int(self.previous[sample])
        allowed = (kind in BEFORE_FIRST_SLICE + IGNORED or (kind == AUD and previous < 0)
                   or (kind == SPS_EXTENSION and previous == SPS))  # fmt: skip
        if forbidden or not allowed:
            self.analysing[sample] = False
        if kind == SEI and not forbidden:
            self.sei_units.append((sample, start, length))
        if kind not in IGNORED:
            self.previous[sample] = kind


def recovery_frame_count(payload: bytes) -> int | None:
    """recovery_frame_cnt of the first recovery point message in an SEI unit's payload (after its header byte), or
    None when it has none or it is cut short."""
    rbsp = payload.replace(b"\x00\x00\x03", b"\x00\x00")  # emulation prevention bytes
    position = 0
    while position < len(rbsp) and rbsp[position] != 0x80:  # 0x80: the RBSP trailing bits
        payload_type, position = _sei_number(rbsp, position)
        size, position = _sei_number(rbsp, position)
        if payload_type is None or size is None or position + size > len(rbsp):
            return None
        if payload_type == RECOVERY_POINT:
            return _exp_golomb(rbsp[position : position + size])
        position += size
    return None


def _sei_number(rbsp: bytes, position: int) -> tuple[int | None, int]:
    """An SEI payload type or size: 0xFF bytes each adding 255, then the last byte."""
    value = 0
    while position < len(rbsp) and rbsp[position] == 0xFF:
        value, position = value + 255, position + 1
    if position >= len(rbsp):
        return None, position
    return value + rbsp[position], position + 1


def _exp_golomb(data: bytes) -> int | None:
    """The ue(v) at the start of `data`."""
    bits = int.from_bytes(data, "big")
    total = len(data) * 8
    leading = total - bits.bit_length() if bits else total
    if 2 * leading + 1 > total:
        return None
    return (bits >> (total - 2 * leading - 1)) - 1
