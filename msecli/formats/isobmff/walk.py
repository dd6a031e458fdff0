"""Walk the boxes of an ISO BMFF buffer: headers only, payloads are not copied."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from msecli.errors import ParseError
from msecli.formats import Buffer


@dataclass(frozen=True, slots=True)
class BoxHeader:
    type: str
    offset: int  # absolute offset of the box's first byte
    size: int  # whole box, header included
    header_size: int

    @property
    def payload_offset(self) -> int:
        return self.offset + self.header_size

    @property
    def end(self) -> int:
        return self.offset + self.size


def read_box_header(data: Buffer, offset: int, end: int, path: str = "") -> BoxHeader | None:
    """The header of the box at `offset`, or None when fewer bytes than its header remain before `end`.

    `size == 0` means "to the end of the enclosing buffer"; `size == 1` means a 64-bit size follows.
    Raises ParseError for a size that cannot be right (smaller than the header).
    """
    if end - offset < 8:
        return None
    size, raw_type = struct.unpack_from(">I4s", data, offset)
    box_type = raw_type.decode("latin-1")
    header_size = 8
    if size == 1:
        if end - offset < 16:
            return None
        (size,) = struct.unpack_from(">Q", data, offset + 8)
        header_size = 16
    elif size == 0:
        size = end - offset
    if box_type == "uuid":
        header_size += 16
    if size < header_size:
        where = f"{path}/{box_type}" if path else box_type
        raise ParseError(f"box size {size} is smaller than its {header_size}-byte header", offset=offset, path=where)
    return BoxHeader(box_type, offset, size, header_size)


def iter_boxes(data: Buffer, start: int = 0, end: int | None = None, path: str = "") -> Iterator[BoxHeader]:
    """The boxes laid end to end in data[start:end]; a box running past `end` raises ParseError."""
    end = len(data) if end is None else end
    offset = start
    while offset < end:
        header = read_box_header(data, offset, end, path)
        if header is None:
            raise ParseError(f"{end - offset} trailing bytes are too few for a box header", offset=offset, path=path)
        if header.end > end:
            where = f"{path}/{header.type}" if path else header.type
            raise ParseError(
                f"box size {header.size} runs past the end of its parent ({end - offset} bytes left)",
                offset=offset,
                path=where,
            )
        yield header
        offset = header.end


def find_box(data: Buffer, path: str, start: int = 0, end: int | None = None) -> BoxHeader | None:
    """The first box along a slash-separated path of container boxes, e.g. 'moov/trak/mdia/minf/stbl/stsd'."""
    first, _, rest = path.partition("/")
    for header in iter_boxes(data, start, end):
        if header.type == first:
            if not rest:
                return header
            child_start = header.payload_offset + CONTAINER_PAYLOAD_SKIP.get(header.type, 0)
            return find_box(data, rest, child_start, header.end)
    return None


# Bytes between a container box's header and its first child (full-box version/flags, entry counts).
CONTAINER_PAYLOAD_SKIP = {"stsd": 8, "dref": 8, "meta": 4}
