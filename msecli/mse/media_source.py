"""MediaSource (§2): readyState, duration, SourceBuffer lists, end of stream, live seekable range,
attach and detach."""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING

from msecli.mse import types
from msecli.mse.enums import ReadyState
from msecli.mse.errors import IDLTypeError, InvalidStateError, NotFoundError, NotSupportedError, QuotaExceededError
from msecli.mse.handle import MediaSourceHandle
from msecli.mse.host import Host
from msecli.mse.profiles import SPEC, Profile
from msecli.mse.tracks import TEXT_MODES, MediaTrack
from msecli.timeline.ranges import EMPTY, TimeRanges, intersected_from_zero
from msecli.timeline.time import INF, Time, from_idl_double, to_idl_double

if TYPE_CHECKING:
    from msecli.mse.source_buffer import SourceBuffer
    from msecli.mse.track_buffer import TrackBuffer

MAX_SOURCE_BUFFERS = 16


class MediaSource:
    """IDL: MediaSource. Python names are snake_case; the IDL name is in each docstring."""

    def __init__(self, host: Host, profile: Profile = SPEC, *, in_worker: bool = False) -> None:
        self.host = host
        self.profile = profile
        self.in_worker = in_worker
        self.ready_state = ReadyState.CLOSED
        self.ended_with_error = False  # the last end of stream came with an error
        self.failed = False  # an end of stream came with an error once (chromium: its demuxer stays failed)
        self._duration: Time | None = None  # None = NaN
        self.source_buffers: list[SourceBuffer] = []
        self.active_source_buffers: list[SourceBuffer] = []
        self.live_seekable_range: tuple[Time, Time] | None = None  # [[live seekable range]]
        self.has_ever_been_attached = False
        self.reached_metadata = False  # chromium: no SourceBuffer can be added after HAVE_METADATA
        self._handle: MediaSourceHandle | None = None
        self._buffered_cache: tuple[tuple, list[TimeRanges], TimeRanges] | None = None
        self._streams_cache: tuple[tuple, list, dict[str, tuple[TimeRanges, Time]]] | None = None

    can_construct_in_dedicated_worker = True  # IDL: MediaSource.canConstructInDedicatedWorker (static)

    @property
    def handle(self) -> MediaSourceHandle:
        """IDL: handle (§2.7). [SameObject], created on first read; DedicatedWorker only (on a Window the
        member does not exist; Chromium throws NotSupportedError if it is reached there)."""
        if not self.in_worker:
            raise NotSupportedError("MediaSource.handle is only available in a dedicated worker")
        if self._handle is None:
            self._handle = MediaSourceHandle(self)
        return self._handle

    # Attributes

    @property
    def duration(self) -> float:
        """IDL: duration (getter). NaN while closed."""
        if self.ready_state == ReadyState.CLOSED or self._duration is None:
            return math.nan
        return to_idl_double(self._duration)

    def set_duration(self, value: float) -> None:
        """IDL: duration (setter), #dom-mediasource-duration."""
        # 1. Negative or NaN -> TypeError.
        if math.isnan(value) or value < 0:
            raise IDLTypeError(f"duration {value} is negative or NaN")
        # 2. Not open -> InvalidStateError.
        if self.ready_state != ReadyState.OPEN:
            raise InvalidStateError(f"readyState is {self.ready_state}")
        # 3. Any SourceBuffer updating -> InvalidStateError.
        if any(sb.updating for sb in self.source_buffers):
            raise InvalidStateError("a SourceBuffer is updating")
        # 4. Run the duration change algorithm.
        self.duration_change(from_idl_double(value), by_page=True)

    # Methods

    def add_source_buffer(self, mime_type: str) -> SourceBuffer:
        """IDL: addSourceBuffer(type), #dom-mediasource-addsourcebuffer."""
        from msecli.mse.source_buffer import SourceBuffer

        # 1. Empty type -> TypeError.
        if mime_type == "":
            raise IDLTypeError("type is empty")
        # 2. Unsupported type -> NotSupportedError.
        if not types.is_type_supported(mime_type):
            raise NotSupportedError(f"{mime_type!r} is not supported")
        # 3. The UA cannot take another SourceBuffer -> QuotaExceededError.
        if len(self.source_buffers) >= MAX_SOURCE_BUFFERS or self.reached_metadata:
            raise QuotaExceededError("no more SourceBuffers can be added")
        # 4. Not open -> InvalidStateError.
        if self.ready_state != ReadyState.OPEN:
            raise InvalidStateError(f"readyState is {self.ready_state}")
        # 5-7. Create it; generate timestamps flag and mode from the registry.
        buffer = SourceBuffer(self, mime_type)
        # 8-9. Append to sourceBuffers; Q(addsourcebuffer @ sourceBuffers).
        self.source_buffers.append(buffer)
        self.host.queue_event("sourceBuffers", "addsourcebuffer")
        # 10. Return it.
        return buffer

    def remove_source_buffer(self, buffer: SourceBuffer) -> None:
        """IDL: removeSourceBuffer(sourceBuffer), #dom-mediasource-removesourcebuffer."""
        # 1. Not in sourceBuffers -> NotFoundError.
        if buffer not in self.source_buffers:
            raise NotFoundError("the SourceBuffer is not in sourceBuffers")
        # 2. Updating: abort the append (or, as Chromium does, the pending remove); abort + updateend.
        if buffer.updating:
            buffer.cancel_pending()
            buffer.updating = False
            self.host.queue_event(buffer, "abort")
            self.host.queue_event(buffer, "updateend")
        # 3-8. Track lists (not modelled beyond the SourceBuffer itself).
        # 9. Remove from activeSourceBuffers; Q(removesourcebuffer @ activeSourceBuffers).
        if buffer in self.active_source_buffers:
            self.active_source_buffers.remove(buffer)
            self.host.queue_event("activeSourceBuffers", "removesourcebuffer")
        # 10. Remove from sourceBuffers; Q(removesourcebuffer @ sourceBuffers).
        self.source_buffers.remove(buffer)
        self.host.queue_event("sourceBuffers", "removesourcebuffer")
        # 11. Release its resources.
        buffer.release()
        self.host.mirror(lambda element: element.media_source_changed())

    # Track selection (mse-notes §2.10)

    def set_track_state(self, track: MediaTrack, value: bool | str) -> None:
        """AudioTrack.enabled, VideoTrack.selected or TextTrack.mode set by the page, then activeSourceBuffers
        kept as §2.10 says. A VideoTrackList has one selected track: selecting one unselects the other."""
        if track.kind == "text":
            if value not in TEXT_MODES:
                raise IDLTypeError(f"{value!r} is not a valid TextTrackMode value")
            track.mode = str(value)
        elif track.kind == "video":
            if value:
                for other in self._tracks("video"):
                    if other is not track and other.selected:
                        other.selected = False
                        self._deactivate_if_unused(other.source_buffer)
            track.selected = bool(value)
        else:
            track.enabled = bool(value)
        buffer = track.source_buffer
        if track.on and buffer is not None and buffer not in self.active_source_buffers:
            self.active_source_buffers = [sb for sb in self.source_buffers
                                          if sb in self.active_source_buffers or sb is buffer]  # fmt: skip
            self.host.queue_event("activeSourceBuffers", "addsourcebuffer")
        elif not track.on:
            self._deactivate_if_unused(buffer)
        self.host.mirror(lambda element: element.media_source_changed())

    def _tracks(self, kind: str) -> list[MediaTrack]:
        return [t for sb in self.source_buffers for t in sb.tracks() if t.kind == kind]

    def _deactivate_if_unused(self, buffer: SourceBuffer | None) -> None:
        if buffer in self.active_source_buffers and not any(t.on for t in buffer.tracks()):  # type: ignore[union-attr]
            self.active_source_buffers.remove(buffer)  # type: ignore[arg-type]
            self.host.queue_event("activeSourceBuffers", "removesourcebuffer")

    def end_of_stream(self, error: str | None = None) -> None:
        """IDL: endOfStream(error), #dom-mediasource-endofstream."""
        if error is not None and error not in ("network", "decode"):
            raise IDLTypeError(f"{error!r} is not a valid EndOfStreamError value")
        # 1. Not open -> InvalidStateError.
        if self.ready_state != ReadyState.OPEN:
            raise InvalidStateError(f"readyState is {self.ready_state}")
        # 2. Any SourceBuffer updating -> InvalidStateError.
        if any(sb.updating for sb in self.source_buffers):
            raise InvalidStateError("a SourceBuffer is updating")
        # 3. Run the end of stream algorithm.
        self.end_of_stream_algorithm(error)

    def set_live_seekable_range(self, start: float, end: float) -> None:
        """IDL: setLiveSeekableRange(start, end)."""
        if self.ready_state != ReadyState.OPEN:
            raise InvalidStateError(f"readyState is {self.ready_state}")
        if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or start > end:  # IDL doubles: finite
            raise IDLTypeError(f"invalid live seekable range [{start}, {end}]")
        self.live_seekable_range = (from_idl_double(start), from_idl_double(end))
        self.host.mirror(lambda element: element.media_source_changed())

    def clear_live_seekable_range(self) -> None:
        """IDL: clearLiveSeekableRange()."""
        if self.ready_state != ReadyState.OPEN:
            raise InvalidStateError(f"readyState is {self.ready_state}")
        self.live_seekable_range = None
        self.host.mirror(lambda element: element.media_source_changed())

    @staticmethod
    def is_type_supported(mime_type: str) -> bool:
        """IDL: MediaSource.isTypeSupported(type)."""
        return types.is_type_supported(mime_type)

    # Algorithms

    def duration_change(self, new_duration: Time, by_page: bool = False) -> None:
        """#duration-change-algorithm. `by_page`: run by the duration setter (Chromium tells its element at once)."""
        # 1. Same as the current duration: nothing to do.
        if self._duration == new_duration:
            return
        # 2. Below the highest buffered presentation timestamp -> InvalidStateError.
        highest_pts = max((t.highest_pts for sb in self.source_buffers for t in sb.track_buffers.values()
                           if t.highest_pts is not None), default=None)  # fmt: skip
        if highest_pts is not None and new_duration < highest_pts:
            raise InvalidStateError("new duration is below the highest buffered presentation timestamp")
        # 3-4. Not below the highest end time of any track buffer range.
        highest_end = max((sb.track_ranges_end() for sb in self.source_buffers), default=Fraction(0))
        if new_duration < highest_end and not (by_page and self.profile.duration_setter_below_buffered_end):
            new_duration = highest_end
        # 5. Store it.
        self._duration = new_duration
        # 6. Mirror: the element's duration and its duration-change steps.
        latest: Callable[[], Time | None] | None = None
        if self.profile.duration_read_on_arrival:
            latest = lambda: self._duration  # noqa: E731 - read when the notice reaches the element
        self.host.mirror(lambda element: element.duration_changed(new_duration, by_page, latest))

    def end_of_stream_algorithm(self, error: str | None) -> None:
        """#end-of-stream-algorithm."""
        # 1. readyState = ended.
        self.ready_state = ReadyState.ENDED
        self.ended_with_error = error is not None
        # 2. Q(sourceended @ MediaSource).
        self.host.queue_event(self, "sourceended")
        # 3. Unset error: duration to the largest buffered end; tell the element all data is there.
        if error is None and self.failed and self.profile.failed_demuxer_ignores_end_of_stream:
            return  # DEVIATION (chromium profile): ChunkDemuxer::MarkEndOfStream returns in its PARSE_ERROR state
        self.failed = self.failed or error is not None
        if error is None:
            highest_end = max((sb.track_ranges_end() for sb in self.source_buffers), default=Fraction(0))
            if highest_end > 0 or not self.profile.end_of_stream_keeps_duration_when_empty:
                self.duration_change(highest_end)
            self.host.mirror(lambda element: element.all_data_received())
        else:
            self.host.mirror(lambda element: element.media_source_error(error))

    def ranges_ended(self) -> bool:
        """Do buffered ranges take the "ended" rule (the last range of each runs to the highest end)? When readyState
        is "ended"; chromium (error_end_of_stream_keeps_ranges): not when it ended with an error."""
        if self.ready_state != ReadyState.ENDED:
            return False
        if self.failed and self.profile.failed_demuxer_ignores_end_of_stream:
            return False  # chromium: a failed demuxer never marks its streams ended
        return not (self.ended_with_error and self.profile.error_end_of_stream_keeps_ranges)

    def reopen_if_ended(self) -> None:
        """The "if readyState is ended, set it to open and queue sourceopen" step several methods share."""
        if self.ready_state == ReadyState.ENDED:
            self.ready_state = ReadyState.OPEN
            self.host.queue_event(self, "sourceopen")
            self.host.mirror(lambda element: element.media_source_changed())

    def attach(self) -> None:
        """The local-mode branch of the resource fetch (§2.8.1), once the checks passed."""
        self.has_ever_been_attached = True
        self.ready_state = ReadyState.OPEN
        self.host.queue_event(self, "sourceopen")

    def detach(self) -> None:
        """§2.8.2 steps 2-8."""
        self.ready_state = ReadyState.CLOSED
        self._duration = None
        for sb in self.source_buffers:
            sb.cancel_pending()
        # 6-7. One event each, whether or not the list held anything (Chromium fires both too: msecli verify).
        self.active_source_buffers = []
        self.host.queue_event("activeSourceBuffers", "removesourcebuffer")
        for sb in self.source_buffers:
            sb.release()
        self.source_buffers = []
        self.host.queue_event("sourceBuffers", "removesourcebuffer")
        self.host.queue_event(self, "sourceclose")

    # What the element reads (§9.2, §9.3)

    def buffered(self) -> TimeRanges:
        """The HTMLMediaElement's buffered when this MediaSource is attached."""
        if not self.active_source_buffers:
            return EMPTY
        ranges = [sb.buffered_ranges() for sb in self.active_source_buffers]
        # Each SourceBuffer's ranges object stays the same until it changes (and the cache keeps it alive).
        key = (self.ready_state == ReadyState.ENDED, *(id(r) for r in ranges))
        if self._buffered_cache is None or self._buffered_cache[0] != key:
            highest_end = max((r.highest_end for r in ranges), default=Fraction(0))
            self._buffered_cache = (key, ranges, self._intersected(ranges, highest_end))
        return self._buffered_cache[2]

    def _intersected(self, ranges: list[TimeRanges], highest_end: Time) -> TimeRanges:
        """§9.2 steps 2-5: [0, highest end] intersected with each of `ranges`, their last range ended at the
        highest end when readyState is "ended" (Blink's MediaSource reads its own readyState here, so in the chromium
        profile too an end of stream with an error takes the rule at this level)."""
        if self.ready_state == ReadyState.ENDED:
            ranges = [r.with_last_end(highest_end) for r in ranges]
        return intersected_from_zero(ranges, highest_end)

    def streams(self) -> dict[str, tuple[TimeRanges, Time]]:
        """The media pipeline's audio and video streams (Chromium's demuxer streams), those there are: each one's
        buffered ranges (the intersection over its kind's active track buffers, with the "ended" rule of §9.2)
        and its merge gap (Chromium's fudge room; the smallest, with several tracks of the kind)."""
        tracks = [(sb, t) for sb in self.active_source_buffers for t in sb.track_buffers.values()
                  if t.kind in ("audio", "video")]  # fmt: skip
        # A track's ranges and merge gap change only with its frames; the cache keeps the tracks (and their ids) alive.
        key = (self.ready_state, *((id(t), t.mutations) for _, t in tracks))
        if self._streams_cache is None or self._streams_cache[0] != key:
            by_kind: dict[str, list[tuple[TimeRanges, Time]]] = {}
            for sb, track in tracks:
                gap = sb.profile.merge_gap(track)
                by_kind.setdefault(track.kind, []).append((track.ranges(gap), gap))
            highest_end = max((r.highest_end for found in by_kind.values() for r, _ in found), default=Fraction(0))
            streams = {kind: (self._intersected([r for r, _ in found], highest_end), min(gap for _, gap in found))
                       for kind, found in by_kind.items()}  # fmt: skip
            self._streams_cache = (key, tracks, streams)
        return self._streams_cache[2]

    def audio_decoder_delay(self) -> Time:
        """What the audio decoder discards at its start, in seconds: the largest over the active audio track
        buffers (chromium: their codec delay)."""
        return max((t.decoder_delay for t in self._track_buffers(active=True) if t.kind == "audio"), default=Fraction(0))

    def demuxer_seek(self, time: Fraction) -> None:
        """chromium (eviction_while_seek_pending): the media pipeline seeks every stream (ChunkDemuxer::SeekAllSources)."""
        for track in self._track_buffers():
            track.seek(time, self.profile.merge_gap(track))

    def renderers_read(self) -> None:
        """chromium: the renderers read on from where every stream was sought (they prerolled): front eviction is
        bounded by the position alone again."""
        for track in self._track_buffers():
            track.read_from = None

    def _track_buffers(self, active: bool = False) -> list[TrackBuffer]:
        """Every track buffer of the SourceBuffers (active: of the active ones only)."""
        return [t for sb in (self.active_source_buffers if active else self.source_buffers) for t in sb.track_buffers.values()]

    def seekable(self) -> TimeRanges:
        if self.ready_state == ReadyState.CLOSED:
            return EMPTY
        return seekable_ranges(self._duration, self.live_seekable_range, self.buffered())

    @property
    def duration_value(self) -> Time | None:
        return self._duration


def seekable_ranges(
    duration: Time | None, live_seekable_range: tuple[Time, Time] | None, buffered: TimeRanges
) -> TimeRanges:
    """HTMLMediaElement.seekable with a MediaSource attached (§9.3 step 3), from the duration (None = NaN),
    the live seekable range and the element's buffered. A worker attachment runs it on the posted values."""
    if duration is None:
        return EMPTY
    if duration == INF:
        if live_seekable_range is not None:
            start, end = live_seekable_range
            if buffered:
                start, end = min(start, buffered.start(0)), max(end, buffered.highest_end)
            return TimeRanges([(start, end)])
        if not buffered:
            return EMPTY
        return TimeRanges([(Fraction(0), buffered.highest_end)])
    return TimeRanges([(Fraction(0), duration)]) if duration > 0 else EMPTY
