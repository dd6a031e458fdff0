"""Initialization and media segments of the ISO BMFF byte stream format: track information from `moov`,
coded frames from each `moof` (trun tables decoded in one numpy pass, tfhd/trex defaults applied)."""

from __future__ import annotations

import numpy as np

from msecli.errors import ParseError
from msecli.formats.frames import FRAME_DTYPE, TrackInfo, concat, empty_frames
from msecli.formats.isobmff.boxes import Node

NON_SYNC = 0x00010000
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
        )
    return infos


def fragment_frames(moof: Node, infos: dict[int, TrackInfo]) -> dict[int, np.ndarray]:
    """Per track ID, the coded frames of one movie fragment (ticks of the track's timescale;
    offsets are absolute byte offsets in the buffer the moof was parsed from)."""
    out: dict[int, list[np.ndarray]] = {}
    next_base = moof.offset
    for number, traf in enumerate(moof.all("traf"), start=1):
        path = f"moof/traf[{number}]"
        tfhd = traf.child("tfhd")
        if tfhd is None:
            raise ParseError("traf has no tfhd", offset=traf.offset, path=path)
        track_id = tfhd.fields["track_ID"]
        info = infos.get(track_id)
        if info is None:
            raise ParseError(f"track_ID {track_id} is not in the initialization segment", offset=tfhd.offset, path=path)
        tfdt = traf.child("tfdt")
        decode_time = tfdt.fields["baseMediaDecodeTime"] if tfdt is not None else 0
        if "base_data_offset" in tfhd.fields:
            base = tfhd.fields["base_data_offset"]
        elif tfhd.fields["default_base_is_moof"]:
            base = moof.offset
        else:
            base = next_base
        position = base
        for run in traf.all("trun"):
            frames, decode_time, position = _run_frames(run, tfhd.fields, info, decode_time, base, position)
            out.setdefault(track_id, []).append(frames)
        next_base = position
    return {track_id: concat(parts) for track_id, parts in out.items()}


def _run_frames(run: Node, tfhd: dict, info: TrackInfo, decode_time: int, base: int,
                position: int) -> tuple[np.ndarray, int, int]:  # fmt: skip
    table = run.table
    count = run.fields["sample_count"]
    if table is None or not count:
        return empty_frames(), decode_time, position
    names = table.dtype.names or ()
    frames = np.empty(count, dtype=FRAME_DTYPE)
    frames["duration"] = _column(table, "duration", names, tfhd, info, "default_sample_duration", count)
    frames["size"] = _column(table, "size", names, tfhd, info, "default_sample_size", count)
    flags = _column(table, "flags", names, tfhd, info, "default_sample_flags", count)
    if "flags" not in names and "first_sample_flags" in run.fields:
        flags[0] = run.fields["first_sample_flags"]
    frames["key"] = (flags & NON_SYNC) == 0
    durations = frames["duration"]
    # The edit list's media_time moves decode and presentation times alike (as FFmpeg and Chromium
    # apply it), so a B-frame delay edit gives DTS from -delay and PTS from 0.
    frames["dts"] = decode_time - info.media_time + np.concatenate([[0], np.cumsum(durations[:-1])])
    offsets = table["cto"].astype(np.int64) if "cto" in names else 0
    frames["pts"] = frames["dts"] + offsets
    start = base + run.fields["data_offset"] if "data_offset" in run.fields else position
    sizes = frames["size"]
    frames["offset"] = start + np.concatenate([[0], np.cumsum(sizes[:-1])])
    return frames, decode_time + int(durations.sum()), start + int(sizes.sum())


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
