"""SourceBuffer (§5): attributes and their setters, appendBuffer and the segment parser loop, the init
segment received algorithm (§6), coded frame processing (§7), removal and eviction (§8), buffered (§9.1)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from msecli.errors import ParseError
from msecli.formats.frames import TrackInfo
from msecli.mse import types
from msecli.mse.coded_frames import (
    CodedFrame,
    FrameBatch,
    InputBuffer,
    ceil_ticks,
    floor_ticks,
    in_decode_order,
    in_segment_order,
    scaled,
)
from msecli.mse.enums import AppendMode, AppendState, ReadyState
from msecli.mse.errors import IDLTypeError, InvalidStateError, NotSupportedError, QuotaExceededError
from msecli.mse.segment_parser import Init, InitSegment, IsoBmffParser, Media, NeedData, Skip, parser_for
from msecli.mse.track_buffer import Gop, TrackBuffer
from msecli.mse.tracks import MediaTrack
from msecli.timeline.ranges import EMPTY, TimeRanges, intersected_from_zero
from msecli.timeline.time import INF, ONE_MICROSECOND, Time, from_idl_double, to_idl_double

if TYPE_CHECKING:
    from msecli.mse.media_source import MediaSource


ADTS_HEADER = 7  # bytes, without CRC


class SourceBuffer:
    """IDL: SourceBuffer."""

    bulk_appends = True  # False: every frame takes the spec's per-frame walk (the oracle tests compare with)

    def __init__(self, media_source: MediaSource, mime_type: str) -> None:
        self.media_source: MediaSource | None = media_source
        self.host = media_source.host
        self.profile = media_source.profile
        self.type = mime_type
        self.codecs = types.codecs_of(mime_type)
        # [[slots]] (§5.1)
        self.generate_timestamps_flag = types.generate_timestamps_flag(mime_type)
        self.mode = AppendMode.SEQUENCE if self.generate_timestamps_flag else AppendMode.SEGMENTS
        self.updating = False
        self._page_doubles: dict[str, float] = {}  # timestampOffset, appendWindowStart/End as the page set them
        self.timestamp_offset = Fraction(0)
        self.append_window_start: Fraction = Fraction(0)
        self.append_window_end: Time = INF
        self.append_state = AppendState.WAITING_FOR_SEGMENT
        self.input_buffer = InputBuffer()
        self._leftover = 0
        self._parsed_in_append = 0
        self.append_error_reason: str | None = None  # why the last append error ran (for messages; not in the IDL)
        self.buffer_full_flag = False
        self.group_start_timestamp: Fraction | None = None
        self.group_end_timestamp: Fraction = Fraction(0)
        self.first_initialization_segment_received_flag = False
        self.pending_initialization_segment_for_change_type_flag = False
        self.track_buffers: dict[int, TrackBuffer] = {}
        self._appended_ends: dict[int, Fraction] = {}  # chromium: per track, the end of the frames this append stored
        # chromium (group_start_opens_every_range): a coded frame group waits for its first frame; then its start
        # and the tracks that have not stored a frame in it yet
        self._group_pending = True
        self._group_start_pts: Fraction | None = None
        self._group_opening: set[int] = set()
        self.audio_tracks: list[MediaTrack] = []
        self.video_tracks: list[MediaTrack] = []
        self.text_tracks: list[MediaTrack] = []
        self.first_init_tracks: dict[str, list[int]] | None = None
        # Implementation state (not spec slots)
        self.parser = parser_for(mime_type, self.profile)
        self.removed = False
        self._pending: str | None = None  # "append" or "remove" while an async step is queued
        self._generation = 0  # bumps when a pending async step must not run (abort, removal)
        self._buffered_cache: tuple[tuple, TimeRanges] | None = None  # (what buffered is computed from, it)

    # Attributes (§5.2)

    def _check_usable(self) -> MediaSource:
        if self.removed or self.media_source is None:
            raise InvalidStateError("this SourceBuffer has been removed from its MediaSource")
        return self.media_source

    def set_mode(self, value: str) -> None:
        """IDL: mode (setter)."""
        if value not in ("segments", "sequence"):
            return  # WebIDL: assigning a value outside an enumeration to an attribute does nothing
        ms = self._check_usable()  # 1
        if self.updating:  # 2
            raise InvalidStateError("updating")
        new_mode = AppendMode(value)  # 3
        if self.generate_timestamps_flag and new_mode == AppendMode.SEGMENTS:  # 4
            raise IDLTypeError("this byte stream generates timestamps: mode must be sequence")
        ms.reopen_if_ended()  # 5
        if self.append_state == AppendState.PARSING_MEDIA_SEGMENT:  # 6
            raise InvalidStateError("a media segment is being parsed")
        if new_mode == AppendMode.SEQUENCE:  # 7
            self.group_start_timestamp = self.group_end_timestamp
        elif self.mode == AppendMode.SEQUENCE:
            self._open_coded_frame_group()  # chromium's FrameProcessor::SetSequenceMode, to be safe
        self.mode = new_mode  # 8

    @property
    def timestamp_offset(self) -> Fraction:
        return self._timestamp_offset

    @timestamp_offset.setter
    def timestamp_offset(self, value: Fraction) -> None:
        if value != getattr(self, "_timestamp_offset", None):
            self._page_doubles.pop("timestampOffset", None)  # the algorithm moved it: the attribute reads the new value
        self._timestamp_offset = value

    def set_timestamp_offset(self, value: float) -> None:
        """IDL: timestampOffset (setter)."""
        if math.isnan(value) or math.isinf(value):
            raise IDLTypeError("timestampOffset must be finite")
        new_offset = Fraction(self.profile.page_time(value))  # 1
        ms = self._check_usable()  # 2
        if self.updating:  # 3
            raise InvalidStateError("updating")
        ms.reopen_if_ended()  # 4
        if self.append_state == AppendState.PARSING_MEDIA_SEGMENT:  # 5
            raise InvalidStateError("a media segment is being parsed")
        if self.mode == AppendMode.SEQUENCE:  # 6
            self.group_start_timestamp = new_offset
        self.timestamp_offset = new_offset  # 7
        self._page_doubles["timestampOffset"] = value

    def set_append_window_start(self, value: float) -> None:
        """IDL: appendWindowStart (setter)."""
        self._check_usable()
        if self.updating:
            raise InvalidStateError("updating")
        if math.isnan(value) or math.isinf(value) or value < 0 or value >= self._attribute("appendWindowEnd"):
            raise IDLTypeError("appendWindowStart must be >= 0 and below appendWindowEnd")
        self.append_window_start = Fraction(self.profile.page_time(value))
        self._page_doubles["appendWindowStart"] = value

    def set_append_window_end(self, value: float) -> None:
        """IDL: appendWindowEnd (setter)."""
        self._check_usable()
        if self.updating:
            raise InvalidStateError("updating")
        if math.isnan(value):
            raise IDLTypeError("appendWindowEnd is NaN")
        if value <= self._attribute("appendWindowStart"):
            raise IDLTypeError("appendWindowEnd must be above appendWindowStart")
        self.append_window_end = self.profile.page_time(value)
        self._page_doubles["appendWindowEnd"] = value

    def buffered(self) -> TimeRanges:
        """IDL: buffered (getter), §9.1."""
        self._check_usable()
        return self.buffered_ranges()

    def buffered_ranges(self) -> TimeRanges:
        """Computed again only when a track buffer or the ended state changed: the element and the
        player read it far more often than appends and removals change it."""
        ms = self.media_source
        ended = ms is not None and ms.ranges_ended()
        key = (ended, *[(id(t), t.mutations) for t in self.track_buffers.values()])
        if self._buffered_cache is None or self._buffered_cache[0] != key:
            self._buffered_cache = (key, self._computed_buffered_ranges())
        return self._buffered_cache[1]

    def _computed_buffered_ranges(self) -> TimeRanges:
        ms = self.media_source
        if not self.track_buffers:
            return EMPTY
        ended = ms is not None and ms.ranges_ended()
        tracks = [(t.kind, t.ranges(self.profile.merge_gap(t))) for t in self.track_buffers.values()]
        highest_end = max(ranges.highest_end for _, ranges in tracks)  # 2
        media = [ranges.with_last_end(highest_end) if ended else ranges
                 for kind, ranges in tracks if kind in ("audio", "video")]  # 4 (audio and video only)  # fmt: skip
        return intersected_from_zero(media, highest_end)  # 3-4

    def track_ranges_end(self) -> Time:
        return max((t.ranges_end(self.profile.merge_gap(t)) for t in self.track_buffers.values()), default=Fraction(0))

    # Methods

    def append_buffer(self, data: bytes | bytearray | memoryview) -> None:
        """IDL: appendBuffer(data), #dom-sourcebuffer-appendbuffer."""
        self.prepare_append(len(data))  # 1
        self._leftover = len(self.input_buffer)  # bytes of earlier appends still unparsed, before this one's
        self.input_buffer.append(data)  # 2
        self.updating = True  # 3
        self.host.queue_event(self, "updatestart")  # 4
        self._pending = "append"  # 5: buffer append, asynchronously
        generation = self._generation
        self.host.queue_task(lambda: self._run_if_current(generation, self.buffer_append))

    def prepare_append(self, new_data_size: int) -> None:
        """#sourcebuffer-prepare-append."""
        ms = self._check_usable()  # 1
        if self.updating:  # 2
            raise InvalidStateError("updating")
        if self.host.recent_element_error():  # 3-4
            raise InvalidStateError("the media element has an error")
        ms.reopen_if_ended()  # 5
        self.coded_frame_eviction(new_data_size)  # 6
        if self.buffer_full_flag:  # 7
            raise QuotaExceededError("the SourceBuffer is full")

    def buffer_append(self) -> None:
        """#sourcebuffer-buffer-append."""
        self.parser.begin_append(self._leftover)
        self._parsed_in_append = 0
        parsed = self.segment_parser_loop()
        if not parsed:  # 1-2: aborted by an append error
            return
        self.updating = False  # 3
        self._pending = None
        self.host.queue_event(self, "update")  # 4
        self.host.queue_event(self, "updateend")  # 5

    def abort(self) -> None:
        """IDL: abort(), #dom-sourcebuffer-abort."""
        ms = self._check_usable()  # 1
        if ms.ready_state != ReadyState.OPEN:  # 2
            raise InvalidStateError(f"readyState is {ms.ready_state}")
        if self._pending == "remove":  # 3
            raise InvalidStateError("a remove() is running")
        if self.updating:  # 4
            self.cancel_pending()
            self.updating = False
            self.host.queue_event(self, "abort")
            self.host.queue_event(self, "updateend")
        self.reset_parser_state()  # 5
        self.append_window_start = Fraction(0)  # 6
        self.append_window_end = INF  # 7
        self._page_doubles.pop("appendWindowStart", None)
        self._page_doubles.pop("appendWindowEnd", None)

    def remove(self, start: float, end: float) -> None:
        """IDL: remove(start, end), #dom-sourcebuffer-remove."""
        ms = self._check_usable()  # 1
        if self.updating:  # 2
            raise InvalidStateError("updating")
        duration = ms.duration_value
        if duration is None or ms.ready_state == ReadyState.CLOSED:  # 3
            raise IDLTypeError("duration is NaN")
        start_time = from_idl_double(start)
        if math.isnan(start) or start < 0 or start_time > duration:  # 4
            raise IDLTypeError(f"start {start} is outside [0, duration]")
        if math.isnan(end) or from_idl_double(end) <= start_time:  # 5
            raise IDLTypeError(f"end {end} is not after start {start}")
        ms.reopen_if_ended()  # 6
        # The range as the browser holds it: chromium truncates both ends to whole microseconds (base::Seconds),
        # so remove(0.1, ...) takes a frame at exactly 1/10 s, which the double nearest 0.1 lies just above.
        self.range_removal(self.profile.page_time(start), self.profile.page_time(end))  # 7

    def range_removal(self, start: Time, end: Time) -> None:
        """#sourcebuffer-range-removal."""
        self.updating = True  # 3
        self.host.queue_event(self, "updatestart")  # 4
        self._pending = "remove"  # 5: continue asynchronously
        generation = self._generation

        def finish() -> None:
            self.coded_frame_removal(start, end, splits=True)  # 6
            self.updating = False  # 7
            self._pending = None
            self.host.queue_event(self, "update")  # 8
            self.host.queue_event(self, "updateend")  # 9
            self.host.mirror(lambda element: element.media_source_changed())

        self.host.queue_task(lambda: self._run_if_current(generation, finish))

    def change_type(self, mime_type: str) -> None:
        """IDL: changeType(type), #dom-sourcebuffer-changetype."""
        if mime_type == "":  # 1
            raise IDLTypeError("type is empty")
        ms = self._check_usable()  # 2
        if self.updating:  # 3
            raise InvalidStateError("updating")
        if not types.is_type_supported(mime_type):  # 4
            raise NotSupportedError(f"{mime_type!r} is not supported")
        ms.reopen_if_ended()  # 5
        self.reset_parser_state()  # 6
        self.generate_timestamps_flag = types.generate_timestamps_flag(mime_type)  # 7
        if self.generate_timestamps_flag:  # 8
            self.set_mode("sequence")
        self.pending_initialization_segment_for_change_type_flag = True  # 9
        self.type, self.codecs = mime_type, types.codecs_of(mime_type)
        self.parser = parser_for(mime_type, self.profile)

    # Internals shared with MediaSource

    def _run_if_current(self, generation: int, steps) -> None:  # type: ignore[no-untyped-def]
        if generation == self._generation and not self.removed:
            steps()

    def cancel_pending(self) -> None:
        """Abort a running buffer append or range removal: its queued task will not run."""
        self._generation += 1
        self._pending = None

    def release(self) -> None:
        self.removed = True
        self.cancel_pending()
        self.track_buffers = {}
        for track in self.tracks():  # removeSourceBuffer steps 3-8: the tracks leave their lists
            track.source_buffer = None
        self.audio_tracks, self.video_tracks, self.text_tracks = [], [], []
        self.input_buffer = InputBuffer()
        self.media_source = None

    # §5.4 Segment parser loop

    def segment_parser_loop(self) -> bool:
        """#sourcebuffer-segment-parser-loop. False when an append error aborted it."""
        while True:
            if not self.input_buffer:  # 1
                return True  # need more data
            try:
                item = self.parser.next(self.input_buffer.data)
            except ParseError as exc:  # 2: bytes that violate the byte stream format
                at = self._parsed_in_append - self._leftover + exc.offset  # from this append's first byte
                where = f"{exc.path} at byte {at} of the appended data" if at >= 0 else f"{exc.path}, in an earlier append"
                self.append_error(f"{where}: {exc.reason}")
                return False
            if isinstance(item, Skip):  # 3
                self._consume(item.size)
                continue
            if isinstance(item, NeedData):  # 4, 5.1, 6.4
                if item.starts == "init":
                    self.append_state = AppendState.PARSING_INIT_SEGMENT
                elif item.starts == "media":
                    if not self._may_parse_media():
                        return False
                    self.append_state = AppendState.PARSING_MEDIA_SEGMENT
                return True
            if isinstance(item, Init):  # 5
                self.append_state = AppendState.PARSING_INIT_SEGMENT
                if not self.initialization_segment_received(item.segment):
                    return False
                self._consume(item.size)
                self.append_state = AppendState.WAITING_FOR_SEGMENT
                continue
            if isinstance(item, Media):  # 6
                self.append_state = AppendState.PARSING_MEDIA_SEGMENT
                if not self._may_parse_media():
                    return False
                if item.batches:  # 6.2: complete coded frames are processed
                    offset_before = self.timestamp_offset
                    self.coded_frame_processing(item.batches)
                    if self.generate_timestamps_flag and self.profile.generated_timestamps_as_parsed:
                        self._offset_after_generated_batch(offset_before, item.batches)
                self._consume(item.size)  # 6.5 (or the part of the segment parsed so far)
                if item.complete:
                    self.append_state = AppendState.WAITING_FOR_SEGMENT  # 6.6
                continue

    def _offset_after_generated_batch(self, offset_before: Fraction, batches: list[FrameBatch]) -> None:
        """DEVIATION (chromium profile, SourceBufferState::OnNewBuffers): unless the frames re-anchored it to
        another value, timestampOffset becomes its value before them plus the end of the batch's frames as parsed
        (in place of step 21)."""
        if self.timestamp_offset == offset_before:
            ends = [batch.in_microseconds().table for batch in batches]
            end = min(Fraction(int(t["pts"][-1] + t["duration"][-1]), 1_000_000) for t in ends)
            self.timestamp_offset = offset_before + end

    def _consume(self, size: int) -> None:
        self.input_buffer.consume(size)
        self._parsed_in_append += size

    def _may_parse_media(self) -> bool:
        """§5.4 step 6.1."""
        if (
            not self.first_initialization_segment_received_flag
            or self.pending_initialization_segment_for_change_type_flag
        ):
            self.append_error("a media segment before any initialization segment" if not
                              self.first_initialization_segment_received_flag else
                              "a media segment after changeType() before an initialization segment of the new type")
            return False
        return True

    def reset_parser_state(self) -> None:
        """#sourcebuffer-reset-parser-state."""
        # 1. Complete coded frames in the input buffer are processed first.
        if self.append_state == AppendState.PARSING_MEDIA_SEGMENT:
            try:
                item = self.parser.next(self.input_buffer.data)
                if isinstance(item, Media) and item.batches:  # only when there are complete coded frames
                    self.coded_frame_processing(item.batches)
            except ParseError:
                pass
        self._unset_track_buffer_state()  # 2-5
        self._open_coded_frame_group()
        if self.mode == AppendMode.SEQUENCE:  # 6
            self.group_start_timestamp = self.group_end_timestamp
        self.input_buffer = InputBuffer()  # 7
        self.parser.reset()
        self.append_state = AppendState.WAITING_FOR_SEGMENT  # 8

    def _new_coded_frame_group(self, presentation_timestamp: Fraction) -> None:
        """What a discontinuity (§7.2 step 6) and removing the last appended frame (§8.1) both do:
        segments mode ends the group at the frame's PTS, sequence mode starts the next group where
        this one ended; every track buffer forgets its position and needs a random access point."""
        if self.mode == AppendMode.SEGMENTS:
            self.group_end_timestamp = presentation_timestamp
        else:
            self.group_start_timestamp = self.group_end_timestamp
        self._unset_track_buffer_state()

    def _unset_track_buffer_state(self) -> None:
        for track in self.track_buffers.values():
            track.last_decode_timestamp = None
            track.last_frame_duration = None
            track.highest_end_timestamp = None
            track.need_random_access_point_flag = True

    def append_error(self, reason: str = "") -> None:
        """#sourcebuffer-append-error. `reason`: msecli's diagnosis, kept in `append_error_reason` (no IDL attribute)."""
        self.append_error_reason = reason or "the append error algorithm ran"
        self.reset_parser_state()  # 1
        self.updating = False  # 2
        self._pending = None
        self.host.queue_event(self, "error")  # 3
        self.host.queue_event(self, "updateend")  # 4
        if self.media_source is not None:  # 5
            self.media_source.end_of_stream_algorithm("decode")

    # §6 Initialization segment received

    def initialization_segment_received(self, segment: InitSegment) -> bool:
        ms = self.media_source
        assert ms is not None
        if self.profile.ignores_text_tracks:
            # DEVIATION (chromium profile): text tracks in an init segment are ignored, as if absent.
            segment = InitSegment({i: t for i, t in segment.tracks.items() if t.kind != "text"}, segment.duration)
        if ms.duration_value is None:  # 1
            ms.duration_change(segment.duration if segment.duration else INF)
        kinds = {k: sorted(i for i, t in segment.tracks.items() if t.kind == k) for k in ("audio", "video", "text")}
        if not any(kinds.values()):  # 2
            self.append_error("an initialization segment with no audio, video or text track")
            return False
        if self.first_initialization_segment_received_flag:  # 3
            first = self.first_init_tracks or {}
            if any(len(kinds[k]) != len(first.get(k, [])) for k in kinds):
                self.append_error("an initialization segment whose track counts differ from the first one's")
                return False
            if any(len(kinds[k]) > 1 and kinds[k] != first.get(k) for k in kinds):
                self.append_error("an initialization segment whose track IDs differ from the first one's")
                return False
            problem = self._codecs_problem(segment)  # 3.1: every track's codec is supported (the same MAY)
            if problem is not None:
                self.append_error(problem)
                return False
            renumbered = self._map_track_ids(kinds, first)
            for track_id, info in segment.tracks.items():
                self.track_buffers[renumbered.get(track_id, track_id)].codec = info.codecs
            for track in self.track_buffers.values():
                track.need_random_access_point_flag = True
            self.parser.tracks = segment.tracks
            self._track_id_map = renumbered
        active_track_flag = False  # 4
        if not self.first_initialization_segment_received_flag:  # 5
            problem = self._codecs_problem(segment)  # 5.1
            if problem is not None:
                self.append_error(problem)
                return False
            for kind in ("audio", "video", "text"):  # 5.2-5.4
                for track_id in kinds[kind]:
                    info = segment.tracks[track_id]
                    active_track_flag |= self._add_track(kind, track_id, "")
                    self.track_buffers[track_id] = TrackBuffer(track_id, kind, info.codecs,
                                                               merge_by_start=self.profile.merge_by_fudge_room,
                                                               whole_gops=self.profile.range_holds_whole_gops)
            if active_track_flag and self not in ms.active_source_buffers:  # 5.5
                ms.active_source_buffers = [
                    sb for sb in ms.source_buffers if sb in ms.active_source_buffers or sb is self
                ]
                self.host.queue_event("activeSourceBuffers", "addsourcebuffer")
            self.first_initialization_segment_received_flag = True  # 5.6
            self.first_init_tracks = kinds
            self._track_id_map = {}
        self.pending_initialization_segment_for_change_type_flag = False  # 6
        for track_id, info in segment.tracks.items():  # the decoder config of the frames that follow
            buffer = self.track_buffers.get(self._track_id_map.get(track_id, track_id))
            if buffer is not None and info.kind == "audio":  # chromium: a new audio config forgets the preroll
                buffer.decoder_delay, buffer.preroll = self._decoder_delay(info), None
                buffer.sample_duration = Fraction(1, info.timescale if info.timescale >= 8000 else 48000)
                buffer.seek_preroll = Fraction(info.seek_preroll_ns, 10**9) if info.codecs == "opus" else Fraction(0)
            if buffer is not None and info.kind == "video":
                buffer.coded_size = (info.width, info.height)
                buffer.annexb_parameter_sets = info.annexb_parameter_sets
        video = next((t for t in segment.tracks.values() if t.kind == "video"), None)
        if active_track_flag:  # 7 (conditional, as in the 2016 REC)
            self.host.mirror(lambda element: element.new_initialization_segment(video))
        if all(sb.first_initialization_segment_received_flag for sb in ms.source_buffers):  # 8
            if not ms.reached_metadata and self.profile.eviction_while_seek_pending:
                ms.demuxer_seek(Fraction(0))  # chromium: ChunkDemuxer::OnSourceInitDone, SeekAllSources(start time)
            ms.reached_metadata = True
            self.host.mirror(lambda element: element.all_initialization_segments_received(video))
        return True

    def _add_track(self, kind: str, track_id: int, language: str) -> bool:
        """§6 steps 5.2.5-5.4: a new AudioTrack (the SourceBuffer's first is enabled), VideoTrack (its first is
        selected) or TextTrack (mode "disabled"). True when the new track is on: the active track flag."""
        tracks = {"audio": self.audio_tracks, "video": self.video_tracks, "text": self.text_tracks}[kind]
        track = MediaTrack(kind, track_id, self, "" if language == "und" else language)
        if kind == "audio":
            track.enabled = not tracks
        elif kind == "video":
            track.selected = not tracks
        tracks.append(track)
        return track.on

    def tracks(self) -> list[MediaTrack]:
        return self.audio_tracks + self.video_tracks + self.text_tracks

    def _map_track_ids(self, kinds: dict[str, list[int]], first: dict[str, list[int]]) -> dict[int, int]:
        """With one track of a type, its Track ID may change between init segments: map it back."""
        return {new[0]: old[0] for k in kinds if len(new := kinds[k]) == 1 and len(old := first.get(k, [])) == 1}

    def _codecs_problem(self, segment: InitSegment) -> str | None:
        """Why the init segment's codecs are "not supported" under the spec's MAY: a track whose codec the
        SourceBuffer's type does not list. chromium (init_codecs_strict): each listed codec is taken by one track,
        none may be left over, and an MP4 AAC track's objectTypeIndication must be one the list names."""
        tracks = [info for info in segment.tracks.values() if info.kind in ("audio", "video")]
        if not self.codecs:
            return None  # audio/mpeg, audio/aac: the codec is implicit
        expected = [types.codec_family(c) for c in self.codecs]
        if self.profile.init_codecs_strict:
            allowed_oti = types.aac_object_type_indications(self.codecs)
            for info in tracks:
                oti = types.object_type_indication(info.codecs)
                if oti is not None and oti not in allowed_oti:
                    return f"audio object type 0x{oti:x} does not match what is specified in the mimetype"
        for info in tracks:
            family = types.codec_family(info.codecs)
            if family not in expected:
                return f"{info.kind} stream codec {family} doesn't match SourceBuffer codecs ({self.type})"
            if self.profile.init_codecs_strict:
                expected.remove(family)
        if self.profile.init_codecs_strict and expected:
            return f"initialization segment misses expected {expected[0]} track ({self.type})"
        return None

    def _decoder_delay(self, info: TrackInfo) -> Fraction:
        """DEVIATION (chromium profile, audio_codec_delay_discarded): what the track's decoder discards at its start."""
        if not self.profile.audio_codec_delay_discarded or info.kind != "audio" or not info.timescale:
            return Fraction(0)
        return Fraction(info.codec_delay, info.timescale)

    # §7 Coded frame processing

    def coded_frame_processing(self, batches: list[FrameBatch]) -> None:
        """#sourcebuffer-coded-frame-processing. The spec walks the frames one at a time (`_process_frame`,
        steps numbered as in the spec). After the segment's first frame, whatever the remaining frames would
        do one by one is often only "store each, in order": no discontinuity, nothing to drop or overlap.
        `_bulk_plan` proves that from the whole batch at once and the frames are then stored together;
        anything else takes the per-frame walk."""
        track_map = getattr(self, "_track_id_map", {})
        if self.profile.microsecond_timestamps:
            # DEVIATION (chromium profile): timestamps as whole microseconds.
            batches = [batch.in_microseconds() for batch in batches]
        owned: list[tuple[TrackBuffer, FrameBatch]] = []
        for batch in batches:
            track = self.track_buffers.get(track_map.get(batch.track_id, batch.track_id))
            sizes = batch.table["size"]
            if not sizes.all():
                batch = batch.select(sizes != 0)  # empty samples hold no coded frame (Chromium's MP4 parser skips them)
            if track is not None and len(batch):
                owned.append((track, batch))
        if self.profile.muxed_frames_in_decode_order and len(owned) > 1:
            owned = in_decode_order(owned, lambda track: track.kind == "audio")
        before = self._before_overlaps(owned) if self.profile.split_range_starts_at_overlap_end else None
        if owned and not self._stored_in_bulk(owned):
            # The first frame may start a group (step 3, a discontinuity): walk it, then try the rest again.
            track, first = min(owned, key=lambda item: int(item[1].seq[0]))
            self._process_frame(track, first.frame(0))
            owned = [(t, b.select(slice(1, None)) if b is first else b) for t, b in owned]
            owned = [(t, b) for t, b in owned if len(b)]
            if not self._stored_in_bulk(owned):
                for track, frame in in_segment_order(owned):
                    self._process_frame(track, frame)
        if before is not None:
            self._bridge_split_ranges(before)
        if self.profile.eviction_while_seek_pending:
            for track, _ in owned:
                track.seek_if_pending(self.profile.merge_gap(track))
        self._after_frames()

    def _before_overlaps(self, owned: list[tuple[TrackBuffer, FrameBatch]]) -> dict[int, tuple[int, TimeRanges]]:
        """Per track about to take frames: its removal count and ranges now, for `_bridge_split_ranges`."""
        self._appended_ends = {}
        return {track.id: (track.removals, track.ranges(self.profile.merge_gap(track))) for track, _ in owned}

    def _bridge_split_ranges(self, before: dict[int, tuple[int, TimeRanges]]) -> None:
        """DEVIATION (chromium profile, split_range_starts_at_overlap_end): where the frames just appended to a track
        removed stored ones, the range that held the first keyframe at or after their end, if it began before that
        end, now begins at it: bridged back to the new frames."""
        for track in self.track_buffers.values():
            end = self._appended_ends.get(track.id)
            if end is None or track.id not in before or track.removals == before[track.id][0]:
                continue
            keyframe = track.first_random_access_point_at_or_after(end)
            if keyframe is None or keyframe == end:
                continue
            held = next((start for start, stop in before[track.id][1].spans() if start <= keyframe < stop), None)
            if held is not None and held < end:
                track.bridge(end, keyframe)

    def _open_coded_frame_group(self) -> None:
        """Chromium's FrameProcessor: the next frame stored starts a coded frame group for every track (Reset(), the
        sequence mode group start, leaving sequence mode)."""
        self._group_pending = True

    def _note_group_frame(self, track: TrackBuffer, pts: Fraction) -> None:
        """DEVIATION (chromium profile, group_start_opens_every_range): the first frame stored in a coded frame
        group starts it for every track; a track whose first frame in the group comes later has its range from
        the group's start."""
        if not self.profile.group_start_opens_every_range:
            return
        if self._group_pending:
            self._group_pending = False
            self._group_start_pts = pts
            self._group_opening = set(self.track_buffers) - {track.id}
        elif track.id in self._group_opening:
            self._group_opening.discard(track.id)
            start = self._group_start_pts
            if start is not None and start < pts:
                track.bridge(start, pts, reaching=False)

    def _note_range_head(self, track: TrackBuffer, dts: Fraction, pts: Fraction) -> None:
        """DEVIATION (chromium profile, range_starts_at_its_first_frame): a track's first frame in a coded frame group
        (a keyframe) that joins no range (SourceBufferStream::FindExistingRangeFor: none holds its PTS or ends within
        the fudge room before it) begins a range of its own, which starts at that frame's PTS. Called before the frame
        is stored: the track has no last decode timestamp at a group's first frame."""
        if not self.profile.range_starts_at_its_first_frame or track.last_decode_timestamp is not None:
            return
        if not track.joins_a_range(pts, self.profile.merge_gap(track)):
            track.head(dts, pts)

    def _group_start_in_its_range(self, track: TrackBuffer, pts: Fraction) -> tuple[Fraction, bool] | None:
        """DEVIATION (chromium profile, group_start_joins_its_range): a coded frame group that starts inside one of the
        track's ranges, not adjacent to the stream's append sequence, starts 1 µs after the highest PTS decoded before
        the first frame presented after its start, or, where that start lies before the range's first keyframe, 1 µs
        after the range's start (SourceBufferStream::OnStartOfCodedFrameGroup,
        SourceBufferRange::FindHighestBufferedTimestampAtOrBefore). What the overlap leaves of the range ends there, so
        the group's frames join it; a range whose first keyframe comes after the group's start goes from that keyframe
        on, and the group's range begins 1 µs after where it began. Returns the bridge to the frame at `pts` (where it
        starts, whether frames before must reach it), or None. Called before the overlap removal, at the track's first
        frame in the group; the group starts at `pts` or, where another track's frame opened it, at that frame's."""
        if not self.profile.group_start_joins_its_range or track.last_decode_timestamp is not None:
            return None
        opened = track.id in self._group_opening and self._group_start_pts is not None and not self._group_pending
        group_start = self._group_start_pts if opened else pts
        assert group_start is not None
        if self._continues_sequence(track, group_start):
            return None
        start = track.joined_range_start(group_start, self.profile.merge_gap(track))
        if start is None:
            return None
        highest = track.highest_pts_before_passing(group_start)
        if highest is not None and highest >= start:
            return (highest + ONE_MICROSECOND, True) if highest < group_start else None
        if start < group_start:  # before the range's first keyframe
            track.drop_bridges_from(start)
            return start + ONE_MICROSECOND, False
        return None

    def _continues_sequence(self, track: TrackBuffer, pts: Fraction) -> bool:
        """Do the frames about to be stored (from `pts`) continue the stream's append sequence: inside a coded frame
        group, or (chromium, interbuffer_distance_across_adjacent_groups) at the start of one adjacent to the sequence
        (SourceBufferStream::OnStartOfCodedFrameGroup: IsNextGopAdjacentToEndOfCurrentAppendSequence)? Judged before
        they are stored, with the fudge room as it was."""
        if track.last_decode_timestamp is not None:
            return True
        high = track.sequence_highest_pts
        return (self.profile.interbuffer_distance_across_adjacent_groups and track.stream_last_dts is not None
                and high is not None and high < pts <= high + self.profile.merge_gap(track))  # fmt: skip

    @staticmethod
    def _previous_dts(track: TrackBuffer, continues: bool) -> Fraction | None:
        """The DTS the inter-buffer distance of the frames about to be stored counts from: the last decode timestamp,
        or at a group's first frame the stream's last appended one when the group continues its append sequence."""
        if track.last_decode_timestamp is not None or not continues:
            return track.last_decode_timestamp
        return track.stream_last_dts

    def _note_appended(self, track: TrackBuffer, continues: bool, last_dts: Fraction, highest_pts: Fraction) -> None:
        """chromium: the stream's append state after storing frames (frames that do not continue the append sequence
        start a new one)."""
        if not self.profile.interbuffer_distance_across_adjacent_groups:
            return
        high = track.sequence_highest_pts if continues and track.sequence_highest_pts is not None else highest_pts
        track.stream_last_dts, track.sequence_highest_pts = last_dts, max(high, highest_pts)

    def _note_appended_end(self, track: TrackBuffer, end: Fraction) -> None:
        if self.profile.split_range_starts_at_overlap_end:
            known = self._appended_ends.get(track.id)
            if known is None or end > known:
                self._appended_ends[track.id] = end

    def _stored_in_bulk(self, owned: list[tuple[TrackBuffer, FrameBatch]]) -> bool:
        if not self.bulk_appends:
            return False
        plans = [self._bulk_plan(track, batch) for track, batch in owned]
        if any(plan is None for plan in plans):
            return False
        stores = list(zip((track for track, _ in owned), plans))
        if self._group_pending:  # the group starts with the first frame stored in segment order
            stores.sort(key=lambda item: item[1].first_seq)  # type: ignore[union-attr]
        for track, plan in stores:
            self._store_bulk(track, plan)  # type: ignore[arg-type]
        return True

    def _bulk_plan(self, track: TrackBuffer, batch: FrameBatch) -> _BulkPlan | None:
        """The batch's frames in the track's ticks if, taken one by one after everything processed so far,
        each would only be stored (or, before the first keyframe while a RAP is needed, dropped); else None.
        Every check compares integer ticks: this runs once per track per media segment."""
        if self.generate_timestamps_flag or self.group_start_timestamp is not None or track.preroll is not None:
            return None  # steps 1 and 3 would act, or the first frame may carry a preroll
        offset = self.timestamp_offset
        if track.scale % batch.timescale or track.scale % offset.denominator:
            track.fit(Fraction(1, batch.timescale), offset)
        scale = track.scale
        factor, shift = scale // batch.timescale, track.ticks(offset)
        table = batch.table
        pts = np.ascontiguousarray(scaled(table["pts"], factor, shift))
        dts = np.ascontiguousarray(scaled(table["dts"], factor, shift))
        duration = np.ascontiguousarray(scaled(table["duration"], factor))
        ends = pts + duration
        # 8-9: every frame inside the append window.
        if pts.min() < ceil_ticks(self.append_window_start, scale):
            return None
        if self.append_window_end != INF and ends.max() > floor_ticks(self.append_window_end, scale):
            return None
        # 10: frames before the first keyframe are dropped while a random access point is needed.
        first, key = 0, np.ascontiguousarray(table["key"])
        if track.need_random_access_point_flag:
            keys = np.flatnonzero(key)
            first = int(keys[0]) if len(keys) else len(table)
        # 6: no discontinuity. Dropped frames and the first stored one compare with the track's last
        # stored frame; each later one with the frame before it.
        if track.last_decode_timestamp is not None:
            last = track.ticks(track.last_decode_timestamp)
            allowed = 2 * track.ticks(track.last_frame_duration or Fraction(0))
            lead = dts[: first + 1]
            if lead.min() < last or lead.max() - last > allowed:
                return None
        steps = dts[first + 1 :] - dts[first:-1]
        if len(steps) and (steps.min() < 0 or (steps > 2 * duration[first:-1]).any()):
            return None
        # 13-15: no stored frame would be removed. 13 looks (at a group start) for a frame the first stored
        # one starts inside; 14 removes from [highest end so far, frame end), which never holds a frame of
        # this batch: those all start before their own ends.
        if first < len(table) and len(track):
            if track.last_decode_timestamp is None and track.frame_containing(track.time(pts[first])) is not None:
                return None
            low = int(pts[first:].min())
            if track.highest_end_timestamp is not None:
                low = min(low, int(ceil_ticks(track.highest_end_timestamp, scale)))
            if track.has_ticks_in(low, int(ends[first:].max())):
                return None
        first_seq = int(batch.seq[first]) if first < len(table) else -1
        if first:
            dts, pts, duration, ends = dts[first:], pts[first:], duration[first:], ends[first:]
        return _BulkPlan(dts, pts, duration, key[first:], np.ascontiguousarray(table["size"][first:]), ends, steps,
                         first_seq)  # fmt: skip

    def _store_bulk(self, track: TrackBuffer, plan: _BulkPlan) -> None:
        """Steps 16-20 for every frame of a plan at once."""
        if not len(plan.dts):
            return
        scale = track.scale  # the plan's ticks: storing a zero duration may refine the track's grid

        def time(ticks: int) -> Fraction:
            return Fraction(int(ticks), scale)

        continues = self._continues_sequence(track, time(plan.pts[0]))
        previous_dts = self._previous_dts(track, continues)
        previous = None if previous_dts is None else track.ticks(previous_dts)
        bridge_from = self._group_start_in_its_range(track, time(plan.pts[0]))
        self._note_range_head(track, time(plan.dts[0]), time(plan.pts[0]))
        track.store(plan.dts, plan.pts, plan.duration, plan.key, plan.size, previous, plan.ends, plan.steps)  # 16
        self._note_appended(track, continues, time(plan.dts[-1]), time(plan.pts.max()))
        self._note_group_frame(track, time(plan.pts[0]))
        if bridge_from is not None:
            track.bridge(bridge_from[0], time(plan.pts[0]), reaching=bridge_from[1])
        track.need_random_access_point_flag = False
        track.last_appended_pts = time(plan.pts[-1])
        track.last_decode_timestamp = time(plan.dts[-1])  # 17
        track.last_frame_duration = time(plan.duration[-1])  # 18
        highest_end = time(plan.ends.max())
        if track.highest_end_timestamp is None or highest_end > track.highest_end_timestamp:  # 19
            track.highest_end_timestamp = highest_end
        if highest_end > self.group_end_timestamp:  # 20
            self.group_end_timestamp = highest_end
        self._note_appended_end(track, highest_end)

    def _process_frame(self, track_buffer: TrackBuffer, source: CodedFrame) -> None:
        pts, dts, frame_duration = source.pts, source.dts, source.duration
        while True:
            # 1. Timestamps.
            if self.generate_timestamps_flag and not self.profile.generated_timestamps_as_parsed:
                pts, dts = Fraction(0), Fraction(0)
            else:  # DEVIATION (chromium profile): a generated frame keeps the time its parser gave it
                pts, dts = source.pts, source.dts
            # 2. Frame duration.
            frame_duration = source.duration
            # 3. Sequence mode with a group start timestamp: re-anchor the offset.
            if self.mode == AppendMode.SEQUENCE and self.group_start_timestamp is not None:
                self.timestamp_offset = self.group_start_timestamp - pts
                self.group_end_timestamp = self.group_start_timestamp
                for track in self.track_buffers.values():
                    track.need_random_access_point_flag = True
                self._open_coded_frame_group()
                self.group_start_timestamp = None
            # 4. Apply timestampOffset.
            if self.timestamp_offset:
                pts += self.timestamp_offset
                dts += self.timestamp_offset
            # 5. (track buffer chosen by the caller)
            # 6. Discontinuity.
            last = track_buffer.last_decode_timestamp
            if last is not None and (dts < last or dts - last > 2 * (track_buffer.last_frame_duration or 0)):
                self._new_coded_frame_group(pts)  # 6.1-6.5
                self._open_coded_frame_group()
                continue  # 6.6 Jump to the Loop Top with the same frame.
            break
        # 7. Frame end timestamp.
        frame_end_timestamp = pts + frame_duration
        preroll = self._audio_preroll(track_buffer, pts, frame_end_timestamp, source.size)
        if self.profile.partial_audio_trimming and track_buffer.kind == "audio":
            # DEVIATION (chromium profile): trim audio frames that straddle the append window.
            if pts < self.append_window_start < frame_end_timestamp:
                cut = self.append_window_start - pts
                pts, dts, frame_duration = pts + cut, dts + cut, frame_duration - cut
            if pts < self.append_window_end < frame_end_timestamp:
                frame_duration = Fraction(self.append_window_end) - pts  # finite here
            frame_end_timestamp = pts + frame_duration
        # 8. Before the append window start: drop, need a RAP.
        if pts < self.append_window_start:
            track_buffer.need_random_access_point_flag = True
            return
        # 9. After the append window end: drop, need a RAP.
        if frame_end_timestamp > self.append_window_end:
            track_buffer.need_random_access_point_flag = True
            return
        # 10. Waiting for a random access point.
        if track_buffer.need_random_access_point_flag:
            if not source.key:
                return
            track_buffer.need_random_access_point_flag = False
        # 11-12. No splice frame is ever returned: without crossfade the audio splice stores nothing in
        # the new frame's place (§7.4 step 8.3).
        removed: list[int] = []  # decode-order indexes
        replacement: CodedFrame | None = None
        bridge_from = self._group_start_in_its_range(track_buffer, pts)
        # 13. Overlap with an existing frame, at the start of a coded frame group.
        overlapped = track_buffer.frame_containing(pts) if track_buffer.last_decode_timestamp is None else None
        if overlapped is not None:
            index, existing = overlapped
            if track_buffer.kind == "audio":
                removed, replacement = self._audio_splice(existing, index, pts)
            elif track_buffer.kind == "text":
                removed, replacement = self._text_splice(existing, index, pts)
            elif pts < existing.pts + ONE_MICROSECOND:
                removed.append(index)
        # 14. Remove coded frames the new one overlaps.
        highest_end = track_buffer.highest_end_timestamp
        low = pts if highest_end is None else highest_end
        if highest_end is None or highest_end <= pts:
            removed += [int(i) for i in track_buffer.indexes_starting_in(low, frame_end_timestamp) if i not in removed]
        # 15. And the frames that depend on them, up to the next random access point.
        track_buffer.remove_with_dependants(np.array(sorted(removed), np.int64))
        if replacement is not None:
            track_buffer.add(replacement)
        # 16. Store the frame.
        self._note_range_head(track_buffer, dts, pts)
        continues = self._continues_sequence(track_buffer, pts)
        track_buffer.add(CodedFrame(pts, dts, frame_duration, source.key, source.size + preroll),
                         self._previous_dts(track_buffer, continues))  # fmt: skip
        self._note_appended(track_buffer, continues, dts, pts)
        self._note_group_frame(track_buffer, pts)
        if bridge_from is not None:
            track_buffer.bridge(bridge_from[0], pts, reaching=bridge_from[1])
        track_buffer.last_appended_pts = pts
        track_buffer.last_decode_timestamp = dts  # 17
        # 18. (chromium: a trimmed frame's own duration, so that the frames after it seem no discontinuity)
        track_buffer.last_frame_duration = source.duration if self.profile.partial_audio_trimming else frame_duration
        if highest_end is None or frame_end_timestamp > highest_end:  # 19
            track_buffer.highest_end_timestamp = frame_end_timestamp
        if frame_end_timestamp > self.group_end_timestamp:  # 20
            self.group_end_timestamp = frame_end_timestamp
        self._note_appended_end(track_buffer, frame_end_timestamp)
        if self.generate_timestamps_flag and not self.profile.generated_timestamps_as_parsed:  # 21
            self.timestamp_offset = frame_end_timestamp

    def _audio_preroll(self, track: TrackBuffer, pts: Fraction, end: Fraction, size: int) -> int:
        """DEVIATION (chromium profile, audio_preroll_kept): an audio frame wholly before appendWindowStart is kept as
        the preroll of the next one not wholly outside the window; that one carries it if it starts within a sample
        of its end and not before it. Returns the memory the frame at `pts` carries for it, counted with its size."""
        if not self.profile.audio_preroll_kept or track.kind != "audio":
            return 0
        if pts < self.append_window_start and end <= self.append_window_start:
            track.preroll = (pts, end, size + self._frame_overhead(track))
            return 0
        if track.preroll is None or pts >= self.append_window_end:
            return 0
        (start, stop, memory), track.preroll = track.preroll, None
        return memory if abs(stop - pts) < track.sample_duration and start <= pts else 0

    def _audio_splice(
        self, overlapped: CodedFrame, index: int, new_pts: Fraction
    ) -> tuple[list[int], CodedFrame | None]:
        """The audio splice frame algorithm's non-crossfade path (§7.4 step 8): the overlapped frame goes,
        and a silence frame covers [its PTS, the new frame's PTS). DEVIATION: the new frame's timestamps
        are not rounded to the overlapped frame's sample grid (step 7): frames here carry no sample rate.
        The chromium profile trims the overlapped frame's tail instead (TrimSpliceOverlap)."""
        head = new_pts - overlapped.pts
        if head == 0:
            return [index], None  # the same start: whole-frame replacement
        if self.profile.audio_splice_trims_tail:
            if overlapped.end - new_pts < Fraction(1, 1000):
                return [], None  # an overlap under 1 ms is left alone
            return [index], CodedFrame(overlapped.pts, overlapped.dts, head, overlapped.key, overlapped.size)
        return [index], CodedFrame(overlapped.pts, overlapped.dts, head, True, 0)  # silence

    def _text_splice(self, overlapped: CodedFrame, index: int, new_pts: Fraction) -> tuple[list[int], CodedFrame | None]:
        """The text splice frame algorithm (§7.4): the overlapped cue goes and comes back cut at the new cue's
        start (later cues inside the new one go in step 14); no splice frame is returned."""
        head = new_pts - overlapped.pts
        cut = CodedFrame(overlapped.pts, overlapped.dts, head, overlapped.key, overlapped.size) if head > 0 else None
        return [index], cut

    def _after_frames(self) -> None:
        """§7.3: the element's readyState may rise; the duration grows to the group end."""
        ms = self.media_source
        assert ms is not None
        if not self.profile.duration_grows_before_ready_state:
            self.host.mirror(lambda element: element.media_source_changed())
        duration = ms.duration_value
        if duration is None or self.group_end_timestamp > duration:
            ms.duration_change(self.group_end_timestamp)
        if self.profile.duration_grows_before_ready_state:
            self.host.mirror(lambda element: element.media_source_changed())

    # §8 Removal and eviction

    def _keyframe_split_at(self, track: TrackBuffer, end: Time, keyframe: Fraction | None) -> Fraction | None:
        """Where the chromium profile's removal splits a range: at `keyframe`, the one step 3.2 found, only when it lies
        in the range that holds `end` (removal_split_within_its_range)."""
        if keyframe is None or not self.profile.removal_split_within_its_range:
            return keyframe
        span = track.ranges(self.profile.merge_gap(track)).range_containing(end)
        if span is not None and track.in_head_gap(end, span[0]):
            # SourceBufferRange::NextKeyframeTimestamp: `end` inside the gap before a range's first keyframe is a
            # keyframe itself, so the range starts there
            return None
        return keyframe if span is not None and keyframe < span[1] else None

    def _split_reach(self, remove_end: Time, end: Time, split_at: Fraction | None) -> Time:
        """How far the chromium profile's removal reaches into the ranges (the ones starting at or past it stay whole):
        the remove end timestamp, or with no keyframe to split at in end's range, `end` itself (capped as step 3.1
        caps it)."""
        if split_at is not None or not self.profile.removal_split_within_its_range:
            return remove_end
        return min(remove_end, end)

    def coded_frame_removal(self, start: Time, end: Time, only: list[TrackBuffer] | None = None,
                            splits: bool = False) -> None:  # fmt: skip
        """#sourcebuffer-coded-frame-removal. `only`: the track buffers step 3 visits, when not all of them
        (chromium's per-stream garbage collection removes from one stream at a time). `splits`: for remove(), whose
        range Chromium splits (its garbage collection takes whole GOPs from a range's ends instead)."""
        ms = self.media_source
        assert ms is not None
        for track in only if only is not None else self.track_buffers.values():  # 3
            remove_end = ms.duration_value if ms.duration_value is not None else INF  # 3.1
            rap_after = track.first_random_access_point_at_or_after(end) if end != INF else None  # 3.2
            if rap_after is not None:
                remove_end = rap_after
            split_at = self._keyframe_split_at(track, end, rap_after)
            track.drop_bridges_in(start, self._split_reach(remove_end, end, split_at))  # chromium: the range splits again
            doomed = track.indexes_starting_in(start, remove_end)  # 3.3
            if self.profile.removal_stops_at_its_keyframe and rap_after is not None:
                # DEVIATION (chromium profile): only what precedes that keyframe in decode order goes.
                doomed = doomed[doomed < track.keyframe_index(rap_after)]
            last_appended_pts = track.pts_where_dts_is(doomed, track.last_decode_timestamp)  # 3.3.1
            if self._takes_last_appended_gop(track, start, remove_end):  # SourceBufferStream::UpdateLastAppendStateForRemove
                track.stream_last_dts = track.sequence_highest_pts = track.last_appended_pts = None
            removed = track.remove_with_dependants(doomed)  # 3.4
            if removed and split_at is not None and self.profile.range_starts_at_its_first_frame:
                # DEVIATION (chromium profile): the range splits at that keyframe, which begins the new range.
                index = track.keyframe_index(split_at)
                if index < len(track):
                    track.head(track.frame(index).dts, split_at)
            if splits and split_at is not None and self.profile.removal_splits_its_range:
                track.cut(split_at)  # DEVIATION (chromium profile): the range stays split at that keyframe
            if last_appended_pts is not None and not self.profile.removal_keeps_append_state:
                self._new_coded_frame_group(last_appended_pts)  # 3.3.1-3.3.5
        self.host.mirror(lambda element: element.media_source_changed(removal=True))  # 3.5
        if self.buffer_full_flag and self._within_quota():  # 4
            self.buffer_full_flag = False

    @staticmethod
    def _takes_last_appended_gop(track: TrackBuffer, start: Time, remove_end: Time) -> bool:
        """Does a removal of [start, remove_end) reach the GOP last appended to the track? Then the stream forgets its
        last append: eviction no longer spares that GOP, nor what precedes it from the back."""
        last = track.last_appended_pts
        if last is None:
            return False
        keyframe = track.rap_pts_at_or_before(last)
        return start <= last and remove_end > (keyframe if keyframe is not None else last)

    def coded_frame_eviction(self, new_data_size: int) -> None:
        """#sourcebuffer-coded-frame-eviction, with the UA's choice of what to drop made as Chromium does
        (SourceBufferStream::GarbageCollectIfNeeded): when the last append lies behind the playback position, first
        the GOPs after it up to the position, and the front then stops at the range appended to (what a page
        prebuffers there stays); whole GOPs from the front up to the one holding the position; then from the back."""
        if self.profile.per_stream_quota:  # chromium: only the appended chunk counts, not what its parser holds
            self.buffer_full_flag = not self._evict_per_stream(new_data_size)
            return
        new = new_data_size + len(self.input_buffer)
        quota = self._quota()
        if new > quota:  # the chunk alone cannot fit
            self.buffer_full_flag = True
            return
        if self._bytes() + new <= quota:
            self.buffer_full_flag = False  # 2
            return
        media_time = self.host.media_time()
        need = self._bytes() + new - quota
        for track in self.track_buffers.values():
            need -= self._evict_up_to_position(track, media_time, need)
        if need > 0:
            for track in self.track_buffers.values():
                need -= self._evict_back(track, media_time, need)
        self.buffer_full_flag = need > 0

    def _evict_per_stream(self, new: int) -> bool:
        """chromium (per_stream_quota, SourceBufferState::EvictCodedFrames): the new bytes are shared among the
        streams in proportion to what each holds, and each stream makes room for its share under its own limit, from
        its own frames; True when every one could."""
        held = [(track, self._track_memory(track)) for track in self.track_buffers.values()]
        total = sum(size for _, size in held)
        if not total:
            return True
        media_time = self.host.media_time()
        fits = True
        for track, size in held:
            if not size:
                continue
            share, limit = new * size // total, self.profile.quota(track.kind)
            if share > limit:
                fits = False
                continue
            need = size + share - limit
            if need > 0:
                need -= self._evict_up_to_position(track, media_time, need, only=[track])
            if need > 0:
                need -= self._evict_back(track, media_time, need, only=[track])
            if need > 0 and track.seek_pending_at is not None:
                need -= self._evict_front_greedily(track, need)
            fits &= need <= 0
        return fits

    def _evict_front_greedily(self, track: TrackBuffer, need: int) -> int:
        """chromium (eviction_while_seek_pending): whole GOPs from the front up to the last range's highest frame,
        keeping the GOP last appended (SourceBufferStream::FreeBuffers moves it to a range of its own)."""
        last, top = track.last_appended_pts, track.highest_pts
        if top is None:
            return 0

        def next_gop() -> Gop | None:
            gop = track.first_gop()
            if gop is not None and last is not None and gop[0] <= last < gop[1]:
                return track.gop_after(gop[0])
            return gop

        return self._free_gops(next_gop, lambda gop: gop[1] > top, need, [track])

    def _evict_up_to_position(self, track: TrackBuffer, media_time: Fraction, need: int,
                              only: list[TrackBuffer] | None = None) -> int:  # fmt: skip
        """GC steps 1 and 3: the GOPs between a last append behind the position and the position, then whole GOPs
        from the front up to the one holding the position, sparing the range appended to."""
        freed, front_limit = 0, media_time
        if track.read_from is not None:  # chromium: nor the GOP the stream is next read from (FirstGOPContainsNextBufferPosition)
            front_limit = min(front_limit, track.read_from)
        appended = track.last_appended_pts
        span = track.ranges(self.profile.merge_gap(track)).range_containing(appended) if appended is not None else None
        # Appending behind the position: the range last appended to ends before it (Chromium compares the position
        # with that range's buffered end, highest_buffered_end_time_in_append_sequence_).
        if appended is not None and span is not None and span[1] < media_time:
            freed += self._free_gops(lambda: track.gop_after(appended), lambda gop: gop[1] > media_time, need, only)
            front_limit = Fraction(span[0])
        return freed + self._free_gops(track.first_gop, lambda gop: gop[1] > front_limit, need - freed, only)

    def _evict_back(self, track: TrackBuffer, media_time: Fraction, need: int,
                    only: list[TrackBuffer] | None = None) -> int:  # fmt: skip
        """GOPs from the back, never the most recently appended one nor any before it, nor the one
        holding the playback position (mse-notes §12.1, GC step 4)."""
        floor = max(media_time, track.last_appended_pts if track.last_appended_pts is not None else media_time)
        return self._free_gops(track.last_gop, lambda gop: gop[0] <= floor, need, only, to_the_end=True)

    def _free_gops(self, next_gop: Callable[[], Gop | None], spared: Callable[[Gop], bool], need: int,
                   only: list[TrackBuffer] | None = None, to_the_end: bool = False) -> int:  # fmt: skip
        """Remove GOP after GOP (coded frame removal of its presentation interval, or of everything from its start)
        until `need` bytes of quota are free or the next one is `spared`; the quota freed."""
        freed = 0
        while freed < need:
            gop = next_gop()
            if gop is None or spared(gop):
                break
            before = self._bytes()
            self.coded_frame_removal(gop[0], INF if to_the_end else gop[1], only)
            freed += before - self._bytes()
        return freed

    def _within_quota(self) -> bool:
        if self.profile.per_stream_quota:
            return all(self._track_memory(t) <= self.profile.quota(t.kind) for t in self.track_buffers.values())
        return self._bytes() <= self._quota()

    def _bytes(self) -> int:
        return sum(self._track_memory(t) for t in self.track_buffers.values())

    def _track_memory(self, track: TrackBuffer) -> int:
        """What a track buffer's frames count against the quota (running counts, not a scan): their bytes, plus what
        the profile adds per frame and, where its stream parser rewrites frames, what that adds."""
        total = track.bytes + self._frame_overhead(track) * len(track)
        if self.profile.stream_parser_rewrites:  # chromium's MP4 parser: H.264 keyframes led by SPS/PPS
            total += track.annexb_parameter_sets * track.key_frames
        return total

    def _frame_overhead(self, track: TrackBuffer) -> int:
        """What each frame of the track counts against the quota besides its bytes (chromium's MP4 parser: AAC as ADTS)."""
        aac = self.profile.stream_parser_rewrites and track.codec.startswith("mp4a.40.") and isinstance(self.parser, IsoBmffParser)
        return self.profile.frame_memory_overhead + ADTS_HEADER * aac

    def _quota(self) -> int:
        kinds = {t.kind for t in self.track_buffers.values()}
        return sum(self.profile.quota(k) for k in kinds) or self.profile.quota(
            "video" if "video" in self.type else "audio"
        )

    # What scenario records show

    def attributes(self) -> dict:
        return {
            "updating": self.updating,
            "timestampOffset": self._attribute("timestampOffset"),
            "mode": str(self.mode),
            "appendWindowStart": self._attribute("appendWindowStart"),
            "appendWindowEnd": self._attribute("appendWindowEnd"),
        }

    def _attribute(self, name: str) -> float:
        """An attribute as the IDL reads it: the double the page set, while the algorithm has not moved the value
        since (Blink keeps it so; only the time it works with is in whole microseconds, chromium profile)."""
        if name in self._page_doubles:
            return self._page_doubles[name]
        held = {"timestampOffset": self.timestamp_offset, "appendWindowStart": self.append_window_start,
                "appendWindowEnd": self.append_window_end}[name]  # fmt: skip
        return to_idl_double(held)


@dataclass
class _BulkPlan:
    """Frames to store together, in the track's ticks."""

    dts: np.ndarray
    pts: np.ndarray
    duration: np.ndarray
    key: np.ndarray
    size: np.ndarray
    ends: np.ndarray  # pts + duration
    steps: np.ndarray  # DTS differences between consecutive frames
    first_seq: int = -1  # the first frame's place in the segment's order

