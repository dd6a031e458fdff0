"""Initialization and media segments of the ISO BMFF byte stream format: track information from `moov`,
coded frames from each `moof` (trun tables decoded in one numpy pass, tfhd/trex defaults applied)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from msecli.errors import ParseError
from msecli.formats import Buffer
from msecli.formats.frames import FRAME_DTYPE, TrackInfo, concat, empty_frames
from msecli.formats.isobmff.boxes import Node, trun_dtype
from msecli.formats.isobmff.walk import BoxHeader, iter_boxes

NON_SYNC = 0x00010000
TICKS_LIMIT = 1 << 62  # decode times beyond this would overflow the int64 frame tables
HANDLER_KINDS = {"vide": "video", "soun": "audio", "text": "text", "subt": "text", "sbtl": "text"}


def track_infos(moov: Node) -> dict[int, TrackInfo]:
    infos: dict[int, TrackInfo] = {}
    mvex = moov.find("mvex")
    trexes = {t.fields["track_ID"]: t.fields for t in (mvex.all("trex") if mvex is not None else [])}
    for trak in moov.all("trak"):
        tkhd, mdhd, hdlr = trak.child("tkhd"), trak.find("mdia/mdhd"), trak.find("mdia/hdlr")
        if tkhd is None or mdhd is None:
            continue
        track_id = tkhd.fields["track_ID"]
        stsd = trak.find("mdia/minf/stbl/stsd")
        entry = stsd.children[0] if stsd is not None and stsd.children else None
        elst = trak.find("edts/elst")
        entries = elst.fields["entries"] if elst is not None else []
        media_time = next((e["media_time"] for e in entries if e["media_time"] >= 0), 0)
        infos[track_id] = TrackInfo(
            id=track_id,
            kind=HANDLER_KINDS.get(hdlr.fields["handler_type"] if hdlr else "", "other"),
            timescale=mdhd.fields["timescale"] or 1,
            codecs=entry.fields.get("codecs", entry.type) if entry is not None else "",
            media_time=media_time,
            defaults=trexes.get(track_id, {}),
            width=entry.fields.get("width", 0) if entry is not None else 0,
            height=entry.fields.get("height", 0) if entry is not None else 0,
            annexb_parameter_sets=_annexb_parameter_sets(entry),
            nal_length_size=_nal_length_size(entry),
        )
    return infos


def _nal_length_size(entry: Node | None) -> int:
    config = next((entry.child(kind) for kind in ("avcC", "hvcC") if entry is not None and entry.child(kind)), None)
    return config.fields.get("nal_unit_length", 0) if config is not None else 0


def _annexb_parameter_sets(entry: Node | None) -> int:
    avcc = entry.child("avcC") if entry is not None and entry.type in ("avc1", "avc3") else None
    return avcc.fields.get("parameter_sets_annexb", 0) if avcc is not None else 0


def fragment_frames(moof: Node, infos: dict[int, TrackInfo], *, reserved_dependency_refused: bool = False
                    ) -> dict[int, np.ndarray]:  # fmt: skip
    """Per track ID, the coded frames of one movie fragment (ticks of the track's timescale;
    offsets are absolute byte offsets in the buffer the moof was parsed from). `reserved_dependency_refused`: a sample
    whose flags give sample_depends_on the reserved value 3 is a ParseError, as Chromium's TrackRunIterator has it."""
    trafs = []
    for number, traf in enumerate(moof.all("traf"), start=1):
        path = f"moof/traf[{number}]"
        tfhd = traf.child("tfhd")
        if tfhd is None:
            raise ParseError("traf has no tfhd", offset=traf.offset, path=path)
        track_id = tfhd.fields["track_ID"]
        if track_id not in infos:
            raise ParseError(f"track_ID {track_id} is not in the initialization segment", offset=tfhd.offset, path=path)
        tfdt = traf.child("tfdt")
        trafs.append(Traf(tfhd.fields, tfdt.fields["baseMediaDecodeTime"] if tfdt is not None else 0, traf.all("trun")))
    return traf_frames(moof.offset, trafs, infos, reserved_dependency_refused=reserved_dependency_refused)


@dataclass(slots=True)
class Run:
    """A trun's fields and sample table, as `boxes` decodes them (a decoded trun Node reads the same)."""

    fields: dict
    table: np.ndarray | None


@dataclass(slots=True)
class Traf:
    tfhd: dict  # tfhd's fields, as `boxes` names them
    decode_time: int  # tfdt's baseMediaDecodeTime, 0 without a tfdt
    runs: Sequence[Run | Node]


def traf_frames(moof_offset: int, trafs: list[Traf], infos: dict[int, TrackInfo], *,
                reserved_dependency_refused: bool = False) -> dict[int, np.ndarray]:  # fmt: skip
    """The frames of a moof's track fragments, each track's runs in order (ISO/IEC 14496-12 8.8.7-8.8.8:
    tfhd's base data offset, or the moof, or where the previous traf's data ended)."""
    out: dict[int, list[np.ndarray]] = {}
    next_base = moof_offset
    for traf in trafs:
        tfhd, info = traf.tfhd, infos[traf.tfhd["track_ID"]]
        if "base_data_offset" in tfhd:
            base = tfhd["base_data_offset"]
        elif tfhd["default_base_is_moof"]:
            base = moof_offset
        else:
            base = next_base
        position, decode_time = base, traf.decode_time
        if not -TICKS_LIMIT < decode_time - info.media_time < TICKS_LIMIT:  # a u64 tfdt past what int64 ticks hold
            raise ParseError(f"baseMediaDecodeTime {decode_time} is too large", offset=moof_offset, path="moof/traf/tfdt")
        for run in traf.runs:
            frames, decode_time, position = _run_frames(run, tfhd, info, decode_time, base, position,
                                                        reserved_dependency_refused)  # fmt: skip
            out.setdefault(info.id, []).append(frames)
        next_base = position
    return {track_id: parts[0] if len(parts) == 1 else concat(parts) for track_id, parts in out.items()}


def _run_frames(run: Run | Node, tfhd: dict, info: TrackInfo, decode_time: int, base: int, position: int,
                reserved_dependency_refused: bool = False) -> tuple[np.ndarray, int, int]:  # fmt: skip
    table = run.table
    count = run.fields["sample_count"]
    if table is None or not count:
        return empty_frames(), decode_time, position
    names = table.dtype.names or ()
    frames = np.empty(count, dtype=FRAME_DTYPE)
    durations = _column(table, "duration", names, tfhd, info, "default_sample_duration", count)
    sizes = _column(table, "size", names, tfhd, info, "default_sample_size", count)
    flags = _sample_flags(run, tfhd, info)
    if reserved_dependency_refused and (((flags >> 24) & 3) == 3).any():  # sample_depends_on, bits 24-25
        raise ParseError("a sample's flags give sample_depends_on the reserved value 3 (Chromium: \"Reserved value "
                         "used in sample dependency info\")", offset=base, path="moof/traf/trun")
    frames["key"] = (flags & NON_SYNC) == 0
    frames["duration"], frames["size"] = durations, sizes
    # The edit list's media_time moves decode and presentation times alike (as FFmpeg applies it), so a B-frame
    # delay edit gives DTS from -delay and PTS from 0. (Chromium moves only PTS: mp4_decode_times_ignore_edit_list.)
    ends = np.cumsum(durations)
    dts = ends - durations
    dts += decode_time - info.media_time
    frames["dts"] = dts
    frames["pts"] = dts + table["cto"] if "cto" in names else dts
    start = base + run.fields["data_offset"] if "data_offset" in run.fields else position
    data_ends = np.cumsum(sizes)
    frames["offset"] = data_ends - sizes + start
    return frames, decode_time + int(ends[-1]), start + int(data_ends[-1])


def _sample_flags(run: Run | Node, tfhd: dict, info: TrackInfo) -> np.ndarray:
    """Each sample's flags: the trun's own, else first_sample_flags for the first and the tfhd's or trex's default."""
    table, count = run.table, run.fields["sample_count"]
    assert table is not None
    names = table.dtype.names or ()
    flags = _column(table, "flags", names, tfhd, info, "default_sample_flags", count)
    if "flags" not in names and "first_sample_flags" in run.fields:
        flags[0] = run.fields["first_sample_flags"]
    return flags


def _column(table: np.ndarray, name: str, names: tuple[str, ...], tfhd: dict, info: TrackInfo, default: str,
            count: int) -> np.ndarray:  # fmt: skip
    if name in names:
        return table[name].astype(np.int64)
    return np.full(count, tfhd.get(default, info.defaults.get(default, 0)), dtype=np.int64)


def classify(nodes: list[Node], have_init: bool = False) -> list[dict]:
    """The segments MSE would see in a run of top-level boxes: init, media, or neither (with why).
    `have_init`: an initialization segment came before these bytes."""
    segments: list[dict] = []
    pending_styp: Node | None = None
    ftyp: Node | None = None  # the latest; free, sidx, pdin and the like may stand between it and moov
    for index, node in enumerate(nodes):
        if node.type == "ftyp":
            ftyp = node
        elif node.type == "moov":
            start = ftyp.offset if ftyp else node.offset
            reason = not_init_reason(node, ftyp)
            if reason:
                segments.append(
                    {"kind": "neither", "offset": start, "size": node.offset + node.size - start, "reason": reason}
                )
            else:
                have_init = True
                segments.append({"kind": "init", "offset": start, "size": node.offset + node.size - start})
        elif node.type == "styp":
            pending_styp = node
        elif node.type == "moof":
            start = pending_styp.offset if pending_styp else node.offset
            end = node.offset + node.size
            for following in nodes[index + 1 :]:
                if following.type != "mdat":
                    break
                end = following.offset + following.size
            if have_init:
                segments.append({"kind": "media", "offset": start, "size": end - start})
            else:
                segments.append({"kind": "neither", "offset": start, "size": end - start,
                                 "reason": "moof before any initialization segment"})  # fmt: skip
            pending_styp = None
    return segments


def not_init_reason(moov: Node, ftyp: Node | None) -> str | None:
    if ftyp is None:
        return "moov without an ftyp before it"
    if moov.child("mvex") is None:
        return "moov has no mvex: a progressive MP4, not a fragmented one"
    for trak in moov.all("trak"):
        stbl = trak.find("mdia/minf/stbl")
        for name in ("stts", "stsc", "stco"):
            table = stbl.child(name) if stbl else None
            if table is not None and table.fields.get("entry_count"):
                return f"{name} has {table.fields['entry_count']} entries: samples must live in fragments"
    return None


def all_frames(
    nodes: list[Node], infos: dict[int, TrackInfo] | None = None
) -> tuple[dict[int, TrackInfo], dict[int, np.ndarray]]:
    """Track infos (from the last moov, or `infos` given) and every track's frames across the moofs."""
    infos = dict(infos or {})
    parts: dict[int, list[np.ndarray]] = {}
    for node in nodes:
        if node.type == "moov":
            infos = track_infos(node)
        elif node.type == "moof":
            for track_id, frames in fragment_frames(node, infos).items():
                parts.setdefault(track_id, []).append(frames)
    return infos, {track_id: concat(p) for track_id, p in parts.items()}


# A moof read straight from its bytes: the MSE append path meets one per media segment, and walking the
# general box decoder for it costs more than everything else an append does. Anything beyond the plain
# layout (mfhd + trafs of tfhd, tfdt, truns) makes it answer None, and the general decoder reads the moof,
# reporting what is wrong where it is.

_HEADER = struct.Struct(">I4s")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_I32 = struct.Struct(">i")
_TFHD_OPTIONAL = ((0x02, "sample_description_index"), (0x08, "default_sample_duration"),
                  (0x10, "default_sample_size"), (0x20, "default_sample_flags"))  # fmt: skip


class _Unusual(Exception):
    """Something the direct reader leaves to the general decoder."""


def relative_addressing_problem(data: Buffer, moof: BoxHeader) -> ParseError | None:
    """What breaks the MSE ISO BMFF byte stream format's rules for a moof's track fragments (Media Segments, append
    error conditions 4 and 6): each traf needs a tfdt, no tfhd may set base-data-offset-present, and each traf's
    first trun must set data-offset-present (movie-fragment relative addressing)."""
    trafs = (box for box in iter_boxes(data, moof.payload_offset, moof.end, "moof") if box.type == "traf")
    for number, traf in enumerate(trafs, start=1):
        path = f"moof/traf[{number}]"
        children = list(iter_boxes(data, traf.payload_offset, traf.end, path))
        tfhd = next((c for c in children if c.type == "tfhd"), None)
        if tfhd is not None and tfhd.end - tfhd.payload_offset >= 4 and data[tfhd.payload_offset + 3] & 0x01:
            return ParseError("tfhd sets base-data-offset-present, where MSE needs movie-fragment relative addressing",
                              offset=tfhd.offset, path=f"{path}/tfhd")  # fmt: skip
        if not any(c.type == "tfdt" for c in children):
            return ParseError("traf has no tfdt (baseMediaDecodeTime)", offset=traf.offset, path=path)
        trun = next((c for c in children if c.type == "trun"), None)
        if trun is not None and trun.end - trun.payload_offset >= 4 and not data[trun.payload_offset + 3] & 0x01:
            return ParseError("the traf's first trun has no data_offset, where MSE needs movie-fragment relative "
                              "addressing", offset=trun.offset, path=f"{path}/trun")  # fmt: skip
    return None


def direct_fragment_frames(data: Buffer, start: int, end: int, infos: dict[int, TrackInfo], *,
                           reserved_dependency_refused: bool = False) -> dict[int, np.ndarray] | None:  # fmt: skip
    """fragment_frames for the moof occupying data[start:end], or None when it is not a plain one."""
    try:
        trafs = [_direct_traf(data, payload, box_end, infos)
                 for kind, payload, box_end in _boxes(data, start + 8, end) if kind == b"traf"]  # fmt: skip
    except _Unusual:
        return None
    if not trafs:
        return None
    return traf_frames(start, trafs, infos, reserved_dependency_refused=reserved_dependency_refused)


def _boxes(data: Buffer, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, end) of each child box in data[start:end], when all are plain boxes."""
    boxes, position = [], start
    while position < end:
        if end - position < 8:
            raise _Unusual
        size, kind = _HEADER.unpack_from(data, position)
        if size < 8 or position + size > end or kind == b"uuid":
            raise _Unusual
        boxes.append((kind, position + 8, position + size))
        position += size
    return boxes


def _direct_traf(data: Buffer, start: int, end: int, infos: dict[int, TrackInfo]) -> Traf:
    tfhd: dict | None = None
    decode_time: int | None = None
    runs: list[Run] = []
    for kind, payload, box_end in _boxes(data, start, end):
        if kind == b"tfhd" and tfhd is None:
            tfhd = _direct_tfhd(data, payload, box_end)
        elif kind == b"tfdt" and decode_time is None:
            decode_time = _direct_tfdt(data, payload, box_end)
        elif kind == b"trun":
            runs.append(_direct_trun(data, payload, box_end))
        else:
            raise _Unusual
    if tfhd is None or tfhd["track_ID"] not in infos:
        raise _Unusual
    return Traf(tfhd, decode_time or 0, runs)


def _direct_tfdt(data: Buffer, start: int, end: int) -> int:
    if end - start < 8:
        raise _Unusual
    if data[start] == 1:
        return _U64.unpack_from(data, start + 4)[0] if end - start >= 12 else _unusual()
    return _U32.unpack_from(data, start + 4)[0]


def _direct_tfhd(data: Buffer, start: int, end: int) -> dict:
    if end - start < 8:
        raise _Unusual
    flags = _U32.unpack_from(data, start)[0] & 0xFFFFFF
    fields = {"track_ID": _U32.unpack_from(data, start + 4)[0]}
    position = start + 8
    if flags & 0x01:
        fields["base_data_offset"] = _U64.unpack_from(data, position)[0] if end - position >= 8 else _unusual()
        position += 8
    for bit, name in _TFHD_OPTIONAL:
        if flags & bit:
            fields[name] = _U32.unpack_from(data, position)[0] if end - position >= 4 else _unusual()
            position += 4
    fields["duration_is_empty"] = bool(flags & 0x010000)
    fields["default_base_is_moof"] = bool(flags & 0x020000)
    return fields


def _direct_trun(data: Buffer, start: int, end: int) -> Run:
    if end - start < 8:
        raise _Unusual
    version_and_flags, count = struct.unpack_from(">II", data, start)
    version, flags = version_and_flags >> 24, version_and_flags & 0xFFFFFF
    fields = {"version": version, "flags": flags, "sample_count": count}
    position = start + 8
    if flags & 0x01:
        fields["data_offset"] = _I32.unpack_from(data, position)[0] if end - position >= 4 else _unusual()
        position += 4
    if flags & 0x04:
        fields["first_sample_flags"] = _U32.unpack_from(data, position)[0] if end - position >= 4 else _unusual()
        position += 4
    dtype = trun_dtype(flags, version)
    if not dtype.itemsize or count * dtype.itemsize > end - position:
        raise _Unusual
    return Run(fields, np.frombuffer(data, dtype=dtype, count=count, offset=position))


def _unusual() -> int:
    raise _Unusual
