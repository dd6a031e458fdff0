"""TimeRanges: sorted, disjoint, normalised [start, end) spans of exact times, with union and
intersection. Backed by numpy object arrays of Fractions so set operations are vectorised sweeps."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction

import numpy as np

from msecli.timeline.time import INF, Time


class IndexSizeError(IndexError):
    """The DOMException TimeRanges.start()/end() throw for an index out of range."""

    name = "IndexSizeError"


class TimeRanges:
    __slots__ = ("_starts", "_ends", "_spans")

    def __init__(self, spans: Iterable[tuple[Time, Time]] = ()) -> None:
        pairs = sorted((s, e) for s, e in spans if e > s)
        starts: list[Time] = []
        ends: list[Time] = []
        for start, end in pairs:
            if starts and start <= ends[-1]:  # overlapping or touching: one range
                ends[-1] = max(ends[-1], end)
            else:
                starts.append(start)
                ends.append(end)
        self._starts = np.array(starts, dtype=object)
        self._ends = np.array(ends, dtype=object)
        self._spans: tuple[tuple[Time, Time], ...] | None = None

    @classmethod
    def _normalised(cls, starts: Sequence[Time], ends: Sequence[Time]) -> TimeRanges:
        ranges = cls.__new__(cls)
        ranges._starts = np.array(starts, dtype=object)
        ranges._ends = np.array(ends, dtype=object)
        ranges._spans = None
        return ranges

    # The IDL surface

    @property
    def length(self) -> int:
        return len(self._starts)

    def start(self, index: int) -> Time:
        if not 0 <= index < len(self._starts):
            raise IndexSizeError(f"index {index} is not below length {len(self._starts)}")
        return self._starts[index]

    def end(self, index: int) -> Time:
        if not 0 <= index < len(self._ends):
            raise IndexSizeError(f"index {index} is not below length {len(self._ends)}")
        return self._ends[index]

    # Set algebra

    def union(self, other: TimeRanges) -> TimeRanges:
        return TimeRanges(list(self.spans()) + list(other.spans()))

    def intersection(self, other: TimeRanges) -> TimeRanges:
        starts, ends = [], []
        i = j = 0
        a, b = self._span_tuple(), other._span_tuple()
        while i < len(a) and j < len(b):
            start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
            if start < end:
                starts.append(start)
                ends.append(end)
            if a[i][1] < b[j][1]:
                i += 1
            else:
                j += 1
        return TimeRanges._normalised(starts, ends)

    def contains(self, time: Time) -> bool:
        index = int(np.searchsorted(self._starts, time, side="right")) - 1 if len(self._starts) else -1  # type: ignore[call-overload]
        return index >= 0 and time < self._ends[index]

    def range_containing(self, time: Time) -> tuple[Time, Time] | None:
        index = int(np.searchsorted(self._starts, time, side="right")) - 1 if len(self._starts) else -1  # type: ignore[call-overload]
        if index >= 0 and time < self._ends[index]:
            return self._starts[index], self._ends[index]
        return None

    def spans(self) -> list[tuple[Time, Time]]:
        """(start, end) of each range, a list the caller may keep."""
        return list(self._span_tuple())

    def _span_tuple(self) -> tuple[tuple[Time, Time], ...]:
        """(start, end) of each range, made once (a TimeRanges never changes)."""
        if self._spans is None:
            self._spans = tuple(zip(self._starts.tolist(), self._ends.tolist()))
        return self._spans

    @property
    def highest_end(self) -> Time:
        return self._ends[-1] if len(self._ends) else Fraction(0)

    def with_last_end(self, end: Time) -> TimeRanges:
        """The last range extended to `end` (the readyState "ended" rule of §9)."""
        if not len(self._ends) or end <= self._ends[-1]:
            return self
        return TimeRanges._normalised(self._starts.tolist(), self._ends.tolist()[:-1] + [end])

    def to_json(self) -> list[list[float | str]]:
        return [[_json_number(s), _json_number(e)] for s, e in self.spans()]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TimeRanges) and self.spans() == other.spans()

    def __hash__(self) -> int:
        return hash(tuple(self.spans()))

    def __repr__(self) -> str:
        return "TimeRanges(" + ", ".join(f"[{float(s):g}, {float(e):g})" for s, e in self.spans()) + ")"

    def __bool__(self) -> bool:
        return bool(len(self._starts))


def _json_number(value: Time) -> float | str:
    if value == INF:
        return "Infinity"
    if value == -INF:
        return "-Infinity"
    return round(float(value), 6)


EMPTY = TimeRanges()


def intersected_from_zero(ranges: Sequence[TimeRanges], highest_end: Time) -> TimeRanges:
    """[0, highest_end] intersected with each of `ranges` (MSE §9.1 steps 3-4, §9.2 steps 3-5), where every one
    of them ends by `highest_end`: the [0, highest_end] range can then only cut what starts below 0."""
    if not ranges:
        return TimeRanges([(Fraction(0), highest_end)])
    intersection = ranges[0]
    for r in ranges[1:]:
        intersection = intersection.intersection(r)
    if intersection and intersection.start(0) < 0:
        intersection = intersection.intersection(TimeRanges([(Fraction(0), highest_end)]))
    return intersection
