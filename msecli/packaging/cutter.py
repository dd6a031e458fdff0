"""Where media segments are cut.

The primary track (the first video track, else the first audio track) is cut at the first keyframe
whose presentation time is at or after the current segment's start plus the target duration. Every
other track follows those cut points in time: an audio frame goes to the segment its midpoint falls
in (so audio cut points sit within half a frame of the video's), another video track is cut at its
first keyframe at or after the cut point.

Samples arrive in file order, which interleaves tracks only loosely, so a secondary track's samples
wait in a queue until the cut that decides their segment is known. The queue never holds more than
the input's interleaving distance plus one GOP.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from msecli.errors import InputError


@dataclass(slots=True)
class Sample:
    """One coded frame: timestamps in the track's output ticks (timeline offset already removed)."""

    dts: int
    pts: int
    keyframe: bool
    payload: bytes | memoryview
    duration: int  # the container's duration for this frame (used only for a track's last frame)
    discard_padding_ns: int = 0  # decoded audio to drop at the end of this frame (WebM DiscardPadding)


@dataclass(frozen=True)
class TrackSegment:
    """One track's part of one media segment, ready to be written."""

    track: str
    index: int  # 1-based, the same span for every track
    dts: np.ndarray  # int64 ticks
    pts: np.ndarray  # int64 ticks
    durations: np.ndarray  # int64 ticks, durations[i] = dts[i+1] - dts[i]; the last from the next segment
    keyframes: np.ndarray  # bool
    payloads: list[bytes | memoryview]
    discard_padding_ns: dict[int, int] = field(default_factory=dict)  # sample index -> ns, where not 0

    @property
    def sizes(self) -> np.ndarray:
        return np.fromiter((len(p) for p in self.payloads), dtype=np.int64, count=len(self.payloads))


@dataclass(frozen=True)
class TrackSpec:
    id: str
    kind: str  # "video" or "audio"
    timescale: int  # output ticks per second


@dataclass
class _TrackState:
    spec: TrackSpec
    index: int = 1
    samples: list[Sample] = field(default_factory=list)
    pending: deque[Sample] = field(default_factory=deque)
    last_dts: int | None = None
    last_duration: int = 0


class SegmentCutter:
    """Feed samples in file order with `push`; collect finished TrackSegments; call `finish` at the end."""

    def __init__(self, tracks: list[TrackSpec], target: Fraction) -> None:
        if not tracks:
            raise ValueError("no tracks")
        self.target = target
        self.primary = next((t.id for t in tracks if t.kind == "video"), tracks[0].id)
        self.tracks = {t.id: _TrackState(t) for t in tracks}
        self.cuts: list[Fraction] = []  # cuts[k] is where segment k+1 ends (seconds)
        self.segment_start: Fraction | None = None
        self.primary_done = False
        self.finished: list[TrackSegment] = []
        self.longest_gop: Fraction = Fraction(0)
        self._last_key_time: Fraction | None = None

    def push(self, track_id: str, sample: Sample) -> list[TrackSegment]:
        state = self.tracks[track_id]
        self._check_order(state, sample)
        if track_id == self.primary:
            self._push_primary(state, sample)
            for other in self.tracks.values():
                if other is not state:
                    self._drain(other)
        else:
            state.pending.append(sample)
            self._drain(state)
        return self._take_finished()

    def finish(self) -> list[TrackSegment]:
        self.primary_done = True
        for state in self.tracks.values():
            self._drain(state)
            self._close(state, next_dts=None)
        return self._take_finished()

    def settled(self) -> dict[str, int]:
        """Per track, the index of the segment it is filling: every lower index is finished."""
        return {track_id: state.index for track_id, state in self.tracks.items()}

    def _check_order(self, state: _TrackState, sample: Sample) -> None:
        if state.last_dts is not None and sample.dts <= state.last_dts:
            seconds = sample.dts / state.spec.timescale
            raise InputError(f"{state.spec.id} track: decode timestamps do not increase at {seconds:.3f} s")
        if state.last_dts is not None:
            state.last_duration = sample.dts - state.last_dts
        state.last_dts = sample.dts

    def _seconds(self, state: _TrackState, ticks: int) -> Fraction:
        return Fraction(ticks, state.spec.timescale)

    def _push_primary(self, state: _TrackState, sample: Sample) -> None:
        time = self._seconds(state, sample.pts)
        if sample.keyframe:
            if self._last_key_time is not None:
                self.longest_gop = max(self.longest_gop, time - self._last_key_time)
            self._last_key_time = time
        if self.segment_start is None:
            self.segment_start = time
        elif state.samples and sample.keyframe and time >= self.segment_start + self.target:
            self.cuts.append(time)
            self.segment_start = time
            self._close(state, next_dts=sample.dts)
        state.samples.append(sample)

    def _drain(self, state: _TrackState) -> None:
        """Move queued samples of a secondary track into segments as far as the known cuts allow."""
        if state.spec.id == self.primary:
            return
        while state.pending:
            sample = state.pending[0]
            k = state.index - 1
            boundary = self._boundary_time(state, sample)
            if k < len(self.cuts):
                if boundary >= self.cuts[k] and (sample.keyframe or state.spec.kind == "audio"):
                    self._close(state, next_dts=sample.dts)
                    continue
            elif not self.primary_done:
                earliest_cut = None if self.segment_start is None else self.segment_start + self.target
                if earliest_cut is None or (boundary >= earliest_cut and sample.keyframe):
                    return  # wait until the primary track decides the next cut
            state.samples.append(state.pending.popleft())

    def _boundary_time(self, state: _TrackState, sample: Sample) -> Fraction:
        if state.spec.kind == "audio":
            return self._seconds(state, 2 * sample.pts + max(sample.duration, 0)) / 2
        return self._seconds(state, sample.pts)

    def _close(self, state: _TrackState, next_dts: int | None) -> None:
        """Finish the track's current segment; `next_dts` (the following sample's) fixes the last duration."""
        samples = state.samples
        if samples:
            dts = np.fromiter((s.dts for s in samples), dtype=np.int64, count=len(samples))
            last = samples[-1].duration if samples[-1].duration > 0 else state.last_duration
            durations = np.diff(dts, append=dts[-1] + last if next_dts is None else next_dts)
            self.finished.append(
                TrackSegment(
                    track=state.spec.id,
                    index=state.index,
                    dts=dts,
                    pts=np.fromiter((s.pts for s in samples), dtype=np.int64, count=len(samples)),
                    durations=durations,
                    keyframes=np.fromiter((s.keyframe for s in samples), dtype=bool, count=len(samples)),
                    payloads=[s.payload for s in samples],
                    discard_padding_ns={i: s.discard_padding_ns for i, s in enumerate(samples) if s.discard_padding_ns},
                )
            )
        state.samples = []
        state.index += 1

    def _take_finished(self) -> list[TrackSegment]:
        done, self.finished = self.finished, []
        return done
