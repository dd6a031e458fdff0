"""Does the input end before its own headers say it should? Checks on the container's bytes that
FFmpeg's demuxers do not make (they stop quietly at the end of a cut file)."""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

from msecli.errors import ParseError
from msecli.formats import Buffer
from msecli.formats.isobmff.walk import read_box_header
from msecli.formats.webm import ids
from msecli.formats.webm.ebml import UNKNOWN_SIZE, read_element_header

TS_PACKET = 188
TS_TAIL_PACKETS = 4096  # how far from the end to look for an unfinished PES packet


def byte_level_shortfall(path: Path, format_name: str) -> str | None:
    """A description of what is missing, when the file's own structure shows it was cut; else None."""
    size = path.stat().st_size
    if size == 0:
        return "the file is empty"
    with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if "matroska" in format_name or "webm" in format_name:
            return matroska_shortfall(data, size)
        if format_name == "mpegts":
            return mpegts_shortfall(data, size)
        if format_name.startswith("mov"):
            return isobmff_shortfall(data, size)
    return None


def isobmff_shortfall(data: Buffer, size: int) -> str | None:
    """A top-level box declares more bytes than the file holds (a cut `mdat` hides a `moov` after it)."""
    offset = 0
    while True:
        try:
            header = read_box_header(data, offset, size)
        except ParseError:  # a size smaller than its header: damage, not truncation
            return None
        if header is None:
            return None
        if header.end > size:
            raw = header.type.encode("latin-1")
            name = header.type if raw.isalnum() or header.type in ("url ", "urn ") else f"box of type 0x{raw.hex()}"
            return f"{name} at byte {offset} declares {header.size} bytes, file holds {size - offset}"
        offset = header.end


def matroska_shortfall(data: Buffer, size: int) -> str | None:
    """The Segment, or one of its top-level children, declares more bytes than the file holds."""
    offset = 0
    while offset < size:
        header = _ebml_header(data, offset, size)
        if header is None:
            return None
        element_id, data_start, length = header
        if element_id != ids.SEGMENT:
            if length == UNKNOWN_SIZE:
                return None
            offset = data_start + length
            continue
        if length != UNKNOWN_SIZE and data_start + length > size:
            return f"Segment declares {length} bytes, file holds {size - data_start}"
        return _segment_children_shortfall(data, data_start, size)
    return None


def _segment_children_shortfall(data: Buffer, offset: int, size: int) -> str | None:
    names = {ids.CLUSTER: "Cluster", ids.CUES: "Cues", ids.TRACKS: "Tracks", ids.INFO: "Info"}
    while offset < size:
        header = _ebml_header(data, offset, size)
        if header is None:
            return f"the file ends inside an element header at byte {offset}"
        element_id, data_start, length = header
        if length == UNKNOWN_SIZE:
            return None  # a live stream's unknown-size Cluster: its end cannot be known from here
        if data_start + length > size:
            name = names.get(element_id, f"element 0x{element_id:X}")
            return f"{name} at byte {offset} declares {length} bytes, file holds {size - data_start}"
        offset = data_start + length
    return None


def _ebml_header(data: Buffer, offset: int, size: int) -> tuple[int, int, int] | None:
    try:
        return read_element_header(data, offset, size)
    except ParseError:  # not EBML where one should start: no opinion on truncation
        return None


def mpegts_shortfall(data: Buffer, size: int) -> str | None:
    """A cut TS packet, or a final PES packet (of a stream that declares PES lengths) left unfinished."""
    if size % TS_PACKET:
        return f"file size {size} is not a whole number of {TS_PACKET}-byte TS packets"
    open_pes: dict[int, list[int]] = {}  # pid -> [declared bytes, bytes seen]
    start = max(0, size - TS_TAIL_PACKETS * TS_PACKET)
    for offset in range(start, size, TS_PACKET):
        if data[offset] != 0x47:
            return None  # not plain 188-byte packets (M2TS, FEC): no opinion
        (flags,) = struct.unpack_from(">H", data, offset + 1)
        pid = flags & 0x1FFF
        control = data[offset + 3]
        payload = offset + 4
        if control & 0x20:
            payload += 1 + data[offset + 4]
        if not control & 0x10 or payload >= offset + TS_PACKET:
            continue
        if flags & 0x4000:  # payload_unit_start_indicator
            if data[payload : payload + 3] == b"\x00\x00\x01":
                (pes_length,) = struct.unpack_from(">H", data, payload + 4)
                open_pes[pid] = [pes_length + 6, offset + TS_PACKET - payload] if pes_length else [0, 0]
            else:
                open_pes.pop(pid, None)
        elif pid in open_pes:
            open_pes[pid][1] += offset + TS_PACKET - payload
    for pid, (declared, seen) in sorted(open_pes.items()):
        if declared and seen < declared:
            return f"the last PES packet of PID 0x{pid:x} holds {seen} of its {declared} bytes"
    return None
