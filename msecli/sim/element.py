"""A simulated HTMLMediaElement on the Window (mse-notes §10): srcObject/src and the load algorithm,
networkState, readyState from the buffered data around currentTime, play()/pause(), playbackRate,
seeking, a playback clock that advances only over buffered data, waiting/stalls, ended, and the
events in firing order (with Chromium's order where HTML leaves it open)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Protocol

from msecli.mse.enums import HMEReadyState
from msecli.mse.errors import IDLTypeError, NotSupportedError
from msecli.mse.profiles import SPEC, Profile
from msecli.sim.loop import EventLoop, Timer
from msecli.timeline.ranges import EMPTY, TimeRanges, intersected_from_zero
from msecli.timeline.time import INF, Time, from_idl_double

if TYPE_CHECKING:
    from msecli.sim.attachment import EventLog
    from msecli.sim.decoder import DecoderModel

NETWORK_EMPTY, NETWORK_IDLE, NETWORK_LOADING, NETWORK_NO_SOURCE = range(4)
MEDIA_ERR_NETWORK, MEDIA_ERR_DECODE, MEDIA_ERR_SRC_NOT_SUPPORTED = 2, 3, 4
TIMEUPDATE_INTERVAL = Fraction(1, 4)  # Chromium fires timeupdate every 250 ms while playing
UNREPORTED = ("timeupdate", "progress", "suspend", "stalled")


class Source(Protocol):
    """What the element reads from its attachment (WindowAttachment or WorkerAttachment)."""

    element: Any
    duration_through_pipeline: bool

    def open(self) -> None: ...
    def detach(self) -> None: ...
    def buffered(self) -> TimeRanges: ...
    def playable(self) -> TimeRanges: ...
    def streams(self) -> dict[str, tuple[TimeRanges, Time]]: ...
    def seekable(self) -> TimeRanges: ...
    def media_source_ended(self) -> bool: ...
    def audio_decoder_delay(self) -> Time: ...
    def time_update(self, time: Fraction) -> None: ...
    def element_errored(self) -> None: ...
    def video_frames_between(self, start: Time, end: Time) -> int: ...
    def frames_left(self, position: Fraction) -> list[tuple[str, int]]: ...
    def video_track(self) -> Any: ...
    def demuxer_seek(self, time: Fraction) -> None: ...
    def renderers_read(self) -> None: ...


@dataclass
class PlaybackStats:
    first_playing: Fraction | None = None  # simulated time of the first `playing`
    stalls: list[list[Fraction]] = field(default_factory=list)  # [start, end or None]
    total_video_frames: int = 0
    dropped_video_frames: int = 0


class Element:
    def __init__(self, loop: EventLoop | None = None, name: str = "video", log: EventLog | None = None,
                 profile: Profile = SPEC) -> None:  # fmt: skip
        self.loop = loop if loop is not None else EventLoop()
        self.profile = profile  # where the element departs from the letter of HTML and MSE (Chromium's switches)
        self.name = name
        self.log = log
        self.resolve: Callable[[Any], tuple[Source | None, str | None]] | None = None  # provider -> (source, failure)
        self.ready_state = HMEReadyState.HAVE_NOTHING
        self.network_state = NETWORK_EMPTY
        self.duration: float = math.nan
        self._duration_exact: Time = math.nan  # the MediaSource's exact duration behind the double `duration`
        self._current_time_cache: tuple = (None, None, None, None, None)
        self.paused = True
        self.seeking = False
        self.playback_rate = Fraction(1)
        self.error: dict[str, Any] | None = None
        self.video_width = 0
        self.decoder: DecoderModel | None = None  # set by the workload: decode costs make frames late
        self._decoder_blocked_until: Fraction | None = None
        self._metadata_duration: Time = math.nan  # what duration becomes at HAVE_METADATA
        self._metadata_size: tuple[int, int] = (0, 0)
        self.video_height = 0
        self.events: list[str] = []
        self.listeners: list[Callable[[str], None]] = []  # the page's event handlers
        self.source: Source | None = None
        self.src_object: Any = None
        self.all_data = False
        self.stats = PlaybackStats()
        self._loaded_data = False
        self._prerolled = False  # chromium: the renderers have prerolled since the load or the last seek
        self._default_start = Fraction(0)  # currentTime set before HAVE_METADATA
        self._pipeline_ended = False  # chromium: the worker feeding the pipeline is gone; playing ends it
        self._ended_while_paused = False  # chromium: the renderers ran out while paused (until the next seek)
        self._renderers_held_more = False  # chromium: paused, they have held more than one frame since the last seek
        self._video_ran_out_at: Fraction | None = None  # chromium: where the video stream waits while audio plays
        self._video_underflow_due: Fraction | None = None  # chromium: when that underflow is reported (None: it was)
        self._video_underflow_timer: Timer | None = None  # reports it then, playing or paused
        self._position = Fraction(0)  # the official playback position when _anchor is None
        self._anchor: Fraction | None = None  # simulated time at which playback last resumed from _position
        self._wake: Timer | None = None
        self._next_timeupdate: Fraction = Fraction(0)
        self.stop_at: Fraction | None = None  # scripted "play until": pause on reaching it

    # Events

    def fire(self, event: str) -> None:
        self.events.append(event)
        if self.log is not None:
            self.log.add(self.loop.now, self.loop.name, self.name, event)
        for listener in list(self.listeners):
            listener(event)

    # currentTime and the playback clock

    @property
    def current_time(self) -> Fraction:
        if self._anchor is None:
            return self._position
        now, cached = self.loop.now, self._current_time_cache
        # Read many times in one task: computed once per (clock time, playback anchor) by identity.
        if cached[0] is now and cached[1] is self._position and cached[2] is self._anchor and cached[3] is self.playback_rate:
            return cached[4]
        value = self._position + (now - self._anchor) * self.playback_rate
        self._current_time_cache = (now, self._position, self._anchor, self.playback_rate, value)
        return value

    @property
    def ended(self) -> bool:
        """HTML "ended playback", direction forwards: at the end of a known duration. Not while seeking: the
        seek sets the position in parallel (HTML seek step 11), and Chromium's pipeline is not ended until the
        seek completes (seen with msecli verify: play() in the task of a seek to the end does not restart at 0).
        chromium (paused_pipeline_ends_at_last_frame): also once its paused renderers have run out, until a seek, while
        the duration is finite (HTMLMediaElement::EndedPlayback: never with an infinite duration)."""
        if self._ended_while_paused:
            return self.duration != INF
        return (self.ready_state >= HMEReadyState.HAVE_METADATA and not self.seeking and not math.isnan(self.duration)
                and self.current_time >= self._exact_duration())  # fmt: skip

    def _span_here(self, buffered: TimeRanges, position: Time) -> tuple[Time, Time] | None:
        """The buffered range playback at `position` runs in. A first range beginning within the profile's `start_gap_tolerance`
        of 0 (strictly: a range at 1.0 does not, seen with msecli verify) counts as starting at 0 (Chromium's
        kSeekToStartFudgeRoom, 1 s): playback runs through that gap."""
        span = _span_at(buffered, position)
        if span is None and buffered and 0 <= position < buffered.start(0) < self.profile.start_gap_tolerance:
            return Fraction(0), buffered.end(0)
        return span

    def _restart_decoder(self) -> None:
        if self.decoder is not None:
            self.decoder.restart(self.loop.now, self._position, self.source.video_track() if self.source else None)

    def _exact_duration(self) -> Time:
        """duration as the MediaSource holds it. Not the double converted back: a duration of 59999999 us
        reads 59.999999, a double a little above it, which playback ending there would never reach."""
        return self._duration_exact

    def _set_duration(self, exact: Time) -> None:
        self.duration, self._duration_exact = float(exact), exact

    def potentially_playing(self) -> bool:
        return (not self.paused and not self.ended and not self._stopped_due_to_errors() and not self.seeking
                and self.ready_state >= HMEReadyState.HAVE_FUTURE_DATA)  # fmt: skip

    def _stopped_due_to_errors(self) -> bool:
        """HTML's "stopped due to errors": an error that keeps the position from playing. Chromium's reading
        (HTMLMediaElement::StoppedDueToErrors): only when the position is not seekable; its stopped pipeline then
        keeps the clock still anyway (_pipeline_stopped)."""
        if self.error is None:
            return False
        if not self.profile.error_stops_pipeline or self.source is None:
            return True
        return not self.source.seekable().contains(self._position)

    def _pipeline_stopped(self) -> bool:
        return self.error is not None and self.profile.error_stops_pipeline

    def _settle(self) -> None:
        """Fold elapsed playback into _position, counting the video frames presented on the way."""
        if self._anchor is not None:
            now_position = self.current_time
            # While the video waits where it ran out (chromium), no frame of it is presented.
            if self.source is not None and now_position > self._position and self._video_ran_out_at is None:
                self.stats.total_video_frames += self.source.video_frames_between(self._position, now_position)
                if self.decoder is not None:
                    self.stats.dropped_video_frames += self.decoder.dropped_between(
                        self.source.video_track(), self._position, now_position, self._anchor, self._position,
                        self.playback_rate)
            self._position = now_position
            self._anchor = self.loop.now

    def _reschedule(self) -> None:
        """After any change: restart or stop the clock, and wake at the next thing that can happen."""
        self._settle()
        self.loop.cancel(self._wake)
        self._wake = None
        if not self.potentially_playing() or self._pipeline_stopped():
            self._anchor = None
            if self._playing_at_the_end():
                self._reached_end()  # e.g. a seek to the end while playing: playback reaches it at once
            return
        if self._pipeline_ended:
            self._anchor = None
            self._wake = self.loop.queue(self._pipeline_drained, background=True)
            return
        if self._anchor is None:
            self._anchor = self.loop.now
            if self.decoder is not None and not self.decoder.started:
                self._restart_decoder()
            self._next_timeupdate = self.loop.now + TIMEUPDATE_INTERVAL
        delay = max(self._next_timeupdate - self.loop.now, Fraction(0))
        if self.playback_rate > 0:  # at rate 0 the position stays put: only timeupdates are due
            delay = min(delay, (self._stop_position() - self._position) / self.playback_rate)
            resize_at = self._next_size_change()
            if resize_at is not None:
                delay = min(delay, (resize_at - self._position) / self.playback_rate)
        self._wake = self.loop.queue(self._on_wake, delay, background=True)

    def _next_size_change(self) -> Fraction | None:
        track = self.source.video_track() if self.source is not None else None
        return track.next_size_change(self._position) if track is not None else None

    def _playing_at_the_end(self) -> bool:
        """Everything of potentially playing but the end: playing would reach the end right away."""
        return (not self.paused and self.ended and self.error is None and not self._pipeline_ended
                and self.ready_state >= HMEReadyState.HAVE_FUTURE_DATA)  # fmt: skip

    def _stop_position(self) -> Fraction:
        """Where playback must stop on its own: the end of playable data, the duration, a scripted stop."""
        stops = []
        span = self._playable_span()
        if span is not None:
            stops.append(span[1])
        if not math.isnan(self.duration) and self.duration != math.inf:
            stops.append(self._exact_duration())
        if self.stop_at is not None and self.stop_at > self._position:
            stops.append(self.stop_at)
        if self._video_underflow_due is not None and self.playback_rate > 0:
            stops.append(self._position + (self._video_underflow_due - self.loop.now) * self.playback_rate)
        stop = min(stops, default=self._position)
        return Fraction(stop) if stop != INF else self._position

    def _playable_span(self, playable: TimeRanges | None = None) -> tuple[Time, Time] | None:
        """`playable`: the source's playable ranges, when the caller has them already."""
        if self.source is None:
            return None
        if self._video_waits():
            return self._audio_span() if self._video_underflow_due is not None else (self._position, self._position)
        return self._playable_span_at(self._position, playable)

    def _playable_span_at(self, position: Time, playable: TimeRanges | None = None) -> tuple[Time, Time] | None:
        assert self.source is not None
        span = self._span_here(self._playable() if playable is None else playable, position)
        if span is None and self.profile.seek_fudge_before_ranges:
            span = self._span_within_fudge(position)
        return span

    def _span_within_fudge(self, position: Time) -> tuple[Time, Time] | None:
        """chromium: every stream is buffered at `position`, or has a range starting within its fudge room after
        it (SourceBufferStream::CanSeekTo): playback runs from there to the first of those ranges' ends."""
        streams = self._streams()
        ends = []
        for ranges, fudge in streams.values():
            span = _span_at(ranges, position) or next(
                ((start, end) for start, end in ranges.spans() if position < start <= position + fudge), None)
            if span is None:
                return None
            ends.append(span[1])
        return (position, min(ends)) if ends else None

    def _streams(self) -> dict[str, tuple[TimeRanges, Time]]:
        return self.source.streams() if self.source is not None else {}

    def _streams_may_have_ended(self) -> bool:
        return self.profile.ended_streams_stop_holding_back and self.source is not None and self.source.media_source_ended()

    def _live_streams(self) -> dict[str, tuple[TimeRanges, Time]]:
        """The streams still to play from the position: chromium (ended_streams_stop_holding_back), after
        endOfStream(), not those with no data at or after it (their renderers have the end); all of them otherwise,
        or when every one is so."""
        streams = self._streams()
        if not self._streams_may_have_ended():
            return streams
        position = self._position
        live = {kind: s for kind, s in streams.items() if any(end > position for _, end in s[0].spans())}
        return live or streams

    def _playable(self) -> TimeRanges:
        """What playback, readiness and seeks run over: the source's playable ranges, or (ended_streams_stop_holding_back)
        those of the streams still to play, when some stream has ended."""
        assert self.source is not None
        if not self._streams_may_have_ended():
            return self.source.playable()
        live = self._live_streams()
        if len(live) == len(self._streams()):
            return self.source.playable()
        return intersected_from_zero([ranges for ranges, _ in live.values()],
                                     max(ranges.highest_end for ranges, _ in live.values()))  # fmt: skip

    # chromium: a video underflow deferred while the audio plays on (RendererImpl::OnBufferingStateChange)

    def _note_video_underflow(self) -> None:
        """Playing, where the audio goes on and the video has run out: the renderer defers reporting the video's
        underflow for the profile's threshold, and the clock runs on over the audio meanwhile."""
        threshold = self.profile.video_underflow_threshold
        if threshold is None or self._video_ran_out_at is not None or not self.potentially_playing():
            return
        streams = self._streams()
        if "audio" not in streams or "video" not in streams:
            return
        audio, video = (self._span_here(streams[kind][0], self._position) for kind in ("audio", "video"))
        if audio is None or audio[1] <= self._position or (video is not None and video[1] > self._position):
            return
        self._video_ran_out_at = self._position
        self._video_underflow_due = self.loop.now + threshold
        self._video_underflow_timer = self.loop.queue(self.monitor, threshold, background=True)

    def _video_waits(self) -> bool:
        """Is the video stream still waiting where it ran out? It stops once its data is back from there to past
        the position. The underflow is reported (the deferral ends) at the threshold, or at once if the audio
        runs out too."""
        if self._video_ran_out_at is None:
            return False
        streams = self._streams()
        back = "video" in streams and _span_at(streams["video"][0], self._video_ran_out_at)
        if "audio" not in streams or "video" not in streams or (back and back[1] > self._position):
            if back and self.source is not None:
                self._drop_late_video(self._video_ran_out_at)
            self._stop_waiting_for_video()
            return False
        if self._video_underflow_due is not None:
            audio = self._audio_span()
            if self.loop.now >= self._video_underflow_due or audio is None or audio[1] <= self._position:
                self._video_underflow_due = None
        return True

    def _stop_waiting_for_video(self) -> None:
        self.loop.cancel(self._video_underflow_timer)
        self._video_ran_out_at = self._video_underflow_due = self._video_underflow_timer = None

    def _video_underflow_reported(self) -> bool:
        return self._video_waits() and self._video_underflow_due is None

    def _drop_late_video(self, ran_out_at: Fraction) -> None:
        """The video resumes decoding at the first keyframe at or after where it ran out (the frames after it may
        have been replaced), and every frame from there to the position comes too late: dropped (seen with msecli
        verify: droppedVideoFrames grows by about that many)."""
        track = self.source.video_track() if self.source is not None else None
        resume = track.first_random_access_point_at_or_after(ran_out_at) if track is not None else None
        if resume is not None and resume < self._position:
            late = self.source.video_frames_between(resume, self._position)  # type: ignore[union-attr]
            self.stats.total_video_frames += late
            self.stats.dropped_video_frames += late

    def _audio_span(self) -> tuple[Time, Time] | None:
        streams = self._streams()
        return self._span_here(streams["audio"][0], self._position) if "audio" in streams else None

    def _on_wake(self) -> None:
        self._wake = None
        self._settle()
        self._show_frame_size()
        if self.loop.now >= self._next_timeupdate:
            self._next_timeupdate = self.loop.now + TIMEUPDATE_INTERVAL
            self._time_update()
        if self.stop_at is not None and self._position >= self.stop_at:
            self.stop_at = None
            self.pause()
            return
        if self.ended:
            self._reached_end()
            return
        self._update_ready_state()  # the clock is rescheduled once, below
        if self.potentially_playing() and self.stop_at is None and self._stop_position() <= self._position:
            self._set_ready_state(HMEReadyState.HAVE_CURRENT_DATA)  # nothing more to play here: a stall
        self._check_decoder()
        self._reschedule()

    def _check_decoder(self) -> None:
        """Decoder underflow: when the frame due now will be decoded more than `decoder.underflow` late, the
        renderer has nothing left to show: HAVE_CURRENT_DATA (waiting) until the decoder has it."""
        decoder = self.decoder
        if decoder is None or decoder.underflow is None or not self.potentially_playing() or self.source is None:
            return
        ready_at = decoder.ready_time(self.source.video_track(), self._position)
        if ready_at is not None and ready_at - self.loop.now > decoder.underflow:
            self._decoder_blocked_until = ready_at
            self._set_ready_state(HMEReadyState.HAVE_CURRENT_DATA)
            self.loop.queue(self.monitor, ready_at - self.loop.now)

    def source_context_destroyed(self) -> None:
        """chromium: the worker that owned the MediaSource is gone (WorkerAttachment keeps the ranges empty)."""
        self._pipeline_ended = True
        self._reschedule()

    def _pipeline_drained(self) -> None:
        """chromium, after the worker is gone: every stream has ended, so playing reaches the end of the media
        at once: currentTime reads the duration, then HTML's reaching-the-end steps."""
        self._wake = None
        self._settle()
        self._anchor = None
        if not math.isnan(self.duration):
            self._position = Fraction(self._exact_duration())
        self._reached_end()

    def _renderers_may_end(self) -> bool:
        """chromium (paused_pipeline_ends_at_last_frame): paused, with prerolled renderers that can run out."""
        return (self.profile.paused_pipeline_ends_at_last_frame and self.paused and not self.seeking
                and self.source is not None and self.ready_state >= HMEReadyState.HAVE_CURRENT_DATA)  # fmt: skip

    def _note_renderer_frames(self) -> None:
        """Paused, the renderers keep what they have read since the last seek or pause, removed data included:
        note once they hold more than the end check allows (two video frames, or any audio)."""
        if self._renderers_held_more or not self._renderers_may_end():
            return
        assert self.source is not None
        left = self.source.frames_left(self._position)
        self._renderers_held_more = not all(count <= (1 if kind == "video" else 0) for kind, count in left)

    def _check_renderers_ran_out(self) -> None:
        """When a seek completes or the end of stream arrives, paused (where Chromium's renderers check): with the
        stream ended and at most one video frame and no audio frame held, the pipeline has ended."""
        self._note_renderer_frames()
        if (self._renderers_may_end() and not self._renderers_held_more and self.source is not None
                and self.source.media_source_ended() and self.source.frames_left(self._position)):  # fmt: skip
            self._ended_while_paused = True

    def _time_update(self) -> None:
        self.fire("timeupdate")
        if self.source is not None:
            self.source.time_update(self.current_time)

    def _reached_end(self) -> None:
        """HTML: on reaching the end (forwards): timeupdate; if not paused, pause; then ended."""
        self._time_update()
        if not self.paused:
            self.paused = True
            self.fire("pause")
        self.fire("ended")
        self._reschedule()

    # Methods and setters a page uses

    def play(self) -> None:
        """HTML internal play steps."""
        if self.error is not None and self.error["code"] == MEDIA_ERR_SRC_NOT_SUPPORTED:
            return  # the promise is rejected with NotSupportedError; nothing else happens
        if self.ended:
            self.seek(Fraction(0))
        if self.paused:
            self.paused = False
            self.fire("play")
            if self.ready_state <= HMEReadyState.HAVE_CURRENT_DATA:
                self.fire("waiting")
                self._stall_started()
            else:
                self._notify_playing()
        self._reschedule()

    def pause(self) -> None:
        if not self.paused:
            self._settle()
            self.paused = True
            self._renderers_held_more = False  # playing used up what they had read
            self._time_update()
            self.fire("pause")
        self._reschedule()
        self._note_renderer_frames()

    def set_playback_rate(self, rate: float) -> None:
        """The playbackRate setter (HTML): unsupported values throw; ratechange only when the value changes."""
        if not math.isfinite(rate):
            raise IDLTypeError(f"playbackRate is a double: {rate} is not finite")
        low, high = self.profile.playback_rates
        if rate != 0 and not low <= rate <= high:
            raise NotSupportedError(f"the playback rate {rate} is not in the supported range")
        if Fraction(rate) == self.playback_rate:
            return
        self._settle()
        self.playback_rate = Fraction(rate)
        self.fire("ratechange")
        self._reschedule()

    def set_current_time(self, value: float) -> None:
        """The currentTime setter: before metadata, the default playback start position; else a seek."""
        if not math.isfinite(value):
            raise IDLTypeError(f"currentTime is a double: {value} is not finite")
        if self.ready_state == HMEReadyState.HAVE_NOTHING:
            self._default_start = Fraction(value)  # the default playback start position, sought at metadata
            self._position = self._default_start
            return
        self.seek(from_idl_double(value))

    def seek(self, target: Time) -> None:
        """HTML seek with the MSE extension (§10.2)."""
        self._settle()
        duration = self._exact_duration() if not math.isnan(self.duration) else INF
        target = max(Fraction(0), min(Fraction(target) if target != INF else Fraction(0), duration))  # type: ignore[arg-type]
        seekable = self.source.seekable() if self.source is not None else EMPTY
        if not seekable:
            self.seeking = False  # HTML seek step 10: nothing is seekable: no seek, and no seeking event
            return
        if not seekable.contains(target) and seekable.highest_end != target:
            target = _nearest(seekable, target)
        was_playing = self.potentially_playing()
        self.seeking = True
        self._ended_while_paused = self._renderers_held_more = False
        self._prerolled = False  # the decoders and renderers are flushed
        self._stop_waiting_for_video()
        self._position = Fraction(target)
        self._anchor = None
        self._restart_decoder()  # decoding starts over from the RAP before the target, from now
        self.fire("seeking")
        if self.source is not None:
            self.source.time_update(self._position)
            if self.profile.eviction_while_seek_pending:
                self.source.demuxer_seek(self._position)
        buffered = self._buffered_at(self._position)
        if (not buffered or self.profile.seek_lowers_ready_state) and self.ready_state > HMEReadyState.HAVE_METADATA:
            self.ready_state = HMEReadyState.HAVE_METADATA
            if was_playing:
                self.fire("waiting")
        if not buffered:
            self._reschedule()
            if self.profile.end_of_stream_with_nothing_to_play_ends:
                self.loop.queue(self._end_with_nothing_to_play)  # the seek may reach the end of every stream
            return  # wait for an append to raise readyState (media_source_changed)
        self.loop.queue(self.monitor)  # the decoders are reset and refilled; the seek completes in a later task
        self._reschedule()

    def _buffered_at(self, position: Fraction) -> bool:
        """Is there media data for this position (the "ended" rule makes the very end count)?"""
        if self.source is None:
            return False
        playable = self._playable()
        at_end = bool(playable) and self.source.media_source_ended() and position == playable.highest_end
        fudged = self.profile.seek_fudge_before_ranges and self._span_within_fudge(position) is not None
        return playable.contains(position) or at_end or fudged

    def _finish_seek(self) -> None:
        self.seeking = False
        self._time_update()
        self.fire("seeked")
        self._check_renderers_ran_out()

    def get_video_playback_quality(self) -> dict[str, int]:
        self._settle()
        return {"totalVideoFrames": self.stats.total_video_frames,
                "droppedVideoFrames": self.stats.dropped_video_frames, "corruptedVideoFrames": 0}  # fmt: skip

    # The load algorithm, resource selection and the MSE attach (§2.8)

    def set_source(self, provider: Any) -> None:
        """srcObject = provider (or src = an object URL): the load algorithm, then resource selection;
        the attach checks (§2.8.1) run asynchronously, in the resource fetch."""
        self.load_algorithm()
        self.src_object = provider
        if provider is None:
            self.network_state = NETWORK_EMPTY
            return
        self.network_state = NETWORK_LOADING
        self.fire("loadstart")
        self.loop.queue(lambda: self._resource_fetch(provider))

    def _resource_fetch(self, provider: Any) -> None:
        if self.src_object is not provider:
            return  # superseded by a later load
        assert self.resolve is not None
        source, failure = self.resolve(provider)
        if failure is not None or source is None:
            self._dedicated_media_source_failure(failure or "media data cannot be fetched")
            return
        self.source = source
        source.element = self
        source.open()

    def load(self) -> None:
        """load(): the load algorithm and resource selection again, with the same provider."""
        self.set_source(self.src_object)

    def load_algorithm(self) -> None:
        """HTML's media element load algorithm, the parts MSE can observe."""
        if self.network_state in (NETWORK_LOADING, NETWORK_IDLE):
            self.fire("abort")
        if self.network_state != NETWORK_EMPTY:
            self.fire("emptied")
            if self.source is not None:
                self.source.detach()  # §2.8.2, right before NETWORK_EMPTY
            self._settle()
            self.network_state = NETWORK_EMPTY
            self.source = None
            self.ready_state = HMEReadyState.HAVE_NOTHING
            self.paused = True
            self.seeking = False
            if self._position != 0:
                self._position = Fraction(0)
                self._time_update()
            self._set_duration(math.nan)
            self.video_width = self.video_height = 0
        self._metadata_duration = math.nan
        self._metadata_size = (0, 0)
        self.error = None
        self._loaded_data = self._prerolled = self._pipeline_ended = False
        self._ended_while_paused = self._renderers_held_more = False
        self._stop_waiting_for_video()
        # Media Playback Quality: the load algorithm resets the total and dropped video frame counts.
        self.stats.total_video_frames = self.stats.dropped_video_frames = 0
        self.all_data = False
        self._reschedule()

    def _dedicated_media_source_failure(self, message: str) -> None:
        """HTML's dedicated media source failure steps. The MediaSource is detached (Chromium: seen with
        msecli verify as sourceended, removesourcebuffer x2, sourceclose after endOfStream before metadata)."""
        self.error = {"code": MEDIA_ERR_SRC_NOT_SUPPORTED, "message": message}
        self.network_state = NETWORK_NO_SOURCE
        self.fire("error")
        if self.source is not None:
            self.source.detach()

    # Called by the core through mirror if necessary

    def duration_changed(self, new_duration: Time, by_page: bool = False,
                         latest: Callable[[], Time | None] | None = None) -> None:
        """`latest` (chromium, duration_read_on_arrival): the duration as the media pipeline holds it when the notice
        arrives, which past HAVE_NOTHING the element reads instead of the value the notice carried."""
        if latest is not None and self.ready_state != HMEReadyState.HAVE_NOTHING:
            new_duration = current if (current := latest()) is not None else new_duration
        value = float(new_duration)
        if self.ready_state == HMEReadyState.HAVE_NOTHING:
            self._metadata_duration = new_duration  # no media data yet: duration reads NaN until HAVE_METADATA
            if self.profile.duration_before_metadata and by_page and value != self.duration:
                self._set_duration(new_duration)  # chromium: a duration the page sets shows at once
                self.fire("durationchange")
            return
        if value == self.duration or (math.isnan(value) and math.isnan(self.duration)):
            self._duration_exact = new_duration
            return
        if self._pipeline_stopped() and self.source is not None and self.source.duration_through_pipeline:
            return  # chromium: the stopped pipeline delivers no duration change (a worker MediaSource's only way)
        self._settle()
        self._set_duration(new_duration)
        self.fire("durationchange")
        if new_duration != INF and self._position > new_duration:
            self.seek(new_duration)  # HTML: the position ends up past the end: seek to the end (mse-notes §2.3 step 6)
            return
        self._reschedule()

    def new_initialization_segment(self, video: Any) -> None:
        self._set_size(video)
        if self.ready_state > HMEReadyState.HAVE_CURRENT_DATA:
            self._set_ready_state(HMEReadyState.HAVE_METADATA)

    def all_initialization_segments_received(self, video: Any) -> None:
        self._set_size(video)
        if self.ready_state == HMEReadyState.HAVE_NOTHING:
            self._set_ready_state(HMEReadyState.HAVE_METADATA)
        self.monitor()

    def _set_size(self, video: Any) -> None:
        """The size HAVE_METADATA reports. Later init segments change nothing here: their size shows with their
        frames (_show_frame_size)."""
        if video is not None and video.width and self.ready_state == HMEReadyState.HAVE_NOTHING:
            self._metadata_size = (video.width, video.height)

    def _show_frame_size(self) -> None:
        """HTML: videoWidth and videoHeight are the size of the frame on show, and resize fires when it changes: a
        new init segment's size shows once playback or a seek reaches its frames (Chromium: seen with msecli
        verify, resize before seeked)."""
        track = self.source.video_track() if self.source is not None else None
        if track is None:
            return
        # Where the frame on show comes from: the position, or the start of the range it lies in the fudge room of.
        video = self._streams().get("video")
        size = track.size_at(_first_data_from(video[0] if video else self._playable(), self._position))
        if size is not None and size[0] and size != (self.video_width, self.video_height):
            self.video_width, self.video_height = size
            self.fire("resize")

    def _reach_metadata(self) -> None:
        """Leaving HAVE_NOTHING: the duration and video size known so far become visible, in Chromium's order
        (durationchange, resize, then loadedmetadata; resize even with no video track)."""
        metadata = float(self._metadata_duration)
        if not math.isnan(metadata) and (metadata != self.duration or self.profile.duration_before_metadata):
            self._set_duration(self._metadata_duration)
            self.fire("durationchange")  # chromium: fired here even when a duration set earlier already showed
        self.video_width, self.video_height = self._metadata_size
        self.fire("resize")

    def all_data_received(self) -> None:
        self.all_data = True
        self.monitor()
        self._check_renderers_ran_out()
        self._end_with_nothing_to_play()

    def _end_with_nothing_to_play(self) -> None:
        """chromium (end_of_stream_with_nothing_to_play_ends): paused before any preroll (or seeking), at the end of the
        stream with no frame at or after the position in any stream, every renderer gets the end at once: the pipeline
        has ended, with enough data (HAVE_ENOUGH_DATA and its events, `ended`; a seek completes), until the next seek."""
        if (not self.profile.end_of_stream_with_nothing_to_play_ends or not self.paused
                or self.ready_state != HMEReadyState.HAVE_METADATA or self.source is None or self.error is not None
                or not self.source.media_source_ended()):
            return
        left = self.source.frames_left(self._position)
        if left and not any(count for _, count in left):
            self._ended_while_paused = True
            self._set_ready_state(HMEReadyState.HAVE_ENOUGH_DATA)

    def media_source_error(self, kind: str) -> None:
        if self.ready_state == HMEReadyState.HAVE_NOTHING:
            self._dedicated_media_source_failure(f"endOfStream('{kind}') before metadata")
        else:
            code = MEDIA_ERR_DECODE if kind == "decode" else MEDIA_ERR_NETWORK
            self.error = {"code": code, "message": f"endOfStream('{kind}')"}
            self.network_state = NETWORK_IDLE
            self.fire("error")
        if self.source is not None:
            self.source.element_errored()
        self._reschedule()

    def media_source_changed(self, removal: bool = False) -> None:
        self.monitor()

    def source_ranges_changed(self) -> None:
        """A worker posted new ranges: the playback clock may now run further (or less far)."""
        self._reschedule()

    def monitor(self) -> None:
        """SourceBuffer monitoring (§10.3): readyState from the buffered data around the current position."""
        if self.ready_state == HMEReadyState.HAVE_NOTHING:
            return
        self._update_ready_state()
        self._reschedule()
        self._note_renderer_frames()

    def _update_ready_state(self) -> None:
        self._settle()
        self._note_video_underflow()
        new = self._ready_state_from_buffer()
        held = self.paused and not self.seeking and not self._video_underflow_reported()
        if self.profile.paused_ready_state_holds and held and new < self.ready_state:
            new = self.ready_state  # chromium: the prerolled frame stays; only a deferred video underflow comes
        if self.profile.underflow_keeps_current_data and not self.seeking and self.ready_state >= HMEReadyState.HAVE_CURRENT_DATA:
            new = max(new, HMEReadyState.HAVE_CURRENT_DATA)  # chromium: the frame on show stays
        self._set_ready_state(new)

    def _ready_state_from_buffer(self) -> HMEReadyState:
        if self.source is None:
            return HMEReadyState.HAVE_METADATA
        if self.error is not None and self.profile.error_stops_pipeline:
            return self.ready_state  # chromium: the stopped pipeline reports nothing new
        if self._decoder_blocked_until is not None:
            if self.loop.now < self._decoder_blocked_until:
                return HMEReadyState.HAVE_CURRENT_DATA  # the decoder has not caught up yet
            self._decoder_blocked_until = None
        buffered = self._playable()
        position = self._position
        if self._video_underflow_reported():
            return HMEReadyState.HAVE_CURRENT_DATA  # chromium: the video's underflow is reported
        span = self._playable_span(buffered)
        if span is None:
            return HMEReadyState.HAVE_METADATA
        ended = self.source.media_source_ended()
        ahead = span[1] - _first_data_from(buffered, position)  # a gap playback runs across holds no data
        if ended and span[1] >= buffered.highest_end:
            return HMEReadyState.HAVE_ENOUGH_DATA
        if self._enough_ahead(ahead, span[1]):
            return HMEReadyState.HAVE_ENOUGH_DATA
        if self.profile.enough_data_is_preroll and not self._prerolled:  # chromium: nothing before the renderers preroll (again after a seek)
            return HMEReadyState.HAVE_METADATA
        if ahead > 0:
            return HMEReadyState.HAVE_FUTURE_DATA
        return HMEReadyState.HAVE_CURRENT_DATA

    def _enough_ahead(self, ahead: Time, span_end: Time) -> bool:
        """HAVE_ENOUGH_DATA's buffered-ahead test. chromium (video_enough_frames): video needs that many frames ahead
        and audio its time ahead, each stream there is."""
        frames = self.profile.video_enough_frames
        if frames is None or self.source is None:
            return ahead >= self.profile.enough_data_ahead
        kinds = self._live_streams()
        delay, enough = self.source.audio_decoder_delay(), self.profile.enough_data_ahead
        if "audio" in kinds and ahead - delay < enough:
            # the audio renderer prerolls from the audio stream's own data, however soon the video ends
            audio = kinds["audio"][0]
            span = self._span_here(audio, self._position)
            ahead = span[1] - _first_data_from(audio, self._position) if span is not None else ahead
        if ("audio" in kinds or not kinds) and ahead - delay < enough:
            return False  # the audio renderer's preroll, of what its decoder outputs
        if "video" not in kinds:
            return True
        return (self.source.video_frames_between(self._position, span_end) >= frames
                or self.source.video_frames_between(self._first_frame_start(), span_end) >= frames)

    def _first_frame_start(self) -> Fraction:
        """Where the video frame shown at the position begins (the position, where no frame holds it): the video
        renderer counts that frame among those it has ahead."""
        track = self.source.video_track() if self.source is not None else None
        held = track.frame_containing(self._position) if track is not None else None
        return min(self._position, held[1].pts) if held is not None else self._position

    def _set_ready_state(self, new: HMEReadyState) -> None:
        """Chromium's HTMLMediaElement::SetReadyState event order."""
        old = self.ready_state
        was_playing = self.potentially_playing()
        if new == old and not (self.seeking and new >= HMEReadyState.HAVE_CURRENT_DATA):
            return
        self.ready_state = new
        if was_playing and new < HMEReadyState.HAVE_FUTURE_DATA:
            self._time_update()
            self.fire("waiting")
            self._stall_started()
        if new >= HMEReadyState.HAVE_CURRENT_DATA and (old < HMEReadyState.HAVE_CURRENT_DATA or self.seeking):
            self._show_frame_size()  # a frame is shown again
        if self.seeking and new >= HMEReadyState.HAVE_CURRENT_DATA:
            self._finish_seek()
        if old == HMEReadyState.HAVE_NOTHING and new >= HMEReadyState.HAVE_METADATA:
            self._reach_metadata()
            self.fire("loadedmetadata")
            start, self._default_start = self._default_start, Fraction(0)
            if start > 0:
                self.seek(start)  # HTML: a default playback start position above 0 is sought once metadata is known
        if new >= HMEReadyState.HAVE_CURRENT_DATA and self.decoder is not None and not self.decoder.started:
            self._restart_decoder()  # the first frame is there: decoding (preroll) begins
        if new >= HMEReadyState.HAVE_CURRENT_DATA:
            if not self._prerolled and self.source is not None and self.profile.eviction_while_seek_pending:
                self.source.renderers_read()
            self._prerolled = True
        if new >= HMEReadyState.HAVE_CURRENT_DATA and not self._loaded_data:
            self._loaded_data = True
            self.fire("loadeddata")
        if old <= HMEReadyState.HAVE_CURRENT_DATA and new >= HMEReadyState.HAVE_FUTURE_DATA:
            self.fire("canplay")
            if not self.paused and self.error is None:
                self._notify_playing()
        if new == HMEReadyState.HAVE_ENOUGH_DATA and old < new:
            self.fire("canplaythrough")

    def _notify_playing(self) -> None:
        self.fire("playing")
        if self.stats.first_playing is None:
            self.stats.first_playing = self.loop.now
        if self.stats.stalls and self.stats.stalls[-1][1] is None:
            self.stats.stalls[-1][1] = self.loop.now

    def _stall_started(self) -> None:
        """A stall is a `waiting` after playback first started (the startup wait is the startup delay)."""
        if self.stats.first_playing is not None and not self.seeking and not (
                self.stats.stalls and self.stats.stalls[-1][1] is None):  # fmt: skip
            self.stats.stalls.append([self.loop.now, None])  # type: ignore[list-item]

    # What a page reads

    def buffered(self) -> TimeRanges:
        return self.source.buffered() if self.source is not None else EMPTY

    def seekable(self) -> TimeRanges:
        return self.source.seekable() if self.source is not None else EMPTY


def _first_data_from(buffered: TimeRanges, position: Time) -> Time:
    """Where the buffered data at or after `position` begins: `position` itself when it is buffered."""
    for start, end in buffered.spans():
        if end > position:
            return max(start, position)
    return position


def _span_at(ranges: TimeRanges, position: Time) -> tuple[Time, Time] | None:
    """The range holding `position`, its end included: playback at a range's very end is still "in" it."""
    return next(((start, end) for start, end in ranges.spans() if start <= position <= end), None)


def _nearest(ranges: TimeRanges, target: Time) -> Time:
    """HTML: seek to the seekable position nearest the target (ties to the earlier)."""
    candidates = [edge for span in ranges.spans() for edge in span]
    return min(candidates, key=lambda edge: abs(Fraction(edge) - Fraction(target)))
