"""Segments read back with PyAV give exactly the source's packets; segment boundaries obey the rules."""

from __future__ import annotations

from fractions import Fraction

import pytest

from tests.media import SAMPLES, clusters, fragment_runs, load_manifest, read_packets, track_bytes

# (sample, options) for every sample and every output format its codecs allow.
CASES = [
    ("h264-aac.mp4", {}),
    ("h264-aac.mp4", {"muxed": True}),
    ("vp9-opus.webm", {}),  # auto: VP9 -> webm, Opus -> mp4
    ("vp9-opus.webm", {"format": "webm"}),
    ("vp9-opus.webm", {"format": "mp4"}),
    ("vp9-opus.webm", {"format": "webm", "muxed": True}),
    ("aac-tone.m4a", {}),
    ("aac-tone.m4a", {"muxed": True}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in opts.items()) or 'default'}" for name, opts in CASES]


@pytest.fixture(params=CASES, ids=IDS)
def case(request, segmented):
    name, options = request.param
    out = segmented(SAMPLES / name, **options)
    return SAMPLES / name, out, load_manifest(out)


def test_packets_round_trip_exactly(case):
    source, out, manifest = case
    expected = read_packets(source)
    offset = Fraction(manifest["timelineOffset"])
    seen = set()
    for track in manifest["tracks"]:
        got = read_packets(track_bytes(out, track))
        for kind, packets in got.items():
            name = kind if "components" in track else track["id"]
            seen.add(name)
            want = expected[name]
            assert len(packets) == len(want), name
            for index, (g, w) in enumerate(zip(packets, want)):
                assert (g.pts, g.dts, g.key) == (w.pts - offset, w.dts - offset, w.key), (name, index)
                assert g.data == w.data, (name, index)
    assert seen == set(expected)


def test_each_segment_starts_with_a_keyframe_and_continues_the_last(case):
    _, out, manifest = case
    for track in manifest["tracks"]:
        previous_end: dict[int, int] = {}
        for entry in track["segments"]:
            data = (out / entry["file"]).read_bytes()
            if track["container"] == "mp4":
                for run in fragment_runs(data):
                    assert run.tfdt_version == 1  # 64-bit baseMediaDecodeTime
                    assert run.keyframes[0], (entry["file"], run.track_id)
                    if run.track_id in previous_end:
                        assert run.base_media_decode_time == previous_end[run.track_id], entry["file"]
                    previous_end[run.track_id] = run.base_media_decode_time + int(run.durations.sum())
            else:
                (cluster,) = clusters(data)
                first_by_track: dict[int, tuple[int, bool]] = {}
                for number, timestamp, key in cluster.blocks:
                    first_by_track.setdefault(number, (timestamp, key))
                for number, (timestamp, key) in first_by_track.items():
                    assert key, (entry["file"], number)
                    if number in previous_end:
                        assert timestamp == previous_end[number], entry["file"]
                    last = max(t for n, t, _ in cluster.blocks if n == number)
                    previous_end[number] = last + cluster.durations[number]
                assert cluster.timestamp == min(t for _, t, _ in cluster.blocks)


def test_media_segment_sequence_numbers_increase(segmented):
    out = segmented(SAMPLES / "h264-aac.mp4")
    track = load_manifest(out)["tracks"][0]
    numbers = []
    for entry in track["segments"]:
        data = (out / entry["file"]).read_bytes()
        numbers.append(int.from_bytes(data[data.index(b"mfhd") + 8 : data.index(b"mfhd") + 12], "big"))
    assert numbers == [1, 2, 3]


@pytest.mark.parametrize(
    "target, spans",
    [
        # The sample has a keyframe every 2 s (x264 keyint=60 at 30 fps) and lasts 10 s.
        (4, [(0, 4), (4, 8), (8, 10)]),  # keyframes at 4 and 8 are exactly on target
        (3, [(0, 4), (4, 8), (8, 10)]),  # first keyframe at or after 3 is 4, after 4+3=7 is 8
        (2, [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)]),
        (5, [(0, 6), (6, 10)]),  # first keyframe at or after 5 is 6; 6+5=11 is past the end
        (20, [(0, 10)]),
    ],
)
def test_video_cuts_at_first_keyframe_at_or_after_target(segmented, target, spans):
    manifest = load_manifest(segmented(SAMPLES / "h264-aac.mp4", duration=target))
    video = next(t for t in manifest["tracks"] if t["id"] == "video")
    assert [(s["start"], s["end"]) for s in video["segments"]] == spans
    audio = next(t for t in manifest["tracks"] if t["id"] == "audio")
    audio_frame = 1024 / 48000
    assert len(audio["segments"]) == len(spans)
    for a, (start, _) in zip(audio["segments"], spans):
        assert abs(a["start"] - start) <= audio_frame, (a, start)


def test_manifest_describes_the_files(case):
    _, out, manifest = case
    assert manifest["version"] == 1
    for track in manifest["tracks"]:
        assert (out / track["init"]).is_file()
        assert track["mimeType"].endswith(f'codecs="{track["codecs"]}"')
        for index, entry in enumerate(track["segments"], start=1):
            assert entry["index"] == index
            assert (out / entry["file"]).stat().st_size == entry["bytes"]
            assert entry["end"] > entry["start"]
        frames = sum(s["frames"] for s in track["segments"])
        kinds = [c["kind"] for c in track.get("components", [])] or [track["kind"]]
        assert frames == sum(len(read_packets(track_bytes(out, track))[k]) for k in kinds)


@pytest.mark.parametrize(
    "name, codecs",
    [
        # avcC of the sample: profile_idc 100 (High), constraint flags 0x00, level_idc 30 (3.0).
        ("h264-aac.mp4", {"video": "avc1.64001e", "audio": "mp4a.40.2"}),
        # vpcC FFmpeg derives for 640x360@30 8-bit 4:2:0 profile 0: level 2.1; Opus is "opus".
        ("vp9-opus.webm", {"video": "vp09.00.21.08", "audio": "opus"}),
        ("aac-tone.m4a", {"audio": "mp4a.40.2"}),
    ],
)
def test_codec_strings(segmented, name, codecs):
    manifest = load_manifest(segmented(SAMPLES / name))
    assert {t["id"]: t["codecs"] for t in manifest["tracks"]} == codecs
