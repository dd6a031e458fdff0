"""A reference for the MSE append path: the work one append of a plain fMP4 media segment cannot avoid in
Python with numpy, and nothing else. Box headers read with struct, the trun's table with frombuffer, decode and
presentation times from it, the checks coded frame processing's bulk path makes (inside the append window, no
discontinuity, nothing stored overlapped), the frames written into preallocated columns, the presentation
order and its ranges. No events, tasks, exact Fractions, buffered ranges or media element: what the target
leaves for those is the difference between this and the target's time per append."""

from __future__ import annotations

import struct

import numpy as np

from msecli.formats.isobmff.boxes import trun_dtype
from msecli.formats.isobmff.fragments import NON_SYNC

HEADER = struct.Struct(">I4s")
U32 = struct.Struct(">I")


def _children(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    boxes = []
    while start < end:
        size, kind = HEADER.unpack_from(data, start)
        boxes.append((kind, start + 8, start + size))
        start += size
    return boxes


def _default_duration(data: bytes, start: int) -> int:
    flags = U32.unpack_from(data, start)[0] & 0xFFFFFF
    if not flags & 0x08:
        return 0
    return U32.unpack_from(data, start + 8 + 8 * bool(flags & 0x01) + 4 * bool(flags & 0x02))[0]


def _trun(data: bytes, start: int) -> tuple[int, np.ndarray, int]:
    """(sample count, sample table, first_sample_flags or -1) of the trun whose payload starts at `start`."""
    version_and_flags = U32.unpack_from(data, start)[0]
    flags = version_and_flags & 0xFFFFFF
    count = U32.unpack_from(data, start + 4)[0]
    position = start + 8 + 4 * bool(flags & 0x01)
    first_flags = U32.unpack_from(data, position)[0] if flags & 0x04 else -1
    position += 4 * bool(flags & 0x04)
    return count, np.frombuffer(data, trun_dtype(flags, version_and_flags >> 24), count, position), first_flags


class FloorTrack:
    """One track's frames in preallocated int64 columns (decode order, and presentation order beside it)."""

    def __init__(self, capacity: int) -> None:
        self.decode = np.zeros((5, capacity), np.int64)  # dts, pts, duration, key, size
        self.presentation = np.zeros((2, capacity), np.int64)  # pts, end
        self.count = 0
        self.spans: list[list[int]] = []

    def append(self, data: bytes) -> int:
        """One media segment ([styp] moof mdat); returns the frames stored."""
        boxes = _children(data, 0, len(data))
        moof = next((start, end) for kind, start, end in boxes if kind == b"moof")
        traf = next((start, end) for kind, start, end in _children(data, *moof) if kind == b"traf")
        base, run, default_duration = 0, None, 0
        for kind, start, _ in _children(data, *traf):
            if kind == b"tfhd":
                default_duration = _default_duration(data, start)
            elif kind == b"tfdt":
                base = struct.unpack_from(">Q" if data[start] else ">I", data, start + 4)[0]
            elif kind == b"trun":
                run = _trun(data, start)
        assert run is not None
        count, table, first_flags = run
        names = table.dtype.names or ()
        duration = table["duration"].astype(np.int64) if "duration" in names else np.full(count, default_duration)
        dts = base + np.cumsum(duration) - duration
        pts = dts + table["cto"].astype(np.int64) if "cto" in names else dts
        key = (table["flags"] & NON_SYNC) == 0 if "flags" in names else np.ones(count, bool)
        if first_flags >= 0:
            key[0] = not first_flags & NON_SYNC
        ends = pts + duration
        stored = self.count
        # The bulk plan's checks: inside the window, no discontinuity, nothing stored overlapped.
        steps = np.diff(dts)
        assert pts.min() >= 0 and not (steps < 0).any() and not (steps > 2 * duration[:-1]).any()
        assert not self.spans or self.spans[-1][1] <= pts.min()
        self.decode[:, stored : stored + count] = (dts, pts, duration, key, table["size"])
        order = np.argsort(pts, kind="stable")
        self.presentation[:, stored : stored + count] = (pts[order], ends[order])
        reach = np.maximum.accumulate(ends[order])
        breaks = np.flatnonzero(pts[order][1:] - reach[:-1] >= 1)
        if not len(breaks) and self.spans and self.spans[-1][1] >= int(pts[order][0]):
            self.spans[-1][1] = int(reach[-1])
        else:
            self.spans.append([int(pts[order][0]), int(reach[-1])])
        self.count += count
        return count
