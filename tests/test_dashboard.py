"""The live dashboard: what it shows is what --json reports; it fits 80x24; --save-svg writes well-formed
SVG; in a real terminal (a pty) the panes appear while the simulation runs, without colours under NO_COLOR."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree

from rich.console import Console

from msecli.mse.profiles import SPEC
from msecli.sim.workload import WorkloadOptions, plan_from_manifest, run_workload
from msecli.ui.dashboard import render
from msecli.ui.live import DashboardRun
from tests.media import SAMPLES
from tests.test_segment_errors import run_cli

PANES = ("timeline", "state", "decode", "network", "cross-context log")


def test_the_dashboard_shows_the_ranges_and_states_the_json_reports(segmented):
    out = segmented(SAMPLES / "h264-aac.mp4")
    dashboard = DashboardRun(live=False)
    result = run_workload(plan_from_manifest(out), SPEC, WorkloadOptions(decode="model"), on_progress=dashboard.progress)
    console = Console(record=True, width=80, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(render(dashboard.state(), 80))
    text = console.export_text()
    final = result["summary"]["final"]
    for track_id, source in final["sourceBuffers"].items():
        shown = " ".join(f"[{s:.3f}, {e:.3f})" for s, e in source["buffered"])
        assert f"{track_id:<8}{shown}" in text
    assert "element [" + ", ".join(f"{v:.3f}" for v in final["element"]["buffered"][0]) + ")" in text
    assert f"currentTime {result['summary']['currentTime']:.3f} paused" in text
    assert "element readyState 4 networkState" in text and "MediaSource ended, duration 10" in text
    assert f"dropped {result['summary']['droppedFrames']}" in text
    assert all(title in text for title in PANES)
    lines = text.rstrip("\n").split("\n")
    assert len(lines) <= 24 and max(len(line) for line in lines) <= 80


def test_save_svg_writes_well_formed_svg_with_the_timeline(segmented, tmp_path):
    out = segmented(SAMPLES / "h264-aac.mp4")
    svg = tmp_path / "run.svg"
    done = run_cli("simulate", out, "--no-live", "--decode", "model", "--save-svg", svg)
    assert done.returncode == 0, done.stderr
    root = ElementTree.parse(svg).getroot()
    assert root.tag.endswith("svg")
    text = "".join(root.itertext()).replace("\xa0", " ")
    assert "timeline" in text and "[0.000," in text
    again = run_cli("simulate", out, "--no-live", "--decode", "model", "--save-svg", svg)
    assert again.returncode == 2 and "--force" in again.stderr


def _screen(args: list[str], env: dict[str, str], wanted: tuple[str, ...], deadline: float) -> str:
    """Run in a pseudo-terminal until every wanted string has been drawn (or the deadline); return the output."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen(args, stdin=secondary, stdout=secondary, stderr=secondary, env=env, close_fds=True)
    os.close(secondary)
    seen = b""
    try:
        end = time.monotonic() + deadline
        while time.monotonic() < end and not all(w.encode() in seen for w in wanted):
            ready, _, _ = select.select([primary], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(primary, 65536)
                except OSError:
                    break
    finally:
        process.terminate()
        process.wait(timeout=10)
        os.close(primary)
    return seen.decode("utf-8", "replace")


def test_live_dashboard_in_a_terminal_shows_its_panes_while_playing_in_real_time(segmented):
    out = segmented(SAMPLES / "h264-aac.mp4")
    env = {**os.environ, "COLUMNS": "80", "LINES": "24", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    args = [sys.executable, "-m", "msecli", "simulate", str(out), "--live", "--clock", "realtime", "--decode", "off"]
    screen = _screen(args, env, PANES, deadline=30)
    assert all(title in screen for title in PANES), screen[-2000:]
    assert "\x1b[" in screen  # drawn as a live terminal display


def test_no_color_turns_colours_off_in_the_terminal(segmented):
    out = segmented(SAMPLES / "h264-aac.mp4")
    env = {**os.environ, "COLUMNS": "80", "LINES": "24", "TERM": "xterm-256color", "NO_COLOR": "1"}
    args = [sys.executable, "-m", "msecli", "simulate", str(out), "--live", "--decode", "off"]
    screen = _screen(args, env, ("element:ended",), deadline=30)
    assert "timeline" in screen
    assert "\x1b[32m" not in screen and "\x1b[31m" not in screen and ";5;" not in screen and "38;2" not in screen
