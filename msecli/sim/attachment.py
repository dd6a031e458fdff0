"""Attachments between a MediaSource and an element (mse-notes §2.8, §4). Each is both the Host the
MSE core talks to and the source the element reads buffered/seekable from.

- WindowAttachment: MediaSource and element on the Window; everything is direct.
- WorkerAttachment: the MediaSource lives in a dedicated worker. Its events fire on the worker's loop;
  mirrored steps, and snapshots of buffered/duration/live seekable range, cross to the Window as tasks
  after the message latency; the element's currentTime and error cross back the same way."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from msecli.mse.enums import ReadyState
from msecli.mse.media_source import MediaSource, seekable_ranges
from msecli.mse.track_buffer import TrackBuffer
from msecli.timeline.ranges import EMPTY, TimeRanges
from msecli.timeline.time import Time

if TYPE_CHECKING:
    from msecli.sim.contexts import Context
    from msecli.sim.element import Element


@dataclass
class EventLog:
    """Every event of a run, in firing order: (simulated time, context name, target, type), and a count
    per (context, type). With keep=False only the counts are kept (long runs)."""

    keep: bool = True
    entries: list[tuple[Fraction, str, str, str]] = field(default_factory=list)
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, time: Fraction, context: str, target: str, event_type: str) -> None:
        self.counts[(context, event_type)] += 1
        if self.keep:
            self.entries.append((time, context, target, event_type))


class Attachment:
    """What both attachments share: SourceBuffer names for the event log, and the MSE-side event list."""

    def __init__(self, context: Context) -> None:
        self.context = context  # where the MediaSource lives
        self.media_source: MediaSource | None = None
        self.element: Element | None = None
        self.names: dict[int, str] = {}  # id(SourceBuffer) -> script id
        self.events: list[str] = []  # "target:type", for scenario records
        self.keep_events = True  # False: a long workload run, which reads the log instead (flat memory)
        # Past HAVE_NOTHING, does a duration change reach the element only through the media pipeline? (Chromium's
        # CrossThreadMediaSourceAttachment::UpdateMainThreadInfoCache leaves it to the pipeline; same-thread attachments
        # tell the element directly.)
        self.duration_through_pipeline = False

    def name_of(self, target: Any) -> str:
        if isinstance(target, str):
            return f"ms.{target}"
        if target is self.media_source:
            return "ms"
        return self.names.get(id(target), "sb")

    # Host: events and tasks run on the MediaSource's own context

    def queue_event(self, target: Any, event_type: str) -> None:
        name = self.name_of(target)
        self.context.loop.queue(lambda: self._dispatch(name, event_type))

    def _dispatch(self, name: str, event_type: str) -> None:
        if self.keep_events:
            self.events.append(f"{name}:{event_type}")
        self.context.log.add(self.context.loop.now, self.context.name, name, event_type)
        self.context.dispatch(name, event_type)

    def queue_task(self, steps: Callable[[], None]) -> None:
        self.context.loop.queue(steps)

    # The element's side

    def media_source_ended(self) -> bool:
        raise NotImplementedError

    def audio_decoder_delay(self) -> Time:
        """What the audio decoder discards at its start, in seconds (MediaSource.audio_decoder_delay)."""
        raise NotImplementedError

    def video_track(self) -> TrackBuffer | None:
        """The video track buffer the decoder reads (the first active one)."""
        if self.media_source is None:
            return None
        return next((t for sb in self.media_source.active_source_buffers for t in sb.track_buffers.values()
                     if t.kind == "video"), None)  # fmt: skip

    def video_frames_between(self, start: Time, end: Time) -> int:
        """Video frames presented in [start, end): the media pipeline holds the coded frames, whichever
        context appended them (mse-notes §4.5)."""
        if self.media_source is None:
            return 0
        return sum(t.frames_presented_between(start, end) for sb in self.media_source.active_source_buffers
                   for t in sb.track_buffers.values() if t.kind == "video")  # fmt: skip

    def demuxer_seek(self, time: Fraction) -> None:
        """The pipeline's seek of its streams, at once wherever the MediaSource lives (ChunkDemuxer, shared and locked,
        is told on the main thread: WebMediaPlayerImpl::DoSeek, StartWaitingForSeek)."""
        if self.media_source is not None:
            self.media_source.demuxer_seek(time)

    def renderers_read(self) -> None:
        if self.media_source is not None:
            self.media_source.renderers_read()

    def frames_left(self, position: Fraction) -> list[tuple[str, int]]:
        """(kind, frames ending after `position`) for each active track buffer: what each renderer has left."""
        if self.media_source is None:
            return []
        return [(t.kind, t.frames_ending_after(position)) for sb in self.media_source.active_source_buffers
                for t in sb.track_buffers.values()]  # fmt: skip


class WindowAttachment(Attachment):
    """A MediaSource on the Window, attached through an object URL."""

    def mirror(self, steps: Callable[[Any], None]) -> None:
        if self.element is not None:
            steps(self.element)  # Window MediaSource: run the steps now (§2.9)

    def recent_element_error(self) -> bool:
        return self.element is not None and self.element.error is not None

    def media_time(self) -> Fraction:
        return self.element.current_time if self.element is not None else Fraction(0)

    def open(self) -> None:
        assert self.media_source is not None
        self.media_source.attach()

    def detach(self) -> None:
        if self.media_source is not None:
            self.media_source.detach()

    def buffered(self) -> TimeRanges:
        return self.media_source.buffered() if self.media_source is not None else EMPTY

    playable = buffered

    def streams(self) -> dict[str, tuple[TimeRanges, Time]]:
        return self.media_source.streams() if self.media_source is not None else {}

    def seekable(self) -> TimeRanges:
        return self.media_source.seekable() if self.media_source is not None else EMPTY

    def audio_decoder_delay(self) -> Time:
        return self.media_source.audio_decoder_delay() if self.media_source is not None else Fraction(0)

    def media_source_ended(self) -> bool:
        return self.media_source is not None and self.media_source.ready_state == ReadyState.ENDED

    def time_update(self, time: Fraction) -> None:
        pass

    def element_errored(self) -> None:
        pass


@dataclass(frozen=True)
class Snapshot:
    """What the worker posts to the Window whenever it changes (mse-notes §4.2)."""

    buffered: TimeRanges
    duration: Time | None
    live_seekable_range: tuple[Time, Time] | None
    ended: bool
    streams: dict[str, tuple[TimeRanges, Time]] | None = None  # only for a profile whose element reads them
    audio_decoder_delay: Time = Fraction(0)


class WorkerAttachment(Attachment):
    """A worker MediaSource, attached through its MediaSourceHandle set as the element's srcObject."""

    def __init__(self, worker: Context, window: Context, latency: Fraction) -> None:
        super().__init__(worker)
        self.window = window
        self.latency = latency
        self.worker_destroyed = False  # "source context destroyed" (§3.4)
        self.duration_through_pipeline = True
        self._main = Snapshot(EMPTY, None, None, False)  # the Window's cached view
        self._pipeline = EMPTY  # what the media pipeline can still play once the worker is gone
        self._posted: Snapshot | None = None  # the worker's last post
        self._posted_inputs: tuple[Any, ...] | None = None
        self._current_time = Fraction(0)  # the worker's cached element currentTime
        self._element_error = False
        worker.loop.after_task.append(self.post_snapshot_if_changed)

    def _to_window(self, steps: Callable[[], None]) -> None:
        self.window.loop.queue(steps, self.latency)

    def _to_worker(self, steps: Callable[[], None]) -> None:
        self.context.loop.queue(steps, self.latency)

    # Host, worker side

    def mirror(self, steps: Callable[[Any], None]) -> None:
        """§2.9: post the steps to the Window (after the ranges they depend on) and return at once."""
        self.post_snapshot_if_changed()

        def on_window() -> None:
            if self.element is not None:
                steps(self.element)

        self._to_window(on_window)

    def recent_element_error(self) -> bool:
        return self._element_error

    def media_time(self) -> Fraction:
        return self._current_time

    def post_snapshot_if_changed(self) -> None:
        ms = self.media_source
        if ms is None or ms.ready_state == ReadyState.CLOSED and self._posted is None:
            return
        inputs = _snapshot_inputs(ms)
        if inputs == self._posted_inputs:
            return  # nothing the snapshot depends on changed: skip recomputing buffered
        self._posted_inputs = inputs
        snapshot = Snapshot(ms.buffered(), ms.duration_value if ms.ready_state != ReadyState.CLOSED else None,
                            ms.live_seekable_range, ms.ready_state == ReadyState.ENDED,
                            ms.streams() if ms.profile.reads_streams else None, ms.audio_decoder_delay())  # fmt: skip
        if snapshot != self._posted:
            self._posted = snapshot
            self._to_window(lambda: self._receive(snapshot))

    def _receive(self, snapshot: Snapshot) -> None:
        self._main = snapshot
        self._pipeline = snapshot.buffered
        if self.element is not None:
            self.element.source_ranges_changed()

    # Window side

    def open(self) -> None:
        """§2.8.1 step 3, worker MS: post the port and the open task to the worker."""
        assert self.media_source is not None
        self._to_worker(self.media_source.attach)

    def detach(self) -> None:
        """§2.8.2 step 1: the remaining detach steps run in the worker when the message arrives."""
        self.element = None
        media_source = self.media_source
        if media_source is not None:
            self._to_worker(media_source.detach)

    def buffered(self) -> TimeRanges:
        return EMPTY if self.worker_destroyed else self._main.buffered

    def streams(self) -> dict[str, tuple[TimeRanges, Time]]:
        return {} if self.worker_destroyed or self._main.streams is None else self._main.streams

    def playable(self) -> TimeRanges:
        return self._pipeline

    def audio_decoder_delay(self) -> Time:
        return self._main.audio_decoder_delay

    def seekable(self) -> TimeRanges:
        if self.worker_destroyed:
            return EMPTY
        return seekable_ranges(self._main.duration, self._main.live_seekable_range, self.buffered())

    def media_source_ended(self) -> bool:
        return self._main.ended

    def time_update(self, time: Fraction) -> None:
        self._to_worker(lambda: setattr(self, "_current_time", time))

    def element_errored(self) -> None:
        self._to_worker(lambda: setattr(self, "_element_error", True))

    def worker_terminated(self) -> None:
        self.worker_destroyed = True


def _snapshot_inputs(ms: MediaSource) -> tuple[Any, ...]:
    """Everything the element's buffered, seekable and duration are computed from, cheaply compared."""
    tracks = tuple((id(sb), *(t.mutations for t in sb.track_buffers.values())) for sb in ms.active_source_buffers)
    return ms.ready_state, ms.duration_value, ms.live_seekable_range, tracks
