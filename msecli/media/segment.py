"""`msecli segment`: demux with PyAV, cut with packaging.cutter, write with packaging.layout."""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from msecli.errors import InputError
from msecli.formats import codecs
from msecli.formats.adts import parse_adts_header
from msecli.formats.isobmff.boxes import read_sample_entry
from msecli.formats.isobmff.write import InitTrack
from msecli.formats.webm.write import WebmTrack
from msecli.media.convert import Mp4Converter, sample_description
from msecli.media.direct_mp4 import DirectTrack, plan_direct
from msecli.media.source import Source, SourceTrack, first_timestamps, open_source, select_tracks
from msecli.media.truncation import byte_level_shortfall
from msecli.outdir import FileRange, check_destination, staged_output
from msecli.packaging.containers import choose_container
from msecli.packaging.cutter import Frames, SegmentCutter, TrackSegment, TrackSpec
from msecli.packaging.layout import Group, OutputTrack, WriteFile
from msecli.packaging.manifest import Manifest, seconds
from msecli.packaging.timestamps import DecodeTimestamps

Progress = Callable[[float, float | None], None]  # (seconds done, total seconds or None)

REORDERING_CODECS = {"h264", "hevc", "mpeg2video", "mpeg4", "vc1"}
# Formats whose AV1 payloads are already in MP4 form (no temporal delimiters, av1C in extradata).
MP4_FORM_INPUTS = ("mov", "mp4", "matroska", "webm", "flv")
OPUS_SEEK_PRE_ROLL_NS = 80_000_000
WEBM_CODEC_IDS = {"vp8": "V_VP8", "vp9": "V_VP9", "av1": "V_AV1", "opus": "A_OPUS", "vorbis": "A_VORBIS"}


@dataclass(frozen=True)
class SegmentOptions:
    duration: Fraction = Fraction(4)
    format: str = "auto"  # auto, mp4, webm
    muxed: bool = False
    tracks: str | None = None
    allow_truncated: bool = False
    reencode: bool = False


@dataclass
class SegmentResult:
    manifest: Manifest
    notes: list[str] = field(default_factory=list)


def segment(input_path: Path, out_dir: Path, options: SegmentOptions, *, force: bool = False,
            progress: Progress | None = None, source_name: str | None = None) -> SegmentResult:  # fmt: skip
    """Segment `input_path` into `out_dir`, which appears only once everything is written.
    `source_name` is what the manifest calls the input (default: its file name)."""
    source = open_source(input_path)
    try:
        if options.reencode:
            return _segment_reencoded(source, out_dir, options, force, progress)
        job = _Job(source, options, source_name or input_path.name)
        try:
            with staged_output(out_dir, force) as staging:
                result = job.run(staging.write, progress)
                staging.write("manifest.json", [result.manifest.to_json().encode()])
        finally:
            job.close()
        return result
    finally:
        source.close()


def _segment_reencoded(source: Source, out_dir: Path, options: SegmentOptions, force: bool,
                       progress: Progress | None) -> SegmentResult:  # fmt: skip
    from msecli.media.reencode import intermediate_format, reencode

    tracks = select_tracks(source, options.tracks)
    containers = _Job.containers_for(tracks, options)
    check_destination(out_dir, force)
    with tempfile.TemporaryDirectory(prefix="msecli-reencode-") as scratch:
        suffix = ".mp4" if intermediate_format(tracks) == "mp4" else ".mkv"
        intermediate = Path(scratch) / f"{source.path.stem}{suffix}"
        reencode(source, tracks, containers, options.duration, intermediate, progress)
        plain = dataclasses.replace(options, reencode=False, tracks=None)
        return segment(intermediate, out_dir, plain, force=force, source_name=source.path.name)


Row = tuple  # (pts, dts, keyframe, duration, payload, discard padding ns): one packet, as read
BATCH_PACKETS = 1024
DIRECT_WINDOW = 10.0  # seconds of sample table handed to the cutter at a time


@dataclass
class _TrackState:
    source: SourceTrack
    output: OutputTrack
    stream: av.stream.Stream
    to_ticks: tuple[int, int]  # (multiplier, divisor): output ticks = value * multiplier / divisor, rounded
    offset_ticks: int
    started: bool = False
    fast: bool = True  # packets go straight into rows; else through _slow_packet
    converter: Mp4Converter | None = None
    strip_adts: bool = False
    decode_timestamps: DecodeTimestamps[av.Packet] | None = None
    rows: list[Row] = field(default_factory=list)
    direct_next: int = 0  # fast path: the next sample table row to hand to the cutter
    packets: int = 0
    last_end: int = 0  # output ticks: the latest presentation end seen

    @property
    def end_seconds(self) -> Fraction:
        return Fraction(self.last_end, self.output.spec.timescale)


class _Job:
    def __init__(self, source: Source, options: SegmentOptions, source_name: str) -> None:
        self.source = source
        self.source_name = source_name
        self.options = options
        self.notes = list(source.ignored)
        selected = select_tracks(source, options.tracks)
        containers = self.containers_for(selected, options)
        timescales = {t.id: (1000 if containers[t.id] == "webm" else t.time_base.denominator) for t in selected}
        webm_shifts = {t.id: _webm_timestamp_shift(t) for t in selected if containers[t.id] == "webm"}
        self.direct = self._direct_plan(selected, containers)
        if self.direct is not None:
            firsts = {t.id: int(self.direct[t.id].pts[:16].min()) * t.time_base for t in selected}
        else:
            firsts = first_timestamps(source.path, selected)
        self.timeline_offset = _timeline_offset(timescales, firsts, webm_shifts)
        self.tracks: dict[int, _TrackState] = {}
        for track in selected:
            spec = TrackSpec(track.id, track.kind, timescales[track.id])
            output = OutputTrack(
                spec, containers[track.id], codecs="", webm_timestamp_shift=webm_shifts.get(track.id, 0)
            )
            self.tracks[track.stream_index] = _TrackState(
                source=track,
                output=output,
                stream=source.container.streams[track.stream_index],
                to_ticks=(track.time_base.numerator * spec.timescale, track.time_base.denominator),
                offset_ticks=int(self.timeline_offset * spec.timescale),
            )
        self.cutter = SegmentCutter([s.output.spec for s in self.tracks.values()], options.duration)
        self._close_after: list[Callable[[], None]] = []

    def close(self) -> None:
        for close in self._close_after:
            close()

    @staticmethod
    def containers_for(selected: list[SourceTrack], options: SegmentOptions) -> dict[str, str]:
        """Each track's output container; with --reencode, video counts as what it will become."""

        def codec(track: SourceTrack) -> str:
            if options.reencode and track.kind == "video":
                return "vp9" if options.format == "webm" else "h264"
            return track.codec

        if options.muxed:
            container = choose_container([codec(t) for t in selected], options.format)
            return {t.id: container for t in selected}
        return {t.id: choose_container([codec(t)], options.format) for t in selected}

    def run(self, write: WriteFile, progress: Progress | None) -> SegmentResult:
        outputs = [s.output for s in self.tracks.values()]
        if self.options.muxed:
            groups = [Group("muxed", outputs, write, muxed=True)]
        else:
            groups = [Group(o.spec.id, [o], write) for o in outputs]
        self.by_track = {o.spec.id: g for g in groups for o in g.tracks}
        total = float(self.source.duration) if self.source.duration else None
        if self.direct is not None:
            self._read_direct(self.direct, progress, total)
        else:
            self._read_packets(progress, total)
        self._deliver(self._add_rows())
        self._check_complete()
        self._deliver(self.cutter.finish())
        groups = self._leave_out_empty_tracks(groups)
        duration = max(s.end_seconds for s in self.tracks.values())
        entries = [g.close(float(duration)) for g in groups]
        if progress is not None:
            progress(float(duration), float(duration))
        self._note_long_gops()
        manifest = Manifest(
            source=self.source_name,
            duration=seconds(float(duration)),
            timelineOffset=seconds(float(self.timeline_offset)),
            tracks=entries,
        )
        return SegmentResult(manifest, self.notes)

    def _leave_out_empty_tracks(self, groups: list[Group]) -> list[Group]:
        """A stream that gave no packets at all has nothing to describe it: leave it out, with a note."""
        empty = [s for s in self.tracks.values() if not s.started]
        if len(empty) == len(self.tracks):
            raise InputError(f"{self.source.path}: no audio or video packets could be read")
        for state in empty:
            self.notes.append(
                f"the {state.source.id} track (stream {state.source.stream_index}) holds no packets: left out"
            )
        outputs = {id(s.output) for s in empty}
        for group in groups:
            group.tracks = [t for t in group.tracks if id(t) not in outputs]
        return [g for g in groups if g.tracks]

    def _read_packets(self, progress: Progress | None, total: float | None) -> None:
        """The general path: every packet through PyAV's demuxer."""
        for count, (state, packet) in enumerate(self._packets(), start=1):
            if not state.started:
                self._first_packet(state, packet)
            if state.fast:
                state.rows.append((packet.pts, packet.dts, packet.is_keyframe, packet.duration, memoryview(packet), 0))
            else:
                self._slow_packet(state, packet)
            if count % BATCH_PACKETS == 0:
                self._deliver(self._add_rows())
                if progress is not None:
                    progress(float(max(s.end_seconds for s in self.tracks.values())), total)
        for state in self.tracks.values():
            if state.decode_timestamps is not None:
                for ready, dts in state.decode_timestamps.flush():
                    self._slow_row(state, ready, dts)
            if state.converter is not None:
                state.converter.close()

    def _direct_plan(self, selected: list[SourceTrack], containers: dict[str, str]) -> dict[str, DirectTrack] | None:
        """Sample tables for the fast path, when every track is copied as it is into MP4."""
        for track in selected:
            if containers[track.id] != "mp4" or _needs_conversion(track, self.source.format_name):
                return None
            if track.codec == "aac" and not track.extradata:
                return None
            if track.codec in REORDERING_CODECS and not track.declared_frames:
                return None
        return plan_direct(self.source, selected)

    def _read_direct(self, plan: dict[str, DirectTrack], progress: Progress | None, total: float | None) -> None:
        """The fast path: sample tables in windows of DIRECT_WINDOW seconds, bytes as FileRanges."""
        fd = os.open(self.source.path, os.O_RDONLY)
        self._close_after.append(lambda: os.close(fd))
        file_size = os.fstat(fd).st_size
        states = list(self.tracks.values())
        for state in states:
            samples = plan[state.source.id]
            state.packets = _complete_samples(samples, file_size)
            if state.packets:
                self._first_packet(state, _packet(fd, samples, state.source.time_base))
        end = max(float(plan[s.source.id].dts[s.packets - 1] * s.source.time_base) for s in states if s.packets)
        window = 0.0
        while window <= end:
            window += DIRECT_WINDOW
            for state in states:
                samples = plan[state.source.id]
                limit = int(window / state.source.time_base)
                stop = min(int(np.searchsorted(samples.dts[: state.packets], limit)), state.packets)
                start = state.direct_next
                if stop > start:
                    state.direct_next = stop
                    self.cutter.add(state.output.spec.id, self._direct_frames(state, samples, fd, start, stop))
            self._deliver(self.cutter.process())
            if progress is not None:
                progress(min(window, end), total)

    def _direct_frames(self, state: _TrackState, samples: DirectTrack, fd: int, start: int, stop: int) -> Frames:
        pts = self._ticks(state, samples.pts[start:stop])
        durations = self._ticks(state, samples.durations[start:stop], offset=False)
        state.last_end = max(state.last_end, int((pts + durations).max()))
        offsets, sizes = samples.offsets[start:stop].tolist(), samples.sizes[start:stop].tolist()
        payloads: list = [FileRange(fd, offset, size) for offset, size in zip(offsets, sizes)]
        dts = self._ticks(state, samples.dts[start:stop])
        return Frames(dts, pts, samples.keyframes[start:stop], durations, payloads)

    def _packets(self) -> Iterator[tuple[_TrackState, av.Packet]]:
        streams = [s.stream for s in self.tracks.values()]
        tracks = self.tracks
        try:
            for packet in self.source.container.demux(streams):
                if not packet.size:
                    continue
                state = tracks[packet.stream_index]
                if packet.is_corrupt:
                    self._corrupt(state, packet)
                    continue
                state.packets += 1
                yield state, packet
        except av.FFmpegError as exc:
            where = max(s.end_seconds for s in self.tracks.values())
            raise InputError(f"{self.source.path}: unreadable after {float(where):.2f} s ({exc.strerror})") from None

    def _slow_packet(self, state: _TrackState, packet: av.Packet) -> None:
        """Packets that need more than copying: made-up DTS, ADTS headers, Annex B, DiscardPadding."""
        if packet.dts is None and packet.pts is not None and state.source.codec in REORDERING_CODECS:
            if state.decode_timestamps is None:
                state.decode_timestamps = DecodeTimestamps(state.source.id)
        if state.decode_timestamps is not None:
            pts = packet.pts if packet.pts is not None else packet.dts
            if pts is None:
                raise InputError(
                    f"{self.source.path}: a {state.source.id} packet at byte {packet.pos} has no timestamp"
                )
            for ready, dts in state.decode_timestamps.push(packet, pts):
                self._slow_row(state, ready, dts)
        else:
            self._slow_row(state, packet, packet.dts)

    def _slow_row(self, state: _TrackState, packet: av.Packet, dts: int | None) -> None:
        payload: bytes | memoryview = memoryview(packet)
        if state.strip_adts:
            payload = payload[parse_adts_header(payload).header_length :]
        if state.converter is not None:
            packet.dts = dts
            state.converter.push(packet)
            payload = b""  # FFmpeg's converted bytes take its place when the segment is finished
        padding = _discard_padding_ns(packet, state.source) if state.output.container == "webm" else 0
        state.rows.append((packet.pts, dts, packet.is_keyframe, packet.duration, payload, padding))

    def _add_rows(self) -> list[TrackSegment]:
        """Hand every track's rows read so far to the cutter, as columns in output ticks."""
        for state in self.tracks.values():
            if state.rows:
                frames = self._frames(state, state.rows)
                state.rows = []
                self.cutter.add(state.output.spec.id, frames)
        return self.cutter.process()

    def _frames(self, state: _TrackState, rows: list[Row]) -> Frames:
        pts_list, dts_list, keys, durations, payloads, paddings = zip(*rows)
        if None in pts_list:
            pts_list = tuple(p if p is not None else d for p, d in zip(pts_list, dts_list))
            if None in pts_list:
                raise InputError(f"{self.source.path}: a {state.source.id} packet has no timestamp")
        pts = self._ticks(state, np.array(pts_list, dtype=np.int64))
        if state.output.container == "webm":
            dts = pts
        elif None in dts_list:
            dts = self._ticks(
                state, np.array([d if d is not None else p for p, d in zip(pts_list, dts_list)], np.int64)
            )
        else:
            dts = self._ticks(state, np.array(dts_list, dtype=np.int64))
        own = np.array([d or 0 for d in durations], dtype=np.int64)
        ticks = self._ticks(state, own, offset=False)
        state.last_end = max(state.last_end, int((pts + ticks).max()))
        padding = {i: p for i, p in enumerate(paddings) if p}
        return Frames(dts, pts, np.array(keys, dtype=bool), ticks, list(payloads), padding)

    @staticmethod
    def _ticks(state: _TrackState, values: np.ndarray, offset: bool = True) -> np.ndarray:
        """Stream time-base units -> output ticks: exact when the timescale is the time base's denominator."""
        multiplier, divisor = state.to_ticks
        ticks = values * multiplier if divisor == 1 else (2 * values * multiplier + divisor) // (2 * divisor)
        return ticks - state.offset_ticks if offset else ticks

    def _deliver(self, segments: list[TrackSegment]) -> None:
        if not segments:
            return
        states = {s.output.spec.id: s for s in self.tracks.values()}
        for part in segments:
            converter = states[part.track].converter
            if converter is not None:
                payloads: list[bytes | memoryview] = list(converter.take(len(part.payloads)))
                part = dataclasses.replace(part, payloads=payloads)
            self.by_track[part.track].add(part)
        settled = self.cutter.settled()
        for group in {id(g): g for g in self.by_track.values()}.values():
            group.flush(settled)

    def _corrupt(self, state: _TrackState, packet: av.Packet) -> None:
        where = f"{state.source.id} packet at byte {packet.pos}" if packet.pos is not None else state.source.id
        if not self.options.allow_truncated:
            shortfall = self._shortfall_text()
            if shortfall:
                raise InputError(shortfall)
            raise InputError(f"{self.source.path}: corrupt {where} (FFmpeg flags it incomplete)")
        self.notes.append(f"dropped a corrupt {where}")

    def _first_packet(self, state: _TrackState, packet: av.Packet) -> None:
        state.started = True
        track, output = state.source, state.output
        if output.container == "mp4":
            extradata, payload = None, None
            if track.codec == "aac" and not track.extradata:
                header = parse_adts_header(memoryview(packet))
                state.strip_adts = True
                extradata, payload = header.audio_specific_config, memoryview(packet)[header.header_length :]
            stsd = sample_description(state.stream, packet, payload, extradata)
            if _needs_conversion(track, self.source.format_name):
                state.converter = Mp4Converter(state.stream, keep_payloads=True)
            state.fast = state.converter is None and not state.strip_adts
            entry, children = read_sample_entry(stsd)
            output.codecs = codecs.from_sample_entry(entry, children)
            output.mp4 = InitTrack(
                track_id=1,
                handler="vide" if track.kind == "video" else "soun",
                timescale=output.spec.timescale,
                stsd=stsd,
                width=track.width,
                height=track.height,
            )
        else:
            self._webm_track(state, packet)
            state.fast = track.kind == "video"  # audio may carry trailing-sample trims (DiscardPadding)
        if packet.dts is None and track.codec in REORDERING_CODECS:
            state.fast = False

    def _webm_track(self, state: _TrackState, packet: av.Packet) -> None:
        track, output = state.source, state.output
        private = track.extradata
        vpcc = None
        if track.codec in ("vp9", "av1"):
            _, children = read_sample_entry(sample_description(state.stream, packet))
            vpcc = children.get("vpcC")
            if track.codec == "av1":
                private = children["av1C"]
        if track.codec == "vorbis":
            private = xiph_laced(track.extradata)
        delay_ns = _opus_pre_skip(track) * 1_000_000_000 // 48000
        if track.codec == "vp9" and vpcc:
            private = codecs.vp9_codec_private(vpcc)
        output.codecs = codecs.from_webm(WEBM_CODEC_IDS[track.codec], private)
        output.webm = WebmTrack(
            number=1,
            kind=track.kind,
            codec_id=WEBM_CODEC_IDS[track.codec],
            codec_private=private if track.codec in ("opus", "vorbis", "av1", "vp9") else b"",
            width=track.width,
            height=track.height,
            sample_rate=float(track.sample_rate),
            channels=track.channels,
            codec_delay_ns=delay_ns,
            seek_pre_roll_ns=OPUS_SEEK_PRE_ROLL_NS if track.codec == "opus" else 0,
        )

    def _check_complete(self) -> None:
        """Fail (or, with --allow-truncated, warn) when the input ends before its headers say it should."""
        shortfall = self._shortfall_text()
        if shortfall is None:
            return
        if not self.options.allow_truncated:
            raise InputError(shortfall)
        self.notes.append(f"{shortfall.removesuffix(': truncated?')}: segmented what was there (--allow-truncated)")

    def _shortfall_text(self) -> str | None:
        missing = [s for s in self.tracks.values() if s.packets < s.source.declared_frames]
        reason = ", ".join(
            f"moov lists {s.source.declared_frames} {s.source.kind} samples, file holds {s.packets}" for s in missing
        ) or byte_level_shortfall(self.source.path, self.source.format_name)
        if not reason:
            return None
        ends_at = max(s.end_seconds for s in self.tracks.values())
        total = self.source.duration if self.source.format_name != "mpegts" else None  # a TS "duration" is a guess
        of_total = f" of {float(total):.2f} s" if total else ""
        return f"{self.source.path}: input ends at {float(ends_at):.2f} s{of_total} ({reason}): truncated?"

    def _note_long_gops(self) -> None:
        gop = self.cutter.longest_gop
        if gop > 2 * self.options.duration:
            self.notes.append(
                f"keyframes are up to {float(gop):.2f} s apart, more than twice the {float(self.options.duration):g} s "
                "target: segments run long (--reencode puts keyframes on the target grid)"
            )


def _complete_samples(samples: DirectTrack, file_size: int) -> int:
    """How many samples, from the first, lie wholly inside the file."""
    inside = samples.offsets + samples.sizes <= file_size
    return len(inside) if inside.all() else int(np.argmin(inside))


def _packet(fd: int, samples: DirectTrack, time_base: Fraction) -> av.Packet:
    """The first sample as a PyAV packet (for FFmpeg's sample description)."""
    packet = av.Packet(os.pread(fd, int(samples.sizes[0]), int(samples.offsets[0])))
    packet.pts, packet.dts, packet.time_base = int(samples.pts[0]), int(samples.dts[0]), time_base
    packet.is_keyframe = bool(samples.keyframes[0])
    return packet


def _needs_conversion(track: SourceTrack, format_name: str) -> bool:
    """Whether FFmpeg's muxer must rewrite the payloads: Annex B H.264/HEVC, AV1 outside MP4/Matroska."""
    if track.codec in ("h264", "hevc"):
        return track.extradata[:1] != b"\x01"
    if track.codec == "av1":
        return format_name.split(",")[0] not in MP4_FORM_INPUTS or not track.extradata
    return False


def _timeline_offset(timescales: dict[str, int], firsts: dict[str, Fraction], webm_shifts: dict[str, int]) -> Fraction:
    """Seconds subtracted from every timestamp, rounded to a tick every output timescale can express
    (so relative timing stays exact): the earliest track start when that is after 0; less, when a
    WebM track would otherwise start before 0, which WebM cannot say (then the offset is negative)."""
    common = math.gcd(*timescales.values())
    earliest = min(firsts.values(), default=Fraction(0))
    offset = Fraction(math.floor(earliest * common), common) if earliest > 0 else Fraction(0)
    for track_id, shift in webm_shifts.items():
        first = firsts.get(track_id)
        if first is None:
            continue
        first_tick = math.floor((first - offset) * 1000 + Fraction(1, 2)) + shift
        if first_tick < 0:
            offset -= Fraction(math.ceil(Fraction(-first_tick, 1000) * common), common)
    return offset


def _discard_padding_ns(packet: av.Packet, track: SourceTrack) -> int:
    """The samples FFmpeg says to drop from the end of this decoded frame, as nanoseconds."""
    if track.kind != "audio" or not track.sample_rate or not packet.has_sidedata("skip_samples"):
        return 0
    skip_end = int.from_bytes(bytes(packet.get_sidedata("skip_samples"))[4:8], "little")
    return skip_end * 1_000_000_000 // track.sample_rate


def _opus_pre_skip(track: SourceTrack) -> int:
    if track.codec != "opus" or len(track.extradata) < 12:
        return 0
    return int.from_bytes(track.extradata[10:12], "little")


def _webm_timestamp_shift(track: SourceTrack) -> int:
    """Milliseconds added to WebM block timestamps: the Opus pre-skip, rounded as FFmpeg's Matroska
    demuxer rounds the CodecDelay it subtracts again on reading."""
    return (_opus_pre_skip(track) * 1000 * 2 + 48000) // (2 * 48000)


def xiph_laced(extradata: bytes) -> bytes:
    """Vorbis headers as Matroska's CodecPrivate wants them: Xiph lacing. FFmpeg keeps them either
    laced already (starts with 0x02) or as three headers with 16-bit big-endian lengths."""
    if extradata[:1] == b"\x02":
        return extradata
    headers, offset = [], 0
    for _ in range(3):
        length = int.from_bytes(extradata[offset : offset + 2], "big")
        headers.append(extradata[offset + 2 : offset + 2 + length])
        offset += 2 + length
    lacing = b"".join(b"\xff" * (len(h) // 255) + bytes([len(h) % 255]) for h in headers[:2])
    return b"\x02" + lacing + b"".join(headers)
