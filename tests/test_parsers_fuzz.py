"""Whatever the bytes, the parsers return a result (maybe with warnings) or raise ParseError: never
another exception, never a hang (hypothesis deadline), never an allocation out of proportion to the
input (tracemalloc)."""

from __future__ import annotations

import tracemalloc

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msecli.errors import ParseError
from msecli.formats import bytestream
from msecli.formats.isobmff.sample_tables import read_movie
from msecli.formats.isobmff.walk import iter_boxes
from tests.media import SAMPLES
from tests.test_parsers import GOLDEN

SEEDS = {
    "mp4": (GOLDEN / "aac-init.mp4").read_bytes() + (GOLDEN / "aac-seg2.m4s").read_bytes(),
    "webm": (GOLDEN / "opus-init.webm").read_bytes() + (GOLDEN / "opus-seg2.webm").read_bytes(),
}
_progressive = (SAMPLES / "aac-tone.m4a").read_bytes()
_moov = next(b for b in iter_boxes(_progressive) if b.type == "moov")
MOOV = _progressive[_moov.offset : _moov.end]
ALLOWANCE = 64  # bytes allocated per input byte, at most, beyond a fixed 2 MiB


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


def survive(action) -> None:  # type: ignore[no-untyped-def]
    tracemalloc.start()
    try:
        action()
    except ParseError:
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def run_everything(data: bytes) -> None:
    fmt = bytestream.sniff(data)
    parsed = bytestream.parse(data, fmt)
    bytestream.classify(parsed, fmt)
    bytestream.frames(parsed, fmt)
    for node in parsed.nodes:
        node.to_dict()


FUZZ = settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


@FUZZ
@given(st.one_of(mutated(SEEDS["mp4"]), mutated(SEEDS["webm"])))
def test_segment_parsers_survive_mutation(data: bytes) -> None:
    peak = survive(lambda: run_everything(data))
    assert peak < 2 * 1024 * 1024 + ALLOWANCE * len(data)


@FUZZ
@given(mutated(MOOV))
def test_sample_tables_survive_mutation(data: bytes) -> None:
    peak = survive(lambda: read_movie(data))
    assert peak < 2 * 1024 * 1024 + ALLOWANCE * len(data)


@FUZZ
@given(st.binary(max_size=256))
def test_random_bytes(data: bytes) -> None:
    survive(lambda: run_everything(data))
