"""Rendering `inspect buffered`: ranges, gaps and a one-line timeline bar per SourceBuffer."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table

BAR_WIDTH = 40


def _end(value: float | str) -> float:
    return float("inf") if value == "Infinity" else float(value)


def buffered_view(report: dict[str, Any]) -> RenderableType:
    rows = [(name, entry) for name, entry in report["sourceBuffers"].items()] + [("element", report["element"])]
    horizon = max((_end(r[1]) for _, e in rows for r in e["buffered"]), default=0.0) or 1.0
    table = Table(
        title=f"buffered after appending everything in order (profile {report['profile']})", title_justify="left"
    )
    for column in ("", "buffered", "gaps", f"0 … {horizon:g} s"):
        table.add_column(column)
    for name, entry in rows:
        ranges = ", ".join(f"[{s:g}, {e:g})" for s, e in entry["buffered"]) or "(nothing)"
        holes = ", ".join(f"{g['length']:g} s at {g['start']:g}" for g in entry["gaps"]) or "none"
        table.add_row(name, ranges, holes, bar(entry["buffered"], horizon))
    notes = [f"[yellow]{name}: appending {e['appendRefused']['file']} threw {e['appendRefused']['exception']}; "
             "later segments were not appended[/]"
             for name, e in report["sourceBuffers"].items() if e.get("appendRefused")]  # fmt: skip
    return Group(table, *notes)


def bar(ranges: list[list[float]], horizon: float) -> str:
    cells = []
    for i in range(BAR_WIDTH):
        t0, t1 = horizon * i / BAR_WIDTH, horizon * (i + 1) / BAR_WIDTH
        covered = any(s <= t0 and _end(e) >= t1 for s, e in ranges)
        partial = any(s < t1 and _end(e) > t0 for s, e in ranges)
        cells.append("█" if covered else "▌" if partial else "·")
    return "".join(cells)
