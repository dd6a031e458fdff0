"""Rendering `msecli inspect` reports (plain dicts) with Rich."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

HIDDEN_FIELDS = {"frame_sizes", "entries", "references", "hex"}


def tree_view(report: dict[str, Any]) -> RenderableType:
    title = Text(f"{report['file']}  ({report['format']}, {report['size']} bytes)", style="bold")
    root = Tree(title)
    for node in report["nodes"]:
        _add(root, node)
    parts: list[RenderableType] = [root]
    kinds = ", ".join(
        f"{s['kind']} @{s['offset']}" + (f" ({s['reason']})" if "reason" in s else "") for s in report["segments"]
    )
    parts.append(Text(f"segments: {kinds or 'none'}", style="cyan"))
    parts.extend(Text(f"warning: {w}", style="yellow") for w in report["warnings"])
    return Group(*parts)


def _add(parent: Tree, node: dict[str, Any]) -> None:
    label = Text(node["type"], style="bold green")
    label.append(f" @{node['offset']} ", style="dim")
    label.append(f"{node['size']} B", style="dim")
    if node.get("truncated"):
        label.append(" TRUNCATED", style="bold red")
    shown = {k: v for k, v in node["fields"].items() if k not in HIDDEN_FIELDS}
    if shown:
        label.append("  " + "  ".join(f"{k}={_short(v)}" for k, v in shown.items()))
    branch = parent.add(label)
    for child in node["children"]:
        _add(branch, child)


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def frames_view(report: dict[str, Any]) -> RenderableType:
    parts: list[RenderableType] = []
    for track in report["tracks"]:
        totals = track["totals"]
        flagged = {d["index"]: d for d in track["discontinuities"]}
        table = Table(
            title=f"track {track['id']} ({track['group']}): {track['kind']} {track['codecs']}, timescale {track['timescale']}",
            title_justify="left",
        )
        for column in ("#", "dts", "pts", "duration", "size", "key", ""):
            table.add_column(column, justify="right" if column not in ("key", "") else "left")
        for frame in track["frames"]:
            note = ""
            if frame["index"] in flagged:
                d = flagged[frame["index"]]
                note = f"[bold red]{d['kind']} {d['seconds']:+.6f} s[/]"
            table.add_row(str(frame["index"]), f"{frame['dts']:.6f}", f"{frame['pts']:.6f}", f"{frame['duration']:.6f}",
                          str(frame["size"]), "K" if frame["key"] else "", note)  # fmt: skip
        table.caption = (
            f"{totals['frames']} frames, {totals['keyframes']} keyframes, {totals['bytes']} bytes, "
            f"{totals['duration']:.3f} s, {totals['bitrate'] / 1000:.0f} kbit/s; GOP lengths (frames): "
            f"{_gop_summary(track['gops'])}; {len(track['discontinuities'])} gaps/overlaps"
        )
        table.caption_justify = "left"
        parts.append(table)
    return Group(*parts)


def _gop_summary(gops: list[int]) -> str:
    if not gops:
        return "-"
    if len(set(gops)) == 1:
        return f"{gops[0]} x {len(gops)}"
    return f"min {min(gops)}, max {max(gops)}, {len(gops)} GOPs"
