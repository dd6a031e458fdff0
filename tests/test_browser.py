"""The real browser beside the simulation: `msecli serve` (HTTP rules without a browser; the page in headless
Chromium) and `msecli verify` on the scenario suite, against tests/browser/known-differences.json."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from msecli import inspect
from msecli.browser.chromium import quota_flags
from msecli.browser.server import serving
from msecli.browser.verify import diff, run_in_browser
from msecli.sim.buffered import buffered_report
from msecli.sim.scenario import load_script, run_script
from tests.media import SAMPLES
from tests.test_segment_errors import run_cli

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.json"))
KNOWN = json.loads((Path(__file__).parent / "browser" / "known-differences.json").read_text())["differences"]


def chromium() -> str:
    """The system Chromium. CI installs it (.ci/run), so there its absence fails; elsewhere the browser
    tests are skipped with this reason."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)  # type: ignore[return-value]
    if os.environ.get("CI"):
        pytest.fail("CI must have Chromium (.ci/run installs the Debian package)")
    pytest.skip("no Chromium on PATH (apt-get install chromium); CI installs it")


@pytest.fixture(scope="module")
def page():
    from msecli.browser.chromium import chromium_page

    with chromium_page(chromium()) as browser_page:
        yield browser_page


def get(url: str, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    """A raw request: http.client sends the path as written (no normalising of .. or %2e)."""
    host = url.removeprefix("http://")
    connection = http.client.HTTPConnection(host, timeout=10)
    connection.request("GET", path, headers=headers or {})
    return connection.getresponse()


# serve: the HTTP rules


def test_serve_refuses_every_spelling_of_a_path_outside_the_directory(segmented, tmp_path):
    out = segmented(SAMPLES / "h264-aac.mp4")
    (tmp_path / "secret.txt").write_text("no")
    link = out.parent / "escape"
    if not link.exists():
        link.symlink_to(tmp_path, target_is_directory=True)
    with serving(out) as url:
        for path in ("/media/../secret.txt", "/media/%2e%2e/secret.txt", "/media/..%2fsecret.txt",
                     "/media/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", "/media/video/../../secret.txt",
                     "/media/../escape/secret.txt"):  # fmt: skip
            response = get(url, path)
            assert response.status == 403, path
            assert b"no" not in response.read()
        assert get(url, "/media//etc/passwd").status == 404  # a doubled slash stays inside: DIR/etc/passwd
        assert get(url, "/media/nothing-here.m4s").status == 404
        assert get(url, "/elsewhere").status == 404


def test_serve_answers_ranges_with_the_right_bytes_and_types(segmented):
    out = segmented(SAMPLES / "h264-aac.mp4")
    data = (out / "video" / "seg-00001.m4s").read_bytes()
    with serving(out) as url:
        whole = get(url, "/media/video/seg-00001.m4s")
        assert (whole.status, whole.getheader("Content-Type"), whole.read()) == (200, "video/iso.segment", data)
        part = get(url, "/media/video/seg-00001.m4s", {"Range": "bytes=100-199"})
        assert (part.status, part.getheader("Content-Range"), part.read()) == (206, f"bytes 100-199/{len(data)}",
                                                                               data[100:200])  # fmt: skip
        tail = get(url, "/media/video/seg-00001.m4s", {"Range": "bytes=-10"})
        assert (tail.status, tail.read()) == (206, data[-10:])
        assert get(url, "/media/video/seg-00001.m4s", {"Range": f"bytes={len(data)}-"}).status == 416
        assert get(url, "/media/video/init.mp4").getheader("Content-Type") == "video/mp4"
        assert get(url, "/media/manifest.json").getheader("Content-Type") == "application/json"
        assert get(url, "/").getheader("Content-Type").startswith("text/html")


def test_serve_cli_prints_its_url_and_refuses_a_directory_without_a_manifest(segmented, tmp_path):
    out = segmented(SAMPLES / "h264-aac.mp4")
    process = subprocess.Popen([sys.executable, "-m", "msecli", "serve", str(out), "--json"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        announced = json.loads(process.stdout.readline())
        assert announced["url"].startswith("http://127.0.0.1:")
        assert get(announced["url"].rstrip("/"), "/media/manifest.json").status == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
    missing = run_cli("serve", tmp_path)
    assert missing.returncode == 1 and "no manifest.json" in missing.stderr and len(missing.stderr.splitlines()) == 1


# serve: the page in Chromium


def test_served_page_plays_through_the_worker_handle_with_the_buffered_ranges_inspect_gives(segmented, page):
    out = segmented(SAMPLES / "h264-aac.mp4")
    with serving(out) as url:
        page.goto(url + "/")
        page.wait_for_function("() => window.msecliPlayer && (window.msecliPlayer.done || window.msecliPlayer.error)",
                               timeout=20000)  # fmt: skip
        page.wait_for_function("() => window.msecliPlayer.element.length > 0", timeout=5000)
        state = page.evaluate("() => window.msecliPlayer")
    assert state["via"] == "worker" and state["sourceopen"] and state["error"] is None
    assert "main: srcObject = the worker's MediaSourceHandle" in state["events"]
    expected = buffered_report(inspect.resolve([out]), "chromium", inspect.manifest_types([out]))
    for track_id, ranges in state["sourceBuffers"].items():
        assert _close(ranges, expected["sourceBuffers"][track_id]["buffered"]), track_id
    assert _close(state["element"], expected["element"]["buffered"])


def _close(a: list, b: list) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= 1e-6 for p, q in zip(a, b) for x, y in zip(p, q))


# verify


BROWSER_RUNS: dict[str, dict] = {}  # one browser run per distinct workload (see _workload)


def _workload(data: dict) -> str:
    """What the browser is given: a script without its name, description, profile, expectations and whys. A
    chromium-X scenario and its spec-profile twin X share their steps, and both are compared with the chromium
    profile, so the browser runs them once."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("why", "comment")}
        return [strip(v) for v in value] if isinstance(value, list) else value

    kept = {k: v for k, v in data.items() if k not in ("name", "description", "profile", "expect")}
    return json.dumps(strip(kept), sort_keys=True)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_agrees_with_chromium_or_the_difference_is_known(path, media, page):
    data = json.loads(path.read_text())
    script = load_script(path, media[data.get("media", "aac-tone")])
    key = _workload(data)
    if key not in BROWSER_RUNS:
        if quota_flags(data.get("quota")):  # the script's quota as Chromium's own limits: verify's own browser
            verified = run_cli("verify", path, "--media", media[data.get("media", "aac-tone")], "--json")
            BROWSER_RUNS[key] = json.loads(verified.stdout)["browser"]
        else:
            BROWSER_RUNS[key] = run_in_browser(script, page)
    found = {(str(d["step"]), d["path"]) for d in diff(BROWSER_RUNS[key], run_script(script, "chromium"))}
    known = KNOWN.get(path.stem, [])
    listed = {(str(k["step"]), k["path"]) for k in known}
    required = {(str(k["step"]), k["path"]) for k in known if not k.get("flaky")}
    assert found <= listed, f"new differences (fix the simulation or list them with a reason): {sorted(found - listed)}"
    assert required <= found, f"gone (remove them from known-differences.json): {sorted(required - found)}"


def test_handle_rules_hold_in_the_real_browser(media, page):
    """Transferring a handle twice, after srcObject, and reading handle on a Window MediaSource: the same
    exceptions and values in Chromium as in the simulation, step for step."""
    for name in ("handle-after-attach-and-terminate", "handle-transfer-before-attach", "handle-window-context"):
        path = Path(__file__).parent / "scenarios" / f"{name}.json"
        script = load_script(path, media[json.loads(path.read_text()).get("media", "aac-tone")])
        browser = run_in_browser(script, page)
        for record in browser["steps"]:
            if record["op"] in ("readHandle", "postHandle", "forwardHandle", "attach", "attachSecond"):
                assert not [d for d in diff({"initial": {}, "steps": [record]},
                                            {"initial": {}, "steps": [run_script(script, "chromium")["steps"][record["step"]]]})
                            if d["path"] in ("ok", "exception", "value", "sameObject", "secondElement")], (name, record)  # fmt: skip


def test_verify_cli_exit_status_and_json(media, tmp_path):
    chromium()
    script = Path(__file__).parent / "scenarios" / "handle-transfer-before-attach.json"
    agree = run_cli("verify", script, "--media", media["aac-tone"], "--json")
    assert agree.returncode == 0, agree.stderr
    result = json.loads(agree.stdout)
    assert result["diff"] == [] and result["browser"]["name"] == result["simulation"]["name"]
    hevc = tmp_path / "hevc.json"  # one of msecli's answers that differs on purpose (README): a quick browser run
    hevc.write_text(json.dumps({"steps": [{"op": "isTypeSupported", "type": 'video/mp4; codecs="hvc1.1.6.L93.B0"'}]}))
    differ = run_cli("verify", hevc, "--media", media["h264-aac"])
    assert differ.returncode == 1 and "differences" in differ.stdout and "value" in differ.stdout
    missing = run_cli("verify", script, "--media", media["aac-tone"], "--browser", tmp_path / "no-chromium")
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1 and "--browser" in missing.stderr
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "audio").symlink_to(media["aac-tone"] / "audio")  # the simulation follows it; the server refuses it
    appends = Path(__file__).parent / "scenarios" / "steps-on-a-source-buffer-never-added.json"
    refused = run_cli("verify", appends, "--media", linked)
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "outside the media directory" in refused.stderr and "Traceback" not in refused.stderr
