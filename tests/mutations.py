"""Byte mutations for fuzzing parsers: truncations, bit flips, splices, and 0x00/0x01/0x7F/0x80/0xFF
written where box sizes, versions, flags and entry counts sit."""

from __future__ import annotations

from hypothesis import strategies as st

from msecli.errors import ParseError
from msecli.formats.isobmff.walk import iter_boxes


def field_positions(data: bytes) -> list[int]:
    """Where sizes, versions/flags and entry counts sit: the first bytes of every box's payload."""
    positions, stack = [], [(0, len(data))]
    while stack:
        start, end = stack.pop()
        try:
            for header in iter_boxes(data, start, end):
                positions += [header.offset, *range(header.payload_offset, min(header.end, header.payload_offset + 24), 4)]
                stack.append((header.payload_offset, header.end))
        except ParseError:
            continue
    return sorted(set(positions))


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    aimed = field_positions(seed) if seed[4:8] in (b"ftyp", b"moov") else []
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["truncate", "flip", "splice", "set", "set"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if action == "set" and aimed:
            at = min(draw(st.sampled_from(aimed)), len(data) - 1)
        if action == "truncate":
            del data[at:]
        elif action == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "set":  # sizes, counts and flags are where the trouble is
            value = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFF]))
            data[at : at + 4] = bytes([value]) * 4
        else:
            start = draw(st.integers(0, len(data) - 1))
            data[at:at] = data[start : start + draw(st.integers(1, 64))]
    return bytes(data)
