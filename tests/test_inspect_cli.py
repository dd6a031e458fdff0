"""`msecli inspect` as a user runs it."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.media import SAMPLES, load_manifest
from tests.test_segment_errors import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    path = tmp_path_factory.mktemp("inspect") / "out"
    assert run_cli("segment", SAMPLES / "h264-aac.mp4", "-o", path, "-q").returncode == 0
    return path


def frames_json(*args) -> dict:
    result = run_cli("inspect", "frames", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_media_segment_finds_its_init_through_the_manifest(out):
    report = frames_json(out / "video" / "seg-00002.m4s")
    (track,) = report["tracks"]
    assert (track["id"], track["kind"], track["codecs"], track["timescale"]) == (1, "video", "avc1.64001e", 15360)
    first = track["frames"][0]
    # Segment 2 starts at the keyframe shown at 4 s: PTS 4 * 15360 ticks; B-frames put its DTS 2
    # frames (2 * 512 ticks) earlier, where the edit list's media_time moves decode time too.
    assert (first["pts_ticks"], first["dts_ticks"], first["key"]) == (61440, 61440 - 1024, True)
    assert (first["pts"], first["duration"]) == (4.0, 0.033333)
    assert len(track["frames"]) == 120 and track["gops"] == [60, 60]


def test_init_beside_without_a_manifest(out, tmp_path):
    shutil.copy(out / "audio" / "init.mp4", tmp_path / "init.mp4")
    shutil.copy(out / "audio" / "seg-00001.m4s", tmp_path / "seg-00001.m4s")
    (track,) = frames_json(tmp_path / "seg-00001.m4s")["tracks"]
    assert track["kind"] == "audio" and track["frames"][0]["pts_ticks"] == -1024  # AAC priming


def test_media_segment_without_init_is_a_usage_error(out, tmp_path):
    shutil.copy(out / "audio" / "seg-00001.m4s", tmp_path / "lonely.m4s")
    result = run_cli("inspect", "frames", tmp_path / "lonely.m4s")
    assert_one_line_error(result, 2, r"needs its init segment for timescales: give --init")
    assert frames_json(tmp_path / "lonely.m4s", "--init", out / "audio" / "init.mp4")["tracks"][0]["codecs"] == "mp4a.40.2"


def test_a_missing_segment_is_flagged_as_a_gap(out):
    manifest = load_manifest(out)
    audio = next(t for t in manifest["tracks"] if t["id"] == "audio")
    report = frames_json(out / audio["init"], out / audio["segments"][0]["file"], out / audio["segments"][2]["file"])
    (gap,) = report["tracks"][0]["discontinuities"]
    # Segment 2 is missing: the gap is its length, from the end of segment 1 to the start of segment 3.
    expected = audio["segments"][2]["start"] - audio["segments"][0]["end"]
    assert gap["kind"] == "gap" and gap["seconds"] == pytest.approx(expected, abs=1e-6)
    assert gap["index"] == audio["segments"][0]["frames"]


def test_directory_and_track_filter(out):
    report = frames_json(out, "--track", "audio")
    assert [t["group"] for t in report["tracks"]] == ["audio"]
    assert report["tracks"][0]["totals"]["frames"] == 470
    assert run_cli("inspect", "frames", out, "--track", "subtitles").returncode == 2


def test_one_concatenated_file_reads_like_the_directory(out, tmp_path):
    audio = next(t for t in load_manifest(out)["tracks"] if t["id"] == "audio")
    whole = tmp_path / "audio.mp4"
    whole.write_bytes(b"".join((out / f).read_bytes() for f in [audio["init"], *(s["file"] for s in audio["segments"])]))
    (one,) = frames_json(whole)["tracks"]
    (split,) = frames_json(out, "--track", "audio")["tracks"]
    strip = lambda frames: [{k: v for k, v in f.items() if k != "offset"} for f in frames]  # noqa: E731
    assert strip(one["frames"]) == strip(split["frames"])
    (report,) = json.loads(run_cli("inspect", "tree", whole, "--json").stdout)["files"]
    assert [s["kind"] for s in report["segments"]] == ["init"] + ["media"] * len(audio["segments"])


@pytest.mark.parametrize("codec, fmt, fields", [
    ("flac", "flac", {"sample_rate": 44100, "channels": 2, "bits_per_sample": 16}),
    ("ac3", "ac3", {"fscod": 1, "acmod": 2}),  # fscod 1 = 44.1 kHz; acmod 2 = L, R
])  # fmt: skip
def test_flac_and_ac3_configuration_boxes(tmp_path, codec, fmt, fields):
    from tests.media import encode_tone

    source = tmp_path / f"tone.{fmt}"
    encode_tone(source, fmt, codec)
    assert run_cli("segment", source, "-o", tmp_path / "out", "-q").returncode == 0
    (report,) = json.loads(run_cli("inspect", "tree", tmp_path / "out" / "audio" / "init.mp4", "--json").stdout)["files"]
    entry = node_path(report["nodes"], "moov/trak/mdia/minf/stbl/stsd")["children"][0]
    config = entry["children"][0]
    assert {k: config["fields"][k] for k in fields} == fields


def node_path(nodes, path):
    first, _, rest = path.partition("/")
    found = next(n for n in nodes if n["type"] == first)
    return node_path(found["children"], rest) if rest else found


def test_tree_json_and_depth(out):
    result = run_cli("inspect", "tree", out / "video" / "init.mp4", "--json", "--depth", "1")
    assert result.returncode == 0, result.stderr
    (report,) = json.loads(result.stdout)["files"]
    assert [n["type"] for n in report["nodes"]] == ["ftyp", "moov"]
    assert all(n["children"] == [] for n in report["nodes"])
    assert report["segments"] == [{"kind": "init", "offset": 0, "size": report["size"]}]
    full = json.loads(run_cli("inspect", "tree", out, "--json").stdout)["files"]
    assert len(full) == 2 + sum(len(t["segments"]) for t in load_manifest(out)["tracks"])
    assert {s["kind"] for f in full for s in f["segments"]} == {"init", "media"}


def test_progressive_mp4_is_neither(out):
    (report,) = json.loads(run_cli("inspect", "tree", SAMPLES / "aac-tone.m4a", "--json").stdout)["files"]
    assert report["segments"][0]["kind"] == "neither"
    assert "mvex" in report["segments"][0]["reason"]


def test_bad_input_is_one_line(out, tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"GIF89a" + bytes(100))
    assert_one_line_error(run_cli("inspect", "tree", junk), 1, r"junk\.bin: neither ISO BMFF \(MP4\) nor WebM")
    broken = tmp_path / "broken.m4s"
    data = bytearray((out / "video" / "seg-00001.m4s").read_bytes())
    trun = data.index(b"trun")
    data[trun + 8 : trun + 12] = (0x7FFFFFFF).to_bytes(4, "big")  # sample_count
    broken.write_bytes(bytes(data))
    result = run_cli("inspect", "frames", broken, "--init", out / "video" / "init.mp4")
    assert_one_line_error(result, 1, rf"broken\.m4s: moof/traf\[1\]/trun at byte {trun - 4}: sample_count 2147483647 needs")
    assert_one_line_error(run_cli("inspect", "tree", tmp_path / "nope.mp4"), 1, r"nope\.mp4: no such file")


def test_an_append_error_names_the_file_byte_and_box(media):
    """inspect buffered: the line says which file, where in the appended bytes, which box, and why."""
    video = media["broken-h264"] / "video"
    result = run_cli("inspect", "buffered", video / "init.mp4", video / "seg-00001.m4s", video / "no-tfdt.m4s")
    assert_one_line_error(result, 1, r"no-tfdt\.m4s: the append failed \(moof/traf\[1\] at byte \d+ of the appended "
                                     r"data: traf has no tfdt")  # fmt: skip
    chromium = run_cli("inspect", "buffered", video / "init.mp4", video / "forbidden-key.m4s", "--profile", "chromium")
    assert_one_line_error(chromium, 1, r"forbidden-key\.m4s: the append failed \(mdat at byte \d+ .*forbidden bit")
    spec = run_cli("inspect", "buffered", video / "init.mp4", video / "forbidden-key.m4s", "--json")
    assert spec.returncode == 0 and json.loads(spec.stdout)["sourceBuffers"]  # the spec profile takes its bytes as they are
