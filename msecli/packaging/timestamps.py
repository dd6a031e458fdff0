"""Decode timestamps for inputs that carry only presentation timestamps (H.264/HEVC in Matroska).

Decode order is file order, and the decode timestamps are the presentation timestamps in sorted
order, moved back by the smallest constant that keeps every frame's DTS at or before its PTS. With
a reorder depth below the look-ahead window, the i-th smallest PTS is known once `window` more
frames have been seen, so this streams with a fixed delay.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator
from typing import Generic, TypeVar

from msecli.errors import InputError

T = TypeVar("T")
WINDOW = 32


class DecodeTimestamps(Generic[T]):
    def __init__(self, track: str, window: int = WINDOW) -> None:
        self.track = track
        self.window = window
        self.pending: deque[tuple[T, int]] = deque()
        self.heap: list[int] = []
        self.shift: int | None = None

    def push(self, item: T, pts: int) -> Iterator[tuple[T, int]]:
        """Add a frame (in decode order); yield (item, dts) for frames whose DTS is now known."""
        self.pending.append((item, pts))
        heapq.heappush(self.heap, pts)
        if len(self.pending) > self.window:
            yield from self._release(len(self.pending) - self.window)

    def flush(self) -> Iterator[tuple[T, int]]:
        yield from self._release(len(self.pending))

    def _release(self, count: int) -> Iterator[tuple[T, int]]:
        if self.shift is None:
            ordered = sorted(pts for _, pts in self.pending)
            self.shift = max(0, max(s - p for s, (_, p) in zip(ordered, self.pending)))
        for _ in range(count):
            item, pts = self.pending.popleft()
            dts = heapq.heappop(self.heap) - self.shift
            if dts > pts:
                raise InputError(f"{self.track} track: frames are reordered deeper than {self.window} frames")
            yield item, dts
