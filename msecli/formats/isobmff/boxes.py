"""Parse ISO BMFF boxes into a tree of Nodes with the fields that matter decoded.

Containers are walked; the boxes below have decoders (one function each, registered by type);
anything else is kept as an opaque node. `mdat` payloads are never read. Errors inside a box are
ParseErrors naming the byte offset and the box path (`moof/traf[1]/trun`); a top-level box cut
short by the end of the buffer is kept, marked truncated, with a warning.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from msecli.errors import ParseError
from msecli.formats import Buffer, codecs
from msecli.formats.isobmff.walk import read_box_header
from msecli.formats.reader import Reader

MAX_DEPTH = 32
CONTAINERS = {"moov", "trak", "mdia", "minf", "stbl", "dinf", "edts", "mvex", "moof", "traf", "mfra",
              "udta", "sinf", "schi", "rinf"}  # fmt: skip
VISUAL_ENTRIES = {"avc1", "avc3", "hvc1", "hev1", "av01", "vp08", "vp09", "encv", "mp4v", "dvh1", "dvhe"}
AUDIO_ENTRIES = {"mp4a", "Opus", "fLaC", "ac-3", "ec-3", "enca", ".mp3", "alac"}


@dataclass
class Node:
    """A box (or, for WebM, an element): where it is, what it says, what it holds."""

    type: str
    offset: int
    size: int
    header_size: int = 8
    fields: dict[str, Any] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)
    table: np.ndarray | None = field(default=None, repr=False)  # trun: the raw per-sample table
    truncated: bool = False

    def child(self, box_type: str) -> Node | None:
        return next((c for c in self.children if c.type == box_type), None)

    def all(self, box_type: str) -> list[Node]:
        return [c for c in self.children if c.type == box_type]

    def find(self, path: str) -> Node | None:
        node: Node | None = self
        for part in path.split("/"):
            node = node.child(part) if node is not None else None
        return node

    def to_dict(self, depth: int | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "offset": self.offset, "size": self.size, "fields": self.fields}
        if self.truncated:
            out["truncated"] = True
        if depth is None or depth > 1:
            out["children"] = [c.to_dict(None if depth is None else depth - 1) for c in self.children]
        else:
            out["children"] = []
        return out


@dataclass
class Parsed:
    nodes: list[Node]
    warnings: list[str]


Decoder = Callable[[Reader, Node], None]
DECODERS: dict[str, Decoder] = {}


def decoder(*box_types: str) -> Callable[[Decoder], Decoder]:
    def register(function: Decoder) -> Decoder:
        for box_type in box_types:
            DECODERS[box_type] = function
        return function

    return register


def parse_boxes(data: Buffer, start: int = 0, end: int | None = None) -> Parsed:
    """Every top-level box in data[start:end]."""
    end = len(data) if end is None else end
    nodes: list[Node] = []
    warnings: list[str] = []
    offset = start
    index: dict[str, int] = {}
    while offset < end:
        header = read_box_header(data, offset, end)
        if header is None:
            warnings.append(f"{end - offset} bytes at byte {offset} are too few for a box header")
            break
        index[header.type] = index.get(header.type, 0) + 1
        path = header.type
        node = Node(header.type, header.offset, header.size, header.header_size)
        if header.end > end:
            node.truncated = True
            warnings.append(
                f"{path} at byte {offset} declares {header.size} bytes, {end - offset} are there: truncated"
            )
            if header.type in ("mdat", "free", "skip"):
                node.fields["data_size"] = header.size - header.header_size
            nodes.append(node)
            break
        _decode(data, node, path, 0)
        nodes.append(node)
        offset = header.end
    return Parsed(nodes, warnings)


def _decode(data: Buffer, node: Node, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ParseError(f"boxes nested deeper than {MAX_DEPTH}", offset=node.offset, path=path)
    reader = Reader(data, node.offset + node.header_size, node.offset + node.size, path)
    if node.type == "uuid":
        node.fields["usertype"] = bytes(
            data[node.offset + node.header_size - 16 : node.offset + node.header_size]
        ).hex()
    if node.type in CONTAINERS:
        _children(data, node, reader, path, depth)
    elif node.type in DECODERS:
        DECODERS[node.type](reader, node)
        if node.type in ("stsd", "dref", "meta") or node.type in VISUAL_ENTRIES or node.type in AUDIO_ENTRIES:
            _children(data, node, reader, path, depth)
    if node.type == "traf":
        _annotate_traf(node)
    if node.type in VISUAL_ENTRIES or node.type in AUDIO_ENTRIES:
        _annotate_codecs(data, node)


def _children(data: Buffer, parent: Node, reader: Reader, path: str, depth: int) -> None:
    offset, end = reader.position, reader.end
    counts: dict[str, int] = {}
    while offset < end:
        header = read_box_header(data, offset, end, path)
        if header is None:
            raise ParseError(f"{end - offset} bytes left in {parent.type} are too few for a box header",
                             offset=offset, path=path)  # fmt: skip
        counts[header.type] = counts.get(header.type, 0) + 1
        child_path = f"{path}/{header.type}" + (f"[{counts[header.type]}]" if header.type in ("trak", "traf") else "")
        if header.end > end:
            raise ParseError(f"box size {header.size} runs past the end of its parent ({end - offset} bytes left)",
                             offset=offset, path=child_path)  # fmt: skip
        if header.type == parent.type and header.type in CONTAINERS:
            raise ParseError(f"{header.type} inside {header.type}", offset=offset, path=child_path)
        child = Node(header.type, header.offset, header.size, header.header_size)
        _decode(data, child, child_path, depth + 1)
        parent.children.append(child)
        offset = header.end


# Decoders, one per box, named by the standard's field names. Each reads from the payload start.


@decoder("ftyp", "styp")
def _ftyp(r: Reader, node: Node) -> None:
    node.fields["major_brand"] = r.fourcc()
    node.fields["minor_version"] = r.u32()
    node.fields["compatible_brands"] = [r.fourcc() for _ in range(r.remaining // 4)]


@decoder("mvhd")
def _mvhd(r: Reader, node: Node) -> None:
    version, _ = r.version_and_flags()
    r.skip(16 if version == 1 else 8)
    node.fields["timescale"] = r.u32()
    node.fields["duration"] = r.u64() if version == 1 else r.u32()
    r.skip(4 + 2 + 10 + 36 + 24)
    node.fields["next_track_ID"] = r.u32()


@decoder("tkhd")
def _tkhd(r: Reader, node: Node) -> None:
    version, flags = r.version_and_flags()
    r.skip(16 if version == 1 else 8)
    node.fields["track_ID"] = r.u32()
    r.skip(4)
    node.fields["duration"] = r.u64() if version == 1 else r.u32()
    node.fields["enabled"] = bool(flags & 1)
    r.skip(8 + 2 + 2 + 2 + 2 + 36)
    node.fields["width"] = r.fixed16_16()
    node.fields["height"] = r.fixed16_16()


@decoder("elst")
def _elst(r: Reader, node: Node) -> None:
    version, _ = r.version_and_flags()
    count = r.u32()
    r.need(count * (20 if version == 1 else 12), f"entry_count {count}")
    entries = []
    for _ in range(count):
        duration, media_time = (r.u64(), r.i64()) if version == 1 else (r.u32(), r.i32())
        entries.append(
            {"segment_duration": duration, "media_time": media_time, "media_rate": r.i16() + r.u16() / 65536}
        )
    node.fields.update(entry_count=count, entries=entries[:16])


@decoder("mdhd")
def _mdhd(r: Reader, node: Node) -> None:
    version, _ = r.version_and_flags()
    r.skip(16 if version == 1 else 8)
    node.fields["timescale"] = r.u32()
    node.fields["duration"] = r.u64() if version == 1 else r.u32()
    packed = r.u16()
    node.fields["language"] = "".join(chr(((packed >> shift) & 0x1F) + 0x60) for shift in (10, 5, 0))


@decoder("hdlr")
def _hdlr(r: Reader, node: Node) -> None:
    r.version_and_flags()
    r.skip(4)
    node.fields["handler_type"] = r.fourcc()
    r.skip(12)
    node.fields["name"] = r.cstring()


@decoder("stsd", "dref")
def _entry_list(r: Reader, node: Node) -> None:
    r.version_and_flags()
    node.fields["entry_count"] = r.u32()


@decoder("meta")
def _meta(r: Reader, node: Node) -> None:
    r.version_and_flags()


@decoder(*VISUAL_ENTRIES)
def _visual_entry(r: Reader, node: Node) -> None:
    r.skip(6)
    node.fields["data_reference_index"] = r.u16()
    r.skip(16)
    node.fields["width"] = r.u16()
    node.fields["height"] = r.u16()
    r.skip(4 + 4 + 4 + 2)
    name = r.bytes(32)
    node.fields["compressorname"] = name[1 : 1 + min(name[0], 31)].decode("latin-1")
    r.skip(4)


@decoder(*AUDIO_ENTRIES)
def _audio_entry(r: Reader, node: Node) -> None:
    r.skip(6)
    node.fields["data_reference_index"] = r.u16()
    version = r.u16()
    r.skip(6)
    node.fields["channelcount"] = r.u16()
    node.fields["samplesize"] = r.u16()
    r.skip(4)
    node.fields["samplerate"] = r.u32() >> 16
    r.skip({1: 16, 2: 36}.get(version, 0))


@decoder("avcC")
def _avcc(r: Reader, node: Node) -> None:
    r.skip(1)
    node.fields.update(AVCProfileIndication=r.u8(), profile_compatibility=r.u8(), AVCLevelIndication=r.u8())
    node.fields["nal_unit_length"] = (r.u8() & 3) + 1
    node.fields["sps_count"] = r.u8() & 0x1F
    node.fields["parameter_sets_annexb"] = _annexb_parameter_sets(r, node.fields["sps_count"])


def _annexb_parameter_sets(r: Reader, sps_count: int) -> int:
    """The SPS and PPS NAL units of an avcC as Annex B (each after a 4-byte start code), in bytes; what a
    record cut short holds, without failing (the codecs string needs only the first bytes)."""
    total, count = 0, sps_count
    for is_pps in (False, True):
        if is_pps:
            if r.remaining < 1:
                break
            count = r.u8()
        for _ in range(count):
            if r.remaining < 2:
                return total
            length = r.u16()
            if r.remaining < length:
                return total
            r.skip(length)
            total += 4 + length
    return total


@decoder("hvcC")
def _hvcc(r: Reader, node: Node) -> None:
    r.skip(1)
    first = r.u8()
    node.fields.update(general_profile_space=first >> 6, general_tier_flag=(first >> 5) & 1,
                       general_profile_idc=first & 0x1F)  # fmt: skip
    r.skip(4 + 6)
    node.fields["general_level_idc"] = r.u8()
    r.skip(8)
    node.fields["nal_unit_length"] = (r.u8() & 3) + 1
    node.fields["array_count"] = r.u8()


@decoder("av1C")
def _av1c(r: Reader, node: Node) -> None:
    r.skip(1)
    first, second = r.u8(), r.u8()
    node.fields.update(seq_profile=first >> 5, seq_level_idx_0=first & 0x1F, seq_tier_0=second >> 7,
                       high_bitdepth=(second >> 6) & 1, twelve_bit=(second >> 5) & 1, monochrome=(second >> 4) & 1)  # fmt: skip


@decoder("vpcC")
def _vpcc(r: Reader, node: Node) -> None:
    r.version_and_flags()
    node.fields.update(profile=r.u8(), level=r.u8())
    packed = r.u8()
    node.fields.update(bitDepth=packed >> 4, chromaSubsampling=(packed >> 1) & 7, videoFullRangeFlag=packed & 1)
    node.fields.update(colourPrimaries=r.u8(), transferCharacteristics=r.u8(), matrixCoefficients=r.u8())


@decoder("esds")
def _esds(r: Reader, node: Node) -> None:
    r.version_and_flags()
    payload = r.bytes(r.remaining)
    try:
        oti, specific = codecs.esds_decoder_config(payload)
    except (ValueError, IndexError):
        raise ParseError("malformed ES descriptor", offset=node.offset, path="esds") from None
    node.fields["objectTypeIndication"] = oti
    if oti == 0x40 and specific:
        node.fields["audioObjectType"] = codecs.audio_object_type(specific)


@decoder("dOps")
def _dops(r: Reader, node: Node) -> None:
    node.fields.update(Version=r.u8(), OutputChannelCount=r.u8(), PreSkip=r.u16(), InputSampleRate=r.u32(),
                       OutputGain=r.i16(), ChannelMappingFamily=r.u8())  # fmt: skip


@decoder("dfLa")
def _dfla(r: Reader, node: Node) -> None:
    """FLACSpecificBox: metadata blocks; the first is STREAMINFO."""
    r.version_and_flags()
    blocks = []
    while r.remaining >= 4:
        header = r.u32()
        block_type, length = (header >> 24) & 0x7F, header & 0xFFFFFF
        if block_type == 0 and length >= 18:
            start = r.position
            r.skip(10)
            packed = r.u32()
            node.fields.update(
                sample_rate=packed >> 12, channels=((packed >> 9) & 7) + 1, bits_per_sample=((packed >> 4) & 0x1F) + 1
            )
            r.position = start
        blocks.append(block_type)
        r.skip(length)
        if header >> 31:  # last-metadata-block flag
            break
    node.fields["metadata_blocks"] = blocks


@decoder("dac3")
def _dac3(r: Reader, node: Node) -> None:
    """AC3SpecificBox: fscod(2) bsid(5) bsmod(3) acmod(3) lfeon(1) bit_rate_code(5)."""
    packed = r.u24()
    node.fields.update(fscod=packed >> 22, bsid=(packed >> 17) & 0x1F, bsmod=(packed >> 14) & 7,
                       acmod=(packed >> 11) & 7, lfeon=(packed >> 10) & 1, bit_rate_code=(packed >> 5) & 0x1F)  # fmt: skip


@decoder("btrt")
def _btrt(r: Reader, node: Node) -> None:
    node.fields.update(bufferSizeDB=r.u32(), maxBitrate=r.u32(), avgBitrate=r.u32())


@decoder("pasp")
def _pasp(r: Reader, node: Node) -> None:
    node.fields.update(hSpacing=r.u32(), vSpacing=r.u32())


@decoder("stts", "ctts", "stsc", "stco", "co64", "stss", "stsz")
def _sample_table(r: Reader, node: Node) -> None:
    r.version_and_flags()
    if node.type == "stsz":
        node.fields["sample_size"] = r.u32()
        node.fields["sample_count"] = r.u32()
    else:
        node.fields["entry_count"] = r.u32()


@decoder("mehd")
def _mehd(r: Reader, node: Node) -> None:
    version, _ = r.version_and_flags()
    node.fields["fragment_duration"] = r.u64() if version == 1 else r.u32()


@decoder("trex")
def _trex(r: Reader, node: Node) -> None:
    r.version_and_flags()
    node.fields.update(track_ID=r.u32(), default_sample_description_index=r.u32(), default_sample_duration=r.u32(),
                       default_sample_size=r.u32(), default_sample_flags=r.u32())  # fmt: skip


@decoder("mfhd")
def _mfhd(r: Reader, node: Node) -> None:
    r.version_and_flags()
    node.fields["sequence_number"] = r.u32()


@decoder("tfhd")
def _tfhd(r: Reader, node: Node) -> None:
    _, flags = r.version_and_flags()
    node.fields["track_ID"] = r.u32()
    if flags & 0x01:
        node.fields["base_data_offset"] = r.u64()
    if flags & 0x02:
        node.fields["sample_description_index"] = r.u32()
    if flags & 0x08:
        node.fields["default_sample_duration"] = r.u32()
    if flags & 0x10:
        node.fields["default_sample_size"] = r.u32()
    if flags & 0x20:
        node.fields["default_sample_flags"] = r.u32()
    node.fields["duration_is_empty"] = bool(flags & 0x010000)
    node.fields["default_base_is_moof"] = bool(flags & 0x020000)


@decoder("tfdt")
def _tfdt(r: Reader, node: Node) -> None:
    version, _ = r.version_and_flags()
    node.fields["version"] = version
    node.fields["baseMediaDecodeTime"] = r.u64() if version == 1 else r.u32()


TRUN_FIELDS = ((0x100, "duration"), (0x200, "size"), (0x400, "flags"), (0x800, "cto"))


def trun_dtype(flags: int, version: int) -> np.dtype:
    """The per-sample table of a trun with these flags (composition offsets signed from version 1)."""
    return _trun_dtype(flags & 0xF00, version != 0)


@functools.cache  # at most 32 entries: the four per-sample field bits and signed or not
def _trun_dtype(fields: int, signed: bool) -> np.dtype:
    return np.dtype([(name, (">i4" if name == "cto" and signed else ">u4")) for bit, name in TRUN_FIELDS if fields & bit])


@decoder("trun")
def _trun(r: Reader, node: Node) -> None:
    version, flags = r.version_and_flags()
    count = r.u32()
    node.fields.update(version=version, flags=flags, sample_count=count)
    if flags & 0x01:
        node.fields["data_offset"] = r.i32()
    if flags & 0x04:
        node.fields["first_sample_flags"] = r.u32()
    dtype = trun_dtype(flags, version)
    needed = count * dtype.itemsize
    if needed > r.remaining:
        raise ParseError(f"sample_count {count} needs {needed} bytes, box has {r.remaining}",
                         offset=node.offset, path=r.path)  # fmt: skip
    if dtype.itemsize:  # a copy: the table must not pin the (memory-mapped) buffer
        node.table = np.frombuffer(r.data, dtype=dtype, count=count, offset=r.position).copy()
    else:
        # Every sample from the defaults: nothing in the box bounds the count, so the bytes after it must
        # (any sample but an empty one has at least a byte of data there). A 48-byte input asking for 4
        # billion samples is refused, not allocated.
        following = len(r.data) - r.position
        if count > following:
            raise ParseError(f"sample_count {count} without per-sample fields exceeds the {following} bytes that "
                             "follow", offset=node.offset, path=r.path)  # fmt: skip
        node.table = np.zeros(count, dtype=[("_", "u1")])
    r.skip(needed)


@decoder("sbgp")
def _sbgp(r: Reader, node: Node) -> None:
    version, _ = r.version_and_flags()
    node.fields["grouping_type"] = r.fourcc()
    if version == 1:
        node.fields["grouping_type_parameter"] = r.u32()
    node.fields["entry_count"] = r.u32()


@decoder("sgpd")
def _sgpd(r: Reader, node: Node) -> None:
    version, _ = r.version_and_flags()
    node.fields["grouping_type"] = r.fourcc()
    if version >= 1:
        node.fields["default_length"] = r.u32()
    if version >= 2:
        node.fields["default_sample_description_index"] = r.u32()
    node.fields["entry_count"] = r.u32()


@decoder("saiz")
def _saiz(r: Reader, node: Node) -> None:
    _, flags = r.version_and_flags()
    if flags & 1:
        node.fields["aux_info_type"] = r.fourcc()
        r.skip(4)
    node.fields["default_sample_info_size"] = r.u8()
    node.fields["sample_count"] = r.u32()


@decoder("saio")
def _saio(r: Reader, node: Node) -> None:
    _, flags = r.version_and_flags()
    if flags & 1:
        node.fields["aux_info_type"] = r.fourcc()
        r.skip(4)
    node.fields["entry_count"] = r.u32()


@decoder("sidx")
def _sidx(r: Reader, node: Node) -> None:
    version, _ = r.version_and_flags()
    node.fields["reference_ID"] = r.u32()
    node.fields["timescale"] = r.u32()
    node.fields["earliest_presentation_time"] = r.u64() if version == 1 else r.u32()
    node.fields["first_offset"] = r.u64() if version == 1 else r.u32()
    r.skip(2)
    count = r.u16()
    r.need(count * 12, f"reference_count {count}")
    references = []
    for _ in range(count):
        size, duration, sap = r.u32(), r.u32(), r.u32()
        references.append({"reference_type": size >> 31, "referenced_size": size & 0x7FFFFFFF,
                           "subsegment_duration": duration, "starts_with_SAP": sap >> 31})  # fmt: skip
    node.fields["reference_count"] = count
    node.fields["references"] = references[:16]


@decoder("emsg")
def _emsg(r: Reader, node: Node) -> None:
    version, _ = r.version_and_flags()
    if version == 0:
        node.fields.update(scheme_id_uri=r.cstring(), value=r.cstring(), timescale=r.u32(),
                           presentation_time_delta=r.u32(), event_duration=r.u32(), id=r.u32())  # fmt: skip
    else:
        node.fields.update(timescale=r.u32(), presentation_time=r.u64(), event_duration=r.u32(), id=r.u32(),
                           scheme_id_uri=r.cstring(), value=r.cstring())  # fmt: skip
    node.fields["message_size"] = r.remaining


@decoder("prft")
def _prft(r: Reader, node: Node) -> None:
    version, _ = r.version_and_flags()
    node.fields["reference_track_ID"] = r.u32()
    node.fields["ntp_timestamp"] = r.u64()
    node.fields["media_time"] = r.u64() if version == 1 else r.u32()


@decoder("mdat", "free", "skip")
def _payload(r: Reader, node: Node) -> None:
    node.fields["data_size"] = r.remaining


def _annotate_traf(traf: Node) -> None:
    """Sample count and first/last decode times of the traf's runs (ticks), when tfdt says where they start."""
    tfhd, tfdt = traf.child("tfhd"), traf.child("tfdt")
    runs = traf.all("trun")
    if tfhd is None or tfdt is None or not runs:
        return
    default = tfhd.fields.get("default_sample_duration")
    start = tfdt.fields["baseMediaDecodeTime"]
    for run in runs:
        assert run.table is not None
        count = run.fields["sample_count"]
        if "duration" in (run.table.dtype.names or ()):
            durations = run.table["duration"].astype(np.int64)
        elif default is not None:
            durations = np.full(count, default, dtype=np.int64)
        else:
            continue  # the defaults live in the init segment's trex
        if count:
            run.fields["first_dts"] = int(start)
            run.fields["last_dts"] = int(start + durations[:-1].sum())
        start += int(durations.sum())


def read_sample_entry(stsd: Buffer) -> tuple[str, dict[str, bytes]]:
    """The first sample entry of a whole `stsd` box: its type and its child boxes' payloads by type."""
    (node,) = parse_boxes(stsd).nodes
    if node.type != "stsd" or not node.children:
        raise ParseError("stsd holds no sample entry", offset=0, path="stsd")
    entry = node.children[0]
    return entry.type, {c.type: bytes(stsd[c.offset + c.header_size : c.offset + c.size]) for c in entry.children}


def _annotate_codecs(data: Buffer, entry: Node) -> None:
    children = {c.type: bytes(data[c.offset + c.header_size : c.offset + c.size]) for c in entry.children}
    try:
        entry.fields["codecs"] = codecs.from_sample_entry(entry.type, children)
    except (ValueError, IndexError):
        pass
