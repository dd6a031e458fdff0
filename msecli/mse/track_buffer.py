"""A track buffer (§7.1) and the coded frames it stores, kept in decode order."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from fractions import Fraction

from msecli.timeline.ranges import TimeRanges
from msecli.timeline.time import Time


@dataclass(slots=True)
class CodedFrame:
    pts: Fraction
    dts: Fraction
    duration: Fraction
    key: bool
    size: int

    @property
    def end(self) -> Fraction:
        return self.pts + self.duration


@dataclass
class TrackBuffer:
    id: int
    kind: str  # audio, video, text
    codec: str
    last_decode_timestamp: Fraction | None = None
    last_frame_duration: Fraction | None = None
    highest_end_timestamp: Fraction | None = None
    need_random_access_point_flag: bool = True
    frames: list[CodedFrame] = field(default_factory=list)  # sorted by DTS
    max_frame_duration: Fraction = Fraction(0)  # largest seen: the spec's merge-threshold practice
    max_interbuffer_distance: Fraction = Fraction(1, 1000)  # Chromium's, grows, never shrinks

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.frames)

    def add(self, frame: CodedFrame) -> None:
        keys = [f.dts for f in self.frames]
        index = bisect.bisect_right(keys, frame.dts)
        if index:
            previous = self.frames[index - 1]
            self.max_interbuffer_distance = max(self.max_interbuffer_distance, frame.dts - previous.dts)
        self.max_interbuffer_distance = max(self.max_interbuffer_distance, frame.duration)
        self.max_frame_duration = max(self.max_frame_duration, frame.duration)
        self.frames.insert(index, frame)

    def remove_with_dependants(self, doomed: list[CodedFrame]) -> list[CodedFrame]:
        """Remove `doomed`, then every frame after each removed one up to the next RAP in decode
        order (§7.2 step 15, §8.1 step 3.4). Returns everything removed."""
        if not doomed:
            return []
        doomed_ids = {id(f) for f in doomed}
        kept: list[CodedFrame] = []
        removed: list[CodedFrame] = []
        dropping = False
        for frame in self.frames:
            if id(frame) in doomed_ids:
                removed.append(frame)
                dropping = True
            elif dropping and not frame.key:
                removed.append(frame)
            else:
                dropping = False
                kept.append(frame)
        self.frames = kept
        return removed

    def ranges(self, merge_gap: Time) -> TimeRanges:
        """The track buffer ranges: frames' [PTS, PTS+dur) intervals, gaps below `merge_gap` closed."""
        spans = sorted((f.pts, f.end if f.duration > 0 else f.pts + Fraction(1, 1_000_000)) for f in self.frames)
        merged: list[list[Time]] = []
        for start, end in spans:
            if merged and start - merged[-1][1] < merge_gap or merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return TimeRanges((s, e) for s, e in merged)
