"""A track buffer (§7.1) and the coded frames it stores, kept in decode order.

Indexes keep the append path cheap: DTS keys for insertion, sorted PTS for "is anything in [a, b)?",
a running byte count, and the track buffer ranges maintained as frames come (recomputed only after a
removal, or when the merge threshold grows)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from fractions import Fraction

from msecli.timeline.ranges import TimeRanges
from msecli.timeline.time import ONE_MICROSECOND, Time


@dataclass(slots=True)
class CodedFrame:
    pts: Fraction
    dts: Fraction
    duration: Fraction
    key: bool
    size: int

    @property
    def end(self) -> Fraction:
        return self.pts + self.duration

    @property
    def span_end(self) -> Fraction:
        """Where the frame's presentation ends in ranges: a zero duration still covers 1 µs."""
        return self.pts + self.duration if self.duration > 0 else self.pts + ONE_MICROSECOND


@dataclass
class TrackBuffer:
    id: int
    kind: str  # audio, video, text
    codec: str
    last_decode_timestamp: Fraction | None = None
    last_frame_duration: Fraction | None = None
    highest_end_timestamp: Fraction | None = None
    need_random_access_point_flag: bool = True
    frames: list[CodedFrame] = field(default_factory=list)  # sorted by DTS
    max_frame_duration: Fraction = Fraction(0)  # largest seen: the spec's merge-threshold practice
    max_interbuffer_distance: Fraction = Fraction(1, 1000)  # Chromium's, grows, never shrinks
    last_appended_pts: Fraction | None = None  # eviction never removes this GOP or earlier ones from the back
    bytes: int = 0
    _dts: list[Fraction] = field(default_factory=list)
    _pts: list[Fraction] = field(default_factory=list)  # sorted
    _ranges: list[list[Time]] | None = None
    _ranges_gap: Time | None = None

    def add(self, frame: CodedFrame) -> None:
        dts_keys = self._dts
        if not dts_keys or frame.dts >= dts_keys[-1]:  # appending in decode order: the usual case
            index = len(dts_keys)
        else:
            index = bisect.bisect_right(dts_keys, frame.dts)
        if index:
            step = frame.dts - dts_keys[index - 1]
            if step > self.max_interbuffer_distance:
                self.max_interbuffer_distance = step
        if frame.duration > self.max_interbuffer_distance:
            self.max_interbuffer_distance = frame.duration
        if frame.duration > self.max_frame_duration:
            self.max_frame_duration = frame.duration
        self.frames.insert(index, frame)
        dts_keys.insert(index, frame.dts)
        _insort_near_end(self._pts, frame.pts)
        self.bytes += frame.size
        if self._ranges is not None:
            _merge_in(self._ranges, frame.pts, frame.span_end, self._ranges_gap)

    def has_pts_in(self, start: Time, end: Time) -> bool:
        if not self._pts or start > self._pts[-1]:  # after everything buffered: the usual case
            return False
        index = bisect.bisect_left(self._pts, start)
        return index < len(self._pts) and self._pts[index] < end

    @property
    def highest_pts(self) -> Fraction | None:
        return self._pts[-1] if self._pts else None

    def remove_with_dependants(self, doomed: list[CodedFrame]) -> list[CodedFrame]:
        """Remove `doomed`, then every frame after each removed one up to the next RAP in decode
        order (§7.2 step 15, §8.1 step 3.4). Returns everything removed."""
        if not doomed:
            return []
        doomed_ids = {id(f) for f in doomed}
        kept: list[CodedFrame] = []
        removed: list[CodedFrame] = []
        dropping = False
        for frame in self.frames:
            if id(frame) in doomed_ids:
                removed.append(frame)
                dropping = True
            elif dropping and not frame.key:
                removed.append(frame)
            else:
                dropping = False
                kept.append(frame)
        self.frames = kept
        self._dts = [f.dts for f in kept]
        self._pts = sorted(f.pts for f in kept)
        self.bytes = sum(f.size for f in kept)
        self._ranges = None
        return removed

    def ranges(self, merge_gap: Time) -> TimeRanges:
        """The track buffer ranges: frames' [PTS, PTS+dur) intervals, gaps below `merge_gap` closed."""
        if self._ranges is None or self._ranges_gap != merge_gap:
            spans: list[list[Time]] = []
            for start, end in sorted((f.pts, f.span_end) for f in self.frames):
                if spans and (start <= spans[-1][1] or start - spans[-1][1] < merge_gap):
                    spans[-1][1] = max(spans[-1][1], end)
                else:
                    spans.append([start, end])
            self._ranges, self._ranges_gap = spans, merge_gap
        return TimeRanges._normalised([s for s, _ in self._ranges], [e for _, e in self._ranges])

    def ranges_end(self, merge_gap: Time) -> Time:
        ranges = self.ranges(merge_gap)
        return ranges.highest_end


def _insort_near_end(keys: list[Fraction], value: Fraction, window: int = 32) -> None:
    """insort, looking first at the last few keys: presentation order differs from decode order only
    by a few frames (B-frames), so a new frame's PTS almost always belongs near the end."""
    low = len(keys) - window
    if low > 0 and keys[low] <= value:
        bisect.insort(keys, value, lo=low)
    else:
        bisect.insort(keys, value)


def _merge_in(spans: list[list[Time]], start: Time, end: Time, gap: Time | None) -> None:
    """Add [start, end) to sorted, gap-merged spans, merging with neighbours as the batch rule would."""
    gap = gap or 0
    index = bisect.bisect_right([s for s, _ in spans], start) if len(spans) < 64 or start < spans[-1][0] else len(spans)
    spans.insert(index, [start, end])
    lo = max(index - 1, 0)
    while lo + 1 < len(spans):
        a, b = spans[lo], spans[lo + 1]
        if b[0] <= a[1] or b[0] - a[1] < gap:
            a[1] = max(a[1], b[1])
            del spans[lo + 1]
        elif lo + 1 > index:
            break
        else:
            lo += 1
