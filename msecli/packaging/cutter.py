"""Where media segments are cut.

The primary track (the first video track, else the first audio track) is cut at the first keyframe
whose presentation time is at or after the current segment's start plus the target duration. Every
other track follows those cut points in time: an audio frame goes to the segment its midpoint falls
in (so audio cut points sit within half a frame of the video's); another video track is cut at its
first keyframe at or after the cut point.

Frames arrive in file order, which interleaves tracks only loosely, so each track keeps its frames
pending until the cut that decides their segment is known. Work is done per batch with numpy: the
only Python loop is over keyframes (one per GOP) and cut points (one per segment). Times are integer
ticks of each track's timescale; a cut time is exact (a Fraction) and becomes an integer threshold in
each track's ticks, so no comparison rounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from msecli.errors import InputError


@dataclass(frozen=True)
class TrackSpec:
    id: str
    kind: str  # "video" or "audio"
    timescale: int  # output ticks per second


@dataclass(frozen=True)
class TrackSegment:
    """One track's part of one media segment, ready to be written."""

    track: str
    index: int  # 1-based, the same span for every track
    dts: np.ndarray  # int64 ticks
    pts: np.ndarray  # int64 ticks
    durations: np.ndarray  # int64 ticks: dts[i+1] - dts[i]; the last from the next segment's first frame
    keyframes: np.ndarray  # bool
    payloads: list[bytes | memoryview]
    discard_padding_ns: dict[int, int] = field(default_factory=dict)  # frame index -> ns, where not 0

    @property
    def sizes(self) -> np.ndarray:
        return np.fromiter(map(len, self.payloads), dtype=np.int64, count=len(self.payloads))


@dataclass
class Frames:
    """A run of one track's frames in decode order (columns)."""

    dts: np.ndarray
    pts: np.ndarray
    keyframes: np.ndarray
    durations: np.ndarray  # the container's own durations (used only for a track's very last frame)
    payloads: list[bytes | memoryview]
    discard_padding_ns: dict[int, int] = field(default_factory=dict)  # frame index in this run -> ns

    def __len__(self) -> int:
        return len(self.payloads)

    @staticmethod
    def empty() -> Frames:
        none = np.empty(0, dtype=np.int64)
        return Frames(none, none, np.empty(0, dtype=bool), none, [])

    def slice(self, start: int, stop: int | None = None) -> Frames:
        stop = len(self) if stop is None else stop
        padding = {i - start: v for i, v in self.discard_padding_ns.items() if start <= i < stop}
        return Frames(self.dts[start:stop], self.pts[start:stop], self.keyframes[start:stop],
                      self.durations[start:stop], self.payloads[start:stop], padding)  # fmt: skip

    def extend(self, other: Frames) -> Frames:
        if not len(self):
            return other
        offset = len(self)
        padding = {**self.discard_padding_ns, **{i + offset: v for i, v in other.discard_padding_ns.items()}}
        return Frames(
            np.concatenate([self.dts, other.dts]),
            np.concatenate([self.pts, other.pts]),
            np.concatenate([self.keyframes, other.keyframes]),
            np.concatenate([self.durations, other.durations]),
            self.payloads + other.payloads,
            padding,
        )


@dataclass
class _TrackState:
    spec: TrackSpec
    index: int = 1  # the segment the pending frames start in
    pending: Frames = field(default_factory=Frames.empty)
    last_dts: int | None = None
    last_step: int = 0  # the last dts difference seen: a fallback duration for the final frame


class SegmentCutter:
    """`add` frames as they are read; `process` returns the segments that are now decided;
    `finish` returns the rest."""

    def __init__(self, tracks: list[TrackSpec], target: Fraction) -> None:
        if not tracks:
            raise ValueError("no tracks")
        self.target = target
        self.primary = next((t.id for t in tracks if t.kind == "video"), tracks[0].id)
        self.tracks = {t.id: _TrackState(t) for t in tracks}
        self.cuts: list[Fraction] = []  # cuts[k]: where segment k+1 ends and k+2 starts (seconds)
        self.segment_start: int | None = None  # primary ticks
        self.finished: list[TrackSegment] = []
        self.longest_gop: Fraction = Fraction(0)
        self._last_key_pts: int | None = None

    def add(self, track_id: str, frames: Frames) -> None:
        if not len(frames):
            return
        state = self.tracks[track_id]
        self._check_order(state, frames.dts)
        if track_id == self.primary:
            self._track_gops(frames.pts[frames.keyframes], state.spec.timescale)
        state.pending = state.pending.extend(frames)

    def process(self, final: bool = False) -> list[TrackSegment]:
        self._cut_primary(self.tracks[self.primary], final)
        for state in self.tracks.values():
            if state.spec.id != self.primary:
                self._follow_cuts(state, final)
        done, self.finished = self.finished, []
        return done

    def finish(self) -> list[TrackSegment]:
        return self.process(final=True)

    def settled(self) -> dict[str, int]:
        """Per track, the index of the segment its pending frames start in: every lower one is finished."""
        return {track_id: state.index for track_id, state in self.tracks.items()}

    def _check_order(self, state: _TrackState, dts: np.ndarray) -> None:
        previous = np.concatenate([[state.last_dts], dts]) if state.last_dts is not None else dts
        steps = np.diff(previous)
        if len(steps) and steps.min() <= 0:
            bad = int(previous[int(np.argmax(steps <= 0)) + 1])
            raise InputError(
                f"{state.spec.id} track: decode timestamps do not increase at {bad / state.spec.timescale:.3f} s"
            )
        if len(steps):
            state.last_step = int(steps[-1])
        state.last_dts = int(dts[-1])

    def _cut_primary(self, state: _TrackState, final: bool) -> None:
        frames, timescale = state.pending, state.spec.timescale
        if not len(frames):
            return
        if self.segment_start is None:
            self.segment_start = int(frames.pts[0])
        keys = np.flatnonzero(frames.keyframes)
        target_ticks = math.ceil(self.target * timescale)
        start = 0  # index in pending where the open segment begins
        for key in keys:
            if key > start and frames.pts[key] >= self.segment_start + target_ticks:
                self._emit(state, frames, start, int(key), next_dts=int(frames.dts[key]))
                self.cuts.append(Fraction(int(frames.pts[key]), timescale))
                self.segment_start = int(frames.pts[key])
                start = int(key)
        if final:
            self._emit(state, frames, start, len(frames), next_dts=None)
            state.pending = Frames.empty()
        else:
            state.pending = frames.slice(start)

    def _follow_cuts(self, state: _TrackState, final: bool) -> None:
        frames, timescale = state.pending, state.spec.timescale
        is_audio = state.spec.kind == "audio"
        # Audio: the frame's midpoint, in half ticks; video: its presentation time, keyframes only.
        boundary = 2 * frames.pts + np.maximum(frames.durations, 0) if is_audio else frames.pts
        start = 0
        while state.index - 1 < len(self.cuts) and start < len(frames):
            cut = self.cuts[state.index - 1]
            threshold = math.ceil(cut * timescale * (2 if is_audio else 1))
            crossing = boundary[start:] >= threshold
            if not is_audio:
                crossing &= frames.keyframes[start:]
            if not crossing.any():
                break
            stop = start + int(np.argmax(crossing))
            self._emit(state, frames, start, stop, next_dts=int(frames.dts[stop]))
            start = stop
        if final:
            self._emit(state, frames, start, len(frames), next_dts=None)
            state.pending = Frames.empty()
        else:
            state.pending = frames.slice(start)

    def _emit(self, state: _TrackState, frames: Frames, start: int, stop: int, next_dts: int | None) -> None:
        """Finish the track's current segment with frames[start:stop] (maybe none) and move to the next."""
        if stop > start:
            part = frames.slice(start, stop)
            if next_dts is None:
                own = int(part.durations[-1])
                next_dts = int(part.dts[-1]) + (own if own > 0 else state.last_step)
            self.finished.append(
                TrackSegment(
                    track=state.spec.id,
                    index=state.index,
                    dts=part.dts,
                    pts=part.pts,
                    durations=np.diff(part.dts, append=next_dts),
                    keyframes=part.keyframes,
                    payloads=part.payloads,
                    discard_padding_ns=part.discard_padding_ns,
                )
            )
        state.index += 1

    def _track_gops(self, key_pts: np.ndarray, timescale: int) -> None:
        if not len(key_pts):
            return
        points = np.concatenate([[self._last_key_pts], key_pts]) if self._last_key_pts is not None else key_pts
        if len(points) > 1:
            self.longest_gop = max(self.longest_gop, Fraction(int(np.diff(points).max()), timescale))
        self._last_key_pts = int(key_pts[-1])
