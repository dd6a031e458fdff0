"""Build fragmented MP4 (CMAF-style) initialization and media segments.

Init segment: `ftyp` + `moov` (`mvhd`, one `trak` per track with empty sample tables, `mvex` with
`mehd` and one `trex` per track). Media segment: `styp` + `moof` (`mfhd`, one `traf` per track with
`tfhd` [default-base-is-moof], a 64-bit `tfdt` and one `trun`) + one `mdat` holding the tracks'
samples one track after the other.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

# Sample flags (ISO/IEC 14496-12 8.8.3.1): sample_depends_on=2 for sync samples; depends_on=1 and
# sample_is_non_sync_sample=1 for the others.
SYNC_SAMPLE_FLAGS = 0x02000000
NON_SYNC_SAMPLE_FLAGS = 0x01010000

TFHD_DEFAULT_BASE_IS_MOOF = 0x020000
TRUN_DATA_OFFSET = 0x000001
TRUN_SAMPLE_DURATION = 0x000100
TRUN_SAMPLE_SIZE = 0x000200
TRUN_SAMPLE_FLAGS = 0x000400
TRUN_SAMPLE_CTO = 0x000800

MOVIE_TIMESCALE = 1000
UNITY_MATRIX = struct.pack(">9i", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def box(box_type: str, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), box_type.encode("latin-1")) + body


def full_box(box_type: str, version: int, flags: int, *payload: bytes) -> bytes:
    return box(box_type, struct.pack(">I", (version << 24) | flags), *payload)


@dataclass(frozen=True)
class InitTrack:
    """What the init segment says about one track."""

    track_id: int
    handler: str  # "vide" or "soun"
    timescale: int
    stsd: bytes  # the whole `stsd` box, sample entry and decoder configuration included
    width: int = 0
    height: int = 0
    media_time: int = 0  # edit list: presentation time = composition time - media_time (ticks)
    language: str = "und"


@dataclass(frozen=True)
class TrackRun:
    """One track's samples in one media segment, in decode order (ticks of the track timescale)."""

    track_id: int
    base_media_decode_time: int
    durations: np.ndarray  # uint32
    sizes: np.ndarray  # uint32
    keyframes: np.ndarray  # bool
    composition_offsets: np.ndarray  # int64, pts - dts

    @property
    def data_size(self) -> int:
        return int(self.sizes.sum(dtype=np.int64))


def init_segment(tracks: list[InitTrack], duration_seconds: float) -> bytes:
    ftyp = box("ftyp", b"iso6", struct.pack(">I", 0), b"iso6", b"iso5", b"mp41", b"msix", b"dash")
    next_track_id = max(t.track_id for t in tracks) + 1
    mvhd = full_box(
        "mvhd", 0, 0,
        struct.pack(">IIIIiH10x", 0, 0, MOVIE_TIMESCALE, 0, 0x10000, 0x0100),
        UNITY_MATRIX, bytes(24), struct.pack(">I", next_track_id),
    )  # fmt: skip
    mehd = full_box("mehd", 1, 0, struct.pack(">Q", round(duration_seconds * MOVIE_TIMESCALE)))
    trexes = [full_box("trex", 0, 0, struct.pack(">IIIII", t.track_id, 1, 0, 0, 0)) for t in tracks]
    moov = box("moov", mvhd, *[_trak(t) for t in tracks], box("mvex", mehd, *trexes))
    return ftyp + moov


def _trak(track: InitTrack) -> bytes:
    is_audio = track.handler == "soun"
    tkhd = full_box(
        "tkhd", 0, 0x3,  # enabled, in movie
        struct.pack(">IIIII", 0, 0, track.track_id, 0, 0), bytes(8),
        struct.pack(">hhH2x", 0, 1 if is_audio else 0, 0x0100 if is_audio else 0),
        UNITY_MATRIX, struct.pack(">II", track.width << 16, track.height << 16),
    )  # fmt: skip
    edts = b""
    if track.media_time:
        elst = full_box("elst", 1, 0, struct.pack(">IQqhh", 1, 0, track.media_time, 1, 0))
        edts = box("edts", elst)
    language = _pack_language(track.language)
    mdhd = full_box("mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, track.timescale, 0, language, 0))
    handler_name = b"SoundHandler\x00" if is_audio else b"VideoHandler\x00"
    hdlr = full_box("hdlr", 0, 0, struct.pack(">I4s12x", 0, track.handler.encode()), handler_name)
    media_header = full_box("smhd", 0, 0, bytes(4)) if is_audio else full_box("vmhd", 0, 1, bytes(8))
    dinf = box("dinf", full_box("dref", 0, 0, struct.pack(">I", 1), full_box("url ", 0, 1)))
    empty_tables = [
        full_box("stts", 0, 0, bytes(4)),
        full_box("stsc", 0, 0, bytes(4)),
        full_box("stsz", 0, 0, bytes(8)),
        full_box("stco", 0, 0, bytes(4)),
    ]
    stbl = box("stbl", track.stsd, *empty_tables)
    return box("trak", tkhd, edts, box("mdia", mdhd, hdlr, box("minf", media_header, dinf, stbl)))


def _pack_language(code: str) -> int:
    letters = (code + "und")[:3] if len(code) == 3 and code.isalpha() and code.islower() else "und"
    return sum((ord(c) - 0x60) << (10 - 5 * i) for i, c in enumerate(letters))


def media_segment_header(sequence_number: int, runs: list[TrackRun]) -> bytes:
    """`styp` + `moof` + the `mdat` header; the caller writes the runs' sample bytes after it, in order."""
    styp = box("styp", b"msdh", struct.pack(">I", 0), b"msdh", b"msix")
    mfhd = full_box("mfhd", 0, 0, struct.pack(">I", sequence_number))
    moof_size = 8 + len(mfhd) + sum(len(_traf(run, 0)) for run in runs)
    data_offset = moof_size + 8  # from moof's first byte to the run's first sample byte in mdat
    trafs = []
    for run in runs:
        trafs.append(_traf(run, data_offset))
        data_offset += run.data_size
    mdat_size = 8 + sum(run.data_size for run in runs)
    return styp + box("moof", mfhd, *trafs) + struct.pack(">I4s", mdat_size, b"mdat")


def _traf(run: TrackRun, data_offset: int) -> bytes:
    tfhd = full_box("tfhd", 0, TFHD_DEFAULT_BASE_IS_MOOF, struct.pack(">I", run.track_id))
    tfdt = full_box("tfdt", 1, 0, struct.pack(">Q", run.base_media_decode_time))
    return box("traf", tfhd, tfdt, _trun(run, data_offset))


def _trun(run: TrackRun, data_offset: int) -> bytes:
    """The trun, its per-sample table built in one numpy pass."""
    count = len(run.sizes)
    has_offsets = bool(np.any(run.composition_offsets))
    version = 1 if has_offsets and bool(np.any(run.composition_offsets < 0)) else 0
    fields = [("duration", ">u4"), ("size", ">u4"), ("flags", ">u4")]
    flags = TRUN_DATA_OFFSET | TRUN_SAMPLE_DURATION | TRUN_SAMPLE_SIZE | TRUN_SAMPLE_FLAGS
    if has_offsets:
        fields.append(("cto", ">i4" if version else ">u4"))
        flags |= TRUN_SAMPLE_CTO
    table = np.empty(count, dtype=fields)
    table["duration"] = run.durations
    table["size"] = run.sizes
    table["flags"] = np.where(run.keyframes, SYNC_SAMPLE_FLAGS, NON_SYNC_SAMPLE_FLAGS)
    if has_offsets:
        table["cto"] = run.composition_offsets
    return full_box("trun", version, flags, struct.pack(">Ii", count, data_offset), table.tobytes())
