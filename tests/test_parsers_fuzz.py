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
from tests.mutations import mutated
from tests.test_parsers import GOLDEN

SEEDS = {
    "mp4": (GOLDEN / "aac-init.mp4").read_bytes() + (GOLDEN / "aac-seg2.m4s").read_bytes(),
    "webm": (GOLDEN / "opus-init.webm").read_bytes() + (GOLDEN / "opus-seg2.webm").read_bytes(),
}
_progressive = (SAMPLES / "aac-tone.m4a").read_bytes()
_moov = next(b for b in iter_boxes(_progressive) if b.type == "moov")
MOOV = _progressive[_moov.offset : _moov.end]
ALLOWANCE = 64  # bytes allocated per input byte, at most, beyond a fixed 2 MiB


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
