"""isTypeSupported against Chromium's own answers: 289 type strings recorded from Chromium 156 with msecli verify
(tests/golden/is-type-supported-chromium.json), and the parsing rules those answers come from."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from msecli.mse.codec_strings import parse_av1, parse_vp9
from msecli.mse.types import codecs_of, content_type, generate_timestamps_flag, is_type_supported

RECORDED = json.loads((Path(__file__).parent / "golden" / "is-type-supported-chromium.json").read_text())["answers"]
# Where msecli answers otherwise on purpose (README, "Known differences").
DEPARTURES = {
    'video/mp4; codecs="hev1.1.6.L93.B0"': "HEVC: Debian's Chromium has no platform decoder; shipping Chrome does",
    'video/mp4; codecs="hvc1.1.6.L93.B0"': "HEVC: Debian's Chromium has no platform decoder; shipping Chrome does",
    'video/mp2t; codecs="avc1.64001e,mp4a.40.2"': "msecli has no MPEG-2 TS byte stream parser",
    'audio/mp4; codecs="iamf.000.000.Opus"': "msecli has no IAMF parser",
}


def test_every_recorded_chromium_answer_is_msecli_s_except_the_listed_departures():
    wrong = [(t, chromium) for t, chromium in RECORDED if t not in DEPARTURES and is_type_supported(t) != chromium]
    assert wrong == []
    recorded = dict(RECORDED)
    for type_string in DEPARTURES:  # each still a departure: Chromium said no, or yes where msecli cannot parse
        if type_string in recorded:
            assert is_type_supported(type_string) != recorded[type_string], type_string


def test_blink_reads_the_first_codecs_parameter_with_every_quote_dropped():
    assert content_type(' video/MP4 ; foo="a;codecs=x"; Codecs = "avc1.64001e, mp4a.40.2" ; codecs="vp9"') == (
        "video/MP4", "avc1.64001e, mp4a.40.2")
    assert content_type('video/mp4; codecs="avc1.64001e') == ("video/mp4", "avc1.64001e")
    assert content_type("video/mp4; codecs") == ("video/mp4", None)
    assert codecs_of('video/mp4; codecs="avc1.64001e,,mp4a.40.2"') == ["avc1.64001e", "mp4a.40.2"]
    assert generate_timestamps_flag(" AUDIO/AAC ; x=y") and not generate_timestamps_flag("audio/mp4; codecs=mp4a.40.2")


@given(st.text(max_size=80))
def test_any_string_gets_an_answer(text):
    assert is_type_supported(text) in (True, False)
    assert is_type_supported(f'video/mp4; codecs="{text}"') in (True, False)


FIELD = st.integers(0, 30).map(lambda v: f"{v:02d}")


@given(st.integers(0, 3), st.sampled_from([10, 11, 20, 21, 30, 31, 40, 41, 50, 51, 52, 60, 61, 62]),
       st.sampled_from([8, 10, 12]), st.lists(FIELD, max_size=5))
def test_vp9_strings_stand_or_fall_by_each_field(profile, level, depth, rest):
    codec = ".".join([f"vp09.{profile:02d}.{level}.{depth:02d}", *rest])
    checks = (lambda v: v <= 3, lambda v: v in (1, 2) or 4 <= v <= 12 or v == 22,
              lambda v: 1 <= v <= 18 and v != 3, lambda v: v <= 11 and v != 3, lambda v: v <= 1)
    assert parse_vp9(codec) == all(check(int(v)) for check, v in zip(checks, rest))
    assert not parse_vp9(codec.replace(f".{level}.", ".12.", 1))  # level 1.2 does not exist


@given(st.integers(0, 2), st.integers(0, 40), st.sampled_from("MHX"), st.sampled_from([8, 9, 10, 12]))
def test_av1_strings_need_a_profile_level_tier_and_depth_chromium_knows(profile, level, tier, depth):
    assert parse_av1(f"av01.{profile}.{level:02d}{tier}.{depth:02d}") == (level <= 31 and tier != "X" and depth != 9)
