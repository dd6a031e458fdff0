"""Profile switches the browser suite cannot isolate, checked on the parts themselves."""

from __future__ import annotations

import numpy as np
import pytest

from msecli.errors import ParseError
from msecli.formats.frames import FRAME_DTYPE
from msecli.mse.coded_frames import FrameBatch
from msecli.mse.profiles import CHROMIUM, SPEC
from msecli.mse.segment_parser import Init, Media, NeedData, Skip, parser_for

JUNK = bytes.fromhex("0000001000000af1") + bytes(8)  # a 16-byte "box" of type 00 00 0a f1


def test_unknown_top_level_boxes_chromium_skips_them_the_spec_profile_refuses_them():
    chromium = parser_for('audio/mp4; codecs="mp4a.40.2"', CHROMIUM)
    assert chromium.next(JUNK) == Skip(16)
    assert chromium.next(JUNK[:12]) == NeedData()  # the rest of the box is waited for, not refused
    with pytest.raises(ParseError, match="where a segment should start"):
        parser_for('audio/mp4; codecs="mp4a.40.2"', SPEC).next(JUNK)


def _fill_from_zero(blocks: int) -> dict:
    """Audio only, paused at 0: the AAC sample's three segments (10 s, 470 frames, 120404 bytes of frames) again
    and again, 10 s further each time, so that nothing can be evicted (all of it lies after the position)."""
    steps: list[dict] = [{"op": "addSourceBuffer", "id": "a", "type": 'audio/mp4; codecs="mp4a.40.2"'},
                         {"op": "append", "sb": "a", "file": "audio/init.mp4"}]  # fmt: skip
    for block in range(blocks):
        steps.append({"op": "set", "sb": "a", "timestampOffset": 10 * block})
        steps += [{"op": "append", "sb": "a", "file": f"audio/seg-0000{i}.m4s"} for i in (1, 2, 3)]
    return {"name": "fill", "context": "window", "steps": steps}


@pytest.mark.parametrize("profile", ["chromium", "spec"])
def test_what_a_frame_counts_against_the_quota(media, tmp_path, profile):
    """frame_memory_overhead. chromium: Chromium 156 (msecli verify, the 12 MiB default audio quota) refused the
    first append of the 74th block with [0, 730) buffered, and every append after it: each frame counts 111 bytes
    besides its own. spec: bytes only: 12 MiB / 120404 bytes per 10 s = 1045.1 s, so the first refusal comes in
    the block at 1040 s, or the next (a block stores a little less: its first frame replaces the last one before)."""
    import json

    from msecli.sim.scenario import load_script, run_script

    path = tmp_path / "fill.json"
    path.write_text(json.dumps(_fill_from_zero(110)))
    steps = run_script(load_script(path, media["aac-tone"]), profile)["steps"]
    refused = [r for r in steps if r["exception"] == "QuotaExceededError"]
    assert refused and all(r["op"] == "append" for r in refused)
    first = refused[0]
    [[start, end]] = first["sourceBuffers"]["a"]["buffered"]
    if profile == "chromium":
        assert (first["step"], start, end) == (2 + 4 * 73 + 1, 0.0, 730.0)  # block 74's first segment
    else:
        assert start == 0.0 and 1040 < end <= 1050
    later_appends = [r for r in steps[first["step"]:] if r["op"] == "append"]
    assert all(r["exception"] == "QuotaExceededError" for r in later_appends[:3])  # nothing frees room


def test_a_script_quota_in_whole_mib_becomes_chromiums_own_limits():
    """verify runs Chromium with --mse-*-buffer-size-limit-mb (MiB) when the script's quota allows it exactly."""
    from msecli.browser.chromium import quota_flags

    assert quota_flags([1 << 20, 150 << 20]) == ["--mse-audio-buffer-size-limit-mb=1", "--mse-video-buffer-size-limit-mb=150"]
    assert quota_flags([110_000, 110_000]) == []  # not whole MiB: the browser keeps its own (a known difference)
    assert quota_flags(None) == [] and quota_flags([0, 1 << 20]) == []


def test_an_avcc_gives_its_parameter_sets_as_annex_b_bytes():
    """What a keyframe grows by in Chromium's MP4 parser: each SPS and PPS after a 4-byte start code. An avcC with
    one 25-byte SPS and one 6-byte PPS gives 4 + 25 + 4 + 6 = 39; one cut short gives what it holds, no error."""
    from msecli.formats.isobmff.boxes import parse_boxes

    def avcc(record: bytes) -> int:
        (node,) = parse_boxes((8 + len(record)).to_bytes(4, "big") + b"avcC" + record).nodes
        return node.fields["parameter_sets_annexb"]

    sps, pps = bytes([0x67]) + bytes(24), bytes([0x68]) + bytes(5)
    record = bytes([1, 0x64, 0, 0x1E, 0xFF, 0xE1]) + len(sps).to_bytes(2, "big") + sps + bytes([1]) + len(pps).to_bytes(2, "big") + pps
    assert avcc(record) == 39
    assert avcc(record[:-3]) == 29  # the PPS is cut short: the SPS alone
    assert avcc(record[:6]) == 0


def test_chromium_counts_only_the_appended_chunk_against_the_quota(media, tmp_path):
    """per_stream_quota: the size an append brings is the chunk's own, not the bytes of a frame its parser still
    holds. Chromium 156 (msecli verify, --mse-audio-buffer-size-limit-mb=1): the AAC sample as ADTS, appended ten
    times over in 8 KiB chunks, is refused first at step 98 with [0, 60.821299) buffered; later, each round's last,
    814-byte chunk (steps 112 and 128) still fits."""
    import json
    import os

    from msecli.sim.scenario import load_script, run_script

    size = os.path.getsize(media["adts"] / "tone.aac")
    steps: list[dict] = [{"op": "addSourceBuffer", "id": "a", "type": "audio/aac"}]
    for _ in range(9):
        steps += [{"op": "append", "sb": "a", "file": "tone.aac", "range": [at, min(at + 8192, size)]}
                  for at in range(0, size, 8192)]  # fmt: skip
    path = tmp_path / "adts.json"
    path.write_text(json.dumps({"name": "adts", "context": "window", "quota": [1 << 20, 150 << 20], "steps": steps}))
    records = run_script(load_script(path, media["adts"]), "chromium")["steps"]
    first = next(r for r in records if r["exception"])
    assert (size, first["step"], first["sourceBuffers"]["a"]["buffered"]) == (123694, 98, [[0.0, 60.821299]])
    assert records[112]["ok"] and records[128]["ok"] and not records[127]["ok"]


def test_mpeg_audio_microseconds_are_chromiums_double_products():
    """Chromium's AudioTimestampHelper times MPEG audio frames as trunc(double(1e6 / rate) * samples): 86 frames of 576
    samples at 24 kHz end at 2063999 us, not the exact 2064000 (seen with msecli verify: an MPEG-2 MP3 of 86 frames
    moved timestampOffset by 2.063999). Other formats' times are truncated from the exact value."""
    table = np.zeros(86, FRAME_DTYPE)
    table["pts"] = table["dts"] = np.arange(86) * 576
    table["duration"] = 576
    seq = np.arange(86)
    generated = FrameBatch(1, 24000, table, seq, cumulative=True).in_microseconds().table
    assert int(generated["pts"][-1] + generated["duration"][-1]) == 2_063_999
    assert int(generated["pts"][43]) == 1_031_999  # 43 x 576 samples: 1031999.9999999999 as a double
    assert int(generated["pts"][1]) == 24_000 and (generated["duration"] >= 23_999).all()
    exact = FrameBatch(1, 24000, table, seq).in_microseconds().table
    assert int(exact["pts"][-1] + exact["duration"][-1]) == 2_064_000


def test_an_mp3_info_frame_is_skipped_by_chromium_only():
    """A Layer III frame with an Info tag after its side information (17 bytes for MPEG-2 stereo): chromium
    initialises from it and skips it; the spec profile reads it as a coded frame."""
    header = bytes.fromhex("fff38400")  # MPEG-2 Layer III, 64 kbit/s, 24 kHz, stereo: 576 * 8000 // 24000 = 192 bytes
    frame = header + bytes(17) + b"Info" + bytes(192 - 25)
    for profile, second in ((CHROMIUM, Skip), (SPEC, Media)):
        parser = parser_for("audio/mpeg", profile)
        assert isinstance(parser.next(frame), Init)
        parser.begin_append()
        assert isinstance(parser.next(frame), second)
    assert isinstance(parser_for("audio/mpeg", CHROMIUM).next(frame[:100]), NeedData)
    assert isinstance(parser_for("audio/mpeg", SPEC).next(frame[:100]), Init)
