"""The default workload of `msecli simulate PATH`: a player whose MediaSource lives in a dedicated worker.

Worker: create the MediaSource, post its handle to the Window, wait for `sourceopen`, add one SourceBuffer
per track (after isTypeSupported), fetch segments over the simulated network one at a time, append them,
keep `buffer_ahead` seconds ahead of the playhead, remove what is more than `buffer_behind` seconds
behind, answer QuotaExceededError by removing played media and retrying (both on segment boundaries), and call endOfStream() after
the last segment. Window: set the received handle as srcObject, play, post currentTime to the worker on
every timeupdate, and perform the scripted seeks (telling the worker)."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from msecli.mse import types
from msecli.mse.enums import ReadyState
from msecli.mse.errors import DOMException, QuotaExceededError
from msecli.mse.media_source import MediaSource
from msecli.mse.source_buffer import SourceBuffer
from msecli.sim.network import Network
from msecli.sim.page import Page
from msecli.timeline.time import Time

EVICTION_MARGIN = Fraction(1)  # on QuotaExceededError, keep this much played media behind the playhead
COVER_TOLERANCE = Fraction(1, 1000)  # a segment counts as buffered when its range ends this close to its end


@dataclass
class SegmentRef:
    start: Fraction
    end: Fraction
    size: int
    load: Callable[[], bytes]  # the bytes, read only when the fetch completes
    name: str = ""  # for messages: the segment's file


@dataclass
class TrackPlan:
    id: str
    kind: str
    mime_type: str
    init: SegmentRef
    segments: list[SegmentRef]


@dataclass
class _TrackState:
    plan: TrackPlan
    buffer: SourceBuffer
    next_index: int = -1  # -1: the init segment is next
    queue: list[tuple[int, bytes]] = field(default_factory=list)  # fetched, waiting to be appended
    appending: SegmentRef | None = None  # the segment of the append under way
    waiting_for_room: bool = False
    starts: list[Fraction] = field(default_factory=list)  # segment start times, ascending

    def __post_init__(self) -> None:
        self.starts = [s.start for s in self.plan.segments]

    def next_ref(self) -> SegmentRef | None:
        if self.next_index < 0:
            return self.plan.init
        segments = self.plan.segments
        return segments[self.next_index] if self.next_index < len(segments) else None

    @property
    def done(self) -> bool:
        return self.next_index >= len(self.plan.segments) and not self.queue and not self.buffer.updating


@dataclass
class BufferAhead:
    """The buffer-ahead samples' count, sum and minimum: what the summary reports, in flat memory."""

    count: int = 0
    total: Fraction = Fraction(0)
    minimum: Fraction | None = None

    def add(self, seconds: Fraction) -> None:
        self.count += 1
        self.total += seconds
        self.minimum = seconds if self.minimum is None else min(self.minimum, seconds)


class WorkerPlayer:
    def __init__(self, page: Page, tracks: list[TrackPlan], network: Network, *, buffer_ahead: Fraction,
                 buffer_behind: Fraction) -> None:  # fmt: skip
        self.page = page
        self.plans = tracks
        self.network = network
        self.buffer_ahead = buffer_ahead
        self.buffer_behind = buffer_behind
        self.tracks: dict[str, _TrackState] = {}
        self.current_time = Fraction(0)  # as the Window last posted it
        self.fetching = False
        self.bytes_fetched = 0
        self.quota_exceeded = 0  # QuotaExceededError answers from appendBuffer
        self.failure: str | None = None
        page.ms_context.listeners.append(self._on_event)

    @property
    def ms(self) -> MediaSource:
        return self.page.media_source

    def start(self) -> None:
        self.page.attach()

    # Events and messages

    def _on_event(self, target: str, event_type: str) -> None:
        if target == "ms" and event_type == "sourceopen" and not self.tracks:
            self._add_source_buffers()
            self._pump()
        elif event_type == "error" and target in self.tracks and not self.failure:
            track = self.tracks[target]
            name = track.appending.name if track.appending is not None else ""
            self.failure = f"append error in {target}{f' ({name})' if name else ''}: {track.buffer.append_error_reason}"
        elif event_type == "updateend" and target in self.tracks:
            self._after_update(self.tracks[target])

    def on_app_message(self, message: Any) -> None:
        """A message from the Window's app code: the playhead moved, or a seek."""
        if message.get("type") == "time":
            self.current_time = Fraction(message["currentTime"])
        elif message.get("type") == "seek":
            self.current_time = Fraction(message["time"])
            self._seek_to(self.current_time)
        for track in self.tracks.values():
            if track.waiting_for_room:
                self._append_next(track)
        self._pump()

    def _add_source_buffers(self) -> None:
        for plan in self.plans:
            if not MediaSource.is_type_supported(plan.mime_type):
                hint = types.refusal_hint(plan.mime_type)
                self.failure = f"isTypeSupported({plan.mime_type!r}) is false" + (f" ({hint})" if hint else "")
                return
            buffer = self.ms.add_source_buffer(plan.mime_type)
            self.page.attachment.names[id(buffer)] = plan.id
            self.tracks[plan.id] = _TrackState(plan, buffer)

    # Fetching

    def _pump(self) -> None:
        """Start the next fetch, if the network is free and a segment is wanted now."""
        if self.fetching or self.failure or not self.tracks:
            return
        track = self._next_track()
        if track is None:
            self._maybe_end_of_stream()
            return
        ref = track.next_ref()
        assert ref is not None
        index = track.next_index
        track.next_index += 1
        self.fetching = True
        now = self.page.loop.now
        done = self.network.finish_time(now, ref.size)

        def arrived() -> None:
            self.fetching = False
            self.bytes_fetched += ref.size
            track.queue.append((index, ref.load()))
            self._append_next(track)
            self._pump()

        self.page.loop.queue(arrived, done - now)

    def _next_track(self) -> _TrackState | None:
        """Init segments first; then the track whose next segment starts earliest, if within buffer_ahead."""
        pending = [t for t in self.tracks.values() if t.next_ref() is not None]
        for track in pending:
            if track.next_index < 0:
                return track
        if not pending:
            return None
        track = min(pending, key=lambda t: t.next_ref().start)  # type: ignore[union-attr]
        ref = track.next_ref()
        assert ref is not None
        if ref.start > self.current_time + self.buffer_ahead or len(track.queue) > 1:
            return None  # enough ahead: wait for the playhead (a time message) to move on
        return track

    def _seek_to(self, time: Fraction) -> None:
        for track in self.tracks.values():
            segments = track.plan.segments
            try:
                buffered = track.buffer.buffered()
            except DOMException:
                continue
            index = next((i for i, s in enumerate(segments) if s.end > time), len(segments))
            while index < len(segments) and _covers(buffered, segments[index].start, segments[index].end):
                index += 1
            if track.next_index >= 0:
                track.next_index = index
                track.queue = [q for q in track.queue if q[0] >= index]

    # Appending

    def _append_next(self, track: _TrackState) -> None:
        if track.buffer.updating or not track.queue or self.failure:
            return
        index, data = track.queue[0]
        track.waiting_for_room = False
        track.appending = track.plan.init if index < 0 else track.plan.segments[index]
        try:
            track.buffer.append_buffer(data)
        except QuotaExceededError:
            self.quota_exceeded += 1
            self._make_room(track)
            return
        except DOMException as exc:
            self.failure = f"appendBuffer threw {exc.name}: {exc}"
            return
        track.queue.pop(0)

    def _make_room(self, track: _TrackState) -> None:
        """QuotaExceededError: remove played media up to a segment boundary (segments start with random
        access points, so the GOP being played survives) a margin behind the playhead, then retry on
        updateend; with nothing to remove, retry when the playhead has moved on."""
        buffered = track.buffer.buffered()
        cut = self._segment_start_before(track, self.current_time - EVICTION_MARGIN)
        if buffered and _before(buffered.start(0), cut):
            track.buffer.remove(0, float(cut))
        elif not buffered:
            self.failure = (f"QuotaExceededError on an empty SourceBuffer ({track.plan.id}): a segment is larger "
                            f"than its quota")  # fmt: skip
        else:
            track.waiting_for_room = True

    @staticmethod
    def _segment_start_before(track: _TrackState, time: Fraction) -> Fraction:
        index = bisect.bisect_right(track.starts, time)  # runs on every updateend: no scan of all segments
        return track.starts[index - 1] if index else Fraction(0)

    def _after_update(self, track: _TrackState) -> None:
        if self.ms.ready_state == ReadyState.CLOSED:
            return
        if track.queue:
            self._append_next(track)
        elif not track.buffer.updating:
            self._remove_behind(track)
        self._pump()

    def _remove_behind(self, track: _TrackState) -> None:
        cut = self._segment_start_before(track, self.current_time - self.buffer_behind)
        buffered = track.buffer.buffered()
        if cut > 0 and buffered and _before(buffered.start(0), cut):
            track.buffer.remove(0, float(cut))

    def _maybe_end_of_stream(self) -> None:
        """endOfStream() once every segment is appended, and again after an append (a refetch after a seek)
        reopened the MediaSource."""
        if self.ms.ready_state == ReadyState.OPEN and all(t.done for t in self.tracks.values()):
            self.ms.end_of_stream()


def _before(time: Time, cut: Fraction) -> bool:
    """Does buffered data start before a segment boundary, by more than COVER_TOLERANCE? Chromium holds times as
    whole microseconds: after remove(0, cut) the range can start a microsecond short of an exact boundary, and a page
    that removed again for that would remove nothing, for ever."""
    return time < cut - COVER_TOLERANCE


def _covers(buffered: Any, start: Fraction, end: Fraction) -> bool:
    """Is the segment [start, end) buffered? To within COVER_TOLERANCE at its end: a browser's range can end a
    microsecond or two short of the segment's exact end (Chromium truncates times to whole microseconds)."""
    span = buffered.range_containing(max(start, Fraction(0)))
    return span is not None and span[1] >= end - COVER_TOLERANCE


class MainApp:
    """The Window's side: srcObject = the received handle, play(), post currentTime, scripted seeks."""

    def __init__(self, page: Page, player: WorkerPlayer, seeks: list[tuple[Fraction, Fraction]]) -> None:
        self.page = page
        self.player = player
        self.buffer_ahead_seen = BufferAhead()
        page.element.listeners.append(self._on_element_event)
        if page.worker is not None:
            page.window.on_message = self._on_message
            page.worker.on_message = player.on_app_message
        for time, at in seeks:
            page.window.loop.queue(self._seek_task(time), at)

    def _seek_task(self, time: Fraction) -> Callable[[], None]:
        return lambda: self._seek(time)

    def start(self) -> None:
        """Worker context: the worker starts the player (and posts the handle). Window context: the
        page attaches through an object URL and plays at once."""
        self.page.ms_context.loop.queue(self.player.start)
        if self.page.worker is None:
            self.page.window.loop.queue(self.page.element.play)

    def _on_message(self, message: Any) -> None:
        self.page.main_received.append(message)
        if message.get("type") == "attach":
            Page.set_src_object(self.page.element, message["handle"])
            self.page.element.play()  # autoplay

    def _post(self, message: dict[str, Any]) -> None:
        if self.page.worker is not None:
            self.page.window.post_message(self.page.worker, message)
        else:  # the same context: the app calls its player directly, as a task
            self.page.window.loop.queue(lambda: self.player.on_app_message(message))

    def _on_element_event(self, event_type: str) -> None:
        if event_type == "timeupdate":
            element = self.page.element
            self._post({"type": "time", "currentTime": float(element.current_time)})
            if not element.paused:
                self._sample_buffer_ahead(element)

    def _sample_buffer_ahead(self, element: Any) -> None:
        """Seconds buffered ahead of the playhead; not sampled once everything left is buffered and
        endOfStream() was called (the buffer then shrinks to 0 by design, not by starvation)."""
        buffered = element.buffered()
        span = buffered.range_containing(element.current_time)
        if span is not None and span[1] == buffered.highest_end and self.page.attachment.media_source_ended():
            return
        self.buffer_ahead_seen.add(Fraction(span[1] - element.current_time) if span else Fraction(0))

    def _seek(self, time: Fraction) -> None:
        self.page.element.set_current_time(float(time))
        self._post({"type": "seek", "time": float(time)})
