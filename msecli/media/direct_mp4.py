"""The fast path for progressive MP4/MOV input: sample tables read from `moov` with numpy, sample
bytes copied by the kernel. Taken only when FFmpeg's demuxer would report exactly the same packets
(checked on the first packets of a real demux, and on the sample counts); otherwise `segment` reads
through PyAV as for any other input."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from msecli.errors import ParseError
from msecli.formats.isobmff.sample_tables import Movie, SampleTable, read_movie
from msecli.media.source import Source, SourceTrack, open_input

MAX_MOOV_BYTES = 1 << 30
CHECKED_PACKETS = 64


@dataclass(frozen=True)
class DirectTrack:
    """One track's samples as PyAV would demux them: times in the stream's time base."""

    pts: np.ndarray
    dts: np.ndarray
    durations: np.ndarray
    keyframes: np.ndarray
    offsets: np.ndarray
    sizes: np.ndarray


def plan_direct(source: Source, tracks: list[SourceTrack]) -> dict[str, DirectTrack] | None:
    """The tracks' samples from the sample tables, or None when the fast path does not apply."""
    if not source.format_name.startswith("mov"):
        return None
    try:
        movie = _read_movie(source.path)
    except (ParseError, OSError, ValueError):
        return None
    if movie is None or movie.fragmented:
        return None
    by_id = {t.track_id: t for t in movie.tracks}
    planned: dict[str, DirectTrack] = {}
    for track in tracks:
        stream = source.container.streams[track.stream_index]
        table = by_id.get(stream.id)
        if table is None or table.sample_entries != 1 or len(table.sizes) != (stream.frames or -1):
            return None
        if track.time_base != Fraction(1, table.timescale):
            return None
        shift = _edit_shift(table, movie)
        if shift is None:
            return None
        planned[track.id] = DirectTrack(table.cts + shift, table.dts + shift, table.durations, table.keyframes,
                                        table.offsets, table.sizes)  # fmt: skip
    return planned if _agrees_with_ffmpeg(source.path, tracks, planned) else None


def _read_movie(path: Path) -> Movie | None:
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        offset = 0
        while offset + 8 <= size:
            header = os.pread(file.fileno(), 16, offset)
            box_size, box_type = struct.unpack_from(">I4s", header)
            if box_size == 1 and len(header) == 16:
                (box_size,) = struct.unpack_from(">Q", header, 8)
            elif box_size == 0:
                box_size = size - offset
            if box_size < 8:
                return None
            if box_type == b"moov":
                if box_size > MAX_MOOV_BYTES or offset + box_size > size:
                    return None
                return read_movie(os.pread(file.fileno(), box_size, offset), offset)
            offset += box_size
    return None


def _edit_shift(table: SampleTable, movie: Movie) -> int | None:
    """What FFmpeg adds to every timestamp for the simple edit lists (none; one edit; an empty edit
    then one edit), at rate 1 and covering the media to its end. None for anything else."""
    edits = table.edits
    delay = 0
    if len(edits) == 2 and edits[0].media_time == -1:
        scaled = edits[0].segment_duration * table.timescale
        if scaled % movie.timescale:
            return None
        delay, edits = scaled // movie.timescale, edits[1:]
    if not edits:
        return delay
    if len(edits) != 1 or edits[0].media_time < 0 or edits[0].rate != 1:
        return None
    edit = edits[0]
    media_end = int((table.cts + table.durations).max()) if len(table.cts) else 0
    if edit.segment_duration:
        covered = edit.segment_duration * table.timescale // movie.timescale
        if covered + int(table.durations.max(initial=0)) < media_end - edit.media_time:
            return None  # the edit ends early: FFmpeg would drop samples at the end
    return delay - edit.media_time


def _agrees_with_ffmpeg(path: Path, tracks: list[SourceTrack], planned: dict[str, DirectTrack]) -> bool:
    by_index = {t.stream_index: t for t in tracks}
    seen = {t.id: 0 for t in tracks}
    with open_input(path) as container:
        for packet in container.demux([container.streams[i] for i in by_index]):
            if not packet.size:
                continue
            track = by_index[packet.stream.index]
            i = seen[track.id]
            plan = planned[track.id]
            if i < len(plan.sizes):
                expected = (int(plan.pts[i]), int(plan.dts[i]), int(plan.offsets[i]), int(plan.sizes[i]))
                if (packet.pts, packet.dts, packet.pos, packet.size) != expected:
                    return False
            seen[track.id] = i + 1
            if sum(seen.values()) >= CHECKED_PACKETS:
                break
    return True
