"""The only way the core reaches the outside: queue tasks and events, mirror steps to the Window,
and read what the element last told the MediaSource's context."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any, Protocol


class Host(Protocol):
    def queue_event(self, target: Any, event_type: str) -> None:
        """Q(event @ target): a task on the MediaSource's context that fires `event_type` at `target`."""

    def queue_task(self, steps: Callable[[], None]) -> None:
        """Run `steps` later, as a task on the MediaSource's context ("asynchronously")."""

    def mirror(self, steps: Callable[[Any], None]) -> None:
        """Mirror if necessary (§2.9): run `steps(element)` on the Window (now, for a Window MediaSource)."""

    def recent_element_error(self) -> bool: ...

    def media_time(self) -> Fraction:
        """The element's currentTime as this context last heard it."""
