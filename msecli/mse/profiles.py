"""Where browsers depart from the letter of the spec: each departure one named switch, here only.

`spec` is the letter of the draft (with the choices mse-notes §13 recommends where it is silent);
`chromium` is Chromium's behaviour as mse-notes §12.1 describes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from msecli.mse.track_buffer import TrackBuffer
from msecli.timeline.time import Time, from_idl_double

MiB = 1024 * 1024


@dataclass(frozen=True)
class Profile:
    name: str
    # Range merging. spec: gaps smaller than 2 x the largest frame duration buffered close (the practice the spec's
    # note allows, mirroring the discontinuity rule); chromium: a range joins the one before when it starts within
    # its "fudge room" (2 x the max inter-buffer distance, at least 1 ms) of that one's highest frame start
    # (SourceBufferRange::IsNextInPresentationSequence; seen with msecli verify: a 50 ms gap at 30 fps stays).
    merge_by_fudge_room: bool
    # Per-SourceBuffer byte quotas (Chromium's desktop defaults for both profiles, configurable).
    audio_quota: int = 12 * MiB
    video_quota: int = 150 * MiB
    # What a buffered frame counts against the quota besides its bytes. spec: nothing (the quota is the UA's
    # choice); chromium: 104 bytes, its StreamParserBuffer object (StreamParserBuffer::GetMemoryUsage adds
    # sizeof(StreamParserBuffer) to the data size), and, as its MP4 parser rewrites frames for the decoders
    # (stream_parser_rewrites), 7 more for an AAC frame (an ADTS header) and, on an H.264 keyframe, the init
    # segment's SPS and PPS as Annex B NAL units. Measured with msecli verify, filling SourceBuffers from position
    # 0 with Chromium's own limits (default 12 MiB, and --mse-*-buffer-size-limit-mb=1): this alone reproduces,
    # append for append, where Chromium 156 starts throwing QuotaExceededError and what eviction then removes, for
    # AAC at 256 and 655 bytes a frame, Opus in MP4 (104), H.264 with 2 s GOPs (39-byte parameter sets) and
    # all-intra H.264 (35-byte ones): 730 s of 96 kbps AAC fill 12 MiB, not the 1043 s its bytes alone would.
    frame_memory_overhead: int = 0
    stream_parser_rewrites: bool = False
    # spec: the SourceBuffer's quota is the sum of its tracks' kinds' quotas, and eviction removes time ranges from
    # every track (coded frame removal); chromium: each stream has its own limit, the append's size is shared among
    # the streams in proportion to what each holds (SourceBufferState::EvictCodedFrames), and each stream frees its
    # own frames. Seen with msecli verify on muxed AAC + H.264 under a 1 MiB audio limit: the appends stop when the
    # audio stream is full (60 s), and eviction then trims audio and video each at its own frame boundaries.
    per_stream_quota: bool = False
    # chromium: an audio frame straddling appendWindowStart is cut forward to it, one straddling
    # appendWindowEnd is shortened (discard padding); the spec drops either whole.
    partial_audio_trimming: bool = False
    # Audio splice (§7.4) without crossfade. spec: the overlapped frame is replaced by a silence frame
    # up to the new frame; chromium: the overlapped frame's tail is trimmed instead (not for overlaps
    # under 1 ms; a frame starting at the same time replaces it).
    audio_splice_trims_tail: bool = False
    # chromium: MSE ignores in-band text tracks (its stream parsers drop them); the spec makes a TextTrack
    # and a text track buffer for each.
    ignores_text_tracks: bool = False
    # chromium: every time is a whole number of microseconds (base::TimeDelta): frame timestamps and
    # durations are converted from the track timescale truncating toward zero, and so are the doubles a page
    # gives (timestampOffset, the append window, remove()'s range); spec: exact.
    microsecond_timestamps: bool = False
    # chromium: an ISO BMFF media segment starts (append state PARSING_MEDIA_SEGMENT, which refuses mode and
    # timestampOffset changes) only once its whole moof has been read, when MP4StreamParser starts the
    # segment; spec: as soon as the bytes begin with one (a styp or moof box header). Seen with msecli verify.
    media_segment_starts_after_moof: bool = False
    # chromium: a top-level ISO BMFF box of a type it does not know is skipped (BoxReader only logs it), so bytes
    # from the middle of a segment are read as such boxes and waited for rather than refused; spec profile: only
    # the boxes the byte stream format names, anything else where a segment should start is an append error.
    # Seen with msecli verify (partial-segment-then-abort, step 8).
    unknown_top_level_boxes_skipped: bool = False
    # The media element's HAVE_ENOUGH_DATA: spec, a UA heuristic (here: 3 s buffered ahead, or the end of an
    # ended stream); chromium: once its renderers have prerolled, 200 ms ahead (AudioRendererAlgorithm's
    # starting capacity), and before that nothing above HAVE_METADATA (seen with msecli verify: 4 with 2 s
    # ahead, paused; 1 with 85 ms of audio).
    enough_data_ahead: Fraction = Fraction(3)
    enough_data_is_preroll: bool = False
    # chromium: video has enough once this many of its frames lie ahead (VideoRendererImpl's buffering cap,
    # limits::kMaxVideoFrames), whatever they span; with audio too, both must have enough. Seen with msecli verify:
    # five VP9 frames (0.167 s) of a Cluster appended in part, paused at 0, read HAVE_ENOUGH_DATA.
    video_enough_frames: int | None = None
    # chromium: playback from the very start (0) begins when the first buffered range starts within 1 s of it
    # (kSeekToStartFudgeRoom); spec: position 0 must be buffered. Seen with msecli verify on a stream whose
    # first frame is at 0.086 s: Chromium plays, the spec profile waits.
    start_gap_tolerance: Fraction = Fraction(0)
    # chromium: a paused element's readyState does not drop when buffered data goes (remove() under the
    # playhead): the pipeline keeps the frame it prerolled, and only playing can underflow; spec: SourceBuffer
    # monitoring lowers it at once. Seen with msecli verify (abort-during-remove).
    paused_ready_state_holds: bool = False
    # chromium: every seek lowers readyState to HAVE_METADATA (WebMediaPlayerImpl::DoSeek), so a seek into
    # buffered data still ends with seeked, canplay, (playing,) canplaythrough, and one while playing fires
    # waiting; spec: only a seek into unbuffered time lowers it (§10.2). Seen with msecli verify
    # (seeks-within-buffered).
    seek_lowers_ready_state: bool = False
    # chromium: endOfStream() with nothing buffered leaves the duration alone (ChunkDemuxer::
    # DecreaseDurationIfNecessary returns when the highest buffered end is zero); spec: the duration becomes the
    # highest end time, 0. Seen with msecli verify (chromium-end-of-stream-with-nothing-buffered).
    end_of_stream_keeps_duration_when_empty: bool = False
    # The playbackRate values the element supports besides 0 (HTML: others throw NotSupportedError). chromium:
    # [1/16, 16] (HTMLMediaElement's kMinRate, kMaxRate); spec: any rate >= 0, the simulated element playing
    # forwards only. Seen with msecli verify (playback-rates).
    playback_rates: tuple[Time, Time] = (Fraction(0), math.inf)
    # chromium: a MediaSource's object URL resolves to it only until it has been attached once: a later load of
    # the URL (element.load(), another element's src) fetches it as an ordinary resource, which fails with
    # MEDIA_ERR_SRC_NOT_SUPPORTED and leaves the MediaSource closed; spec: the URL attaches the closed MediaSource
    # again. Seen with msecli verify (load-after-attach).
    object_url_resolves_once: bool = False
    # chromium: once the worker that owns the MediaSource is terminated, its demuxer reports the end of every
    # stream: playback, as soon as it runs, ends (currentTime becomes the duration; pause, ended) and never runs
    # again; spec (mse-notes §3.4): the element plays what its pipeline holds, then stalls. Seen with msecli
    # verify (chromium-terminated-worker-ends-playback).
    worker_termination_ends_playback: bool = False
    # chromium: a WebM Opus frame lasts what its packet decodes to (the TOC byte, RFC 6716 §3.1), not its
    # BlockDuration or DefaultDuration (WebMClusterParser prefers the encoded duration); spec: the container's
    # durations. Seen with msecli verify: a last 7 ms BlockDuration on a 20 ms packet ends the range 13 ms later.
    webm_opus_packet_durations: bool = False
    # chromium: an append is parsed in steps of 128 KiB (StreamParser::kMaxPendingBytesPerParse), and each step hands
    # on the frames of the WebM Cluster blocks it completed, less those still waiting for a duration or held behind
    # one (WebMStreamParser::ParseCluster, WebMClusterParser::GetBuffers); coded frame processing, and with it the
    # duration change, runs once per step. spec: the segment parser loop may run coded frame processing on any part
    # of a segment, and msecli's reads a Cluster it holds whole at once. Seen with msecli verify: a 136 KB VP9 Cluster
    # that grows the duration fires durationchange twice, a 298 KB one three times.
    webm_cluster_parsed_in_steps: bool = False
    # chromium: an append that grows the duration fires durationchange before the readyState events it causes
    # (FrameProcessor updates the duration as it processes frames; readyState follows later, from the pipeline);
    # spec: §7.3 raises readyState first, then runs the duration change. Seen with msecli verify (in most runs: the
    # two reach the element in separate tasks, and now and then Chromium delivers the readyState events first).
    duration_grows_before_ready_state: bool = False
    # chromium: a generated-timestamps format's frames (audio/aac, audio/mpeg) carry the times its parser gives them,
    # the samples since the parser last handed frames on (MPEGAudioStreamParserBase: a batch is the frames one Parse()
    # call finds in its 128 KiB, cut short where metadata or a new configuration comes; bytes that are no frame, skipped
    # to where frames resume, do not cut it: ParseRust's ActionType::Skip), and coded frame processing
    # runs on those; after each batch, unless sequence mode re-anchored timestampOffset to another value, the offset
    # becomes its value before the batch plus the batch's end (SourceBufferState::OnNewBuffers). spec: a generated
    # frame's timestamps are 0 and step 21 moves the offset to each stored frame's end. Without an append window the
    # two buffer the same; with one, Chromium buffers what lies inside it (edge frames trimmed) and the spec nothing.
    # Seen with msecli verify: an MP3 under [1.005, 2.013) reads [1.004999, 2.013], timestampOffset -0.076795; and
    # (chromium-adts-skipped-bytes-keep-the-batch) a frame completed by an append's first bytes, then bytes skipped,
    # then frames, is one batch: sequence mode's discontinuity comes a frame later than with two.
    generated_timestamps_as_parsed: bool = False
    # chromium: an audio decoder discards the codec delay its config carries at each start (AudioDiscardHelper): MP3
    # in audio/mpeg gets 529 samples (MPEG1AudioStreamParser's kCodecDelay), WebM its track's CodecDelay; so the audio
    # renderer's preroll needs that much more buffered ahead. spec: HTML leaves HAVE_ENOUGH_DATA to the user agent.
    # Seen with msecli verify: 44.1 kHz MP3 buffered to 0.209 s stays HAVE_METADATA and to 0.235 s reaches
    # HAVE_ENOUGH_DATA (24 kHz: 0.216 s, 0.240 s); WebM Opus (CodecDelay 6.5 ms) 0.201 s and 0.221 s; AAC in MP4, with
    # none, reaches it at 0.213 s.
    audio_codec_delay_discarded: bool = False
    # chromium: after a network or decode error the media pipeline is stopped: readyState no longer rises, so a
    # later seek (which lowers it) never completes; spec: HTML says nothing of seeks after such an error, and the
    # simulated element answers them from the buffered data. Seen with msecli verify (endOfStream('network')).
    error_stops_pipeline: bool = False
    # chromium: a duration the page sets before metadata (ms.duration = 5 right after sourceopen) shows on the
    # element at once, with durationchange, and reaching HAVE_METADATA fires durationchange again even when the
    # duration is the same; spec: HTML's duration reads NaN while no media data is available. Seen with msecli
    # verify (chromium-duration-before-metadata).
    duration_before_metadata: bool = False
    # chromium: running out of data while playing lowers readyState only to HAVE_CURRENT_DATA, with waiting
    # (WebMediaPlayerImpl answers its renderer's BUFFERING_HAVE_NOTHING so: the frame on show stays); only a seek
    # lowers it further. spec: SourceBuffer monitoring lowers it to HAVE_METADATA when the position is no longer
    # buffered (remove() under a playing playhead). Seen with msecli verify.
    underflow_keeps_current_data: bool = False
    # chromium: with audio and video, video running out while the audio plays on is reported only if it lasts
    # this long (RendererImpl's video_underflow_threshold_, kDefaultVideoUnderflowThresholdMs = 3000): playback
    # runs on over the audio, through a hole in the video, then stalls (HAVE_CURRENT_DATA, waiting). The video
    # stream waits where it ran out: only data from there on resumes it, not data appended further ahead.
    # spec: None, playback runs only over the intersection of the buffered ranges. Seen with msecli verify.
    video_underflow_threshold: Fraction | None = None
    # chromium: a position up to one fudge room (the merge gap: twice the track's largest inter-buffer distance)
    # before the start of each stream's next range counts as buffered (SourceBufferStream::CanSeekTo): a seek there
    # completes, and playback runs on across the gap. spec: only buffered positions are. Seen with msecli verify: on
    # 30 fps video buffered from 4, a seek to 3.98 completes, one to 3.9 waits.
    seek_fudge_before_ranges: bool = False
    # chromium: the element's `ended` is its pipeline's (HTMLMediaElement::EndedPlayback asks
    # WebMediaPlayerImpl::IsEnded). After endOfStream(), a paused element whose renderers have at most one video
    # frame and no audio frame left past the position has ended: VideoRendererImpl fires its ended callback when
    # time is stopped and it holds at most one frame, an audio renderer holding only the end of stream has ended
    # too. What the renderers hold is what they have read since the last seek or pause, frames removed since
    # included (Chromium: remove() of everything then endOfStream() is not ended). Checked when a seek completes and
    # when the end of stream arrives, paused; no `ended` event (OnEnded notifies the element only while playing); it
    # holds, appends and a reopened MediaSource included, until the next seek, and play() then starts over at 0 (HTML's play() on an ended element). spec: ended playback is the
    # position at the end of the duration. Seen with msecli verify: on 30 fps video ending at 4, a paused seek to
    # 3.99 reads ended, one to 3.95 (two frames left) does not.
    paused_pipeline_ends_at_last_frame: bool = False
    # chromium: an append overlapping the middle of a GOP removes the rest of that GOP up to the next keyframe, as
    # the spec's step 15 does, but the range from that keyframe on then starts at the end of the new frames
    # (SourceBufferStream::RemoveInternal splits the range at the first keyframe at or after the end of the appended
    # frames, and SourceBufferRange::SplitRange starts the new range at that end). So buffered shows no gap where
    # the removed frames were, and playback runs across it. spec: the gap is buffered's. Seen with msecli verify: 2 s
    # GOPs buffered [0, 8), the GOP [2, 4) appended at [1, 3) reads [0, 8) where the spec has [0, 3) [4, 8).
    split_range_starts_at_overlap_end: bool = False
    # chromium: an MP4 track's edit list moves its presentation times only: TrackRunIterator adds the first edit's
    # media_time to the composition offsets and leaves the fragment's decode times as they are. spec profile (as
    # FFmpeg applies it): the edit moves both, so a B-frame delay edit gives DTS from minus the delay.
    mp4_decode_times_ignore_edit_list: bool = False
    # chromium: a media segment's frames go through coded frame processing in decode order across its tracks,
    # audio tracks' first where decode times tie (StreamParser's MergeBufferQueues). spec: in the order the segment
    # holds them (an MP4 fragment's track runs one after another).
    muxed_frames_in_decode_order: bool = False
    # chromium: a coded frame group starts at the first frame stored in it, across the SourceBuffer's tracks, and
    # every stream's range opened in the group starts there, not at the stream's own first frame
    # (FrameProcessor::NotifyStartOfCodedFrameGroup; SourceBufferStream opens a range at the earlier of the two).
    # spec: a track's range starts at its own first frame. Seen with msecli verify: a muxed H.264 + AAC segment
    # whose AAC priming frame lands at 79.978667 and whose video starts at 80 is buffered from 79.978667.
    group_start_opens_every_range: bool = False
    # chromium: in an MP4 SourceBuffer whose init segment has audio and video, a fragment's frames are processed only
    # once all its sample data is in (MP4StreamParser::HaveEnoughDataToEnqueueSamples); with one kind of track, each
    # as its bytes arrive, as the spec's segment parser loop does for both. Seen with msecli verify.
    muxed_mp4_waits_for_whole_fragment: bool = False
    # chromium: an MP4 fragment's samples are read at their offsets from the moof, whatever boxes lie between: a box
    # other than mdat after the moof, or sample data past the first mdat, is no error, and a fragment whose samples
    # lie past the bytes appended so far waits for them (MP4StreamParser::EnqueueSample; ReadAndDiscardMDATsUntil
    # skips whole boxes until past the last sample). spec: one or more mdats follow the moof and hold every sample.
    # Seen with msecli verify: a segment cut inside its moof, then the next segment, whose bytes end the moof: Chromium
    # waits in the segment (timestampOffset throws) where the spec's parser finds no mdat after the moof.
    mp4_samples_read_by_offset: bool = False
    # chromium: an MP4 sample whose flags give sample_depends_on the reserved value 3 is an append error, raised when
    # the moof is read ("Reserved value used in sample dependency info", TrackRunIterator's PopulateSampleInfo); spec:
    # the sample flags say only which samples are random access points. Seen with msecli verify: a segment cut inside
    # its moof, then the start of the next one, whose bytes end the moof as garbage sample flags.
    mp4_reserved_sample_dependency_refused: bool = False
    # chromium: an MP4 box of size 0 (running to the end) or of 2^31 bytes or more, at the top level or in a moof or
    # traf, is a parse error (BoxReader::ReadHeader), where an unknown box of any other size is skipped; spec profile:
    # size 0 runs to the end of the data so far (or of the parent), and any 64-bit size is read. Seen with msecli
    # verify: the tail of an mdat appended after abort() whose first word reads 2207522143 is an append error; so is
    # a moof cut short and completed by the next segment's bytes, where a size-0 header comes after its first traf.
    mp4_box_size_limits: bool = False
    # chromium: after endOfStream('decode' or 'network'), an append error included, SourceBuffer.buffered does not take
    # the "ended" rule (ChunkDemuxer's state is a parse error, not ENDED): each track's last range keeps its own end.
    # The element's buffered still does (Blink's MediaSource applies it from its own readyState, "ended"); seen with
    # msecli verify: video [0, 0.933333] and audio [8.5, 9.758666] read [8.5, 9.758666] on the element.
    # spec: readyState "ended" is enough. Seen with msecli verify: a muxed SourceBuffer with video to 3.999999 and
    # audio to 3.989333 reads [0, 3.989333] after an append error.
    error_end_of_stream_keeps_ranges: bool = False
    # chromium: once an end of stream came with an error (endOfStream('decode'/'network') or an append error), a later
    # endOfStream() changes nothing but readyState and sourceended: the duration stays, buffered keeps no "ended" rule,
    # the element hears nothing (ChunkDemuxer::MarkEndOfStream returns in its PARSE_ERROR state, which nothing
    # leaves); spec: the end of stream algorithm runs in full. Seen with msecli verify: after an append error,
    # remove() reopens the MediaSource and endOfStream() leaves the duration at Infinity, where the spec sets it to
    # the buffered end, 4.866666, with durationchange.
    failed_demuxer_ignores_end_of_stream: bool = False
    # chromium: the duration setter takes a value below the highest buffered end time as it is, so long as it is not
    # below the highest buffered presentation timestamp (Blink's MediaSource::DurationChangeAlgorithm keeps the older
    # algorithm, without step 4's raise); spec: the new duration becomes the highest end time. Seen with msecli verify:
    # a muxed VP9 + Opus Cluster whose Opus ends at 4.001 under duration = 4 reads 4, not 4.001.
    duration_setter_below_buffered_end: bool = False
    # chromium: endOfStream() while paused before any preroll, with no frame at or after the position in any stream:
    # every stream's renderer gets the end at once (SourceBufferStream::IsEndOfStreamReached with no ranges, or past
    # the last), so the pipeline ends with enough data: HAVE_ENOUGH_DATA (loadeddata, canplay, canplaythrough) and
    # `ended` at the position, until the next seek; spec: nothing buffered at the position is HAVE_METADATA. Seen with
    # msecli verify: nothing appended after the init segment, then endOfStream(): ended at 0 of a 10 s duration.
    end_of_stream_with_nothing_to_play_ends: bool = False
    # chromium: after endOfStream(), a stream with no buffered data at or after the position has reached its end
    # (SourceBufferStream::IsEndOfStreamReached): its renderer no longer holds back readiness, seeks or playback, which
    # follow the other streams; spec: they follow the intersection of the buffered ranges (§9.2), empty when one
    # SourceBuffer is. Seen with msecli verify: video with nothing buffered, audio from 0 to 3.99, endOfStream():
    # HAVE_ENOUGH_DATA (loadeddata, canplay, canplaythrough), the element's buffered still empty.
    ended_streams_stop_holding_back: bool = False
    # chromium: past HAVE_NOTHING the element learns of a duration change from its media pipeline and reads the
    # duration the pipeline holds when the notice arrives (HTMLMediaElement::DurationChanged asks the player), so with
    # a MediaSource in a worker several changes in one append (a WebM Cluster's parse steps) show as one durationchange;
    # on the main thread each arrives before the next is made. spec: each run of the duration change algorithm mirrors
    # its own value. Seen with msecli verify: a 136 KB VP9 Cluster fires durationchange twice in a Window, once from a
    # worker.
    duration_read_on_arrival: bool = False
    # chromium: the largest inter-buffer distance (which sets the fudge room ranges merge within) also counts the
    # DTS step from the frame appended before a coded frame group that starts adjacent to the stream's append sequence
    # (SourceBufferStream keeps its last appended DTS then); spec profile: no step across a group's start. Seen with
    # msecli verify: a sequence-mode append whose frame follows 2 frame durations after the last one widened the fudge
    # room enough to join [0, 0.433333] and [0.5, 3.5].
    interbuffer_distance_across_adjacent_groups: bool = False
    # chromium: in a WebM Cluster, a block whose timecode is before the previous block's (of any track) is a parse
    # error, and so is a laced block (WebMClusterParser::OnBlock, ParseBlock); spec profile: blocks are taken in any
    # order, laced ones split into their frames. Seen with msecli verify for the first (two blocks of a muxed Cluster
    # swapped; a lone block with timecode -1 is accepted, whatever older sources say); lacing read from the source.
    webm_block_rules: bool = False
    # chromium: inside a WebM Cluster of known size, an element that is none of a Cluster's children (Timestamp,
    # SilentTracks, Position, PrevSize, BlockGroup, SimpleBlock, EncryptedBlock, Void, CRC-32) is a parse error as soon
    # as its header is read (WebMListParser::ParseListElement); spec profile: EBML readers skip elements they do not
    # know. Seen with msecli verify: a Cluster cut short, then the start of another, whose bytes complete the first's
    # block and leave a PixelWidth ID where the next child should begin.
    webm_unknown_cluster_child_rejected: bool = False
    # chromium: an MPEG audio frame header initialises (and its frame is read) only once the whole frame is in
    # (MPEGAudioStreamParserBase::ParseFrame); spec (MPEG audio byte stream format): every frame header is an
    # initialization segment. Seen with msecli verify: 100 bytes of an MP3 or 20 of an ADTS stream leave
    # readyState HAVE_NOTHING and duration NaN.
    mpeg_audio_init_waits_for_whole_frame: bool = False
    # chromium: a Layer III frame carrying a Xing or Info tag (the header an encoder writes for the stream's length)
    # initialises but is no coded frame (MPEG1AudioStreamParser::ParseHeader marks it a metadata frame); spec: it is
    # an MPEG audio frame like any other. Seen with msecli verify: a LAME-made MP3 buffers 26 ms less.
    mp3_info_frames_skipped: bool = False
    # chromium: an H.264 sample is a keyframe when its first slice is an IDR slice, or a non-IDR slice after a recovery
    # point SEI with recovery_frame_cnt 0, whatever the trun's sample flags say (AVC::AnalyzeAnnexB; the flags decide
    # only when no slice is reached); spec: the container's flags. Seen with msecli verify: with every sample flagged
    # sync, remove(5, 5.1) still removes up to the next IDR frame, at 6; an open GOP's I picture is a keyframe with
    # its recovery point, and with recovery_frame_cnt 1 or no recovery point its segment buffers nothing.
    h264_keyframes_from_bitstream: bool = False
    # chromium: an H.264 or HEVC sample must split exactly into its length-prefixed NAL units, none of length 0
    # (AVC::ConvertFrameToAnnexB), and an H.264 keyframe's first unit must have its forbidden bit clear
    # (AVC::InsertParamSetsAnnexB); otherwise the append fails ("Failed to prepare video sample for decode"). An
    # append is parsed in steps of 128 KiB (StreamParser::kMaxPendingBytesPerParse) and each step's frames are
    # processed at its end, so a fragment's frames that end in the steps before the failing one are buffered (for
    # one kind of track; with audio and video a fragment's frames wait for all of it). spec: a coded frame's bytes
    # are the decoder's business. Seen with msecli verify (a unit of length 0, one too long, 3 bytes left over, a
    # keyframe's forbidden bit; a sample 147 KB into a 1.2 MB segment); HEVC read from the source only.
    mp4_nal_samples_checked: bool = False
    # chromium: a range begun by a coded frame group's first frame (one that joins no range) starts at that frame's
    # PTS (SourceBufferRange::GetStartTimestamp), so the B-frames an open GOP presents before its I picture are stored
    # but not buffered there; spec: buffered is every stored frame's interval. Seen with msecli verify (x264 open GOPs).
    range_starts_at_its_first_frame: bool = False
    # chromium: range removal takes the frames presented in [start, remove end) only up to the keyframe it ends at, in
    # decode order (SourceBufferStream::RemoveInternal splits the range at that keyframe), so an open GOP's B-frames
    # decoded after it stay; spec: every frame presented in [start, remove end timestamp) (coded frame removal 3.3).
    # Seen with msecli verify: remove(3, 3.1) before an open GOP at 4 leaves [4, 5.9), not [4, 4.033).
    removal_stops_at_its_keyframe: bool = False
    # chromium: a coded frame group that starts inside a range (and does not continue the stream's append sequence)
    # starts 1 µs after the highest PTS decoded before the first frame presented after its start
    # (SourceBufferStream::OnStartOfCodedFrameGroup, "preserve continuity from that range to the new group"), so what
    # the overlap removal leaves of the range and the group's frames are one range, even across a gap wider than the
    # fudge room; spec: the gap stays. Seen with msecli verify: 2 s GOPs of B-frames at 138, then a segment at 139.75
    # read [138, 143.75), not [138, 139.667) [139.75, 143.75).
    group_start_joins_its_range: bool = False
    # chromium: each stream of the media pipeline has a seek that waits for data (SourceBufferStream::seek_pending_):
    # from when every SourceBuffer has its first init segment (ChunkDemuxer::OnSourceInitDone seeks every stream to 0)
    # and from each element seek, until an append buffers a range that can seek there (CanSeekTo: from its start less
    # the fudge room to its end; or a first range starting under 1 s, kSeekToStartFudgeRoom). While it waits, coded
    # frame eviction that the position and the back cannot satisfy frees whole GOPs from the front up to the last
    # range's highest frame (GarbageCollectIfNeeded: "greedily deleting from the front"), keeping the GOP last
    # appended; spec: nothing is freed after the position, the back, and QuotaExceededError. Seen with msecli verify: a
    # 1 MiB AAC stream never buffered at 0 frees 5 frames from its front rather than refusing the append.
    eviction_while_seek_pending: bool = False
    # chromium: an audio frame dropped wholly before appendWindowStart prerolls the next frame of its track kept, if
    # that one starts within a sample of its end (FrameProcessor::HandlePartialAppendWindowTrimming, SetPrerollBuffer),
    # and its memory counts against the quota with that frame's (StreamParserBuffer::GetMemoryUsage adds the preroll
    # buffer's); a new init segment forgets it. spec: a dropped frame is gone. Seen with msecli verify: AAC appended at
    # timestampOffset 0 (its priming frame before 0) under a 1 MiB quota makes back eviction free one frame more.
    audio_preroll_kept: bool = False
    # chromium: remove() splits a range at the keyframe its end moves on to only when that keyframe lies in the range
    # that holds the end (SourceBufferStream::Remove finds it with FindKeyframeAfterTimestamp, in that range alone; an
    # end in no range, or with no keyframe after it there, ends the removal at the end itself, and RemoveInternal
    # splits no range that starts at or after it; an end between a range's start and its first keyframe, where a coded
    # frame group opened the range early, counts as a keyframe itself, NextKeyframeTimestamp, and the range starts
    # there); the same frames go as under the spec's step 3.2. Seen with msecli verify: remove(0, 0.999) before a muxed
    # range [4, 7] leaves it whole, where splitting the audio, whose range begins at its coded frame group's start, at
    # its first keyframe 4.001 read [4.001, 7]; remove(1, 1.01) in a video range opened at 0 with its first keyframe at
    # 1.5 starts it at 1.01.
    removal_split_within_its_range: bool = False
    # chromium: a removal that takes the last frame appended leaves the frame processor as it was: group end timestamp,
    # last decode timestamp, last frame duration, highest end timestamp and need random access point flag
    # (SourceBufferState::Remove tells only the streams); spec §8.1 step 3.3: segments mode ends the coded frame group
    # at that frame's presentation timestamp, sequence mode starts the next where the last ended, and every track
    # buffer's append state is unset. Seen with msecli verify: in a muxed SourceBuffer, remove(2.029, Infinity) after
    # an append ending at 8.010665, then mode = "sequence": the next segment starts at 8.010664, timestampOffset
    # 4.021331 (the spec profile started it where the removed frame was presented).
    removal_keeps_append_state: bool = False
    # chromium: a range reads from its start to its highest frame end (SourceBufferStream::GetBufferedRanges), so a
    # hole inside one GOP's presentation is buffered: B-frames of a fragment appended in part and not in yet, a gap in
    # variable-rate video; spec: buffered is the frames' intervals, split where a hole is wider than the merge gap.
    # Seen with msecli verify: three frames of a GOP in read [11, 11.199999], where the spec's frames leave
    # [11, 11.066666] [11.166666, 11.199999].
    range_holds_whole_gops: bool = False
    # chromium: an init segment's tracks and the codecs of the last addSourceBuffer/changeType type pair off
    # (SourceBufferState::OnNewConfigs): each audio and video track takes one listed codec (vp9 and vp09.*, avc1 and
    # avc3 alike) and a listed codec no track takes is an error ("misses expected track"); an MP4 AAC track's esds
    # objectTypeIndication must be one the list names (0x40: mp4a.40.*, 0x67: mp4a.67; MP4StreamParser). spec: the
    # MAY of init segment received steps 3.1 and 5.1 only: a track whose codec the type does not list. Seen with
    # msecli verify: avc1+mp4a.40.2 over a video-only init segment, or mp4a.67 over MPEG-4 AAC, is an append error.
    init_codecs_strict: bool = False
    # chromium: remove() splits the range it crosses at the first keyframe at or after its end, whether or not frames
    # went (SourceBufferStream::Remove, RemoveInternal, SplitRange), and the two parts stay apart however close until
    # frames are next appended to the track (then ranges merge by the usual rule); spec: buffered is the frames'
    # intervals, gaps below the merge gap closed. Seen with msecli verify: remove(9.5, 9.51) in 20 ms Opus frames
    # reads [8.001, 9.501] [9.521, 10.021]; remove(6, 6.01) in AAC, which takes no frame, leaves a 1 µs gap.
    removal_splits_its_range: bool = False

    @property
    def reads_streams(self) -> bool:
        """Does the element read the media pipeline's streams (Source.streams), not only the buffered ranges?"""
        return self.video_underflow_threshold is not None or self.seek_fudge_before_ranges

    def merge_gap(self, track: TrackBuffer) -> Time:
        if self.merge_by_fudge_room:
            return 2 * max(track.max_interbuffer_distance, Fraction(1, 1000))
        return 2 * track.max_frame_duration

    def page_time(self, value: float) -> Time:
        """A double from the page (timestampOffset, appendWindowStart/End, remove()'s range) as this browser holds it."""
        if not self.microsecond_timestamps or math.isinf(value) or math.isnan(value):
            return from_idl_double(value)
        return Fraction(int(value * 1_000_000), 1_000_000)  # int() truncates toward zero, as saturated_cast

    def quota(self, kind: str) -> int:
        return self.video_quota if kind == "video" else self.audio_quota


SPEC = Profile("spec", merge_by_fudge_room=False)
# Not departures, whatever mse-notes §12.1 says of older versions: `msecli verify` shows Chromium 156 throwing
# InvalidStateError for abort() during remove() and for a duration below the buffered media, as the spec does.
CHROMIUM = Profile("chromium", merge_by_fudge_room=True, frame_memory_overhead=104, stream_parser_rewrites=True,
                   per_stream_quota=True,
                   partial_audio_trimming=True, audio_splice_trims_tail=True,
                   ignores_text_tracks=True, microsecond_timestamps=True, media_segment_starts_after_moof=True,
                   unknown_top_level_boxes_skipped=True,
                   enough_data_ahead=Fraction(1, 5), enough_data_is_preroll=True, video_enough_frames=4, start_gap_tolerance=Fraction(1),
                   paused_ready_state_holds=True, seek_lowers_ready_state=True,
                   end_of_stream_keeps_duration_when_empty=True, playback_rates=(Fraction(1, 16), Fraction(16)),
                   object_url_resolves_once=True, worker_termination_ends_playback=True,
                   webm_opus_packet_durations=True, webm_cluster_parsed_in_steps=True,
                   duration_grows_before_ready_state=True,
                   generated_timestamps_as_parsed=True, error_stops_pipeline=True, audio_codec_delay_discarded=True,
                   duration_before_metadata=True, underflow_keeps_current_data=True,
                   video_underflow_threshold=Fraction(3), seek_fudge_before_ranges=True,
                   paused_pipeline_ends_at_last_frame=True, split_range_starts_at_overlap_end=True,
                   mp4_decode_times_ignore_edit_list=True, muxed_frames_in_decode_order=True,
                   group_start_opens_every_range=True, muxed_mp4_waits_for_whole_fragment=True,
                   mp4_samples_read_by_offset=True, removal_split_within_its_range=True,
                   mp4_reserved_sample_dependency_refused=True,
                   removal_keeps_append_state=True, range_holds_whole_gops=True,
                   mp4_box_size_limits=True, error_end_of_stream_keeps_ranges=True, webm_block_rules=True,
                   failed_demuxer_ignores_end_of_stream=True, duration_setter_below_buffered_end=True,
                   end_of_stream_with_nothing_to_play_ends=True, ended_streams_stop_holding_back=True, duration_read_on_arrival=True,
                   interbuffer_distance_across_adjacent_groups=True,
                   webm_unknown_cluster_child_rejected=True,
                   mpeg_audio_init_waits_for_whole_frame=True, mp3_info_frames_skipped=True,
                   h264_keyframes_from_bitstream=True,
                   mp4_nal_samples_checked=True, range_starts_at_its_first_frame=True,
                   removal_stops_at_its_keyframe=True, init_codecs_strict=True,
                   removal_splits_its_range=True, group_start_joins_its_range=True,
                   eviction_while_seek_pending=True, audio_preroll_kept=True)  # fmt: skip
PROFILES = {p.name: p for p in (SPEC, CHROMIUM)}
