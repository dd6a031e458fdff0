"""Profile switches the browser suite cannot isolate, checked on the parts themselves."""

from __future__ import annotations

import pytest

from msecli.errors import ParseError
from msecli.mse.profiles import CHROMIUM, SPEC
from msecli.mse.segment_parser import NeedData, Skip, parser_for

JUNK = bytes.fromhex("0000001000000af1") + bytes(8)  # a 16-byte "box" of type 00 00 0a f1


def test_unknown_top_level_boxes_chromium_skips_them_the_spec_profile_refuses_them():
    chromium = parser_for('audio/mp4; codecs="mp4a.40.2"', CHROMIUM)
    assert chromium.next(JUNK) == Skip(16)
    assert chromium.next(JUNK[:12]) == NeedData()  # the rest of the box is waited for, not refused
    with pytest.raises(ParseError, match="where a segment should start"):
        parser_for('audio/mp4; codecs="mp4a.40.2"', SPEC).next(JUNK)
