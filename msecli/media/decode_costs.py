"""Where `simulate --decode pyav` gets its costs: every track's appended bytes decoded with PyAV (decode
timing), their report for `--json`, the video costs by presentation time for the simulated decoder, and a
cost table measured from them (`--decode-profile FILE` saves it for `--decode model`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from msecli.media.decode_timing import summary, time_decode
from msecli.mse.types import codecs_of
from msecli.sim.decoder import CostOf, CostTable
from msecli.sim.player import TrackPlan


@dataclass
class MeasuredDecode:
    report: dict[str, Any]  # track id -> the `decode` block of one track
    cost_of: CostOf | None  # the video track's measured costs, None without video
    table: CostTable | None


def measure(tracks: list[TrackPlan], progress: Callable[[float, float | None], None] | None = None) -> MeasuredDecode:
    """`progress(seconds done, total)`: media seconds decoded so far, over all tracks."""
    total = float(sum((t.segments[-1].end - t.segments[0].start) for t in tracks if t.segments))
    done = 0.0
    report: dict[str, Any] = {}
    cost_of: CostOf | None = None
    table: CostTable | None = None
    for track in tracks:
        timing = time_decode(track.init.load(), [segment.load() for segment in track.segments])
        report[track.id] = summary(timing)
        if track.segments:
            done += float(track.segments[-1].end - track.segments[0].start)
        if progress is not None:
            progress(done, total)
        if timing.kind == "video" and cost_of is None:
            cost_of = _costs_by_pts(timing.pts, timing.wall_ns)
            codec = next(iter(codecs_of(track.mime_type)), "")
            table = CostTable.measured(codec, timing.height, timing.key, timing.wall_ns)
    return MeasuredDecode(report, cost_of, table)


def _costs_by_pts(pts: np.ndarray, wall_ns: np.ndarray) -> CostOf:
    """Cost lookup by presentation time to the microsecond; a frame not found costs the median."""
    known = pts == pts  # not NaN
    by_us = dict(zip(np.round(pts[known] * 1e6).astype(np.int64).tolist(), wall_ns[known].astype(np.int64).tolist()))
    keys = np.array(sorted(by_us), np.int64)
    values = np.array([by_us[k] for k in keys.tolist()], np.int64)
    median = int(np.median(wall_ns)) if len(wall_ns) else 0

    def cost_of(frame_pts: np.ndarray, key: np.ndarray, size: np.ndarray) -> np.ndarray:
        wanted = np.round(frame_pts * 1e6).astype(np.int64)
        at = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
        found = keys[at] == wanted if len(keys) else np.zeros(len(wanted), bool)
        return np.where(found, values[at] if len(keys) else 0, median).astype(np.int64)

    return cost_of

