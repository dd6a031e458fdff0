"""The pure packaging pieces on hand-made inputs, with expected values worked out by hand."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from msecli.errors import InputError
from msecli.formats import codecs
from msecli.formats.adts import parse_adts_header
from msecli.formats.webm.ebml import UNKNOWN_SIZE, encode_size, read_vint
from msecli.media.segment import xiph_laced
from msecli.packaging.containers import choose_container
from msecli.packaging.cutter import Frames, SegmentCutter, TrackSpec
from msecli.packaging.timestamps import DecodeTimestamps


def frames(pts: list[int], keys: list[bool], duration: int, dts: list[int] | None = None) -> Frames:
    dts = pts if dts is None else dts
    return Frames(np.array(dts), np.array(pts), np.array(keys), np.full(len(pts), duration), [b"x"] * len(pts))


def spans(segments, track):
    return [(s.index, int(s.pts.min()), len(s.payloads)) for s in segments if s.track == track]


def test_video_cut_at_first_keyframe_at_or_after_target_audio_by_midpoint():
    # Video at 10 ticks/s: a frame every tick, keyframes at 0, 3, 5, 9. Target 4 s = 40 ticks? No:
    # timescale 10 -> target 0.4 s = 4 ticks: cuts at the first keyframe >= 0+4 (5), then >= 5+4 (9).
    video = TrackSpec("v", "video", 10)
    audio = TrackSpec("a", "audio", 100)  # frames of 7/100 s
    cutter = SegmentCutter([video, audio], Fraction(4, 10))
    cutter.add("v", frames(list(range(12)), [i in (0, 3, 5, 9) for i in range(12)], 1))
    cutter.add("a", frames(list(range(0, 120, 7)), [True] * 18, 7))
    done = cutter.finish()
    assert spans(done, "v") == [(1, 0, 5), (2, 5, 4), (3, 9, 3)]
    # Audio frame at 42 spans 42-49, midpoint 45.5 >= 50? no -> segment 1; frame at 49: midpoint
    # 52.5 >= 50 -> segment 2 starts at 49. Cut at 90: frame 84 (mid 87.5) stays, 91 starts segment 3.
    assert spans(done, "a") == [(1, 0, 7), (2, 49, 6), (3, 91, 5)]
    audio_parts = [s for s in done if s.track == "a"]
    assert int(audio_parts[0].durations[-1]) == 49 - 42  # the last duration comes from the next frame


def test_secondary_video_waits_for_its_own_keyframe():
    primary, other = TrackSpec("v", "video", 10), TrackSpec("v2", "video", 10)
    cutter = SegmentCutter([primary, other], Fraction(2))
    cutter.add("v", frames(list(range(60)), [i % 20 == 0 for i in range(60)], 1))  # keys at 0, 20, 40
    cutter.add("v2", frames(list(range(60)), [i % 25 == 0 for i in range(60)], 1))  # keys at 0, 25, 50
    done = cutter.finish()
    assert spans(done, "v") == [(1, 0, 20), (2, 20, 20), (3, 40, 20)]
    # v2 cannot cut at 20 (no keyframe): its segment 1 runs to 25; 25 < 40 so it is in segment 2;
    # then 50 starts segment 3.
    assert spans(done, "v2") == [(1, 0, 25), (2, 25, 25), (3, 50, 10)]


def test_frames_may_arrive_in_any_batches():
    def run(batch: int):
        cutter = SegmentCutter([TrackSpec("v", "video", 10), TrackSpec("a", "audio", 10)], Fraction(1))
        pts = list(range(50))
        out = []
        for start in range(0, 50, batch):
            part = slice(start, start + batch)
            cutter.add("v", frames(pts[part], [p % 10 == 0 for p in pts[part]], 1))
            cutter.add("a", frames(pts[part], [True] * len(pts[part]), 1))
            out += cutter.process()
        return sorted((s.track, s.index, s.pts.tolist()) for s in out + cutter.finish())

    assert run(50) == run(7) == run(1)


def test_decode_timestamps_must_increase():
    cutter = SegmentCutter([TrackSpec("v", "video", 10)], Fraction(1))
    cutter.add("v", frames([0, 1, 2], [True, False, False], 1))
    with pytest.raises(InputError, match="v track: decode timestamps do not increase at 0.200 s"):
        cutter.add("v", frames([2, 3], [False, False], 1))


def test_made_up_decode_timestamps_for_reordered_frames():
    # I0 P3 B1 B2 P6 B4 B5 in decode order (PTS in frames). Sorted PTS 0..6; the largest
    # (sorted - pts) is 2 - 1 = 1 at B1... worked out: positions 0..6 hold pts 0,3,1,2,6,4,5;
    # sorted 0,1,2,3,4,5,6; differences 0,-2,1,1,-2,1,1 -> shift 1 -> DTS -1,0,1,2,3,4,5.
    made = DecodeTimestamps("v", window=3)
    pts = [0, 3, 1, 2, 6, 4, 5]
    out = [dts for i, p in enumerate(pts) for _, dts in made.push(i, p)] + [d for _, d in made.flush()]
    assert out == [-1, 0, 1, 2, 3, 4, 5]
    assert all(d <= p for d, p in zip(out, pts))


@pytest.mark.parametrize(
    "entry, record, expected",
    [
        ("avc1", bytes([1, 0x64, 0x00, 0x1F, 0xFF]), "avc1.64001f"),  # High, no constraints, level 3.1
        ("avc3", bytes([1, 0x42, 0xE0, 0x1E, 0xFF]), "avc3.42e01e"),  # Constrained Baseline 3.0
        # hvcC: profile_space 0, tier 0, profile_idc 1 (Main); compatibility flags 1 and 2 set
        # (0x60000000, bit-reversed 0x6); first constraint byte 0xB0; level_idc 93 -> hvc1.1.6.L93.b0
        ("hvc1", bytes([1, 0x01, 0x60, 0, 0, 0, 0xB0, 0, 0, 0, 0, 0, 93]), "hvc1.1.6.L93.b0"),
    ],
)
def test_video_codec_strings(entry, record, expected):
    key = {"avc1": "avcC", "avc3": "avcC", "hvc1": "hvcC"}[entry]
    assert codecs.from_sample_entry(entry, {key: record}) == expected


def test_av1_and_vp9_codec_strings():
    # av1C: marker/version 0x81; seq_profile 0, seq_level_idx 8 -> 0x08; tier 0, 8-bit -> 0x0C (4:2:0)
    assert codecs.av1(bytes([0x81, 0x08, 0x0C, 0x00])) == "av01.0.08M.08"
    # vpcC payload: profile 2, level 31, bit depth 10 (0xA0 | chroma 0 | range 0)
    assert codecs.vp9(bytes([2, 31, 0xA0, 1, 1, 1, 0, 0])) == "vp09.02.31.10"


def test_mp4a_codec_strings():
    # esds: ES_Descriptor(03) { ES_ID, flags 0; DecoderConfigDescriptor(04) { OTI 0x40, ...;
    # DecoderSpecificInfo(05) { 0x12 0x10 = AOT 2 (AAC LC), 44.1 kHz, stereo } } }
    esds = bytes.fromhex("03 19 0001 00 04 11 40 15 000000 00000000 00000000 05 02 1210".replace(" ", ""))
    assert codecs.mp4a(esds) == "mp4a.40.2"
    he_aac = esds.replace(bytes.fromhex("1210"), bytes.fromhex("2b92"))  # AOT 5 (SBR)
    assert codecs.mp4a(he_aac) == "mp4a.40.5"
    mp3 = esds.replace(bytes.fromhex("0411 40"), bytes.fromhex("0411 6b"))
    assert codecs.mp4a(mp3) == "mp4a.6b"


def test_adts_header_gives_audio_specific_config():
    # ADTS: profile 1 (LC -> AOT 2), sampling index 3 (48 kHz), 2 channels, no CRC, frame 371 bytes.
    header = bytes([0xFF, 0xF1, 0x4C, 0x80, 0x2E, 0x7F, 0xFC])
    parsed = parse_adts_header(header)
    assert (parsed.header_length, parsed.frame_length) == (7, 371)
    assert parsed.audio_specific_config == bytes([0x11, 0x90])  # 00010 0011 0010 000


def test_ebml_sizes_round_trip_and_unknown():
    for size in (0, 1, 126, 127, 16382, 16383, 2**35):
        encoded = encode_size(size)
        assert read_vint(encoded, 0, len(encoded)) == (size, len(encoded))
    assert encode_size(127) == b"\x40\x7f"  # 0x7F alone would be the 1-byte "unknown" value
    assert read_vint(b"\x01\xff\xff\xff\xff\xff\xff\xff", 0, 8) == (UNKNOWN_SIZE, 8)


def test_vorbis_headers_are_xiph_laced():
    headers = [b"\x01vorbis" + b"i" * 23, b"\x03vorbis" + b"c" * 300, b"\x05vorbis" + b"s" * 10]
    sized = b"".join(len(h).to_bytes(2, "big") + h for h in headers)
    laced = xiph_laced(sized)
    # 2 = three packets; 30 fits one lacing byte; 307 = 255 + 52.
    assert laced[:4] == bytes([2, 30, 255, 52])
    assert laced[4:] == b"".join(headers)
    assert xiph_laced(laced) == laced


def test_muxed_container_choice():
    assert choose_container(["vp9", "opus"], "auto") == "webm"
    assert choose_container(["av1", "opus"], "auto") == "mp4"
    assert choose_container(["h264", "opus"], "auto") == "mp4"
