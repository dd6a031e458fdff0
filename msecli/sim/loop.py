"""One event loop in virtual time: a heap of (time, sequence, task). Ties run in the order queued."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from fractions import Fraction


class EventLoop:
    def __init__(self) -> None:
        self.now = Fraction(0)
        self._queue: list[tuple[Fraction, int, Callable[[], None]]] = []
        self._sequence = itertools.count()

    def queue(self, task: Callable[[], None], delay: Fraction = Fraction(0)) -> None:
        heapq.heappush(self._queue, (self.now + delay, next(self._sequence), task))

    def run_until_idle(self, limit: int = 1_000_000) -> None:
        for _ in range(limit):
            if not self._queue:
                return
            self.now, _, task = heapq.heappop(self._queue)
            task()
        raise RuntimeError("the event loop did not settle")

    def advance(self, seconds: Fraction) -> None:
        """Run everything due, then move the clock `seconds` on."""
        end = self.now + seconds
        while self._queue and self._queue[0][0] <= end:
            self.now, _, task = heapq.heappop(self._queue)
            task()
        self.now = end
