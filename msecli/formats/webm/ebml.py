"""EBML: variable-length integers and elements, for reading and for writing."""

from __future__ import annotations

import struct

from msecli.errors import ParseError
from msecli.formats import Buffer

UNKNOWN_SIZE = -1
_UNKNOWN_SIZE_8 = b"\x01\xff\xff\xff\xff\xff\xff\xff"


def read_vint(data: Buffer, offset: int, end: int, *, keep_marker: bool = False) -> tuple[int, int] | None:
    """(value, length) of the variable-length integer at `offset`, or None if it runs past `end`.

    With keep_marker the length-marker bit stays in the value (how element IDs are written).
    An all-ones size (the "unknown" size) reads as UNKNOWN_SIZE.
    """
    if offset >= end:
        return None
    first = data[offset]
    if first == 0:
        raise ParseError("EBML variable-length integer longer than 8 bytes (first byte 0x00)", offset=offset, path="")
    length = 9 - first.bit_length()
    if offset + length > end:
        return None
    value = first if keep_marker else first & (0xFF >> length)
    all_ones = value == (0xFF >> length)
    for byte in bytes(data[offset + 1 : offset + length]):
        value = (value << 8) | byte
        all_ones = all_ones and byte == 0xFF
    if all_ones and not keep_marker:
        return UNKNOWN_SIZE, length
    return value, length


def read_element_header(data: Buffer, offset: int, end: int) -> tuple[int, int, int] | None:
    """(element ID with its marker bits, offset of the data, data size or UNKNOWN_SIZE) of the element
    at `offset`, or None when its header runs past `end`."""
    element_id = read_vint(data, offset, end, keep_marker=True)
    if element_id is None:
        return None
    size = read_vint(data, offset + element_id[1], end)
    if size is None:
        return None
    return element_id[0], offset + element_id[1] + size[1], size[0]


def encode_size(size: int) -> bytes:
    """The shortest EBML size encoding of `size` (all-ones values are reserved for "unknown")."""
    for length in range(1, 9):
        if size < (1 << (7 * length)) - 1:
            return (size | (1 << (7 * length))).to_bytes(length, "big")
    raise ValueError(f"EBML size {size} too large")


def encode_id(element_id: int) -> bytes:
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")


def element(element_id: int, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return encode_id(element_id) + encode_size(len(body)) + body


def unknown_size_header(element_id: int) -> bytes:
    return encode_id(element_id) + _UNKNOWN_SIZE_8


def uint_element(element_id: int, value: int) -> bytes:
    return element(element_id, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def int_element(element_id: int, value: int) -> bytes:
    length = 1
    while not -(1 << (8 * length - 1)) <= value < (1 << (8 * length - 1)):
        length += 1
    return element(element_id, value.to_bytes(length, "big", signed=True))


def float_element(element_id: int, value: float) -> bytes:
    return element(element_id, struct.pack(">d", value))


def string_element(element_id: int, value: str) -> bytes:
    return element(element_id, value.encode("utf-8"))
