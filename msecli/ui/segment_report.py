"""The summary `msecli segment` prints when it has written a segment directory."""

from __future__ import annotations

from rich.table import Table

from msecli.packaging.manifest import Manifest


def summary_table(manifest: Manifest, out_dir: str) -> Table:
    table = Table(
        title=f"{manifest.source} → {out_dir}  ({manifest.duration:.2f} s)",
        title_justify="left",
        caption="seconds and KiB per segment: min-max (mean)",
        caption_justify="left",
    )
    for column in ("track", "format", "codecs", "segs", "seconds", "KiB"):
        table.add_column(column, justify="left" if column in ("track", "format", "codecs") else "right", no_wrap=True)
    for track in manifest.tracks:
        durations = [s.end - s.start for s in track.segments]
        sizes = [s.bytes / 1024 for s in track.segments]
        table.add_row(
            track.id,
            track.container,
            track.codecs,
            str(len(track.segments)),
            _min_avg_max(durations, "{:.2f}"),
            _min_avg_max(sizes, "{:.0f}"),
        )
    if manifest.timelineOffset:
        table.caption = f"{table.caption}; timeline shifted by {-manifest.timelineOffset:+.6f} s (timelineOffset)"
    return table


def _min_avg_max(values: list[float], fmt: str) -> str:
    if not values:
        return "-"
    low, high, mean = (fmt.format(v) for v in (min(values), max(values), sum(values) / len(values)))
    return f"{low}-{high} ({mean})"
