"""The byte-stream parsers: golden trees checked by hand, frame tables checked against PyAV's demuxer,
codec strings against segment's manifest, and every malformed input a ParseError or a warning."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from msecli import inspect
from msecli.errors import ParseError
from msecli.formats import bytestream
from msecli.formats.isobmff.boxes import parse_boxes
from msecli.formats.webm.parser import parse_elements
from tests.media import SAMPLES, load_manifest, read_packets, track_bytes

GOLDEN = Path(__file__).parent / "golden"


def tree_json(*names: str) -> dict:
    reports = inspect.tree_report(inspect.resolve([GOLDEN / n for n in names]), None)
    for report in reports:
        report["file"] = Path(report["file"]).name
    return {"files": reports}


@pytest.mark.parametrize("stem, names", [("aac", ["aac-init.mp4", "aac-seg2.m4s"]), ("opus", ["opus-init.webm", "opus-seg2.webm"])])
def test_golden_trees(stem, names, update_golden):
    """Golden files: `pytest --update-golden` rewrites them; the hand checks below pin what they say."""
    got = tree_json(*names)
    path = GOLDEN / f"{stem}.tree.json"
    if update_golden:
        path.write_text(json.dumps(got, indent=1) + "\n")
    assert got == json.loads(path.read_text())


def node(nodes: list[dict], path: str) -> dict:
    first, _, rest = path.partition("/")
    found = next(n for n in nodes if n["type"] == first)
    return node(found["children"], rest) if rest else found


def test_golden_aac_segment_matches_a_hand_reading_of_its_bytes():
    """Read from `xxd tests/golden/aac-seg2.m4s`: styp 0x18 bytes 'msdh'; moof @0x18 size 0x94; mfhd
    @0x20 sequence_number 00000002; traf @0x30; tfhd @0x38 flags 020000 (default-base-is-moof),
    track_ID 1; tfdt @0x48 version 1, baseMediaDecodeTime 0x1400 = 5120 (five 1024-sample AAC frames
    before it); trun @0x5c flags 000701, sample_count 5, data_offset 0x9c = 156 (moof 148 + mdat
    header 8); first entry: duration 0x400, size 0x10b = 267, flags 0x02000000 (sync)."""
    (init, seg) = tree_json("aac-init.mp4", "aac-seg2.m4s")["files"]
    nodes = seg["nodes"]
    assert [n["type"] for n in nodes] == ["styp", "moof", "mdat"]
    assert node(nodes, "moof")["offset"] == 0x18 and node(nodes, "moof")["size"] == 0x94
    assert node(nodes, "moof/mfhd")["fields"]["sequence_number"] == 2
    tfhd = node(nodes, "moof/traf/tfhd")
    assert (tfhd["offset"], tfhd["fields"]["track_ID"], tfhd["fields"]["default_base_is_moof"]) == (0x38, 1, True)
    assert node(nodes, "moof/traf/tfdt")["fields"] == {"version": 1, "baseMediaDecodeTime": 5120}
    trun = node(nodes, "moof/traf/trun")["fields"]
    assert (trun["flags"], trun["sample_count"], trun["data_offset"]) == (0x701, 5, 156)
    assert (trun["first_dts"], trun["last_dts"]) == (5120, 5120 + 4 * 1024)
    assert seg["segments"] == [{"kind": "media", "offset": 0, "size": seg["size"]}]
    # Init: mdhd timescale 48000 (the sample rate), elst media_time 1024 (AAC priming).
    assert node(init["nodes"], "moov/trak/mdia/mdhd")["fields"]["timescale"] == 48000
    assert node(init["nodes"], "moov/trak/edts/elst")["fields"]["entries"][0]["media_time"] == 1024
    assert node(init["nodes"], "moov/trak/mdia/minf/stbl/stsd/mp4a")["fields"]["codecs"] == "mp4a.40.2"


def test_golden_opus_segment_matches_a_hand_reading_of_its_bytes():
    """Read from `xxd`: init: EBML header 31 bytes of payload; Segment @36 with the unknown size
    01 FF FF FF FF FF FF FF; Info @48 (TimestampScale 83 0F4240 = 1000000); TrackEntry: TrackNumber 1,
    CodecID A_OPUS, CodecDelay 83 632EA0 = 6500000 ns, SeekPreRoll 84 04C4B400 = 80000000 ns,
    SamplingFrequency 88 40E7700000000000 = 48000.0, Channels 2. Segment: Cluster 1F43B675 with
    size 43EA = 1002, Timestamp E7 81 65 = 101 ms, first SimpleBlock A3 40C3: 195 bytes, track 0x81 = 1,
    relative timecode 0000, flags 0x80 (keyframe)."""
    (init, seg) = tree_json("opus-init.webm", "opus-seg2.webm")["files"]
    segment = node(init["nodes"], "Segment")
    assert segment["offset"] == 36 and segment["fields"]["unknown_size"] is True
    assert node(init["nodes"], "Segment/Info")["fields"]["TimestampScale"] == 1_000_000
    entry = node(init["nodes"], "Segment/Tracks/TrackEntry")["fields"]
    assert (entry["TrackNumber"], entry["CodecID"], entry["CodecDelay"], entry["SeekPreRoll"]) == (1, "A_OPUS", 6_500_000, 80_000_000)
    audio = node(init["nodes"], "Segment/Tracks/TrackEntry/Audio")["fields"]
    assert (audio["SamplingFrequency"], audio["Channels"]) == (48000.0, 2)
    cluster = node(seg["nodes"], "Cluster")
    assert (cluster["size"], cluster["fields"]["Timestamp"]) == (4 + 2 + 1002, 101)
    block = node(seg["nodes"], "Cluster/SimpleBlock")["fields"]
    assert (block["track"], block["timecode"], block["keyframe"]) == (1, 0, True)
    assert init["segments"][0]["kind"] == "init" and seg["segments"][0]["kind"] == "media"


# Frame tables against PyAV's demuxer, for every sample and format.

CASES = [
    ("h264-aac.mp4", {}), ("h264-aac.mp4", {"muxed": True}), ("vp9-opus.webm", {"format": "webm"}),
    ("vp9-opus.webm", {"format": "mp4"}), ("aac-tone.m4a", {}),
]  # fmt: skip


@pytest.mark.parametrize("name, options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_frame_tables_equal_pyav(segmented, name, options):
    out = segmented(SAMPLES / name, **options)
    manifest = load_manifest(out)
    tracks, warnings = inspect.frame_tables(inspect.resolve([out]))
    assert warnings == []
    for manifest_track in manifest["tracks"]:
        expected = read_packets(track_bytes(out, manifest_track))
        ours = [t for t in tracks if t.group == manifest_track["id"]]
        assert len(ours) == len(expected)
        for track in ours:
            frames = __import__("numpy").concatenate(track.frames)
            want = expected[track.info.kind]
            scale = Fraction(1, track.info.timescale)
            # FFmpeg's Matroska demuxer subtracts CodecDelay from timestamps; a browser's WebM parser
            # does not (the delay is discarded from the decoded audio instead).
            shift = track.info.codec_delay * scale
            assert len(frames) == len(want)
            assert [f["pts"] * scale for f in frames] == [p.pts + shift for p in want]
            assert [f["dts"] * scale for f in frames] == [p.dts + shift for p in want]
            assert frames["key"].tolist() == [p.key for p in want]
            assert frames["size"].tolist() == [len(p.data) for p in want]


def test_whole_webm_file_frames_equal_pyav():
    tracks, _ = inspect.frame_tables(inspect.resolve([SAMPLES / "vp9-opus.webm"]))
    expected = read_packets(SAMPLES / "vp9-opus.webm")
    for track in tracks:
        frames = __import__("numpy").concatenate(track.frames)
        want = expected[track.info.kind]
        shift = Fraction(track.info.codec_delay, track.info.timescale)
        assert [Fraction(int(f["pts"]), 1000) for f in frames] == [p.pts + shift for p in want]
        assert frames["size"].tolist() == [len(p.data) for p in want]
        assert frames["key"].tolist() == [p.key for p in want]


@pytest.mark.parametrize("name, options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_codec_strings_equal_the_manifest(segmented, name, options):
    out = segmented(SAMPLES / name, **options)
    manifest = load_manifest(out)
    tracks, _ = inspect.frame_tables(inspect.resolve([out]))
    for manifest_track in manifest["tracks"]:
        ours = [t.info.codecs for t in tracks if t.group == manifest_track["id"]]
        assert ",".join(ours) == manifest_track["codecs"]


# Malformed input: the exact errors.


def box(box_type: bytes, payload: bytes = b"", size: int | None = None) -> bytes:
    return (len(payload) + 8 if size is None else size).to_bytes(4, "big") + box_type + payload


def test_trun_sample_count_beyond_the_box():
    trun = box(b"trun", bytes([0, 0, 0x07, 0x01]) + (0xFFFFFFFF).to_bytes(4, "big") + bytes(4 + 200 - 12))
    data = box(b"moof", box(b"mfhd", bytes(8)) + box(b"traf", box(b"tfhd", bytes([0, 2, 0, 0, 0, 0, 0, 1])) + trun))
    with pytest.raises(ParseError) as error:
        parse_boxes(data)
    # moof @0 (header 8), mfhd @8 (16 bytes), traf @24 (header 8), tfhd @32 (16 bytes), trun @48.
    # Flags 0x701: duration + size + flags = 12 bytes a sample; the payload after version/flags,
    # sample_count and data_offset holds 188 bytes.
    assert str(error.value) == "moof/traf[1]/trun at byte 48: sample_count 4294967295 needs 51539607540 bytes, box has 188"


def test_a_trun_of_default_samples_may_not_outnumber_the_bytes_after_it():
    """With no per-sample fields the box does not bound sample_count; a 48-byte moof asking for 4 billion
    samples would have been a 4 GB allocation. Here 8 bytes follow the trun's fields: 8 samples are fine."""

    def moof(count: int, tail: int) -> bytes:
        trun = box(b"trun", bytes(4) + count.to_bytes(4, "big"))
        return box(b"moof", box(b"traf", box(b"tfhd", bytes([0, 0, 0, 0, 0, 0, 0, 1])) + trun)) + bytes(tail)

    assert len(parse_boxes(moof(8, 8)).nodes[0].find("traf/trun").table) == 8
    with pytest.raises(ParseError) as error:
        parse_boxes(moof(0xFFFFFFFF, 0))
    assert str(error.value) == "moof/traf[1]/trun at byte 32: sample_count 4294967295 without per-sample fields exceeds the 0 bytes that follow"


@pytest.mark.parametrize(
    "data, message",
    [
        (box(b"moov", box(b"mvhd", bytes(100), size=4)), r"moov/mvhd at byte 8: box size 4 is smaller than its 8-byte header"),
        (box(b"moov", box(b"trak", bytes(4), size=400)), r"moov/trak\[1\] at byte 8: box size 400 runs past the end"),
        (box(b"moov", box(b"moov", b"")), r"moov/moov at byte 8: moov inside moov"),
        # size 1: a 64-bit largesize follows, here 0, smaller than the 16-byte header
        (box(b"moov", box(b"trak", bytes(8), size=1)), r"moov/trak at byte 8: box size 0 is smaller than its 16-byte header"),
    ],
)
def test_malformed_boxes(data, message):
    with pytest.raises(ParseError, match=message):
        parse_boxes(data)


def test_size_zero_runs_to_the_end_and_a_cut_box_is_a_warning():
    parsed = parse_boxes(box(b"free", b"abc") + box(b"mdat", bytes(20), size=0))
    assert [(n.type, n.size) for n in parsed.nodes] == [("free", 11), ("mdat", 28)]
    cut = parse_boxes(box(b"mdat", bytes(20), size=1000))
    assert cut.nodes[0].truncated and "declares 1000 bytes, 28 are there" in cut.warnings[0]


def test_ebml_length_of_eight_ff_bytes():
    # An element ID followed by FF FF .. : a 1-byte size of 0x7F is the unknown size; a size field of
    # eight 0xFF bytes starts with a 1-byte VINT too (0xFF) — unknown size on an element that can't have it.
    data = bytes.fromhex("4286") + b"\xff" * 8
    with pytest.raises(ParseError, match="EBMLVersion at byte 0: unknown size on an element that cannot have one"):
        parse_elements(data)
    with pytest.raises(ParseError, match="longer than 8 bytes"):
        parse_elements(bytes.fromhex("4286") + b"\x00" * 8)


def test_unknown_size_cluster_ends_at_the_next_cluster():
    cluster = bytes.fromhex("1F43B675") + b"\x01\xff\xff\xff\xff\xff\xff\xff" + bytes.fromhex("E78100")
    block = bytes.fromhex("A384") + bytes([0x81, 0, 0, 0x80])
    parsed = parse_elements(cluster + block + cluster + block)
    assert [(n.type, n.size) for n in parsed.nodes] == [("Cluster", 12 + 3 + 6), ("Cluster", 12 + 3 + 6)]


def test_sniff_refuses_other_bytes():
    with pytest.raises(ParseError):
        bytestream.sniff(b"GIF89a....")
