"""The Host the core talks to, for a MediaSource on the Window and its element (one loop)."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from msecli.mse.media_source import MediaSource
from msecli.mse.profiles import Profile
from msecli.sim.element import NETWORK_LOADING, Element
from msecli.sim.loop import EventLoop


class WindowHost:
    def __init__(self, loop: EventLoop, element: Element) -> None:
        self.loop = loop
        self.element = element
        self.names: dict[int, str] = {}  # id(SourceBuffer) -> script id
        self.media_source: Any = None
        self.events: list[str] = []

    def name_of(self, target: Any) -> str:
        if isinstance(target, str):
            return f"ms.{target}"
        if target is self.media_source:
            return "ms"
        return self.names.get(id(target), "sb")

    def queue_event(self, target: Any, event_type: str) -> None:
        name = self.name_of(target)
        self.loop.queue(lambda: self.events.append(f"{name}:{event_type}"))

    def queue_task(self, steps: Callable[[], None]) -> None:
        self.loop.queue(steps)

    def mirror(self, steps: Callable[[Element], None]) -> None:
        steps(self.element)  # a Window MediaSource: run the steps now

    def recent_element_error(self) -> bool:
        return self.element.error is not None

    def media_time(self) -> Fraction:
        return self.element.current_time


def attached_window_media_source(profile: Profile, *, in_worker: bool = False) -> tuple[EventLoop, Element, WindowHost, MediaSource]:
    """A MediaSource attached to a fresh element on one loop, run until `sourceopen` has fired (§2.8.1)."""
    loop, element = EventLoop(), Element()
    host = WindowHost(loop, element)
    media_source = MediaSource(host, profile, in_worker=in_worker)
    host.media_source = element.media_source = media_source
    element.network_state = NETWORK_LOADING
    element.fire("loadstart")
    loop.queue(media_source.attach)
    loop.run_until_idle()
    return loop, element, host, media_source
