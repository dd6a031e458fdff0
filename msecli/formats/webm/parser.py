"""Parse WebM/Matroska into a tree of Nodes (the same Node as ISO BMFF boxes), and coded frames.

Element IDs and types come from one schema table. Unknown-size masters (Segment, Cluster) end where
an element that cannot be their child begins (Chromium's sibling-or-ancestor rule,
`_ends_unknown_size`). Block payloads are never copied.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from msecli.errors import ParseError
from msecli.formats import Buffer, codecs
from msecli.formats.frames import FRAME_DTYPE, TrackInfo, concat
from msecli.formats.isobmff.boxes import Node, Parsed
from msecli.formats.webm import ids
from msecli.formats.webm.ebml import UNKNOWN_SIZE, read_element_header, read_vint

MAX_DEPTH = 16
MASTER, UINT, INT, FLOAT, STRING, BINARY, BLOCK, SKIP = range(8)

SCHEMA: dict[int, tuple[str, int]] = {
    ids.EBML: ("EBML", MASTER), ids.EBML_VERSION: ("EBMLVersion", UINT), ids.EBML_READ_VERSION: ("EBMLReadVersion", UINT),
    ids.EBML_MAX_ID_LENGTH: ("EBMLMaxIDLength", UINT), ids.EBML_MAX_SIZE_LENGTH: ("EBMLMaxSizeLength", UINT),
    ids.DOC_TYPE: ("DocType", STRING), ids.DOC_TYPE_VERSION: ("DocTypeVersion", UINT),
    ids.DOC_TYPE_READ_VERSION: ("DocTypeReadVersion", UINT), ids.VOID: ("Void", SKIP), ids.CRC32: ("CRC-32", SKIP),
    ids.SEGMENT: ("Segment", MASTER), ids.SEEK_HEAD: ("SeekHead", MASTER), 0x4DBB: ("Seek", MASTER),
    0x53AB: ("SeekID", BINARY), 0x53AC: ("SeekPosition", UINT),
    ids.INFO: ("Info", MASTER), ids.TIMESTAMP_SCALE: ("TimestampScale", UINT), ids.DURATION: ("Duration", FLOAT),
    ids.MUXING_APP: ("MuxingApp", STRING), ids.WRITING_APP: ("WritingApp", STRING), 0x73A4: ("SegmentUUID", BINARY),
    0x4461: ("DateUTC", INT), 0x7BA9: ("Title", STRING),
    ids.TRACKS: ("Tracks", MASTER), ids.TRACK_ENTRY: ("TrackEntry", MASTER), ids.TRACK_NUMBER: ("TrackNumber", UINT),
    ids.TRACK_UID: ("TrackUID", UINT), ids.TRACK_TYPE: ("TrackType", UINT), ids.FLAG_LACING: ("FlagLacing", UINT),
    0xB9: ("FlagEnabled", UINT), 0x88: ("FlagDefault", UINT), 0x55AA: ("FlagForced", UINT),
    ids.LANGUAGE: ("Language", STRING), 0x536E: ("Name", STRING), ids.CODEC_ID: ("CodecID", STRING),
    ids.CODEC_PRIVATE: ("CodecPrivate", BINARY), ids.CODEC_DELAY: ("CodecDelay", UINT),
    ids.SEEK_PRE_ROLL: ("SeekPreRoll", UINT), ids.DEFAULT_DURATION: ("DefaultDuration", UINT),
    ids.VIDEO: ("Video", MASTER), ids.PIXEL_WIDTH: ("PixelWidth", UINT), ids.PIXEL_HEIGHT: ("PixelHeight", UINT),
    0x54B0: ("DisplayWidth", UINT), 0x54BA: ("DisplayHeight", UINT), 0x55B0: ("Colour", MASTER),
    ids.AUDIO: ("Audio", MASTER), ids.SAMPLING_FREQUENCY: ("SamplingFrequency", FLOAT), ids.CHANNELS: ("Channels", UINT),
    ids.BIT_DEPTH: ("BitDepth", UINT), 0x6D80: ("ContentEncodings", MASTER),
    ids.CLUSTER: ("Cluster", MASTER), ids.TIMESTAMP: ("Timestamp", UINT), 0xAB: ("PrevSize", UINT),
    0xA7: ("Position", UINT), ids.SIMPLE_BLOCK: ("SimpleBlock", BLOCK), ids.BLOCK_GROUP: ("BlockGroup", MASTER),
    ids.BLOCK: ("Block", BLOCK), ids.BLOCK_DURATION: ("BlockDuration", UINT), ids.REFERENCE_BLOCK: ("ReferenceBlock", INT),
    ids.DISCARD_PADDING: ("DiscardPadding", INT), 0x75A1: ("BlockAdditions", SKIP),
    ids.CUES: ("Cues", SKIP), ids.TAGS: ("Tags", SKIP), ids.CHAPTERS: ("Chapters", SKIP),
    ids.ATTACHMENTS: ("Attachments", SKIP),
}  # fmt: skip
NAMES = {name: element_id for element_id, (name, _) in SCHEMA.items()}
# What may sit inside an unknown-size master; anything else ends it.
TOP_LEVEL = {ids.SEEK_HEAD, ids.INFO, ids.TRACKS, ids.CLUSTER, ids.CUES, ids.TAGS, ids.CHAPTERS, ids.ATTACHMENTS,
             ids.VOID, ids.CRC32}  # fmt: skip
CLUSTER_CHILDREN = {ids.TIMESTAMP, 0xAB, 0xA7, ids.SIMPLE_BLOCK, ids.BLOCK_GROUP, ids.VOID, ids.CRC32, 0x5854, 0xAF}
LEVEL_ONE_PARENTS = {ids.SEGMENT: TOP_LEVEL, ids.CLUSTER: CLUSTER_CHILDREN}


@dataclass(frozen=True)
class _Header:
    id: int
    offset: int
    data_start: int
    size: int  # UNKNOWN_SIZE for unknown


def _header(data: Buffer, offset: int, end: int, path: str) -> _Header | None:
    try:
        header = read_element_header(data, offset, end)
    except ParseError as exc:
        raise ParseError(exc.reason, offset=offset, path=path) from None
    if header is None:
        return None
    element_id, data_start, size = header
    id_length = (element_id.bit_length() + 7) // 8
    if id_length > 4:
        raise ParseError(f"element ID of {id_length} bytes (at most 4)", offset=offset, path=path)
    return _Header(element_id, offset, data_start, size)


def parse_elements(data: Buffer, start: int = 0, end: int | None = None) -> Parsed:
    end = len(data) if end is None else end
    warnings: list[str] = []
    nodes = _elements(data, start, end, "", 0, warnings, parent_id=None)
    return Parsed(nodes, warnings)


def _elements(data: Buffer, offset: int, end: int, path: str, depth: int, warnings: list[str],
              parent_id: int | None) -> list[Node]:  # fmt: skip
    if depth > MAX_DEPTH:
        raise ParseError(f"elements nested deeper than {MAX_DEPTH}", offset=offset, path=path)
    nodes: list[Node] = []
    while offset < end:
        header = _header(data, offset, end, path)
        if header is None:
            warnings.append(
                f"{path or 'top level'}: {end - offset} bytes at byte {offset} end inside an element header"
            )
            break
        if parent_id in LEVEL_ONE_PARENTS and parent_id is not None and _ends_unknown_size(parent_id, header.id):
            return nodes
        name, kind = SCHEMA.get(header.id, (f"0x{header.id:X}", SKIP))
        child_path = f"{path}/{name}" if path else name
        node = Node(name, offset, 0, header.data_start - offset)
        if header.size == UNKNOWN_SIZE:
            if header.id not in LEVEL_ONE_PARENTS:
                raise ParseError("unknown size on an element that cannot have one", offset=offset, path=child_path)
            node.fields["unknown_size"] = True
            node.children = _elements(data, header.data_start, end, child_path, depth + 1, warnings, header.id)
            stop = node.children[-1].offset + node.children[-1].size if node.children else header.data_start
            node.size = stop - offset
            _decode_master(node)
            nodes.append(node)
            offset = stop
            if stop < end and _header(data, stop, end, path) is not None and parent_id in LEVEL_ONE_PARENTS:
                if _ends_unknown_size(parent_id, _header(data, stop, end, path).id):  # type: ignore[union-attr]
                    return nodes
            continue
        available = end - header.data_start
        node.size = header.data_start - offset + header.size
        if header.size > available:
            if depth == 0 or header.id in (ids.SEGMENT, ids.CLUSTER):
                node.truncated = True
                warnings.append(
                    f"{child_path} at byte {offset} declares {header.size} bytes, {available} are there: truncated"
                )
                if kind == MASTER:
                    node.children = _elements(data, header.data_start, end, child_path, depth + 1, warnings, header.id)
                    _decode_master(node)
                nodes.append(node)
                return nodes
            raise ParseError(f"size {header.size} runs past the end of its parent ({available} bytes left)",
                             offset=offset, path=child_path)  # fmt: skip
        stop = header.data_start + header.size
        _decode(data, node, kind, header.data_start, stop, child_path, depth, warnings)
        nodes.append(node)
        offset = stop
    return nodes


def _ends_unknown_size(parent_id: int, element_id: int) -> bool:
    """An unknown-size Segment or Cluster ends at an element that is not one of its children: an EBML
    header ends a Segment; a Cluster also ends at the next Cluster or any other top-level element."""
    if parent_id == ids.SEGMENT:
        return element_id == ids.EBML or element_id == ids.SEGMENT
    return element_id not in CLUSTER_CHILDREN


def _decode(data: Buffer, node: Node, kind: int, start: int, stop: int, path: str, depth: int,
            warnings: list[str]) -> None:  # fmt: skip
    if kind in (UINT, INT, FLOAT, STRING, BINARY):
        raw = bytes(data[start : min(stop, start + 4096)])
    if kind == MASTER:
        node.children = _elements(data, start, stop, path, depth + 1, warnings, None)
        _decode_master(node)
    elif kind == UINT:
        if stop - start > 8:
            raise ParseError(f"unsigned integer of {stop - start} bytes", offset=node.offset, path=path)
        node.fields["value"] = int.from_bytes(raw, "big")
    elif kind == INT:
        if stop - start > 8:
            raise ParseError(f"signed integer of {stop - start} bytes", offset=node.offset, path=path)
        node.fields["value"] = int.from_bytes(raw, "big", signed=True)
    elif kind == FLOAT:
        if stop - start not in (0, 4, 8):
            raise ParseError(f"float of {stop - start} bytes", offset=node.offset, path=path)
        node.fields["value"] = struct.unpack(">f" if stop - start == 4 else ">d", raw)[0] if stop > start else 0.0
    elif kind == STRING:
        node.fields["value"] = bytes(raw).split(b"\0", 1)[0].decode("utf-8", "replace")
    elif kind == BINARY:
        node.fields["size"] = stop - start
        node.fields["hex"] = bytes(raw[:32]).hex()
    elif kind == BLOCK:
        node.fields.update(_block_header(data, start, stop, path))
    else:
        node.fields["data_size"] = stop - start


def _block_header(data: Buffer, start: int, stop: int, path: str) -> dict:
    track = read_vint(data, start, stop)
    if track is None or track[0] == UNKNOWN_SIZE or start + track[1] + 3 > stop:
        raise ParseError("block shorter than its header", offset=start, path=path)
    timecode, flags = struct.unpack_from(">hB", data, start + track[1])
    header_end = start + track[1] + 3
    sizes = _lace_sizes(data, header_end, stop, (flags >> 1) & 3, path)
    return {"track": track[0], "timecode": timecode, "flags": flags, "keyframe": bool(flags & 0x80),
            "frames": len(sizes), "payload_offset": stop - sum(sizes), "payload_size": sum(sizes),
            "frame_sizes": sizes}  # fmt: skip


def _lace_sizes(data: Buffer, offset: int, stop: int, lacing: int, path: str) -> list[int]:
    """The sizes of the frames in a block: one frame, or Xiph (1), fixed-size (2) or EBML (3) lacing."""
    if lacing == 0:
        return [stop - offset]
    if offset >= stop:
        raise ParseError("laced block without a frame count", offset=offset, path=path)
    count = data[offset] + 1
    offset += 1
    sizes: list[int] = []
    if lacing == 2:
        total = stop - offset
        if total % count:
            raise ParseError(f"{total} bytes do not split into {count} equal frames", offset=offset, path=path)
        return [total // count] * count
    if lacing == 1:
        for _ in range(count - 1):
            size = 0
            while True:
                if offset >= stop:
                    raise ParseError("Xiph lacing runs past the block", offset=offset, path=path)
                byte = data[offset]
                offset += 1
                size += byte
                if byte != 255:
                    break
            sizes.append(size)
    else:
        first = read_vint(data, offset, stop)
        if first is None:
            raise ParseError("EBML lacing runs past the block", offset=offset, path=path)
        sizes.append(first[0])
        offset += first[1]
        for _ in range(count - 2):
            delta = read_vint(data, offset, stop)
            if delta is None:
                raise ParseError("EBML lacing runs past the block", offset=offset, path=path)
            bias = (1 << (7 * delta[1] - 1)) - 1
            sizes.append(sizes[-1] + delta[0] - bias)
            offset += delta[1]
    rest = stop - offset - sum(sizes)
    if rest < 0 or any(s < 0 for s in sizes):
        raise ParseError("lace sizes exceed the block", offset=offset, path=path)
    return sizes + [rest]


def _decode_master(node: Node) -> None:
    """Lift simple children's values into the master's fields (Info, TrackEntry, Video, Audio, Cluster)."""
    for child in node.children:
        if "value" in child.fields and child.type not in node.fields and not child.children:
            node.fields[child.type] = child.fields["value"]


# Coded frames


def track_infos(segment_children: list[Node]) -> tuple[int, dict[int, TrackInfo]]:
    """(TimestampScale in ns, tracks by TrackNumber) from a Segment's Info and Tracks."""
    scale = 1_000_000
    infos: dict[int, TrackInfo] = {}
    for node in segment_children:
        if node.type == "Info":
            scale = node.fields.get("TimestampScale", scale) or scale
        elif node.type == "Tracks":
            for entry in node.all("TrackEntry"):
                number = entry.fields.get("TrackNumber")
                if number is None:
                    continue
                kind = {1: "video", 2: "audio", 17: "text"}.get(entry.fields.get("TrackType", 0), "other")
                codec_id = entry.fields.get("CodecID", "")
                private = entry.child("CodecPrivate")
                video = entry.child("Video")
                size = (video.fields.get("PixelWidth", 0), video.fields.get("PixelHeight", 0)) if video else (0, 0)
                infos[number] = TrackInfo(id=number, kind=kind, timescale=0, codecs=_codecs(codec_id, private),
                                          defaults={"DefaultDuration": entry.fields.get("DefaultDuration", 0)},
                                          codec_delay=entry.fields.get("CodecDelay", 0), width=size[0], height=size[1],
                                          seek_preroll_ns=entry.fields.get("SeekPreRoll", 0))  # fmt: skip
    for info in infos.values():
        info.timescale = round(1e9 / scale)
        # Whole TimestampScale ticks, truncated: FFmpeg's demuxer divides so, and Chromium caps it so
        # (WebMTracksParser::PrecisionCappedDefaultDuration): 24 fps (41666667 ns) is 41 ms at the usual 1 ms scale.
        info.defaults["DefaultDuration"] = int(info.defaults["DefaultDuration"]) // scale
        info.codec_delay = (info.codec_delay + scale // 2) // scale  # half up, as FFmpeg rescales it
    return scale, infos


def _codecs(codec_id: str, private: Node | None) -> str:
    raw = bytes.fromhex(private.fields["hex"]) if private is not None and private.fields["size"] <= 32 else b""
    try:
        return codecs.from_webm(codec_id, raw)
    except (ValueError, IndexError):
        return codec_id


def cluster_frames(cluster: Node, infos: dict[int, TrackInfo]) -> dict[int, np.ndarray]:
    """Per track, the frames of one Cluster, in TimestampScale ticks. WebM has no DTS: DTS = PTS.
    Durations: BlockDuration, else the gap to the track's next block in the cluster, else
    DefaultDuration, else 0 (unknown: the last block of a cluster without BlockDuration)."""
    base = cluster.fields.get("Timestamp")
    if base is None:
        if any(c.type in ("SimpleBlock", "BlockGroup") for c in cluster.children):
            raise ParseError("Cluster has blocks but no Timestamp before them", offset=cluster.offset, path="Cluster")
        return {}
    rows: dict[int, list[tuple[int, int, int, int, bool]]] = {}
    block: Node | None
    for child in cluster.children:
        if child.type == "SimpleBlock":
            block, duration, key = child, None, child.fields["keyframe"]
        elif child.type == "BlockGroup":
            block = child.child("Block")
            if block is None:
                continue
            duration = child.fields.get("BlockDuration")
            key = child.child("ReferenceBlock") is None
        else:
            continue
        fields = block.fields
        time = base + fields["timecode"]
        offset = fields["payload_offset"]
        for index, size in enumerate(fields["frame_sizes"]):
            frame_duration = duration if (duration is not None and len(fields["frame_sizes"]) == 1) else None
            rows.setdefault(fields["track"], []).append((time, -1 if frame_duration is None else frame_duration,
                                                         size, offset, key and index == 0))  # fmt: skip
            offset += size
    out = {}
    for track, track_rows in rows.items():
        frames = np.zeros(len(track_rows), dtype=FRAME_DTYPE)
        table = np.array(track_rows, dtype=[("t", "i8"), ("d", "i8"), ("s", "i8"), ("o", "i8"), ("k", "?")])
        frames["pts"] = frames["dts"] = table["t"]
        frames["size"], frames["offset"], frames["key"] = table["s"], table["o"], table["k"]
        gaps = np.diff(table["t"], append=-1)
        default = infos[track].defaults.get("DefaultDuration", 0) if track in infos else 0
        fallback = np.where(gaps >= 0, gaps, default)
        fallback[-1] = default
        frames["duration"] = np.where(table["d"] >= 0, table["d"], fallback)
        out[track] = frames
    return out


def all_frames(
    nodes: list[Node], infos: dict[int, TrackInfo] | None = None
) -> tuple[dict[int, TrackInfo], dict[int, np.ndarray]]:
    infos = dict(infos or {})
    parts: dict[int, list[np.ndarray]] = {}
    clusters: list[Node] = []
    for node in nodes:
        if node.type == "Segment":
            _, found = track_infos(node.children)
            infos = found or infos
            clusters.extend(c for c in node.children if c.type == "Cluster")
        elif node.type == "Cluster":
            clusters.append(node)
    for cluster in clusters:
        for track, frames in cluster_frames(cluster, infos).items():
            parts.setdefault(track, []).append(frames)
    return infos, {track: concat(p) for track, p in parts.items()}


def classify(nodes: list[Node], have_init: bool = False) -> list[dict]:
    """The segments MSE would see: init (EBML header .. Tracks), media (each Cluster), or neither."""
    segments: list[dict] = []
    for index, node in enumerate(nodes):
        if node.type == "EBML":
            segment = nodes[index + 1] if index + 1 < len(nodes) and nodes[index + 1].type == "Segment" else None
            if segment is None:
                segments.append({"kind": "neither", "offset": node.offset, "size": node.size,
                                 "reason": "EBML header without a Segment after it"})  # fmt: skip
                continue
            types = [c.type for c in segment.children]
            if "Info" in types and "Tracks" in types and types.index("Info") < types.index("Tracks"):
                first_cluster = next((c for c in segment.children if c.type == "Cluster"), None)
                init_end = first_cluster.offset if first_cluster else segment.offset + segment.size
                segments.append({"kind": "init", "offset": node.offset, "size": init_end - node.offset})
                have_init = True
            else:
                segments.append({"kind": "neither", "offset": node.offset, "size": node.size,
                                 "reason": "Segment lacks Info then Tracks"})  # fmt: skip
            for cluster in (c for c in segment.children if c.type == "Cluster"):
                segments.append({"kind": "media", "offset": cluster.offset, "size": cluster.size})
        elif node.type == "Cluster":
            entry = {"kind": "media" if have_init else "neither", "offset": node.offset, "size": node.size}
            if not have_init:
                entry["reason"] = "Cluster before any initialization segment"
            segments.append(entry)
    return segments
