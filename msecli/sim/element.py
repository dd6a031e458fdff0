"""A simulated HTMLMediaElement, as far as scenario scripts need it: readyState from the buffered
data around currentTime (§10.1), duration, errors from endOfStream, and its events in firing order.
(Playback, stalls and seeking in full come with the simulate issue.)"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from msecli.mse.enums import HMEReadyState, ReadyState
from msecli.timeline.ranges import EMPTY, TimeRanges
from msecli.timeline.time import INF, Time

NETWORK_EMPTY, NETWORK_IDLE, NETWORK_LOADING, NETWORK_NO_SOURCE = range(4)
MEDIA_ERR_NETWORK, MEDIA_ERR_DECODE, MEDIA_ERR_SRC_NOT_SUPPORTED = 2, 3, 4
ENOUGH_AHEAD = Fraction(3)  # seconds buffered ahead that count as "enough" (a UA heuristic)


class Element:
    def __init__(self) -> None:
        self.ready_state = HMEReadyState.HAVE_NOTHING
        self.network_state = NETWORK_EMPTY
        self.current_time: Fraction = Fraction(0)
        self.duration: float = math.nan
        self.paused = True
        self.seeking = False
        self.ended = False
        self.error: dict[str, Any] | None = None
        self.video_width = 0
        self.video_height = 0
        self.events: list[str] = []
        self.media_source: Any = None  # the attached MediaSource (read for buffered/seekable)
        self.all_data = False
        self._loaded_data = False

    def fire(self, event: str) -> None:
        self.events.append(event)

    # Called by the core through mirror-if-necessary

    def duration_changed(self, new_duration: Time) -> None:
        value = float(new_duration)
        if value == self.duration or (math.isnan(value) and math.isnan(self.duration)):
            return
        self.duration = value
        self.fire("durationchange")
        if self.current_time > new_duration:
            self.current_time = Fraction(new_duration) if new_duration != INF else self.current_time

    def new_initialization_segment(self, video: Any) -> None:
        if self.ready_state > HMEReadyState.HAVE_CURRENT_DATA:
            self._set_ready_state(HMEReadyState.HAVE_METADATA)

    def all_initialization_segments_received(self, video: Any) -> None:
        if self.ready_state == HMEReadyState.HAVE_NOTHING:
            self._set_ready_state(HMEReadyState.HAVE_METADATA)
        self.media_source_changed()

    def all_data_received(self) -> None:
        self.all_data = True
        self.media_source_changed()

    def media_source_error(self, kind: str) -> None:
        if self.ready_state == HMEReadyState.HAVE_NOTHING:
            self.error = {"code": MEDIA_ERR_SRC_NOT_SUPPORTED, "message": f"endOfStream('{kind}') before metadata"}
            self.network_state = NETWORK_NO_SOURCE
        else:
            code = MEDIA_ERR_DECODE if kind == "decode" else MEDIA_ERR_NETWORK
            self.error = {"code": code, "message": f"endOfStream('{kind}')"}
            self.network_state = NETWORK_IDLE
        self.fire("error")

    def media_source_changed(self, removal: bool = False) -> None:
        """Re-derive readyState from buffered around currentTime (§7.3 steps 2-4, §8.1 step 3.5)."""
        if self.ready_state == HMEReadyState.HAVE_NOTHING:
            return
        self._set_ready_state(self._ready_state_from_buffer())

    def _ready_state_from_buffer(self) -> HMEReadyState:
        buffered = self.buffered()
        span = buffered.range_containing(self.current_time)
        if span is None:
            return HMEReadyState.HAVE_METADATA
        ended = self.media_source is not None and self.media_source.ready_state == ReadyState.ENDED
        ahead = span[1] - self.current_time
        if ahead >= ENOUGH_AHEAD or (ended and span[1] >= buffered.highest_end):
            return HMEReadyState.HAVE_ENOUGH_DATA
        if ahead > 0:
            return HMEReadyState.HAVE_FUTURE_DATA
        return HMEReadyState.HAVE_CURRENT_DATA

    def _set_ready_state(self, new: HMEReadyState) -> None:
        old = self.ready_state
        if new == old:
            return
        self.ready_state = new
        if old == HMEReadyState.HAVE_NOTHING and new >= HMEReadyState.HAVE_METADATA:
            self.fire("loadedmetadata")
        if new >= HMEReadyState.HAVE_CURRENT_DATA and not self._loaded_data:
            self._loaded_data = True
            self.fire("loadeddata")
        if old >= HMEReadyState.HAVE_FUTURE_DATA and new <= HMEReadyState.HAVE_CURRENT_DATA and not self.paused:
            self.fire("waiting")
        if old < HMEReadyState.HAVE_FUTURE_DATA <= new:
            self.fire("canplay")
            if not self.paused:
                self.fire("playing")
        if new == HMEReadyState.HAVE_ENOUGH_DATA and old < new:
            self.fire("canplaythrough")

    # What a page reads

    def buffered(self) -> TimeRanges:
        return self.media_source.buffered() if self.media_source is not None else EMPTY

    def seekable(self) -> TimeRanges:
        return self.media_source.seekable() if self.media_source is not None else EMPTY
