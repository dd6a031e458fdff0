"""Bad input: one line on stderr, the exact exit status, no traceback, and no output directory left."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import av
import pytest

from msecli.media.segment import SegmentOptions, segment
from tests.media import SAMPLES, load_manifest, remux


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "msecli", *map(str, args)], capture_output=True, text=True, env=env, timeout=120
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], status: int, pattern: str) -> None:
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert re.search(pattern, lines[0]), lines[0]


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".") or p.name == "out")


def complete_packets_before(path: Path, cut: int) -> dict[str, int]:
    """How many packets of each kind lie wholly before byte `cut`, by PyAV's reading of the whole file."""
    counts = {"video": 0, "audio": 0}
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.size and packet.pos is not None and packet.pos + packet.size <= cut:
                counts[packet.stream.type] += 1
    return counts


@pytest.fixture(scope="module")
def faststart_mp4(tmp_path_factory) -> Path:
    """The H.264 sample with its moov first, so that a cut file still has its sample tables."""
    path = tmp_path_factory.mktemp("media") / "faststart.mp4"
    remux([SAMPLES / "h264-aac.mp4"], path, "mp4", movflags="faststart")
    return path


def test_missing_file(tmp_path):
    assert_one_line_error(run_cli("segment", tmp_path / "nope.mp4", "-o", tmp_path / "out"), 1, r"nope\.mp4: no such file")
    assert leftovers(tmp_path) == []


def test_not_media(tmp_path):
    junk = tmp_path / "notes.mp4"
    junk.write_text("these are not the frames you are looking for\n" * 50)
    assert_one_line_error(run_cli("segment", junk, "-o", tmp_path / "out"), 1, r"notes\.mp4: not media FFmpeg can read")
    assert leftovers(tmp_path) == []


def test_no_audio_or_video_stream(tmp_path):
    subtitles = tmp_path / "only.srt"
    subtitles.write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n\n")
    assert_one_line_error(run_cli("segment", subtitles, "-o", tmp_path / "out"), 1, r"only\.srt: no audio or video stream")
    assert leftovers(tmp_path) == []


def test_truncated_mp4_names_what_is_missing(tmp_path, faststart_mp4):
    data = faststart_mp4.read_bytes()
    cut = len(data) * 6 // 10
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(data[:cut])
    holds = complete_packets_before(faststart_mp4, cut)
    result = run_cli("segment", truncated, "-o", tmp_path / "out")
    assert_one_line_error(
        result, 1,
        rf"input ends at \d+\.\d\d s of 10\.00 s \(moov lists 300 video samples, file holds {holds['video']}, "
        rf"moov lists 470 audio samples, file holds {holds['audio']}\): truncated\?",
    )  # fmt: skip
    assert leftovers(tmp_path) == []


def test_allow_truncated_writes_what_was_read(tmp_path, faststart_mp4):
    data = faststart_mp4.read_bytes()
    cut = len(data) // 2
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(data[:cut])
    result = run_cli("segment", truncated, "-o", tmp_path / "out", "--allow-truncated", "--json")
    assert result.returncode == 0, result.stderr
    assert "truncated" in result.stderr or "allow-truncated" in result.stderr
    manifest = load_manifest(tmp_path / "out")
    holds = complete_packets_before(faststart_mp4, cut)
    frames = {t["id"]: sum(s["frames"] for s in t["segments"]) for t in manifest["tracks"]}
    assert frames == holds


def test_mp4_with_its_moov_after_a_cut_mdat(tmp_path):
    data = (SAMPLES / "h264-aac.mp4").read_bytes()  # moov at the end, as FFmpeg writes it by default
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(data[:100_000])
    mdat_at = data.index(b"mdat") - 4
    mdat_size = int.from_bytes(data[mdat_at : mdat_at + 4], "big")
    result = run_cli("segment", truncated, "-o", tmp_path / "out")
    assert_one_line_error(
        result, 1, rf"mdat at byte {mdat_at} declares {mdat_size} bytes, file holds {100_000 - mdat_at}; no moov"
    )


def test_webm_cut_mid_cluster(tmp_path):
    data = (SAMPLES / "vp9-opus.webm").read_bytes()
    truncated = tmp_path / "cut.webm"
    truncated.write_bytes(data[: len(data) // 2])
    result = run_cli("segment", truncated, "-o", tmp_path / "out")
    assert_one_line_error(result, 1, r"input ends at .* \(Segment declares \d+ bytes, file holds \d+\): truncated\?")
    assert leftovers(tmp_path) == []


@pytest.fixture(scope="module")
def transport_stream(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("media") / "sample.ts"
    remux([SAMPLES / "h264-aac.mp4"], path, "mpegts")
    return path


def test_ts_cut_mid_packet(tmp_path, transport_stream):
    data = transport_stream.read_bytes()
    truncated = tmp_path / "cut.ts"
    truncated.write_bytes(data[: 188 * 900 + 77])
    result = run_cli("segment", truncated, "-o", tmp_path / "out")
    assert_one_line_error(result, 1, r"input ends at \d+\.\d\d s \(file size 169277 is not a whole number of 188-byte TS packets\): truncated\?")
    assert leftovers(tmp_path) == []


def test_ts_cut_inside_a_pes_packet(tmp_path, transport_stream):
    """Cut one packet after the start of the last audio PES (FFmpeg writes audio PES lengths)."""
    data = transport_stream.read_bytes()
    audio_pes_starts = [
        offset for offset in range(0, len(data), 188)
        if data[offset + 1] & 0x40 and (int.from_bytes(data[offset + 1 : offset + 3], "big") & 0x1FFF) == 0x101
    ]  # fmt: skip
    cut = audio_pes_starts[-1] + 188
    truncated = tmp_path / "cut.ts"
    truncated.write_bytes(data[:cut])
    result = run_cli("segment", truncated, "-o", tmp_path / "out")
    assert_one_line_error(result, 1, r"the last PES packet of PID 0x101 holds \d+ of its \d+ bytes\): truncated\?")


def test_codec_the_container_cannot_carry(tmp_path):
    result = run_cli("segment", SAMPLES / "h264-aac.mp4", "-o", tmp_path / "out", "--format", "webm")
    assert_one_line_error(result, 1, r"webm cannot carry h264; formats that can: mp4")
    assert leftovers(tmp_path) == []


def test_missing_parents_are_made_and_removed_again_on_failure(tmp_path):
    assert run_cli("segment", SAMPLES / "aac-tone.m4a", "-o", tmp_path / "a" / "b" / "out", "-q").returncode == 0
    assert (tmp_path / "a" / "b" / "out" / "manifest.json").is_file()
    result = run_cli("segment", SAMPLES / "h264-aac.mp4", "-o", tmp_path / "c" / "d" / "out", "-f", "webm")
    assert_one_line_error(result, 1, r"webm cannot carry h264")
    truncated = tmp_path / "cut.webm"
    truncated.write_bytes((SAMPLES / "vp9-opus.webm").read_bytes()[:300_000])
    result = run_cli("segment", truncated, "-o", tmp_path / "e" / "f" / "out")
    assert_one_line_error(result, 1, r"truncated\?")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "cut.webm"]


def test_existing_output_is_not_touched_without_force(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = run_cli("segment", SAMPLES / "aac-tone.m4a", "-o", out)
    assert_one_line_error(result, 1, r"out: already exists \(use --force to replace it\)")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert run_cli("segment", SAMPLES / "aac-tone.m4a", "-o", out, "--force", "-q").returncode == 0
    assert sorted(p.name for p in out.iterdir()) == ["audio", "manifest.json"]
    assert leftovers(tmp_path) == ["out"]


def test_unwritable_output(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_one_line_error(run_cli("segment", SAMPLES / "aac-tone.m4a", "-o", blocker / "out"), 1, r"file: not a directory")
    result = run_cli("segment", SAMPLES / "aac-tone.m4a", "-o", "/proc/msecli-out")
    assert_one_line_error(result, 1, r"/proc.*(not writable|cannot create)")


@pytest.mark.parametrize(
    "args, pattern",
    [
        (["--duration", "0"], r"--duration"),
        (["--format", "avi"], r"--format"),
        (["--tracks", "subtitle"], r"--tracks: no track 'subtitle'"),
    ],
)
def test_usage_errors_exit_2(tmp_path, args, pattern):
    result = run_cli("segment", SAMPLES / "h264-aac.mp4", "-o", tmp_path / "out", *args)
    assert result.returncode == 2, result.stderr
    assert re.search(pattern, result.stderr)
    assert "Traceback" not in result.stderr
    assert leftovers(tmp_path) == []


def test_interrupted_run_leaves_nothing(tmp_path):
    """Ctrl-C arrives as KeyboardInterrupt while segments are being written into the staging directory."""
    written = []

    def interrupt(done: float, total: float | None) -> None:
        written.extend(p for p in tmp_path.rglob("*.m4s"))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        segment(SAMPLES / "h264-aac.mp4", tmp_path / "out", SegmentOptions(duration=1), progress=interrupt)
    assert written  # it really was interrupted with segment files on disk
    assert list(tmp_path.iterdir()) == []


def test_interrupted_run_keeps_the_old_output_with_force(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")

    def interrupt(done: float, total: float | None) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        segment(SAMPLES / "h264-aac.mp4", out, SegmentOptions(), force=True, progress=interrupt)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
