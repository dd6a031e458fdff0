"""Rendering a `simulate PATH` run: playback summary, final buffered ranges, events per context."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table


def _ranges(ranges: list[list[float]] | None) -> str:
    if ranges is None:
        return "—"
    return ", ".join(f"[{start:g}, {end:g})" for start, end in ranges) or "(empty)"


def workload_view(result: dict[str, Any]) -> Group:
    summary = result["summary"]
    playback = Table(title=f"playback ({result['context']} MediaSource)", title_justify="left", show_header=False)
    playback.add_column(style="bold")
    playback.add_column()
    startup = summary["startupDelay"]
    rows = [
        ("startup delay", f"{startup:.3f} s" if startup is not None else "[red]never played[/]"),
        ("stalls", f"{summary['stallCount']} ({summary['stallTime']:.3f} s)"),
        *[(f"  at {s['start']:.3f} s", f"{s['duration']:.3f} s") for s in summary["stalls"][:10]],
        ("buffer ahead", f"min {summary['bufferAheadMin']:.2f} s, mean {summary['bufferAheadMean']:.2f} s"),
        ("frames", f"{summary['totalFrames']} shown, {summary['droppedFrames']} dropped"),
        (
            "ended",
            f"{summary['ended']} at currentTime {summary['currentTime']} (simulated {summary['simulatedTime']:.3f} s)",
        ),
        ("fetched", f"{summary['bytesFetched']:,} bytes"),
    ]
    if summary["failure"]:
        rows.append(("[red]failure[/]", summary["failure"]))
    for name, value in rows:
        playback.add_row(name, value)
    buffered = Table(title="final buffered ranges", title_justify="left")
    buffered.add_column("")
    buffered.add_column("buffered")
    buffered.add_row("element", _ranges(summary["final"]["element"]["buffered"]))
    for sb, value in summary["final"]["sourceBuffers"].items():
        buffered.add_row(f"SourceBuffer {sb}", _ranges(value["buffered"]))
    counts = Table(title="events per context", title_justify="left")
    counts.add_column("context")
    counts.add_column("events")
    for context, kinds in result["eventCounts"].items():
        counts.add_row(context, ", ".join(f"{kind} {n}" for kind, n in kinds.items()))
    return Group(playback, buffered, counts)
