"""Inputs with odd properties: timelines far from 0, Annex B and ADTS bitstreams, MP3, Vorbis,
several audio tracks, subtitles, long GOPs, re-encoding; and decoding back to the source's frames."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction

import av
import numpy as np
import pytest

from tests.media import SAMPLES, decoded, encode_tone, load_manifest, read_packets, remux, track_bytes


def assert_same_frames(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for index, (x, y) in enumerate(zip(a, b)):
        assert np.array_equal(x, y), index


@pytest.fixture(scope="module")
def transport_stream(tmp_path_factory):
    path = tmp_path_factory.mktemp("media") / "sample.ts"
    remux([SAMPLES / "h264-aac.mp4"], path, "mpegts")
    return path


def test_transport_stream_timeline_is_shifted_to_start_at_zero(segmented, transport_stream):
    out = segmented(transport_stream)
    manifest = load_manifest(out)
    with av.open(str(transport_stream)) as container:
        starts = {s.type: s.start_time * Fraction(s.time_base) for s in container.streams}
    assert min(starts.values()) > 0  # FFmpeg's TS muxer starts its clock after 0
    assert abs(manifest["timelineOffset"] - min(starts.values())) < 1e-6
    tracks = {t["id"]: t for t in manifest["tracks"]}
    first = {kind: min(s["start"] for s in tracks[kind]["segments"]) for kind in tracks}
    assert min(first.values()) == 0.0
    # Relative timing is kept exactly: every packet moved by the same offset.
    expected = read_packets(transport_stream)
    offset = min(starts.values())
    for kind, track in tracks.items():
        (got,) = read_packets(track_bytes(out, track)).values()
        assert [(p.pts, p.dts) for p in got] == [(p.pts - offset, p.dts - offset) for p in expected[kind]]


def test_transport_stream_segments_decode_to_the_source_frames(segmented, transport_stream):
    """Annex B H.264 and ADTS AAC were rewritten into MP4 form; the pictures and samples are the same."""
    out = segmented(transport_stream)
    tracks = {t["id"]: t for t in load_manifest(out)["tracks"]}
    for kind in ("video", "audio"):
        assert_same_frames(decoded(track_bytes(out, tracks[kind]), kind), decoded(transport_stream, kind))


def test_mp4_segments_decode_to_the_source_frames(segmented):
    out = segmented(SAMPLES / "h264-aac.mp4")
    tracks = {t["id"]: t for t in load_manifest(out)["tracks"]}
    for kind in ("video", "audio"):
        assert_same_frames(decoded(track_bytes(out, tracks[kind]), kind), decoded(SAMPLES / "h264-aac.mp4", kind))


def test_av1_decoded_by_a_decoder_without_an_encoder_of_its_name(tmp_path, segmented):
    """PyAV opens AV1 with libdav1d, a decoder only: the remux must not look for an encoder of that name."""
    source = tmp_path / "av1.mkv"
    with av.open(str(source), "w") as output:
        stream = output.add_stream("libsvtav1", rate=24, options={"preset": "12"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(30):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), index * 8, np.uint8), format="rgb24")
            frame.pts = index
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    with av.open(str(source)) as container:
        assert container.streams.video[0].codec_context.name == "libdav1d"
    out = segmented(source)
    (track,) = load_manifest(out)["tracks"]
    assert track["codecs"].startswith("av01.") and track["container"] == "mp4"
    assert_same_frames(decoded(track_bytes(out, track), "video"), decoded(source, "video"))


@pytest.mark.parametrize(
    "fmt, codec, suffix, container, codecs",
    [
        ("mp3", "libmp3lame", ".mp3", "mp4", "mp4a.6b"),  # MP3 in MP4: objectTypeIndication 0x6B
        ("ogg", "vorbis", ".ogg", "webm", "vorbis"),
        ("flac", "flac", ".flac", "mp4", "flac"),
    ],
)
def test_audio_codecs(tmp_path, segmented, fmt, codec, suffix, container, codecs):
    source = tmp_path / f"tone{suffix}"
    encode_tone(source, fmt, codec)
    out = segmented(source)
    manifest = load_manifest(out)
    (track,) = manifest["tracks"]
    assert (track["container"], track["codecs"]) == (container, codecs)
    (got,) = read_packets(track_bytes(out, track)).values()
    want = read_packets(source)["audio"]
    # WebM cannot start before 0: a Vorbis stream with priming at -1024 samples moves up by 23 ms.
    offset = Fraction(round(manifest["timelineOffset"] * 1000), 1000)
    assert offset == (Fraction(-23, 1000) if container == "webm" else 0)
    assert [(p.pts, p.key, p.data) for p in got] == [(round(p.pts - offset, 3) if container == "webm" else p.pts, p.key, p.data) for p in want]
    ours = np.concatenate(decoded(track_bytes(out, track), "audio"), axis=1)
    theirs = np.concatenate(decoded(source, "audio"), axis=1)
    # FFmpeg drops an MP3's encoder delay (1105 samples here, from the LAME header) when decoding the
    # .mp3; in MP4 those samples stay, before the first real one, which keeps its time (see README).
    with av.open(str(source)) as container:
        stream = container.streams.audio[0]
        delay = 0 if fmt != "mp3" else stream.start_time * stream.time_base * stream.sample_rate
    assert np.array_equal(ours[:, int(delay) : int(delay) + theirs.shape[1]], theirs)


def test_webm_discard_padding_trims_the_last_frame_as_the_source_does(segmented):
    """The Opus sample's last frame decodes to 48000*0.02-648 samples: DiscardPadding carries the 648."""
    out = segmented(SAMPLES / "vp9-opus.webm", format="webm")
    audio = next(t for t in load_manifest(out)["tracks"] if t["id"] == "audio")
    ours, theirs = decoded(track_bytes(out, audio), "audio"), decoded(SAMPLES / "vp9-opus.webm", "audio")
    assert ours[-1].shape == theirs[-1].shape == (2, 960 - 648)
    assert_same_frames(ours, theirs)


@pytest.fixture(scope="module")
def matroska_two_audio_and_subtitles(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    subtitles = folder / "words.srt"
    subtitles.write_text("1\n00:00:01,000 --> 00:00:02,000\nhello\n\n")
    path = folder / "multi.mkv"
    remux([SAMPLES / "h264-aac.mp4", SAMPLES / "aac-tone.m4a", subtitles], path, "matroska")
    return path


def test_several_audio_tracks_and_ignored_subtitles(tmp_path, matroska_two_audio_and_subtitles):
    source = matroska_two_audio_and_subtitles
    result = subprocess.run(
        [sys.executable, "-m", "msecli", "segment", source, "-o", tmp_path / "out", "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "stream 3 (subtitle" in result.stderr and "ignored" in result.stderr
    manifest = json.loads(result.stdout)
    assert manifest == load_manifest(tmp_path / "out")
    assert [t["id"] for t in manifest["tracks"]] == ["video", "audio", "audio2"]
    # Matroska keeps milliseconds: the MP4 output uses timescale 1000 and stays exact.
    assert {t["timescale"] for t in manifest["tracks"]} == {1000}
    expected = read_packets(source)
    for track in manifest["tracks"]:
        (got,) = read_packets(track_bytes(tmp_path / "out", track)).values()
        assert [(p.pts, p.data) for p in got] == [(p.pts, p.data) for p in expected[track["id"]]]
        # Matroska has no decode timestamps: msecli derives them, increasing and never after the PTS.
        dts = [p.dts for p in got]
        assert all(a < b for a, b in zip(dts, dts[1:]))
        assert all(p.dts <= p.pts for p in got)


def test_tracks_option_selects(segmented, matroska_two_audio_and_subtitles):
    manifest = load_manifest(segmented(matroska_two_audio_and_subtitles, tracks="audio2"))
    assert [t["id"] for t in manifest["tracks"]] == ["audio2"]
    manifest = load_manifest(segmented(matroska_two_audio_and_subtitles, tracks="0,2"))
    assert [t["id"] for t in manifest["tracks"]] == ["video", "audio2"]


def test_long_gop_warning(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "msecli", "segment", SAMPLES / "h264-aac.mp4", "-o", tmp_path / "out", "-d", "0.5", "-q"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0
    assert "keyframes are up to 2.00 s apart, more than twice the 0.5 s target" in result.stderr


@pytest.mark.parametrize("fmt, codecs_prefix", [("mp4", "avc1."), ("webm", "vp09.")])
def test_reencode_puts_keyframes_on_the_grid(segmented, fmt, codecs_prefix):
    source = SAMPLES / "vp9-opus.webm"
    out = segmented(source, reencode=True, duration=3, format=fmt)
    manifest = load_manifest(out)
    video = next(t for t in manifest["tracks"] if t["kind"] == "video")
    assert video["codecs"].startswith(codecs_prefix)
    assert [s["start"] for s in video["segments"]] == [0, 3, 6, 9]
    assert video["segments"][-1]["end"] == pytest.approx(10, abs=0.001)
    assert len(decoded(track_bytes(out, video), "video")) == len(decoded(source, "video"))
    assert manifest["source"] == "vp9-opus.webm"
