"""The simulated video decoder: what each coded frame costs to decode (measured with PyAV, from a cost table,
or nothing), and which presented frames that makes late.

The model: from the moment the element has its first frame (HAVE_CURRENT_DATA) or a seek begins, at a
position, the decoder decodes the video track buffer's frames in decode order from the random access point at
or before that position, one after another, each taking its cost; frames are taken to be there when the
decoder reaches them. The frames up to the first one presented at the position are the preroll, ready at that
moment (the element reports the first frame only once it is decoded). A frame
whose decode completes after its presentation time (at the playbackRate in force) is dropped: counted by
getVideoPlaybackQuality().droppedVideoFrames, as well as in totalVideoFrames."""

from __future__ import annotations

import bisect
import json
import math
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from msecli.errors import InputError
from msecli.mse.coded_frames import ceil_ticks, scaled
from msecli.mse.track_buffer import TrackBuffer
from msecli.timeline.time import Time

# Rough per-frame decode costs of one software decoder thread (ms): the model's default, when no measured
# table is given. Measure your own with `--decode pyav --decode-profile FILE`.
DEFAULT_TABLE = [
    {"codec": "avc1", "height": 360, "keyMs": 2.5, "deltaMs": 1.0},
    {"codec": "avc1", "height": 720, "keyMs": 8.0, "deltaMs": 3.0},
    {"codec": "avc1", "height": 1080, "keyMs": 18.0, "deltaMs": 6.5},
    {"codec": "vp09", "height": 360, "keyMs": 3.0, "deltaMs": 1.2},
    {"codec": "vp09", "height": 720, "keyMs": 10.0, "deltaMs": 3.5},
    {"codec": "vp09", "height": 1080, "keyMs": 22.0, "deltaMs": 8.0},
    {"codec": "av01", "height": 1080, "keyMs": 35.0, "deltaMs": 12.0},
]
FAMILIES = {"avc3": "avc1", "hev1": "hvc1", "vp9": "vp09", "vp8": "vp08"}


def family(codec: str) -> str:
    name = codec.split(".")[0].lower()
    return FAMILIES.get(name, name)


@dataclass
class CostTable:
    """Per codec family and frame height, the cost of a keyframe and of any other frame."""

    entries: list[dict[str, Any]] = field(default_factory=lambda: [dict(e) for e in DEFAULT_TABLE])

    def cost_ns(self, codec: str, height: int, key: bool) -> int:
        """The entry nearest in height for the codec family, in whole nanoseconds (finer digits are rounded)."""
        mine = [e for e in self.entries if e["codec"] == family(codec)] or self.entries
        nearest = min(mine, key=lambda e: abs(e["height"] - height))
        return round(Fraction(str(nearest["keyMs" if key else "deltaMs"])) * 1_000_000)

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "entries": self.entries}

    @classmethod
    def load(cls, path: Path) -> CostTable:
        try:
            data = json.loads(path.read_text())
            entries = data["entries"]
            for e in entries:
                if not (isinstance(e["codec"], str) and e["height"] > 0 and e["keyMs"] >= 0 and e["deltaMs"] >= 0):
                    raise ValueError(e)
        except FileNotFoundError:
            raise InputError(f"{path}: no such decode profile") from None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path}: not a decode profile ({exc})") from None
        if not entries:
            raise InputError(f"{path}: the decode profile has no entries")
        return cls(entries)

    @classmethod
    def measured(cls, codec: str, height: int, key: np.ndarray, wall_ns: np.ndarray) -> CostTable:
        """A one-entry table from measured per-frame costs: mean keyframe and mean other-frame cost."""
        key_ms = float(wall_ns[key].mean()) / 1e6 if key.any() else 0.0
        delta_ms = float(wall_ns[~key].mean()) / 1e6 if (~key).any() else key_ms
        return cls([{"codec": family(codec), "height": height, "keyMs": round(key_ms, 3), "deltaMs": round(delta_ms, 3)}])


# (PTS in seconds, keyframe, bytes) of frames -> what each costs to decode, in whole nanoseconds
CostOf = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


class DecodeLog:
    """What the modelled decodes add up to, in memory that does not grow with the content: how many frames
    took each cost, the five slowest, and the last few hundred (the dashboard's and the frame duration's)."""

    RECENT = 512

    def __init__(self) -> None:
        self.frames = 0
        self.cost_counts: Counter[int] = Counter()  # nanoseconds -> frames
        self.slowest: list[tuple[int, int, float, bool, int]] = []  # (-ns, decode index, pts, key, bytes), sorted
        self.recent: deque[tuple[float, float]] = deque(maxlen=self.RECENT)  # (pts, seconds)

    def add_many(self, pts: np.ndarray, key: np.ndarray, size: np.ndarray, cost_ns: np.ndarray) -> None:
        """Frames in decode order: PTS (seconds), keyframe flags, bytes, decode costs (ns)."""
        self.cost_counts.update(cost_ns.tolist())  # a batch is a few frames: counting in Python beats np.unique
        for i in np.argsort(-cost_ns, kind="stable")[:5].tolist():  # the batch's slowest, first among equals first
            ns = int(cost_ns[i])
            if len(self.slowest) < 5 or -ns < self.slowest[-1][0]:
                bisect.insort(self.slowest, (-ns, self.frames + i, float(pts[i]), bool(key[i]), int(size[i])))
                del self.slowest[5:]
        tail = slice(-self.RECENT, None)
        self.recent.extend(zip(pts[tail].tolist(), (cost_ns[tail] / 1e9).tolist()))
        self.frames += len(cost_ns)


class DecoderModel:
    """The decode schedule of one video track buffer since the last (re)start, and the late frames in it.

    Every completion time is the (re)start time plus a whole number of nanoseconds of decoding, so the
    schedule is two integer columns, extended and queried with numpy, exact throughout."""

    def __init__(self, cost_of: CostOf, underflow: Fraction | None = Fraction(1, 2)) -> None:
        self.cost_of = cost_of
        self.underflow = underflow  # the element stalls when the frame due is this late (None: never)
        self.started = False
        self._preroll_to: Time | None = None
        self._cursor: tuple[Fraction, bool] | None = None  # (DTS, inclusive): where scheduling goes on
        self._started_at = Fraction(0)  # simulated time of the last (re)start
        self._busy_ns = 0  # decoding scheduled since then
        self._scale = 1  # ticks per second of _pts
        self._pts = np.empty(0, np.int64)  # the scheduled frames not yet presented, in decode order
        self._done_ns = np.empty(0, np.int64)  # when each one's decode completes: _started_at + ns
        self.log = DecodeLog()

    def restart(self, now: Fraction, position: Time, track: TrackBuffer | None) -> None:
        """Playback starts at `position` now: decoding starts over from the RAP at or before it."""
        self.started = True
        self._started_at, self._busy_ns = now, 0
        self._pts, self._done_ns = np.empty(0, np.int64), np.empty(0, np.int64)
        self._preroll_to = position  # frames until the first one at or after this are ready now
        rap = track.rap_dts_at_or_before(position) if track is not None else None
        self._cursor = None if rap is None else (rap, True)

    def dropped_between(self, track: TrackBuffer | None, start: Time, end: Time, anchor_wall: Fraction,
                        anchor_position: Fraction, rate: Fraction) -> int:  # fmt: skip
        """Of the frames presented in [start, end) while playing from `anchor_position` at `anchor_wall`, how
        many finished decoding after their presentation time."""
        if track is None or not self.started or rate <= 0:
            return 0
        if self._cursor is None:  # started before any keyframe was buffered: start at the first one there is
            rap = track.rap_dts_at_or_before(start)
            if rap is None:
                return 0
            self._cursor = (rap, True)
        self._schedule(track, end)
        presented = self._pts < ceil_ticks(end, self._scale)  # presented now (or skipped over): done with them
        pts, done_ns = self._pts[presented], self._done_ns[presented]
        self._pts, self._done_ns = self._pts[~presented], self._done_ns[~presented]
        shown = pts >= ceil_ticks(start, self._scale)
        return self._late(pts[shown], done_ns[shown], anchor_wall, anchor_position, rate)

    def _late(self, pts: np.ndarray, done_ns: np.ndarray, anchor_wall: Fraction, anchor_position: Fraction,
              rate: Fraction) -> int:  # fmt: skip
        """How many frames complete after anchor_wall + (pts - anchor_position) / rate. Decided in floats,
        whose error here is far below the 1 ns margin; frames within it are decided exactly."""
        if not len(pts):
            return 0
        lead = self._started_at - anchor_wall + anchor_position / rate  # margin = lead + done - pts / rate
        margin = float(lead) + done_ns / 1e9 - pts / (self._scale * float(rate))
        close = np.flatnonzero(np.abs(margin) < 1e-9)
        late = int(np.count_nonzero(margin >= 1e-9))
        for i in close.tolist():
            late += lead + Fraction(int(done_ns[i]), 10**9) - Fraction(int(pts[i]), self._scale) / rate > 0
        return late

    def ready_time(self, track: TrackBuffer | None, position: Fraction) -> Fraction | None:
        """When the first frame presented at or after `position` will have been decoded."""
        if track is None or not self.started or self._cursor is None:
            return None
        self._schedule(track, position + Fraction(1, 2))
        due = np.flatnonzero(self._pts >= ceil_ticks(position, self._scale))
        if not len(due):
            return None
        first = due[np.argmin(self._pts[due])]
        return self._started_at + Fraction(int(self._done_ns[first]), 10**9)

    def _schedule(self, track: TrackBuffer, end: Time) -> None:
        """Extend the schedule in decode order until every frame presented before `end` is in it."""
        assert self._cursor is not None
        pts, dts, key, size = track.decode_order_columns(*self._cursor, end)
        if not len(pts):
            return
        pts = self._on_grid(pts, track.scale)
        cost_ns = np.asarray(self.cost_of(pts / self._scale, key, size), np.int64)
        charged = cost_ns
        if self._preroll_to is not None:  # the preroll, up to the first frame at the position, is ready now
            reached = np.flatnonzero(pts >= ceil_ticks(self._preroll_to, self._scale))
            if len(reached):
                self._preroll_to = None
            charged = cost_ns.copy()
            charged[: int(reached[0]) + 1 if len(reached) else len(pts)] = 0
        done_ns = self._busy_ns + np.cumsum(charged)
        self._busy_ns = int(done_ns[-1])
        self._pts = np.concatenate((self._pts, pts))
        self._done_ns = np.concatenate((self._done_ns, done_ns))
        self._cursor = (track.time(dts[-1]), False)
        self.log.add_many(pts / self._scale, key, size, cost_ns)

    def _on_grid(self, pts: np.ndarray, scale: int) -> np.ndarray:
        """The new frames' PTS and the scheduled ones on one grid (the track's may have been refined)."""
        if scale != self._scale:
            common = math.lcm(scale, self._scale)
            self._pts = scaled(self._pts, common // self._scale)
            pts = scaled(pts, common // scale)
            self._scale = common
        return pts

    @property
    def recent_ms(self) -> list[float]:
        """The last costs, for the dashboard."""
        return [seconds * 1000 for _, seconds in list(self.log.recent)[-64:]]

    def frame_duration(self, recent: int | None = None, default: float = 0.0) -> float:
        """One frame's worth of media time: the median step between the recently decoded frames' presentation
        times (the last `recent` of them, if given, else the last DecodeLog.RECENT)."""
        times = np.sort(np.array([pts for pts, _ in self.log.recent])[-recent if recent else 0 :])
        steps = np.diff(times)
        steps = np.sort(steps[steps > 0])
        return float(steps[len(steps) // 2]) if len(steps) else default

    def report(self) -> dict[str, Any]:
        """The `decode` block for what this decoder decoded (model costs)."""
        log = self.log
        ns = np.array(sorted(log.cost_counts), np.int64)
        counts = np.array([log.cost_counts[n] for n in ns.tolist()], np.int64)
        slowest = [{"pts": round(pts, 6), "key": key, "bytes": size, "ms": round(-minus_ns / 1e6, 3)}
                   for minus_ns, _, pts, key, size in log.slowest]  # fmt: skip
        return _summary_block(ns, counts, slowest, [], log.frames, log.frames * self.frame_duration())


def model_cost_of(table: CostTable, codec: str, height: int) -> CostOf:
    key_ns, delta_ns = table.cost_ns(codec, height, True), table.cost_ns(codec, height, False)
    return lambda pts, key, size: np.where(key, key_ns, delta_ns).astype(np.int64)


def decode_summary(pts: np.ndarray, key: np.ndarray, size: np.ndarray, segment: np.ndarray, wall_ns: np.ndarray,
                   frames: int, media_seconds: float) -> dict[str, Any]:  # fmt: skip
    """The `decode` block of simulate's JSON for one track (README): per-frame costs (wall ns, decode order)."""
    ms = wall_ns / 1e6
    slowest = [{"pts": round(float(pts[i]), 6), "key": bool(key[i]), "bytes": int(size[i]), "ms": round(float(ms[i]), 3)}
               for i in np.argsort(-wall_ns, kind="stable")[:5]]  # fmt: skip
    segments = [{"segment": int(s) + 1, "frames": int((segment == s).sum()), "decodeMs": round(float(ms[segment == s].sum()), 3)}
                for s in np.unique(segment) if s >= 0]  # fmt: skip
    values, counts = np.unique(wall_ns, return_counts=True)
    return _summary_block(values, counts, slowest, segments, frames, media_seconds)


def _summary_block(ns: np.ndarray, counts: np.ndarray, slowest: list[dict[str, Any]], segments: list[dict[str, Any]],
                   frames: int, media_seconds: float) -> dict[str, Any]:  # fmt: skip
    """The block from the distinct costs (`ns`, ascending) and how many frames took each: percentiles and the
    histogram come out as numpy's over the frame-by-frame costs would."""
    ms = ns / 1e6
    seconds = int((ns * counts).sum()) / 1e9 or 1e-9
    histogram, edges = np.histogram(ms, bins=10, weights=counts) if len(ms) else (np.zeros(0), np.zeros(1))
    return {
        "frames": frames,
        "fps": round(frames / seconds, 1),
        "realtimeFactor": round(media_seconds / seconds, 2),
        "p50Ms": _percentile(ms, counts, 50), "p95Ms": _percentile(ms, counts, 95), "p99Ms": _percentile(ms, counts, 99),
        "maxMs": round(float(ms[-1]), 3) if len(ms) else 0.0,
        "slowest": slowest,
        "segments": segments,
        "histogram": {"edgesMs": [round(float(e), 3) for e in edges], "counts": [int(c) for c in histogram]},
    }


def _percentile(values: np.ndarray, counts: np.ndarray, q: float) -> float:
    """np.percentile(q) (linear) of the values repeated counts times, without repeating them."""
    total = int(counts.sum())
    if not total:
        return 0.0
    position = q / 100 * (total - 1)
    below = int(position)
    ends = np.cumsum(counts)
    low, high = values[np.searchsorted(ends, below, side="right")], values[np.searchsorted(ends, min(below + 1, total - 1), side="right")]
    return round(float(low + (high - low) * (position - below)), 3)
