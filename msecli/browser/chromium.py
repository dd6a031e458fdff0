"""Headless Chromium through Playwright, with the system's browser (never a download) and flags that work
on a closed network. The browser is always closed: on success, on a failed step, on Ctrl-C."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from msecli.errors import InputError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",  # a closed network refuses these connections, many at a time
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",  # play() from a script, as the scenarios do
]


def find_browser(explicit: Path | None) -> str:
    if explicit is not None:
        if not explicit.is_file():
            raise InputError(f"--browser: no such file {explicit}")
        return str(explicit)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise InputError("no Chromium found on PATH (chromium, chromium-browser, google-chrome): install it "
                     "(apt-get install chromium on Debian) or pass --browser PATH")  # fmt: skip


MiB = 1024 * 1024


def quota_flags(quota: Any) -> list[str]:
    """A script's "quota" ([audio bytes, video bytes] per SourceBuffer) as Chromium's own buffer limits, when both
    are whole MiB (its switches take MiB): then the browser runs with the quota the simulation applies."""
    if not isinstance(quota, list) or len(quota) != 2 or any(not isinstance(q, int) or q <= 0 or q % MiB for q in quota):
        return []
    return [f"--mse-audio-buffer-size-limit-mb={quota[0] // MiB}", f"--mse-video-buffer-size-limit-mb={quota[1] // MiB}"]


@contextmanager
def chromium_page(executable: str, extra_flags: list[str] | None = None) -> Iterator[Any]:
    """A page in a fresh headless Chromium (its own empty user-data-dir), with `extra_flags` after the usual ones."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise InputError("msecli verify drives Chromium with Playwright: pip install 'msecli[browser]'") from None
    from playwright.sync_api import Error as PlaywrightError

    with tempfile.TemporaryDirectory(prefix="msecli-chromium-") as profile, sync_playwright() as playwright:
        try:
            context = playwright.chromium.launch_persistent_context(profile, executable_path=executable,
                                                                    headless=True, args=FLAGS + (extra_flags or []))  # fmt: skip
        except PlaywrightError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"{executable} did not start headless: {first}") from None
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()
