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
    mutations: int = 0  # bumped on every change to the stored frames (observers cache on it)
    min_offset: Fraction = Fraction(0)  # bounds of PTS - DTS over the stored frames (B-frame reordering)
    max_offset: Fraction = Fraction(0)
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
        offset = frame.pts - frame.dts
        if offset < self.min_offset:
            self.min_offset = offset
        if offset > self.max_offset:
            self.max_offset = offset
        self.frames.insert(index, frame)
        self.mutations += 1
        dts_keys.insert(index, frame.dts)
        _insort_near_end(self._pts, frame.pts)
        self.bytes += frame.size
        if self._ranges is not None:
            _merge_in(self._ranges, frame.pts, frame.span_end, self._ranges_gap)

    def frames_presented_between(self, start: Time, end: Time) -> int:
        """How many frames have a presentation timestamp in [start, end)."""
        return bisect.bisect_left(self._pts, end) - bisect.bisect_left(self._pts, start)

    def has_pts_in(self, start: Time, end: Time) -> bool:
        if not self._pts or start > self._pts[-1]:  # after everything buffered: the usual case
            return False
        index = bisect.bisect_left(self._pts, start)
        return index < len(self._pts) and self._pts[index] < end

    @property
    def highest_pts(self) -> Fraction | None:
        return self._pts[-1] if self._pts else None

    # Lookups by presentation time, through the decode-order index: a frame's PTS lies within
    # [DTS + min_offset, DTS + max_offset], so only that slice of decode order needs looking at.

    def decode_slice(self, start: Time, end: Time) -> tuple[int, int]:
        """Indexes (decode order) bounding every frame whose PTS may lie in [start, end)."""
        low = bisect.bisect_left(self._dts, start - self.max_offset)
        high = len(self._dts) if end == float("inf") else bisect.bisect_left(self._dts, end - self.min_offset)
        return low, max(low, high)

    def frames_starting_in(self, start: Time, end: Time) -> list[CodedFrame]:
        if not self.has_pts_in(start, end):
            return []
        low, high = self.decode_slice(start, end)
        return [f for f in self.frames[low:high] if start <= f.pts < end]

    def first_random_access_point_at_or_after(self, time: Time) -> Fraction | None:
        """The smallest PTS of a keyframe at or after `time`, looking no further than needed."""
        low, _ = self.decode_slice(time, time)
        best = None
        for index in range(low, len(self.frames)):  # by index: a slice would copy the whole tail
            frame = self.frames[index]
            if best is not None and frame.dts > best - self.min_offset:
                break
            if frame.key and frame.pts >= time and (best is None or frame.pts < best):
                best = frame.pts
        return best

    def remove_with_dependants(self, doomed: list[CodedFrame]) -> list[CodedFrame]:
        """Remove `doomed`, then every frame after each removed one up to the next RAP in decode
        order (§7.2 step 15, §8.1 step 3.4). Returns everything removed. The work is proportional to
        the frames removed (plus a search), not to the frames stored."""
        if not doomed:
            return []
        doomed_ids = {id(f) for f in doomed}
        first = min(bisect.bisect_left(self._dts, f.dts) for f in doomed)
        last = max(bisect.bisect_right(self._dts, f.dts) for f in doomed)
        index = last
        while index < len(self.frames) and not self.frames[index].key:  # the dependants of the last one
            index += 1
        kept: list[CodedFrame] = []
        removed: list[CodedFrame] = []
        dropping = False
        for frame in self.frames[first:index]:
            if id(frame) in doomed_ids:
                removed.append(frame)
                dropping = True
            elif dropping and not frame.key:
                removed.append(frame)
            else:
                dropping = False
                kept.append(frame)
        self.frames[first:index] = kept
        self.mutations += 1
        self._dts[first:index] = [f.dts for f in kept]
        self._remove_presentation_keys(removed)
        self.bytes -= sum(frame.size for frame in removed)
        self._repair_ranges(removed)
        return removed

    def _remove_presentation_keys(self, removed: list[CodedFrame]) -> None:
        """Drop the removed frames' PTS from the sorted index: one slice when they are a contiguous run
        of it (the usual case: a removal takes everything in a presentation interval)."""
        low = bisect.bisect_left(self._pts, min(f.pts for f in removed))
        high = bisect.bisect_right(self._pts, max(f.pts for f in removed))
        if high - low == len(removed):
            del self._pts[low:high]
            return
        for frame in removed:
            del self._pts[bisect.bisect_left(self._pts, frame.pts)]

    def _repair_ranges(self, removed: list[CodedFrame]) -> None:
        """Re-derive the cached ranges only around what was removed (a margin of one frame and one
        merge threshold on each side); ranges elsewhere cannot have changed."""
        if self._ranges is None or not removed:
            self._ranges = None
            return
        gap = self._ranges_gap or 0
        margin = self.max_frame_duration + gap + ONE_MICROSECOND
        window_start = min(f.pts for f in removed) - margin
        window_end = max(f.span_end for f in removed) + margin
        outside: list[list[Time]] = []
        for span_start, span_end in self._ranges:
            if span_end <= window_start or span_start >= window_end:
                outside.append([span_start, span_end])
            else:  # keep the parts outside the window: nothing there changed
                if span_start < window_start:
                    outside.append([span_start, window_start])
                if span_end > window_end:
                    outside.append([window_end, span_end])
        low, high = self.decode_slice(window_start - self.max_frame_duration, window_end)
        inside = [[max(f.pts, window_start), min(f.span_end, window_end)] for f in self.frames[low:high]
                  if f.span_end > window_start and f.pts < window_end]  # fmt: skip
        spans: list[list[Time]] = []
        for start, end in sorted(outside + inside):
            if spans and (start <= spans[-1][1] or start - spans[-1][1] < gap):
                spans[-1][1] = max(spans[-1][1], end)
            else:
                spans.append([start, end])
        self._ranges = spans

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
