"""`msecli verify`: a scenario script run in headless Chromium, recorded exactly as `simulate --script --json`
records it, beside the simulation's run of the same script, and the differences step by step."""

from __future__ import annotations

import math
from typing import Any

from msecli.browser.server import serving
from msecli.errors import InputError
from msecli.sim.scenario import Script

TOLERANCE = 1e-6  # ranges and times: both sides round to microseconds
MISSING = "<missing>"


def run_in_browser(script: Script, page: Any) -> dict[str, Any]:
    """The script in `page` (a Playwright page), served from the script's media directory."""
    with serving(script.base) as url:
        page.goto(url + "/verify.html")
        data = {"steps": script.steps, "deferAttach": bool(script.data.get("deferAttach"))}
        initial = page.evaluate("([script, context]) => msecli.init(script, context)", [data, script.context])
        if "fetchFailed" in initial:
            raise InputError(_fetch_failure(script, **initial["fetchFailed"]))
        steps = [page.evaluate("(index) => msecli.step(index)", index) for index in range(len(script.steps))]
    return {"name": script.name, "context": script.context, "initial": initial, "steps": steps}


def _fetch_failure(script: Script, file: str, status: int) -> str:
    """Why the page could not load a file the simulation read: the server gives nothing outside the media
    directory, so a symlink out of it is refused (403)."""
    reason = "it is outside the media directory (a symlink out of it?)" if status == 403 else f"HTTP {status}"
    return f"{script.base / file}: the browser could not fetch it: {reason}"


def diff(browser: dict[str, Any], simulation: dict[str, Any]) -> list[dict[str, Any]]:
    """Every place the two runs differ: {"step": index or "initial", "path", "browser", "simulation"}. Numbers
    agree within 1 µs; an element error's message is the UA's own text and is not compared (its code is)."""
    out: list[dict[str, Any]] = []
    pairs: list[tuple[int | str, Any, Any]] = [("initial", browser["initial"], simulation["initial"])]
    pairs += [(index, b, s) for index, (b, s) in enumerate(zip(browser["steps"], simulation["steps"]))]
    for step, b, s in pairs:
        _compare(b, s, "", step, out)
    return out


def _compare(b: Any, s: Any, path: str, step: int | str, out: list[dict[str, Any]]) -> None:
    if isinstance(b, dict) and isinstance(s, dict):
        for key in list(s) + [k for k in b if k not in s]:
            if key == "message" and path.rsplit(".", 1)[-1] == "error":
                continue
            _compare(b.get(key, MISSING), s.get(key, MISSING), f"{path}.{key}" if path else key, step, out)
        return
    if not _same(b, s):
        out.append({"step": step, "path": path, "browser": b, "simulation": s})


def _same(b: Any, s: Any) -> bool:
    if isinstance(b, bool) or isinstance(s, bool):
        return b is s
    if isinstance(b, (int, float)) and isinstance(s, (int, float)):
        return math.isclose(b, s, rel_tol=0, abs_tol=TOLERANCE)
    if isinstance(b, list) and isinstance(s, list):
        return len(b) == len(s) and all(_same(x, y) for x, y in zip(b, s))
    if isinstance(b, dict) and isinstance(s, dict):
        keys = set(b) | set(s)
        return all(k == "message" or _same(b.get(k, MISSING), s.get(k, MISSING)) for k in keys)
    return bool(b == s)
