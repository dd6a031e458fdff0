"""Event loops in simulated time. One Clock drives every context's loop: a heap of
(time, sequence, task), so tasks due at the same time run in the order they were queued, whichever
context queued them. Each context's EventLoop queues onto the shared clock; a terminated context's
tasks are dropped. With `realtime=True` the clock waits for the wall clock to catch up before each
task (for watching a run); otherwise it jumps straight to the next task (deterministic and fast)."""

from __future__ import annotations

import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction


@dataclass(slots=True)
class Timer:
    due: Fraction
    sequence: int
    task: Callable[[], None]
    loop: EventLoop | None = None
    background: bool = False
    cancelled: bool = False


class Clock:
    def __init__(self, *, realtime: bool = False) -> None:
        self.now = Fraction(0)
        self._now_float = 0.0
        self.realtime = realtime
        # Tasks run in (due, sequence) order. Delayed ones wait in a heap of (float(due), due, sequence, timer):
        # the float orders almost every pair without exact Fraction arithmetic; where two floats tie, the exact
        # times decide, then the queue order. Tasks queued with no delay are due now, after everything queued
        # before them: they wait in a FIFO, which keeps that order with no arithmetic at all.
        self._heap: list[tuple[float, Fraction, int, Timer]] = []
        self._due_now: deque[Timer] = deque()
        self._sequence = itertools.count()
        self._foreground = 0  # queued tasks that are not background (playback ticks do not keep a run going)
        self._wall_start: float | None = None

    def schedule(self, task: Callable[[], None], delay: Fraction, loop: EventLoop | None, background: bool) -> Timer:
        self._foreground += not background
        if not delay:
            timer = Timer(self.now, next(self._sequence), task, loop, background)
            self._due_now.append(timer)
            return timer
        timer = Timer(self.now + delay, next(self._sequence), task, loop, background)
        heapq.heappush(self._heap, (float(timer.due), timer.due, timer.sequence, timer))
        return timer

    def cancel(self, timer: Timer) -> None:
        if not timer.cancelled:
            timer.cancelled = True
            self._foreground -= not timer.background

    @property
    def settled(self) -> bool:
        """Nothing is pending except background tasks."""
        return self._foreground == 0

    def next_due(self) -> Fraction | None:
        while self._due_now and self._due_now[0].cancelled:
            self._due_now.popleft()
        if self._due_now:
            return self.now
        while self._heap and self._heap[0][3].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][1] if self._heap else None

    def _pop_next(self) -> Timer:
        """The first timer in (due, sequence) order. FIFO timers are due now; a heap timer goes before them only
        when it is due now too and was queued earlier."""
        heap = self._heap
        if self._due_now:
            if heap:
                top = heap[0]
                if top[0] <= self._now_float and top[1] == self.now and top[2] < self._due_now[0].sequence:
                    return heapq.heappop(heap)[3]
            return self._due_now.popleft()
        entry = heapq.heappop(heap)
        if not entry[3].cancelled:
            self._now_float = entry[0]  # run_one moves the clock to it
        return entry[3]

    def run_one(self) -> None:
        timer = self._pop_next()
        if timer.cancelled:
            return
        timer.cancelled = True
        self._foreground -= not timer.background
        self._pace(timer.due)
        self.now = timer.due
        if timer.loop is None or timer.loop.alive:
            timer.task()
            if timer.loop is not None:
                for hook in timer.loop.after_task:
                    hook()

    def run_until_settled(self, limit: int = 10_000_000) -> None:
        for _ in range(limit):
            if self.settled:
                return
            self.run_one()
        raise RuntimeError("the simulation did not settle")

    def run_until(self, done: Callable[[], bool], deadline: Fraction | None = None) -> bool:
        """Run tasks until `done()`; False if the deadline passed or nothing was left to run first."""
        while not done():
            due = self.next_due()
            if due is None or (deadline is not None and due > deadline):
                if deadline is not None and due is not None:
                    self._pace(deadline)
                    self._move_to(max(self.now, deadline))
                return False
            self.run_one()
        return True

    def advance(self, seconds: Fraction) -> None:
        """Run everything due in the next `seconds`, then move the clock to their end."""
        end = self.now + seconds
        while (due := self.next_due()) is not None and due <= end:
            self.run_one()
        self._pace(end)
        self._move_to(end)

    def _move_to(self, time: Fraction) -> None:
        self.now, self._now_float = time, float(time)

    def _pace(self, due: Fraction) -> None:
        if not self.realtime:
            return
        if self._wall_start is None:
            self._wall_start = time.monotonic() - float(self.now)
        wait = self._wall_start + float(due) - time.monotonic()
        if wait > 0:
            time.sleep(wait)


class EventLoop:
    """One context's event loop, on a shared Clock (or its own, for a single-context run)."""

    def __init__(self, clock: Clock | None = None, name: str = "window") -> None:
        self.clock = clock if clock is not None else Clock()
        self.name = name
        self.alive = True
        self.after_task: list[Callable[[], None]] = []

    @property
    def now(self) -> Fraction:
        return self.clock.now

    def queue(self, task: Callable[[], None], delay: Fraction = Fraction(0), *, background: bool = False) -> Timer:
        return self.clock.schedule(task, delay, self, background)

    def cancel(self, timer: Timer | None) -> None:
        if timer is not None:
            self.clock.cancel(timer)

    def run_until_idle(self) -> None:
        self.clock.run_until_settled()

    def advance(self, seconds: Fraction) -> None:
        self.clock.advance(seconds)
