"""`--reencode`: video re-encoded with keyframes forced on the target grid, everything else copied.

The result goes to an intermediate file (MP4, which keeps each stream's time base exactly, or Matroska
when a copied codec does not fit MP4), which `segment` then cuts like any other input; memory stays
flat whatever the input's length.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av

from msecli.errors import InputError
from msecli.media.source import Source, SourceTrack
from msecli.packaging.containers import CARRIES

ENCODERS = {
    "mp4": ("libx264", {"preset": "veryfast", "crf": "20", "x264-params": "scenecut=0:forced-idr=1:keyint=100000"}),
    "webm": ("libvpx-vp9", {"deadline": "good", "cpu-used": "5", "crf": "32", "b": "0", "g": "100000",
                            "keyint_min": "100000", "row-mt": "1"}),
}  # fmt: skip


def reencode(source: Source, tracks: list[SourceTrack], containers: dict[str, str], grid: Fraction,
             destination: Path, progress: Callable[[float, float | None], None] | None) -> None:  # fmt: skip
    """Write `tracks` of `source` to `destination`: video re-encoded for its container, keyframes at
    the first frame at or after each multiple of `grid` from the first frame; audio copied."""
    total = float(source.duration) if source.duration else None
    with av.open(str(destination), "w", format=intermediate_format(tracks)) as output:
        encoders, copies = {}, {}
        for track in tracks:
            stream = source.container.streams[track.stream_index]
            if isinstance(stream, av.VideoStream):
                encoders[track.stream_index] = _video_encoder(output, stream, containers[track.id])
            else:
                copies[track.stream_index] = output.add_stream_from_template(stream)
        next_key: dict[int, Fraction | None] = {index: None for index in encoders}
        streams = [source.container.streams[t.stream_index] for t in tracks]
        try:
            for packet in source.container.demux(streams):
                index = packet.stream.index
                if index in copies:
                    if packet.size:
                        packet.stream = copies[index]
                        output.mux(packet)
                    continue
                for frame in packet.decode():
                    if not isinstance(frame, av.VideoFrame):
                        continue
                    next_key[index] = _mark_keyframe(frame, next_key[index], grid)
                    output.mux(encoders[index].encode(frame))
                    if progress is not None and frame.time is not None:
                        progress(frame.time, total)
        except av.FFmpegError as exc:
            raise InputError(f"{source.path}: cannot re-encode ({exc.strerror})") from None
        for encoder in encoders.values():
            output.mux(encoder.encode(None))


def intermediate_format(tracks: list[SourceTrack]) -> str:
    copied = {t.codec for t in tracks if t.kind != "video"}
    return "mp4" if copied <= CARRIES["mp4"] else "matroska"


def _video_encoder(output: av.container.OutputContainer, stream: av.VideoStream, container: str) -> av.VideoStream:
    name, options = ENCODERS[container]
    rate = stream.average_rate or stream.guessed_rate or Fraction(30)
    encoder = output.add_stream(name, rate=rate, options=dict(options))
    assert isinstance(encoder, av.VideoStream)
    encoder.width, encoder.height = stream.codec_context.width, stream.codec_context.height
    encoder.pix_fmt = "yuv420p"
    if stream.time_base is not None:
        encoder.codec_context.time_base = stream.time_base
        encoder.time_base = stream.time_base
    return encoder


def _mark_keyframe(frame: av.VideoFrame, next_key: Fraction | None, grid: Fraction) -> Fraction | None:
    """Force an I frame at the first frame at or after the next grid point; returns the next grid point."""
    frame.pict_type = av.video.frame.PictureType.NONE
    if frame.pts is None:
        return next_key
    if frame.time_base is None:
        return next_key
    time = frame.pts * Fraction(frame.time_base)
    if next_key is None or time >= next_key:
        frame.pict_type = av.video.frame.PictureType.I
        start = time if next_key is None else next_key
        while start <= time:
            start += grid
        return start
    return next_key
