"""Execution contexts: the Window, dedicated workers, and shared/service workers (present so that what
the spec forbids there can be refused). Contexts share no mutable objects; they talk through
postMessage, whose message is structured-cloned and delivered as a task on the receiver's loop after
the cross-context latency."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

from msecli.sim.attachment import EventLog
from msecli.sim.loop import Clock, EventLoop
from msecli.sim.messaging import structured_clone

KINDS = ("window", "dedicatedworker", "sharedworker", "serviceworker")
Listener = Callable[[str, str], None]  # (target, event type)


class World:
    """The contexts of one simulation, their shared clock and event log, and the message latency."""

    def __init__(self, *, latency: Fraction = Fraction(1, 1000), realtime: bool = False) -> None:
        self.clock = Clock(realtime=realtime)
        self.latency = latency
        self.log = EventLog()
        self.contexts: list[Context] = []

    def context(self, kind: str, name: str) -> Context:
        assert kind in KINDS, kind
        context = Context(self, kind, name)
        self.contexts.append(context)
        return context


class Context:
    def __init__(self, world: World, kind: str, name: str) -> None:
        self.world = world
        self.kind = kind
        self.name = name
        self.loop = EventLoop(world.clock, name)
        self.log = world.log
        self.on_message: Callable[[Any], None] | None = None
        self.listeners: list[Listener] = []  # the page's event handlers in this context

    @property
    def alive(self) -> bool:
        return self.loop.alive

    def dispatch(self, target: str, event_type: str) -> None:
        for listener in list(self.listeners):
            listener(target, event_type)

    def post_message(self, destination: Context, message: Any, transfer: Sequence[Any] = ()) -> None:
        """`destination.postMessage(message, transfer)` from this context; DataCloneError is synchronous."""
        copy = structured_clone(message, transfer, destination.kind)
        kind = message.get("type", "message") if isinstance(message, dict) else "message"
        self.log.add(self.loop.now, self.name, f"postMessage->{destination.name}",
                     f"{kind}+transfer" if transfer else kind)  # fmt: skip

        def deliver() -> None:
            if destination.on_message is not None:
                destination.on_message(copy)

        destination.loop.queue(deliver, self.world.latency)

    def terminate(self) -> None:
        """worker.terminate(): its queued tasks are dropped and it runs nothing more."""
        self.loop.alive = False
