"""Profile switches the browser suite cannot isolate, checked on the parts themselves."""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msecli.errors import ParseError
from msecli.formats import nal
from msecli.formats.frames import FRAME_DTYPE
from msecli.formats.isobmff.write import TrackRun, media_segment_header
from msecli.mse.coded_frames import FrameBatch
from msecli.mse.profiles import CHROMIUM, SPEC
from msecli.mse.segment_parser import Init, Media, NeedData, Skip, parser_for
from msecli.sim.page import attached_page
from tests.media import trun_layout

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
        parser.begin_append(0)
        assert isinstance(parser.next(frame), second)
    assert isinstance(parser_for("audio/mpeg", CHROMIUM).next(frame[:100]), NeedData)
    assert isinstance(parser_for("audio/mpeg", SPEC).next(frame[:100]), Init)


PARSE_STEP = 128 * 1024  # Chromium's StreamParser::kMaxPendingBytesPerParse


def _h264_segment(count: int, size: int, refused: int) -> tuple[bytes, np.ndarray]:
    """A media segment of `count` H.264 samples of `size` bytes at 30 fps (timescale 15360), each one NAL unit; sample
    `refused` has a unit of length 0. Also where each sample's bytes end, read back with struct."""
    run = TrackRun(1, 0, np.full(count, 512, np.uint32), np.full(count, size, np.uint32), np.arange(count) == 0,
                   np.full(count, 1024, np.int64))  # fmt: skip  (the init segment's edit list subtracts 1024)
    header = media_segment_header(1, [run])
    samples = bytearray()
    for index in range(count):
        length = 0 if index == refused else size - 4
        samples += struct.pack(">I", length) + bytes([0x65 if index == 0 else 0x41]) + bytes(size - 5)
    ends = len(header) + size * np.arange(1, count + 1)
    return header + bytes(samples), ends


@pytest.mark.parametrize("leftover", [0, 1000])
def test_a_refused_h264_sample_keeps_the_frames_of_earlier_parse_steps(media, leftover):
    """Chromium parses an append 128 KiB at a time and processes each step's complete frames at its end: a refused
    sample loses only the frames of its own step (seen with msecli verify at 147 KB, 304 KB and 704 KB into a 1.2 MB
    segment, and every 128 KiB from 131 KB to 524 KB in a 631 KB one). Steps count from the append's first byte:
    with the first `leftover` bytes appended before, from there."""
    segment, ends = _h264_segment(count=200, size=3000, refused=120)
    init = (media["h264-aac"] / "video" / "init.mp4").read_bytes()
    for profile in (CHROMIUM, SPEC):
        page = attached_page(profile)
        sb = page.media_source.add_source_buffer('video/mp4; codecs="avc1.64001e"')
        for part in ([init, segment[:leftover], segment[leftover:]] if leftover else [init, segment]):
            sb.append_buffer(part)
            page.run_until_settled()
        (track,) = sb.track_buffers.values()
        if profile is SPEC:
            assert len(track) == 200 and page.media_source.ready_state == "open"
            continue
        refused_step = -(-(int(ends[120]) - leftover) // PARSE_STEP)  # ceil: the step that reaches its end
        flushed = int(np.count_nonzero(ends <= leftover + (refused_step - 1) * PARSE_STEP))
        assert refused_step == 3 and 0 < flushed < 120
        assert len(track) == flushed and page.media_source.ready_state == "ended"


def test_nal_unit_walk_as_chromium_converts_to_annex_b():
    """AVC::ConvertFrameToAnnexB: the units must end exactly at the sample's end, none of length 0 (a unit one byte
    too long and 3 bytes left over were both refused by Chromium, seen with msecli verify); length prefixes of 1, 2 or
    4 bytes only; an empty sample is never walked. AnalyzeAnnexB: the first slice decides IDR or not, and only an AUD
    first, parameter sets, SEI, filler or unspecified units may come before it."""
    samples = [
        b"\x00\x00\x00\x02\x65\x88",  # one IDR slice
        b"\x00\x00\x00\x01\x09" + b"\x00\x00\x00\x02\x06\x05" + b"\x00\x00\x00\x02\x41\x9a",  # AUD, SEI, non-IDR slice
        b"\x00\x00\x00\x03\x65\x88",  # one byte too long
        b"\x00\x00\x00\x02\x65\x88\x00\x00\x00",  # 3 bytes left over
        b"\x00\x00\x00\x00\x65\x88",  # a unit of length 0
        b"",  # empty
        b"\x00\x00\x00\x02\x0c\x00" + b"\x00\x00\x00\x01\x65",  # filler before the slice is skipped
        b"\x00\x00\x00\x01\xe5",  # forbidden bit
        b"\x00\x00",  # shorter than a length prefix
        b"\x00\x00\x00\x01\x0c" + b"\x00\x00\x00\x01\x09" + b"\x00\x00\x00\x01\x41",  # filler, AUD, slice
        b"\x00\x00\x00\x01\x06" + b"\x00\x00\x00\x01\x09" + b"\x00\x00\x00\x01\x65",  # AUD after SEI: stops
    ]
    data = b"".join(samples)
    offsets = np.cumsum([0] + [len(s) for s in samples[:-1]])
    sizes = np.array([len(s) for s in samples])
    check = nal.check_samples(data, offsets, sizes, 4)
    assert check.converts.tolist() == [True, True, False, False, False, True, True, True, False, True, True]
    assert check.keyframe.tolist()[:2] == [1, 0] and check.keyframe[6] == 1 and check.keyframe[7] == -1
    assert check.keyframe[9] == 0 and check.keyframe[10] == -1
    assert check.first_header.tolist()[5] == -1 and check.first_header[7] == 0xE5
    two = b"\x00\x02\x65\x88"
    assert nal.check_samples(two, np.array([0]), np.array([4]), 2).converts.tolist() == [True]
    assert nal.check_samples(two, np.array([0]), np.array([4]), 3).converts.tolist() == [False]


def test_recovery_point_sei_is_read_from_any_message_of_the_unit():
    """H.264 D.1.8: recovery_frame_cnt ue(v) first in a payloadType 6 message; messages before it skipped by their
    sizes (0xFF bytes adding 255), emulation prevention bytes taken out first."""
    assert nal.recovery_frame_count(bytes.fromhex("0601c480")) == 0  # x264's open-GOP SEI
    assert nal.recovery_frame_count(bytes.fromhex("060151" "80")) == 1
    assert nal.recovery_frame_count(bytes.fromhex("0502aabb" "0601c480")) == 0  # after another message
    assert nal.recovery_frame_count(bytes.fromhex("05ff00" + "11" * 255 + "0601c480")) == 0  # a 255-byte message
    assert nal.recovery_frame_count(bytes.fromhex("050400000301ff" "0601c480")) == 0  # 00 00 03 01 ff: 4 bytes
    assert nal.recovery_frame_count(bytes.fromhex("0502aabb80")) is None  # no recovery point
    assert nal.recovery_frame_count(bytes.fromhex("0605c4")) is None  # cut short


UNIT = st.tuples(st.sampled_from([1, 2, 3, 5, 8, 12] * 4 + [0]),  # now and then a unit of length 0
                 st.sampled_from([0x06] * 18 + [0x41, 0x65, 0x09, 0x0C]))  # mostly SEI: the analysis runs on


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.lists(UNIT, max_size=40), min_size=1, max_size=6), st.binary(max_size=64))
def test_nal_walk_is_the_same_one_sample_at_a_time(units, tail):
    """Samples of many units are finished in a plain loop: the same answers as the vectorised walk, whatever the
    unit lengths (zeros, overruns, bytes left over) and types (long runs of SEI keep the keyframe analysis going)."""
    samples = [b"".join(n.to_bytes(4, "big") + (bytes([kind]) + bytes(n - 1) if n else b"") for n, kind in sample)
               for sample in units]  # fmt: skip
    samples[-1] += tail
    data = b"".join(samples)
    offsets = np.cumsum([0] + [len(s) for s in samples[:-1]])
    sizes = np.array([len(s) for s in samples])
    mixed = nal.check_samples(data, offsets, sizes, 4)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nal, "SCALAR_AFTER", 10**9)
        vectorised = nal.check_samples(data, offsets, sizes, 4)
    for field in ("converts", "first_header", "keyframe"):
        assert getattr(mixed, field).tolist() == getattr(vectorised, field).tolist(), field


def _init_outcome(profile, mime_type: str, init: bytes) -> tuple[str, str | None]:
    page = attached_page(profile)
    sb = page.media_source.add_source_buffer(mime_type)
    sb.append_buffer(init)
    page.loop.run_until_idle()
    return page.media_source.ready_state, sb.append_error_reason


def test_init_codecs_strict_pairs_tracks_with_the_listed_codecs(media):
    """Chromium 156 (msecli verify): MPEG-4 AAC (objectTypeIndication 0x40) under mp4a.67 is an append error, and so
    is a muxed init segment under a type without its audio codec, with MP4StreamParser's message. The spec profile
    takes the first (both are AAC) and refuses the second (a codec the type does not list)."""
    aac = (media["aac-tone"] / "audio" / "init.mp4").read_bytes()
    muxed = (media["muxed"] / "muxed" / "init.mp4").read_bytes()
    assert _init_outcome(CHROMIUM, 'audio/mp4; codecs="mp4a.67"', aac) == (
        "closed", "audio object type 0x40 does not match what is specified in the mimetype")
    assert _init_outcome(SPEC, 'audio/mp4; codecs="mp4a.67"', aac) == ("open", None)
    assert _init_outcome(CHROMIUM, 'video/mp4; codecs="avc1.64001e"', muxed)[1] == (
        "audio object type 0x40 does not match what is specified in the mimetype")
    state, reason = _init_outcome(SPEC, 'video/mp4; codecs="avc1.64001e"', muxed)
    assert state == "closed" and reason is not None and reason.startswith("audio stream codec aac doesn't match")
    assert _init_outcome(CHROMIUM, 'video/mp4; codecs="avc3.64001e,mp4a.40.5"', muxed) == ("open", None)


def test_attributes_read_the_double_the_page_set_while_the_time_used_is_whole_microseconds(media):
    """Blink's SourceBuffer keeps appendWindowStart/End and timestampOffset as the page set them (its getters return
    those doubles; only the demuxer's copy is a TimeDelta). Seen with msecli verify: appendWindowEnd = 4.029999999999999
    reads 4.03 to the microsecond, not 4.029999."""
    page = attached_page(CHROMIUM)
    sb = page.media_source.add_source_buffer('audio/mp4; codecs="mp4a.40.2"')
    sb.set_append_window_end(1.02 + 3.01)
    sb.set_timestamp_offset(0.1 + 0.2)
    attributes = sb.attributes()
    assert attributes["appendWindowEnd"] == 1.02 + 3.01 and sb.append_window_end == Fraction(4_029_999, 1_000_000)
    assert attributes["timestampOffset"] == 0.1 + 0.2 and sb.timestamp_offset == Fraction(300_000, 1_000_000)
    sb.set_append_window_start(4.0299995)  # below the double the end was set to, though not below its microseconds
    assert sb.attributes()["appendWindowStart"] == 4.0299995
    sb.set_mode("sequence")  # an append re-anchors timestampOffset: from then on the attribute reads the new value
    sb.append_buffer((media["aac-tone"] / "audio" / "init.mp4").read_bytes())
    page.loop.run_until_idle()
    sb.set_append_window_start(0)
    sb.set_append_window_end(math.inf)
    sb.append_buffer((media["aac-tone"] / "audio" / "seg-00002.m4s").read_bytes())
    page.loop.run_until_idle()
    assert sb.attributes()["timestampOffset"] == float(sb.timestamp_offset) != 0.1 + 0.2


CLUSTER_WITH_PIXEL_WIDTH = bytes.fromhex("1F43B67586" "E78100" "B08100")  # Cluster: Timestamp 0, PixelWidth 0


def test_an_element_no_cluster_holds_chromium_refuses_it_the_spec_profile_skips_it(media):
    """webm_unknown_cluster_child_rejected, whole and read block by block (the PixelWidth header alone is enough)."""
    init = (media["vp9-webm"] / "video" / "init.webm").read_bytes()
    spec, chromium = (parser_for('video/webm; codecs="vp9"', profile) for profile in (SPEC, CHROMIUM))
    for parser in (spec, chromium):
        assert isinstance(parser.next(init), Init)
    assert spec.next(CLUSTER_WITH_PIXEL_WIDTH) == Media(len(CLUSTER_WITH_PIXEL_WIDTH), [])
    with pytest.raises(ParseError, match="element 0xB0 inside a Cluster"):
        chromium.next(CLUSTER_WITH_PIXEL_WIDTH)
    chromium.reset()
    opened = chromium.next(CLUSTER_WITH_PIXEL_WIDTH[:10])
    assert opened == Media(5, [], complete=False)
    with pytest.raises(ParseError, match="element 0xB0 inside a Cluster"):
        chromium.next(CLUSTER_WITH_PIXEL_WIDTH[5:10])


def test_a_reserved_sample_dependency_chromium_refuses_the_fragment_the_spec_profile_takes_it(media):
    """mp4_reserved_sample_dependency_refused: sample 5's flags with sample_depends_on = 3 (bits 24-25)."""
    video = media["h264-aac"] / "video"
    init, segment = (video / "init.mp4").read_bytes(), bytearray((video / "seg-00001.m4s").read_bytes())
    at = trun_layout(bytes(segment)).flag_fields[5]
    struct.pack_into(">I", segment, at, struct.unpack_from(">I", segment, at)[0] | 0x03000000)
    spec, chromium = (parser_for('video/mp4; codecs="avc1.64001e"', profile) for profile in (SPEC, CHROMIUM))
    for parser in (spec, chromium):
        assert isinstance(parser.next(init), Init)
    taken = spec.next(bytes(segment))
    assert isinstance(taken, Media) and sum(len(batch) for batch in taken.batches) == 120
    with pytest.raises(ParseError, match="reserved value 3"):
        chromium.next(bytes(segment))
