"""Decode timing: decode exactly the bytes a SourceBuffer was given (one track's init segment followed by
its media segments, in append order) with PyAV from memory, timing each coded frame's decode call
(wall and CPU, perf_counter_ns / process_time_ns) with frame threading on, as a browser decodes."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np

from msecli.errors import InputError
from msecli.sim.decoder import decode_summary


@dataclass
class DecodeTiming:
    """Per coded frame, in decode order: presentation time (s), keyframe, bytes, segment index, costs."""

    kind: str
    pts: np.ndarray
    key: np.ndarray
    size: np.ndarray
    segment: np.ndarray
    wall_ns: np.ndarray
    cpu_ns: np.ndarray
    output_pts: list[float] = field(default_factory=list)  # decoded frames, in output (presentation) order
    media_seconds: float = 0.0
    height: int = 0  # video: the decoder's frame height


def time_decode(init: bytes, segments: list[bytes], *, threading: bool = True) -> DecodeTiming:
    data = init + b"".join(segments)
    bounds = np.cumsum([len(init), *(len(s) for s in segments)])
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except av.error.FFmpegError as exc:
        raise InputError(f"PyAV cannot open the appended bytes: {exc}") from None
    with container:
        stream = next((s for s in container.streams if s.type in ("video", "audio")), None)
        if stream is None:
            raise InputError("the appended bytes hold no audio or video track")
        if threading and stream.type == "video":
            stream.codec_context.thread_type = "FRAME"
        kind = stream.type  # read while open: a closed container's streams must not be touched
        rows, output = _decode(container, stream)
        height = int(getattr(stream.codec_context, "height", 0) or 0)
    table = np.array(rows, dtype=np.float64).reshape(-1, 6)
    pts, key, size, position, wall, cpu = table.T
    segment = np.searchsorted(bounds, position, side="right") - 1  # 0 = the first media segment
    span = (max(output) - min(output)) if output else 0.0
    frame_step = float(np.median(np.diff(sorted(output)))) if len(output) > 1 else 0.0
    return DecodeTiming(kind, pts, key.astype(bool), size.astype(np.int64), segment.astype(np.int64),
                        wall.astype(np.int64), cpu.astype(np.int64), output, span + frame_step, height)  # fmt: skip


def _decode(container: Any, stream: Any) -> tuple[list[tuple[float, ...]], list[float]]:
    rows: list[tuple[float, ...]] = []
    output: list[float] = []
    base = float(stream.time_base)  # floats here: a Fraction product per frame costs a visible share
    codec = stream.codec_context
    for packet in container.demux(stream):
        wall, cpu = time.perf_counter_ns(), time.process_time_ns()
        frames = codec.decode(packet)
        wall, cpu = time.perf_counter_ns() - wall, time.process_time_ns() - cpu
        output += [f.pts * base for f in frames if f.pts is not None]
        if packet.size:
            pts = packet.pts * base if packet.pts is not None else float("nan")
            rows.append((pts, packet.is_keyframe, packet.size, packet.pos, wall, cpu))
    return rows, output


def summary(timing: DecodeTiming) -> dict[str, Any]:
    """The `decode` block of simulate's JSON for one track (README)."""
    return decode_summary(timing.pts, timing.key, timing.size, timing.segment, timing.wall_ns,
                          len(timing.output_pts), timing.media_seconds)  # fmt: skip
