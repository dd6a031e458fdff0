"""`msecli simulate --script` and `msecli inspect buffered` as a user runs them."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.media import SAMPLES, encode_tone, h264_sample_variants
from tests.test_segment_errors import assert_one_line_error, run_cli

SCENARIO = SAMPLES.parent / "tests" / "scenarios" / "append-window-drops-priming.json"


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "out"
    assert run_cli("segment", SAMPLES / "h264-aac.mp4", "-o", out, "-q").returncode == 0
    return out


@pytest.fixture(scope="module")
def audio_media(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "aac"
    assert run_cli("segment", SAMPLES / "aac-tone.m4a", "-o", out, "-q").returncode == 0
    return out


def test_script_json_is_the_documented_shape_and_deterministic(audio_media):
    first = run_cli("simulate", "--script", SCENARIO, "--media", audio_media, "--json")
    second = run_cli("simulate", "--script", SCENARIO, "--media", audio_media, "--json")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    result = json.loads(first.stdout)
    assert set(result) == {"name", "context", "initial", "steps"}
    record = result["steps"][1]
    assert set(record) == {"step", "op", "ok", "exception", "value", "events", "elementEvents", "sourceBuffers",
                           "mediaSource", "element"}  # fmt: skip
    assert set(record["element"]) == {"buffered", "readyState", "networkState", "currentTime", "duration", "seekable",
                                      "paused", "seeking", "ended", "videoWidth", "videoHeight", "error"}  # fmt: skip
    assert run_cli("simulate", "--script", SCENARIO, "--media", audio_media).returncode == 0  # the Rich table


def test_a_scripts_profile_key_is_the_default_and_profile_overrides_it(audio_media, tmp_path):
    keyed = tmp_path / "keyed.json"
    keyed.write_text(json.dumps(dict(json.loads(SCENARIO.read_text()), profile="chromium")))
    runs = {
        "spec": run_cli("simulate", "--script", SCENARIO, "--media", audio_media, "--json"),
        "chromium": run_cli("simulate", "--script", SCENARIO, "--media", audio_media, "--json", "--profile", "chromium"),
        "keyed": run_cli("simulate", "--script", keyed, "--media", audio_media, "--json"),
        "keyed, --profile spec": run_cli("simulate", "--script", keyed, "--media", audio_media, "--json", "--profile", "spec"),
    }
    assert all(run.returncode == 0 for run in runs.values())
    assert runs["spec"].stdout != runs["chromium"].stdout  # the scenario is one where the profiles differ
    assert runs["keyed"].stdout == runs["chromium"].stdout
    assert runs["keyed, --profile spec"].stdout == runs["spec"].stdout
    keyed.write_text(json.dumps(dict(json.loads(SCENARIO.read_text()), profile="firefox")))
    assert_one_line_error(run_cli("simulate", "--script", keyed, "--media", audio_media), 2, r"profile must be spec or chromium")


@pytest.mark.parametrize(
    "steps, pattern",
    [
        ([{"op": "jump"}], r"step 0: unknown op 'jump'"),
        ([{"op": "addSourceBuffer", "id": "a"}], r"step 0 \(addSourceBuffer\): missing field 'type'"),
        ([{"op": "abort", "sb": "zz"}], r"step 0 \(abort\): unknown sb id 'zz'"),
        ([{"op": "addSourceBuffer", "id": "a", "type": "audio/mp4"}, {"op": "append", "sb": "a", "file": "nope.mp4"}],
         r"step 1 \(append\): no file"),
    ],
)
def test_bad_scripts_exit_2(tmp_path, steps, pattern):
    script = tmp_path / "bad.json"
    script.write_text(json.dumps({"steps": steps}))
    assert_one_line_error(run_cli("simulate", "--script", script), 2, pattern)


def test_inspect_buffered_directory(media):
    result = run_cli("inspect", "buffered", media, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # Video: keyframe at 0, frames to 10 s. Audio: the priming frame before 0 is dropped by the
    # append window; the rest runs to 10 s. Both SourceBuffers are active: the element is [0, 10).
    assert report["sourceBuffers"]["video"]["buffered"] == [[0.0, 10.0]]
    assert report["sourceBuffers"]["audio"]["buffered"] == [[0.0, 10.0]]
    assert report["element"] == {"buffered": [[0.0, 10.0]], "gaps": []}
    files = [media / "video" / "init.mp4", media / "video" / "seg-00001.m4s", media / "video" / "seg-00003.m4s"]
    gapped = json.loads(run_cli("inspect", "buffered", *files, "--json").stdout)
    assert gapped["element"]["gaps"] == [{"start": 4.0, "length": 4.0}]
    assert run_cli("inspect", "buffered", media).returncode == 0


@pytest.mark.parametrize(
    "args, status, message",
    [
        (["/nonexistent-msecli"], 1, r"nonexistent-msecli: no such file or directory"),
        (["{tmp}"], 1, r"manifest\.json: no manifest\.json \(segment the media first, or pass a media file\)"),
        (["{media}", "--bandwidth", "fast"], 2, r"--bandwidth: 'fast' is not a bandwidth"),
        (["{media}", "--seek", "3"], 2, r"--seek '3': expected T@W"),
        (["{media}", "--network-trace", "{tmp}/nope.txt"], 2, r"nope\.txt: cannot read the network trace"),
        (["{media}", "--script", str(SCENARIO)], 2, r"one of them"),
        ([], 2, r"one of them"),
    ],
)  # fmt: skip
def test_simulate_path_usage_and_input_errors(media, tmp_path, args, status, message):
    args = [a.format(tmp=tmp_path, media=media) for a in args]
    assert_one_line_error(run_cli("simulate", *args), status, message)


def test_simulate_reports_a_page_that_cannot_play_without_failing(media, tmp_path):
    """A manifest whose video starts with a 4 s hole: the run ends stalled at 0, reported, exit 0."""
    manifest = json.loads((media / "manifest.json").read_text())
    video = next(t for t in manifest["tracks"] if t["kind"] == "video")
    video["segments"] = video["segments"][1:]
    for track in manifest["tracks"]:
        track["init"] = str(media / track["init"])
        for s in track["segments"]:
            s["file"] = str(media / s["file"])
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    result = run_cli("simulate", tmp_path, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert summary["startupDelay"] is None and not summary["ended"] and summary["currentTime"] == 0.0
    assert summary["final"]["element"]["buffered"] == [[4.0, 10.0]]
    text = run_cli("simulate", tmp_path)
    assert "never played" in text.stdout


def test_an_mp3_input_fails_with_the_reason_chromium_refuses_it(tmp_path):
    """`segment` puts MP3 in MP4 (mp4a.6b), which Chromium refuses: the player's failure says how Chromium takes MP3."""
    encode_tone(tmp_path / "tone.mp3", "mp3", "libmp3lame", seconds=1.0)
    result = run_cli("simulate", tmp_path / "tone.mp3", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert summary["failure"].startswith("isTypeSupported('audio/mp4; codecs=\"mp4a.6b\"') is false")
    assert "audio/mpeg" in summary["failure"] and not summary["ended"]


def test_an_append_error_is_the_runs_failure_with_its_cause(segmented, tmp_path):
    """A broken segment in the manifest: the player's failure names the SourceBuffer, the file and the byte stream
    format's reason, not the InvalidStateError the next appendBuffer() then throws."""
    out = tmp_path / "set"
    shutil.copytree(segmented(SAMPLES / "h264-aac.mp4"), out)
    broken = out / "video" / "seg-00002.m4s"
    broken.write_bytes(h264_sample_variants(broken.read_bytes())["no-tfdt.m4s"])
    result = run_cli("simulate", out, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert not summary["ended"]
    assert summary["failure"].startswith(f"append error in video ({out / 'video' / 'seg-00002.m4s'}): moof/traf[1] at byte")
    assert summary["failure"].endswith("traf has no tfdt (baseMediaDecodeTime)")
