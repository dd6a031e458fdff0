"""The sample tables of a progressive (non-fragmented) MP4's `moov`, as numpy columns.

Everything is vectorised: `stts`, `ctts`, `stsz`, `stsc`, `stco`/`co64` and `stss` expand with
np.repeat/np.cumsum into per-sample decode time, composition time, size, byte offset and sync flag.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from msecli.errors import ParseError
from msecli.formats.isobmff.walk import BoxHeader, iter_boxes

CONTAINERS = {"moov", "trak", "mdia", "minf", "stbl", "edts"}


@dataclass(frozen=True)
class Edit:
    segment_duration: int  # movie timescale
    media_time: int  # media timescale; -1 = an empty edit
    rate: float


@dataclass(frozen=True)
class SampleTable:
    track_id: int
    handler: str
    timescale: int
    sample_entries: int  # how many sample descriptions `stsd` holds
    edits: list[Edit]
    offsets: np.ndarray  # int64 absolute file offsets
    sizes: np.ndarray  # int64
    dts: np.ndarray  # int64, media timescale, from 0
    cts: np.ndarray  # int64, dts + composition offset
    keyframes: np.ndarray  # bool
    durations: np.ndarray  # int64, from stts


@dataclass(frozen=True)
class Movie:
    timescale: int
    fragmented: bool  # `mvex` present: samples live in movie fragments
    tracks: list[SampleTable]


def read_movie(moov: bytes, moov_offset: int = 0) -> Movie:
    """Parse a whole `moov` box (given as bytes; offsets in errors are absolute with `moov_offset`)."""
    boxes = _children(moov, 0, "")
    if "moov" not in boxes:
        raise ParseError("no moov box", offset=moov_offset, path="")
    moov_box = boxes["moov"][0]
    inside = _children(moov, moov_box.payload_offset, "moov", moov_box.end)
    mvhd = inside.get("mvhd", [None])[0]
    if mvhd is None:
        raise ParseError("moov has no mvhd", offset=moov_offset, path="moov")
    version = moov[mvhd.payload_offset]
    (timescale,) = struct.unpack_from(">I", moov, mvhd.payload_offset + (20 if version == 1 else 12))
    tracks = [_track(moov, trak, timescale) for trak in inside.get("trak", [])]
    return Movie(timescale, "mvex" in inside, [t for t in tracks if t is not None])


def _children(data: bytes, start: int, path: str, end: int | None = None) -> dict[str, list[BoxHeader]]:
    found: dict[str, list[BoxHeader]] = {}
    for header in iter_boxes(data, start, end, path):
        found.setdefault(header.type, []).append(header)
    return found


def _box(data: bytes, parent: BoxHeader, path: str) -> BoxHeader | None:
    current = parent
    for name in path.split("/"):
        boxes = _children(data, current.payload_offset, current.type, current.end).get(name)
        if not boxes:
            return None
        current = boxes[0]
    return current


def _full_box(data: bytes, box: BoxHeader) -> tuple[int, int]:
    """(version, start of the payload after version/flags)."""
    return data[box.payload_offset], box.payload_offset + 4


def _table(data: bytes, box: BoxHeader, dtype: str, header: int = 4) -> np.ndarray:
    """The entry table of a full box whose payload is version/flags, entry_count, then entries."""
    _, start = _full_box(data, box)
    (count,) = struct.unpack_from(">I", data, start + header - 4)
    itemsize = np.dtype(dtype).itemsize
    if start + header + count * itemsize > box.end:
        raise ParseError(
            f"entry_count {count} needs {count * itemsize} bytes, box has {box.end - start - header}",
            offset=box.offset,
            path=box.type,
        )
    return np.frombuffer(data, dtype=dtype, count=count, offset=start + header)


def _track(data: bytes, trak: BoxHeader, movie_timescale: int) -> SampleTable | None:
    tkhd, mdhd, hdlr = _box(data, trak, "tkhd"), _box(data, trak, "mdia/mdhd"), _box(data, trak, "mdia/hdlr")
    stbl = _box(data, trak, "mdia/minf/stbl")
    if tkhd is None or mdhd is None or hdlr is None or stbl is None:
        return None
    version, start = _full_box(data, tkhd)
    (track_id,) = struct.unpack_from(">I", data, start + (16 if version == 1 else 8))
    version, start = _full_box(data, mdhd)
    (timescale,) = struct.unpack_from(">I", data, start + (16 if version == 1 else 8))
    handler = data[hdlr.payload_offset + 8 : hdlr.payload_offset + 12].decode("latin-1")
    boxes = {name: found[0] for name, found in _children(data, stbl.payload_offset, "stbl", stbl.end).items()}
    if "stsz" not in boxes or "stsc" not in boxes or ("stco" not in boxes and "co64" not in boxes):
        return None
    sizes = _sample_sizes(data, boxes["stsz"])
    count = len(sizes)
    offsets = _sample_offsets(data, boxes, sizes)
    stts = _table(data, boxes["stts"], ">u4,>u4") if "stts" in boxes else np.empty(0, ">u4,>u4")
    deltas = _repeat_clipped(stts["f1"], stts["f0"], count)
    dts = np.concatenate([[0], np.cumsum(deltas)])[:count].astype(np.int64)
    if len(deltas) < count:
        raise ParseError(f"stts covers {len(dts)} of {count} samples", offset=boxes["stts"].offset, path="stts")
    cts = dts.copy()
    if "ctts" in boxes:
        ctts_version = data[boxes["ctts"].payload_offset]
        ctts = _table(data, boxes["ctts"], ">u4,>i4" if ctts_version else ">u4,>u4")
        composition = _repeat_clipped(ctts["f1"], ctts["f0"], count)
        cts[: len(composition)] += composition
    keyframes = np.ones(count, dtype=bool)
    if "stss" in boxes:
        keyframes[:] = False
        sync = _table(data, boxes["stss"], ">u4").astype(np.int64) - 1
        keyframes[sync[(sync >= 0) & (sync < count)]] = True
    (entries,) = struct.unpack_from(">I", data, boxes["stsd"].payload_offset + 4) if "stsd" in boxes else (0,)
    return SampleTable(track_id, handler, timescale, entries, _edits(data, trak), offsets, sizes, dts, cts, keyframes,
                       deltas)  # fmt: skip


def _repeat_clipped(values: np.ndarray, counts: np.ndarray, limit: int) -> np.ndarray:
    """np.repeat(values, counts)[:limit] without ever making more than `limit` elements: a table
    entry's count is whatever its bytes say, the allocation must not be."""
    counts = np.maximum(counts.astype(np.int64), 0)
    before = np.cumsum(counts) - counts
    clipped = np.clip(limit - before, 0, None)
    return np.repeat(values.astype(np.int64), np.minimum(counts, clipped))


def _sample_sizes(data: bytes, stsz: BoxHeader) -> np.ndarray:
    _, start = _full_box(data, stsz)
    uniform, count = struct.unpack_from(">II", data, start)
    if uniform:
        return np.full(count, uniform, dtype=np.int64)
    return _table(data, stsz, ">u4", header=8).astype(np.int64)


def _sample_offsets(data: bytes, boxes: dict[str, BoxHeader], sizes: np.ndarray) -> np.ndarray:
    chunk_offsets = _table(data, boxes["co64"], ">u8") if "co64" in boxes else _table(data, boxes["stco"], ">u4")
    chunk_offsets = chunk_offsets.astype(np.int64)
    stsc = _table(data, boxes["stsc"], ">u4,>u4,>u4")
    chunks = len(chunk_offsets)
    first_chunk = stsc["f0"].astype(np.int64) - 1
    run_lengths = np.diff(first_chunk, append=chunks)
    per_chunk = _repeat_clipped(stsc["f1"], np.maximum(run_lengths, 0), chunks)
    chunk_of_sample = _repeat_clipped(np.arange(len(per_chunk)), per_chunk, len(sizes))
    if len(chunk_of_sample) < len(sizes):
        raise ParseError(f"stsc/stco place {len(chunk_of_sample)} of {len(sizes)} samples",
                         offset=boxes["stsc"].offset, path="stsc")  # fmt: skip
    before = np.concatenate([[0], np.cumsum(sizes)[:-1]]) if len(sizes) else sizes
    first_sample_of_chunk = np.concatenate([[0], np.cumsum(per_chunk)[:-1]])
    within = before - before[np.minimum(first_sample_of_chunk[chunk_of_sample], len(sizes) - 1)]
    return chunk_offsets[chunk_of_sample] + within


def _edits(data: bytes, trak: BoxHeader) -> list[Edit]:
    elst = _box(data, trak, "edts/elst")
    if elst is None:
        return []
    version = data[elst.payload_offset]
    table = _table(data, elst, ">u8,>i8,>i2,>i2" if version == 1 else ">u4,>i4,>i2,>i2")
    return [Edit(int(e[0]), int(e[1]), e[2] + e[3] / 65536) for e in table]
