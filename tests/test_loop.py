"""The simulation clock: one time line for every context, ties in queue order, dropped tasks of a
terminated context, background tasks that do not keep a run going, and realtime pacing."""

from __future__ import annotations

from fractions import Fraction

from msecli.sim import loop as loop_module
from msecli.sim.loop import Clock, EventLoop


def test_tasks_of_all_contexts_run_in_time_then_queue_order():
    clock = Clock()
    window, worker = EventLoop(clock, "window"), EventLoop(clock, "worker")
    ran: list[str] = []
    worker.queue(lambda: ran.append("worker@2"), Fraction(2))
    window.queue(lambda: ran.append("window@1"), Fraction(1))
    worker.queue(lambda: ran.append("worker@1"), Fraction(1))
    window.queue(lambda: ran.append("window@0"))
    clock.run_until_settled()
    assert ran == ["window@0", "window@1", "worker@1", "worker@2"]
    assert clock.now == 2


def test_a_task_queued_earlier_for_now_runs_before_one_queued_with_no_delay():
    """Order is (due time, queue order), however a task was queued: a task queued at 0 for 1 and a task
    queued at 1 with no delay are both due at 1; the earlier one goes first. Tasks queued with no delay keep
    their own order, and go before anything due later."""
    clock = Clock()
    loop = EventLoop(clock)
    ran: list[str] = []

    def at_one() -> None:
        ran.append("first@1")
        loop.queue(lambda: ran.append("no delay, queued first"))
        loop.queue(lambda: ran.append("later@1+1/3"), Fraction(1, 3))
        loop.queue(lambda: ran.append("no delay, queued second"))

    loop.queue(at_one, Fraction(1))
    loop.queue(lambda: ran.append("second@1"), Fraction(1))
    loop.queue(lambda: ran.append("third@1"), Fraction(2, 2))
    clock.run_until_settled()
    assert ran == ["first@1", "second@1", "third@1", "no delay, queued first", "no delay, queued second",
                   "later@1+1/3"]  # fmt: skip
    assert clock.now == Fraction(4, 3)


def test_a_terminated_context_runs_nothing_more():
    clock = Clock()
    window, worker = EventLoop(clock, "window"), EventLoop(clock, "worker")
    ran: list[str] = []
    worker.queue(lambda: ran.append("worker"), Fraction(1))
    window.queue(lambda: ran.append("window"), Fraction(2))
    worker.alive = False
    clock.run_until_settled()
    assert ran == ["window"]


def test_background_tasks_do_not_keep_a_run_going_but_run_when_due():
    clock = Clock()
    loop = EventLoop(clock)
    ran: list[str] = []

    def tick() -> None:
        ran.append(f"tick@{clock.now}")
        loop.queue(tick, Fraction(1), background=True)

    loop.queue(tick, Fraction(1), background=True)
    loop.queue(lambda: ran.append("work@3"), Fraction(3))
    clock.run_until_settled()
    # Ticks due before the work ran; the tick queued (at 2) for 3 comes after the work queued earlier for 3,
    # and once the work is done nothing foreground is left, so the run stops there.
    assert ran == ["tick@1", "tick@2", "work@3"]
    clock.advance(Fraction(2))
    assert ran[3:] == ["tick@3", "tick@4", "tick@5"] and clock.now == 5


def test_cancelled_timers_never_run():
    loop = EventLoop()
    ran: list[int] = []
    timer = loop.queue(lambda: ran.append(1), Fraction(1))
    loop.cancel(timer)
    loop.run_until_idle()
    assert ran == [] and loop.clock.settled


def test_realtime_waits_for_the_wall_clock_before_each_task(monkeypatch):
    wall = [100.0]
    waits: list[float] = []
    monkeypatch.setattr(loop_module.time, "monotonic", lambda: wall[0])

    def sleep(seconds: float) -> None:  # the wall clock moves exactly as asked
        waits.append(round(seconds, 9))
        wall[0] += seconds

    monkeypatch.setattr(loop_module.time, "sleep", sleep)
    clock = Clock(realtime=True)
    loop = EventLoop(clock)
    loop.queue(lambda: None, Fraction(1, 2))
    loop.queue(lambda: None, Fraction(2))
    clock.run_until_settled()
    assert waits == [0.5, 1.5]
