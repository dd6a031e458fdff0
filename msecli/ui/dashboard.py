"""The live dashboard of `msecli simulate PATH`: a plain-data snapshot of the running simulation (`snapshot`),
and its rendering in five panes (`render`): timeline, state, cross-context log, decode, network. Readable at
80x24; the snapshot reads the simulation and never changes it."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from msecli.mse.errors import DOMException
from msecli.sim.workload import QUIET

BARS = "▁▂▃▄▅▆▇█"
LOG_LINES = 3


def snapshot(page: Any, player: Any, decode: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the panes show, as plain data (the same sources as `--json`'s summary)."""
    element, ms, now = page.element, page.media_source, page.world.clock.now
    buffers = {}
    for track_id, track in player.tracks.items():
        sb = track.buffer
        try:
            ranges = sb.buffered().to_json()
        except DOMException:
            ranges = None
        buffers[track_id] = {"buffered": ranges, "updating": sb.updating, "mode": str(sb.mode),
                             "timestampOffset": float(sb.timestamp_offset),
                             "queued": len(track.plan.segments) - track.next_index}  # fmt: skip
    log: list[tuple[float, str, str, str]] = []
    for t, context, target, kind in reversed(page.world.log.entries):  # only the last few: the log is long
        if kind not in QUIET:
            log.insert(0, (float(t), context, target, kind))
            if len(log) == LOG_LINES:
                break
    fetched = player.bytes_fetched
    return {
        "time": float(now),
        "mediaSource": {"readyState": str(ms.ready_state), "duration": ms.duration},
        "element": {"buffered": element.buffered().to_json(), "seekable": element.seekable().to_json(),
                    "readyState": int(element.ready_state), "networkState": element.network_state,
                    "currentTime": float(element.current_time), "paused": element.paused,
                    "playbackRate": float(element.playback_rate), "duration": element.duration},  # fmt: skip
        "sourceBuffers": buffers,
        "log": log,
        "network": {"bytesFetched": fetched, "throughputBps": 8 * fetched / float(now) if now else 0.0,
                    "fetching": player.fetching, "queued": sum(b["queued"] for b in buffers.values())},  # fmt: skip
        "decode": decode or {},
        "dropped": element.stats.dropped_video_frames,
    }


def render(state: dict[str, Any], width: int = 80) -> Group:
    inner = max(40, width - 4)
    return Group(_timeline(state, inner), _middle(state), _log(state))


def _span(state: dict[str, Any]) -> float:
    ends = [e for ranges in [state["element"]["buffered"], *[b["buffered"] or [] for b in state["sourceBuffers"].values()]]
            for _, e in ranges if isinstance(e, (int, float))]  # fmt: skip
    duration = state["element"]["duration"]
    known = duration if isinstance(duration, float) and math.isfinite(duration) else 0.0
    return max([known, state["element"]["currentTime"], *ends, 1.0])


def _bar(ranges: list[list[float]] | None, span: float, cells: int) -> Text:
    """█ buffered, ░ a gap between buffered ranges, · nothing buffered after."""
    text = Text()
    if not ranges:
        return Text("·" * cells, style="dim")
    last_end = max(e for _, e in ranges)
    for cell in range(cells):
        t = (cell + 0.5) * span / cells
        if any(s <= t < e for s, e in ranges):
            text.append("█", style="green")
        elif t < last_end:
            text.append("░", style="red")
        else:
            text.append("·", style="dim")
    return text


def _ranges_text(ranges: list[list[float]] | None) -> str:
    if ranges is None:
        return "—"
    return " ".join(f"[{s:.3f}, {e:.3f})" for s, e in ranges) or "(empty)"


def _timeline(state: dict[str, Any], inner: int) -> Panel:
    span = _span(state)
    label = 8
    cells = inner - label
    rows = Text()
    for track_id, sb in state["sourceBuffers"].items():
        rows.append(f"{track_id[:7]:<{label}}")
        rows.append(_bar(sb["buffered"], span, cells))
        rows.append("\n")
    rows.append(f"{'element':<{label}}")
    rows.append(_bar(state["element"]["buffered"], span, cells))
    position = min(cells - 1, int(state["element"]["currentTime"] / span * cells))
    mark = f"{state['element']['currentTime']:.2f} s"
    if position + 2 + len(mark) <= cells:
        rows.append("\n" + " " * (label + position) + "▲ " + mark)
    else:  # near the end: the label goes on the left of the mark
        rows.append("\n" + " " * max(0, label + position - len(mark) - 1) + mark + " ▲")
    seekable = state["element"]["seekable"]
    rows.append(f"\n{'seekable':<{label}}")
    rows.append(_bar(seekable, span, cells) if seekable else Text("(none)", style="dim"))
    axis = "0 s".ljust(cells // 2) + f"{span / 2:.1f} s".ljust(cells - cells // 2 - len(f"{span:.1f} s")) + f"{span:.1f} s"
    rows.append("\n" + " " * label + axis)
    for track_id, sb in state["sourceBuffers"].items():
        rows.append(f"\n{track_id[:7]:<{label}}{_ranges_text(sb['buffered'])}"[: inner + 1])
    rows.append(f"\n{'element':<{label}}{_ranges_text(state['element']['buffered'])}"[: inner + 1])
    return Panel(rows, title=f"timeline · {state['time']:.3f} s simulated", title_align="left", padding=(0, 1))


def _middle(state: dict[str, Any]) -> Table:
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(ratio=1)
    grid.add_column(ratio=1)
    grid.add_row(_state(state), Group(_decode(state), _network(state)))
    return grid


def _state(state: dict[str, Any]) -> Panel:
    el, ms = state["element"], state["mediaSource"]
    lines = [
        f"MediaSource {ms['readyState']}, duration {_number(ms['duration'])}",
        f"element readyState {el['readyState']} networkState {el['networkState']}",
        f"currentTime {el['currentTime']:.3f} {'paused' if el['paused'] else 'playing'} x{el['playbackRate']:g}",
    ]
    for track_id, sb in state["sourceBuffers"].items():
        lines.append(f"{track_id}: {'updating' if sb['updating'] else 'idle'} {sb['mode']} "
                     f"offset {sb['timestampOffset']:g}")  # fmt: skip
    return Panel("\n".join(lines), title="state", title_align="left", padding=(0, 1))


def _decode(state: dict[str, Any]) -> Panel:
    decode = state["decode"]
    if not decode:
        return Panel(f"decoding off · dropped {state['dropped']}", title="decode", title_align="left", padding=(0, 1))
    budget = decode.get("budgetMs") or 1.0
    recent = decode.get("recentMs", [])[-24:]
    spark = "".join(BARS[min(len(BARS) - 1, int(ms / budget * (len(BARS) - 1) / 2))] for ms in recent)
    text = (f"{spark or '—'} /{budget:.0f}ms\n"
            f"realtime x{decode.get('realtimeFactor', 0):.1f} · dropped {state['dropped']}")  # fmt: skip
    return Panel(text, title=f"decode ({decode.get('mode', '')})", title_align="left", padding=(0, 1))


def _network(state: dict[str, Any]) -> Panel:
    net = state["network"]
    text = (f"{net['throughputBps'] / 1e6:.2f} Mbit/s · {net['bytesFetched'] / 1e6:.2f} MB\n"
            f"{'fetching' if net['fetching'] else 'idle'} · {net['queued']} segments queued")  # fmt: skip
    return Panel(text, title="network", title_align="left", padding=(0, 1))


def _log(state: dict[str, Any]) -> Panel:
    lines = [f"{t:8.3f} {context:<6} {target}:{kind}" for t, context, target, kind in state["log"]]
    return Panel("\n".join(lines) or "(nothing yet)", title="cross-context log", title_align="left", padding=(0, 1))


def _number(value: float) -> str:
    return "NaN" if isinstance(value, float) and math.isnan(value) else f"{value:g}"
