"""Open an input with PyAV and describe its audio and video streams in msecli's terms."""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from msecli.errors import InputError, UsageError
from msecli.media.truncation import byte_level_shortfall


def open_input(path: Path) -> av.container.InputContainer:
    """PyAV's demuxer on `path`. Metadata is never used; latin-1 decodes any bytes (damaged tags made
    PyAV raise UnicodeDecodeError even with errors ignored)."""
    return av.open(str(path), "r", metadata_encoding="latin-1", metadata_errors="ignore")


@dataclass(frozen=True)
class SourceTrack:
    """An input stream msecli can segment; times are exact, in the stream's time base."""

    id: str
    stream_index: int
    kind: str  # "video" or "audio"
    codec: str  # FFmpeg codec name: h264, hevc, vp9, aac, opus, …
    time_base: Fraction
    start: Fraction | None  # seconds, as FFmpeg's probe found it
    declared_frames: int  # the container's sample count (MP4 `stsz`), 0 when unknown
    width: int = 0
    height: int = 0
    sample_rate: int = 0
    channels: int = 0
    extradata: bytes = b""


@dataclass
class Source:
    path: Path
    container: av.container.InputContainer
    format_name: str
    duration: Fraction | None  # seconds, from the container's header
    tracks: list[SourceTrack]
    ignored: list[str]  # notes about streams that are not audio or video

    def close(self) -> None:
        self.container.close()


def open_source(path: Path) -> Source:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a media file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: not readable")
    try:
        container = open_input(path)
    except UnicodeDecodeError:
        raise InputError(f"{path}: not media FFmpeg can read (undecodable metadata)") from None
    except av.FFmpegError as exc:
        shortfall = isobmff_shortfall_of(path)
        if shortfall:
            raise InputError(f"{path}: cannot be read ({shortfall}; no moov before it): truncated?") from None
        raise InputError(f"{path}: not media FFmpeg can read ({_ffmpeg_reason(exc)})") from None
    tracks, ignored = _describe(container)
    duration = Fraction(container.duration, av.time_base) if container.duration else None
    return Source(path, container, container.format.name, duration, tracks, ignored)


def isobmff_shortfall_of(path: Path) -> str | None:
    with open(path, "rb") as file:
        head = file.read(8)
    if len(head) < 8 or head[4:8] not in (b"ftyp", b"styp", b"moov", b"mdat", b"free", b"wide"):
        return None
    return byte_level_shortfall(path, "mov")


def _ffmpeg_reason(exc: av.FFmpegError) -> str:
    return (exc.strerror or str(exc)).rstrip(".").lower()


def _describe(container: av.container.InputContainer) -> tuple[list[SourceTrack], list[str]]:
    tracks: list[SourceTrack] = []
    ignored: list[str] = []
    counts = {"video": 0, "audio": 0}
    for stream in container.streams:
        if stream.type not in ("video", "audio"):
            codec_name = stream.codec_context.name if stream.codec_context is not None else "unknown codec"
            ignored.append(f"stream {stream.index} ({stream.type}, {codec_name}) ignored")
            continue
        if stream.codec_context is None:
            ignored.append(f"stream {stream.index} ({stream.type}) ignored: FFmpeg does not know its codec")
            continue
        if stream.type == "video" and stream.disposition & av.stream.Disposition.attached_pic:
            ignored.append(f"stream {stream.index} (cover art) ignored")
            continue
        counts[stream.type] += 1
        number = counts[stream.type]
        codec = stream.codec_context
        tracks.append(
            SourceTrack(
                id=stream.type if number == 1 else f"{stream.type}{number}",
                stream_index=stream.index,
                kind=stream.type,
                codec=codec.codec.canonical_name if codec.codec else codec.name,
                time_base=Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000),
                start=Fraction(stream.start_time) * Fraction(stream.time_base)
                if stream.start_time is not None and stream.time_base
                else None,
                declared_frames=stream.frames or 0,
                width=getattr(codec, "width", 0) or 0,
                height=getattr(codec, "height", 0) or 0,
                sample_rate=getattr(codec, "sample_rate", 0) or 0,
                channels=getattr(codec, "channels", 0) or 0,
                extradata=bytes(codec.extradata or b""),
            )
        )
    return tracks, ignored


def first_timestamps(path: Path, tracks: list[SourceTrack], frames: int = 16, limit: int = 5000) -> dict[str, Fraction]:
    """Each track's earliest presentation time (seconds) among its first `frames` packets, read from
    a fresh demux (FFmpeg's own start_time already discounts encoder delay, which is not what we want)."""
    by_index = {t.stream_index: t for t in tracks}
    earliest: dict[str, Fraction] = {}
    seen: dict[str, int] = {}
    with open_input(path) as container:
        streams = [container.streams[i] for i in by_index]
        for count, packet in enumerate(container.demux(streams)):
            timestamp = packet.pts if packet.pts is not None else packet.dts
            track = by_index[packet.stream.index]
            if packet.size and timestamp is not None and seen.get(track.id, 0) < frames:
                seen[track.id] = seen.get(track.id, 0) + 1
                time = timestamp * track.time_base
                earliest[track.id] = min(earliest.get(track.id, time), time)
            if count >= limit or (len(seen) == len(by_index) and min(seen.values()) >= frames):
                break
    return earliest


def select_tracks(source: Source, spec: str | None) -> list[SourceTrack]:
    """`--tracks`: a comma list of track ids (video, audio2), kinds, or stream indices; default all."""
    if not source.tracks:
        raise InputError(f"{source.path}: no audio or video stream")
    if not spec:
        return list(source.tracks)
    chosen: list[SourceTrack] = []
    for item in (part.strip() for part in spec.split(",")):
        matches = [
            t for t in source.tracks
            if item in (t.id, t.kind) or (item.isdigit() and int(item) == t.stream_index)
        ]  # fmt: skip
        if not matches:
            known = ", ".join(f"{t.id} (stream {t.stream_index})" for t in source.tracks)
            raise UsageError(f"--tracks: no track {item!r} in {source.path.name}; it has {known}")
        chosen.extend(t for t in matches if t not in chosen)
    return sorted(chosen, key=lambda t: t.stream_index)
