"""A progress bar on stderr over the input's duration; nothing at all when stderr is not a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.text import Text


class SecondsColumn(ProgressColumn):
    """ "12.0/600.0 s", or "12.0 s" while the total is unknown."""

    def render(self, task: Task) -> Text:
        if task.total is None:
            return Text(f"{task.completed:.1f} s")
        return Text(f"{task.completed:.1f}/{task.total:.1f} s")


@contextmanager
def media_progress(console: Console, label: str, enabled: bool) -> Iterator[Callable[[float, float | None], None]]:
    """Yield a callback (seconds done, total seconds) that moves the bar."""
    if not enabled or not console.is_terminal:
        yield lambda done, total: None
        return
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        SecondsColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=None)

        def update(done: float, total: float | None) -> None:
            progress.update(task, completed=done, total=total)

        yield update
