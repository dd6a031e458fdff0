"""`segment` on damaged media: it succeeds or raises an MsecliError (one line for the user), never
anything else, and never leaves an output directory behind when it fails. (This found four bugs:
a stream with no packets, a stream whose codec FFmpeg does not know, undecodable metadata, and
binary box types printed raw in messages.)"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msecli.errors import MsecliError
from msecli.media.segment import SegmentOptions, segment
from tests.media import SAMPLES
from tests.mutations import mutated

SOURCES = {name: (SAMPLES / name).read_bytes() for name in ("aac-tone.m4a", "vp9-opus.webm")}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(st.sampled_from(sorted(SOURCES)).flatmap(lambda name: st.tuples(st.just(name), mutated(SOURCES[name]))))
def test_damaged_media_fails_cleanly(case):
    name, data = case
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / name
        source.write_bytes(data)
        out = Path(folder) / "out"
        try:
            segment(source, out, SegmentOptions(), force=False)
        except MsecliError:
            assert not out.exists()
            assert [p.name for p in Path(folder).iterdir()] == [name]
